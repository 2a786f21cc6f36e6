"""The ``local`` executor: a pool of worker processes on this machine, started with the server and reused.

Each worker is forked from a template process that has imported torch once (``zygote.py``): ready in
milliseconds, not the two seconds of a fresh interpreter's torch import. It is given the server's
``sys.path``, environment and working directory and its arguments over a ``multiprocessing.connection``
channel, and never imports the parent's ``__main__``: under Streamlit that is the page script itself,
which ``multiprocessing``'s spawn would re-run in every worker (streamlit#4788). Where ``os.fork`` is
missing, each worker is a fresh interpreter started the same way. A worker sets its own torch threads
(the cores split between the workers), loads the data once, reports ``ready``, then trains one unit at a
time (one run or a pack, ``run_driver.run_pack``) at nice +19, on the cores the server's pages leave
(``worker.py``: the worker's side).

A supervisor thread in the server's process holds the queue, hands a run to an idle worker over that
worker's own channel, shares the workers fairly while runs train (an owner holding more than its share
while another waits with less is asked, through the store's yield flag, to give one worker back at its
next epoch end; the run goes back to the queue with its checkpoint and resumes later, nothing lost),
and watches every channel, which ends when its worker's process does: a worker that dies (kill -9,
out of memory) has its run ended ``failed`` with what happened, and is replaced, while the other
workers and runs go on. Per-worker channels, not one shared queue, so that a worker killed at any
moment can leave no lock held.

Workers exit when the server's process goes away (they watch their parent), so a run never trains on
unseen; its heartbeat then goes stale and the next server marks it ``interrupted``.
"""

from __future__ import annotations

import collections
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait

from softmax_core.i18n import Said
from softmax_core.runs.executors import NodeInfo, Submission, WorkerInfo, pack_limit
from softmax_core.runs.executors.zygote import ForkedWorker, fork_worker
from softmax_core.runs.fair_queue import FairQueue, choose_yields
from softmax_core.runs.run_driver import DataSource, load_local_data
from softmax_core.runs.store import EVERYTHING, RunStore
from softmax_core.status import WORKER_LOST, RunStatus, worker_death

log = logging.getLogger(__name__)
RESTART_DELAY_SECONDS = 2.0  # after a worker died before it was ready, so a broken start can't spin
_BOOTSTRAP = ("import sys; from multiprocessing.connection import Connection; "
              "channel = Connection(int(sys.argv[1])); sys.path[:] = channel.recv(); channel.recv(); "
              "from softmax_core.runs.executors.worker import worker_main; worker_main(channel, *channel.recv())")


def available_cores() -> int:
    """Cores this process may run on (taskset and cgroups included), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def describe_this_machine() -> NodeInfo:
    """This machine as the ``local`` executor's one node: its usable cores and CUDA GPUs."""
    import torch

    host = socket.gethostname()
    return NodeInfo(name=host, host=host, cpus=available_cores(), gpus=torch.cuda.device_count())


def default_worker_count(cores: int | None = None) -> int:
    """One worker per core, at least 2 (a long run never blocks a short one), at most 4."""
    return max(2, min(4, cores or available_cores()))


@dataclass
class _Slot:
    """One worker process and what the supervisor knows of it."""

    index: int
    process: subprocess.Popen | ForkedWorker
    conn: Connection
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    run_ids: list[int] = field(default_factory=list)  # what it trains now: one run, or a pack
    owner: Hashable | None = None  # whose runs they are (the fair queue's owner group)
    yielding: bool = False  # asked to give the worker back at the next epoch end
    handed_at: float = 0.0  # when it was handed its runs: the newest unit is the one asked to yield

    @property
    def run_id(self) -> int | None:
        return self.run_ids[0] if self.run_ids else None

    @property
    def state(self) -> str:
        return "starting" if not self.ready else ("training" if self.run_ids else "idle")


