"""A sweep's spec: the form's config plus one to three axes (any numeric ``TrainConfig`` field, each with
its values) and the seeds per cell. Every value is checked by ``TrainConfig`` itself, so a bad one is
refused naming the field and its range; a grid larger than the server allows is refused whole.
"""

from __future__ import annotations

import itertools
import math
import statistics
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from softmax_core.book.schedule import EpochSchedule
from softmax_core.config import ConfigError, TrainConfig, numeric_fields, run_cost, settings
from softmax_core.dataset_sizes import TRAIN_SET_SIZE, VALIDATION_SIZE
from softmax_core.errors import InputError
from softmax_core.i18n import _, as_code, ngettext
from softmax_core.runs.store import RunRecord
from softmax_core.settings import DEFAULT_MAX_SWEEP_RUNS
from softmax_core.status import RunStatus

MAX_AXES = 3
MAX_SEEDS = 10
DEFAULT_MAX_RUNS = DEFAULT_MAX_SWEEP_RUNS  # a larger grid is refused (SOFTMAX_LAB_MAX_SWEEP_RUNS changes it)
MAX_RUNS_ENV_VAR = "SOFTMAX_LAB_MAX_SWEEP_RUNS"
SUGGESTIONS = {"lr": (0.01, 0.03, 0.1, 0.3, 1.0), "batch_size": (32, 64, 128, 256, 512, 1024),
               "epochs": (5, 10, 20), "weight_decay": (0.0, 0.0001, 0.001), "momentum": (0.0, 0.5, 0.9),
               "init_std": (0.001, 0.01, 0.1)}
FALLBACK_SECONDS_PER_STEP = 0.0004  # one core, batch 256, when no finished run says better


class SweepError(InputError):
    """A sweep can't be made as asked (an axis, a value, its size); the message says which and why."""


def values_label(field_name: str) -> str:
    """How a person knows an axis's values: 'Batch size values', as the form labels them."""
    return _("{label} values").format(label=settings()[field_name].label_text)


def parse_values(field_name: str, text: str) -> tuple:
    """'0.03, 0.1,0.3' as the field's values (its type), each checked by TrainConfig; SweepError if not,
    which names the values as the form labels them (not the config's field name). What a Chinese input
    method types is read as the same: '512，1024', '0.1、0.3', full-width digits and points."""
    kind = settings()[field_name].kind
    label = values_label(field_name)
    values = []
    typed = unicodedata.normalize("NFKC", text).replace("、", ",")  # '，' -> ',', '０．１' -> '0.1'
    for part in (p.strip() for p in typed.split(",")):
        if not part:
            continue
        try:
            value = kind(float(part)) if kind is int and float(part).is_integer() else kind(part)
        except ValueError:
            problem = (_("{label}: {part} is not a whole number") if kind is int
                       else _("{label}: {part} is not a number"))
            raise SweepError(problem.format(label=label, part=repr(part))) from None
        values.append(value)
    if not values:
        example = ", ".join(map(str, suggest_values(field_name)))
        raise SweepError(_("{label}: give at least one value, e.g. {example}").format(label=label, example=example))
    if len(set(values)) != len(values):
        raise SweepError(_("{label}: each value once, got {values}").format(
            label=label, values=", ".join(map(str, values))))
    return tuple(values)


def suggest_values(field_name: str) -> tuple:
    """Values worth trying: log-spaced for the learning rate and the batch size."""
    return SUGGESTIONS.get(field_name, (settings()[field_name].low, settings()[field_name].high))


def default_values(field_name: str, around: float, count: int = 3) -> tuple:
    """The ``count`` suggested values nearest ``around`` (the Train form's value), in order: a first grid
    around the run a person knows, e.g. batch 128, 256, 512 and lr 0.03, 0.1, 0.3 for the book's run
    (the smallest batches cost a class the most, so a default grid doesn't start there)."""
    values = suggest_values(field_name)

    def distance(value: float) -> float:
        if value > 0 and around > 0:
            return abs(math.log(value / around))
        return abs(value - around)

    return tuple(sorted(sorted(values, key=distance)[:count]))


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
            raise SweepError(_("axes: choose 1 to {most} fields to vary, got {count}").format(
                most=MAX_AXES, count=len(self.axes)))
        for name in self.axes:
            if name not in numeric_fields():
                raise SweepError(_("axes: {name} can't be swept; choose from {fields}").format(
                    name=repr(name), fields=", ".join(numeric_fields())))
            if name == "seed":
                raise SweepError(_("axes: the seed is not an axis; set the seeds per cell instead"))
        if not 1 <= self.seeds <= MAX_SEEDS:
            raise SweepError(_("seeds: from 1 to {most} per cell, got {count}").format(most=MAX_SEEDS,
                                                                                     count=self.seeds))
        for name, values in self.axes.items():
            for value in values:
                try:
                    self.base.replace(**{name: value})
                except ConfigError as error:
                    reason = str(error).removeprefix(f"{error.field}: ")
                    label = values_label(error.field)
                    raise SweepError(_("{label}: {reason}").format(label=label, reason=reason)) from None

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
            raise SweepError(_("the grid has {size} runs ({shape} cells x {seeds} seeds); this server allows at most "
                               "{limit} per sweep ({variable})").format(
                size=self.size, shape=shape, seeds=self.seeds, limit=limit, variable=as_code(MAX_RUNS_ENV_VAR)))

    def configs(self) -> list[tuple[dict[str, Any], TrainConfig]]:
        """(cell, config) for every run: each cell's values with seeds base.seed, base.seed + 1, ..."""
        runs = []
        for cell in self.cells:
            values = dict(zip(self.axes, cell))
            for offset in range(self.seeds):
                runs.append((values, self.base.replace(**values, seed=self.base.seed + offset)))
        return runs

    def total_steps(self) -> int:
        return sum(config.epochs * EpochSchedule(training_images(config), config.batch_size, 1).steps
                   for _, config in self.configs())

    def estimate_seconds(self, seconds_per_step: float, parallel_runs: int) -> float:
        """Wall time, from a measured time per step (``seconds_per_step``) and the runs at once."""
        return self.total_steps() * seconds_per_step / max(1, parallel_runs)


