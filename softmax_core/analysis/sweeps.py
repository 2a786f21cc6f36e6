"""Sweeps: a grid of hyperparameters, trained as one tagged group of ordinary runs and read back as a grid.

A ``SweepSpec`` is the form's config plus one to three axes (any numeric ``TrainConfig`` field, each with
its values) and the seeds per cell; every value is checked by ``TrainConfig`` itself, so a bad one is
refused naming the field and its range. Its runs carry the sweep's id and their cell in their tags, so a
sweep is found again in the store after a restart (``RunStore.runs_tagged``), and shows on Compare like
any run. ``SweepGrid`` turns the runs into cells (mean, std and n over seeds of a chosen metric), and
``read_sweep`` says from those numbers which cells pass the book's checks, which is best and by how much
beyond the seeds' spread, and whether the best learning rate grows with the batch size (the
linear-scaling rule), and by how much.
"""

from __future__ import annotations

import itertools
import math
import statistics
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from softmax_core.config import ConfigError, TrainConfig, numeric_fields, settings
from softmax_core.dataset_sizes import TRAIN_SET_SIZE
from softmax_core.runs.store import RunRecord, RunRequest
from softmax_core.status import RunStatus

MAX_AXES = 3
MAX_SEEDS = 10
DEFAULT_MAX_RUNS = 64  # a larger grid is refused (SOFTMAX_LAB_MAX_SWEEP_RUNS changes it)
MAX_RUNS_ENV_VAR = "SOFTMAX_LAB_MAX_SWEEP_RUNS"
SUGGESTIONS = {"lr": (0.01, 0.03, 0.1, 0.3, 1.0), "batch_size": (32, 64, 128, 256, 512, 1024),
               "epochs": (5, 10, 20), "weight_decay": (0.0, 0.0001, 0.001), "momentum": (0.0, 0.5, 0.9),
               "init_std": (0.001, 0.01, 0.1)}
METRICS = {  # name -> (label, what is better)
    "final_train_loss": ("final train loss", "lower"),
    "final_train_acc": ("final train accuracy", "higher"),
    "final_test_acc": ("final test accuracy", "higher"),
    "passes": ("passes the book's checks (share of seeds)", "higher"),
}
BOOK_LOSS_LIMIT = 0.5  # the book's first check: train_loss < 0.5


class SweepError(ValueError):
    """A sweep can't be made as asked (an axis, a value, its size); the message says which and why."""


def parse_values(field_name: str, text: str) -> tuple:
    """'0.03, 0.1,0.3' as the field's values (its type), each checked by TrainConfig; SweepError if not."""
    kind = settings()[field_name].kind
    values = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            value = kind(float(part)) if kind is int and float(part).is_integer() else kind(part)
        except ValueError:
            raise SweepError(f"{field_name}: {part!r} is not a number") from None
        values.append(value)
    if not values:
        example = ", ".join(map(str, suggest_values(field_name)))
        raise SweepError(f"{field_name}: give at least one value, e.g. {example}")
    if len(set(values)) != len(values):
        raise SweepError(f"{field_name}: each value once, got {', '.join(map(str, values))}")
    return tuple(values)


def suggest_values(field_name: str) -> tuple:
    """Values worth trying: log-spaced for the learning rate and the batch size."""
    return SUGGESTIONS.get(field_name, (settings()[field_name].low, settings()[field_name].high))


def is_log_spaced(values: Sequence[float]) -> bool:
    """Positive values spread more evenly by factor than by difference (0.01, 0.03, 0.1; 64, 256, 1024):
    best drawn on a log axis. Two values are when one is 3x the other or more."""
    ordered = sorted(values)
    if len(ordered) < 2 or ordered[0] <= 0:
        return False
    if len(ordered) == 2:
        return ordered[1] / ordered[0] >= 3
    gaps = [b - a for a, b in zip(ordered, ordered[1:])]
    log_gaps = [math.log(b / a) for a, b in zip(ordered, ordered[1:])]
    return min(log_gaps) >= math.log(1.5) and _unevenness(log_gaps) < _unevenness(gaps)


