"""fit()'s fast loop against the book's loop as written (``softmax_core/book/reference.py``), on real
Fashion-MNIST images: the same metrics, weights and bias, to float tolerance, after a few steps of a
lone run and of each cell of a pack (plain SGD, and SGD with momentum and weight decay)."""

import pytest
import torch

from softmax_core.book import reference
from softmax_core.book.data import FashionMNISTData
from softmax_core.book.packed import fit_many
from softmax_core.book.train import fit
from softmax_core.config import TrainConfig

CELLS = [TrainConfig(epochs=2, lr=0.1), TrainConfig(epochs=2, lr=0.5, momentum=0.9, weight_decay=1e-3)]


@pytest.fixture(scope="module")
def first_images(fashion_mnist) -> FashionMNISTData:
    """The first 2,000 real training images (8 batches of 256 an epoch, the last one smaller), and the
    whole test set."""
    return FashionMNISTData(fashion_mnist.train_images[:2000], fashion_mnist.train_labels[:2000],
                            fashion_mnist.test_images, fashion_mnist.test_labels, fashion_mnist.folder)


def assert_same_as_the_book(result, config: TrainConfig, data: FashionMNISTData) -> None:
    net, history = reference.train_ch3(config, data)
    assert len(result.epochs) == len(history) == config.epochs
    for report, (train_loss, train_acc, test_acc) in zip(result.epochs, history, strict=True):
        assert report.train_loss == pytest.approx(train_loss, rel=1e-5)
        assert report.train_acc == pytest.approx(train_acc, abs=1e-9)
        assert report.test_acc == pytest.approx(test_acc, abs=2e-4), "at most two of 10,000 borderline images"
    assert torch.allclose(result.final.weights, net[1].weight.detach(), atol=1e-5)
    assert torch.allclose(result.final.bias, net[1].bias.detach(), atol=1e-5)


@pytest.mark.parametrize("config", CELLS, ids=["plain sgd", "momentum and weight decay"])
def test_a_lone_run_trains_as_the_books_loop(first_images, config):
    assert_same_as_the_book(fit(config, first_images), config, first_images)


def test_each_cell_of_a_pack_trains_as_the_books_loop(first_images):
    for config, result in zip(CELLS, fit_many(CELLS, first_images), strict=True):
        assert_same_as_the_book(result, config, first_images)
