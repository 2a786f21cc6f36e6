"""TrainConfig: every hyperparameter of a run, validated once, plus the book's presets.

Each field says once, in its metadata (a ``Setting``), what it is: its label and help text, its
allowed range and which ends are open (or its choices), whether it is best searched on a log scale,
and how precisely a person types it. The validation, the page's widgets, the CLI's flags, the
lessons' inputs and the sweeps' axes are all made from that, so a bound is written in one place.

The page, the CLI and the store all build a ``TrainConfig``; nothing else reaches the engine. A bad value
raises ``ConfigError`` naming the field, the value and the allowed range, so every front end can show
the same message.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from softmax_core.dataset_sizes import TRAIN_SET_SIZE, VALIDATION_SIZE
from softmax_core.errors import InputError
from softmax_core.i18n import N_, Said, _, ngettext

OPTIMIZERS = ("sgd", "adam")
IMPLEMENTATIONS = ("concise", "scratch")
DEVICES = ("auto", "cpu", "cuda")


HELP_NUMBERS = {"train_images": f"{TRAIN_SET_SIZE - VALIDATION_SIZE:,}", "held_out_images": f"{VALIDATION_SIZE:,}"}


class ConfigError(InputError):
    """A hyperparameter is out of its allowed range; the message names the field. ``words`` says the
    problem as a form says it beside the field's label ("1000 is above the largest allowed, 500")."""

    def __init__(self, field: str, message: str | Said, words: str | Said = ""):
        problem = message if isinstance(message, Said) else Said(message)  # a msgid: said when shown
        super().__init__(Said(N_("{field}: {problem}"), field=field, problem=problem))
        self.field = field
        self.words = words or message


