"""The server's settings: every ``SOFTMAX_LAB_*`` environment variable, read and checked in one place.

``load_settings(environ)`` turns the environment into one frozen ``ServerSettings``, or raises a
``SettingError`` that names each wrong variable with what it allows (and a misspelled name with the one it
is close to). The server and the CLI call ``check_settings()`` at start, so that a wrong value stops them
there rather than at the first page that reads it; modules read ``server_settings()``, the same object for as
long as the environment doesn't change. This module imports nothing of the project's: the modules that
use a setting import it, never the other way round.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from softmax_core.errors import InputError
from softmax_core.i18n import N_, _, as_code

PREFIX = "SOFTMAX_LAB_"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

EXECUTORS = ("local", "ray")
DEFAULT_PACK_SIZE = 16  # the largest pack a worker trains at once: benchmarks/bench_sweep.py measured it
MOST_PACK_SIZE = 256
DEFAULT_MAX_SWEEP_RUNS = 64  # a larger grid is refused
MOST_SWEEP_RUNS = 10_000
MOST_CPUS_PER_RUN = 1024
# Compute is counted in book steps (config.run_cost; the book's 10-epoch run costs 2,350). The largest run:
# the book's 40-epoch exercise (9,400) fits, one epoch at batch 1 (60,000) does not, and no allowed run has
# an epoch longer than about a second here, so a run that must yield its worker does so within seconds.
DEFAULT_MAX_RUN_COST = 10_000
# What a student's group may have queued or training at once: Exercise 2's five 40-epoch seeds (5 x 7,840
# with the validation split students hold out) and a 3x3 sweep of 10 epochs (17,640) fit.
DEFAULT_MAX_ACTIVE_COST = 40_000
MOST_COST_ALLOWED = 10_000_000  # the largest cost limit a class may set (500 epochs at batch 1 is 30 million)
# A second guard, on rows rather than compute: a sweep's largest grid (DEFAULT_MAX_SWEEP_RUNS) fits.
DEFAULT_MAX_ACTIVE_RUNS = 64
MOST_ACTIVE_RUNS_ALLOWED = 200  # the largest per-student limit a class may set


class SettingError(InputError):
    """One or more ``SOFTMAX_LAB_*`` variables are wrong; the message names each and what it allows."""


@dataclass(frozen=True)
class ServerSettings:
    """Every ``SOFTMAX_LAB_*`` setting, checked. ``None`` where the variable is unset and the module that
    uses it has a default of its own (a per-user folder, secrets.toml)."""

    db_url: str | None = None  # SOFTMAX_LAB_DB
    data_dir: str | None = None  # SOFTMAX_LAB_DATA
    executor: str = "local"  # SOFTMAX_LAB_EXECUTOR
    pack_size: int = DEFAULT_PACK_SIZE  # SOFTMAX_LAB_PACK_SIZE
    ray_cpus_per_run: int = 1  # SOFTMAX_LAB_RAY_CPUS_PER_RUN
    ray_dashboard: bool = False  # SOFTMAX_LAB_RAY_DASHBOARD
    max_sweep_runs: int = DEFAULT_MAX_SWEEP_RUNS  # SOFTMAX_LAB_MAX_SWEEP_RUNS
    trusted_proxies: tuple[Network, ...] = ()  # SOFTMAX_LAB_TRUSTED_PROXIES
    public_url: str = ""  # SOFTMAX_LAB_PUBLIC_URL
    class_code: str = ""  # SOFTMAX_LAB_CLASS_CODE
    teacher_password: str = ""  # SOFTMAX_LAB_TEACHER_PASSWORD (a password or its hash)
    max_active_runs: int | None = None  # SOFTMAX_LAB_MAX_ACTIVE_RUNS
    max_run_cost: int | None = None  # SOFTMAX_LAB_MAX_RUN_COST
    max_active_cost: int | None = None  # SOFTMAX_LAB_MAX_ACTIVE_COST


def whole_number(least: int, most: int) -> Callable[[str, str], int]:
    """A reader of a whole number from ``least`` to ``most``."""
    def read(name: str, text: str) -> int:
        value = text.strip()
        if not value.isdigit() or not least <= int(value) <= most:
            raise SettingError(N_("{setting} must be a whole number from {least} to {most}"),
                               setting=as_code(f"{name}={text!r}"), least=f"{least:,}", most=f"{most:,}")
        return int(value)
    return read


def one_of(*choices: str) -> Callable[[str, str], str]:
    def read(name: str, text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise SettingError(N_("{setting} must be one of {choices}"), setting=as_code(f"{name}={text!r}"),
                               choices=", ".join(choices))
        return value
    return read


def switch(name: str, text: str) -> bool:
    if text.strip() not in ("0", "1"):
        raise SettingError(N_("{setting} must be 1 (on) or 0 (off)"), setting=as_code(f"{name}={text!r}"))
    return text.strip() == "1"


def networks(name: str, text: str) -> tuple[Network, ...]:
    """'127.0.0.1, 10.0.0.0/8' -> the networks."""
    found = []
    for entry in (part.strip() for part in text.replace(";", ",").split(",")):
        if not entry:
            continue
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise SettingError(N_("{name}: {entry} is not an IP address or network (e.g. 127.0.0.1 or 10.0.0.0/8; "
                                  "separate several with commas)"), name=as_code(name), entry=repr(entry)) from None
    return tuple(found)


def web_address(name: str, text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingError(N_("{setting} must be a web address such as https://lab.example.org"),
                           setting=as_code(f"{name}={text!r}"))
    return text.strip().rstrip("/")


def text_value(name: str, text: str) -> str:
    return text.strip()


# variable -> (field, reader); a variable that is unset or blank keeps the field's default
READERS: dict[str, tuple[str, Callable[[str, str], object]]] = {
    "SOFTMAX_LAB_DB": ("db_url", text_value),
    "SOFTMAX_LAB_DATA": ("data_dir", text_value),
    "SOFTMAX_LAB_EXECUTOR": ("executor", one_of(*EXECUTORS)),
    "SOFTMAX_LAB_PACK_SIZE": ("pack_size", whole_number(1, MOST_PACK_SIZE)),
    "SOFTMAX_LAB_RAY_CPUS_PER_RUN": ("ray_cpus_per_run", whole_number(1, MOST_CPUS_PER_RUN)),
    "SOFTMAX_LAB_RAY_DASHBOARD": ("ray_dashboard", switch),
    "SOFTMAX_LAB_MAX_SWEEP_RUNS": ("max_sweep_runs", whole_number(1, MOST_SWEEP_RUNS)),
    "SOFTMAX_LAB_TRUSTED_PROXIES": ("trusted_proxies", networks),
    "SOFTMAX_LAB_PUBLIC_URL": ("public_url", web_address),
    "SOFTMAX_LAB_CLASS_CODE": ("class_code", text_value),
    "SOFTMAX_LAB_TEACHER_PASSWORD": ("teacher_password", text_value),
    "SOFTMAX_LAB_MAX_ACTIVE_RUNS": ("max_active_runs", whole_number(1, MOST_ACTIVE_RUNS_ALLOWED)),
    "SOFTMAX_LAB_MAX_RUN_COST": ("max_run_cost", whole_number(1, MOST_COST_ALLOWED)),
    "SOFTMAX_LAB_MAX_ACTIVE_COST": ("max_active_cost", whole_number(1, MOST_COST_ALLOWED)),
}
# set by the project's own scripts and tests, not settings of the server
NOT_SETTINGS = frozenset({"SOFTMAX_LAB_TEST_PG_URL", "SOFTMAX_LAB_REQUIRE_SERVICES"})


def read_setting(name: str, text: str) -> object:
    """One variable's value, checked: a SettingError naming it and what it allows."""
    try:
        return READERS[name][1](name, text)
    except ValueError as error:
        raise error if isinstance(error, SettingError) else SettingError(str(error)) from None


