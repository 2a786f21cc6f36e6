"""What Inspect shows of one stored epoch, computed: the test images the model was most confidently
wrong about, each with its probabilities, ready to draw (the page only lays them out)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from softmax_core.book.data import FashionMNISTData
from softmax_core.book.metrics import Mistake, most_confident_mistakes
from softmax_core.book.model import linear_logits
from softmax_core.dataset_sizes import IMAGE_SIDE


@dataclass(frozen=True)
class GalleryItem:
    """One confidently wrong test image."""

    mistake: Mistake
    image: np.ndarray  # (28, 28) uint8 grey levels

    def top_classes(self, count: int = 3) -> list[int]:
        """The classes the model found likeliest, likeliest first."""
        return [int(i) for i in np.argsort(self.mistake.probabilities)[::-1][:count]]


def mistakes_gallery(data: FashionMNISTData, weights: np.ndarray, bias: np.ndarray,
                     count: int = 12) -> list[GalleryItem]:
    """The ``count`` test images that the model with these weights got wrong with the most confidence."""
    logits = linear_logits(data.test_images, weights, bias)
    mistakes = most_confident_mistakes(logits, data.test_labels, count)
    return [GalleryItem(mistake, _as_image(data, mistake.index)) for mistake in mistakes]


def _as_image(data: FashionMNISTData, index: int) -> np.ndarray:
    return (data.test_images[index].reshape(IMAGE_SIDE, IMAGE_SIDE).numpy() * 255).astype(np.uint8)