class LocalExecutor:
    """Worker processes on this machine, fed by a supervisor thread."""

    def __init__(self, store_url: str, workers: int | None = None, threads_per_worker: int | None = None,
                 data_source: DataSource = load_local_data, warm_data: bool = True):
        self.store = RunStore(store_url)
        self.worker_count = workers or default_worker_count()
        self.threads_per_worker = threads_per_worker or max(1, available_cores() // self.worker_count)
        self._worker_args = (store_url, data_source, self.threads_per_worker, warm_data)
        self._pending = FairQueue()  # round-robin between the runs' owners
        self._submissions: dict[int, Submission] = {}  # every run handed to us and not yet ended: its owner
        self.pack_size = pack_limit()
        self._slots: list[_Slot] = []
        self._restart_at: dict[int, float] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._wake_reader, self._wake_writer = _channel_pair()
        # one thread starts, feeds and buries the workers, so no page's script thread ever waits on them
        self._supervisor = threading.Thread(target=self._supervise, name="softmax-lab-supervisor", daemon=True)
        self._supervisor.start()

    # --- the Executor seam -------------------------------------------------------------------------------

    def submit(self, runs: Sequence[Submission]) -> None:
        with self._lock:
            for run in runs:
                self._pending.append(run.run_id, run.owner, run.pack)
                self._submissions[run.run_id] = run
        self._wake()

    def withdraw(self, run_id: int) -> bool:
        with self._lock:
            if run_id in self._pending:
                self._pending.remove(run_id)
                self._submissions.pop(run_id, None)
                return True
        return False

    def held_run_ids(self) -> list[int]:
        with self._lock:
            return list(self._pending)

    def workers(self) -> list[WorkerInfo]:
        with self._lock:
            return [WorkerInfo(f"local-{slot.index + 1}", slot.process.pid, slot.state, slot.run_id)
                    for slot in self._slots]

    def nodes(self) -> list[NodeInfo]:
        return [describe_this_machine()]

    def capacity(self) -> int:
        return self.worker_count

    def shutdown(self, timeout: float = 10.0) -> None:
        self._closing.set()
        self._wake()
        self._supervisor.join(timeout)

    # --- the supervisor thread ------------------------------------------------------------------------

    def _supervise(self) -> None:
        slots = [self._start_worker(index) for index in range(self.worker_count)]  # unlocked: submit never waits
        with self._lock:
            self._slots = slots
        while not self._closing.is_set():
            try:
                self._supervise_once()
            except Exception:  # noqa: BLE001 - e.g. the database away for a moment: keep supervising
                log.exception("the worker supervisor hit an error; going on")
                time.sleep(0.5)
        self._stop_workers()

    def _supervise_once(self) -> None:
        self._restart_due_workers()
        for handle in wait([self._wake_reader] + [slot.conn for slot in self._slots], timeout=1.0):
            self._handle(handle)
        self._dispatch()

    def _handle(self, handle) -> None:
        if handle is self._wake_reader:
            while self._wake_reader.poll():
                self._wake_reader.recv_bytes()
            return
        for slot in list(self._slots):
            if handle is slot.conn:
                self._receive(slot)  # a message, or the end of the channel when the worker died

    def _receive(self, slot: _Slot) -> None:
        try:
            message = slot.conn.recv()
        except (EOFError, OSError):
            self._bury(slot)
            return
        requeued = self._yielded_runs(slot.run_ids) if message[0] == "done" else []
        with self._lock:
            slot.ready = True
            if message[0] == "done":
                self._requeue(requeued)
                for run_id in slot.run_ids:
                    if run_id not in requeued:
                        self._submissions.pop(run_id, None)
                slot.run_ids, slot.yielding = [], False

    def _yielded_runs(self, run_ids: Sequence[int]) -> list[int]:
        """Which of a finished unit's runs gave their worker back (queued again, with a checkpoint)."""
        if not run_ids:
            return []
        return [run.id for run in self.store.get_runs(run_ids, scope=EVERYTHING) if run.status == RunStatus.QUEUED]

    def _requeue(self, run_ids: list[int]) -> None:
        """Back into the queue, under their owner; a pack that yielded packs again only with itself (its
        cells resume from one epoch)."""
        pack = ("resumed", tuple(run_ids)) if len(run_ids) > 1 else None
        for run_id in run_ids:
            owner = self._submissions[run_id].owner if run_id in self._submissions else None
            self._pending.append(run_id, owner, pack)

    def _dispatch(self) -> None:
        with self._lock:
            for slot in self._slots:
                if slot.ready and not slot.run_ids and self._pending:
                    held = collections.Counter(other.owner for other in self._slots if other.run_ids)
                    slot.run_ids = self._pending.take_pack(self.pack_size, self._pending.peek_least_served(held))
                    first = self._submissions.get(slot.run_ids[0])
                    slot.owner, slot.yielding, slot.handed_at = first and first.owner, False, time.monotonic()
                    try:
                        slot.conn.send(slot.run_ids)
                    except OSError:
                        pass  # it died just now: its channel says so next, and the run is ended there
            yielding = self._choose_slots_to_yield()
        if yielding:
            self.store.request_yield([run_id for slot in yielding for run_id in slot.run_ids])

    def _choose_slots_to_yield(self) -> list[_Slot]:
        """Slots whose owner holds more than its share while another owner waits with less: each is
        marked yielding (its newest unit goes; the others keep training). Call with the lock held."""
        if not self._pending or any(slot.ready and not slot.run_ids for slot in self._slots):
            return []
        busy = [slot for slot in self._slots if slot.run_ids]
        keeping = [slot for slot in busy if not slot.yielding]
        held = collections.Counter(slot.owner for slot in keeping)
        chosen = []
        for owner in choose_yields(held, self._pending.waiting_by_owner(), self.worker_count, len(busy) - len(keeping)):
            slot = max((s for s in keeping if s.owner == owner and s not in chosen), key=lambda s: s.handed_at)
            slot.yielding = True
            chosen.append(slot)
        if chosen:
            log.info("asking runs %s to give their workers back at their next epoch end",
                     [slot.run_ids for slot in chosen])
        return chosen

    def _bury(self, slot: _Slot) -> None:
        """A worker died: end its run with what happened, and have it replaced."""
        if slot not in self._slots:
            return
        try:
            slot.process.wait(5.0)
        except subprocess.TimeoutExpired:  # its channel broke but it lives on: end it for good
            slot.process.kill()
            slot.process.wait()
        with self._lock:
            self._slots.remove(slot)
            delay = 0.0 if slot.ready else RESTART_DELAY_SECONDS
            self._restart_at[slot.index] = time.monotonic() + delay
        death = worker_death(slot.process.pid, slot.process.returncode)
        log.error("%s%s", death.english(), f" while training runs {slot.run_ids}" if slot.run_ids else "")
        for run_id in slot.run_ids:
            self.store.end_run(run_id, RunStatus.FAILED, Said(WORKER_LOST, what=death))
            with self._lock:
                self._submissions.pop(run_id, None)
        slot.conn.close()

    def _restart_due_workers(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [index for index, when in self._restart_at.items() if when <= now]
            for index in due:
                del self._restart_at[index]
        started = [self._start_worker(index) for index in due]
        with self._lock:
            self._slots.extend(started)

    def _start_worker(self, index: int) -> _Slot:
        ours, theirs = socket.socketpair()
        if hasattr(os, "fork"):
            process = fork_worker(theirs)
        else:
            process = subprocess.Popen([sys.executable, "-c", _BOOTSTRAP, str(theirs.fileno())],
                                       pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        channel = Connection(ours.detach())
        channel.send(list(sys.path))
        channel.send((dict(os.environ), os.getcwd()))
        channel.send((os.getpid(), *self._worker_args))
        return _Slot(index, process, channel)

    def _stop_workers(self) -> None:
        for slot in self._slots:
            if not slot.ready:  # still starting: it holds no run, so nothing is lost by not waiting
                slot.process.kill()
                continue
            try:
                slot.conn.send(None)
            except OSError:
                pass
        for slot in self._slots:
            try:
                slot.process.wait(5.0)
            except subprocess.TimeoutExpired:
                slot.process.kill()
                slot.process.wait()

    def _wake(self) -> None:
        try:
            self._wake_writer.send_bytes(b"!")
        except OSError:
            pass


def _channel_pair() -> tuple[Connection, Connection]:
    """Two ends of a local byte channel that ``multiprocessing.connection.wait`` can watch."""
    reader, writer = socket.socketpair()
    return Connection(reader.detach()), Connection(writer.detach())


def describe_worker_death(pid: int | None, exitcode: int | None) -> str:
    """E.g. 'the worker process 4121 was killed by SIGKILL (out of memory, or killed by hand)' (English, for
    the log; a run keeps ``worker_death``'s language-neutral form)."""
    return worker_death(pid, exitcode).english()
