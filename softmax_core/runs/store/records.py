"""What the store hands out (RunRecord, MetricPoint, EpochRecord) and how rows and tensors map to them.

Tensors are stored as little-endian bytes of a fixed dtype and shape, so any reader (another process,
another machine, another database) decodes them the same way. A record's metrics are those of
``metric_registry``, held as a mapping and read as attributes (``point.train_loss``,
``run.final_test_acc``), so that a metric added there needs no field here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from softmax_core.book.verdict import Verdict, judge_book_checks
from softmax_core.config import TrainConfig
from softmax_core.dataset_sizes import NUM_CLASSES, NUM_FEATURES
from softmax_core.i18n import N_, SOURCE_LANGUAGE, Said, _, use_language
from softmax_core.metric_registry import BY_NAME, METRICS, NAMES, Split
from softmax_core.run_names import shown_name
from softmax_core.status import RunStatus, describe_ending, english_ending, read_ending

if TYPE_CHECKING:  # torch is loaded only by a reader of tensors: listing runs needs none
    import torch

CPU = N_("cpu")  # the device a run without a GPU trained on, as torch names it (a word: 'CPU' in Chinese)
THIS_MACHINE = "local"  # the address stored for a browser (or a session without one) on the server's own machine
Values = Mapping[str, Optional[float]]  # metric name -> value (None: not measured, or not for this reader)


def _metric_attribute(values: Values, name: str, prefix: str = "") -> Optional[float]:
    """``values``' metric called ``name`` less ``prefix``; AttributeError for a name that is no metric."""
    bare = name[len(prefix):] if name.startswith(prefix) else None
    if bare not in BY_NAME:
        raise AttributeError(name)
    return values.get(bare)


def checked_values(values: Mapping[str, Any]) -> dict[str, Optional[float]]:
    """Metric values by name, every registry metric present (None where missing); KeyError for a name
    that is no metric, so a typo is an error, never a value nobody reads."""
    unknown = set(values) - set(NAMES)
    if unknown:
        raise KeyError(f"no metric named {', '.join(sorted(unknown))}; the metrics are {', '.join(NAMES)}")
    return {name: values.get(name) for name in NAMES}


def shown_device(device: object) -> str:
    """A device as a reader reads it: 'cpu' is a word (CPU in Chinese); a GPU's name ('cuda:0') stays as it is."""
    name = str(device or CPU)
    return _(CPU) if name == CPU else name


