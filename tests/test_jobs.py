"""jobs.py and the local executor: runs train in worker processes; bounded concurrency, cancel through
the store, failures, a worker killed mid-run, stale heartbeats; real data where it learns."""

import os
import signal
import time

import pytest
import sqlalchemy as sa
from polling import wait_for
from workloads import BrokenTestLabels, GatedData, NoData, TinyData

from softmax_core.config import ConfigError, TrainConfig, describe_config, differing_fields
from softmax_core.runs.executors.local import LocalExecutor, default_worker_count, describe_worker_death
from softmax_core.runs.jobs import JobRunner
from softmax_core.runs.run_driver import load_local_data
from softmax_core.runs.store import EVERYTHING, RunStore
from softmax_core.status import RunStatus

QUEUED, RUNNING, FINISHED, CANCELLED, FAILED, DIVERGED, INTERRUPTED = (
    RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.FINISHED, RunStatus.CANCELLED, RunStatus.FAILED,
    RunStatus.DIVERGED, RunStatus.INTERRUPTED)


@pytest.fixture
def store(tmp_path):
    return RunStore(f"sqlite:///{tmp_path}/runs.db")


@pytest.fixture
def make_runner(store):
    runners = []

    def make(data_source=None, workers=2, **options):
        executor = LocalExecutor(store.url, workers=workers, threads_per_worker=1,
                                 data_source=data_source or TinyData(), warm_data=options.pop("warm_data", True))
        runner = JobRunner(store, executor, **options)
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        runner.shutdown(timeout=15)


def wait_for_status(store, run_id, statuses, timeout=60.0):
    return wait_for(lambda: (run := store.get_run(run_id, scope=EVERYTHING)).status in statuses and run, timeout,
                    f"run {run_id} to become one of {statuses}")


