"""The ray executor on a real two-node Ray cluster on this machine (``ray.cluster_utils.Cluster``): runs
land on both nodes, as the store's record of where each trained shows; a cancel raised in the store stops
a Ray run within a second; a run still waiting is taken back at once; a node killed mid-run leaves its
run ``interrupted`` with its points kept; a cuda run on a cluster without GPUs is refused."""

import time

import pytest
from polling import wait_for, wait_until_training
from workloads import tiny_arrays

from softmax_core.config import TrainConfig
from softmax_core.runs.executors import make_executor
from softmax_core.runs.executors.ray_cluster import RayExecutor
from softmax_core.runs.jobs import JobRunner
from softmax_core.runs.store import (
    EVERYTHING,  # noqa: E402
    RunStore,
)
from softmax_core.status import RunStatus

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

# Ray learns of a dead node in about 1.5 s instead of its default 15 s, so the test is short.
FAST_HEALTH_CHECKS = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500,
                      "health_check_failure_threshold": 3}
pytestmark = pytest.mark.services  # a real Ray cluster, started here
LONG_RUN = TrainConfig(epochs=200, batch_size=1, reports_per_epoch=20, device="cpu")  # minutes, unless stopped
SHORT_RUN = TrainConfig(epochs=2, batch_size=32, device="cpu")


def tiny_arrays_for_long_runs():
    return tiny_arrays(num_train=3000, num_test=200)


@pytest.fixture(scope="module")
def cluster():
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": FAST_HEALTH_CHECKS})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()


@pytest.fixture
def store(tmp_path):
    return RunStore(f"sqlite:///{tmp_path}/runs.db")


@pytest.fixture
def runner(store, cluster):
    executor = RayExecutor(store.url, address=cluster.address, arrays_source=tiny_arrays_for_long_runs)
    runner = JobRunner(store, executor)
    yield runner
    runner.shutdown(timeout=20)


def test_runs_land_on_both_nodes_and_record_where_they_trained(store, runner, cluster):
    run_ids = [runner.submit(LONG_RUN.replace(seed=seed)) for seed in range(2)]
    third = runner.submit(SHORT_RUN)  # no core for it yet: sent ahead to a node, it waits there unclaimed
    runs = [wait_until_training(store, run_id) for run_id in run_ids]
    assert {run.node for run in runs} == {node["NodeID"] for node in ray.nodes() if node["Alive"]}
    assert all(run.host and run.pid and run.device == "cpu" for run in runs)
    assert all(f"Ray node {run.node[:8]}" in run.placement for run in runs)
    assert store.get_run(third, scope=EVERYTHING).status == RunStatus.QUEUED and third in runner.executor.held_run_ids()
    assert {worker.run_id for worker in runner.workers() if worker.state == "training"} == set(run_ids)
    assert sorted(node.cpus for node in runner.executor.nodes()) == [1, 1] and runner.executor.capacity() == 2
    for run_id in run_ids:
        runner.cancel(run_id)
    assert runner.wait(third, timeout=90), "the waiting run goes to Ray once there is room"
    run = store.get_run(third, scope=EVERYTHING)
    assert run.status == RunStatus.FINISHED and run.final_test_acc > 0.5


def test_a_cancel_raised_in_the_store_stops_a_ray_run_within_a_second(store, runner):
    run_id = runner.submit(LONG_RUN)
    wait_until_training(store, run_id)
    asked = time.monotonic()
    assert store.request_cancel(run_id)  # as another server, or the CLI, would
    run = wait_for(lambda: (r := store.get_run(run_id, scope=EVERYTHING)).status == RunStatus.CANCELLED and r,
                   timeout=5,
                   what="the cancel")
    assert time.monotonic() - asked < 1.0
    assert run.last_step > 0 and len(store.read_points(run_id, scope=EVERYTHING)) > 0


def test_waiting_runs_are_taken_back_at_once(store, runner):
    busy = [runner.submit(LONG_RUN.replace(seed=seed)) for seed in range(2)]
    sent_ahead = [runner.submit(SHORT_RUN.replace(seed=seed)) for seed in range(2)]  # one per node
    held_here = runner.submit(SHORT_RUN)  # beyond what is sent ahead: it waits in the executor's queue
    for run_id in busy:
        wait_until_training(store, run_id)
    assert runner.executor.held_run_ids() == [held_here] + sent_ahead
    for run_id in [held_here] + sent_ahead:
        assert runner.cancel(run_id)
        assert store.get_run(run_id, scope=EVERYTHING).status == RunStatus.CANCELLED, "ended at once"
    steps = {run_id: store.get_run(run_id, scope=EVERYTHING).last_step for run_id in busy}
    wait_for(lambda: all(store.get_run(run_id, scope=EVERYTHING).last_step > steps[run_id] for run_id in busy),
             timeout=30,
             what="the cluster to go on training after the cancels")
    assert all(store.get_run(run_id, scope=EVERYTHING).last_step == 0 for run_id in sent_ahead), "none of them trained"
    for run_id in busy:
        runner.cancel(run_id)
        assert runner.wait(run_id, timeout=10)


def test_a_cuda_run_on_a_cluster_without_gpus_is_refused_with_the_reason(store, runner):
    run_id = runner.submit(SHORT_RUN.replace(device="cuda"))
    assert runner.wait(run_id, timeout=10)
    run = store.get_run(run_id, scope=EVERYTHING)
    assert run.status == RunStatus.FAILED and "no node of the Ray cluster has a GPU" in run.error


def test_the_environment_chooses_the_ray_executor(monkeypatch, store, cluster):
    monkeypatch.setenv("SOFTMAX_LAB_EXECUTOR", "ray")
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    executor = make_executor(store.url)
    try:
        assert isinstance(executor, RayExecutor) and len(executor.nodes()) == 2
    finally:
        executor.shutdown()


def test_killing_a_node_mid_run_ends_its_run_interrupted_with_its_points(store, runner, cluster):
    run_ids = [runner.submit(LONG_RUN.replace(seed=seed)) for seed in range(2)]
    runs = [wait_until_training(store, run_id) for run_id in run_ids]
    worker_node = next(node for node in cluster.list_all_nodes() if node is not cluster.head_node)
    victim = next(run for run in runs if run.node == worker_node.node_id)
    survivor = next(run for run in runs if run is not victim)
    points_before = len(store.read_points(victim.id, scope=EVERYTHING))
    cluster.remove_node(worker_node)
    ended = wait_for(lambda: (r := store.get_run(victim.id, scope=EVERYTHING)).status != RunStatus.RUNNING and r,
                     timeout=30,
                     what="the lost node's run to end")
    assert ended.status == RunStatus.INTERRUPTED
    assert f"the Ray node {victim.node[:8]}" in ended.error and "was lost" in ended.error
    assert len(store.read_points(victim.id, scope=EVERYTHING)) >= points_before > 0, "its points are kept"
    assert store.get_run(survivor.id, scope=EVERYTHING).status == RunStatus.RUNNING, "the other node's run goes on"
    runner.cancel(survivor.id)
    assert runner.wait(survivor.id, timeout=10)
