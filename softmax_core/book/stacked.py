"""Section 3.7's softmax regression trained by SGD, as a stack of K models ("cells") that share each
batch: the training step of every ``concise`` SGD run, alone (K = 1) or packed (``packed.fit_many``).

A block of k cells keeps its weights as one ``(k, 10, 784)`` tensor: one batched product ``W X^T`` gives
every cell's logits ``(k, 10, n)`` and one ``G X`` every cell's gradient, against the one gathered batch;
everything else (softmax, loss, counts, update) works along each cell's own row. Batched products
because each cell's product is then its own ``10 x 784`` problem, the shape a lone run computes, so a
cell gets the bits of its lone run whatever it is stacked with (one wide ``(10k) x 784`` product sums
in another order from width to width). The stack keeps that promise itself: the first time a layout
meets a shape, it checks on made-up images and on copies that the stacked step or logits give every
cell its lone bits, and goes on with one product per cell where they do not.

Plain SGD (the book's setting) is fused into the gradient's product: ``softmax - onehot`` scaled by
each cell's ``-lr / n``, then ``W += G X`` in one ``baddbmm_``. Cells with momentum or weight decay get
the mean gradient and ``torch.optim.SGD``'s update, cell by cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from softmax_core.book.model import build_concise_model
from softmax_core.config import TrainConfig
from softmax_core.dataset_sizes import NUM_CLASSES, NUM_FEATURES

EVAL_CHUNK = 8192
_MOMENTUM_NAMES = ("weight_momentum", "bias_momentum")  # a cell's buffers (cell, 0) and (cell, 1)
_STACKING_EXACT: dict[tuple, bool] = {}  # what the check found, per stack layout, shape, device and threads


def stacks(config: TrainConfig) -> bool:
    """Whether a run trains as a stack (alone or packed): the concise model with SGD. Adam and the scratch
    implementation train another way (``train.ConciseTrainer``, ``train.ScratchTrainer``)."""
    return config.optimizer == "sgd" and config.implementation == "concise"


def predicted_classes(logits: torch.Tensor) -> torch.Tensor:
    """``logits.argmax(1)`` for ``(k, 10, n)`` logits (the first maximum wins; a NaN counts as the
    maximum): ``max``'s indices, which walk a middle axis vectorized, where argmax's do not (about 14x
    faster at 16 cells x 256 images)."""
    return logits.max(1).indices


def summed_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Each cell's cross-entropy summed over the images, (k,), for ``(k, 10, n)`` logits: the stable
    log-softmax (section 3.7.2's LogSumExp), never the naive one."""
    k, _, n = logits.shape
    picked = F.log_softmax(logits, dim=1).gather(1, labels.view(1, 1, n).expand(k, 1, n))
    return picked.sum((1, 2)).neg_()


def broadcast_to_cells(matrix: torch.Tensor, k: int) -> torch.Tensor:
    """The one matrix every cell of a block multiplies by, as a batch of k (a view: nothing is copied)."""
    return matrix.unsqueeze(0).expand(k, *matrix.shape)


