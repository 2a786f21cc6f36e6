"""Softmax Lab's engine: softmax regression on Fashion-MNIST (Dive into Deep Learning, 3.6-3.7).

Layers, each importing only those before it: the shared vocabulary here (``config``, ``status``,
``dataset_sizes``), then ``book`` (the book's model and training loop), ``runs`` (where runs live and
train), ``classroom`` (who may do what), ``analysis`` (readings of stored runs) and ``cli``. The engine
never imports streamlit or plotly, and ray only where a run goes to a Ray cluster.
"""

__version__ = "0.1.0"  # the package's version (pyproject.toml reads it from here)
