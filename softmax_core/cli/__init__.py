"""``python -m softmax_core``: the engine from a terminal.

``train`` runs one fit and prints a live per-epoch table and the book's verdict (or, with ``--json``,
one JSON object per line); with ``--store`` it is also recorded in the run store. With ``--executor
local|ray`` it is recorded and handed to that executor instead, and the same table is printed from what
the worker stores (``following``). ``sweep`` trains a grid (``sweep_cli``). ``runs`` lists the stored
runs; ``workers`` says what an executor sees: its machines, their CPUs and GPUs, and the runs going;
``teacher-password`` hashes the password that turns on the teacher's controls in classroom mode, and
``teacher-link`` prints a one-time link that signs the teacher in (for the person at the server). Bad
input and missing data end with a one-line message and exit code 2, never a traceback; a finished run
exits 0 whether or not the book's checks pass (that is a result, not an error); a diverged, failed or
stopped run exits 1.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import socket
import sys
import threading
from collections.abc import Sequence
from typing import Optional, TextIO

from softmax_core.analysis.sweeps import SweepError
from softmax_core.book.data import DataError, load_decoded_arrays, load_fashion_mnist, resolve_data_dir
from softmax_core.book.train import Callback, EpochReport, FitResult, FitStart, fit
from softmax_core.cli.sweep import add_sweep_parser, run_sweep
from softmax_core.config import PRESETS, ConfigError, TrainConfig, describe_config, preset_config, settings
from softmax_core.runs.executors import EXECUTORS, NodeInfo, executor_name
from softmax_core.runs.recording_callback import RecordingCallback
from softmax_core.runs.run_follower import follow_run
from softmax_core.runs.store import DB_ENV_VAR, RunRecord, RunStore, StoreError, open_default_store
from softmax_core.runs.worker import RunWatch
from softmax_core.status import RunStatus

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

def config_flag(name: str) -> str:
    """The CLI flag of a TrainConfig field, e.g. batch_size -> --batch-size."""
    return "--" + name.replace("_", "-")


class CommandLineError(Exception):
    """A flag's value can't be used; the message says which and why."""


class _QuietParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage and exit; we say one line
        raise CommandLineError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _QuietParser(prog="python -m softmax_core", description="Softmax regression on Fashion-MNIST.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_QuietParser)
    train = commands.add_parser("train", help="train one run and print its epochs")
    for name, setting in settings().items():  # values are checked by TrainConfig, which names the field
        if setting.kind is bool:  # --validation / --no-validation
            train.add_argument(config_flag(name), action=argparse.BooleanOptionalAction, help=setting.help)
        else:
            train.add_argument(config_flag(name), type=setting.kind, help=f"{setting.help} ({setting.allowed})")
    train.add_argument("--preset", choices=sorted(PRESETS), help="start from one of the book's runs")
    train.add_argument("--data-dir", help="folder with the four Fashion-MNIST .gz files")
    train.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    train.add_argument("--store", action="store_true", help=f"record the run in the run store (${DB_ENV_VAR})")
    train.add_argument("--name", default="", help="the run's name in the store")
    train.add_argument("--executor", choices=EXECUTORS,
                       help="train through this executor (recorded in the store) instead of in this process")
    commands.add_parser("teacher-password", help="hash a teacher's password for .streamlit/secrets.toml")
    link = commands.add_parser("teacher-link", help="a one-time link (10 minutes) that signs the teacher in, "
                                                    "for the person at the server: it works even while "
                                                    "password guesses are blocked")
    link.add_argument("--url", default="http://localhost:8501",
                      help="the address the teacher's browser reaches the app at (default: %(default)s)")
    add_sweep_parser(commands)
    workers = commands.add_parser("workers", help="what an executor sees: machines, CPUs, GPUs, runs going")
    workers.add_argument("--executor", choices=EXECUTORS, help="default: $SOFTMAX_LAB_EXECUTOR, else local")
    workers.add_argument("--json", action="store_true", help="one JSON object")
    runs = commands.add_parser("runs", help="list the runs in the run store")
    runs.add_argument("--json", action="store_true", help="one JSON object per run")
    runs.add_argument("--delete", type=int, metavar="ID", help="delete this run with its points and epochs")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The preset (or the book's defaults) with every given flag applied; raises ConfigError."""
    base = preset_config(args.preset) if args.preset else TrainConfig()
    changes = {name: getattr(args, name) for name in settings()}
    return base.replace(**{k: v for k, v in changes.items() if v is not None})


