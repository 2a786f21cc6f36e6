"""Softmax Lab from Jupyter: the book's ``train_ch3``, recording to the run store as it trains.

``train_ch3(net, train_iter, test_iter, loss, num_epochs, updater)`` has the signature and the loop of
d2l's (``train_epoch_ch3`` and ``evaluate_accuracy`` of section 3.6, used by 3.7 and 4.2): any
``nn.Module``, any iterables of ``(X, y)`` batches (torch DataLoaders, or d2l's), a loss that keeps one
value per example (``reduction='none'``, as the book's) or averages them, and either a
``torch.optim.Optimizer`` or the book's from-scratch ``updater(batch_size)``. It trains exactly as the
book's does; instead of the book's ``Animator`` it writes the run to the store (its points while an
epoch goes, each epoch's train loss, train accuracy and test accuracy at its end), so that the
dashboard (``softmax-lab serve``) draws it live beside every other run; instead of the book's three
asserts it records, and prints, the book's verdict. d2l itself is never imported.

For one's own loop, ``record_run`` does the recording alone::

    with record_run(name="my mlp", lr=0.1, batch_size=256) as run:
        for epoch in range(10):
            ...
            run.log_epoch(train_loss=..., train_acc=..., test_acc=...)

Where it records: ``store`` (a RunStore or a database URL), else ``$SOFTMAX_LAB_DB``, else the default
database the dashboard reads. A background thread keeps the run's heartbeat, so that a dashboard sees
it alive through a long evaluation, and sees it ``interrupted`` if the kernel dies; an exception (the
kernel's interrupt included) ends the run ``failed`` or ``cancelled`` and is raised on.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any, Optional, Union

import torch
from torch import nn

from softmax_core.book.train import EpochReport, FitResult, FitStart, StepReport
from softmax_core.book.verdict import Verdict, judge_book_checks
from softmax_core.config import ConfigError, TrainConfig
from softmax_core.dataset_sizes import NUM_CLASSES, NUM_FEATURES
from softmax_core.i18n import N_, Said, _, use_language
from softmax_core.i18n.choose import language_from_environment
from softmax_core.runs.run_driver import HEARTBEAT_SECONDS
from softmax_core.runs.store import RunStatus, RunStore, open_default_store
from softmax_core.status import STOPPED_IN_NOTEBOOK, raised

POINT_SECONDS = 0.5  # at most two live points a second, as the engine's own runs
NOTEBOOK_TAG = "notebook"


@dataclass
class RunLog:
    """One run being recorded: what a loop tells it becomes the store's points, epochs and ending."""

    store: RunStore
    run_id: int
    steps_per_epoch: int = 0  # 0: unknown (then each epoch's first one tells)
    started: float = field(default_factory=time.perf_counter)
    steps: int = 0  # batches logged (or epochs, for a loop that logs only epochs)
    epochs: list[EpochReport] = field(default_factory=list)
    _window: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # loss sum, correct, examples
    _step_losses: list[float] = field(default_factory=list)
    _epoch_started: float = field(default_factory=time.perf_counter)
    _last_point: float = float("-inf")
    _steps_at_epoch_start: int = 0
    _point_step: int = 0  # the step of the newest live point written

    def log_batch(self, loss_sum: float, correct: float, count: int) -> None:
        """One trained mini-batch: its summed loss, how many it got right, how many examples it had."""
        self.steps += 1
        for index, value in enumerate((loss_sum, correct, count)):
            self._window[index] += value
        self._step_losses.append(loss_sum / max(count, 1))
        if time.monotonic() - self._last_point >= POINT_SECONDS:
            self.store.record_progress(self.run_id, self._take_point())

    def log_epoch(self, train_loss: float, train_acc: float, test_acc: float,
                  weights: Optional[torch.Tensor] = None, bias: Optional[torch.Tensor] = None,
                  confusion: Optional[torch.Tensor] = None) -> EpochReport:
        """An epoch's end: the book's three numbers (and, for the book's linear model, its weights)."""
        if self.steps == self._steps_at_epoch_start:  # a loop that logs epochs only: one point per epoch
            self.steps += 1
        report = EpochReport(
            epoch=len(self.epochs) + 1, step=self.steps, train_loss=float(train_loss), train_acc=float(train_acc),
            test_acc=float(test_acc), seconds=time.perf_counter() - self._epoch_started,
            weights=weights, bias=bias, confusion=confusion, step_losses=tuple(self._step_losses))
        # the epoch's point, unless a live point was just written at this very step (its last batch's)
        points = [] if self._point_step == self.steps else [
            StepReport(self.steps, float(report.epoch), report.train_loss, report.train_acc)]
        self._window, self._step_losses = [0.0, 0.0, 0.0], []
        self.store.record_progress(self.run_id, points, report)
        self.epochs.append(report)
        self._steps_at_epoch_start, self._epoch_started = self.steps, time.perf_counter()
        return report

    def verdict(self) -> Optional[Verdict]:
        """The book's three checks on the last epoch (None before the first)."""
        last = self.epochs[-1] if self.epochs else None
        return None if last is None else judge_book_checks(last.train_loss, last.train_acc, last.test_acc)

    def finish(self) -> FitResult:
        """End the run as finished, with the book's verdict; returns what was recorded."""
        result = FitResult(RunStatus.FINISHED, tuple(self.epochs), self.verdict(), "",
                           time.perf_counter() - self.started)
        self.store.record_progress(self.run_id, result=result)
        return result

    def _take_point(self) -> list[StepReport]:
        loss_sum, correct, count = self._window
        self._window, self._last_point = [0.0, 0.0, 0.0], time.monotonic()
        if not count:
            return []
        in_epoch = (self.steps - self._steps_at_epoch_start) / max(self._steps_per_epoch(), 1)
        self._point_step = self.steps
        return [StepReport(self.steps, len(self.epochs) + min(in_epoch, 1.0), loss_sum / count, correct / count)]

    def _steps_per_epoch(self) -> int:
        if not self.steps_per_epoch and self.epochs:
            self.steps_per_epoch = self.epochs[0].step  # the first epoch's length
        return self.steps_per_epoch or self.steps - self._steps_at_epoch_start


