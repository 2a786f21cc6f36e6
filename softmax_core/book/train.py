"""fit(): the training loop of the book's ``train_ch3``, fast, and reporting through callbacks.

The metrics are the book's: per epoch, the average training loss and accuracy over the epoch's
mini-batches (each measured on its batch just before that batch's update) and the test accuracy after
the epoch. What is faster than the book: the whole data set lives in memory tensors and each batch is
one ``index_select`` (no DataLoader, no per-image transform); losses and accuracies are summed on the
device and read once per report, not once per step; and the ``concise`` model's backward pass is
written out analytically, since for softmax regression it is exact and short:
``d mean(CE) / d logits = (softmax(logits) - onehot(y)) / batch``. With SGD the model is a stack of
one (``stacked.py``, the step a packed run's every cell takes too), plain SGD fused into the gradient's
matrix product; Adam is ``torch.optim``'s. The ``scratch`` model keeps autograd and the book's
hand-written SGD, as in 3.6.

The loop never prints or plots. It emits events to callbacks: ``on_fit_start``, ``on_step`` (about
``reports_per_epoch`` times an epoch), ``on_epoch_end``, ``on_fit_end``. It checks the stop signal
between steps, and a non-finite loss ends the run as ``diverged`` (with the step), not as an exception.

A run can give its worker back at an epoch end and go on later with nothing lost: when its ``yield_now``
signal is set, it ends ``queued`` with a ``Checkpoint`` (its weights, its optimizer's state, the epochs
done and the shuffling generator's state), and ``fit(..., resume=checkpoint)`` trains the remaining
epochs to the very numbers the uninterrupted run would have reached.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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
from softmax_core.book.stacked import EVAL_CHUNK, StackedSoftmaxSGD, stacks
from softmax_core.config import ConfigError, TrainConfig
from softmax_core.status import RunStatus

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

    @property
    def final(self) -> Optional[EpochReport]:
        return self.epochs[-1] if self.epochs else None

    @property
    def yielded(self) -> bool:
        return self.checkpoint is not None


def yielded_result(epochs: tuple[EpochReport, ...], checkpoint: Checkpoint, seconds: float) -> FitResult:
    """A run that gave its worker back after an epoch: queued again, to resume from ``checkpoint``."""
    return FitResult(RunStatus.QUEUED, epochs, None,
                     f"gave its worker to a classmate after epoch {checkpoint.epoch}; it goes on from there",
                     seconds, checkpoint=checkpoint)


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


class _Events:
    """fit()'s callbacks, each event sent to all of them (``send_event``)."""

    def __init__(self, callbacks: Iterable[Callback]):
        self.callbacks = tuple(callbacks)

    def call(self, hook: str, payload: object) -> None:
        send_event(self.callbacks, hook, payload)


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda if present else cpu; 'cuda' without a GPU is a ConfigError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda was asked for, but no CUDA GPU is available here; use cpu or auto")
    return torch.device(name)


class StackedTrainer:
    """Section 3.7 with SGD (the book's setting): a stack of one cell (``stacked.StackedSoftmaxSGD``),
    the very step a packed cell takes, so a lone run is the reference every packed cell reproduces."""

    def __init__(self, config: TrainConfig, device: torch.device):
        self.stack = StackedSoftmaxSGD([config], device)

    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One update; returns (sum of the batch's losses, number correct), both before the update."""
        loss_sums, correct = self.stack.train_step(images, labels)
        return loss_sums[0], correct[0]

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        return self.stack.predictions(images)[0]

    def weights_and_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.stack.cell_weights(0)

    def state(self) -> dict:
        return self.stack.cell_state(0)

    def load_state(self, state: dict) -> None:
        self.stack.load_cell_state(0, state)


class ConciseTrainer:
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

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        return arg_max_classes(self.model, images)

    def weights_and_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        return class_templates(self.model), self.linear.bias.detach().cpu().clone()

    def state(self) -> dict:
        return {"model": _on_cpu(self.model.state_dict()), "optimizer": _on_cpu(self.optimizer.state_dict())}

    def load_state(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])


class ScratchTrainer:
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

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        return arg_max_classes(self.model, images)

    def weights_and_bias(self) -> tuple[torch.Tensor, torch.Tensor]:
        return class_templates(self.model), self.model.b.detach().cpu().clone()

    def state(self) -> dict:
        return {"model": _on_cpu(self.model.state_dict()), "velocities": _on_cpu(self.velocities)}

    @torch.no_grad()
    def load_state(self, state: dict) -> None:
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


