"""The ``ray`` executor: each run is one Ray task, on whichever machine of a Ray cluster has room.

``$RAY_ADDRESS`` (Ray's own variable) names the cluster; when it is unset, a local Ray instance starts
with the server and stops with it. Ray's dashboard stays off unless ``$SOFTMAX_LAB_RAY_DASHBOARD=1``.
The ``softmax_core`` package travels to the workers with the job (Ray's ``py_modules``), and the data
set goes through Ray's object store once, as its uint8 arrays (about 55 MB), so a worker machine needs
the Python requirements and the database's address, but no checkout and no copy of Fashion-MNIST.

The runs wait here, in this executor's own queue, and go to Ray only as the cluster has room for them
(its CPUs, one each by default, plus one run sent ahead per node; its GPUs for cuda runs), so that a
run still waiting can be taken back at once, and its heartbeat is kept by the runner. A Ray task trains
a run, or a pack of runs, exactly as a local worker does (``run_driver.run_pack``): everything else
goes through the store. Retries are off, since a retried run would write its points twice: a run whose
node was lost ends ``interrupted``, with its points kept.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import softmax_core
from softmax_core.book.data import FashionMNISTData, load_decoded_arrays, resolve_data_dir
from softmax_core.i18n import Said
from softmax_core.runs.executors import NodeInfo, Submission, WorkerInfo, pack_limit
from softmax_core.runs.executors.ray_plan import Waiting, plan
from softmax_core.runs.fair_queue import FairQueue
from softmax_core.runs.store import EVERYTHING, RunStore
from softmax_core.settings import server_settings
from softmax_core.status import RAY_NODE_LOST, RAY_WORKER_DIED, RunStatus, raised, status_named

log = logging.getLogger(__name__)
DASHBOARD_ENV_VAR = "SOFTMAX_LAB_RAY_DASHBOARD"
CPUS_PER_RUN_ENV_VAR = "SOFTMAX_LAB_RAY_CPUS_PER_RUN"
LOCAL_OBJECT_STORE_BYTES = 512 * 1024**2  # a local instance needs room for the data set, not 30% of the RAM
WATCH_SECONDS = 0.2
TASK_POLL_SECONDS = 0.05  # how soon a new submission is seen while tasks run (a task's end is seen at once)
REFRESH_SECONDS = 0.5  # how often the watcher asks Ray about its nodes (it loops every TASK_POLL_SECONDS)
PREFETCH_PER_NODE = 1  # runs sent ahead to each node, so that a freed core starts the next run at once (ray_plan)
NODE_VERDICT_SECONDS = 30.0  # how long Ray may take to declare a node dead after its worker died
ArraysSource = Callable[[], dict[str, np.ndarray]]


def load_local_arrays() -> dict[str, np.ndarray]:
    """The data set's uint8 arrays from $SOFTMAX_LAB_DATA or the per-user folder (never downloaded here)."""
    return load_decoded_arrays(resolve_data_dir(), download=False)


def connect_ray(address: str | None = None):
    """Join the cluster at ``address`` / $RAY_ADDRESS, or start a local Ray instance; returns ``ray``."""
    import ray

    if ray.is_initialized():
        return ray
    address = address or os.environ.get("RAY_ADDRESS") or None
    package = str(Path(softmax_core.__file__).resolve().parent)  # the whole package travels with the job
    options = dict(address=address, include_dashboard=server_settings().ray_dashboard,
                   logging_level=logging.WARNING, log_to_driver=False,
                   runtime_env={"py_modules": [package]})
    if address is None:
        options["object_store_memory"] = LOCAL_OBJECT_STORE_BYTES
    ray.init(**options)
    return ray


def cpus_per_run() -> int:
    """Cores each Ray run asks for (and trains with): $SOFTMAX_LAB_RAY_CPUS_PER_RUN, else 1."""
    return server_settings().ray_cpus_per_run


def describe_ray_nodes(ray) -> list[NodeInfo]:
    """The cluster's nodes as Ray reports them, alive ones first."""
    nodes = [NodeInfo(name=node["NodeID"], host=node.get("NodeManagerHostname") or node["NodeManagerAddress"],
                      cpus=int(node["Resources"].get("CPU", 0)), gpus=int(node["Resources"].get("GPU", 0)),
                      alive=bool(node["Alive"]))
             for node in ray.nodes()]
    return sorted(nodes, key=lambda node: not node.alive)


@dataclass
class _Task:
    """One run, or one pack of runs, handed to Ray as one task."""

    run_ids: list[int]
    ref: object  # ray.ObjectRef of train_ray_task's result
    gpus: int

    @property
    def run_id(self) -> int:
        return self.run_ids[0]