def test_four_runs_at_once_on_real_data_train_in_worker_processes(store, make_runner, fashion_mnist):
    runner = make_runner(load_local_data)
    configs = [TrainConfig(epochs=2, seed=s, batch_size=b) for s, b in ((0, 256), (1, 1024), (2, 512), (3, 256))]
    started = time.monotonic()
    ids = [runner.submit(config, f"run {i}") for i, config in enumerate(configs)]
    assert time.monotonic() - started < 1.0, "submit must return at once"
    assert all(runner.wait(run_id, 120) for run_id in ids)
    pids = set()
    for run_id, config in zip(ids, configs, strict=True):
        run = store.get_run(run_id, scope=EVERYTHING)
        steps = -(-60000 // config.batch_size)
        assert run.status == FINISHED and run.config == config
        points = store.read_points(run_id, scope=EVERYTHING)
        assert [p.step for p in points] == sorted({p.step for p in points})
        assert points[-1].step == 2 * steps and len(points) == 10
        assert [e.epoch for e in store.read_epochs(run_id, scope=EVERYTHING)] == [1, 2]
        assert run.final_test_acc > 0.75
        assert run.device == "cpu" and run.host and run.pid != os.getpid()
        pids.add(run.pid)
    assert pids == {worker.pid for worker in runner.workers()}, "both workers trained, none in this process"
    assert runner.executor.capacity() == 2
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_concurrency_is_bounded_and_the_rest_wait_queued(store, make_runner, tmp_path):
    gate = tmp_path / "gate"
    runner = make_runner(GatedData(gate), warm_data=False)
    ids = [runner.submit(TrainConfig(epochs=1, batch_size=100)) for _ in range(3)]
    wait_for_status(store, ids[0], (RUNNING,))
    wait_for_status(store, ids[1], (RUNNING,))
    assert runner.executor.held_run_ids() == [ids[2]], "the third waits in the executor's queue, not a worker"
    assert store.get_run(ids[2], scope=EVERYTHING).status == QUEUED
    assert runner.active_count() == 3
    assert {worker.state for worker in runner.workers()} == {"training"}
    gate.touch()
    assert all(runner.wait(run_id, 30) for run_id in ids)
    assert {store.get_run(run_id, scope=EVERYTHING).status for run_id in ids} == {FINISHED}


def test_cancel_while_queued_ends_it_at_once(store, make_runner, tmp_path):
    gate = tmp_path / "gate"
    runner = make_runner(GatedData(gate), warm_data=False)
    blockers = [runner.submit(TrainConfig(epochs=1, batch_size=100)) for _ in range(2)]
    queued = runner.submit(TrainConfig(epochs=1, batch_size=100))
    wait_for_status(store, blockers[1], (RUNNING,))
    assert runner.cancel(queued)
    run = store.get_run(queued, scope=EVERYTHING)
    assert run.status == CANCELLED and run.error == "cancelled while queued"
    gate.touch()
    assert all(runner.wait(run_id, 30) for run_id in blockers)


def test_cancel_while_running_takes_effect_within_a_second(store, make_runner, fashion_mnist):
    runner = make_runner(load_local_data)
    run_id = runner.submit(TrainConfig(epochs=200), "long")
    wait_for(lambda: store.get_run(run_id, scope=EVERYTHING).last_step > 0, what="the first point")
    asked = time.monotonic()
    assert runner.cancel(run_id)
    assert runner.wait(run_id, 1.0), "cancel must take effect within a second"
    assert time.monotonic() - asked < 1.0
    run = store.get_run(run_id, scope=EVERYTHING)
    assert run.status == CANCELLED and run.last_step > 0 and run.cancel_requested
    assert len(store.read_points(run_id, scope=EVERYTHING)) >= 1
    assert not runner.cancel(run_id), "an ended run can't be cancelled again"


def test_a_run_that_raises_is_failed_with_its_message_and_metrics_kept(store, make_runner):
    runner = make_runner(BrokenTestLabels(), workers=1)
    bad = runner.submit(TrainConfig(epochs=3, batch_size=60))
    assert runner.wait(bad, 30)
    run = store.get_run(bad, scope=EVERYTHING)
    assert run.status == FAILED and run.error.startswith("RuntimeError: index 99 is out of bounds")
    # epoch 1 trained, then evaluation raised
    assert [p.step for p in store.read_points(bad, scope=EVERYTHING)] == [2, 4, 6, 8, 10]
    assert store.read_epochs(bad, scope=EVERYTHING) == []
    again = runner.submit(TrainConfig(epochs=1, batch_size=60))
    assert runner.wait(again, 30) and store.get_run(again, scope=EVERYTHING).status == FAILED, \
        "the worker survived the failure"
    assert store.get_run(again, scope=EVERYTHING).pid == run.pid


def test_missing_data_fails_the_run_not_the_runner(store, make_runner):
    runner = make_runner(NoData(), workers=1)
    run_id = runner.submit(TrainConfig())
    assert runner.wait(run_id, 30)
    error = store.get_run(run_id, scope=EVERYTHING).error
    assert error == "DataError: Fashion-MNIST is missing train-images-idx3-ubyte.gz"


def test_a_diverged_run_is_stored_as_diverged(store, make_runner):
    runner = make_runner(workers=1)
    run_id = runner.submit(TrainConfig(implementation="scratch", init_std=50.0, batch_size=60))
    assert runner.wait(run_id, 30)
    run = store.get_run(run_id, scope=EVERYTHING)
    assert run.status == DIVERGED and run.diverged_step == 1 and "step 1" in run.error


def test_invalid_config_is_refused_before_anything_is_stored(store, make_runner):
    runner = make_runner(workers=1)
    with pytest.raises(ConfigError, match="batch_size: must be in 1..60000, got 0"):
        runner.submit({**TrainConfig().to_dict(), "batch_size": 0})
    assert store.list_runs(scope=EVERYTHING) == []


def test_kill_9_of_a_worker_fails_its_run_and_nothing_else(store, make_runner, fashion_mnist):
    runner = make_runner(load_local_data)
    victim = runner.submit(TrainConfig(epochs=200), "victim")
    bystander = runner.submit(TrainConfig(epochs=3), "bystander")
    wait_for(lambda: all(store.get_run(i, scope=EVERYTHING).last_step > 0 for i in (victim, bystander)),
             what="both runs to train")
    victim_pid = store.get_run(victim, scope=EVERYTHING).pid
    os.kill(victim_pid, signal.SIGKILL)
    run = wait_for_status(store, victim, (FAILED,), timeout=10)
    assert f"the worker process {victim_pid} was killed by SIGKILL (out of memory, or killed by hand)" in run.error
    assert len(store.read_points(victim, scope=EVERYTHING)) >= 1, "its points are kept"
    assert runner.wait(bystander, 60) and store.get_run(bystander, scope=EVERYTHING).status == FINISHED
    wait_for(lambda: len(runner.workers()) == 2 and victim_pid not in {w.pid for w in runner.workers()},
             what="a replacement worker")
    after = runner.submit(TrainConfig(epochs=1), "after")
    assert runner.wait(after, 60) and store.get_run(after, scope=EVERYTHING).status == FINISHED


def test_a_stale_heartbeat_becomes_interrupted_at_start_and_while_serving(store, make_runner):
    left_by_a_dead_server = store.create_run(TrainConfig(), "left running")
    store.claim_run(left_by_a_dead_server, "gone-host", 12345)
    store.add_points(left_by_a_dead_server, [type("P", (), dict(step=3, epoch=0.1, train_loss=2.0, train_acc=0.3))])
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET heartbeat_at = heartbeat_at - 60 WHERE id = :id"),
                     {"id": left_by_a_dead_server})
    alive = store.create_run(TrainConfig(), "someone else's, beating")
    store.claim_run(alive, "other-host", 999)
    runner = make_runner(workers=1, stale_seconds=2.0)
    assert runner.recovered == [left_by_a_dead_server]
    run = store.get_run(left_by_a_dead_server, scope=EVERYTHING)
    assert run.status == INTERRUPTED and "no heartbeat" in run.error
    assert len(store.read_points(run.id, scope=EVERYTHING)) == 1
    assert store.get_run(alive, scope=EVERYTHING).status == RUNNING
    run = wait_for_status(store, alive, (INTERRUPTED,), timeout=10)  # nobody beats it: the watch notices
    assert "while running" in run.error