def largest_grid_that_fits(spec: SweepSpec, fits: Callable[[list[TrainConfig]], bool]) -> SweepSpec | None:
    """The largest part of ``spec`` (fewer values per axis, cheapest values first, or fewer seeds) whose
    runs ``fits`` admits; None if not even one run does. Ties keep more values over more seeds."""
    cheapest = {name: sorted(values, key=lambda v: run_cost(spec.base.replace(**{name: v})))
                for name, values in spec.axes.items()}
    best, best_key = None, (0, 0)
    counts = [range(1, len(values) + 1) for values in spec.axes.values()]
    for shape in itertools.product(*counts):
        cells = math.prod(shape)
        for seeds in range(spec.seeds, 0, -1):
            if (cells * seeds, cells) <= best_key:
                break
            axes = {name: tuple(sorted(cheapest[name][:count])) for name, count in zip(spec.axes, shape)}
            smaller = SweepSpec(spec.base, axes, seeds)
            if fits([config for _, config in smaller.configs()]):
                best, best_key = smaller, (cells * seeds, cells)
                break
    return best


def describe_smaller_grid(spec: SweepSpec, smaller: SweepSpec | None) -> str:
    """What fits, in a student's words: 'at most 3 runs fit: try 3 learning rates × 1 batch size
    (batch 128; lr 0.03, 0.1, 0.3), or ask your teacher'."""
    if smaller is None:
        return _("not even one of these runs fits now: wait for your runs to end, or ask your teacher")
    counts = " × ".join(_count_values(name, len(values)) for name, values in smaller.axes.items())
    comma = _(", ")
    which = _("; ").join(_(settings()[name].short) + " " + comma.join(f"{v:g}" for v in values)
                         for name, values in smaller.axes.items())
    seeds = " × " + ngettext("{count} seed", "{count} seeds", smaller.seeds).format(count=smaller.seeds) \
        if smaller.seeds > 1 else ""
    return ngettext("at most {size} run fits: try {counts}{seeds} ({which}), or ask your teacher",
                    "at most {size} runs fit: try {counts}{seeds} ({which}), or ask your teacher",
                    smaller.size).format(size=smaller.size, counts=counts, seeds=seeds, which=which)


COUNTED_VALUES = {  # an axis's values counted, as the catalog says each (Chinese has no plural: 3 个学习率)
    "batch_size": lambda n: ngettext("{count} batch size", "{count} batch sizes", n),
    "lr": lambda n: ngettext("{count} learning rate", "{count} learning rates", n),
    "epochs": lambda n: ngettext("{count} epochs value", "{count} epochs values", n),
    "init_std": lambda n: ngettext("{count} initial weight std", "{count} initial weight stds", n),
    "weight_decay": lambda n: ngettext("{count} weight decay", "{count} weight decays", n),
    "momentum": lambda n: ngettext("{count} momentum", "{count} momentums", n),
    "reports_per_epoch": lambda n: ngettext("{count} reports per epoch value", "{count} reports per epoch values", n),
}


def _count_values(field_name: str, count: int) -> str:
    """'3 learning rates', '1 batch size', '3 个学习率'."""
    if field_name in COUNTED_VALUES:
        return COUNTED_VALUES[field_name](count).format(count=count)
    return f"{count} × {settings()[field_name].label_text}"


def training_images(config: TrainConfig) -> int:
    """How many images a run of this config trains on (a validation split holds some out)."""
    return TRAIN_SET_SIZE - VALIDATION_SIZE if config.validation else TRAIN_SET_SIZE


def seconds_per_step(runs: Iterable[RunRecord], fallback: float = FALLBACK_SECONDS_PER_STEP) -> float:
    """Measured on finished runs (a server's recent ones): their training time per step, the median. A
    run trained in a pack of K shared its time with K - 1 others, so it counts a K-th of it."""
    samples = [(run.ended_at - run.started_at) / run.total_steps / (run.pack_size or 1) for run in runs
               if run.status == RunStatus.FINISHED and run.total_steps and run.started_at and run.ended_at]
    return statistics.median(samples) if samples else fallback


