"""``softmax-lab`` (= ``python -m softmax_core``): the engine from a terminal.

``serve`` starts the dashboard: the packaged ``dashboard/app.py`` with Streamlit, whose settings are the
project's own (``dashboard/.streamlit/config.toml``) from any working folder; the ``--server.*`` flags
after it go to Streamlit as they are (e.g. ``--server.port 8502``). ``--version`` says which release.
``train`` runs one fit and prints a live per-epoch table and the book's verdict (or, with ``--json``,
one JSON object per line); with ``--store`` it is also recorded in the run store. With ``--executor
local|ray`` it is recorded and handed to that executor instead, and the same table is printed from what
the worker stores (``following``). ``sweep`` trains a grid (``sweep_cli``). ``runs`` lists the stored
runs; ``workers`` says what an executor sees: its machines, their CPUs and GPUs, and the runs going;
``class-code`` prints a new, hard-to-guess class code (words and digits, 42 bits);
``teacher-password`` hashes the password that turns on the teacher's controls in classroom mode, and
``teacher-link`` prints a one-time link that signs the teacher in (for the person at the server). Bad
input and missing data end with a one-line message and exit code 2, never a traceback; a finished run
exits 0 whether or not the book's checks pass (that is a result, not an error); a diverged, failed or
stopped run exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Optional, TextIO

from softmax_core.cli.common import CommandLineError, add_common_flags
from softmax_core.cli.sweep import add_sweep_parser
from softmax_core.config import PRESETS, settings
from softmax_core.errors import LabError
from softmax_core.i18n import _, use_language
from softmax_core.i18n.choose import language_from_environment
from softmax_core.runs.executors import NodeInfo, executor_name
from softmax_core.runs.store import DB_ENV_VAR, EVERYTHING, RunRecord, RunStore, open_default_store
from softmax_core.settings import check_settings
from softmax_core.status import RunStatus, status_named

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

def config_flag(name: str) -> str:
    """The CLI flag of a TrainConfig field, e.g. batch_size -> --batch-size."""
    return "--" + name.replace("_", "-")


class _TranslatedHelp(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None) -> None:
        super().add_usage(usage, actions, groups, _("usage: ") if prefix is None else prefix)


class _QuietParser(argparse.ArgumentParser):
    """argparse in the reader's language: its own words (usage, options, -h) come from our catalog, since
    Python ships no Chinese one for them."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **{**kwargs, "add_help": False, "formatter_class": _TranslatedHelp})
        self._positionals.title, self._optionals.title = _("positional arguments"), _("options")
        self.add_argument("-h", "--help", action="help", help=_("show this help message and exit"))

    def error(self, message: str) -> None:  # argparse would print usage and exit; we say one line
        raise CommandLineError(message)


def build_parser() -> argparse.ArgumentParser:
    from softmax_core import __version__

    parser = _QuietParser(prog="softmax-lab", description=_("Softmax regression on Fashion-MNIST."))
    parser.add_argument("--version", action="version", version=f"softmax-lab {__version__}",
                        help=_("show the version and exit"))
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_QuietParser,
                                     title=_("commands"))
    commands.add_parser("serve", help=_("start the dashboard; Streamlit's --server.* flags are passed on "
                                        "(e.g. --server.port 8502, --server.address 0.0.0.0)"))
    train = commands.add_parser("train", help=_("train one run and print its epochs"))
    for name, setting in settings().items():  # values are checked by TrainConfig, which names the field
        if setting.kind is bool:  # --validation / --no-validation
            train.add_argument(config_flag(name), action=argparse.BooleanOptionalAction, help=setting.help_text)
        else:
            train.add_argument(config_flag(name), type=setting.kind, metavar=name.upper(),
                               help=f"{setting.help_text} ({setting.allowed})")
    train.add_argument("--preset", choices=sorted(PRESETS), help=_("start from one of the book's runs"))
    add_common_flags(train, _("one JSON object per line instead of a table"))
    train.add_argument("--store", action="store_true",
                       help=_("record the run in the run store (${variable})").format(variable=DB_ENV_VAR))
    train.add_argument("--name", default="", metavar="NAME", help=_("the run's name in the store"))
    commands.add_parser("teacher-password", help=_("hash a teacher's password for .streamlit/secrets.toml"))
    code = commands.add_parser("class-code", help=_("a new class code: readable words and digits, hard to guess"))
    code.add_argument("--words", type=int, default=4, choices=range(3, 9), metavar="N",
                      help=_("how many words (3-8; default %(default)s)"))
    link = commands.add_parser("teacher-link", help=_("a one-time link (10 minutes) that signs the teacher in, "
                                                      "for the person at the server: it works even while "
                                                      "password guesses are blocked"))
    link.add_argument("--url", default="http://localhost:8501", metavar="URL",
                      help=_("the address the teacher's browser reaches the app at (default: %(default)s)"))
    add_sweep_parser(commands)
    workers = commands.add_parser("workers", help=_("what an executor sees: machines, CPUs, GPUs, runs going"))
    add_common_flags(workers, _("one JSON object"))
    runs = commands.add_parser("runs", help=_("list the runs in the run store"))
    add_common_flags(runs, _("one JSON object per run"), trains=False)
    runs.add_argument("--delete", type=int, metavar="ID", help=_("delete this run with its points and epochs"))
    return parser