class RayExecutor:
    """Runs as Ray tasks, fed from this executor's queue as the cluster has room."""

    def __init__(self, store_url: str, address: str | None = None, cpus: int | None = None,
                 arrays_source: ArraysSource = load_local_arrays):
        self.store = RunStore(store_url)
        self.store_url, self.cpus = store_url, cpus or cpus_per_run()
        self.ray = connect_ray(address)
        self._remote = self.ray.remote(max_retries=0, retry_exceptions=False)(train_ray_task)
        self._arrays_source, self._data_ref = arrays_source, None
        self._pending = FairQueue()  # round-robin between the runs' owners
        self.pack_size = pack_limit()
        self._tasks: dict[int, _Task] = {}  # by the first run of each task
        self._unclaimed: set[int] = set()  # handed to Ray, not yet claimed by a task (the runner's to beat)
        self._lost: dict[int, tuple[float, Exception]] = {}  # run -> (when to stop waiting for Ray's word, error)
        self._nodes_at = float("-inf")
        self._nodes: list[NodeInfo] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._wake = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="softmax-lab-ray", daemon=True)
        self._watcher.start()

    # --- the Executor seam ---------------------------------------------------------------------------

    def submit(self, runs: Sequence[Submission]) -> None:
        with self._lock:
            for run in runs:
                self._pending.append(run.run_id, run.owner, run.pack)
        self._wake.set()

    def withdraw(self, run_id: int) -> bool:
        with self._lock:
            if run_id in self._pending:
                self._pending.remove(run_id)
                return True
            task = next((task for task in self._tasks.values() if run_id in task.run_ids), None)
        # Its cancel flag is already up, so no task can claim it from now on: if the store still has it
        # queued, it never trained (a claimed one stops through the flag). A lone run's task is dropped;
        # a pack's task goes on with its other runs, and skips this one, which the runner ends now.
        if task is None or self.store.get_run(run_id, scope=EVERYTHING).status != RunStatus.QUEUED:
            return False
        if len(task.run_ids) == 1:
            self.ray.cancel(task.ref, force=False)
        return True

    def held_run_ids(self) -> list[int]:
        """The runs waiting here or sent ahead to Ray and not yet claimed (the store says which)."""
        self._forget_claimed()
        with self._lock:
            return list(self._pending) + sorted(self._unclaimed)

    def workers(self) -> list[WorkerInfo]:
        with self._lock:
            tasks = list(self._tasks.values())
        ids = [task.run_id for task in tasks]
        runs = {run.id: run for run in self.store.get_runs(ids, scope=EVERYTHING)} if tasks else {}
        return [WorkerInfo(f"ray:{(runs[t.run_id].node or '?')[:8]}", runs[t.run_id].pid,
                           "training" if runs[t.run_id].node else "starting", t.run_id)
                for t in tasks if t.run_id in runs]

    def nodes(self) -> list[NodeInfo]:
        return describe_ray_nodes(self.ray)

    def capacity(self) -> int:
        return max(1, sum(node.cpus for node in self._alive_nodes()) // self.cpus)

    def shutdown(self, timeout: float = 10.0) -> None:
        self._closing.set()
        self._wake.set()
        self._watcher.join(timeout)
        self.ray.shutdown()  # the driver goes: Ray ends its tasks, and a local instance stops

    # --- the watcher thread ------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._closing.is_set():
            try:
                self._collect_ended_tasks()
                self._judge_lost_tasks()
                self._dispatch()
            except Exception:  # noqa: BLE001 - e.g. the database away for a moment: keep watching
                log.exception("the Ray executor's watcher hit an error; going on")
            self._wait_for_news()

    def _wait_for_news(self) -> None:
        """Until a task ends or a run is submitted (or a short while, to look at the cluster again)."""
        with self._lock:
            refs = [task.ref for task in self._tasks.values()]
        if refs and not self._wake.is_set():
            self.ray.wait(refs, num_returns=1, timeout=TASK_POLL_SECONDS)
        else:
            self._wake.wait(WATCH_SECONDS)
        self._wake.clear()

    def _collect_ended_tasks(self) -> None:
        with self._lock:
            refs = {task.ref: task for task in self._tasks.values()}
        if not refs:
            return
        ready, _ = self.ray.wait(list(refs), num_returns=len(refs), timeout=0)
        for ref in ready:
            task = refs[ref]
            with self._lock:
                self._tasks.pop(task.run_id, None)
                self._unclaimed.difference_update(task.run_ids)
            self._settle(task)

    def _settle(self, task: _Task) -> None:
        """A task ended: if its run is still active, find out what happened to it."""
        try:
            self.ray.get(task.ref)
            return  # the task recorded its run's end itself
        except self.ray.exceptions.TaskCancelledError:
            return  # withdrawn while queued; the runner ended it
        except self.ray.exceptions.RayError as error:
            # Its worker process died. Whether its node went with it, Ray may learn a little later.
            with self._lock:
                for run_id in task.run_ids:
                    self._lost[run_id] = (time.monotonic() + NODE_VERDICT_SECONDS, error)

    def _judge_lost_tasks(self) -> None:
        """A run whose task died ends interrupted if its node is gone, failed if the node lives on."""
        with self._lock:
            lost = dict(self._lost)
        if not lost:
            return
        alive = {node.name for node in self.nodes() if node.alive}  # fresh: this decides a run's end
        for run_id, (deadline, error) in lost.items():
            run = self.store.get_run(run_id, scope=EVERYTHING)
            node_gone = bool(run.node) and run.node not in alive
            if run.is_active and not node_gone and time.monotonic() < deadline:
                continue  # ask again on the next round
            with self._lock:
                self._lost.pop(run_id, None)
            if not run.is_active:
                continue
            if node_gone or isinstance(error, self.ray.exceptions.NodeDiedError):
                self.store.end_run(run_id, RunStatus.INTERRUPTED, Said(
                    RAY_NODE_LOST, node=(run.node or "?")[:8], host=str(run.host), status=status_named(run.status)))
            else:
                self.store.end_run(run_id, RunStatus.FAILED, Said(
                    RAY_WORKER_DIED, kind=type(error).__name__, detail=str(error)[:300]))

    def _forget_claimed(self) -> None:
        """Runs a task has claimed beat for themselves: asked when the runner asks (once a second)."""
        with self._lock:
            unclaimed = list(self._unclaimed)
        if unclaimed:
            claimed = {run.id for run in self.store.get_runs(unclaimed, scope=EVERYTHING)
                       if run.status != RunStatus.QUEUED}
            with self._lock:
                self._unclaimed -= claimed

    def _dispatch(self) -> None:
        """Gather the queue, the tasks out and the nodes; carry out what ``ray_plan.plan`` decides."""
        with self._lock:
            pending, task_gpus = list(self._pending), [task.gpus for task in self._tasks.values()]
        if not pending:
            return
        runs = {run.id: run for run in self.store.get_runs(pending, scope=EVERYTHING)}  # one query for the whole queue
        queue = [Waiting(run_id, runs[run_id].config.device, runs[run_id].cancel_requested)
                 for run_id in pending if run_id in runs]
        decided = plan(queue, task_gpus, self._alive_nodes(), self.cpus, PREFETCH_PER_NODE)
        for run_id in decided.withdraw:
            with self._lock:
                self._discard_pending(run_id)
        for run_id, why in decided.refuse:
            with self._lock:
                self._discard_pending(run_id)
            self.store.end_run(run_id, RunStatus.FAILED, Said(why))
        for run_id, gpus in decided.send:
            with self._lock:  # with the waiting runs it packs with (a pack is one task, counted once)
                run_ids = self._pending.take_pack(self.pack_size, first=run_id) if run_id in self._pending else []
            if run_ids:
                self._start_task(run_ids, gpus)

    def _alive_nodes(self) -> list[NodeInfo]:
        """The cluster's live nodes, asked of Ray at most every REFRESH_SECONDS (the watcher loops often,
        and ``capacity`` asks on every sweep estimate)."""
        with self._lock:
            now = time.monotonic()
            if now - self._nodes_at >= REFRESH_SECONDS:
                self._nodes, self._nodes_at = [node for node in self.nodes() if node.alive], now
            return self._nodes

    def _start_task(self, run_ids: list[int], gpus: int) -> None:
        """Send one task (a run, or a pack) to Ray; the runs are already off the queue."""
        try:
            data = [self._shipped_data()]  # in a list, so the task gets the reference and caches by it
        except Exception as error:  # noqa: BLE001 - e.g. the files aren't here yet: these runs say why
            for run_id in run_ids:
                self.store.end_run(run_id, RunStatus.FAILED, raised(error))
            return
        ref = self._remote.options(num_cpus=self.cpus, num_gpus=gpus).remote(self.store_url, run_ids, data,
                                                                              self.cpus)
        with self._lock:
            self._tasks[run_ids[0]] = _Task(run_ids, ref, gpus)
            self._unclaimed.update(run_ids)

    def _discard_pending(self, run_id: int) -> None:
        """Take the run off the queue as handed out (if a cancel hasn't taken it back meanwhile)."""
        if run_id in self._pending:
            self._pending.take(run_id)

    def _shipped_data(self):
        """The data set's arrays in Ray's object store, put there once."""
        if self._data_ref is None:
            arrays = self._arrays_source()
            self._data_ref = self.ray.put({name: np.ascontiguousarray(array) for name, array in arrays.items()})
        return self._data_ref


# --- inside a Ray worker process ----------------------------------------------------------------------------

_stores: dict[str, RunStore] = {}
_data: dict[str, FashionMNISTData] = {}


def train_ray_task(store_url: str, run_ids: list[int], data: list, threads: int) -> list[int]:
    """One run or one pack, as a Ray task: claim and train them (``run_driver.run_pack``), on this node's
    data copy; the runs it trained."""
    import ray
    import torch

    from softmax_core.runs.run_driver import run_pack

    torch.set_num_threads(threads)
    store = _stores.get(store_url) or _stores.setdefault(store_url, RunStore(store_url))
    node = ray.get_runtime_context().get_node_id()
    return run_pack(store, run_ids, lambda: _data_from(data[0]), node=node)


def _data_from(ref) -> FashionMNISTData:
    """The shipped arrays as tensors, made once per worker process and reused by its later runs."""
    import ray

    key = ref.hex()
    if key not in _data:
        arrays = {name: np.array(array) for name, array in ray.get(ref).items()}  # writable copies
        _data.clear()
        _data[key] = FashionMNISTData.from_arrays(arrays, Path("ray-object-store"))
    return _data[key]