def build_trainer(config: TrainConfig, generator: torch.Generator, device: torch.device):
    """The trainer of the config's implementation and optimizer: a stack of one for concise SGD, else
    ConciseTrainer (Adam) or ScratchTrainer."""
    if stacks(config):
        return StackedTrainer(config, device)
    trainer_class = ScratchTrainer if config.implementation == "scratch" else ConciseTrainer
    return trainer_class(config, generator, device)


def arg_max_classes(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The model's predicted class for each image, in ``EVAL_CHUNK`` chunks."""
    return torch.cat([model(chunk).argmax(1) for chunk in images.split(EVAL_CHUNK)])


def evaluate(predict: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
             labels: torch.Tensor) -> tuple[float, torch.Tensor]:
    """Accuracy and confusion matrix of a model (given as its predicted classes) on a data set, in order."""
    predicted = predict(images)
    correct = int((predicted == labels).sum())
    return correct / len(labels), confusion_matrix(predicted.cpu(), labels.cpu())


def fit(config: TrainConfig, data: FashionMNISTData, callbacks: Sequence[Callback] = (),
        stop: StopSignal = None, yield_now: StopSignal = None, resume: Checkpoint | None = None) -> FitResult:
    """Train softmax regression as ``config`` says, sending events to ``callbacks``; never raises on a
    diverged or stopped run (its status says so). ``yield_now`` set at an epoch end (not the last) ends
    the run ``queued`` with a checkpoint; ``resume`` goes on from one."""
    started = time.perf_counter()
    device = resolve_device(config.device)
    data = data.to(device)
    init_generator = torch.Generator().manual_seed(config.seed)
    order_generator = torch.Generator().manual_seed(config.seed + ORDER_SEED_OFFSET)
    trainer = build_trainer(config, init_generator, device)
    if resume is not None:
        trainer.load_state(resume.trainer)
        order_generator.set_state(resume.order)
    split = data.validation_split() if config.validation else None
    num_train = len(split.train_rows) if split else len(data.train_labels)
    schedule = EpochSchedule(num_train, config.batch_size, config.reports_per_epoch)
    events = _Events(callbacks)
    events.call("on_fit_start", FitStart(config, schedule.steps, schedule.steps * config.epochs, str(device)))
    loop = _EpochLoop(trainer, data, schedule, order_generator, events, _as_predicate(stop), split)
    should_yield = _as_predicate(yield_now)
    epochs: list[EpochReport] = []
    for epoch in range(1 + (resume.epoch if resume else 0), config.epochs + 1):
        report = loop.run(epoch)
        if report is None:  # stopped or diverged: loop.stopped says which, and where
            break
        epochs.append(report)
        events.call("on_epoch_end", report)
        if epoch < config.epochs and should_yield():
            checkpoint = Checkpoint(epoch, trainer.state(), order_generator.get_state())
            result = yielded_result(tuple(epochs), checkpoint, time.perf_counter() - started)
            events.call("on_fit_end", result)
            return result
    result = _result_of(loop.stopped, tuple(epochs), config, time.perf_counter() - started)
    events.call("on_fit_end", result)
    return result


@dataclass(frozen=True)
class _Stopped:
    """Why and where a run ended early."""

    status: RunStatus  # cancelled or diverged
    step: int  # for diverged: the first non-finite step; for cancelled: steps completed
    epoch: float


class _EpochLoop:
    """Runs one epoch at a time over a fresh shuffle, reporting as the schedule says; when it stops a run
    early, ``run`` returns None and ``stopped`` says why and where."""

    def __init__(self, trainer, data: FashionMNISTData, schedule: EpochSchedule,
                 order_generator: torch.Generator, events: _Events, should_stop: Callable[[], bool],
                 split: ValidationSplit | None = None):
        self.trainer, self.data, self.schedule, self.split = trainer, data, schedule, split
        self.order_generator, self.events, self.should_stop = order_generator, events, should_stop
        self.report_after = set(schedule.report_after())
        self.stopped: _Stopped | None = None
        device = data.train_labels.device
        self.loss_sums = torch.zeros(schedule.steps, device=device)
        self.correct = torch.zeros(schedule.steps, dtype=torch.long, device=device)

    def run(self, epoch: int) -> EpochReport | None:
        started = time.perf_counter()
        steps, batch = self.schedule.steps, self.schedule.batch_size
        first_step_of_epoch = (epoch - 1) * steps
        order = epoch_order(self.schedule, self.order_generator, self.data.train_labels.device, self.split)
        window_start = 0
        for i in range(steps):
            if self.should_stop():
                self.stopped = _Stopped(CANCELLED, first_step_of_epoch + i, epoch - 1 + i / steps)
                return None
            rows = order[i * batch:(i + 1) * batch]
            images = self.data.train_images.index_select(0, rows)
            labels = self.data.train_labels.index_select(0, rows)
            self.loss_sums[i], self.correct[i] = self.trainer.train_step(images, labels)
            if i + 1 in self.report_after:
                self.stopped = self._report_window(epoch, window_start, i + 1)
                if self.stopped:
                    return None
                window_start = i + 1
        return self._epoch_report(epoch, time.perf_counter() - started)

    def _report_window(self, epoch: int, start: int, end: int) -> _Stopped | None:
        """Send a StepReport over steps [start, end) of this epoch, or say where the loss blew up."""
        outcome = window_outcome(self.schedule, epoch, start, end, self.loss_sums, self.correct)
        if isinstance(outcome, _Stopped):
            return outcome
        self.events.call("on_step", outcome)
        return None

    def _epoch_report(self, epoch: int, train_seconds: float) -> EpochReport:
        started = time.perf_counter()
        n = self.schedule.num_examples
        test_acc, confusion = evaluate(self.trainer.predict, self.data.test_images, self.data.test_labels)
        val_acc = self._validation_accuracy()
        weights, bias = self.trainer.weights_and_bias()
        batch_sizes = torch.tensor([self.schedule.examples_in(i, i + 1) for i in range(self.schedule.steps)])
        return EpochReport(
            epoch=epoch,
            step=epoch * self.schedule.steps,
            train_loss=float(self.loss_sums.sum()) / n,
            train_acc=int(self.correct.sum()) / n,
            test_acc=test_acc,
            seconds=train_seconds + time.perf_counter() - started,
            weights=weights,
            bias=bias,
            confusion=confusion,
            step_losses=tuple((self.loss_sums.cpu() / batch_sizes).tolist()),
            val_acc=val_acc,
        )

    def _validation_accuracy(self) -> float | None:
        if self.split is None:
            return None
        return evaluate(self.trainer.predict, self.split.images, self.split.labels)[0]


def epoch_order(schedule: EpochSchedule, generator: torch.Generator, device: torch.device,
                split: ValidationSplit | None) -> torch.Tensor:
    """An epoch's fresh shuffle of the training rows (a validation split's rows stay out)."""
    order = torch.randperm(schedule.num_examples, generator=generator).to(device)
    return split.train_rows.index_select(0, order) if split is not None else order


def window_outcome(schedule: EpochSchedule, epoch: int, start: int, end: int, loss_sums: torch.Tensor,
                   correct: torch.Tensor) -> StepReport | _Stopped:
    """Steps [start, end) of an epoch (one run's per-step loss sums and correct counts): their StepReport,
    or where the loss first went non-finite."""
    steps = schedule.steps
    window_losses = loss_sums[start:end]
    finite = torch.isfinite(window_losses)
    if not bool(finite.all()):
        bad = start + int((~finite).nonzero()[0])
        return _Stopped(DIVERGED, (epoch - 1) * steps + bad + 1, epoch - 1 + (bad + 1) / steps)
    examples = schedule.examples_in(start, end)
    return StepReport(step=(epoch - 1) * steps + end, epoch=epoch - 1 + end / steps,
                      train_loss=float(window_losses.sum()) / examples,
                      train_acc=int(correct[start:end].sum()) / examples)


def _as_predicate(stop: StopSignal) -> Callable[[], bool]:
    if stop is None:
        return lambda: False
    if isinstance(stop, threading.Event):
        return stop.is_set
    return stop


def _result_of(stopped: _Stopped | None, epochs: tuple[EpochReport, ...], config: TrainConfig,
               seconds: float) -> FitResult:
    if stopped is not None and stopped.status == DIVERGED:
        message = (f"diverged: the loss became non-finite at step {stopped.step} "
                   f"(epoch {stopped.epoch:.2f}); try a smaller lr or init_std")
        return FitResult(DIVERGED, epochs, None, message, seconds, stopped.step, stopped.epoch)
    if stopped is not None:
        return FitResult(CANCELLED, epochs, None,
                         f"cancelled after step {stopped.step} (epoch {stopped.epoch:.2f})", seconds)
    final = epochs[-1]
    verdict = judge_book_checks(final.train_loss, final.train_acc, final.test_acc)
    return FitResult(FINISHED, epochs, verdict, finished_message(config.epochs, verdict), seconds)


def finished_message(epochs: int, verdict: Verdict) -> str:
    """How a finished run is summed up, e.g. "finished 10 epochs; the book's checks: all pass"."""
    return f"finished {epochs} epochs; the book's checks: {verdict.summary()}"