def _unevenness(gaps: Sequence[float]) -> float:
    return (max(gaps) - min(gaps)) / statistics.fmean(gaps)


@dataclass(frozen=True)
class SweepSpec:
    """What to sweep: the base config, the axes (field -> values) and the seeds per cell."""

    base: TrainConfig
    axes: dict[str, tuple]
    seeds: int = 1

    def __post_init__(self) -> None:
        if not 1 <= len(self.axes) <= MAX_AXES:
            raise SweepError(f"axes: choose 1 to {MAX_AXES} fields to vary, got {len(self.axes)}")
        for name in self.axes:
            if name not in numeric_fields():
                raise SweepError(f"axes: {name!r} can't be swept; choose from {', '.join(numeric_fields())}")
            if name == "seed":
                raise SweepError("axes: the seed is not an axis; set the seeds per cell instead")
        if not 1 <= self.seeds <= MAX_SEEDS:
            raise SweepError(f"seeds: from 1 to {MAX_SEEDS} per cell, got {self.seeds}")
        for name, values in self.axes.items():
            for value in values:
                try:
                    self.base.replace(**{name: value})
                except ConfigError as error:
                    raise SweepError(str(error)) from None

    @property
    def cells(self) -> list[tuple]:
        """Every combination of the axes' values, in grid order."""
        return list(itertools.product(*self.axes.values()))

    @property
    def size(self) -> int:
        return len(self.cells) * self.seeds

    def check_size(self, limit: int) -> None:
        if self.size > limit:
            shape = " x ".join(str(len(v)) for v in self.axes.values())
            raise SweepError(f"the grid has {self.size} runs ({shape} cells x {self.seeds} seeds); this server "
                             f"allows at most {limit} per sweep ({MAX_RUNS_ENV_VAR})")

    def configs(self) -> list[tuple[dict[str, Any], TrainConfig]]:
        """(cell, config) for every run: each cell's values with seeds base.seed, base.seed + 1, ..."""
        runs = []
        for cell in self.cells:
            values = dict(zip(self.axes, cell))
            for offset in range(self.seeds):
                runs.append((values, self.base.replace(**values, seed=self.base.seed + offset)))
        return runs

    def total_steps(self) -> int:
        return sum(config.epochs * math.ceil(_train_images(config) / config.batch_size)
                   for _, config in self.configs())

    def estimate_seconds(self, seconds_per_step: float, parallel_runs: int) -> float:
        """Wall time, from a measured time per step (``seconds_per_step``) and the runs at once."""
        return self.total_steps() * seconds_per_step / max(1, parallel_runs)


def _train_images(config: TrainConfig) -> int:
    return TRAIN_SET_SIZE * 5 // 6 if config.validation else TRAIN_SET_SIZE


def new_sweep_id() -> str:
    return uuid.uuid4().hex[:8]


def sweep_tags(sweep_id: str, spec: SweepSpec, cell: dict[str, Any]) -> dict:
    """What a sweep's run carries: the sweep, its axes, and its cell."""
    return {"sweep": sweep_id, "axes": list(spec.axes), "cell": cell, "seeds": spec.seeds}


def run_name(sweep_id: str, cell: dict[str, Any], seed: int) -> str:
    parts = ", ".join(f"{settings()[name].short} {value:g}" for name, value in cell.items())
    return f"sweep {sweep_id}: {parts}, seed {seed}"


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

    def summary(self, metric: str) -> list[dict]:
        """Every cell's values, mean, std and n of the metric (what --json prints at the end)."""
        return [{**cell.values, "mean": cell.mean(metric), "std": cell.std(metric), "n": len(cell.numbers(metric))}
                for cell in self.cells.values()]


def read_sweep(grid: SweepGrid) -> list[str]:
    """What the finished cells say, computed from their numbers."""
    finished = {key: cell for key, cell in grid.cells.items() if cell.numbers("final_train_loss")}
    if not finished:
        return ["No cell has a finished run yet."]
    return [line for line in (_passing_cells(grid, finished), _best_cell(grid, finished),
                              _linear_scaling(grid, finished)) if line]


