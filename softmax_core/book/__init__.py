"""The book's part: Fashion-MNIST, the two models, the metrics and the book's checks, and fit()."""
