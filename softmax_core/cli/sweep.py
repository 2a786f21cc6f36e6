"""``python -m softmax_core sweep``: a grid of runs from a terminal, through an executor and the store.

A flag given several values (``--lr 0.03,0.1,0.3 --batch-size 64,256,1024``) is an axis; given one, it
sets the base config, as in ``train``. Each run's row is printed as it ends, then the grid of means and
the sweep's reading (``sweeps.read_sweep``). With ``--json``: one JSON object per finished run, then a
summary object with every cell's mean, std and n of each metric, and the reading.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TextIO

from softmax_core.analysis.sweeps import (
    METRICS,
    SweepGrid,
    SweepSpec,
    cancel_sweep,
    describe_cell,
    metric_of,
    parse_values,
    read_sweep,
    short_name,
    submit_sweep,
)
from softmax_core.cli.common import add_common_flags, make_cli_executor
from softmax_core.config import PRESETS, TrainConfig, numeric_fields, preset_config, settings
from softmax_core.i18n import _
from softmax_core.runs.store import EVERYTHING, RunRecord, open_default_store
from softmax_core.settings import server_settings
from softmax_core.status import RunStatus

POLL_SECONDS = 0.25


def add_sweep_parser(commands) -> None:
    sweep = commands.add_parser("sweep", help=_("train a grid of runs and read it as a grid"))
    for name in numeric_fields():
        if name != "seed":
            setting = settings()[name]
            sweep.add_argument("--" + name.replace("_", "-"), metavar="V[,V...]",
                               help=_("{label}: one value, or several for an axis ({allowed})").format(
                                   label=setting.label_text, allowed=setting.allowed))
    sweep.add_argument("--seeds", type=int, default=1, metavar="N",
                       help=_("runs per cell, seeds 0, 1, ... (default 1)"))
    sweep.add_argument("--preset", choices=sorted(PRESETS), help=_("the base config: one of the book's runs"))
    sweep.add_argument("--validation", action=argparse.BooleanOptionalAction,
                       help=settings()["validation"].help_text)
    add_common_flags(sweep, _("one JSON object per finished run, then a summary"))
    sweep.add_argument("--no-pack", action="store_true",
                       help=_("train every run alone (by default the cells that differ only in lr, weight decay "
                              "and momentum train together as one pack, with the same numbers)"))


def spec_from_args(args: argparse.Namespace) -> SweepSpec:
    """The axes (flags with several values) over the base (the preset, flags with one value)."""
    base = preset_config(args.preset) if args.preset else TrainConfig()
    axes, fixed = {}, {}
    for name in numeric_fields():
        text = getattr(args, name, None)
        if text is None:
            continue
        values = parse_values(name, text)
        if len(values) > 1:
            axes[name] = values
        else:
            fixed[name] = values[0]
    if args.validation is not None:
        fixed["validation"] = args.validation
    return SweepSpec(base.replace(**fixed), axes, args.seeds)


def run_sweep(args: argparse.Namespace, out: TextIO) -> int:
    from softmax_core.runs.executors import executor_name
    from softmax_core.runs.jobs import JobRunner

    spec = spec_from_args(args)
    spec.check_size(server_settings().max_sweep_runs)
    store = open_default_store()
    runner = JobRunner(store, make_cli_executor(args.executor or executor_name(), store.url, args.data_dir),
                       pack=not args.no_pack)
    try:
        sweep_id, run_ids = submit_sweep(runner.submit_many, spec)
        print(_("sweep {sweep_id}: {count} runs queued, recorded in {url}").format(
            sweep_id=sweep_id, count=spec.size, url=store.url), file=sys.stderr)
        try:
            grid = follow_sweep(store, run_ids, JsonRows(out) if args.json else TableRows(out, spec))
        except KeyboardInterrupt:
            cancel_sweep(runner.cancel, run_ids)
            raise
    finally:
        runner.shutdown(cancel_running=True)
    (print_json_summary if args.json else print_grid)(grid, out)
    return 0 if all(run.status == RunStatus.FINISHED for run in grid.runs) else 1


def follow_sweep(store, run_ids: list[int], rows) -> SweepGrid:
    """Print each run as it ends, until all have; the finished grid."""
    reported: set[int] = set()
    while True:
        runs = store.get_runs(run_ids, scope=EVERYTHING)
        for run in runs:
            if not run.is_active and run.id not in reported:
                rows.print(run)
                reported.add(run.id)
        if len(reported) == len(run_ids):
            return SweepGrid.from_runs(runs)
        time.sleep(POLL_SECONDS)


class TableRows:
    """One line per ended run: its cell, seed, final metrics and whether it passes."""

    def __init__(self, out: TextIO, spec: SweepSpec):
        self.out, self.axes = out, list(spec.axes)
        header = "  ".join(f"{short_name(name):>10}" for name in self.axes)
        seed, loss, accuracy, checks = _("seed"), _("train loss"), _("test acc"), _("checks")
        print(f"{header}  {seed:>4}  {loss:>10}  {accuracy:>8}  {checks}", file=out, flush=True)

    def print(self, run: RunRecord) -> None:
        cell = "  ".join(f"{run.tags['cell'][name]:>10g}" for name in self.axes)
        if run.status != RunStatus.FINISHED:
            status = _(run.status.value)  # the msgids are marked with the status names in dashboard/render.py
            print(f"{cell}  {run.config.seed:>4}  {status} {run.shown_error()}", file=self.out, flush=True)
            return
        checks = _("pass") if run.verdict and run.verdict.passed else _("fail")
        print(f"{cell}  {run.config.seed:>4}  {run.final_train_loss:>10.4f}  {run.final_test_acc:>8.4f}  {checks}",
              file=self.out, flush=True)


class JsonRows:
    def __init__(self, out: TextIO):
        self.out = out

    def print(self, run: RunRecord) -> None:
        record = {"event": "run", "id": run.id, "cell": run.tags["cell"], "seed": run.config.seed,
                  "status": run.status.value, **{name: metric_of(run, name) for name in METRICS}}
        print(json.dumps(record), file=self.out, flush=True)


def print_grid(grid: SweepGrid, out: TextIO) -> None:
    print("\n" + _("cells: mean final train loss ± std over seeds (n)"), file=out)
    for cell in grid.cells.values():
        where = describe_cell(grid.axes, cell.values)
        metric = "final_train_loss"
        mean, std, count = cell.mean(metric), cell.std(metric), len(cell.numbers(metric))
        shown = _("no finished run") if mean is None else f"{mean:.4f} ± {std:.4f} ({count})"
        print(f"  {where:<32} {shown}", file=out)
    print("", file=out)
    for line in read_sweep(grid):
        print(line, file=out)


def print_json_summary(grid: SweepGrid, out: TextIO) -> None:
    print(json.dumps({"event": "summary", "axes": grid.axes, "seeds": grid.seeds, "cells": grid.summary(),
                      "reading": read_sweep(grid)}), file=out, flush=True)