def _describe_cell(grid: SweepGrid, cell: Cell) -> str:
    return ", ".join(f"{settings()[name].short} {cell.values[name]:g}" for name in grid.axes)


def _passing_cells(grid: SweepGrid, finished: dict[tuple, Cell]) -> str:
    passing = [cell for cell in finished.values() if cell.mean("passes") == 1.0]
    if not passing:
        return (f"None of the {len(finished)} finished cells passes the book's checks in every seed "
                f"(train loss < {BOOK_LOSS_LIMIT} is the one that fails).")
    names = "; ".join(_describe_cell(grid, cell) for cell in passing)
    return f"{len(passing)} of {len(finished)} finished cells pass the book's checks in every seed: {names}."


def _best_cell(grid: SweepGrid, finished: dict[tuple, Cell]) -> str:
    ranked = sorted(finished.values(), key=lambda cell: cell.mean("final_train_loss"))
    best = ranked[0]
    text = f"The lowest final train loss is {best.mean('final_train_loss'):.4f} at {_describe_cell(grid, best)}"
    if len(ranked) == 1:
        return text + "."
    runner_up = ranked[1]
    margin = runner_up.mean("final_train_loss") - best.mean("final_train_loss")
    spread = max(best.std("final_train_loss") or 0.0, runner_up.std("final_train_loss") or 0.0)
    if len(best.numbers("final_train_loss")) < 2:
        return text + f", {margin:.4f} below the next cell ({_describe_cell(grid, runner_up)}); one seed per cell " \
                      "gives no spread to weigh that against."
    verdict = "well beyond" if margin > 2 * spread else ("beyond" if margin > spread else "within")
    return text + (f", {margin:.4f} below the next cell ({_describe_cell(grid, runner_up)}): {verdict} the seeds' "
                   f"spread (std up to {spread:.4f}).")


def best_lr_by_batch(grid: SweepGrid, finished: dict[tuple, Cell]) -> dict[int, float]:
    """For each batch size, the learning rate with the lowest mean final train loss."""
    best: dict[int, tuple[float, float]] = {}
    for cell in finished.values():
        batch, lr, loss = cell.values["batch_size"], cell.values["lr"], cell.mean("final_train_loss")
        if batch not in best or loss < best[batch][1]:
            best[batch] = (lr, loss)
    return {batch: lr for batch, (lr, _) in sorted(best.items())}


def _linear_scaling(grid: SweepGrid, finished: dict[tuple, Cell]) -> str:
    if not {"lr", "batch_size"} <= set(grid.axes):
        return ""
    best = best_lr_by_batch(grid, finished)
    if len(best) < 2:
        return ""
    batches = list(best)
    lrs = [best[batch] for batch in batches]
    small, large = batches[0], batches[-1]
    batch_factor, lr_factor = large / small, lrs[-1] / lrs[0]
    steps = ", ".join(f"batch {batch}: lr {lr:g}" for batch, lr in best.items())
    rule = f"where the linear-scaling rule says {batch_factor:g}x"
    if all(b >= a for a, b in zip(lrs, lrs[1:])) and lr_factor > 1:
        return (f"Best lr per batch size ({steps}): from batch {small} to {large} ({batch_factor:g}x) the best "
                f"learning rate grows {lr_factor:g}x, {rule}. So good settings lie along a diagonal: a larger "
                "batch takes fewer steps per epoch, and a larger learning rate makes each step count for more.")
    if lr_factor == 1:
        return (f"Best lr per batch size ({steps}): from batch {small} to {large} ({batch_factor:g}x) the best "
                f"learning rate stays the same, {rule}; try larger learning rates for the larger batches.")
    return (f"Best lr per batch size ({steps}): from batch {small} to {large} ({batch_factor:g}x) the best "
            f"learning rate does not grow steadily ({lr_factor:g}x overall), {rule}.")


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
