"""Metrics on predictions: accuracy, confusion matrix, per-class accuracy, confident mistakes; and the
book's three end-of-training checks (``verdict.py``, which needs no torch), turned into a verdict
(values and thresholds, never an assert).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from softmax_core.book.verdict import (
    BOOK_ACCURACY_FLOOR,
    BOOK_LOSS_LIMIT,
    Check,
    Verdict,
    judge_book_checks,
)
from softmax_core.dataset_sizes import NUM_CLASSES

__all__ = ["BOOK_ACCURACY_FLOOR", "BOOK_LOSS_LIMIT", "Check", "Mistake", "Verdict",
           "confusion_matrix", "count_correct", "judge_book_checks", "most_confident_mistakes", "per_class_accuracy"]


def count_correct(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Number of rows whose arg-max is the label (a 0-d tensor, so no device sync)."""
    return (logits.argmax(1) == labels).sum()


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int = NUM_CLASSES) -> torch.Tensor:
    """Counts[true, predicted] as an int64 (num_classes, num_classes) tensor."""
    flat = labels.long() * num_classes + predicted.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).view(num_classes, num_classes)


def per_class_accuracy(confusion: torch.Tensor) -> torch.Tensor:
    """Recall of each true class: the diagonal over the row sums (0 for an empty row)."""
    confusion = confusion.double()
    totals = confusion.sum(1)
    return torch.where(totals > 0, confusion.diagonal() / totals.clamp(min=1), torch.zeros_like(totals))


@dataclass(frozen=True)
class Mistake:
    """One misclassified test image and what the model believed."""

    index: int  # row in the test set
    true_label: int
    predicted_label: int
    confidence: float  # probability given to the wrong prediction
    probabilities: tuple[float, ...]  # all ten class probabilities


def most_confident_mistakes(logits: torch.Tensor, labels: torch.Tensor, count: int = 12) -> list[Mistake]:
    """The ``count`` wrong predictions with the highest predicted probability, most confident first."""
    probabilities = torch.softmax(logits.float(), dim=1)
    confidence, predicted = probabilities.max(1)
    wrong = (predicted != labels).nonzero().squeeze(1)
    ranked = wrong[confidence[wrong].argsort(descending=True)][:count]
    return [
        Mistake(int(i), int(labels[i]), int(predicted[i]), float(confidence[i]),
                tuple(float(p) for p in probabilities[i]))
        for i in ranked.tolist()
    ]
