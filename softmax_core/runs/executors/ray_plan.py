"""What the Ray executor sends to the cluster next, decided without the cluster: a pure function of its
queue (in its fair order), the tasks it has out, and the cluster's live nodes. The executor's watcher
thread only gathers those three and carries the plan out (``ray_cluster.py``), so the rules are tested
here without Ray.

The rules: a run that asks for cuda on a cluster with no GPU is refused with the reason; a run whose
cancel flag is up is withdrawn; a cuda run (or an ``auto`` one on a cluster with GPUs) takes a GPU; the
CPU runs out at once fill the cluster's cores (``cpus_per_run`` each) plus ``prefetch`` per node, so a
freed core starts the next run at once. Runs go in queue order: the first that doesn't fit waits, and
the ones behind it wait too (a student's turn is never jumped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from softmax_core.runs.executors import NodeInfo
from softmax_core.status import RAY_HAS_NO_GPU


@dataclass(frozen=True)
class Waiting:
    """A run in the executor's queue, as the plan needs it."""

    run_id: int
    device: str  # its config's: cpu, cuda or auto
    cancelled: bool = False


@dataclass(frozen=True)
class Plan:
    """What to do now: send these runs (with the GPUs each takes), end these with a reason, withdraw these."""

    send: list[tuple[int, int]] = field(default_factory=list)  # (run id, GPUs)
    refuse: list[tuple[int, str]] = field(default_factory=list)  # (run id, why it can't run here)
    withdraw: list[int] = field(default_factory=list)  # cancelled while they waited here


def plan(queue: Sequence[Waiting], task_gpus: Sequence[int], nodes: Sequence[NodeInfo], cpus_per_run: int,
         prefetch: int = 1) -> Plan:
    """The next dispatch, given the queue in order, the GPUs of each task already out, and the nodes."""
    alive = [node for node in nodes if node.alive]
    gpus = sum(node.gpus for node in alive)
    cpu_room = max(1, sum(node.cpus for node in alive) // cpus_per_run) + prefetch * len(alive)
    out, gpus_out = len(task_gpus), sum(task_gpus)
    decided = Plan()
    for run in queue:
        if run.cancelled:
            decided.withdraw.append(run.run_id)
            continue
        if run.device == "cuda" and not gpus:
            decided.refuse.append((run.run_id, RAY_HAS_NO_GPU))
            continue
        wants_gpu = run.device == "cuda" or (run.device == "auto" and gpus > 0)
        fits = gpus_out < gpus if wants_gpu else out < cpu_room
        if not fits:
            break
        decided.send.append((run.run_id, int(wants_gpu)))
        out, gpus_out = out + 1, gpus_out + int(wants_gpu)
    return decided