@dataclass
class _Block:
    """Cells with the same kind of update, stacked: ``plain`` SGD fused into the product, or SGD with
    momentum or weight decay (``torch.optim.SGD``'s update, each cell's own)."""

    cells: list[int]  # the pack's cell numbers, in stack order
    configs: list[TrainConfig]
    weight: torch.Tensor  # (k, 10, 784)
    bias: torch.Tensor  # (k, 10)
    plain: bool
    buffers: dict[tuple[int, int], torch.Tensor] = field(default_factory=dict)  # (cell, 0 weight | 1 bias)
    constants: dict[tuple[str, int], torch.Tensor] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.cells)

    def rows(self, keep: Sequence[int]) -> _Block:
        """A block of only these rows (positions in this block), its tensors copied."""
        index = torch.tensor(list(keep), dtype=torch.long, device=self.weight.device)
        return _Block([self.cells[i] for i in keep], [self.configs[i] for i in keep],
                      self.weight.index_select(0, index), self.bias.index_select(0, index), self.plain,
                      {key: value.clone() for key, value in self.buffers.items()
                       if key[0] in {self.cells[i] for i in keep}})

    def copy(self) -> _Block:
        return self.rows(range(self.size))

    def _constant(self, name: str, n: int, values) -> torch.Tensor:
        """A small tensor this block uses at every step of batch size n, made once."""
        key = (name, n)
        if key not in self.constants:
            self.constants[key] = torch.tensor(values(), device=self.weight.device)
        return self.constants[key]

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """(k, 10, n): every cell's ``W_c x + b_c`` for each image."""
        return torch.bmm(self.weight, broadcast_to_cells(images.t(), self.size)).add_(self.bias.unsqueeze(2))

    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One SGD step of every cell on this batch; each cell's (sum of losses, number correct), before it."""
        k, n = self.size, len(labels)
        logits = self.logits(images)
        picked = labels.view(1, 1, n).expand(k, 1, n)
        loss_sums = F.log_softmax(logits, dim=1).gather(1, picked).sum((1, 2)).neg_()  # nn.CrossEntropyLoss's
        correct = (predicted_classes(logits) == labels.view(1, n)).sum(1)
        grad = F.softmax(logits, dim=1)  # minus the one-hot labels: d CE / d logits
        grad.scatter_add_(1, picked, self._constant("minus_ones", n, lambda: [[[-1.0] * n]] * k))
        if self.plain:
            self._fused_sgd(grad, images)
        else:
            self._optim_sgd(grad.div_(n), images)
        return loss_sums, correct

    def _fused_sgd(self, grad: torch.Tensor, images: torch.Tensor) -> None:
        """The book's ``W -= lr * mean gradient``, fused: ``G`` scaled by each cell's ``-lr/n``, then
        ``W += G X`` in one product."""
        n = len(images)
        grad.mul_(self._constant("steps", n, lambda: [[[-config.lr / n]] for config in self.configs]))
        self.bias.add_(grad.sum(2))
        self.weight.baddbmm_(grad, broadcast_to_cells(images, self.size))

    def _optim_sgd(self, mean_grad: torch.Tensor, images: torch.Tensor) -> None:
        """The mean gradient in one product, then each cell's ``torch.optim.SGD`` step."""
        k = self.size
        weight_grads = torch.bmm(mean_grad, broadcast_to_cells(images, k))
        bias_grads = mean_grad.sum(2)
        for row in range(k):
            self._sgd(row, 0, self.weight[row], weight_grads[row])
            self._sgd(row, 1, self.bias[row], bias_grads[row])

    def _sgd(self, row: int, which: int, param: torch.Tensor, grad: torch.Tensor) -> None:
        """torch.optim.SGD's single-tensor step, for one cell's weight or bias."""
        config, cell = self.configs[row], self.cells[row]
        if config.weight_decay:
            grad = grad.add(param, alpha=config.weight_decay)
        if config.momentum:
            buffer = self.buffers.get((cell, which))
            if buffer is None:
                buffer = self.buffers[(cell, which)] = torch.clone(grad).detach()
            else:
                buffer.mul_(config.momentum).add_(grad)
            grad = buffer
        param.add_(grad, alpha=-config.lr)


