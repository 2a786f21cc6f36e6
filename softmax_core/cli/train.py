"""``python -m softmax_core train``: one fit, printed as a live per-epoch table and the book's verdict (or,
with ``--json``, one JSON object per line). With ``--store`` the run is also recorded, trained the one
way a stored run trains (``run_driver``); with ``--executor`` it is handed to that executor and printed
from what the worker stores (``run_follower``). Loaded only for the commands that train, so that
``runs``, ``teacher-link`` and the rest never import torch.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, TextIO

from softmax_core.book.data import DataError, load_fashion_mnist
from softmax_core.book.train import Callback, EpochReport, FitResult, FitStart, fit
from softmax_core.cli.common import CommandLineError, make_cli_executor
from softmax_core.config import TrainConfig, describe_config, preset_config, settings
from softmax_core.i18n import _
from softmax_core.metric_registry import METRICS, NAMES, Metric, Split
from softmax_core.runs.run_driver import claim, train_claimed
from softmax_core.runs.run_follower import follow_run
from softmax_core.runs.store import RunStore, StoreError, open_default_store
from softmax_core.runs.store.records import shown_device
from softmax_core.status import RunStatus

EXIT_OK, EXIT_RUN_FAILED = 0, 1


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The preset (or the book's defaults) with every given flag applied; raises ConfigError."""
    base = preset_config(args.preset) if args.preset else TrainConfig()
    changes = {name: getattr(args, name) for name in settings()}
    return base.replace(**{k: v for k, v in changes.items() if v is not None})


class TablePrinter(Callback):
    """Prints one row per epoch as it ends (a column for each of the registry's metrics the run measures),
    then the outcome and the verdict."""

    def __init__(self, out: TextIO):
        self.out, self.columns = out, list(METRICS)

    def on_fit_start(self, start: FitStart) -> None:
        settings = ", ".join(f"{k}={v}" for k, v in start.config.to_dict().items())
        self.columns = [m for m in METRICS if m.split is not Split.VALIDATION or start.config.validation]
        self._print(_("training on {device}: {settings}").format(device=shown_device(start.device), settings=settings))
        epoch, seconds, labels = _("epoch"), _("seconds"), [_(m.label) for m in self.columns]
        self._print("  ".join([f"{epoch:>5}", *(f"{label:>{_width(m)}}" for label, m in zip(labels, self.columns)),
                               f"{seconds:>7}"]))

    def on_epoch_end(self, report: EpochReport) -> None:
        values = [_cell(getattr(report, m.name, None), _width(m)) for m in self.columns]
        self._print("  ".join([f"{report.epoch:>5}", *values, f"{report.seconds:>7.2f}"]))

    def on_fit_end(self, result: FitResult) -> None:
        self._print(describe_result(result))
        if result.verdict:
            for check in result.verdict.checks:
                outcome = _("pass") if check.passed else _("FAIL")
                self._print(f"  [{outcome}] {check.name}: {check.sentence()}")

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


class JsonLinesPrinter(Callback):
    """One JSON object per epoch (``epoch``, ``train_loss``, ``train_acc``, ``test_acc``, ...), then the end."""

    def __init__(self, out: TextIO):
        self.out = out

    def on_epoch_end(self, report: EpochReport) -> None:
        self._emit({"event": "epoch", "epoch": report.epoch, "step": report.step,
                    **{name: getattr(report, name, None) for name in NAMES}, "seconds": report.seconds})

    def on_fit_end(self, result: FitResult) -> None:
        self._emit(result_summary(result))

    def _emit(self, record: dict) -> None:
        print(json.dumps(record), file=self.out, flush=True)


def describe_result(result: FitResult) -> str:
    """How the run ended, in the reader's language (the result's own message is the engine's English)."""
    if result.status == RunStatus.FINISHED and result.verdict is not None:
        return _("finished {epochs} epochs; the book's checks: {summary}").format(
            epochs=result.final.epoch if result.final else len(result.epochs), summary=result.verdict.describe())
    return str(result.ending) if result.ending is not None else result.message


def result_summary(result: FitResult) -> dict:
    """A JSON-ready summary of how a run ended."""
    final = result.final
    return {
        "event": "end", "status": result.status, "message": result.message,
        "seconds": result.seconds, "diverged_step": result.diverged_step,
        "final": None if final is None else {name: getattr(final, name, None) for name in NAMES},
        "verdict": result.verdict.to_dict() if result.verdict else None,
    }


def _width(metric: Metric) -> int:
    return max(len(_(metric.label)), 7)


def _cell(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.4f}"


def run_train(args: argparse.Namespace, out: TextIO) -> int:
    config = config_from_args(args)
    printer = JsonLinesPrinter(out) if args.json else TablePrinter(out)
    if args.executor:
        return _train_through_executor(args.executor, config, args.name, printer, args.data_dir)
    try:
        data = load_fashion_mnist(args.data_dir, progress=_download_progress_printer())
    except DataError as error:
        raise CommandLineError(str(error)) from None
    if not args.store:
        return _exit_code(fit(config, data, [printer]))
    store, run_id = _claim_stored_run(config, args.name)
    # the one way a stored run trains: heartbeat, Cancel on a page, any failure recorded as the run's end
    return _exit_code(train_claimed(store, run_id, lambda: data, [printer]))


def _train_through_executor(name: str, config: TrainConfig, run_name: str, printer: Callback,
                            data_dir: Optional[str]) -> int:
    """Submit the run to the executor, print it from the store as its worker records it."""
    from softmax_core.runs.jobs import JobRunner

    store = open_default_store()
    runner = JobRunner(store, make_cli_executor(name, store.url, data_dir, workers=1))
    try:
        run_id = runner.submit(config, run_name)
        print(_("run {run_id} queued on the {executor} executor, recorded in {url}").format(
            run_id=run_id, executor=name, url=store.url), file=sys.stderr)
        try:
            return _exit_code(follow_run(store, run_id, [printer]))
        except KeyboardInterrupt:
            runner.cancel(run_id)
            runner.wait(run_id, timeout=10)
            raise
    finally:
        runner.shutdown(cancel_running=True)


def _claim_stored_run(config: TrainConfig, name: str) -> tuple[RunStore, int]:
    store = open_default_store()
    run_id = store.create_run(config, name or describe_config(config))
    if not claim(store, run_id):
        raise StoreError(_("run {run_id} was taken or cancelled before this process could claim it").format(
            run_id=run_id))
    print(_("recording as run {run_id} in {url}").format(run_id=run_id, url=store.url), file=sys.stderr)
    return store, run_id


def _exit_code(result: FitResult) -> int:
    return EXIT_OK if result.status == RunStatus.FINISHED else EXIT_RUN_FAILED


def _download_progress_printer():
    def report(name: str, done: int, total: Optional[int]) -> None:
        share = f"{100 * done / total:5.1f}%" if total else _("{count} bytes").format(count=done)
        print("\r" + _("downloading {name}: {share}").format(name=name, share=share), end="", file=sys.stderr,
              flush=True)
    return report


