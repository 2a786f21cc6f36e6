"""Shared fixtures: the real Fashion-MNIST (from ../shared/data/fashion-mnist or $SOFTMAX_LAB_DATA) and
small made-up data sets for tests about mechanics."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from softmax_core.data import DATA_ENV_VAR, FashionMNISTData, load_fashion_mnist

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "fashion-mnist"

if not os.environ.get(DATA_ENV_VAR) and SHARED_DATA.is_dir():
    os.environ[DATA_ENV_VAR] = str(SHARED_DATA)


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    folder = Path(os.environ.get(DATA_ENV_VAR, SHARED_DATA))
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"the real Fashion-MNIST files are needed in {folder} (set {DATA_ENV_VAR})")
    return folder


@pytest.fixture(scope="session")
def fashion_mnist(real_data_dir: Path) -> FashionMNISTData:
    return load_fashion_mnist(real_data_dir, download=False)


def make_tiny_data(num_train: int = 600, num_test: int = 200, seed: int = 0) -> FashionMNISTData:
    """Random images whose class is readable from a few pixels, so a model can learn something."""
    generator = torch.Generator().manual_seed(seed)

    def split(count: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(0, 10, (count,), generator=generator)
        images = torch.rand(count, 784, generator=generator) * 0.3
        for offset in range(20):  # a bright 20-pixel stripe at a place that depends on the class
            images[torch.arange(count), labels * 70 + offset] += 0.7
        return images, labels

    train_images, train_labels = split(num_train)
    test_images, test_labels = split(num_test)
    return FashionMNISTData(train_images, train_labels, test_images, test_labels, folder=Path("made-up"))


@pytest.fixture
def tiny_data() -> FashionMNISTData:
    return make_tiny_data()
