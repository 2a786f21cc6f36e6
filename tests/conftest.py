"""Shared fixtures: the real Fashion-MNIST (from ../shared/data/fashion-mnist or $SOFTMAX_LAB_DATA) and
small made-up data sets for tests about mechanics."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from workloads import make_tiny_data

from softmax_core.data import DATA_ENV_VAR, FashionMNISTData, load_fashion_mnist

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data" / "fashion-mnist"

if not os.environ.get(DATA_ENV_VAR) and SHARED_DATA.is_dir():
    os.environ[DATA_ENV_VAR] = str(SHARED_DATA)


def pytest_collection_modifyitems(items) -> None:
    """Every test that uses the real data set (through any fixture) is marked real_data, so that
    ``pytest -m "not real_data"`` runs the rest on a machine without it."""
    for item in items:
        if "real_data_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.real_data)


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    folder = Path(os.environ.get(DATA_ENV_VAR, SHARED_DATA))
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"the real Fashion-MNIST files are needed in {folder} (set {DATA_ENV_VAR})")
    return folder


@pytest.fixture(scope="session")
def fashion_mnist(real_data_dir: Path) -> FashionMNISTData:
    return load_fashion_mnist(real_data_dir, download=False)


@pytest.fixture
def tiny_data() -> FashionMNISTData:
    return make_tiny_data()
