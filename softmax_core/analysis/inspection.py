"""What Inspect shows of one stored epoch, computed: the held-out images the model was most confidently
wrong about, each with its probabilities, and the confusion matrix on a held-out set, ready to draw (the
page only lays them out).

The held-out set is the test set, or the validation split for a reader who may not see the test set yet
(a student before the teacher's reveal): what they see of a run is then computed from its stored
weights on images the board already ranks by.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from softmax_core.book.data import FashionMNISTData
from softmax_core.book.metrics import Mistake, confusion_matrix, most_confident_mistakes
from softmax_core.book.model import linear_logits
from softmax_core.dataset_sizes import IMAGE_SIDE

HELD_OUT_SETS = ("test", "validation")


@dataclass(frozen=True)
class GalleryItem:
    """One confidently wrong held-out image."""

    mistake: Mistake
    image: np.ndarray  # (28, 28) uint8 grey levels

    def top_classes(self, count: int = 3) -> list[int]:
        """The classes the model found likeliest, likeliest first."""
        return [int(i) for i in np.argsort(self.mistake.probabilities)[::-1][:count]]


def held_out_set(data: FashionMNISTData, held_out: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The images and labels of the test set or of the validation split."""
    if held_out not in HELD_OUT_SETS:
        raise ValueError(f"held_out must be one of {HELD_OUT_SETS}, not {held_out!r}")
    if held_out == "test":
        return data.test_images, data.test_labels
    split = data.validation_split()
    return split.images, split.labels


def mistakes_gallery(data: FashionMNISTData, weights: np.ndarray, bias: np.ndarray, count: int = 12,
                     held_out: str = "test") -> list[GalleryItem]:
    """The ``count`` held-out images that the model with these weights got wrong with the most confidence."""
    images, labels = held_out_set(data, held_out)
    mistakes = most_confident_mistakes(linear_logits(images, weights, bias), labels, count)
    return [GalleryItem(mistake, _as_image(images, mistake.index)) for mistake in mistakes]


def held_out_confusion(data: FashionMNISTData, weights: np.ndarray, bias: np.ndarray,
                       held_out: str) -> torch.Tensor:
    """Counts[true, predicted] of the model with these weights on the held-out set."""
    images, labels = held_out_set(data, held_out)
    return confusion_matrix(linear_logits(images, weights, bias).argmax(1), labels)


def _as_image(images: torch.Tensor, index: int) -> np.ndarray:
    return (images[index].reshape(IMAGE_SIDE, IMAGE_SIDE).numpy() * 255).astype(np.uint8)
