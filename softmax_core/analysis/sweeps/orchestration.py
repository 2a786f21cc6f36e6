"""A sweep trained: one tagged group of ordinary runs, queued all or none through whoever may start
them (a JobRunner's ``submit_many``, or the classroom policy for one person), found again in the store
by its tag (``RunStore.runs_tagged``), and cancelled as one."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from softmax_core.analysis.sweeps.spec import SweepSpec
from softmax_core.run_names import sweep_run_name
from softmax_core.runs.store import RunRequest


def new_sweep_id() -> str:
    return uuid.uuid4().hex[:8]


def sweep_tags(sweep_id: str, spec: SweepSpec, cell: dict[str, Any]) -> dict:
    """What a sweep's run carries: the sweep, its axes, and its cell."""
    return {"sweep": sweep_id, "axes": list(spec.axes), "cell": cell, "seeds": spec.seeds}


def run_name(sweep_id: str, cell: dict[str, Any], seed: int) -> str:
    """A sweep's run's stored name, in English (a page says it in the reader's language: ``shown_name``)."""
    return sweep_run_name(sweep_id, cell, seed)


def sweep_requests(spec: SweepSpec, sweep_id: str) -> list[RunRequest]:
    """Every run of the sweep, named and tagged as one group."""
    return [RunRequest(config, run_name(sweep_id, cell, config.seed), sweep_tags(sweep_id, spec, cell))
            for cell, config in spec.configs()]


def submit_sweep(start: Callable[[list[RunRequest]], list[int]], spec: SweepSpec) -> tuple[str, list[int]]:
    """Queue every run of the sweep as one tagged group, all or none (``start``: a JobRunner's
    ``submit_many``, or the classroom policy's ``start`` for one person); returns (sweep id, run ids)."""
    sweep_id = new_sweep_id()
    return sweep_id, start(sweep_requests(spec, sweep_id))


def cancel_sweep(cancel: Callable[[int], bool], run_ids: Iterable[int]) -> int:
    """Cancel every queued or running run of a sweep (``cancel``: the runner's, or the policy's for one
    person); returns how many were still going."""
    return sum(cancel(run_id) for run_id in run_ids)