@contextlib.contextmanager
def record_run(name: str = "notebook run", store: Union[RunStore, str, None] = None, steps_per_epoch: int = 0,
               epochs: int = 0, tags: Optional[dict] = None, **settings: Any) -> Iterator[RunLog]:
    """Record one's own training loop as a run: ``settings`` are TrainConfig's fields where they apply
    (lr, batch_size, momentum, weight_decay, optimizer; others go to the run's tags), ``epochs`` and
    ``steps_per_epoch`` (if known) let the dashboard show its progress."""
    store = _open_store(store)
    config, extra = _config_from(dict(settings, epochs=epochs or TrainConfig.epochs))
    run_id = store.start_run_here(config, name, {"source": NOTEBOOK_TAG, **extra, **(tags or {})},
                                  socket.gethostname(), os.getpid())
    log = RunLog(store, run_id, steps_per_epoch)
    if steps_per_epoch and epochs:
        store.record_progress(run_id, schedule=FitStart(config, steps_per_epoch, steps_per_epoch * epochs, "notebook"))
    with _heartbeat(store, run_id):
        try:
            yield log
        except KeyboardInterrupt:  # Jupyter's "interrupt the kernel": the person stopped it
            _end_with_points(log, RunStatus.CANCELLED, Said(STOPPED_IN_NOTEBOOK))
            raise
        except BaseException as error:  # noqa: BLE001 - any error ends the run as failed, and is raised on
            _end_with_points(log, RunStatus.FAILED, raised(error))
            raise
        log.finish()


def train_ch3(net: nn.Module, train_iter: Iterable, test_iter: Iterable, loss: Callable, num_epochs: int,
              updater: Union[torch.optim.Optimizer, Callable[[int], Any]], *, name: Optional[str] = None,
              store: Union[RunStore, str, None] = None) -> None:
    """Train a model as the book's ``d2l.train_ch3`` does, recording the run in the store as it goes
    (the book's asserts become the run's verdict, printed at the end)."""
    batch_size = getattr(train_iter, "batch_size", None) or 0
    steps = _length(train_iter)
    settings = {"batch_size": batch_size, **_updater_settings(updater)}
    run_name = name or f"train_ch3 {type(net).__name__} lr={settings.get('lr', '?')} batch={batch_size or '?'}"
    with record_run(run_name, store, steps_per_epoch=steps, epochs=num_epochs,
                    tags={"model": _describe_model(net)}, **settings) as run:
        _say(N_("recording as run {run_id} in {url} (softmax-lab serve: Compare)"), run_id=run.run_id,
             url=run.store.url)
        for _epoch in range(num_epochs):
            train_loss, train_acc = train_epoch(net, train_iter, loss, updater, run)
            test_acc, confusion = evaluate(net, test_iter)
            run.log_epoch(train_loss, train_acc, test_acc, *_book_linear_parameters(net), confusion=confusion)
    _say(N_("run {run_id}: {verdict}"), run_id=run.run_id, verdict=run.verdict().describe)


def _say(message: str, **values: Any) -> None:
    """Print a line in the notebook's language: its kernel's LANG, as the CLI follows it (a value that is a
    function is called in that language)."""
    with use_language(language_from_environment(os.environ)):
        print(_(message).format(**{name: value() if callable(value) else value for name, value in values.items()}))


