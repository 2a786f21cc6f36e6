"""The Streamlit side of Softmax Lab: pages that compose the engine, the store and the charts."""
