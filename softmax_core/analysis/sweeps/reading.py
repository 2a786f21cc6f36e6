"""What a sweep's finished cells say, in sentences computed from their numbers: which cells pass the
book's checks, which is best and by how much beyond the seeds' spread, and whether the best learning
rate grows with the batch size (the linear-scaling rule), and by how much."""

from __future__ import annotations

from softmax_core.analysis.sweeps.grid import Cell, SweepGrid
from softmax_core.book.verdict import BOOK_LOSS_LIMIT
from softmax_core.config import settings


def read_sweep(grid: SweepGrid) -> list[str]:
    """What the finished cells say, computed from their numbers."""
    finished = {key: cell for key, cell in grid.cells.items() if cell.numbers("final_train_loss")}
    if not finished:
        return ["No cell has a finished run yet."]
    return [line for line in (_passing_cells(grid, finished), _best_cell(grid, finished),
                              _linear_scaling(grid, finished)) if line]


def _describe_cell(grid: SweepGrid, cell: Cell) -> str:
    return ", ".join(f"{settings()[name].short} {cell.values[name]:g}" for name in grid.axes)


def _passing_cells(grid: SweepGrid, finished: dict[tuple, Cell]) -> str:
    passing = [cell for cell in finished.values() if cell.mean("passes") == 1.0]
    if not passing:
        return (f"None of the {len(finished)} finished cells passes the book's checks in every seed "
                f"(train loss < {BOOK_LOSS_LIMIT} is the one that fails).")
    names = "; ".join(_describe_cell(grid, cell) for cell in passing)
    return f"{len(passing)} of {len(finished)} finished cells pass the book's checks in every seed: {names}."


def _best_cell(grid: SweepGrid, finished: dict[tuple, Cell]) -> str:
    ranked = sorted(finished.values(), key=lambda cell: cell.mean("final_train_loss"))
    best = ranked[0]
    text = f"The lowest final train loss is {best.mean('final_train_loss'):.4f} at {_describe_cell(grid, best)}"
    if len(ranked) == 1:
        return text + "."
    runner_up = ranked[1]
    margin = runner_up.mean("final_train_loss") - best.mean("final_train_loss")
    spread = max(best.std("final_train_loss") or 0.0, runner_up.std("final_train_loss") or 0.0)
    if len(best.numbers("final_train_loss")) < 2:
        return text + f", {margin:.4f} below the next cell ({_describe_cell(grid, runner_up)}); one seed per cell " \
                      "gives no spread to weigh that against."
    verdict = "well beyond" if margin > 2 * spread else ("beyond" if margin > spread else "within")
    return text + (f", {margin:.4f} below the next cell ({_describe_cell(grid, runner_up)}): {verdict} the seeds' "
                   f"spread (std up to {spread:.4f}).")


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
    steps = ", ".join(f"batch {batch}: lr {lr:g}" for batch, lr in best.items())
    rule = f"where the linear-scaling rule says {batch_factor:g}x"
    if all(b >= a for a, b in zip(lrs, lrs[1:])) and lr_factor > 1:
        return (f"Best lr per batch size ({steps}): from batch {small} to {large} ({batch_factor:g}x) the best "
                f"learning rate grows {lr_factor:g}x, {rule}. So good settings lie along a diagonal: a larger "
                "batch takes fewer steps per epoch, and a larger learning rate makes each step count for more.")
    if lr_factor == 1:
        return (f"Best lr per batch size ({steps}): from batch {small} to {large} ({batch_factor:g}x) the best "
                f"learning rate stays the same, {rule}; try larger learning rates for the larger batches.")
    return (f"Best lr per batch size ({steps}): from batch {small} to {large} ({batch_factor:g}x) the best "
            f"learning rate does not grow steadily ({lr_factor:g}x overall), {rule}.")


