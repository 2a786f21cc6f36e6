"""The stacked step (every concise SGD run's, alone or packed): one step of each cell is the book's SGD
step (autograd's gradient of the mean cross-entropy and torch.optim.SGD's update), its predicted classes
are argmax's (ties and NaN included), and a cell's numbers are the same bits alone and stacked, before
and after another cell leaves the stack, and still where the matrix library would sum a stacked
product in another order than a lone one (the stack's own check catches it)."""

import pytest
import torch
from torch import nn

from softmax_core.book import stacked
from softmax_core.book.model import build_concise_model
from softmax_core.book.stacked import StackedSoftmaxSGD, predicted_classes
from softmax_core.config import TrainConfig

CPU = torch.device("cpu")
CELLS = [TrainConfig(lr=0.1), TrainConfig(lr=0.5, momentum=0.9, weight_decay=1e-3), TrainConfig(lr=1.0),
         TrainConfig(lr=0.3, momentum=0.5)]


def batch(size: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(size, 784, generator=generator), torch.randint(0, 10, (size,), generator=generator)


@pytest.mark.parametrize("config", CELLS, ids=lambda c: f"lr {c.lr} momentum {c.momentum} decay {c.weight_decay}")
def test_two_steps_of_a_cell_are_autograds_gradient_and_torch_optims_sgd(config):
    stack = StackedSoftmaxSGD(CELLS, CPU)
    reference = build_concise_model(config.init_std, torch.Generator().manual_seed(config.seed))
    optimizer = torch.optim.SGD(reference.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    for seed in (1, 2):  # the second step uses the momentum buffer
        images, labels = batch(64, seed)
        losses, correct = stack.train_step(images, labels)
        logits = reference(images)
        loss = nn.CrossEntropyLoss(reduction="sum")(logits, labels)
        optimizer.zero_grad()
        (loss / len(labels)).backward()
        optimizer.step()
        row = stack.cells.index(CELLS.index(config))
        assert float(losses[row]) == pytest.approx(loss.item(), rel=1e-6)
        assert int(correct[row]) == int((logits.argmax(1) == labels).sum())
    weight, bias = stack.cell_weights(CELLS.index(config))
    assert torch.allclose(weight, reference[1].weight.detach(), atol=1e-6)
    assert torch.allclose(bias, reference[1].bias.detach(), atol=1e-6)


def test_predicted_classes_are_argmaxs_with_ties_and_nan():
    logits = torch.randn(3, 10, 50, generator=torch.Generator().manual_seed(0)).round()  # many ties
    logits[0, 3, 5] = logits[0, 7, 5] = float("nan")
    logits[2, :, 1] = float("inf")
    assert torch.equal(predicted_classes(logits), logits.argmax(1))


def lone_run(config: TrainConfig, batches) -> tuple[StackedSoftmaxSGD, list]:
    """A stack of one trained on these batches, and each step's (losses, correct)."""
    stack = StackedSoftmaxSGD([config], CPU)
    return stack, [stack.train_step(images, labels) for images, labels in batches]


def a_library_that_sums_stacked_products_otherwise(monkeypatch) -> None:
    """Stacked logits (of more than one cell) off by a last bit, as a matrix library that sums a wide
    batch in another order than a lone product would give them; the stack's verdicts start afresh."""
    logits = stacked._Block.logits

    def otherwise(block, images):
        out = logits(block, images)
        return out.mul_(1 + 2 ** -23) if block.size > 1 else out

    monkeypatch.setattr(stacked._Block, "logits", otherwise)
    monkeypatch.setattr(stacked, "_STACKING_EXACT", {})


@pytest.mark.parametrize("library", ["as here", "summing stacked products otherwise"])
def test_a_cell_has_its_lone_bits_in_a_stack_and_after_another_cell_leaves(one_thread, monkeypatch, library):
    if library != "as here":
        a_library_that_sums_stacked_products_otherwise(monkeypatch)
    batches = [batch(100, seed) for seed in range(4)] + [batch(37, 9)]  # and a last, smaller batch
    stack = StackedSoftmaxSGD(CELLS, CPU)
    outcomes = []
    for step, (images, labels) in enumerate(batches):
        if step == 2:
            stack.drop([1])  # a cell diverged or was cancelled: the stack goes on without it
        losses, correct = stack.train_step(images, labels)
        outcomes.append(dict(zip(stack.cells, zip(losses, correct, strict=True), strict=True)))
    assert stack.cells == [0, 2, 3]
    test_images, test_labels = batch(10_000, 5)
    predicted, loss_sums = stack.evaluate(test_images, test_labels)
    for row, cell in enumerate(stack.cells):
        alone, steps = lone_run(CELLS[cell], batches)
        assert all(torch.equal(mine, theirs) for mine, theirs in zip(stack.cell_weights(cell), alone.cell_weights(0),
                                                                     strict=True)), "weights and bias, bit for bit"
        for mine, (loss, right) in zip(outcomes, steps, strict=True):
            assert torch.equal(mine[cell][0], loss[0]) and torch.equal(mine[cell][1], right[0])
        lone_predicted, lone_loss_sum = alone.evaluate(test_images, test_labels)
        assert torch.equal(predicted[row], lone_predicted[0]) and torch.equal(loss_sums[row], lone_loss_sum[0]), \
            "held-out predictions and loss, bit for bit"
