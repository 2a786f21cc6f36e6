"""fit_many(): runs that differ only in their learning rate, weight decay and momentum, trained as one
stacked model, each with exactly the numbers it has alone.

Cells that share a batch size and a seed share everything else: the same initial weights, the same
batch order, the same gathered batch. They train through fit()'s loop (``train.fit_cells``) as one
``stacked.StackedSoftmaxSGD``: one shuffle and one gather per step for all of them, one batched product
for all their logits and one for all their gradients, and each cell's own softmax, loss and SGD step.
Exactly, not nearly: at the learning rates a sweep tries, the dynamics amplify a last-bit difference
to 0.03 in the weights within one epoch, so the stack gives each cell the bits of its separate ``fit``
whatever it is packed with. A cell whose loss goes non-finite, or whose stop is set, ends at once
while the others go on; a pack gives its worker back as a unit (``yield_now``), each cell with its own
checkpoint, and the cells resume together, or each alone, to the numbers they would have reached.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from softmax_core.book.data import FashionMNISTData
from softmax_core.book.stacked import stacks
from softmax_core.book.train import Callback, Checkpoint, FitResult, StopSignal, fit_cells
from softmax_core.config import TrainConfig
from softmax_core.errors import LabError

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


def fit_many(configs: Sequence[TrainConfig], data: FashionMNISTData,
             callbacks: Sequence[Sequence[Callback]] | None = None, stops: Sequence[StopSignal] | None = None,
             yield_now: StopSignal = None, resumes: Sequence[Checkpoint | None] | None = None) -> list[FitResult]:
    """Train the configs as one pack (PackError unless they differ only in lr, weight decay and momentum);
    cell ``i`` reports to ``callbacks[i]`` and stops on ``stops[i]``. Each cell's FitResult, in order.
    ``yield_now`` set at an epoch end yields the whole pack (each cell ``queued`` with its checkpoint);
    ``resumes`` (one per cell, all from the same epoch) go on from checkpoints."""
    check_packable(configs)
    return fit_cells(configs, data, callbacks or [()] * len(configs), stops or [None] * len(configs), yield_now,
                     _checked_resumes(resumes))


def _checked_resumes(resumes: Sequence[Checkpoint | None] | None) -> Sequence[Checkpoint] | None:
    """A pack's checkpoints (None: a fresh start); PackError unless all or none of the cells resume, from
    one epoch and one shuffling state."""
    if not resumes or all(resume is None for resume in resumes):
        return None
    if any(resume is None for resume in resumes):
        raise PackError("in a pack either every cell resumes from a checkpoint or none does")
    first = resumes[0]
    if any(r.epoch != first.epoch or not torch.equal(r.order, first.order) for r in resumes):
        raise PackError("cells resume together only from the same epoch and shuffling state")
    return resumes

