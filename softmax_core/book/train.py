"""fit() and fit_many()'s one training loop: the book's ``train_ch3``, fast, for K >= 1 runs ("cells")
at once, reporting through callbacks. ``reference.py`` is the book's loop as written, which this one is
held to.

The metrics are the book's: per epoch, the average training loss and accuracy over the epoch's
mini-batches (each measured on its batch just before that batch's update) and the test accuracy after
the epoch. What is faster than the book: the data set lives in memory tensors and each batch is one
``index_select`` (no DataLoader); losses and accuracies are summed on the device and read once per
report; and the gradient of softmax regression is written out, ``(softmax(logits) - onehot(y)) / n``.
With SGD the cells train as one stack (``stacked.py``: a lone run is a stack of one, and each packed
cell gets the bits of its lone run); Adam is ``ConciseTrainer``, the scratch model ``ScratchTrainer``
(autograd and the book's hand-written SGD, as in 3.6), one run each.

The loop never prints or plots: each cell's callbacks hear ``on_fit_start``, ``on_step`` (about
``reports_per_epoch`` times an epoch), ``on_epoch_end`` and ``on_fit_end``. A cell's stop signal is
checked between steps, and a non-finite loss ends the cell ``diverged`` (with the step); either ends
that cell at once while the others go on. With ``yield_now`` set at an epoch end, every cell still
going ends ``queued`` with a ``Checkpoint`` (weights, optimizer state, epochs done, the shuffling
generator's state), from which ``resume`` trains to the very numbers of the uninterrupted run.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

import torch
import torch.nn.functional as F

from softmax_core.book.data import FashionMNISTData, ValidationSplit
from softmax_core.book.metrics import Verdict, confusion_matrix, count_correct, judge_book_checks
from softmax_core.book.model import (
    ScratchSoftmaxRegression,
    build_concise_model,
    class_templates,
    naive_cross_entropy,
    naive_softmax,
)
from softmax_core.book.schedule import EpochSchedule
from softmax_core.book.stacked import EVAL_CHUNK, StackedSoftmaxSGD, stacks, summed_cross_entropy
from softmax_core.config import ConfigError, TrainConfig
from softmax_core.i18n import N_, Said
from softmax_core.status import CANCELLED_AFTER, RunStatus
from softmax_core.status import DIVERGED as ENDING_DIVERGED

FINISHED, DIVERGED, CANCELLED = RunStatus.FINISHED, RunStatus.DIVERGED, RunStatus.CANCELLED
ORDER_SEED_OFFSET = 1_000_003  # the shuffling generator's seed: seed + this, apart from the init's

StopSignal = Union[threading.Event, Callable[[], bool], None]


@dataclass(frozen=True)
class FitStart:
    """Sent once before the first step."""

    config: TrainConfig
    steps_per_epoch: int
    total_steps: int
    device: str


@dataclass(frozen=True)
class StepReport:
    """Training metrics over the mini-batches since the previous report."""

    step: int  # optimizer steps taken so far in the run
    epoch: float  # fractional epoch, e.g. 2.4 = 40% into the third epoch
    train_loss: float  # mean loss per example over the window
    train_acc: float  # accuracy over the window


@dataclass(frozen=True)
class EpochReport:
    """The book's per-epoch metrics, plus what a page needs to replay how the run learned."""

    epoch: int  # 1-based
    step: int
    train_loss: float  # average over all the epoch's training examples
    train_acc: float
    test_acc: float  # after the epoch, on the 10,000 test images
    seconds: float  # wall time of this epoch, evaluation included
    weights: torch.Tensor  # (10, 784) float32, one class template per row
    bias: torch.Tensor  # (10,) float32
    confusion: torch.Tensor  # (10, 10) int64, [true, predicted] on the test set
    step_losses: tuple[float, ...]  # mean loss of each mini-batch, in order
    val_acc: Optional[float] = None  # on the held-out validation split, for a run that asks for one
    test_loss: Optional[float] = None  # mean cross-entropy on the test images after the epoch
    val_loss: Optional[float] = None  # ... and on the validation split


