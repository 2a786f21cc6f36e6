"""The one list of metrics a run records: each metric's name, the split it is measured on, whether it is a
loss or an accuracy, whether it comes every report or once an epoch, and how a chart labels and draws it.

Everything that handles metrics reads this table rather than naming them: the store's columns (points,
epochs and the run's final values) and the migration that adds one, the store's single hiding rule
(``shown_to``: nothing measured on the test split before the teacher's reveal), the curves and their
charts, the CSV export and the CLI's table. Adding a metric is a row here, a migration, and the code that
measures it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from softmax_core.i18n import N_


class Split(str, Enum):
    """Which images a metric is measured on."""

    TRAIN = "train"  # the mini-batches trained on (before each one's update)
    VALIDATION = "validation"  # the held-out validation split of a run that asks for one
    TEST = "test"  # the 10,000 test images: a student sees nothing of it before the teacher's reveal


@dataclass(frozen=True)
class Metric:
    """One recorded metric."""

    name: str  # its column in the store, its key in the CSV and the CLI's JSON
    split: Split
    kind: str  # "loss" or "accuracy": which panel of the curves it is drawn on
    per_step: bool  # measured every report (over the mini-batches since the last); else once an epoch
    label: str  # how a chart's legend and a table's header name it (English: ``_(label)`` translates it)
    name_in_full: str  # how a sentence names it ("train accuracy 0.81 is in (0.7, 1]"), translated likewise
    dash: str  # its Plotly line style

    @property
    def held_out(self) -> bool:
        return self.split is not Split.TRAIN

    @property
    def final_column(self) -> str:
        """The runs table's column for its value at the run's last epoch."""
        return f"final_{self.name}"


METRICS = (
    Metric("train_loss", Split.TRAIN, "loss", True, N_("train loss"), N_("train loss"), "solid"),
    Metric("train_acc", Split.TRAIN, "accuracy", True, N_("train acc"), N_("train accuracy"), "dash"),
    Metric("test_acc", Split.TEST, "accuracy", False, N_("test acc"), N_("test accuracy"), "dot"),
    Metric("val_acc", Split.VALIDATION, "accuracy", False, N_("val acc"), N_("validation accuracy"), "dashdot"),
    # the mean over the test images
    Metric("test_loss", Split.TEST, "loss", False, N_("test loss"), N_("test loss"), "dot"),
    Metric("val_loss", Split.VALIDATION, "loss", False, N_("val loss"), N_("validation loss"), "dashdot"),
)
BY_NAME = {metric.name: metric for metric in METRICS}
NAMES = tuple(BY_NAME)
STEP_METRICS = tuple(metric for metric in METRICS if metric.per_step)
EPOCH_END_METRICS = tuple(metric for metric in METRICS if not metric.per_step)  # written once an epoch ends


def metric(name: str) -> Metric:
    """The metric called ``name``; KeyError naming the known ones for any other."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no metric named {name!r}; the metrics are {', '.join(NAMES)}") from None


def shown_to(split: Split, sees_test_split: bool) -> bool:
    """The store's one hiding rule: what is measured on the test split is shown only to a reader who may see
    it (the teacher, or anyone after the reveal); every other split is shown to whoever may see the run."""
    return split is not Split.TEST or sees_test_split