@dataclass(frozen=True)
class RunRecord:
    """One stored run as the page and the CLI see it."""

    id: int
    name: str
    config: TrainConfig
    status: RunStatus
    created_at: float
    started_at: Optional[float]
    ended_at: Optional[float]
    error: Optional[str]  # how it ended if it didn't finish, in English (``shown_error()``: in the reader's language)
    finals: Values  # each metric at the run's last epoch (read as ``run.final_<name>``)
    verdict: Optional[Verdict]
    diverged_step: Optional[int]
    diverged_epoch: Optional[float]
    steps_per_epoch: Optional[int]
    total_steps: Optional[int]
    last_step: int = 0  # newest stored metric point
    tags: dict = field(default_factory=dict)
    heartbeat_at: Optional[float] = None
    cancel_requested: bool = False
    host: Optional[str] = None  # where it trained
    pid: Optional[int] = None
    node: Optional[str] = None
    device: Optional[str] = None
    owner_id: Optional[int] = None  # the student, in classroom mode
    shared: bool = False  # shared to the class board
    test_accuracy_shown: bool = True  # False: read in a scope that hides test accuracy (before the reveal)
    pack_lead: Optional[int] = None  # trained in a pack: the pack's first run, and how many it held
    pack_size: Optional[int] = None
    cost: Optional[int] = None  # in book steps (config.run_cost)
    yields: int = 0  # times it gave its worker back to a classmate (pre-empted), resuming where it stopped
    ending: Optional[Said] = field(default=None, compare=False, repr=False)  # ``error``, language-neutral

    def __getattr__(self, name: str) -> Optional[float]:
        if name.startswith("__") or name == "finals":  # copy and pickle look for these before __init__
            raise AttributeError(name)
        return _metric_attribute(self.finals, name, "final_")

    @property
    def held_out_acc(self) -> Optional[float]:
        """The final accuracy on what this reader may see held out: the test set, or else the validation split."""
        return self.final_test_acc if self.test_accuracy_shown else self.final_val_acc

    @property
    def is_active(self) -> bool:
        return self.status.is_active

    @property
    def progress(self) -> float:
        """Share of the run's steps done, 0..1 (0 until the run starts)."""
        return min(1.0, self.last_step / self.total_steps) if self.total_steps else 0.0

    @property
    def placement(self) -> str:
        """Where it trained, in English, e.g. 'cpu on lab-3, process 4121' ('' before a worker claimed it)."""
        with use_language(SOURCE_LANGUAGE):
            return self.shown_placement()

    def shown_name(self) -> str:
        """The run's name as a page shows it: a name the app made, said again in the reader's language from
        the run's config and tags ('批量大小 1024，学习率 0.4'); a typed one as typed. ``name`` stays as stored."""
        return shown_name(self.name, self.config, self.tags)

    def shown_error(self) -> str:
        """How it ended, in the reader's language ('' for none): said from the stored ending, whoever stored it."""
        return str(self.ending) if self.ending is not None else describe_ending(self.error)

    def shown_placement(self) -> str:
        """``placement`` in the reader's language, for a page ('CPU，在 lab-3 上，进程 4121'): 'cpu' is a word,
        said as the reader says it; a host, a GPU's device name ('cuda:0') and the numbers stay as they are.
        ``placement`` itself stays English: the CLI's JSON says it."""
        if not self.host:
            return ""
        where = _("{host}, Ray node {node}").format(host=self.host, node=self.node[:8]) if self.node else self.host
        if not self.pid:
            return where
        text = _("{device} on {where}, process {pid}").format(device=shown_device(self.device), where=where,
                                                              pid=self.pid)
        if (self.pack_size or 0) > 1:
            text += _(", in a pack of {size} with run {lead}").format(size=self.pack_size, lead=self.pack_lead)
        return text

    def to_dict(self) -> dict[str, Any]:
        values = {k: v for k, v in vars(self).items() if k not in ("config", "verdict", "status", "finals", "ending")}
        finals = {f"final_{name}": value for name, value in self.finals.items()}
        return {**values, **finals, "status": self.status.value, "config": self.config.to_dict(),
                "verdict": self.verdict.to_dict() if self.verdict else None}


@dataclass(frozen=True)
class StudentRecord:
    """A student of the class (their token is never handed out: only its digest is stored)."""

    id: int
    name: str
    joined_at: float
    joined_from: Optional[str] = None  # the address they joined from ('local': this machine)
    admitted_at: Optional[float] = None  # when the teacher let them in; None: still waiting

    def shown_address(self) -> str:
        """Where they joined from, as a person reads it: the address, 'this computer' for the server's own
        machine, 'unknown' for none (in the reader's language; the stored value stays as it is)."""
        if not self.joined_from:
            return _("unknown")
        return _("this computer") if self.joined_from == THIS_MACHINE else self.joined_from

    @property
    def waiting(self) -> bool:
        """In the waiting room: may not start runs or see the class's, and doesn't count toward its size."""
        return self.admitted_at is None


@dataclass(frozen=True)
class MetricPoint:
    """One stored progress point: each metric's value there (an epoch-end metric only at an epoch's last
    step), read as ``point.train_loss``."""

    step: int
    epoch: float
    values: Values

    @classmethod
    def of(cls, step: int, epoch: float, **values: Optional[float]) -> MetricPoint:
        return cls(step, epoch, checked_values(values))

    def __getattr__(self, name: str) -> Optional[float]:
        if name.startswith("__") or name == "values":
            raise AttributeError(name)
        return _metric_attribute(self.values, name)


@dataclass(frozen=True)
class EpochRecord:
    """One epoch's metrics (read as ``record.test_acc``); tensors only when asked for."""

    epoch: int
    step: int
    seconds: float
    values: Values
    weights: Optional[torch.Tensor] = None
    bias: Optional[torch.Tensor] = None
    confusion: Optional[torch.Tensor] = None
    step_losses: Optional[torch.Tensor] = None

    def __getattr__(self, name: str) -> Optional[float]:
        if name.startswith("__") or name == "values":
            raise AttributeError(name)
        return _metric_attribute(self.values, name)


