"""What every command of ``python -m softmax_core`` shares: its common flags (spelt and explained once)
and the executor a command trains through, reading the data from ``--data-dir`` when given."""

from __future__ import annotations

import argparse
import functools
from typing import Optional

from softmax_core.errors import InputError
from softmax_core.i18n import _
from softmax_core.runs.executors import EXECUTORS


class CommandLineError(InputError):
    """A flag's value can't be used; the message says which and why."""


def add_common_flags(parser: argparse.ArgumentParser, json_help: str, trains: bool = True) -> None:
    """``--json`` on every command; ``--executor`` and ``--data-dir`` on those that train or ask an
    executor (``trains``)."""
    parser.add_argument("--json", action="store_true", help=json_help)
    if trains:
        parser.add_argument("--executor", choices=EXECUTORS,
                            help=_("the executor to train through (default: $SOFTMAX_LAB_EXECUTOR, else local)"))
        parser.add_argument("--data-dir", metavar="DIR", help=_("folder with the four Fashion-MNIST .gz files "
                                                                "(default: $SOFTMAX_LAB_DATA, else the per-user "
                                                                "folder)"))


def make_cli_executor(name: str, store_url: str, data_dir: Optional[str], workers: Optional[int] = None):
    """The executor a command trains through, reading the data from ``data_dir`` if given (``workers``:
    local worker processes; one for a single run, which then gets every core)."""
    from softmax_core.book.data import load_decoded_arrays, load_fashion_mnist, resolve_data_dir

    folder = resolve_data_dir(data_dir)
    if name == "local":
        from softmax_core.runs.executors.local import LocalExecutor

        source = functools.partial(load_fashion_mnist, folder, download=False)
        return LocalExecutor(store_url, workers=workers, data_source=source)
    from softmax_core.runs.executors.ray_cluster import RayExecutor

    return RayExecutor(store_url, arrays_source=functools.partial(load_decoded_arrays, folder, download=False))
