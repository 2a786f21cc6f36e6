"""Sweeps: a grid of hyperparameters, trained as one tagged group of ordinary runs and read back as a grid.

Four layers, one module each: ``spec`` (what to sweep, checked), ``orchestration`` (the runs queued,
found and cancelled as one), ``grid`` (the runs back as cells with each metric's mean, std and n) and
``reading`` (what the numbers say, in sentences). Pages and the CLI import from here.
"""

from softmax_core.analysis.sweeps.grid import METRICS, Cell, HeatCell, SweepGrid, cell_by_key, heat_cells, metric_of
from softmax_core.analysis.sweeps.orchestration import (
    cancel_sweep,
    new_sweep_id,
    run_name,
    submit_sweep,
    sweep_requests,
    sweep_tags,
)
from softmax_core.analysis.sweeps.reading import best_lr_by_batch, describe_cell, read_sweep, short_name
from softmax_core.analysis.sweeps.spec import (
    DEFAULT_MAX_RUNS,
    FALLBACK_SECONDS_PER_STEP,
    MAX_AXES,
    MAX_RUNS_ENV_VAR,
    MAX_SEEDS,
    SUGGESTIONS,
    SweepError,
    SweepSpec,
    default_values,
    describe_smaller_grid,
    is_log_spaced,
    largest_grid_that_fits,
    parse_values,
    seconds_per_step,
    suggest_values,
    training_images,
    values_label,
)

__all__ = [
    "DEFAULT_MAX_RUNS", "FALLBACK_SECONDS_PER_STEP", "MAX_AXES", "MAX_RUNS_ENV_VAR", "MAX_SEEDS", "METRICS",
    "SUGGESTIONS", "Cell", "HeatCell", "SweepError", "SweepGrid", "SweepSpec", "best_lr_by_batch", "cancel_sweep",
    "cell_by_key", "default_values", "describe_cell", "describe_smaller_grid", "heat_cells", "is_log_spaced",
    "largest_grid_that_fits", "metric_of", "new_sweep_id", "parse_values", "read_sweep", "run_name",
    "seconds_per_step", "short_name", "submit_sweep", "suggest_values", "sweep_requests", "sweep_tags",
    "training_images", "values_label",
]
