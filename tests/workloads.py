"""Data sources for tests, importable by name so that a spawned worker process can unpickle them:
small made-up data sets for tests about mechanics, and ones that wait, fail or break on purpose."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from softmax_core.book.data import DataError, FashionMNISTData


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


class TinyData:
    """The tiny data set, made once per worker process."""

    _data: FashionMNISTData | None = None

    def __call__(self) -> FashionMNISTData:
        if TinyData._data is None:
            TinyData._data = make_tiny_data()
        return TinyData._data


class GatedData(TinyData):
    """Tiny data that a run only gets once the file ``gate`` exists: holds runs in 'running'."""

    def __init__(self, gate: Path):
        self.gate = gate

    def __call__(self) -> FashionMNISTData:
        deadline = time.monotonic() + 60
        while not self.gate.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return super().__call__()


class BrokenTestLabels(TinyData):
    """Tiny data whose test labels are out of range: training works, the first evaluation raises."""

    def __call__(self) -> FashionMNISTData:
        data = super().__call__()
        return FashionMNISTData(data.train_images, data.train_labels, data.test_images,
                                torch.full_like(data.test_labels, 99), folder=data.folder)


class NoData:
    """A data source for a machine without Fashion-MNIST."""

    def __call__(self) -> FashionMNISTData:
        raise DataError("Fashion-MNIST is missing train-images-idx3-ubyte.gz")


def write_runs_and_points(store_url: str, writer: int, points: int, batch: int = 20) -> int:
    """One of many processes writing at once: a run created, claimed and filled with points in batches,
    with the heartbeats and stale checks a worker and a server make in between; returns the run's id."""
    from softmax_core.config import TrainConfig
    from softmax_core.runs.store import RunStore
    from softmax_core.runs.store.records import MetricPoint
    from softmax_core.status import RunStatus

    store = RunStore(store_url)
    run_id = store.create_run(TrainConfig(seed=writer), f"writer {writer}")
    assert store.claim_run(run_id, f"writer-{writer}", writer)
    for first in range(1, points + 1, batch):
        steps = range(first, min(first + batch, points + 1))
        store.add_points(run_id, [MetricPoint.of(step, step / points, train_loss=writer + step / 1000, train_acc=0.5)
                                  for step in steps])
        store.beat([run_id])
        store.interrupt_stale_runs(8.0)
    store.end_run(run_id, RunStatus.FINISHED)
    store.engine.dispose()
    return run_id


def tiny_arrays(num_train: int = 600, num_test: int = 200) -> dict:
    """The tiny data set as the uint8 arrays a Ray executor ships to its workers."""
    data = make_tiny_data(num_train, num_test)

    def to_uint8(images: torch.Tensor):
        return (images.clamp(0, 1) * 255).round().to(torch.uint8).numpy()

    return {"train_images": to_uint8(data.train_images), "train_labels": data.train_labels.to(torch.uint8).numpy(),
            "test_images": to_uint8(data.test_images), "test_labels": data.test_labels.to(torch.uint8).numpy()}
