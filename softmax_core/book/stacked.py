"""Section 3.7's softmax regression trained by SGD, as a stack of K models ("cells") that share each
batch: the one training step of every ``concise`` SGD run, alone (K = 1) or packed (``packed.fit_many``).

The layout is class-major: a block of k cells keeps its weights as one ``(k, 10, 784)`` tensor, so one
batched product ``W X^T`` gives every cell's logits as ``(k, 10, n)`` and one batched product ``G X``
every cell's gradient, against the one gathered batch (a broadcast view, read from cache by every
cell). Everything else works along the classes or along each cell's own row: the softmax and the
log-softmax (per cell and sample, over its ten classes), the loss and the correct counts (per cell, over
its samples), the predicted class, the bias and the update. So a cell's numbers come out the same whatever
it is stacked with, provided the matrix library sums each output the same way at any width. Batched
products (``bmm``) are chosen for that: each cell's product is its own ``10 x 784`` problem, the shape a
lone run computes. One wide ``(10k) x 784`` product does the same arithmetic, but the library may sum
its outputs in another order from width to width, where ``bmm`` gave each cell its lone bits at every k
and shape tried (the readings: benchmarks/RESULTS.md, "Exactness readings"). A pack still checks, once
per shape on this device and thread count, that the stacked step gives each cell the very bits of its
step alone, and falls back to one product per cell where it does not (``products_are_per_cell``). A
lone run (K = 1) is the reference: the exact numbers a packed cell must reproduce.

Plain SGD (the book's setting) is fused into the gradient's product: each cell's ``softmax - onehot``
is scaled by its ``-lr / n`` and ``W += G X`` in one ``baddbmm_``. Cells with momentum or weight decay
get the mean gradient and ``torch.optim.SGD``'s update, cell by cell.
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
_EXACTNESS_SEEN: dict[tuple, bool] = {}  # what the check found, per shape, device and thread count


def stacks(config: TrainConfig) -> bool:
    """Whether a run trains as a stack (alone or packed): the concise model with SGD. Adam and the scratch
    implementation train another way (``train.ConciseTrainer``, ``train.ScratchTrainer``)."""
    return config.optimizer == "sgd" and config.implementation == "concise"


def predicted_classes(logits: torch.Tensor) -> torch.Tensor:
    """``logits.argmax(1)`` for ``(k, 10, n)`` logits (the first maximum wins; a NaN counts as the
    maximum): ``max``'s indices, which walk a middle axis vectorized, where argmax's do not (about 14x
    faster at 16 cells x 256 images)."""
    return logits.max(1).indices


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
    each with its own lr, weight decay and momentum, trained one shared batch at a time.

    ``batch_sizes`` and ``eval_sizes`` are the shapes the run will use (every batch size of an epoch; the
    sizes of the sets it evaluates): the stacked products are used only where they were seen to give each
    cell its lone numbers at those shapes, on this device, at this thread count. ``per_cell_products``
    asks for one product per cell whatever the check finds (to compare the two).
    """

    def __init__(self, configs: Sequence[TrainConfig], device: torch.device,
                 batch_sizes: Sequence[int] = (), eval_sizes: Sequence[int] = (), per_cell_products: bool = False):
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
        self.batch_sizes, self.eval_sizes = tuple(sorted(set(batch_sizes))), _chunk_sizes(eval_sizes)
        self.products_are_per_cell = False
        if per_cell_products:
            self._split_into_cells()
        self._settle_products()

    @property
    def cells(self) -> list[int]:
        """The cells still trained, in the order of every tensor this model returns."""
        return [cell for block in self.blocks for cell in block.cells]

    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One SGD step of every cell; each cell's (sum of losses, number correct) before it, in ``cells``
        order."""
        outcomes = [block.train_step(images, labels) for block in self.blocks]
        return torch.cat([loss for loss, _ in outcomes]), torch.cat([correct for _, correct in outcomes])

    @torch.no_grad()
    def predictions(self, images: torch.Tensor) -> torch.Tensor:
        """(K, N): every cell's predicted class for each image, in ``EVAL_CHUNK`` chunks."""
        return torch.cat([torch.cat([predicted_classes(block.logits(chunk)) for block in self.blocks])
                          for chunk in images.split(EVAL_CHUNK)], dim=1)

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
        if not self.products_are_per_cell:
            self._settle_products()

    def _where(self, cell: int) -> tuple[_Block, int]:
        for block in self.blocks:
            if cell in block.cells:
                return block, block.cells.index(cell)
        raise KeyError(f"cell {cell} is not in this stack")

    def _settle_products(self) -> None:
        """Keep the stacked products where they give every cell its lone bits; else one block per cell."""
        if all(block.size == 1 for block in self.blocks):
            return
        key = (tuple((block.plain, block.size) for block in self.blocks), self.batch_sizes, self.eval_sizes,
               self.device.type, torch.get_num_threads())
        if key not in _EXACTNESS_SEEN:
            _EXACTNESS_SEEN[key] = stacking_is_exact(self.blocks, self.batch_sizes, self.eval_sizes)
        if not _EXACTNESS_SEEN[key]:
            self._split_into_cells()

    def _split_into_cells(self) -> None:
        self.products_are_per_cell = True
        self.blocks = [block.rows([row]) for block in self.blocks for row in range(block.size)]


def stacking_is_exact(blocks: Sequence[_Block], batch_sizes: Sequence[int], eval_sizes: Sequence[int]) -> bool:
    """Whether each block's stacked step and logits equal, bit for bit, every cell's own at these shapes
    (on made-up images: what decides the library's order of summation is the shapes, not the values)."""
    device = blocks[0].weight.device
    for size in batch_sizes:
        images, labels = _made_up_batch(size, device)
        for block in blocks:
            stacked, alone = block.copy(), [block.rows([row]) for row in range(block.size)]
            losses, correct = stacked.train_step(images, labels)
            for row, cell in enumerate(alone):
                loss, right = cell.train_step(images, labels)
                if not (torch.equal(loss[0], losses[row]) and torch.equal(right[0], correct[row])
                        and torch.equal(cell.weight[0], stacked.weight[row])
                        and torch.equal(cell.bias[0], stacked.bias[row])):
                    return False
    for size in eval_sizes:
        images, _ = _made_up_batch(size, device)
        for block in blocks:
            logits = block.logits(images)
            if not all(torch.equal(block.rows([row]).logits(images)[0], logits[row]) for row in range(block.size)):
                return False
    return True


def _made_up_batch(size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Images with pixels in [0, 1] and labels, as irregular as real ones but cheap to make."""
    rows = torch.arange(size, device=device, dtype=torch.float32).mul_(0.7548776662).view(size, 1)
    columns = torch.arange(NUM_FEATURES, device=device, dtype=torch.float32).mul_(0.5698402910).view(1, -1)
    images = (rows + columns).frac_()
    labels = (torch.arange(size, device=device) * 7919 % 10007) % NUM_CLASSES
    return images, labels


def _chunk_sizes(set_sizes: Sequence[int]) -> tuple[int, ...]:
    """The sizes of the evaluation chunks that sets of these sizes split into."""
    sizes = set()
    for size in set_sizes:
        if size >= EVAL_CHUNK:
            sizes.add(EVAL_CHUNK)
        if size % EVAL_CHUNK:
            sizes.add(size % EVAL_CHUNK)
    return tuple(sorted(sizes))