@dataclass(frozen=True)
class Checkpoint:
    """Where a run that yielded its worker goes on: everything its next epochs depend on."""

    epoch: int  # epochs done
    trainer: dict  # the trainer's tensors: weights, bias, optimizer state (momentum buffers, Adam's moments)
    order: torch.Tensor  # the shuffling generator's state, so the next epochs shuffle as they would have

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        torch.save({"epoch": self.epoch, "trainer": self.trainer, "order": self.order}, buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> Checkpoint:
        """Read back with ``weights_only``: a stored checkpoint is data, never code."""
        values = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        return cls(int(values["epoch"]), values["trainer"], values["order"])


@dataclass(frozen=True)
class FitResult:
    """How a run ended and what it reached."""

    status: RunStatus  # finished | diverged | cancelled | queued (yielded its worker: see checkpoint)
    epochs: tuple[EpochReport, ...]  # this fit()'s epochs (a resumed run: those after its checkpoint)
    verdict: Optional[Verdict]  # the book's checks, for a finished run
    message: str
    seconds: float
    diverged_step: Optional[int] = None  # first step whose loss was not finite
    diverged_epoch: Optional[float] = None
    checkpoint: Optional[Checkpoint] = None  # a run that yielded: where it goes on
    ending: Optional[Said] = None  # how it ended if it didn't finish, language-neutral (``message`` is its English)

    @property
    def final(self) -> Optional[EpochReport]:
        return self.epochs[-1] if self.epochs else None

    @property
    def yielded(self) -> bool:
        return self.checkpoint is not None


class Callback:
    """Receives fit()'s events; override what you need (each default does nothing)."""

    def on_fit_start(self, start: FitStart) -> None:
        pass

    def on_step(self, report: StepReport) -> None:
        pass

    def on_epoch_end(self, report: EpochReport) -> None:
        pass

    def on_fit_end(self, result: FitResult) -> None:
        pass


HOOKS = ("on_fit_start", "on_step", "on_epoch_end", "on_fit_end")


def send_event(callbacks: Iterable[Callback], hook: str, payload: object) -> None:
    """Give one event to every callback, in order (as Lightning Fabric's ``call``): fit() sends its
    events this way, and so does a run followed from the store (``run_follower``). A misspelled hook is
    an error, never an event nobody hears."""
    if hook not in HOOKS:
        raise ValueError(f"no callback hook named {hook!r}; the hooks are {', '.join(HOOKS)}")
    for callback in callbacks:
        getattr(callback, hook)(payload)


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda if present else cpu; 'cuda' without a GPU is a ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", Said(N_("cuda was asked for, but no CUDA GPU is available here; use cpu or "
                                            "auto")))
    return torch.device(name)


