"""Softmax Lab's engine: softmax regression on Fashion-MNIST (Dive into Deep Learning, 3.6-3.7).

The engine never imports streamlit: the page, the CLI and the tests all drive it through the same
modules (config -> data/model -> train -> store/jobs).
"""
