"""TrainConfig: every hyperparameter of a run, validated once, plus the book's presets.

The page, the CLI and the store all build a ``TrainConfig``; nothing else reaches the engine. A bad value
raises ``ConfigError`` naming the field, the value and the allowed range, so every front end can show
the same message.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TRAIN_SET_SIZE = 60_000
OPTIMIZERS = ("sgd", "adam")
IMPLEMENTATIONS = ("concise", "scratch")
DEVICES = ("auto", "cpu", "cuda")


class ConfigError(ValueError):
    """A hyperparameter is out of its allowed range; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (defaults: the book's section 3.7 run)."""

    batch_size: int = 256  # examples per SGD step; the last batch of an epoch may be smaller
    lr: float = 0.1  # learning rate of the optimizer
    epochs: int = 10  # full passes over the 60,000 training images
    init_std: float = 0.01  # weights drawn from N(0, init_std^2); the bias keeps PyTorch's default
    weight_decay: float = 0.0  # L2 penalty, as torch.optim's weight_decay
    momentum: float = 0.0  # SGD momentum (ignored by adam)
    optimizer: str = "sgd"  # "sgd" or "adam"
    implementation: str = "concise"  # "concise" (section 3.7) or "scratch" (section 3.6, naive softmax)
    reports_per_epoch: int = 5  # progress events inside one epoch (the last one is the epoch end)
    seed: int = 0  # seeds the initial weights and the shuffling order
    device: str = "auto"  # "auto" picks cuda when available, else cpu

    def __post_init__(self) -> None:
        _check_int(self, "batch_size", 1, TRAIN_SET_SIZE)
        _check_float(self, "lr", 0.0, 10.0, low_open=True)
        _check_int(self, "epochs", 1, 500)
        _check_float(self, "init_std", 0.0, 100.0)
        _check_float(self, "weight_decay", 0.0, 1.0)
        _check_float(self, "momentum", 0.0, 1.0, high_open=True)
        _check_choice(self, "optimizer", OPTIMIZERS)
        _check_choice(self, "implementation", IMPLEMENTATIONS)
        _check_int(self, "reports_per_epoch", 1, 100)
        _check_int(self, "seed", 0, 2**31 - 1)
        _check_choice(self, "device", DEVICES)
        if self.implementation == "scratch" and self.optimizer != "sgd":
            raise ConfigError(
                "optimizer",
                f"the scratch implementation has only hand-written sgd, got {self.optimizer!r}",
            )

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Build from a dict, refusing unknown keys (typos must not pass silently)."""
        unknown = sorted(set(values) - set(field_names()))
        if unknown:
            raise ConfigError(unknown[0], f"unknown setting; allowed: {', '.join(field_names())}")
        return cls(**values)

    def differences(self, other: TrainConfig) -> dict[str, tuple[Any, Any]]:
        """Fields whose values differ: name -> (self's value, other's value)."""
        mine, theirs = self.to_dict(), other.to_dict()
        return {name: (mine[name], theirs[name]) for name in mine if mine[name] != theirs[name]}


FIELD_LABELS = {  # short names for legends and run names
    "batch_size": "batch", "lr": "lr", "epochs": "epochs", "init_std": "init std", "weight_decay": "wd",
    "momentum": "momentum", "optimizer": "", "implementation": "", "reports_per_epoch": "reports",
    "seed": "seed", "device": "",
}


def describe_fields(config: TrainConfig, names: Sequence[str]) -> str:
    """Some fields as short text, e.g. 'batch 1024, lr 0.4' (choices stand alone: 'adam')."""
    values = config.to_dict()
    parts = [f"{FIELD_LABELS[name]} {values[name]:g}" if isinstance(values[name], float)
             else f"{FIELD_LABELS[name]} {values[name]}" for name in names]
    return ", ".join(part.strip() for part in parts)


def describe_config(config: TrainConfig) -> str:
    """What differs from the book's run, e.g. 'batch 1024, lr 0.4', or 'book defaults'."""
    return describe_fields(config, list(TrainConfig().differences(config))) or "book defaults"


def differing_fields(configs: Sequence[TrainConfig]) -> list[str]:
    """Names of the fields on which the configs don't all agree, in declaration order."""
    rows = [config.to_dict() for config in configs]
    return [name for name in field_names() if len({row[name] for row in rows}) > 1]


def field_names() -> tuple[str, ...]:
    """Names of every TrainConfig field, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(TrainConfig))


def _check_int(config: TrainConfig, name: str, low: int, high: int) -> None:
    value = getattr(config, name)
    if isinstance(value, float) and value.is_integer():
        object.__setattr__(config, name, int(value))  # 256.0 from JSON or a slider is 256
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"must be a whole number in {low}..{high}, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(name, f"must be in {low}..{high}, got {value}")


def _check_float(
    config: TrainConfig,
    name: str,
    low: float,
    high: float,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    value = getattr(config, name)
    allowed = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(name, f"must be a number in {allowed}, got {value!r}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if math.isnan(value) or too_low or too_high:
        raise ConfigError(name, f"must be in {allowed}, got {value:g}")
    object.__setattr__(config, name, value)


def _check_choice(config: TrainConfig, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(config, name)
    if value not in choices:
        raise ConfigError(name, f"must be one of {', '.join(choices)}; got {value!r}")


@dataclass(frozen=True)
class Preset:
    """A named run from the book: its title, what it teaches, and its config."""

    name: str
    title: str
    lesson: str
    config: TrainConfig


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("book", "The book's run (3.7)", "batch 256, lr 0.1, 10 epochs: the checks pass.",
               TrainConfig()),
        Preset("batch-1024", "Exercise: batch 1024",
               "4x fewer updates per epoch: the loss is still above 0.5 after 10 epochs.",
               TrainConfig(batch_size=1024)),
        Preset("lr-0.4", "Exercise: lr 0.4",
               "Steps too large: the loss oscillates and ends above 0.5.",
               TrainConfig(lr=0.4)),
        Preset("epochs-40", "Exercise: 40 epochs",
               "Train longer: does test accuracy drop (overfitting) or only wobble (noise)?",
               TrainConfig(epochs=40)),
    )
}


def preset_config(name: str) -> TrainConfig:
    """The config of a preset, or ConfigError listing the presets."""
    if name not in PRESETS:
        raise ConfigError("preset", f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name].config