class _OneCell:
    """A trainer of one run, which the loop drives as it drives a stack (``StackedSoftmaxSGD``) of one."""

    cells = [0]
    model: torch.nn.Module

    @torch.no_grad()
    def evaluate(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(1, N): the predicted class of each image, and (1,): the summed cross-entropy over them, in
        ``EVAL_CHUNK`` chunks."""
        logits = [self.model(chunk).t().unsqueeze(0) for chunk in images.split(EVAL_CHUNK)]
        loss_sums = sum(summed_cross_entropy(chunk, chunk_labels)
                        for chunk, chunk_labels in zip(logits, labels.split(EVAL_CHUNK), strict=True))
        return torch.cat([chunk.argmax(1) for chunk in logits], dim=1), loss_sums


class ConciseTrainer(_OneCell):
    """Section 3.7's nn.Linear and cross-entropy with another optimizer than SGD (Adam): the exact
    analytic gradient ``(softmax - onehot) / n`` goes into ``.grad`` and ``torch.optim`` does the update."""

    def __init__(self, config: TrainConfig, generator: torch.Generator, device: torch.device):
        self.model = build_concise_model(config.init_std, generator).to(device)
        self.linear = self.model[1]
        for parameter in self.model.parameters():
            parameter.grad = torch.zeros_like(parameter)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.minus_ones = torch.full((config.batch_size, 1), -1.0, device=device)

    @torch.no_grad()
    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One update; returns (sum of the batch's losses, number correct), both before the update."""
        n = len(labels)
        logits = self.model(images)
        log_probs = F.log_softmax(logits, dim=1)  # what nn.CrossEntropyLoss computes inside
        loss_sum = log_probs.gather(1, labels.unsqueeze(1)).sum().neg_()
        correct = count_correct(logits, labels)
        grad_logits = log_probs.exp_()  # softmax; minus the one-hot labels below
        grad_logits.scatter_add_(1, labels.unsqueeze(1), self.minus_ones[:n])
        grad_logits.div_(n)
        torch.mm(grad_logits.t(), images, out=self.linear.weight.grad)
        torch.sum(grad_logits, dim=0, out=self.linear.bias.grad)
        self.optimizer.step()
        return loss_sum, correct

    def cell_weights(self, cell: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        return class_templates(self.model), self.linear.bias.detach().cpu().clone()

    def cell_state(self, cell: int = 0) -> dict:
        return {"model": _on_cpu(self.model.state_dict()), "optimizer": _on_cpu(self.optimizer.state_dict())}

    def load_cell_state(self, cell: int, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])


class ScratchTrainer(_OneCell):
    """Section 3.6: naive softmax and cross-entropy, autograd, and the book's hand-written SGD."""

    def __init__(self, config: TrainConfig, generator: torch.Generator, device: torch.device):
        self.model = ScratchSoftmaxRegression(config.init_std, generator).to(device)
        self.config = config
        self.velocities = [torch.zeros_like(p) for p in self.model.parameters()]

    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.model(images)
        losses = naive_cross_entropy(naive_softmax(logits), labels)
        losses.sum().backward()  # as the book: gradients of the sum, divided by the batch in sgd
        self._sgd(len(labels))
        return losses.detach().sum(), count_correct(logits.detach(), labels)

    @torch.no_grad()
    def _sgd(self, batch_size: int) -> None:
        """The book's ``param -= lr * grad / batch_size``, with torch.optim.SGD's momentum and decay."""
        lr, momentum, decay = self.config.lr, self.config.momentum, self.config.weight_decay
        for parameter, velocity in zip(self.model.parameters(), self.velocities):
            step = parameter.grad / batch_size
            if decay:
                step.add_(parameter, alpha=decay)
            if momentum:
                step = velocity.mul_(momentum).add_(step)
            parameter.sub_(step, alpha=lr)
            parameter.grad.zero_()

    def cell_weights(self, cell: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        return class_templates(self.model), self.model.b.detach().cpu().clone()

    def cell_state(self, cell: int = 0) -> dict:
        return {"model": _on_cpu(self.model.state_dict()), "velocities": _on_cpu(self.velocities)}

    @torch.no_grad()
    def load_cell_state(self, cell: int, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        for velocity, saved in zip(self.velocities, state["velocities"], strict=True):
            velocity.copy_(saved)


def _on_cpu(value):
    """A copy of a (nested) state with every tensor detached on the CPU, as a checkpoint keeps it."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _on_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(item) for item in value)
    return value


def _build_cells(configs: Sequence[TrainConfig], device: torch.device):
    """What trains the cells: one stack for concise SGD (any K), else ConciseTrainer (Adam) or
    ScratchTrainer, for one run."""
    first = configs[0]
    if stacks(first):
        return StackedSoftmaxSGD(configs, device)
    if len(configs) > 1:
        raise ValueError(f"only concise SGD runs train together, not {first.implementation} with {first.optimizer}")
    trainer_class = ScratchTrainer if first.implementation == "scratch" else ConciseTrainer
    return trainer_class(first, torch.Generator().manual_seed(first.seed), device)


def fit(config: TrainConfig, data: FashionMNISTData, callbacks: Sequence[Callback] = (),
        stop: StopSignal = None, yield_now: StopSignal = None, resume: Checkpoint | None = None) -> FitResult:
    """Train softmax regression as ``config`` says, sending events to ``callbacks``; never raises on a
    diverged or stopped run (its status says so). ``yield_now`` set at an epoch end (not the last) ends
    the run ``queued`` with a checkpoint; ``resume`` goes on from one."""
    return fit_cells([config], data, [callbacks], [stop], yield_now, None if resume is None else [resume])[0]


def fit_cells(configs: Sequence[TrainConfig], data: FashionMNISTData, callbacks: Sequence[Sequence[Callback]],
              stops: Sequence[StopSignal], yield_now: StopSignal = None,
              resumes: Sequence[Checkpoint] | None = None) -> list[FitResult]:
    """Train K >= 1 cells that differ at most in lr, weight decay and momentum (``packed.check_packable``
    says which may) with one shuffle and one gathered batch a step; cell ``i`` reports to
    ``callbacks[i]`` and stops on ``stops[i]``. ``resumes``: every cell's checkpoint, all from one epoch
    and shuffling state. Each cell's FitResult, in order."""
    started = time.perf_counter()
    first = configs[0]
    device = resolve_device(first.device)
    data = data.to(device)
    split = data.validation_split() if first.validation else None
    schedule = EpochSchedule(len(split.train_rows) if split else len(data.train_labels), first.batch_size,
                             first.reports_per_epoch)
    model = _build_cells(configs, device)
    cells = [_Cell(i, config, tuple(callbacks[i]), _as_predicate(stops[i])) for i, config in enumerate(configs)]
    for cell in cells:
        send_event(cell.callbacks, "on_fit_start",
                   FitStart(cell.config, schedule.steps, schedule.steps * first.epochs, str(device)))
    order_generator = torch.Generator().manual_seed(first.seed + ORDER_SEED_OFFSET)
    for cell, resume in enumerate(resumes or ()):
        model.load_cell_state(cell, resume.trainer)
        order_generator.set_state(resume.order)
    loop = _EpochLoop(model, data, schedule, split, cells, order_generator, started)
    should_yield = _as_predicate(yield_now)
    for epoch in range(1 + (resumes[0].epoch if resumes else 0), first.epochs + 1):
        if not loop.going():
            break
        loop.run(epoch)
        if epoch < first.epochs and loop.going() and should_yield():
            loop.yield_cells(epoch)
            break
    for cell in cells:
        if cell.result is None:
            loop.finish(cell, pack_goes_on=False)
    return [cell.result for cell in cells]


@dataclass(frozen=True)
class _Stopped:
    """Why and where a cell ended early."""

    status: RunStatus  # cancelled, diverged or queued (yielded)
    step: int  # for diverged: the first non-finite step; else: steps completed
    epoch: float


@dataclass
class _Cell:
    """One run of the loop: its config, callbacks and stop check, its epochs so far, and how it ended."""

    index: int
    config: TrainConfig
    callbacks: Sequence[Callback]
    should_stop: Callable[[], bool]
    epochs: list = field(default_factory=list)
    stopped: _Stopped | None = None
    result: FitResult | None = None  # set (and on_fit_end sent) the moment the cell ends

    @property
    def going(self) -> bool:
        return self.stopped is None


class _EpochLoop:
    """The epoch loop: one shuffle and one gathered batch per step for every cell still going, each
    cell's reports to its own callbacks, and a cell that ends (cancelled, diverged) ended at once."""

    def __init__(self, model, data: FashionMNISTData, schedule: EpochSchedule, split: ValidationSplit | None,
                 cells: list[_Cell], order_generator: torch.Generator, started: float):
        self.model, self.data, self.schedule, self.split, self.cells = model, data, schedule, split, cells
        self.order_generator, self.started = order_generator, started
        self.report_after = set(schedule.report_after())
        device = data.train_labels.device
        self.loss_sums = torch.zeros(len(cells), schedule.steps, device=device)  # a cell's row is contiguous
        self.correct = torch.zeros(len(cells), schedule.steps, dtype=torch.long, device=device)
        self.rows = self._trained_rows()

    def going(self) -> bool:
        return any(cell.going for cell in self.cells)

    def run(self, epoch: int) -> None:
        """One epoch over a fresh shuffle of the training rows (a validation split's rows stay out)."""
        started = time.perf_counter()
        steps, batch = self.schedule.steps, self.schedule.batch_size
        order = torch.randperm(self.schedule.num_examples, generator=self.order_generator)
        order = order.to(self.data.train_labels.device)
        if self.split is not None:
            order = self.split.train_rows.index_select(0, order)
        window_start = 0
        for i in range(steps):
            self._stop_cancelled(epoch, i)
            if not self.going():
                return
            rows = order[i * batch:(i + 1) * batch]
            images = self.data.train_images.index_select(0, rows)
            labels = self.data.train_labels.index_select(0, rows)
            self.loss_sums[self.rows, i], self.correct[self.rows, i] = self.model.train_step(images, labels)
            if i + 1 in self.report_after:
                for cell in self.cells:
                    if cell.going:
                        self._report_window(cell, epoch, window_start, i + 1)
                window_start = i + 1
        if self.going():
            self._epoch_reports(epoch, time.perf_counter() - started)

    def _trained_rows(self) -> torch.Tensor | slice:
        """The loss and count rows of the cells the model still trains, in the model's order."""
        cells = self.model.cells
        if cells == list(range(len(cells))):
            return slice(0, len(cells))
        return torch.tensor(cells, device=self.loss_sums.device)

    def finish(self, cell: _Cell, pack_goes_on: bool = True) -> None:
        """The cell's end, told at once (a cancelled or diverged cell doesn't wait for the others, nor is
        it trained any further)."""
        cell.result = _result_of(cell.stopped, tuple(cell.epochs), cell.config, time.perf_counter() - self.started)
        if pack_goes_on and self.going():
            self.model.drop([cell.index])
            self.rows = self._trained_rows()
        send_event(cell.callbacks, "on_fit_end", cell.result)

    def yield_cells(self, epoch: int) -> None:
        """Every cell still going gives the worker back after this epoch, each with its checkpoint."""
        order = self.order_generator.get_state()
        for cell in self.cells:
            if cell.going:
                checkpoint = Checkpoint(epoch, self.model.cell_state(cell.index), order)
                cell.result = FitResult(RunStatus.QUEUED, tuple(cell.epochs), None,
                                        f"gave its worker to a classmate after epoch {epoch}; it goes on from there",
                                        time.perf_counter() - self.started, checkpoint=checkpoint)
                cell.stopped = _Stopped(RunStatus.QUEUED, epoch * self.schedule.steps, float(epoch))
                send_event(cell.callbacks, "on_fit_end", cell.result)

    def _stop_cancelled(self, epoch: int, i: int) -> None:
        steps = self.schedule.steps
        for cell in self.cells:
            if cell.going and cell.should_stop():
                cell.stopped = _Stopped(CANCELLED, (epoch - 1) * steps + i, epoch - 1 + i / steps)
                self.finish(cell)

    def _report_window(self, cell: _Cell, epoch: int, start: int, end: int) -> None:
        """Send the cell a StepReport over steps [start, end) of this epoch, or end it where its loss
        first went non-finite (the others go on)."""
        steps, losses = self.schedule.steps, self.loss_sums[cell.index, start:end]
        finite = torch.isfinite(losses)
        if not bool(finite.all()):
            bad = start + int((~finite).nonzero()[0])
            cell.stopped = _Stopped(DIVERGED, (epoch - 1) * steps + bad + 1, epoch - 1 + (bad + 1) / steps)
            self.finish(cell)
            return
        examples = self.schedule.examples_in(start, end)
        send_event(cell.callbacks, "on_step", StepReport(
            step=(epoch - 1) * steps + end, epoch=epoch - 1 + end / steps, train_loss=float(losses.sum()) / examples,
            train_acc=int(self.correct[cell.index, start:end].sum()) / examples))

    def _epoch_reports(self, epoch: int, train_seconds: float) -> None:
        started = time.perf_counter()
        test = self._held_out(self.data.test_images, self.data.test_labels)
        val = self._held_out(self.split.images, self.split.labels) if self.split else {}
        seconds = train_seconds + time.perf_counter() - started
        for cell in [cell for cell in self.cells if cell.going]:
            report = self._epoch_report(cell, epoch, seconds, test[cell.index], val.get(cell.index))
            cell.epochs.append(report)
            send_event(cell.callbacks, "on_epoch_end", report)

    def _held_out(self, images: torch.Tensor, labels: torch.Tensor) -> dict[int, tuple[torch.Tensor, float]]:
        """Each cell's predictions on held-out images and its mean loss there."""
        predicted, loss_sums = self.model.evaluate(images, labels)
        return {cell: (predicted[i], float(loss_sums[i]) / len(labels)) for i, cell in enumerate(self.model.cells)}

    def _epoch_report(self, cell: _Cell, epoch: int, seconds: float, test: tuple[torch.Tensor, float],
                      val: tuple[torch.Tensor, float] | None) -> EpochReport:
        """The one place an EpochReport is made."""
        n, labels, steps = self.schedule.num_examples, self.data.test_labels, self.schedule.steps
        (predicted, test_loss), (val_predicted, val_loss) = test, val or (None, None)
        weights, bias = self.model.cell_weights(cell.index)
        batch_sizes = torch.tensor([self.schedule.examples_in(i, i + 1) for i in range(steps)])
        return EpochReport(
            epoch=epoch, step=epoch * steps,
            train_loss=float(self.loss_sums[cell.index].sum()) / n,
            train_acc=int(self.correct[cell.index].sum()) / n,
            test_acc=int((predicted == labels).sum()) / len(labels), seconds=seconds, weights=weights, bias=bias,
            confusion=confusion_matrix(predicted.cpu(), labels.cpu()),
            step_losses=tuple((self.loss_sums[cell.index].cpu() / batch_sizes).tolist()),
            val_acc=None if val_predicted is None else
            int((val_predicted == self.split.labels).sum()) / len(self.split.labels),
            test_loss=test_loss, val_loss=val_loss)


def _as_predicate(stop: StopSignal) -> Callable[[], bool]:
    if stop is None:
        return lambda: False
    if isinstance(stop, threading.Event):
        return stop.is_set
    return stop


def _result_of(stopped: _Stopped | None, epochs: tuple[EpochReport, ...], config: TrainConfig,
               seconds: float) -> FitResult:
    if stopped is not None:
        ending = Said(ENDING_DIVERGED if stopped.status == DIVERGED else CANCELLED_AFTER, step=stopped.step,
                      epoch=f"{stopped.epoch:.2f}")
        if stopped.status == DIVERGED:
            return FitResult(DIVERGED, epochs, None, ending.english(), seconds, stopped.step, stopped.epoch,
                             ending=ending)
        return FitResult(CANCELLED, epochs, None, ending.english(), seconds, ending=ending)
    final = epochs[-1]
    verdict = judge_book_checks(final.train_loss, final.train_acc, final.test_acc)
    return FitResult(FINISHED, epochs, verdict, finished_message(config.epochs, verdict), seconds)


def finished_message(epochs: int, verdict: Verdict) -> str:
    """How a finished run is summed up, e.g. "finished 10 epochs; the book's checks: all pass"."""
    return f"finished {epochs} epochs; the book's checks: {verdict.summary()}"
