"""A sweep's runs read back as a grid: cells (one combination of the axes, the runs of its seeds), each
metric's mean, std and n over seeds, and the cells as a heatmap draws them."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from softmax_core.analysis.sweeps.spec import SweepError
from softmax_core.book.verdict import BOOK_LOSS_LIMIT
from softmax_core.i18n import N_
from softmax_core.runs.store import RunRecord
from softmax_core.status import RunStatus

METRICS = {  # name -> (label, a catalog msgid: shown through _(), what is better)
    "final_train_loss": (N_("final train loss"), "lower"),
    "final_train_acc": (N_("final train accuracy"), "higher"),
    "final_test_acc": (N_("final test accuracy"), "higher"),
    "passes": (N_("passes the book's checks (share of seeds)"), "higher"),
}

def metric_of(run: RunRecord, metric: str) -> float | None:
    """A finished run's value of the metric (passes: 1.0 or 0.0); None before it has one. Test accuracy
    read in a scope that hides it (a student before the reveal) is the validation split's."""
    if metric == "passes":
        return None if run.verdict is None else float(run.verdict.passed)
    if metric == "final_test_acc":
        return run.held_out_acc
    return getattr(run, metric)


@dataclass
class Cell:
    """One combination of the axes and the runs of its seeds."""

    values: dict[str, Any]
    runs: list[RunRecord] = field(default_factory=list)

    def numbers(self, metric: str) -> list[float]:
        return [value for run in self.runs if run.status == RunStatus.FINISHED
                if (value := metric_of(run, metric)) is not None]

    def mean(self, metric: str) -> float | None:
        numbers = self.numbers(metric)
        return statistics.fmean(numbers) if numbers else None

    def std(self, metric: str) -> float | None:
        numbers = self.numbers(metric)
        return statistics.stdev(numbers) if len(numbers) > 1 else (0.0 if numbers else None)

    @property
    def active(self) -> int:
        return sum(run.is_active for run in self.runs)


@dataclass
class SweepGrid:
    """A sweep's runs arranged by cell."""

    axes: list[str]
    cells: dict[tuple, Cell]
    seeds: int

    @classmethod
    def from_runs(cls, runs: Iterable[RunRecord]) -> SweepGrid:
        runs = sorted(runs, key=lambda run: run.id)
        if not runs:
            raise SweepError("this sweep has no runs")
        axes = list(runs[0].tags["axes"])
        cells: dict[tuple, Cell] = {}
        for run in runs:
            key = tuple(run.tags["cell"][name] for name in axes)
            cells.setdefault(key, Cell(dict(run.tags["cell"]))).runs.append(run)
        ordered = dict(sorted(cells.items()))
        return cls(axes, ordered, int(runs[0].tags.get("seeds", 1)))

    def axis_values(self, name: str) -> list:
        index = self.axes.index(name)
        return sorted({key[index] for key in self.cells})

    @property
    def runs(self) -> list[RunRecord]:
        return [run for cell in self.cells.values() for run in cell.runs]

    @property
    def done(self) -> bool:
        return not any(run.is_active for run in self.runs)

    def summary(self) -> list[dict]:
        """Every cell's values, and the mean, std and n of each metric (what ``sweep --json`` ends with)."""
        return [{"cell": cell.values, **{metric: {"mean": cell.mean(metric), "std": cell.std(metric),
                                                  "n": len(cell.numbers(metric))} for metric in METRICS}}
                for cell in self.cells.values()]


@dataclass(frozen=True)
class HeatCell:
    """One cell of a sweep's heatmap, as plain numbers."""

    x: float
    y: float | str
    mean: float | None  # None: no finished run yet
    std: float | None
    n: int
    running: int  # runs of the cell still queued or training
    inside_book_loss: bool  # its mean final train loss is below the book's 0.5
    key: int  # which cell it is, for a click


def heat_cells(grid: SweepGrid, metric: str, x_axis: str, y_axis: str | None = None,
               fixed: dict[str, Any] | None = None) -> list[HeatCell]:
    """The grid's cells as the heatmap draws them: x and y from two axes (a third held at ``fixed``)."""
    cells = []
    for key, cell in enumerate(grid.cells.values()):
        if any(cell.values[name] != value for name, value in (fixed or {}).items()):
            continue
        mean = cell.mean(metric)
        loss = cell.mean("final_train_loss")
        cells.append(HeatCell(x=cell.values[x_axis], y=cell.values[y_axis] if y_axis else "",
                              mean=mean, std=cell.std(metric), n=len(cell.numbers(metric)), running=cell.active,
                              inside_book_loss=loss is not None and loss < BOOK_LOSS_LIMIT, key=key))
    return cells


def cell_by_key(grid: SweepGrid, key: int) -> Cell:
    """The cell a heatmap click names (``HeatCell.key``)."""
    return list(grid.cells.values())[key]