class TablePrinter(Callback):
    """Prints one row per epoch as it ends, then the outcome and the verdict."""

    def __init__(self, out: TextIO):
        self.out, self.validation = out, False

    def on_fit_start(self, start: FitStart) -> None:
        settings = ", ".join(f"{k}={v}" for k, v in start.config.to_dict().items())
        self.validation = start.config.validation
        self._print(f"training on {start.device}: {settings}")
        val_header = f"  {'val acc':>7}" if self.validation else ""
        self._print(f"{'epoch':>5}  {'train loss':>10}  {'train acc':>9}{val_header}  {'test acc':>8}  {'seconds':>7}")

    def on_epoch_end(self, report: EpochReport) -> None:
        val = f"  {report.val_acc:>7.4f}" if self.validation else ""
        self._print(f"{report.epoch:>5}  {report.train_loss:>10.4f}  {report.train_acc:>9.4f}{val}  "
                    f"{report.test_acc:>8.4f}  {report.seconds:>7.2f}")

    def on_fit_end(self, result: FitResult) -> None:
        self._print(result.message)
        if result.verdict:
            for check in result.verdict.checks:
                self._print(f"  [{'pass' if check.passed else 'FAIL'}] {check.name}: {check.text}")

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


class JsonLinesPrinter(Callback):
    """One JSON object per epoch (``epoch``, ``train_loss``, ``train_acc``, ``test_acc``, ...), then the end."""

    def __init__(self, out: TextIO):
        self.out = out

    def on_epoch_end(self, report: EpochReport) -> None:
        self._emit({"event": "epoch", "epoch": report.epoch, "step": report.step,
                    "train_loss": report.train_loss, "train_acc": report.train_acc,
                    "test_acc": report.test_acc, "val_acc": report.val_acc, "seconds": report.seconds})

    def on_fit_end(self, result: FitResult) -> None:
        self._emit(result_summary(result))

    def _emit(self, record: dict) -> None:
        print(json.dumps(record), file=self.out, flush=True)


def result_summary(result: FitResult) -> dict:
    """A JSON-ready summary of how a run ended."""
    final = result.final
    return {
        "event": "end", "status": result.status, "message": result.message,
        "seconds": result.seconds, "diverged_step": result.diverged_step,
        "final": None if final is None else {
            "train_loss": final.train_loss, "train_acc": final.train_acc, "test_acc": final.test_acc},
        "verdict": result.verdict.to_dict() if result.verdict else None,
    }


def run_train(args: argparse.Namespace, out: TextIO) -> int:
    config = config_from_args(args)
    printer = JsonLinesPrinter(out) if args.json else TablePrinter(out)
    if args.executor:
        return _train_through_executor(args.executor, config, args.name, printer, args.data_dir)
    data = load_fashion_mnist(args.data_dir, progress=_download_progress_printer())
    if not args.store:
        return _exit_code(fit(config, data, [printer]))
    store, run_id = _claim_stored_run(config, args.name)
    recorder, stop = RecordingCallback(store, run_id), threading.Event()
    try:
        with RunWatch(store, run_id, stop):  # heartbeat, and Cancel on the page stops this run too
            return _exit_code(fit(config, data, [recorder, printer], stop))
    except KeyboardInterrupt:
        recorder.flush()  # keep the points trained so far
        store.end_run(run_id, RunStatus.CANCELLED, "interrupted from the keyboard")
        raise


def _train_through_executor(name: str, config: TrainConfig, run_name: str, printer: Callback,
                            data_dir: Optional[str]) -> int:
    """Submit the run to the executor, print it from the store as its worker records it."""
    from softmax_core.runs.jobs import JobRunner

    store = open_default_store()
    runner = JobRunner(store, _make_cli_executor(name, store.url, data_dir))
    try:
        run_id = runner.submit(config, run_name)
        print(f"run {run_id} queued on the {name} executor, recorded in {store.url}", file=sys.stderr)
        try:
            return _exit_code(follow_run(store, run_id, [printer]))
        except KeyboardInterrupt:
            runner.cancel(run_id)
            runner.wait(run_id, timeout=10)
            raise
    finally:
        runner.shutdown(cancel_running=True)


def _make_cli_executor(name: str, store_url: str, data_dir: Optional[str]):
    """The executor for one run from the terminal, reading the data from ``data_dir`` if given."""
    folder = resolve_data_dir(data_dir)
    if name == "local":
        from softmax_core.runs.executors.local import LocalExecutor

        source = functools.partial(load_fashion_mnist, folder, download=False)
        return LocalExecutor(store_url, workers=1, data_source=source)  # one run: one worker, every core
    from softmax_core.runs.executors.ray_cluster import RayExecutor

    return RayExecutor(store_url, arrays_source=functools.partial(load_decoded_arrays, folder, download=False))


def run_workers(args: argparse.Namespace, out: TextIO) -> int:
    """Print the executor's machines and the runs going in the store."""
    name = args.executor or executor_name()
    nodes = _nodes_seen_by(name)
    store = open_default_store()
    going = [run for run in store.list_runs() if run.is_active]
    if args.json:
        print(json.dumps({"executor": name, "nodes": [vars(node) for node in nodes],
                          "runs": [{"id": r.id, "name": r.name, "status": r.status.value, "where": r.placement,
                                    "progress": r.progress} for r in going]}), file=out)
        return EXIT_OK
    print(f"executor {name}: {len(nodes)} machine(s), {sum(n.cpus for n in nodes if n.alive)} CPUs, "
          f"{sum(n.gpus for n in nodes if n.alive)} GPUs", file=out)
    for node in nodes:
        print(f"  {node.name[:16]:<16}  {node.host:<20}  {node.cpus:>3} CPUs  {node.gpus:>2} GPUs  "
              f"{'alive' if node.alive else 'dead'}", file=out)
    print(f"runs going: {len(going)}" + ("" if going else " (none)"), file=out)
    for run in going:
        print(f"  {run.id:>5}  {run.status:<8}  {100 * run.progress:5.1f}%  {run.name[:28]:<28}  "
              f"{run.placement or 'waiting for a worker'}", file=out)
    return EXIT_OK