class StackedSoftmaxSGD:
    """K softmax regressions that share a batch size and a seed (so their initial weights and batches),
    each with its own lr, weight decay and momentum, trained one shared batch at a time."""

    def __init__(self, configs: Sequence[TrainConfig], device: torch.device):
        first = configs[0]
        model = build_concise_model(first.init_std, torch.Generator().manual_seed(first.seed))  # as fit() draws
        weight, bias = model[1].weight.detach().to(device), model[1].bias.detach().to(device)
        plain = [c.momentum == 0 and c.weight_decay == 0 for c in configs]
        self.blocks: list[_Block] = []
        for kind in (True, False):
            cells = [i for i, is_plain in enumerate(plain) if is_plain == kind]
            if cells:
                self.blocks.append(_Block(cells, [configs[i] for i in cells],
                                          weight.expand(len(cells), NUM_CLASSES, NUM_FEATURES).clone(),
                                          bias.expand(len(cells), NUM_CLASSES).clone(), kind))
        self.device = device
        self._checked: set[tuple[str, int]] = set()  # the shapes this layout was checked at

    @property
    def cells(self) -> list[int]:
        """The cells still trained, in the order of every tensor this model returns."""
        return [cell for block in self.blocks for cell in block.cells]

    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One SGD step of every cell; each cell's (sum of losses, number correct) before it, in ``cells``
        order."""
        self._keep_exact("step", len(labels))
        outcomes = [block.train_step(images, labels) for block in self.blocks]
        if len(outcomes) == 1:
            return outcomes[0]
        return torch.cat([loss for loss, _ in outcomes]), torch.cat([correct for _, correct in outcomes])

    @torch.no_grad()
    def evaluate(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every cell's predicted class for each image (K, N) and its summed cross-entropy over them (K,),
        in ``EVAL_CHUNK`` chunks."""
        predicted, loss_sums = [], 0.0
        for chunk, chunk_labels in zip(images.split(EVAL_CHUNK), labels.split(EVAL_CHUNK), strict=True):
            self._keep_exact("logits", len(chunk))
            logits = torch.cat([block.logits(chunk) for block in self.blocks])
            predicted.append(predicted_classes(logits))
            loss_sums = loss_sums + summed_cross_entropy(logits, chunk_labels)
        return torch.cat(predicted, dim=1), loss_sums

    def cell_weights(self, cell: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The cell's ten class templates (10, 784) and its bias, detached on the CPU."""
        block, row = self._where(cell)
        return (block.weight[row].detach().to("cpu", torch.float32).clone(),
                block.bias[row].detach().to("cpu", torch.float32).clone())

    def cell_state(self, cell: int) -> dict[str, torch.Tensor]:
        """What the cell's next steps depend on (weight, bias, momentum buffers), copied on the CPU."""
        block, row = self._where(cell)
        state = {"weight": block.weight[row], "bias": block.bias[row]}
        for which, name in enumerate(_MOMENTUM_NAMES):
            if (cell, which) in block.buffers:
                state[name] = block.buffers[(cell, which)]
        return {name: tensor.detach().to("cpu", copy=True) for name, tensor in state.items()}

    @torch.no_grad()
    def load_cell_state(self, cell: int, state: dict[str, torch.Tensor]) -> None:
        """Put a cell back where ``cell_state`` found it (a run resuming from its checkpoint)."""
        block, row = self._where(cell)
        block.weight[row].copy_(state["weight"])
        block.bias[row].copy_(state["bias"])
        for which, name in enumerate(_MOMENTUM_NAMES):
            if name in state:
                block.buffers[(cell, which)] = state[name].to(block.weight.device, copy=True)

    def drop(self, cells: Sequence[int]) -> None:
        """Stop training these cells (ended, diverged or cancelled): the others' rows are kept, theirs freed."""
        gone = set(cells)
        blocks = [block.rows([row for row, cell in enumerate(block.cells) if cell not in gone])
                  if gone & set(block.cells) else block for block in self.blocks]
        self.blocks = [block for block in blocks if block.size]
        self._checked.clear()  # a new layout: its shapes are checked anew

    def _where(self, cell: int) -> tuple[_Block, int]:
        for block in self.blocks:
            if cell in block.cells:
                return block, block.cells.index(cell)
        raise KeyError(f"cell {cell} is not in this stack")

    def _keep_exact(self, kind: str, n: int) -> None:
        """The first time this layout meets n images to train on (``step``) or to predict (``logits``):
        keep the stacked products if they give every cell its lone bits there, else one block per cell."""
        if (kind, n) in self._checked:
            return
        self._checked.add((kind, n))
        if all(block.size == 1 for block in self.blocks):
            return
        key = (tuple((block.plain, block.size) for block in self.blocks), kind, n, self.device.type,
               torch.get_num_threads())
        if key not in _STACKING_EXACT:
            _STACKING_EXACT[key] = _stacking_is_exact(self.blocks, kind, n)
        if not _STACKING_EXACT[key]:
            self.blocks = [block.rows([row]) for block in self.blocks for row in range(block.size)]


def _stacking_is_exact(blocks: Sequence[_Block], kind: str, n: int) -> bool:
    """Whether each block's stacked step or logits equal, bit for bit, every cell's own at n images
    (made-up ones: what decides the library's order of summation is the shapes, not the values)."""
    images, labels = _made_up_batch(n, blocks[0].weight.device)
    for block in blocks:
        stacked = _cell_outputs(block, kind, images, labels)
        for row in range(block.size):
            alone = _cell_outputs(block.rows([row]), kind, images, labels)[0]
            if not all(torch.equal(mine, theirs) for mine, theirs in zip(stacked[row], alone, strict=True)):
                return False
    return True


def _cell_outputs(block: _Block, kind: str, images: torch.Tensor, labels: torch.Tensor) -> list[tuple]:
    """Each cell's logits, or its loss, correct count, weight and bias after a step (of a copy)."""
    if kind == "logits":
        return [(logits,) for logits in block.logits(images)]
    block = block.copy()
    losses, correct = block.train_step(images, labels)
    return list(zip(losses, correct, block.weight, block.bias, strict=True))


def _made_up_batch(size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Images with pixels in [0, 1] and labels, as irregular as real ones but cheap to make."""
    rows = torch.arange(size, device=device, dtype=torch.float32).mul_(0.7548776662).view(size, 1)
    columns = torch.arange(NUM_FEATURES, device=device, dtype=torch.float32).mul_(0.5698402910).view(1, -1)
    images = (rows + columns).frac_()
    labels = (torch.arange(size, device=device) * 7919 % 10007) % NUM_CLASSES
    return images, labels

