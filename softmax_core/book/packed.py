"""fit_many(): runs that differ only in their learning rate, weight decay and momentum, trained as one
stacked model, each with exactly the numbers it has alone.

Cells that share a batch size and a seed share everything else: the same initial weights, the same
batch order, the same gathered batch. They train as one ``stacked.StackedSoftmaxSGD``: one shuffle and
one gather per step for all of them, one batched product for all their logits and one for all their
gradients, and each cell's own softmax, loss and SGD step (its lr, weight decay and momentum).

Exactly, not nearly: the dynamics at the learning rates a sweep tries (0.3 and up) amplify a last-bit
difference into a visible one within one epoch (benchmarks/RESULTS.md, "Exactness readings"). So a
lone run is itself a stack of one, and the stack uses its batched products only where they were seen
to sum every cell's outputs as its lone products do (else one product per cell): a cell's numbers are the
same bits as its separate ``fit``, whatever it is packed with. Each cell reports to its own callbacks; a
cell whose loss goes non-finite ends ``diverged`` at its own step and one whose stop is set ends
``cancelled``, at once, while the others go on (and the stack stops training the ended cell).

A pack gives its worker back as a unit: at an epoch end with ``yield_now`` set, every cell still going
ends ``queued`` with its own checkpoint (the same epoch and shuffling state for all), and the cells
resume together, or each alone, to the numbers they would have reached.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from softmax_core.book.data import FashionMNISTData
from softmax_core.book.metrics import confusion_matrix
from softmax_core.book.schedule import EpochSchedule
from softmax_core.book.stacked import StackedSoftmaxSGD, stacks
from softmax_core.book.train import (
    ORDER_SEED_OFFSET,
    Callback,
    Checkpoint,
    EpochReport,
    FitResult,
    FitStart,
    StopSignal,
    _as_predicate,
    _result_of,
    _Stopped,
    epoch_order,
    resolve_device,
    send_event,
    window_outcome,
    yielded_result,
)
from softmax_core.config import TrainConfig
from softmax_core.errors import LabError
from softmax_core.status import RunStatus

PACKABLE_FIELDS = ("lr", "weight_decay", "momentum")


class PackError(LabError, ValueError):
    """These configs can't train as one pack; the message says which fields differ, or what can't pack."""


def pack_key(config: TrainConfig) -> TrainConfig | None:
    """What a config shares with every config it can pack with (its packable fields set aside); None if
    it can't pack at all (Adam and the scratch implementation train another way)."""
    if not stacks(config):
        return None
    return config.replace(lr=0.1, weight_decay=0.0, momentum=0.0)


def check_packable(configs: Sequence[TrainConfig]) -> None:
    """PackError unless every config can pack and they differ only in lr, weight decay and momentum."""
    if not configs:
        raise PackError("a pack needs at least one config")
    for config in configs:
        if pack_key(config) is None:
            raise PackError(f"only the concise implementation with sgd packs, not {config.implementation} "
                            f"with {config.optimizer}")
    first = configs[0].to_dict()
    for config in configs[1:]:
        differing = [name for name, value in config.to_dict().items()
                     if value != first[name] and name not in PACKABLE_FIELDS]
        if differing:
            raise PackError(f"configs in a pack may differ only in {', '.join(PACKABLE_FIELDS)}; "
                            f"these differ in {', '.join(differing)}")


@dataclass
class _Cell:
    """One run of the pack: its config, callbacks and stop check, its epochs so far, and how it ended."""

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


