"""What the store hands out (RunRecord, MetricPoint, EpochRecord) and how rows and tensors map to them.

Tensors are stored as little-endian bytes of a fixed dtype and shape, so any reader (another process,
another machine, another database) decodes them the same way.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from softmax_core.book.verdict import Verdict, judge_book_checks
from softmax_core.config import TrainConfig
from softmax_core.dataset_sizes import NUM_CLASSES, NUM_FEATURES
from softmax_core.status import RunStatus

if TYPE_CHECKING:  # torch is loaded only by a reader of tensors: listing runs needs none
    import torch


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
    error: Optional[str]
    final_train_loss: Optional[float]
    final_train_acc: Optional[float]
    final_test_acc: Optional[float]
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
    final_val_acc: Optional[float] = None  # on the validation split, if the run held one out
    test_accuracy_shown: bool = True  # False: read in a scope that hides test accuracy (before the reveal)
    pack_lead: Optional[int] = None  # trained in a pack: the pack's first run, and how many it held
    pack_size: Optional[int] = None
    cost: Optional[int] = None  # in book steps (config.run_cost)
    yields: int = 0  # times it gave its worker back to a classmate (pre-empted), resuming where it stopped

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
        """Where it trained, e.g. 'cpu on lab-3, process 4121' ('' before a worker claimed it)."""
        if not self.host:
            return ""
        where = f"{self.host}" + (f", Ray node {self.node[:8]}" if self.node else "")
        if not self.pid:
            return where
        pack = f", in a pack of {self.pack_size} with run {self.pack_lead}" if (self.pack_size or 0) > 1 else ""
        return f"{self.device or 'cpu'} on {where}, process {self.pid}{pack}"

    def to_dict(self) -> dict[str, Any]:
        values = {k: v for k, v in vars(self).items() if k not in ("config", "verdict", "status")}
        return {**values, "status": self.status.value, "config": self.config.to_dict(),
                "verdict": self.verdict.to_dict() if self.verdict else None}


@dataclass(frozen=True)
class StudentRecord:
    """A student of the class (their token is never handed out: only its digest is stored)."""

    id: int
    name: str
    joined_at: float
    joined_from: Optional[str] = None  # the address they joined from ('local': this machine)
    admitted_at: Optional[float] = None  # when the teacher let them in; None: still waiting

    @property
    def waiting(self) -> bool:
        """In the waiting room: may not start runs or see the class's, and doesn't count toward its size."""
        return self.admitted_at is None


@dataclass(frozen=True)
class MetricPoint:
    """One stored progress point (test_acc only at epoch ends)."""

    step: int
    epoch: float
    train_loss: float
    train_acc: float
    test_acc: Optional[float] = None
    val_acc: Optional[float] = None


@dataclass(frozen=True)
class EpochRecord:
    """The book's metrics of one epoch; tensors only when asked for."""

    epoch: int
    step: int
    train_loss: float
    train_acc: float
    test_acc: float
    seconds: float
    val_acc: Optional[float] = None  # on the validation split, if the run held one out
    weights: Optional[torch.Tensor] = None
    bias: Optional[torch.Tensor] = None
    confusion: Optional[torch.Tensor] = None
    step_losses: Optional[torch.Tensor] = None


EPOCH_SCALARS = ("epoch", "step", "train_loss", "train_acc", "test_acc", "seconds", "val_acc")
EPOCH_TENSORS = ("weights", "bias", "confusion", "step_losses")


def run_record(row) -> RunRecord:
    """A runs-table row as a RunRecord, as it was read (what a scope may see is the scope's to say)."""
    values = row._mapping
    record = RunRecord(
        id=values["id"], name=values["name"], config=TrainConfig.from_dict(values["config"]),
        status=RunStatus(values["status"]), created_at=values["created_at"], started_at=values["started_at"],
        ended_at=values["ended_at"], error=values["error"], final_train_loss=values["final_train_loss"],
        final_train_acc=values["final_train_acc"], final_test_acc=values["final_test_acc"],
        verdict=Verdict.from_dict(values["verdict"]) if values["verdict"] else None,
        diverged_step=values["diverged_step"], diverged_epoch=values["diverged_epoch"],
        steps_per_epoch=values["steps_per_epoch"], total_steps=values["total_steps"],
        last_step=values["last_step"] or 0, tags=values["tags"] or {}, heartbeat_at=values["heartbeat_at"],
        cancel_requested=bool(values["cancel_requested"]), host=values["host"], pid=values["pid"],
        node=values["node"], device=values["device"], owner_id=values["owner_id"],
        shared=bool(values["shared"]), final_val_acc=values["final_val_acc"],
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
        "run_id": run_id, **{name: getattr(report, name) for name in EPOCH_SCALARS},
        "weights": _to_bytes(report.weights, "<f4"), "bias": _to_bytes(report.bias, "<f4"),
        "confusion": _to_bytes(report.confusion, "<i4"),
        "step_losses": np.asarray(report.step_losses, dtype="<f4").tobytes(),
    }


def epoch_record(row, with_tensors: bool) -> EpochRecord:
    values = row._mapping
    scalars = {name: values[name] for name in EPOCH_SCALARS}
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