def run_workers(args: argparse.Namespace, out: TextIO) -> int:
    """Print the executor's machines and the runs going in the store."""
    name = args.executor or executor_name()
    nodes = _nodes_seen_by(name)
    store = open_default_store()
    going = [run for run in store.list_runs(scope=EVERYTHING) if run.is_active]
    if args.json:
        print(json.dumps({"executor": name, "nodes": [vars(node) for node in nodes],
                          "runs": [{"id": r.id, "name": r.name, "status": r.status.value, "where": r.placement,
                                    "progress": r.progress} for r in going]}), file=out)
        return EXIT_OK
    print(_("executor {name}: {machines} machine(s), {cpus} CPUs, {gpus} GPUs").format(
        name=name, machines=len(nodes), cpus=sum(n.cpus for n in nodes if n.alive),
        gpus=sum(n.gpus for n in nodes if n.alive)), file=out)
    for node in nodes:
        state = _("alive") if node.alive else _("dead")
        counts = _("{cpus} CPUs  {gpus} GPUs  {state}").format(cpus=f"{node.cpus:>3}", gpus=f"{node.gpus:>2}",
                                                               state=state)
        print(f"  {node.name[:16]:<16}  {node.host:<20}  {counts}", file=out)
    print((_("runs going: {count}") if going else _("runs going: {count} (none)")).format(count=len(going)), file=out)
    waiting = _("waiting for a worker")
    for run in going:
        print(f"  {run.id:>5}  {status_named(run.status)!s:<8}  {100 * run.progress:5.1f}%  {run.name[:28]:<28}  "
              f"{run.shown_placement() or waiting}", file=out)
    return EXIT_OK


def run_teacher_password(args: argparse.Namespace, out: TextIO) -> int:
    """Ask for a password (twice, hidden; or one line on stdin) and print its salted hash for secrets.toml."""
    from softmax_core.classroom.auth import ClassroomError, hash_password

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass(_("teacher's password: "))
        if getpass.getpass(_("again: ")) != password:
            raise CommandLineError(_("the two passwords differ; nothing was printed"))
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        hashed = hash_password(password)
    except ClassroomError as error:
        raise CommandLineError(str(error)) from None
    print(_("# in .streamlit/secrets.toml (keep this file out of version control):"), file=out)
    print(f'[classroom]\ncode = "choose-a-class-code"\nteacher_password_hash = "{hashed}"', file=out)
    return EXIT_OK


def run_class_code(args: argparse.Namespace, out: TextIO) -> int:
    """Print a new random class code, its entropy, and how long guessing it at the door would take."""
    from softmax_core.classroom.auth import CODE_TRIES
    from softmax_core.classroom.class_code import generate_class_code, generated_code_bits, years_to_guess

    bits, rule = generated_code_bits(args.words), CODE_TRIES["address"]
    print(generate_class_code(args.words), file=out)
    print(_("({bits} bits; with 1000 addresses guessing at the door's pace, about {years} years to find it "
            "on average)").format(bits=f"{bits:.0f}", years=f"{years_to_guess(bits, 1000, rule):,.0f}"),
          file=sys.stderr)
    print(_("set it as code in .streamlit/secrets.toml's [classroom], or in $SOFTMAX_LAB_CLASS_CODE"), file=sys.stderr)
    return EXIT_OK


def run_teacher_link(args: argparse.Namespace, out: TextIO) -> int:
    """Print a one-time teacher sign-in link: whoever can run this command is at the server, trusted."""
    from softmax_core.classroom.auth import SIGN_IN_PATH, TEACHER_LINK_SECONDS, make_teacher_link

    token = make_teacher_link(open_default_store().classroom)
    print(f"{args.url.rstrip('/')}{SIGN_IN_PATH}?pass={token}", file=out)
    print(_("(one use, within {minutes} minutes)").format(minutes=f"{TEACHER_LINK_SECONDS // 60:.0f}"), file=sys.stderr)
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