def fit_many(configs: Sequence[TrainConfig], data: FashionMNISTData,
             callbacks: Sequence[Sequence[Callback]] | None = None,
             stops: Sequence[StopSignal] | None = None, per_cell_products: bool = False,
             yield_now: StopSignal = None, resumes: Sequence[Checkpoint | None] | None = None) -> list[FitResult]:
    """Train the configs as one pack (PackError unless they differ only in lr, weight decay and momentum);
    cell ``i`` reports to ``callbacks[i]`` and stops on ``stops[i]``. Each cell's FitResult, in order.
    ``per_cell_products`` keeps one matrix product per cell even where the stacked ones are exact.
    ``yield_now`` set at an epoch end yields the whole pack (each cell ``queued`` with its checkpoint);
    ``resumes`` (one per cell, all from the same epoch) go on from checkpoints."""
    check_packable(configs)
    first_epoch = 1 + _resumed_epoch(resumes)
    started = time.perf_counter()
    first = configs[0]
    device = resolve_device(first.device)
    data = data.to(device)
    callbacks = callbacks or [()] * len(configs)
    stops = stops or [None] * len(configs)
    cells = [_Cell(i, config, callbacks[i], _as_predicate(stops[i])) for i, config in enumerate(configs)]
    split = data.validation_split() if first.validation else None
    num_train = len(split.train_rows) if split else len(data.train_labels)
    schedule = EpochSchedule(num_train, first.batch_size, first.reports_per_epoch)
    for cell in cells:
        send_event(cell.callbacks, "on_fit_start",
                   FitStart(cell.config, schedule.steps, schedule.steps * first.epochs, str(device)))
    eval_sizes = [len(data.test_labels)] + ([len(split.labels)] if split is not None else [])
    model = StackedSoftmaxSGD(configs, device, schedule.batch_sizes(), eval_sizes, per_cell_products)
    order_generator = torch.Generator().manual_seed(first.seed + ORDER_SEED_OFFSET)
    if first_epoch > 1:
        for cell, resume in enumerate(resumes):
            model.load_cell_state(cell, resume.trainer)
        order_generator.set_state(resumes[0].order)
    loop = _PackedLoop(model, data, schedule, split, cells, order_generator, started)
    should_yield = _as_predicate(yield_now)
    for epoch in range(first_epoch, first.epochs + 1):
        if not any(cell.going for cell in cells):
            break
        loop.run(epoch)
        if epoch < first.epochs and any(cell.going for cell in cells) and should_yield():
            loop.yield_cells(epoch)
            break
    for cell in cells:
        if cell.result is None:
            loop.finish(cell, pack_goes_on=False)
    return [cell.result for cell in cells]


def _resumed_epoch(resumes: Sequence[Checkpoint | None] | None) -> int:
    """The epochs a pack's checkpoints have done (0: a fresh start); PackError unless all or none of the
    cells resume, from one epoch and one shuffling state."""
    if not resumes or all(resume is None for resume in resumes):
        return 0
    if any(resume is None for resume in resumes):
        raise PackError("in a pack either every cell resumes from a checkpoint or none does")
    first = resumes[0]
    if any(r.epoch != first.epoch or not torch.equal(r.order, first.order) for r in resumes):
        raise PackError("cells resume together only from the same epoch and shuffling state")
    return first.epoch


