"""fit_many: every cell of a pack equals its separate run, bit for bit, epoch by epoch (on the real data,
at the learning rates where the dynamics amplify any last-bit difference); a diverging cell stops alone
at its own step; a cancelled cell stops alone; configs that can't pack are refused with the reason; and
the job runner trains a sweep's cells as packs, each still an ordinary stored run."""

import threading

import pytest
import torch
from workloads import TinyData, make_tiny_data

from softmax_core.book.packed import PackError, check_packable, fit_many
from softmax_core.book.train import Callback, fit
from softmax_core.config import TrainConfig
from softmax_core.runs.executors.local import LocalExecutor
from softmax_core.runs.jobs import JobRunner
from softmax_core.runs.store import EVERYTHING, RunRequest, RunStore
from softmax_core.status import RunStatus


class Collect(Callback):
    def __init__(self):
        self.events = []

    def on_fit_start(self, start):
        self.events.append(("start", start.total_steps))

    def on_step(self, report):
        self.events.append(("step", report.step, report.train_loss, report.train_acc))

    def on_epoch_end(self, report):
        self.events.append(("epoch", report.epoch, report.train_loss, report.test_acc, report.val_acc))

    def on_fit_end(self, result):
        self.events.append(("end", result.status.value, result.message))


def assert_same_run(packed, alone) -> None:
    """The same epochs (every metric, weights, bias, confusion, step losses) and the same ending."""
    assert (packed.status, packed.message, packed.diverged_step) == (alone.status, alone.message, alone.diverged_step)
    assert len(packed.epochs) == len(alone.epochs)
    for mine, theirs in zip(packed.epochs, alone.epochs, strict=True):
        for name in ("train_loss", "train_acc", "test_acc", "val_acc"):
            if getattr(theirs, name) is None:
                assert getattr(mine, name) is None, name
            else:
                assert getattr(mine, name) == pytest.approx(getattr(theirs, name), rel=1e-5, abs=0), name
        assert torch.equal(mine.weights, theirs.weights) and torch.equal(mine.bias, theirs.bias), "bit for bit"
        assert torch.equal(mine.confusion, theirs.confusion) and mine.step_losses == theirs.step_losses
    assert packed.verdict == alone.verdict


SWEEP_CELLS = [TrainConfig(epochs=3, batch_size=256, lr=lr, momentum=momentum, weight_decay=decay, device="cpu")
               for lr, momentum, decay in ((0.03, 0.0, 0.0), (0.1, 0.0, 0.0), (0.3, 0.0, 0.0), (1.0, 0.0, 0.0),
                                           (0.1, 0.9, 0.0), (0.3, 0.5, 1e-3))]


def test_every_cell_equals_its_separate_run_on_the_real_data(fashion_mnist, one_thread):
    packed = fit_many(SWEEP_CELLS, fashion_mnist)
    for cell, result in zip(SWEEP_CELLS, packed, strict=True):
        assert_same_run(result, fit(cell, fashion_mnist))


def test_a_cells_numbers_do_not_depend_on_what_it_is_packed_with(fashion_mnist):
    validation = [cell.replace(validation=True, epochs=2) for cell in SWEEP_CELLS[1:4]]
    in_a_pair = fit_many(validation[:2], fashion_mnist)[1]
    in_a_trio = fit_many(validation, fashion_mnist)[1]
    assert_same_run(in_a_trio, in_a_pair)
    assert in_a_trio.final.val_acc is not None


def test_a_diverging_cell_stops_alone_at_its_own_step(tiny_data):
    cells = [TrainConfig(epochs=2, batch_size=10, lr=lr, weight_decay=decay) for lr, decay in
             ((10.0, 1.0), (0.1, 0.0), (5.0, 1.0))]
    collectors = [Collect() for _ in cells]
    packed = fit_many(cells, tiny_data, [[c] for c in collectors])
    alone = [fit(cell, tiny_data) for cell in cells]
    assert [r.status for r in packed] == [RunStatus.DIVERGED, RunStatus.FINISHED, RunStatus.DIVERGED]
    assert [r.diverged_step for r in packed] == [40, None, 63] == [r.diverged_step for r in alone]
    for mine, theirs in zip(packed, alone, strict=True):
        assert_same_run(mine, theirs)
    assert collectors[1].events[-1][:2] == ("end", "finished") and collectors[0].events[-1][:2] == ("end", "diverged")