@dataclass(frozen=True)
class Setting:
    """What one TrainConfig field is: how it is shown, and what it may be."""

    label: str  # as a form shows it, e.g. "Learning rate" (English, a catalog msgid: show ``label_text``)
    help: str  # one sentence for a tooltip or --help (the range is added to it; show ``help_text``)
    short: str = ""  # in legends and run names, e.g. "lr" ("" for choices, which stand alone)
    kind: type = float  # int, float, str or bool
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the low end itself is not allowed
    high_open: bool = False
    choices: tuple[str, ...] = ()
    log_scale: bool = False  # its interesting values are spread on a log scale (sweeps suggest so)
    decimals: int = 0  # how precisely a float is typed in a form
    step: float = 1  # what a form's +/- buttons add

    @property
    def label_text(self) -> str:
        """The label in the reader's language."""
        return _(self.label)

    @property
    def help_text(self) -> str:
        """The help sentence in the reader's language (its numbers filled in)."""
        return _(self.help).format(**HELP_NUMBERS)

    @property
    def allowed(self) -> str:
        """The allowed values as text: '1..60000', '(0, 10]' or 'sgd, adam'."""
        if self.choices:
            return ", ".join(self.choices)
        if self.kind is bool:
            return _("true or false")
        if self.kind is int:
            return f"{int(self.low)}..{int(self.high)}"
        return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"

    @property
    def widget_range(self) -> tuple[float, float]:
        """The smallest and largest value a form accepts: an open end moves in by the typing precision."""
        nudge = 10.0 ** -self.decimals if self.kind is float else 1
        return (self.low + (nudge if self.low_open else 0), self.high - (nudge if self.high_open else 0))

    def check(self, name: str, value: Any) -> Any:
        """The value as this field's type, or ConfigError naming the field and the allowed values."""
        if self.choices:
            if value not in self.choices:
                raise ConfigError(name, _("must be one of {allowed}; got {value}").format(
                                  allowed=self.allowed, value=repr(value)),
                                  _("{value} is not one of {allowed}").format(value=repr(value), allowed=self.allowed))
            return value
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ConfigError(name, _("must be {allowed}, got {value}").format(
                                  allowed=self.allowed, value=repr(value)),
                                  _("{value} is not {allowed}").format(value=repr(value), allowed=self.allowed))
            return value
        if self.kind is int:
            return self._check_int(name, value)
        return self._check_float(name, value)

    def _check_int(self, name: str, value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 256.0 from JSON or a slider is 256
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(name, _("must be a whole number in {allowed}, got {value}").format(
                              allowed=self.allowed, value=repr(value)),
                              _("{value} is not a whole number").format(value=self._shown(value)))
        if not self.low <= value <= self.high:
            raise ConfigError(name, _("must be in {allowed}, got {value}").format(allowed=self.allowed, value=value),
                              self._out_of_range(value))
        return value

    def _check_float(self, name: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(name, _("must be a number in {allowed}, got {value}").format(
                              allowed=self.allowed, value=repr(value)),
                              _("{value} is not a number").format(value=self._shown(value)))
        value = float(value)
        too_low = value <= self.low if self.low_open else value < self.low
        too_high = value >= self.high if self.high_open else value > self.high
        if math.isnan(value) or too_low or too_high:
            raise ConfigError(name, _("must be in {allowed}, got {value}").format(
                              allowed=self.allowed, value=f"{value:g}"),
                              self._out_of_range(value))
        return value

    def _out_of_range(self, value: float) -> str:
        """Which end a number is past, in words, e.g. '1000 is above the largest allowed, 500'."""
        shown, low, high = self._shown(value), self._shown(self.low), self._shown(self.high)
        if math.isnan(value):
            return _("{value} is not a number: type one from {low} to {high}").format(value=shown, low=low, high=high)
        if self.low_open and value <= self.low:
            return _("{value} is too small: it must be above {low}").format(value=shown, low=low)
        if value < self.low:
            return _("{value} is below the smallest allowed, {low}").format(value=shown, low=low)
        if self.high_open and value >= self.high:
            return _("{value} is too large: it must be below {high}").format(value=shown, high=high)
        return _("{value} is above the largest allowed, {high}").format(value=shown, high=high)

    def _shown(self, value: Any) -> str:
        """A number as a person typed it: 500 (an int field's bound), 0.0001, 1e+20; anything else as is."""
        if value is None:
            return _("nothing")  # an emptied field
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return repr(value)
        if self.kind is int and float(value).is_integer():
            return str(int(value))
        return f"{value:g}"


def _setting(default: Any, **spec: Any) -> Any:
    return field(default=default, metadata={"setting": Setting(**spec)})


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (defaults: the book's section 3.7 run)."""

    batch_size: int = _setting(
        256, label=N_("Batch size"), short="batch", kind=int, low=1, high=TRAIN_SET_SIZE, log_scale=True,
        help=N_("Examples per SGD step; the last batch of an epoch may be smaller. The book uses 256."))
    lr: float = _setting(
        0.1, label=N_("Learning rate"), short="lr", low=0.0, high=10.0, low_open=True, log_scale=True,
        decimals=4, step=0.05, help=N_("Step size of the optimizer. The book uses 0.1."))
    epochs: int = _setting(
        10, label=N_("Epochs"), short="epochs", kind=int, low=1, high=500,
        help=N_("Passes over the 60,000 training images. The book uses 10."))
    init_std: float = _setting(
        0.01, label=N_("Initial weight std"), short="init std", low=0.0, high=100.0, decimals=4, step=0.01,
        help=N_("Weights start as N(0, std²); the bias keeps PyTorch's default. The book uses 0.01."))
    weight_decay: float = _setting(
        0.0, label=N_("Weight decay"), short="wd", low=0.0, high=1.0, decimals=4, step=0.0001,
        help=N_("L2 penalty, as torch.optim's weight_decay."))
    momentum: float = _setting(
        0.0, label=N_("Momentum"), short="momentum", low=0.0, high=1.0, high_open=True, decimals=3, step=0.1,
        help=N_("SGD momentum (adam ignores it)."))
    optimizer: str = _setting(
        "sgd", label=N_("Optimizer"), kind=str, choices=OPTIMIZERS, help=N_("torch.optim's SGD (the book's) or Adam."))
    implementation: str = _setting(
        "concise", label=N_("Implementation"), kind=str, choices=IMPLEMENTATIONS,
        help=N_("concise = section 3.7 (stable cross-entropy); scratch = section 3.6 (naive softmax)."))
    reports_per_epoch: int = _setting(
        5, label=N_("Reports per epoch"), short="reports", kind=int, low=1, high=100,
        help=N_("Points per epoch on the live curves (the last is the epoch end)."))
    seed: int = _setting(
        0, label=N_("Seed"), short="seed", kind=int, low=0, high=2**31 - 1,
        help=N_("Seeds the initial weights and the shuffling order."))
    device: str = _setting(
        "auto", label=N_("Device"), kind=str, choices=DEVICES,
        help=N_("auto picks cuda when a GPU is there, else cpu."))
    validation: bool = _setting(
        False, label=N_("Hold out a validation split"), short="validation", kind=bool,
        help=N_("Train on {train_images} images and measure accuracy on the other {held_out_images} (the same "
                "ones for every run), to choose settings without the test set."))

    def __post_init__(self) -> None:
        for name, spec in settings().items():
            object.__setattr__(self, name, spec.check(name, getattr(self, name)))
        if self.implementation == "scratch" and self.optimizer != "sgd":
            raise ConfigError(
                "optimizer",
                _("the scratch implementation has only hand-written sgd, got {value}").format(
                    value=repr(self.optimizer)),
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
            raise ConfigError(unknown[0], _("unknown setting; allowed: {names}").format(names=", ".join(field_names())))
        return cls(**values)

    def differences(self, other: TrainConfig) -> dict[str, tuple[Any, Any]]:
        """Fields whose values differ: name -> (self's value, other's value)."""
        mine, theirs = self.to_dict(), other.to_dict()
        return {name: (mine[name], theirs[name]) for name in mine if mine[name] != theirs[name]}


_SETTINGS: dict[str, Setting] = {f.name: f.metadata["setting"] for f in dataclasses.fields(TrainConfig)}


def describe_fields(config: TrainConfig, names: Sequence[str]) -> str:
    """Some fields as short text, e.g. 'batch 1024, lr 0.4' (choices stand alone: 'adam')."""
    values = config.to_dict()
    specs = settings()
    return ", ".join(_describe_value(specs[name], values[name]) for name in names)


def _describe_value(spec: Setting, value: Any) -> str:
    if isinstance(value, bool):
        return spec.short if value else f"no {spec.short}"
    return (f"{spec.short} {value:g}" if isinstance(value, float) else f"{spec.short} {value}").strip()


def describe_config(config: TrainConfig) -> str:
    """What differs from the book's run, e.g. 'batch 1024, lr 0.4', or 'book defaults'."""
    return describe_fields(config, list(TrainConfig().differences(config))) or "book defaults"


def differing_fields(configs: Sequence[TrainConfig]) -> list[str]:
    """Names of the fields on which the configs don't all agree, in declaration order."""
    rows = [config.to_dict() for config in configs]
    return [name for name in field_names() if len({row[name] for row in rows}) > 1]


def check_fields(values: Mapping[str, Any]) -> list[ConfigError]:
    """Every problem of these values, each field's own first (in declaration order), then the rules across
    fields once each field is fine: what a form lists beside its Start, where ``TrainConfig(**values)``
    would name only the first."""
    errors = []
    for name, spec in settings().items():
        try:
            spec.check(name, values.get(name))
        except ConfigError as error:
            errors.append(error)
    if not errors:
        try:
            TrainConfig(**{name: values[name] for name in field_names()})
        except ConfigError as error:
            errors.append(error)
    return errors


def describe_problem(error: ConfigError) -> str:
    """A ConfigError as a form says it: the field's label and the problem in words, e.g. 'Epochs: 1000 is
    above the largest allowed, 500'."""
    spec = settings().get(error.field)
    return _("{label}: {problem}").format(label=spec.label_text if spec else error.field, problem=error.words)


def field_names() -> tuple[str, ...]:
    """Names of every TrainConfig field, in declaration order."""
    return tuple(settings())


def settings() -> dict[str, Setting]:
    """Each TrainConfig field's Setting, in declaration order."""
    return _SETTINGS


def numeric_fields() -> tuple[str, ...]:
    """The fields with a range (what a sweep can vary), in declaration order."""
    return tuple(name for name, spec in settings().items() if not spec.choices and spec.kind is not bool)


@dataclass(frozen=True)
class Preset:
    """A named run from the book: its title, what it teaches, and its config."""

    name: str
    title: str  # English, a catalog msgid: shown through _()
    lesson: str
    config: TrainConfig


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("book", N_("The book's run (3.7)"), N_("batch 256, lr 0.1, 10 epochs: the checks pass."),
               TrainConfig()),
        Preset("batch-1024", N_("Exercise: batch 1024"),
               N_("4x fewer updates per epoch: the loss is still above 0.5 after 10 epochs."),
               TrainConfig(batch_size=1024)),
        Preset("lr-0.4", N_("Exercise: lr 0.4"),
               N_("Steps too large: the loss oscillates and ends above 0.5."),
               TrainConfig(lr=0.4)),
        Preset("epochs-40", N_("Exercise: 40 epochs"),
               N_("Train longer: does test accuracy drop (overfitting) or only wobble (noise)?"),
               TrainConfig(epochs=40)),
    )
}


# --- what a run costs the class --------------------------------------------------------------------------

COST_UNIT = "book steps"  # the one unit of every compute limit: a step of the book's batch (256) is one
BOOK_BATCH = 256


def epoch_cost(config: TrainConfig) -> int:
    """What one epoch of this config costs, in book steps: its optimizer steps, each weighted by its
    batch over the book's 256 (a step at batch 1 still counts whole: its overhead is most of a step's
    time there)."""
    examples = TRAIN_SET_SIZE - VALIDATION_SIZE if config.validation else TRAIN_SET_SIZE
    steps = -(-examples // config.batch_size)
    return math.ceil(steps * max(1.0, config.batch_size / BOOK_BATCH))


def run_cost(config: TrainConfig) -> int:
    """What a whole run costs the class, in book steps: the book's 10-epoch run is 2,350, batch 1 for one
    epoch 60,000."""
    return epoch_cost(config) * config.epochs


def describe_cost(cost: int) -> str:
    """E.g. '2,350 book steps'."""
    return ngettext("{cost} book step", "{cost} book steps", cost).format(cost=f"{cost:,}")


def preset_config(name: str) -> TrainConfig:
    """The config of a preset, or ConfigError listing the presets."""
    if name not in PRESETS:
        raise ConfigError("preset", _("unknown preset {name}; choose one of {names}").format(
            name=repr(name), names=", ".join(PRESETS)))
    return PRESETS[name].config