class _PackedLoop:
    """fit()'s epoch loop for a pack: one shuffle and one gathered batch per step for every cell."""

    def __init__(self, model: StackedSoftmaxSGD, data: FashionMNISTData, schedule: EpochSchedule, split,
                 cells: list[_Cell], order_generator: torch.Generator, started: float):
        self.model, self.data, self.schedule, self.split, self.cells = model, data, schedule, split, cells
        self.order_generator, self.started = order_generator, started
        self.report_after = set(schedule.report_after())
        device = data.train_labels.device
        self.loss_sums = torch.zeros(len(cells), schedule.steps, device=device)  # a cell's row is contiguous
        self.correct = torch.zeros(len(cells), schedule.steps, dtype=torch.long, device=device)
        self.rows = self._trained_rows()

    def run(self, epoch: int) -> None:
        started = time.perf_counter()
        steps, batch = self.schedule.steps, self.schedule.batch_size
        order = epoch_order(self.schedule, self.order_generator, self.data.train_labels.device, self.split)
        window_start = 0
        for i in range(steps):
            self._stop_cancelled(epoch, i)
            if not any(cell.going for cell in self.cells):
                return
            rows = order[i * batch:(i + 1) * batch]
            images = self.data.train_images.index_select(0, rows)
            labels = self.data.train_labels.index_select(0, rows)
            self.loss_sums[self.rows, i], self.correct[self.rows, i] = self.model.train_step(images, labels)
            if i + 1 in self.report_after:
                for cell in self.cells:
                    if cell.going:
                        cell.stopped = self._report_window(cell, epoch, window_start, i + 1)
                        if cell.stopped:  # diverged: it ends now, the others go on
                            self.finish(cell)
                window_start = i + 1
        self._epoch_reports(epoch, time.perf_counter() - started)

    def _trained_rows(self) -> torch.Tensor | slice:
        """The loss and count rows of the cells the model still trains, in the model's order."""
        cells = self.model.cells
        if cells == list(range(len(cells))):
            return slice(0, len(cells))
        return torch.tensor(cells, device=self.loss_sums.device)

    def finish(self, cell: _Cell, pack_goes_on: bool = True) -> None:
        """The cell's end, told at once (a cancelled or diverged cell doesn't wait for the pack, nor does
        the pack train it any further)."""
        cell.result = _result_of(cell.stopped, tuple(cell.epochs), cell.config, time.perf_counter() - self.started)
        if pack_goes_on and any(other.going for other in self.cells):
            self.model.drop([cell.index])
            self.rows = self._trained_rows()
        send_event(cell.callbacks, "on_fit_end", cell.result)

    def yield_cells(self, epoch: int) -> None:
        """Every cell still going gives the worker back after this epoch, each with its checkpoint."""
        order = self.order_generator.get_state()
        for cell in self.cells:
            if cell.going:
                checkpoint = Checkpoint(epoch, self.model.cell_state(cell.index), order)
                cell.result = yielded_result(tuple(cell.epochs), checkpoint, time.perf_counter() - self.started)
                cell.stopped = _Stopped(RunStatus.QUEUED, epoch * self.schedule.steps, float(epoch))
                send_event(cell.callbacks, "on_fit_end", cell.result)

    def _stop_cancelled(self, epoch: int, i: int) -> None:
        steps = self.schedule.steps
        for cell in self.cells:
            if cell.going and cell.should_stop():
                cell.stopped = _Stopped(RunStatus.CANCELLED, (epoch - 1) * steps + i, epoch - 1 + i / steps)
                self.finish(cell)

    def _report_window(self, cell: _Cell, epoch: int, start: int, end: int) -> _Stopped | None:
        """Send the cell a StepReport over steps [start, end) of this epoch, or say where its loss blew up."""
        outcome = window_outcome(self.schedule, epoch, start, end, self.loss_sums[cell.index],
                                 self.correct[cell.index])
        if isinstance(outcome, _Stopped):
            return outcome
        send_event(cell.callbacks, "on_step", outcome)
        return None

    def _epoch_reports(self, epoch: int, train_seconds: float) -> None:
        started = time.perf_counter()
        test_predicted = self._by_cell(self.model.predictions(self.data.test_images))
        val_predicted = self._by_cell(self.model.predictions(self.split.images)) if self.split is not None else None
        batch_sizes = torch.tensor([self.schedule.examples_in(i, i + 1) for i in range(self.schedule.steps)])
        seconds = train_seconds + time.perf_counter() - started
        for cell in [cell for cell in self.cells if cell.going]:
            report = self._epoch_report(cell, epoch, test_predicted[cell.index], seconds, batch_sizes,
                                        None if val_predicted is None else val_predicted[cell.index])
            cell.epochs.append(report)
            send_event(cell.callbacks, "on_epoch_end", report)

    def _by_cell(self, predicted: torch.Tensor) -> dict[int, torch.Tensor]:
        return dict(zip(self.model.cells, predicted, strict=True))

    def _epoch_report(self, cell: _Cell, epoch: int, predicted: torch.Tensor, seconds: float,
                      batch_sizes: torch.Tensor, val_predicted: torch.Tensor | None) -> EpochReport:
        n, labels = self.schedule.num_examples, self.data.test_labels
        weights, bias = self.model.cell_weights(cell.index)
        return EpochReport(
            epoch=epoch, step=epoch * self.schedule.steps,
            train_loss=float(self.loss_sums[cell.index].sum()) / n,
            train_acc=int(self.correct[cell.index].sum()) / n,
            test_acc=int((predicted == labels).sum()) / len(labels), seconds=seconds, weights=weights, bias=bias,
            confusion=confusion_matrix(predicted.cpu(), labels.cpu()),
            step_losses=tuple((self.loss_sums[cell.index].cpu() / batch_sizes).tolist()),
            val_acc=None if val_predicted is None else
            int((val_predicted == self.split.labels).sum()) / len(self.split.labels))