def train_epoch(net: nn.Module, train_iter: Iterable, loss: Callable, updater, run: RunLog) -> tuple[float, float]:
    """One epoch of the book's ``train_epoch_ch3``: returns (mean train loss, train accuracy)."""
    if isinstance(net, nn.Module):
        net.train()
    total_loss, total_correct, total_count = 0.0, 0.0, 0
    for X, y in train_iter:
        y_hat = net(X)
        batch_loss = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            batch_loss.mean().backward()
            updater.step()
        else:  # the from-scratch updater of section 3.6 takes the batch size
            batch_loss.sum().backward()
            updater(X.shape[0])
        # a loss that already averaged (reduction='mean') stands for the batch's mean: counted per example
        loss_sum = float(batch_loss.detach().sum()) * (1 if batch_loss.dim() else y.numel())
        correct = count_correct(y_hat, y)
        total_loss, total_correct, total_count = total_loss + loss_sum, total_correct + correct, total_count + y.numel()
        run.log_batch(loss_sum, correct, y.numel())
    return total_loss / total_count, total_correct / total_count


def evaluate(net: nn.Module, data_iter: Iterable) -> tuple[float, Optional[torch.Tensor]]:
    """The book's ``evaluate_accuracy``, with the confusion matrix of the same predictions when the
    labels are Fashion-MNIST's ten classes (None otherwise)."""
    if isinstance(net, nn.Module):
        net.eval()
    correct, count = 0.0, 0
    confusion = torch.zeros(NUM_CLASSES, NUM_CLASSES, dtype=torch.long)
    with torch.no_grad():
        for X, y in data_iter:
            y_hat = net(X)
            correct, count = correct + count_correct(y_hat, y), count + y.numel()
            predicted = y_hat.argmax(dim=1) if y_hat.dim() > 1 else y_hat
            pairs = y.long().cpu() * NUM_CLASSES + predicted.long().cpu()
            if confusion is not None and bool(((pairs >= 0) & (pairs < NUM_CLASSES ** 2)).all()):
                confusion += torch.bincount(pairs, minlength=NUM_CLASSES ** 2).reshape(NUM_CLASSES, NUM_CLASSES)
            else:
                confusion = None
    return correct / count, confusion


def count_correct(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """The book's ``accuracy``: how many predictions (argmax of each row) equal the labels."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def _book_linear_parameters(net: nn.Module) -> tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
    """The weights and bias of the book's model (one Linear(784, 10)), which the Inspect page draws;
    (None, None) for any other model."""
    linears = [module for module in net.modules() if isinstance(module, nn.Linear)]
    if len(linears) == 1 and (linears[0].in_features, linears[0].out_features) == (NUM_FEATURES, NUM_CLASSES):
        return linears[0].weight.detach().cpu().clone(), linears[0].bias.detach().cpu().clone()
    return None, None


def _updater_settings(updater) -> dict:
    """lr, momentum, weight decay and the optimizer's name, as far as the updater tells them."""
    if not isinstance(updater, torch.optim.Optimizer):
        return {"updater": getattr(updater, "__name__", type(updater).__name__)}
    group = updater.param_groups[0]
    settings = {key: group[key] for key in ("lr", "momentum", "weight_decay") if key in group}
    return {**settings, "optimizer": type(updater).__name__.lower()}


def _config_from(settings: dict) -> tuple[TrainConfig, dict]:
    """A TrainConfig of the settings it can hold (each checked as the page checks it); the rest, and any
    value it refuses, are returned as tags, so that nothing said about the run is lost."""
    known = {item.name for item in fields(TrainConfig)}
    accepted, extra = {}, {}
    for key, value in settings.items():
        value = value.item() if isinstance(value, torch.Tensor) else value  # an optimizer may hold lr as a tensor
        if key not in known or value is None or (key == "batch_size" and not value):
            extra[key] = str(value)
            continue
        try:
            TrainConfig(**{**accepted, key: value})
            accepted[key] = value
        except (ConfigError, TypeError, ValueError):
            extra[key] = str(value)
    return TrainConfig(**accepted), {key: value for key, value in extra.items() if value != "None"}


def _describe_model(net: nn.Module) -> str:
    return " ".join(repr(net).split())[:200]


def _length(iterable: Iterable) -> int:
    try:
        return len(iterable)
    except TypeError:  # an iterator without a length: the first epoch tells
        return 0


def _open_store(store: Union[RunStore, str, None]) -> RunStore:
    if isinstance(store, RunStore):
        return store
    return RunStore(store) if store else open_default_store()


def _end_with_points(log: RunLog, status: RunStatus, message: Said) -> None:
    with contextlib.suppress(Exception):  # the store may be what failed; the error itself is raised on
        log.store.record_progress(log.run_id, log._take_point())
    log.store.end_run(log.run_id, status, message)


@contextlib.contextmanager
def _heartbeat(store: RunStore, run_id: int) -> Iterator[None]:
    """Keep the run's heartbeat from a daemon thread while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(Exception):  # a busy database skips a beat; eight in a row are needed
                store.beat([run_id])

    thread = threading.Thread(target=beat, name=f"softmax-lab-heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
