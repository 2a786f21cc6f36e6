"""The book's three checks on a finished run (``train_loss < 0.5``, ``0.7 < train_acc <= 1``,
``0.7 < test_acc <= 1``, from section 3.7's asserts), each with its value and threshold. Plain numbers
in, plain numbers out: no torch, so the store and the CLI can judge a run without loading it."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from softmax_core.i18n import SOURCE_LANGUAGE, _, use_language
from softmax_core.metric_registry import BY_NAME

BOOK_LOSS_LIMIT = 0.5
BOOK_ACCURACY_FLOOR = 0.7


@dataclass(frozen=True)
class Check:
    """One of the book's asserts, evaluated: what was measured against what threshold."""

    name: str  # e.g. "train_loss < 0.5"
    value: float
    passed: bool
    text: str  # e.g. "train loss 0.522 is not below 0.5": as stored, always in English (pages show ``sentence``)

    def sentence(self) -> str:
        """What ``text`` says, in the reader's language (rebuilt from the name, the value and the outcome, so
        a run judged by a worker in English reads in Chinese on a Chinese page)."""
        if below := _BELOW_NAME.fullmatch(self.name):
            return _below_sentence(below["metric"], self.value, self.passed, float(below["limit"]))
        if between := _ACCURACY_NAME.fullmatch(self.name):
            return _accuracy_sentence(between["metric"], self.value, self.passed, float(between["floor"]))
        return self.text


@dataclass(frozen=True)
class Verdict:
    """The book's three checks after training (``train_ch3``'s asserts)."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.passed)

    def summary(self) -> str:
        """One line, in English whoever asks (it is stored with the run): 'pass' or the failed checks' texts."""
        with use_language(SOURCE_LANGUAGE):
            return self.describe()

    def describe(self) -> str:
        """``summary`` in the reader's language."""
        if self.passed:
            return _("pass: all three of the book's checks hold")
        return _("fail: {checks}").format(checks=_("; ").join(check.sentence() for check in self.failed))

    def to_dict(self) -> dict:
        return {"passed": self.passed, "checks": [vars(check) for check in self.checks]}

    @classmethod
    def from_dict(cls, values: dict) -> Verdict:
        return cls(tuple(Check(**check) for check in values["checks"]))


_BELOW_NAME = re.compile(r"(?P<metric>\w+) < (?P<limit>[0-9.]+)")
_ACCURACY_NAME = re.compile(r"(?P<floor>[0-9.]+) < (?P<metric>\w+) <= 1")


def judge_book_checks(train_loss: float, train_acc: float, held_out_acc: float, held_out: str = "test") -> Verdict:
    """Evaluate ``train_loss < 0.5``, ``0.7 < train_acc <= 1`` and ``0.7 < test_acc <= 1`` (with
    ``held_out="val"``, the last on validation accuracy: what a class sees before the test set is revealed)."""
    return Verdict((
        _below_check("train_loss", train_loss, BOOK_LOSS_LIMIT),
        _accuracy_check("train_acc", train_acc),
        _accuracy_check(f"{held_out}_acc", held_out_acc),
    ))


def _below_check(name: str, value: float, limit: float) -> Check:
    passed = not math.isnan(value) and value < limit
    with use_language(SOURCE_LANGUAGE):  # stored with the run: one language for every reader
        text = _below_sentence(name, value, passed, limit)
    return Check(f"{name} < {limit:g}", value, passed, text)


def _accuracy_check(name: str, value: float) -> Check:
    floor = BOOK_ACCURACY_FLOOR
    passed = not math.isnan(value) and floor < value <= 1.0
    with use_language(SOURCE_LANGUAGE):
        text = _accuracy_sentence(name, value, passed, floor)
    return Check(f"{floor:g} < {name} <= 1", value, passed, text)


def _metric_label(name: str) -> str:
    """The metric named in full in the reader's language (the registry's), or its name if it is none of them."""
    return _(BY_NAME[name].name_in_full) if name in BY_NAME else name


def _below_sentence(metric: str, value: float, passed: bool, limit: float) -> str:
    sentence = _("{metric} {value} is below {limit}") if passed else _("{metric} {value} is not below {limit}")
    return sentence.format(metric=_metric_label(metric), value=f"{value:.3f}", limit=f"{limit:g}")


def _accuracy_sentence(metric: str, value: float, passed: bool, floor: float) -> str:
    sentence = _("{metric} {value} is in ({floor}, 1]") if passed else _("{metric} {value} is not in ({floor}, 1]")
    return sentence.format(metric=_metric_label(metric), value=f"{value:.3f}", floor=f"{floor:g}")