def test_cancelling_one_cell_stops_only_that_cell(tiny_data):
    cells = [TrainConfig(epochs=3, batch_size=100, lr=lr) for lr in (0.1, 0.3, 0.5)]
    checks = iter(range(10**6))  # the loop asks a cell's stop once before each of its steps
    stops = [None, lambda: next(checks) >= 4, threading.Event()]
    packed = fit_many(cells, tiny_data, None, stops)
    assert [r.status for r in packed] == [RunStatus.FINISHED, RunStatus.CANCELLED, RunStatus.FINISHED]
    assert packed[1].message.startswith("cancelled after step 4")
    assert_same_run(packed[0], fit(cells[0], tiny_data))
    assert_same_run(packed[2], fit(cells[2], tiny_data, stop=threading.Event()))


def test_configs_that_cannot_train_as_one_are_refused_with_the_reason():
    with pytest.raises(PackError, match="may differ only in lr, weight_decay, momentum; these differ in batch_size"):
        check_packable([TrainConfig(), TrainConfig(batch_size=64)])
    with pytest.raises(PackError, match="differ in seed"):
        check_packable([TrainConfig(), TrainConfig(seed=1, lr=0.3)])
    with pytest.raises(PackError, match="only the concise implementation with sgd packs, not concise with adam"):
        check_packable([TrainConfig(optimizer="adam")])
    check_packable([TrainConfig(lr=0.03), TrainConfig(lr=1.0, momentum=0.9, weight_decay=1e-4)])


def test_the_runner_trains_a_sweeps_cells_as_packs_each_an_ordinary_run(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    runner = JobRunner(store, LocalExecutor(store.url, workers=1, threads_per_worker=1, data_source=TinyData()))
    try:
        warm_up = runner.submit_many([RunRequest(TrainConfig(epochs=1, batch_size=100), "warm-up")])
        assert runner.wait(warm_up[0], 60)  # the worker is idle, waiting: it must not take a sweep's first run alone
        cells = [TrainConfig(epochs=2, batch_size=100, lr=lr, seed=seed) for seed in (0, 1) for lr in (0.1, 0.3)]
        ids = runner.submit_many([RunRequest(config, f"cell {i}") for i, config in enumerate(cells)])
        alone = runner.submit_many([RunRequest(cells[0], "alone")])  # a submission of one trains alone
        for run_id in ids + alone:
            assert runner.wait(run_id, 60)
        runs = store.get_runs(ids, scope=EVERYTHING)
        assert [(run.pack_lead, run.pack_size) for run in runs] == [(ids[0], 2), (ids[0], 2), (ids[2], 2),
                                                                   (ids[2], 2)], "one pack per seed"
        assert "in a pack of 2 with run" in runs[1].placement
        assert store.get_run(alone[0], scope=EVERYTHING).pack_size is None
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as the worker trains: a product on 2 threads may sum in another order
        try:
            expected_results = [fit(config, make_tiny_data()) for config in cells]
        finally:
            torch.set_num_threads(threads)
        for run, expected in zip(runs, expected_results, strict=True):
            assert run.status == RunStatus.FINISHED and run.final_test_acc == expected.final.test_acc
            stored = store.read_epochs(run.id, with_tensors=True, scope=EVERYTHING)
            assert torch.equal(stored[-1].weights, expected.final.weights), "its own weights, bit for bit"
    finally:
        runner.shutdown(timeout=15)


def test_without_packing_every_cell_trains_alone(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    runner = JobRunner(store, LocalExecutor(store.url, workers=1, threads_per_worker=1, data_source=TinyData()),
                       pack=False)
    try:
        ids = runner.submit_many([RunRequest(TrainConfig(epochs=1, batch_size=100, lr=lr), "r") for lr in (0.1, 0.3)])
        for run_id in ids:
            assert runner.wait(run_id, 60)
        assert [run.pack_size for run in store.get_runs(ids, scope=EVERYTHING)] == [None, None]
    finally:
        runner.shutdown(timeout=15)