def run_teacher_password(args: argparse.Namespace, out: TextIO) -> int:
    """Ask for a password (twice, hidden; or one line on stdin) and print its salted hash for secrets.toml."""
    from softmax_core.classroom.auth import ClassroomError, hash_password

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("teacher's password: ")
        if getpass.getpass("again: ") != password:
            raise CommandLineError("the two passwords differ; nothing was printed")
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        hashed = hash_password(password)
    except ClassroomError as error:
        raise CommandLineError(str(error)) from None
    print("# in .streamlit/secrets.toml (keep this file out of version control):", file=out)
    print(f'[classroom]\ncode = "choose-a-class-code"\nteacher_password_hash = "{hashed}"', file=out)
    return EXIT_OK


def run_teacher_link(args: argparse.Namespace, out: TextIO) -> int:
    """Print a one-time teacher sign-in link: whoever can run this command is at the server, trusted."""
    from softmax_core.classroom.auth import TEACHER_LINK_SECONDS, make_teacher_link

    token = make_teacher_link(open_default_store().classroom)
    print(f"{args.url.rstrip('/')}/?teacher_link={token}", file=out)
    print(f"(one use, within {TEACHER_LINK_SECONDS // 60:.0f} minutes)", file=sys.stderr)
    return EXIT_OK


def _nodes_seen_by(name: str) -> list[NodeInfo]:
    if name == "local":
        from softmax_core.runs.executors.local import describe_this_machine

        return [describe_this_machine()]
    from softmax_core.runs.executors.ray_cluster import connect_ray, describe_ray_nodes

    ray = connect_ray()
    try:
        return describe_ray_nodes(ray)
    finally:
        ray.shutdown()


def _claim_stored_run(config: TrainConfig, name: str) -> tuple[RunStore, int]:
    store = open_default_store()
    run_id = store.create_run(config, name or describe_config(config))
    store.claim_run(run_id, socket.gethostname(), os.getpid())
    print(f"recording as run {run_id} in {store.url}", file=sys.stderr)
    return store, run_id


def _exit_code(result: FitResult) -> int:
    return EXIT_OK if result.status == RunStatus.FINISHED else EXIT_RUN_FAILED


def run_list(args: argparse.Namespace, out: TextIO) -> int:
    """Print the stored runs, newest first (or delete one)."""
    store = open_default_store()
    if args.delete is not None:
        return _delete_run(store, args.delete, out)
    runs = store.list_runs()
    if not runs and not args.json:
        print("no runs stored yet", file=out)
    for run in runs:
        if args.json:
            print(json.dumps(run.to_dict()), file=out)
        else:
            print(format_run_line(run), file=out)
    return EXIT_OK


def _delete_run(store: RunStore, run_id: int, out: TextIO) -> int:
    try:
        run = store.get_run(run_id)
    except KeyError:
        raise CommandLineError(f"--delete: there is no run {run_id} in {store.url}") from None
    if run.is_active:
        raise CommandLineError(f"--delete: run {run_id} is {run.status}; cancel it first")
    store.delete_run(run_id)
    print(f"deleted run {run_id} ({run.name})", file=out)
    return EXIT_OK


def format_run_line(run: RunRecord) -> str:
    final = "" if run.final_train_loss is None else (
        f"loss {run.final_train_loss:.4f}  test acc {run.final_test_acc:.4f}  "
        f"{'pass' if run.verdict and run.verdict.passed else 'fail'}")
    return f"{run.id:>5}  {run.status:<11}  {run.name[:32]:<32}  {final}"


def _download_progress_printer():
    def report(name: str, done: int, total: Optional[int]) -> None:
        share = f"{100 * done / total:5.1f}%" if total else f"{done} bytes"
        print(f"\rdownloading {name}: {share}", end="", file=sys.stderr, flush=True)
    return report


def _silence_closed_stdout(out: TextIO) -> None:
    """Point stdout at /dev/null, so that Python's flush at exit doesn't fail on the closed pipe again."""
    if out is sys.stdout:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout) -> int:
    """Entry point; returns the process exit code."""
    try:
        args = build_parser().parse_args(argv)
        commands = {"train": run_train, "runs": run_list, "workers": run_workers,
                    "teacher-password": run_teacher_password, "teacher-link": run_teacher_link,
                    "sweep": run_sweep}
        return commands[args.command](args, out)
    except BrokenPipeError:  # e.g. `runs --json | head`: the reader has all it wanted
        _silence_closed_stdout(out)
        return EXIT_OK
    except (CommandLineError, ConfigError, DataError, StoreError, SweepError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED

