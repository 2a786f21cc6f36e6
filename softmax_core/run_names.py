"""The names the app gives runs: stored in English (the CLI's JSON and the CSV say them), shown in the reader's
language.

A run's name is stored once, as it was made. A generated name is told from a typed one without any stored
marker: it is generated when it equals, word for word, the English name the app would make from the run's own
config and tags (so a person who typed exactly that reads the same words anyway). Such a name is said again,
in the reader's language, each time it is shown; any other name reads as stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from softmax_core.config import TrainConfig, describe_config, settings
from softmax_core.i18n import N_, _

# a setting's short name as a legend or a run name says it ('lr' -> '学习率'); choices stand alone
SHORT_NAMES = {"batch": N_("batch"), "lr": N_("lr"), "epochs": N_("epochs"), "init std": N_("init std"),
               "wd": N_("wd"), "momentum": N_("momentum"), "reports": N_("reports"), "seed": N_("seed"),
               "validation": N_("validation")}
# the choices a name says alone ('sgd', 'adam', 'cpu' and 'cuda' are their own names everywhere)
CHOICE_WORDS = {"concise": N_("concise"), "scratch": N_("scratch"), "auto": N_("automatic")}
BOOK_DEFAULTS = N_("book defaults")
SWEEP_RUN = N_("sweep {sweep_id}: {cell}, seed {seed}")
# the lessons' groups, as the first word of their runs' names ('exercise1: seed 1')
LESSON_WORDS = {"exercise1": N_("exercise1"), "exercise1-mine": N_("exercise1-mine"),
                "exercise1-fix": N_("exercise1-fix"), "exercise2": N_("exercise2"), "exercise2-wd": N_("exercise2-wd"),
                "stability": N_("stability"), "ab": N_("ab"), "repeat": N_("repeat")}
LESSON_RUN = N_("{lesson}: {variant}")
# the shapes of the lessons' generated variant labels (English, as stored); a label of none of them is said
# through _() as a whole (a preset's title, 'scratch (naive softmax)') or, if no catalog holds it, as stored
VARIANT_SHAPES = (N_("#{run} fixed: {reason}"), N_("halve the learning rate to {lr}"),
                  N_("train {epochs} epochs: as many updates as the book's run ({updates})"),
                  N_("my variant ({settings})"), N_("{before} -> {after}"), N_("{settings}, seed {seed}"))
NUMBER = r"-?[0-9][0-9.e+-]*"


def say_setting(short: str, value: Any) -> str:
    """One setting as a name says it, in the reader's language: 'lr 0.4', '学习率 0.4', 'adam', '无validation'."""
    name = _(SHORT_NAMES[short]) if short in SHORT_NAMES else short
    if isinstance(value, bool):
        return name if value else _("no {setting}").format(setting=name)
    if isinstance(value, str) and value in CHOICE_WORDS:
        return _(CHOICE_WORDS[value])
    return (f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}").strip()


def say_fields(config: TrainConfig, names: Sequence[str]) -> str:
    """``describe_fields`` in the reader's language: 'batch 1024, lr 0.4', '批量大小 1024，学习率 0.4'."""
    specs, values = settings(), config.to_dict()
    return _(", ").join(say_setting(specs[name].short, values[name]) for name in names)


def say_config(config: TrainConfig) -> str:
    """``describe_config`` in the reader's language: what differs from the book's run, or 'book defaults'."""
    return say_fields(config, list(TrainConfig().differences(config))) or _(BOOK_DEFAULTS)


def sweep_run_name(sweep_id: str, cell: Mapping[str, Any], seed: int) -> str:
    """A sweep's run's stored name, in English: 'sweep c39ce51a: batch 512, lr 0.1, seed 0'."""
    parts = ", ".join(f"{settings()[name].short} {value:g}" for name, value in cell.items())
    return f"sweep {sweep_id}: {parts}, seed {seed}"


def say_sweep_run_name(sweep_id: str, cell: Mapping[str, Any], seed: int) -> str:
    """``sweep_run_name`` in the reader's language: '扫描 c39ce51a：批量大小 512，学习率 0.1，种子 0'."""
    specs = settings()
    parts = _(", ").join(say_setting(specs[name].short, float(value)) for name, value in cell.items())
    return _(SWEEP_RUN).format(sweep_id=sweep_id, cell=parts, seed=seed)


def shown_name(name: str, config: TrainConfig, tags: Mapping[str, Any]) -> str:
    """A run's name as a reader reads it: a generated name said again in their language, a typed one as typed."""
    return (_shown_sweep_name(name, config, tags) or _shown_lesson_name(name, tags)
            or (say_config(config) if name == describe_config(config) else None) or name)


def shown_variant(variant: str) -> str:
    """A lesson's variant label ('seed 1', 'The book's run (3.7)') in the reader's language; as stored if
    it is none the app makes."""
    return _say_variant(variant) or variant


def _shown_sweep_name(name: str, config: TrainConfig, tags: Mapping[str, Any]) -> Optional[str]:
    sweep, cell = tags.get("sweep"), tags.get("cell")
    if not isinstance(sweep, str) or not isinstance(cell, dict) or not _is_cell(cell):
        return None
    return say_sweep_run_name(sweep, cell, config.seed) if name == sweep_run_name(sweep, cell, config.seed) else None


def _is_cell(cell: Mapping[str, Any]) -> bool:
    specs = settings()
    return all(name in specs and isinstance(value, (int, float)) and not isinstance(value, bool)
               for name, value in cell.items())


def _shown_lesson_name(name: str, tags: Mapping[str, Any]) -> Optional[str]:
    lesson, variant = tags.get("lesson"), tags.get("variant")
    if lesson not in LESSON_WORDS or not isinstance(variant, str) or name != f"{lesson}: {variant}":
        return None
    return _(LESSON_RUN).format(lesson=_(LESSON_WORDS[lesson]), variant=shown_variant(variant))


def _say_variant(text: str) -> Optional[str]:
    """A generated label in the reader's language, matched against the shapes the app makes; None if it
    matches none (said through _() as a whole then: a label from a catalog reads translated, another as is)."""
    for shape in VARIANT_SHAPES:
        found = re.fullmatch(_shape_pattern(shape), text)
        if found:
            parts = {key: _say_part(key, value) for key, value in found.groupdict().items()}
            if None not in parts.values():
                return _(shape).format(**parts)
    return _say_settings(text) or _(text)


def _say_part(key: str, value: str) -> Optional[str]:
    if key in ("run", "lr", "epochs", "updates", "seed"):
        return value if re.fullmatch(NUMBER, value) else None
    if key == "reason":
        return _say_variant(value)
    if value == BOOK_DEFAULTS:
        return _(BOOK_DEFAULTS)
    return _say_settings(value)  # settings, before, after: a list of settings such as 'batch 1024, lr 0.4'


def _say_settings(text: str) -> Optional[str]:
    """'batch 1024, lr 0.4' (``describe_fields``' words) in the reader's language; None for other text."""
    said = [_say_one_setting(part) for part in text.split(", ")]
    return None if None in said else _(", ").join(said)


def _say_one_setting(part: str) -> Optional[str]:
    if part in CHOICE_WORDS:
        return _(CHOICE_WORDS[part])
    if part in ("sgd", "adam", "cpu", "cuda"):
        return part
    if part.startswith("no ") and part[3:] in SHORT_NAMES:
        return _("no {setting}").format(setting=_(SHORT_NAMES[part[3:]]))
    short, _space, value = part.rpartition(" ")
    if short not in SHORT_NAMES or not re.fullmatch(NUMBER, value):
        return None
    name = _(SHORT_NAMES[short])
    return f"{name} {value}"


def _shape_pattern(shape: str) -> str:
    """A msgid such as 'seed {seed}' as a regular expression that finds its placeholders' values."""
    pieces = re.split(r"\{(\w+)\}", shape)
    return "".join(re.escape(piece) if index % 2 == 0 else f"(?P<{piece}>.+?)"
                   for index, piece in enumerate(pieces))
