"""The book's three checks on a finished run (``train_loss < 0.5``, ``0.7 < train_acc <= 1``,
``0.7 < test_acc <= 1``, from section 3.7's asserts), each with its value and threshold. Plain numbers
in, plain numbers out: no torch, so the store and the CLI can judge a run without loading it."""

from __future__ import annotations

import math
from dataclasses import dataclass

BOOK_LOSS_LIMIT = 0.5
BOOK_ACCURACY_FLOOR = 0.7


@dataclass(frozen=True)
class Check:
    """One of the book's asserts, evaluated: what was measured against what threshold."""

    name: str  # e.g. "train_loss < 0.5"
    value: float
    passed: bool
    text: str  # e.g. "train loss 0.522 is not below 0.5"


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
        """One line: 'pass' or the failed checks' texts."""
        if self.passed:
            return "pass: all three of the book's checks hold"
        return "fail: " + "; ".join(check.text for check in self.failed)

    def to_dict(self) -> dict:
        return {"passed": self.passed, "checks": [vars(check) for check in self.checks]}

    @classmethod
    def from_dict(cls, values: dict) -> Verdict:
        return cls(tuple(Check(**check) for check in values["checks"]))


HELD_OUT_LABELS = {"test": "test accuracy", "val": "validation accuracy"}


def judge_book_checks(train_loss: float, train_acc: float, held_out_acc: float, held_out: str = "test") -> Verdict:
    """Evaluate ``train_loss < 0.5``, ``0.7 < train_acc <= 1`` and ``0.7 < test_acc <= 1`` (with
    ``held_out="val"``, the last on validation accuracy: what a class sees before the test set is revealed)."""
    return Verdict((
        _below_check("train_loss", "train loss", train_loss, BOOK_LOSS_LIMIT),
        _accuracy_check("train_acc", "train accuracy", train_acc),
        _accuracy_check(f"{held_out}_acc", HELD_OUT_LABELS[held_out], held_out_acc),
    ))


def _below_check(name: str, label: str, value: float, limit: float) -> Check:
    passed = not math.isnan(value) and value < limit
    relation = "is below" if passed else "is not below"
    return Check(f"{name} < {limit:g}", value, passed, f"{label} {value:.3f} {relation} {limit:g}")


def _accuracy_check(name: str, label: str, value: float) -> Check:
    floor = BOOK_ACCURACY_FLOOR
    passed = not math.isnan(value) and floor < value <= 1.0
    relation = "is in" if passed else "is not in"
    return Check(f"{floor:g} < {name} <= 1", value, passed, f"{label} {value:.3f} {relation} ({floor:g}, 1]")