EPOCH_SCALARS = ("epoch", "step", "seconds", *NAMES)
EPOCH_TENSORS = {"weights": Split.TRAIN, "bias": Split.TRAIN, "confusion": Split.TEST,  # the split each is of
                 "step_losses": Split.TRAIN}


def run_record(row) -> RunRecord:
    """A runs-table row as a RunRecord, as it was read (what a scope may see is the scope's to say)."""
    values = row._mapping
    record = RunRecord(
        id=values["id"], name=values["name"], config=TrainConfig.from_dict(values["config"]),
        status=RunStatus(values["status"]), created_at=values["created_at"], started_at=values["started_at"],
        ended_at=values["ended_at"], error=english_ending(values["error"]), ending=read_ending(values["error"]),
        finals={metric.name: values[metric.final_column] for metric in METRICS},
        verdict=Verdict.from_dict(values["verdict"]) if values["verdict"] else None,
        diverged_step=values["diverged_step"], diverged_epoch=values["diverged_epoch"],
        steps_per_epoch=values["steps_per_epoch"], total_steps=values["total_steps"],
        last_step=values["last_step"] or 0, tags=values["tags"] or {}, heartbeat_at=values["heartbeat_at"],
        cancel_requested=bool(values["cancel_requested"]), host=values["host"], pid=values["pid"],
        node=values["node"], device=values["device"], owner_id=values["owner_id"],
        shared=bool(values["shared"]),
        pack_lead=values["pack_lead"], pack_size=values["pack_size"], cost=values["cost"],
        yields=values["yields"] or 0,
    )
    return record


def judged_on_validation(run: RunRecord) -> RunRecord:
    """The run without its test accuracy: a finished run's verdict is the book's checks with validation
    accuracy in the test check's place."""
    finished = run.status == RunStatus.FINISHED and None not in (run.final_train_loss, run.final_val_acc)
    verdict = judge_book_checks(run.final_train_loss, run.final_train_acc, run.final_val_acc,
                                held_out="val") if finished else None
    return dataclasses.replace(run, verdict=verdict, test_accuracy_shown=False)


def epoch_row(run_id: int, report) -> dict[str, Any]:
    """A fit() EpochReport as an epochs-table row."""
    return {
        "run_id": run_id, **{name: getattr(report, name, None) for name in EPOCH_SCALARS},
        "weights": _to_bytes(report.weights, "<f4"), "bias": _to_bytes(report.bias, "<f4"),
        "confusion": _to_bytes(report.confusion, "<i4"),
        "step_losses": np.asarray(report.step_losses, dtype="<f4").tobytes(),
    }


def epoch_record(row, with_tensors: bool) -> EpochRecord:
    values = row._mapping
    scalars = dict(epoch=values["epoch"], step=values["step"], seconds=values["seconds"],
                   values={name: values[name] for name in NAMES})
    if not with_tensors:
        return EpochRecord(**scalars)
    return EpochRecord(
        **scalars,
        weights=_from_bytes(values["weights"], "<f4", (NUM_CLASSES, NUM_FEATURES)),
        bias=_from_bytes(values["bias"], "<f4", (NUM_CLASSES,)),
        confusion=None if values["confusion"] is None else
        _from_bytes(values["confusion"], "<i4", (NUM_CLASSES, NUM_CLASSES)).long(),
        step_losses=_from_bytes(values["step_losses"], "<f4", (-1,)),
    )


def _to_bytes(tensor: torch.Tensor | None, dtype: str) -> bytes | None:
    if tensor is None:  # a notebook's model that is not the book's linear one has no (10, 784) weights
        return None
    return tensor.detach().cpu().numpy().astype(dtype).tobytes()


def _from_bytes(blob: bytes | None, dtype: str, shape: tuple[int, ...]) -> torch.Tensor | None:
    import torch

    if blob is None:
        return None
    return torch.from_numpy(np.frombuffer(blob, dtype=dtype).astype(dtype[1:]).reshape(shape))
