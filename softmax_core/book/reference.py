"""The book's section 3.7 loop as the book writes it: the reference that fit()'s fast loop is held to.

``net``, ``loss`` and ``updater`` are section 3.7's; ``train_epoch_ch3`` and ``evaluate_accuracy`` are
section 3.6's, which 3.7 calls through ``train_ch3``. Autograd computes the gradient and
``torch.optim.SGD`` updates, one batch at a time, and nothing is fused or stacked: this is slow, and
short enough to read in one go. What differs from the book is only where the numbers come from: the
initial weights and the batch order are drawn from the run's seed as fit() draws them, so the two
loops see the same batches in the same order and can be compared step by step
(``tests/test_reference.py`` does, on the real data).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from softmax_core.book.data import FashionMNISTData
from softmax_core.book.model import build_concise_model
from softmax_core.book.train import ORDER_SEED_OFFSET
from softmax_core.config import TrainConfig

Batches = Iterator[tuple[torch.Tensor, torch.Tensor]]


def train_ch3(config: TrainConfig, data: FashionMNISTData) -> tuple[nn.Sequential, list[tuple[float, float, float]]]:
    """Train as section 3.7 does; the net, and each epoch's (train loss, train accuracy, test accuracy)."""
    net = build_concise_model(config.init_std, torch.Generator().manual_seed(config.seed))  # Flatten, Linear
    loss = nn.CrossEntropyLoss(reduction="none")
    updater = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                              weight_decay=config.weight_decay)
    order_generator = torch.Generator().manual_seed(config.seed + ORDER_SEED_OFFSET)
    history = []
    for _ in range(config.epochs):
        train_loss, train_acc = train_epoch_ch3(net, train_iter(data, config.batch_size, order_generator), loss,
                                                updater)
        test_acc = evaluate_accuracy(net, test_iter(data, config.batch_size))
        history.append((train_loss, train_acc, test_acc))
    return net, history


def train_epoch_ch3(net: nn.Module, batches: Batches, loss: nn.Module,
                    updater: torch.optim.Optimizer) -> tuple[float, float]:
    """One epoch: the mean loss and the accuracy over its batches, each measured before its update."""
    net.train()
    total_loss = total_correct = count = 0.0
    for X, y in batches:
        y_hat = net(X)
        l = loss(y_hat, y)  # noqa: E741 - the book's name
        updater.zero_grad()
        l.mean().backward()
        updater.step()
        total_loss += float(l.detach().sum())
        total_correct += accuracy(y_hat, y)
        count += y.numel()
    return total_loss / count, total_correct / count


def evaluate_accuracy(net: nn.Module, batches: Batches) -> float:
    """The share of images whose predicted class is their label."""
    net.eval()
    correct = count = 0.0
    with torch.no_grad():
        for X, y in batches:
            correct += accuracy(net(X), y)
            count += y.numel()
    return correct / count


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """How many predictions are right (a count, as the book's)."""
    return float((y_hat.argmax(1) == y).sum())


def train_iter(data: FashionMNISTData, batch_size: int, order_generator: torch.Generator) -> Batches:
    """An epoch's training batches, shuffled as fit() shuffles (the last batch holds the rest)."""
    order = torch.randperm(len(data.train_labels), generator=order_generator)
    for rows in order.split(batch_size):
        yield data.train_images[rows], data.train_labels[rows]


def test_iter(data: FashionMNISTData, batch_size: int) -> Batches:
    """The test set in order, in batches."""
    yield from zip(data.test_images.split(batch_size), data.test_labels.split(batch_size), strict=True)
