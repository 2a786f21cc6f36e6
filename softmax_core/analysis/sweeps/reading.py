"""What a sweep's finished cells say, in sentences computed from their numbers: which cells pass the
book's checks, which is best and by how much beyond the seeds' spread, and whether the best learning
rate grows with the batch size (the linear-scaling rule), and by how much."""

from __future__ import annotations

from softmax_core.analysis.sweeps.grid import Cell, SweepGrid
from softmax_core.book.verdict import BOOK_LOSS_LIMIT
from softmax_core.config import settings
from softmax_core.i18n import _


def read_sweep(grid: SweepGrid) -> list[str]:
    """What the finished cells say, computed from their numbers, in the reader's language (each sentence is
    one catalog entry with its numbers formatted here and passed in, so a translation can't change one)."""
    finished = {key: cell for key, cell in grid.cells.items() if cell.numbers("final_train_loss")}
    if not finished:
        return [_("No cell has a finished run yet.")]
    return [line for line in (_passing_cells(grid, finished), _best_cell(grid, finished),
                              _linear_scaling(grid, finished)) if line]


def describe_cell(axes: list[str], values: dict) -> str:
    """A cell's place in the reader's language: 'batch 64, lr 0.3', '批量大小 64，学习率 0.3' (the short names'
    msgids are marked in softmax_core/run_names.py's SHORT_NAMES)."""
    return _(", ").join(f"{short_name(name)} {values[name]:g}" for name in axes)


def short_name(field_name: str) -> str:
    """A field's short name in the reader's language: 'lr', '学习率'."""
    return _(settings()[field_name].short)


def _describe_cell(grid: SweepGrid, cell: Cell) -> str:
    return describe_cell(grid.axes, cell.values)


def _passing_cells(grid: SweepGrid, finished: dict[tuple, Cell]) -> str:
    passing = [cell for cell in finished.values() if cell.mean("passes") == 1.0]
    if not passing:
        return _("None of the {finished} finished cells passes the book's checks in every seed "
                 "(train loss < {limit} is the one that fails).").format(finished=len(finished),
                                                                          limit=BOOK_LOSS_LIMIT)
    names = _("; ").join(_describe_cell(grid, cell) for cell in passing)
    return _("{passing} of {finished} finished cells pass the book's checks in every seed: {names}.").format(
        passing=len(passing), finished=len(finished), names=names)


def _best_cell(grid: SweepGrid, finished: dict[tuple, Cell]) -> str:
    ranked = sorted(finished.values(), key=lambda cell: cell.mean("final_train_loss"))
    best = ranked[0]
    loss, where = f"{best.mean('final_train_loss'):.4f}", _describe_cell(grid, best)
    if len(ranked) == 1:
        return _("The lowest final train loss is {loss} at {cell}.").format(loss=loss, cell=where)
    runner_up = ranked[1]
    margin = runner_up.mean("final_train_loss") - best.mean("final_train_loss")
    spread = max(best.std("final_train_loss") or 0.0, runner_up.std("final_train_loss") or 0.0)
    numbers = {"loss": loss, "cell": where, "margin": f"{margin:.4f}", "next": _describe_cell(grid, runner_up)}
    if len(best.numbers("final_train_loss")) < 2:
        return _("The lowest final train loss is {loss} at {cell}, {margin} below the next cell ({next}); one "
                 "seed per cell gives no spread to weigh that against.").format(**numbers)
    numbers["spread"] = f"{spread:.4f}"
    if margin > 2 * spread:
        return _("The lowest final train loss is {loss} at {cell}, {margin} below the next cell ({next}): well "
                 "beyond the seeds' spread (std up to {spread}).").format(**numbers)
    if margin > spread:
        return _("The lowest final train loss is {loss} at {cell}, {margin} below the next cell ({next}): beyond "
                 "the seeds' spread (std up to {spread}).").format(**numbers)
    return _("The lowest final train loss is {loss} at {cell}, {margin} below the next cell ({next}): within "
             "the seeds' spread (std up to {spread}).").format(**numbers)


def best_lr_by_batch(grid: SweepGrid, finished: dict[tuple, Cell]) -> dict[int, float]:
    """For each batch size, the learning rate with the lowest mean final train loss."""
    best: dict[int, tuple[float, float]] = {}
    for cell in finished.values():
        batch, lr, loss = cell.values["batch_size"], cell.values["lr"], cell.mean("final_train_loss")
        if batch not in best or loss < best[batch][1]:
            best[batch] = (lr, loss)
    return {batch: lr for batch, (lr, _) in sorted(best.items())}


def _linear_scaling(grid: SweepGrid, finished: dict[tuple, Cell]) -> str:
    if not {"lr", "batch_size"} <= set(grid.axes):
        return ""
    best = best_lr_by_batch(grid, finished)
    if len(best) < 2:
        return ""
    batches = list(best)
    lrs = [best[batch] for batch in batches]
    small, large = batches[0], batches[-1]
    batch_factor, lr_factor = large / small, lrs[-1] / lrs[0]
    numbers = {"steps": _(", ").join(_("batch {batch}: lr {lr}").format(batch=batch, lr=f"{lr:g}")
                                     for batch, lr in best.items()),
               "small": small, "large": large, "batch_factor": f"{batch_factor:g}", "lr_factor": f"{lr_factor:g}"}
    if all(b >= a for a, b in zip(lrs, lrs[1:])) and lr_factor > 1:
        return _("Best lr per batch size ({steps}): from batch {small} to {large} "
                 "({batch_factor}x) the best learning rate grows {lr_factor}x, where the linear-scaling rule says "
                 "{batch_factor}x. So good settings lie along a diagonal: a larger batch takes fewer steps per "
                 "epoch, and a larger learning rate makes each step count for more.").format(**numbers)
    if lr_factor == 1:
        return _("Best lr per batch size ({steps}): from batch {small} to {large} "
                 "({batch_factor}x) the best learning rate stays the same, where the linear-scaling rule says "
                 "{batch_factor}x; try larger learning rates for the larger batches.").format(**numbers)
    return _("Best lr per batch size ({steps}): from batch {small} to {large} ({batch_factor}x) "
             "the best learning rate does not grow steadily ({lr_factor}x overall), where the linear-scaling rule "
             "says {batch_factor}x.").format(**numbers)