def load_settings(environ: Mapping[str, str]) -> ServerSettings:
    """The settings in ``environ``; a SettingError naming every wrong or unknown ``SOFTMAX_LAB_*`` variable."""
    values, problems = {}, []
    for name, text in sorted(environ.items()):
        if not name.startswith(PREFIX) or name in NOT_SETTINGS:
            continue
        if name not in READERS:
            problems.append(unknown_variable(name))
        elif text.strip():
            field, read = READERS[name]
            try:
                values[field] = read(name, text)
            except ValueError as error:
                problems.append(str(error))
    if problems:
        raise SettingError(_("; ").join(problems))  # each said in the language of whoever started the process
    return ServerSettings(**values)


def unknown_variable(name: str) -> str:
    near = difflib.get_close_matches(name, READERS, n=1)
    names = ", ".join(as_code(setting) for setting in READERS)
    if near:
        return _("{name} is not a setting of Softmax Lab (did you mean {near}?); the settings are {names}").format(
            name=as_code(name), near=as_code(near[0]), names=names)
    return _("{name} is not a setting of Softmax Lab; the settings are {names}").format(name=as_code(name), names=names)


_cache: dict[tuple, ServerSettings] = {}


def server_settings(environ: Mapping[str, str] | None = None) -> ServerSettings:
    """This process's settings: read once for as long as the ``SOFTMAX_LAB_*`` variables don't change."""
    environ = os.environ if environ is None else environ
    key = tuple(sorted((name, text) for name, text in environ.items() if name.startswith(PREFIX)))
    found = _cache.get(key)
    if found is None:  # (the pages' threads may ask at once: each keeps what it read)
        found = load_settings(environ)
        _cache.clear()
        _cache[key] = found
    return found


def check_settings(environ: Mapping[str, str] | None = None) -> ServerSettings:
    """At start: the settings, or a SettingError that stops the server or the command with what is wrong."""
    return server_settings(environ)