def run_list(args: argparse.Namespace, out: TextIO) -> int:
    """Print the stored runs, newest first (or delete one)."""
    store = open_default_store()
    if args.delete is not None:
        return _delete_run(store, args.delete, out)
    runs = store.list_runs(scope=EVERYTHING)
    if not runs and not args.json:
        print(_("no runs stored yet"), file=out)
    for run in runs:
        if args.json:
            print(json.dumps(run.to_dict()), file=out)
        else:
            print(format_run_line(run), file=out)
    return EXIT_OK


def _delete_run(store: RunStore, run_id: int, out: TextIO) -> int:
    try:
        run = store.get_run(run_id, scope=EVERYTHING)
    except KeyError:
        raise CommandLineError(_("--delete: there is no run {run_id} in {url}").format(
            run_id=run_id, url=store.url)) from None
    if run.is_active:
        raise CommandLineError(_("--delete: run {run_id} is {status}; cancel it first").format(
            run_id=run_id, status=run.status))
    store.delete_run(run_id)
    print(_("deleted run {run_id} ({name})").format(run_id=run_id, name=run.name), file=out)
    return EXIT_OK


def format_run_line(run: RunRecord) -> str:
    final = "" if run.final_train_loss is None else (
        _("loss {loss}  test acc {accuracy}  {outcome}").format(
            loss=f"{run.final_train_loss:.4f}", accuracy=f"{run.final_test_acc:.4f}",
            outcome=_("pass") if run.verdict and run.verdict.passed else _("fail")))
    if run.error and run.status != RunStatus.FINISHED:
        final = run.shown_error()  # how it ended, in the reader's language
    return f"{run.id:>5}  {status_named(run.status)!s:<11}  {run.name[:32]:<32}  {final}"


def run_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Become ``streamlit run <the packaged dashboard/app.py> <flags>``: Streamlit then owns the process,
    its signals and its exit code (the engine never imports streamlit or the dashboard, so it execs it)."""
    import importlib.util

    bad = [flag for flag in args.streamlit_flags if flag.startswith("-") and not flag.startswith("--server.")]
    if bad:
        raise CommandLineError(_("serve passes only Streamlit's --server.* flags on, not {flag}").format(flag=bad[0]))
    spec = importlib.util.find_spec("dashboard")  # finds the folder without importing the pages
    if spec is None or spec.origin is None:
        raise CommandLineError(_("the dashboard is not installed beside softmax_core; reinstall softmax-lab"))
    app = os.path.join(os.path.dirname(spec.origin), "app.py")
    out.flush()
    os.execv(sys.executable, [sys.executable, "-m", "streamlit", "run", app, *args.streamlit_flags])
    return EXIT_OK  # not reached: execv replaces this process


def _command(name: str):
    """The function behind a command; the training ones (and torch) are imported only when asked for."""
    if name == "serve":
        return run_serve
    if name == "train":
        from softmax_core.cli.train import run_train

        return run_train
    if name == "sweep":
        from softmax_core.cli.sweep import run_sweep

        return run_sweep
    return {"runs": run_list, "workers": run_workers, "teacher-password": run_teacher_password,
            "teacher-link": run_teacher_link, "class-code": run_class_code}[name]


def _silence_closed_stdout(out: TextIO) -> None:
    """Point stdout at /dev/null, so that Python's flush at exit doesn't fail on the closed pipe again."""
    if out is sys.stdout:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout) -> int:
    """Entry point; returns the process exit code. It speaks the language of $LC_ALL, $LC_MESSAGES or $LANG."""
    with use_language(language_from_environment(os.environ)):
        return _run_command(argv, out)


def _run_command(argv: Optional[Sequence[str]], out: TextIO) -> int:
    try:
        args, extra = build_parser().parse_known_args(argv)
        if extra and args.command != "serve":  # only serve passes flags on (to Streamlit)
            raise CommandLineError(_("unrecognized arguments: {arguments}").format(arguments=" ".join(extra)))
        args.streamlit_flags = extra
        check_settings()  # a wrong SOFTMAX_LAB_* variable stops the command here, named
        return _command(args.command)(args, out)
    except BrokenPipeError:  # e.g. `runs --json | head`: the reader has all it wanted
        _silence_closed_stdout(out)
        return EXIT_OK
    except LabError as error:
        print(_("error: {message}").format(message=error), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(_("interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED



def run_main() -> None:
    """The ``softmax-lab`` command's entry point."""
    sys.exit(main())
