"""jobs.py: background runs, bounded concurrency, cancel, failures, recovery; real data where it learns."""

import socket
import threading
import time

import pytest
import sqlalchemy as sa

from softmax_core.config import ConfigError, TrainConfig, describe_config, differing_fields
from softmax_core.jobs import JobRunner, default_concurrency
from softmax_core.store import CANCELLED, DIVERGED, FAILED, FINISHED, INTERRUPTED, QUEUED, RUNNING, RunStore


@pytest.fixture
def store(tmp_path):
    return RunStore(f"sqlite:///{tmp_path}/runs.db")


@pytest.fixture
def make_runner(store):
    runners = []

    def make(data_source, **options):
        runner = JobRunner(store, data_source, set_torch_threads=False, **options)
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        runner.shutdown()


def wait_for_status(store, run_id, statuses, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = store.get_run(run_id)
        if run.status in statuses:
            return run
        time.sleep(0.01)
    raise AssertionError(f"run {run_id} stayed {store.get_run(run_id).status}")


def test_four_runs_at_once_on_real_data_finish_complete_and_apart(store, make_runner, fashion_mnist):
    runner = make_runner(lambda: fashion_mnist, max_concurrent=2)
    configs = [TrainConfig(epochs=2, seed=s, batch_size=b) for s, b in ((0, 256), (1, 1024), (2, 512), (3, 256))]
    started = time.monotonic()
    ids = [runner.submit(config, f"run {i}") for i, config in enumerate(configs)]
    assert time.monotonic() - started < 1.0, "submit must return at once"
    assert all(runner.wait(run_id, 120) for run_id in ids)
    for run_id, config in zip(ids, configs):
        run = store.get_run(run_id)
        steps = -(-60000 // config.batch_size)
        assert run.status == FINISHED and run.config == config
        points = store.read_points(run_id)
        assert [p.step for p in points] == sorted({p.step for p in points})
        assert points[-1].step == 2 * steps and len(points) == 10
        assert [e.epoch for e in store.read_epochs(run_id)] == [1, 2]
        assert run.final_test_acc > 0.75
    assert store.integrity_check() == "ok"


class ControlledData:
    """A data source that blocks until released, so a test can hold runs in 'running'."""

    def __init__(self, data):
        self.data, self.release = data, threading.Event()

    def __call__(self):
        self.release.wait(30)
        return self.data


def test_concurrency_is_bounded_and_the_rest_wait_queued(store, make_runner, tiny_data):
    source = ControlledData(tiny_data)
    runner = make_runner(source, max_concurrent=2)
    ids = [runner.submit(TrainConfig(epochs=1, batch_size=100)) for _ in range(3)]
    wait_for_status(store, ids[0], (RUNNING,))
    wait_for_status(store, ids[1], (RUNNING,))
    time.sleep(0.2)
    assert store.get_run(ids[2]).status == QUEUED
    assert runner.active_count() == 3
    source.release.set()
    assert all(runner.wait(run_id, 30) for run_id in ids)
    assert {store.get_run(run_id).status for run_id in ids} == {FINISHED}


def test_cancel_while_queued(store, make_runner, tiny_data):
    source = ControlledData(tiny_data)
    runner = make_runner(source, max_concurrent=2)
    blockers = [runner.submit(TrainConfig(epochs=1, batch_size=100)) for _ in range(2)]
    queued = runner.submit(TrainConfig(epochs=1, batch_size=100))
    assert runner.cancel(queued)
    source.release.set()
    assert runner.wait(queued, 30)
    run = store.get_run(queued)
    assert run.status == CANCELLED and run.error == "cancelled while queued"
    assert all(runner.wait(run_id, 30) for run_id in blockers)


def test_cancel_while_running_takes_effect_within_a_second(store, make_runner, fashion_mnist):
    runner = make_runner(lambda: fashion_mnist)
    run_id = runner.submit(TrainConfig(epochs=200), "long")
    deadline = time.monotonic() + 30
    while store.get_run(run_id).last_step == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    asked = time.monotonic()
    assert runner.cancel(run_id)
    assert runner.wait(run_id, 1.0), "cancel must take effect within a second"
    assert time.monotonic() - asked < 1.0
    run = store.get_run(run_id)
    assert run.status == CANCELLED and run.last_step > 0
    assert len(store.read_points(run_id)) >= 1
    assert not runner.cancel(run_id), "an ended run can't be cancelled again"


def test_a_run_that_raises_is_failed_with_its_message_and_metrics_kept(store, make_runner, tiny_data, monkeypatch):
    import softmax_core.train as train_module

    original = train_module._EpochLoop._epoch_report

    def explode_in_epoch_two(self, epoch, seconds):
        if epoch == 2:
            raise RuntimeError("disk on fire")
        return original(self, epoch, seconds)

    monkeypatch.setattr(train_module._EpochLoop, "_epoch_report", explode_in_epoch_two)
    runner = make_runner(lambda: tiny_data)
    bad = runner.submit(TrainConfig(epochs=3, batch_size=60))
    runner.wait(bad, 30)
    run = store.get_run(bad)
    assert run.status == FAILED and run.error == "RuntimeError: disk on fire"
    assert [p.step for p in store.read_points(bad)] == list(range(2, 21, 2))  # epoch 1 and all of epoch 2's points
    assert len(store.read_epochs(bad)) == 1
    monkeypatch.setattr(train_module._EpochLoop, "_epoch_report", original)
    good = runner.submit(TrainConfig(epochs=1, batch_size=60))
    runner.wait(good, 30)
    assert store.get_run(good).status == FINISHED, "the worker survives a failed run"


def test_missing_data_fails_the_run_not_the_runner(store, make_runner):
    from softmax_core.data import DataError

    def no_data():
        raise DataError("Fashion-MNIST is missing train-images-idx3-ubyte.gz")

    runner = make_runner(no_data)
    run_id = runner.submit(TrainConfig())
    runner.wait(run_id, 10)
    assert store.get_run(run_id).error == "DataError: Fashion-MNIST is missing train-images-idx3-ubyte.gz"


def test_a_diverged_run_is_stored_as_diverged(store, make_runner, tiny_data):
    runner = make_runner(lambda: tiny_data)
    run_id = runner.submit(TrainConfig(implementation="scratch", init_std=50.0, batch_size=60))
    runner.wait(run_id, 30)
    run = store.get_run(run_id)
    assert run.status == DIVERGED and run.diverged_step == 1 and "step 1" in run.error


def test_invalid_config_is_refused_before_anything_is_stored(store, make_runner, tiny_data):
    runner = make_runner(lambda: tiny_data)
    with pytest.raises(ConfigError, match="batch_size: must be in 1..60000, got 0"):
        runner.submit({**TrainConfig().to_dict(), "batch_size": 0})
    assert store.list_runs() == []


def test_restart_over_a_database_with_a_running_row(store, tiny_data, make_runner):
    runner = make_runner(lambda: tiny_data)
    run_id = runner.submit(TrainConfig(epochs=1, batch_size=100))
    runner.wait(run_id, 30)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET status=:s, owner=:o WHERE id=:id"),
                     {"s": RUNNING, "o": f"{socket.gethostname()}:999999999", "id": run_id})
    restarted = make_runner(lambda: tiny_data)
    assert restarted.recovered == [run_id]
    assert store.get_run(run_id).status == INTERRUPTED
    assert len(store.read_points(run_id)) == 5


def test_default_names_and_concurrency():
    assert describe_config(TrainConfig()) == "book defaults"
    assert describe_config(TrainConfig(batch_size=1024, lr=0.4)) == "batch 1024, lr 0.4"
    assert describe_config(TrainConfig(implementation="scratch")) == "scratch"
    assert differing_fields([TrainConfig(), TrainConfig(lr=0.4), TrainConfig(seed=2, lr=0.1)]) == ["lr", "seed"]
    assert default_concurrency(1) == 2 and default_concurrency(2) == 2 and default_concurrency(64) == 4
