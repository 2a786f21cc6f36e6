"""ray_plan.plan: what the Ray executor sends next, decided without a cluster."""

from softmax_core.runs.executors import NodeInfo
from softmax_core.runs.executors.ray_plan import Plan, Waiting, plan


def node(name: str, cpus: int, gpus: int = 0, alive: bool = True) -> NodeInfo:
    return NodeInfo(name=name, host=f"{name}.lan", cpus=cpus, gpus=gpus, alive=alive)


CPU_RUNS = [Waiting(run_id, "cpu") for run_id in range(1, 9)]


def test_cpu_runs_fill_the_cores_plus_one_sent_ahead_per_node():
    nodes = [node("a", 2), node("b", 2), node("gone", 64, alive=False)]
    decided = plan(CPU_RUNS, task_gpus=[], nodes=nodes, cpus_per_run=1)
    assert decided.send == [(run_id, 0) for run_id in range(1, 7)], "4 cores + 1 ahead on each of 2 live nodes"
    assert plan(CPU_RUNS, task_gpus=[0] * 6, nodes=nodes, cpus_per_run=1) == Plan(), "full: nothing more"
    assert [run for run, _ in plan(CPU_RUNS, [], nodes, cpus_per_run=2).send] == [1, 2, 3, 4], "2 cores a run"


def test_gpu_runs_take_gpus_and_a_cuda_run_without_any_is_refused_with_the_reason():
    queue = [Waiting(1, "cuda"), Waiting(2, "auto"), Waiting(3, "cuda"), Waiting(4, "cpu")]
    with_gpus = plan(queue, task_gpus=[], nodes=[node("a", 8, gpus=2)], cpus_per_run=1)
    assert with_gpus.send == [(1, 1), (2, 1)], "two GPUs: the third cuda run waits, and the cpu one behind it"
    no_gpus = plan(queue, task_gpus=[], nodes=[node("a", 8)], cpus_per_run=1)
    assert no_gpus.refuse == [(1, "it asks for cuda, but no node of the Ray cluster has a GPU"),
                              (3, "it asks for cuda, but no node of the Ray cluster has a GPU")]
    assert no_gpus.send == [(2, 0), (4, 0)], "auto trains on a CPU where there is no GPU"


def test_cancelled_runs_are_withdrawn_and_order_is_kept():
    queue = [Waiting(1, "cpu", cancelled=True), Waiting(2, "cuda"), Waiting(3, "cpu")]
    decided = plan(queue, task_gpus=[1], nodes=[node("a", 4, gpus=1)], cpus_per_run=1)
    assert decided.withdraw == [1]
    assert decided.send == [], "the cuda run waits for the busy GPU, and run 3 waits its turn behind it"
    assert plan([], task_gpus=[], nodes=[], cpus_per_run=1) == Plan()