def test_queued_runs_keep_their_heartbeat_while_they_wait(store, make_runner, tmp_path):
    gate = tmp_path / "gate"
    runner = make_runner(GatedData(gate), workers=1, warm_data=False, stale_seconds=2.0)
    blocker = runner.submit(TrainConfig(epochs=1, batch_size=100))
    waiting = runner.submit(TrainConfig(epochs=1, batch_size=100))
    wait_for_status(store, blocker, (RUNNING,))
    created = store.get_run(waiting, scope=EVERYTHING).created_at
    wait_for(lambda: store.get_run(waiting, scope=EVERYTHING).heartbeat_at > created + 2.5, timeout=30,
             what="the runner to beat for the queued run past the 2 s stale limit")
    assert store.get_run(waiting, scope=EVERYTHING).status == QUEUED
    assert store.get_run(blocker, scope=EVERYTHING).status == RUNNING
    gate.touch()
    assert runner.wait(waiting, 30) and store.get_run(waiting, scope=EVERYTHING).status == FINISHED


def test_defaults_names_and_worker_deaths_described():
    assert describe_config(TrainConfig()) == "book defaults"
    assert describe_config(TrainConfig(batch_size=1024, lr=0.4)) == "batch 1024, lr 0.4"
    assert describe_config(TrainConfig(implementation="scratch")) == "scratch"
    assert differing_fields([TrainConfig(), TrainConfig(lr=0.4), TrainConfig(seed=2, lr=0.1)]) == ["lr", "seed"]
    assert default_worker_count(1) == 2 and default_worker_count(2) == 2 and default_worker_count(64) == 4
    assert describe_worker_death(7, -signal.SIGSEGV) == "the worker process 7 was killed by SIGSEGV"
    assert describe_worker_death(7, 3) == "the worker process 7 exited unexpectedly (exit code 3)"


def test_an_unknown_executor_is_refused_by_name(monkeypatch):
    from softmax_core.runs.executors import executor_name

    monkeypatch.setenv("SOFTMAX_LAB_EXECUTOR", "dask")
    with pytest.raises(ValueError, match="`SOFTMAX_LAB_EXECUTOR='dask'` must be one of local, ray"):
        executor_name()
    monkeypatch.delenv("SOFTMAX_LAB_EXECUTOR")
    assert executor_name() == "local"


def test_the_runner_forgets_ended_runs(store, make_runner):
    runner = make_runner(workers=1)
    ids = [runner.submit(TrainConfig(epochs=1, batch_size=100)) for _ in range(2)]
    assert all(runner.wait(run_id, 30) for run_id in ids)
    assert runner.active_count() == 0 and runner._submitted == []
