"""Executors: where a run's training happens, behind one small seam that JobRunner uses.

An executor takes run ids that are already recorded as ``queued`` in the store and sees that a worker
trains each (``run_driver.run_stored``). Everything else (points, heartbeats, the cancel flag, how a run
ended) goes through the store, so an executor needs no channel back to the page, and the server's
process never trains. ``local`` is a pool of worker processes on this machine; ``ray`` sends each run
to a Ray cluster, as one task. ``$SOFTMAX_LAB_EXECUTOR`` chooses.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Protocol

from softmax_core.settings import EXECUTORS, server_settings

EXECUTOR_ENV_VAR = "SOFTMAX_LAB_EXECUTOR"
PACK_ENV_VAR = "SOFTMAX_LAB_PACK_SIZE"


@dataclass(frozen=True)
class WorkerInfo:
    """One worker as its executor sees it."""

    name: str  # e.g. 'local-1'
    pid: int | None
    state: str  # starting | idle | training
    run_id: int | None = None


@dataclass(frozen=True)
class NodeInfo:
    """One machine (a Ray node, or this one for ``local``) and what it offers."""

    name: str  # the Ray node id, or the host name
    host: str
    cpus: int
    gpus: int
    alive: bool = True


@dataclass(frozen=True)
class Submission:
    """A queued run handed to an executor: whose it is (for taking turns) and its pack key (None: alone)."""

    run_id: int
    owner: Hashable | None = None
    pack: Hashable | None = None


class Executor(Protocol):
    """What JobRunner needs of an executor."""

    def submit(self, runs: Sequence[Submission]) -> None:
        """Have workers train these queued runs (returns at once). They wait as one: no worker sees the
        first before the last is queued, so a sweep's packs are whole. Waiting runs take turns by owner,
        and runs with the same ``pack`` key may train together as one pack."""

    def withdraw(self, run_id: int) -> bool:
        """Take back a run no worker has started; True if it was still waiting here."""

    def held_run_ids(self) -> list[int]:
        """Runs waiting here for a worker (their heartbeat is the runner's to keep)."""

    def workers(self) -> list[WorkerInfo]:
        """The workers and what each is doing."""

    def nodes(self) -> list[NodeInfo]:
        """The machines it trains on."""

    def capacity(self) -> int:
        """How many runs it trains at once."""

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the workers (what they train ends through the store's cancel flag first)."""


def pack_limit() -> int:
    """How many runs of one sweep or group a worker may train as one pack: $SOFTMAX_LAB_PACK_SIZE, else 16
    (1: every run alone, as ``sweep --no-pack`` asks)."""
    return server_settings().pack_size


def executor_name() -> str:
    """$SOFTMAX_LAB_EXECUTOR, else 'local' (``settings`` checks it)."""
    return server_settings().executor


def make_executor(store_url: str, name: str | None = None) -> Executor:
    """The executor the environment asks for, training into the store at ``store_url``."""
    name = name or executor_name()
    if name not in EXECUTORS:
        raise ValueError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")
    if name == "ray":
        from softmax_core.runs.executors.ray_cluster import RayExecutor

        return RayExecutor(store_url)
    from softmax_core.runs.executors.local import LocalExecutor

    return LocalExecutor(store_url)
