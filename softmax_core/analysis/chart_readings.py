"""What the charts' controls and text alternatives compute, as plain numbers and sentences.

A chart's text alternative is its gist in a sentence or two, for a person who can't see it, read from
the same numbers the chart draws: the curves ("train loss fell from 0.78 to 0.45 over 10 epochs; test
acc ends at 0.83"), a confusion matrix, per-class accuracy, a seed band, a sweep's grid.

Smoothing is TensorBoard's: an exponential moving average with weight 0 (off) to 0.99, debiased so that the
smoothed curve starts at the first value rather than at zero; a NaN or infinite value (a diverged run)
is kept as it is and left out of the average.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

MAX_SMOOTHING = 0.99  # TensorBoard's slider stops here: at 1 the curve would never move


def smooth_curve(values: Sequence[float], weight: float) -> list[float]:
    """The debiased exponential moving average of ``values`` (weight 0: the values themselves)."""
    if not 0.0 <= weight <= MAX_SMOOTHING:
        raise ValueError(f"smoothing must be in [0, {MAX_SMOOTHING}], not {weight}")
    if weight == 0.0:
        return list(values)
    average, counted, smoothed = 0.0, 0, []
    for value in values:
        if not math.isfinite(value):
            smoothed.append(value)
            continue
        average = average * weight + (1.0 - weight) * value
        counted += 1
        smoothed.append(average / (1.0 - weight ** counted))  # the zero it started from, divided out
    return smoothed


def shown_value(value: float) -> str:
    """A metric as a sentence says it: two decimals, or NaN and inf as such."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.2f}"


def epochs_text(epoch: float) -> str:
    """'1 epoch', '10 epochs', '2.5 epochs'."""
    amount = f"{round(epoch, 1):g}"
    return f"{amount} epoch" + ("" if amount == "1" else "s")


def describe_loss(epochs: Sequence[float], losses: Sequence[float]) -> str:
    """'train loss fell from 0.78 to 0.45 over 10 epochs' (rose, stayed at, became NaN)."""
    if not losses:
        return "no train loss yet"
    first, last = losses[0], losses[-1]
    over = f"over {epochs_text(epochs[-1])}"
    if not math.isfinite(last):
        return f"train loss went from {shown_value(first)} to {shown_value(last)} {over}"
    if len(losses) == 1 or shown_value(first) == shown_value(last):
        return f"train loss stayed at {shown_value(last)} {over}"
    verb = "fell" if last < first else "rose"
    return f"train loss {verb} from {shown_value(first)} to {shown_value(last)} {over}"


def describe_accuracy(name: str, values: Sequence[float]) -> str:
    """'test acc ends at 0.83', or that there is none yet."""
    return f"{name} ends at {shown_value(values[-1])}" if values else f"no {name} yet"


def describe_run_curves(label: str, epochs: Sequence[float], losses: Sequence[float],
                        accuracies: dict[str, Sequence[float]]) -> str:
    """One run's curves in a sentence: its loss, then each accuracy it has (by name: 'train acc',
    'test acc', 'val acc'), e.g. '#3 book: train loss fell from 0.78 to 0.45 over 10 epochs; train acc
    ends at 0.85; test acc ends at 0.83.'"""
    parts = [describe_loss(epochs, losses)] + [describe_accuracy(name, values)
                                                for name, values in accuracies.items() if values]
    return f"{label}: " + "; ".join(parts) + "."


def describe_confusion(confusion: Sequence[Sequence[int]], class_names: Sequence[str], held_out: str = "test") -> str:
    """'8,312 of 10,000 test images right; most often confused: true shirt predicted t-shirt (153 times).'"""
    total = sum(sum(row) for row in confusion)
    right = sum(confusion[i][i] for i in range(len(confusion)))
    wrong = [(count, true, predicted) for true, row in enumerate(confusion) for predicted, count in enumerate(row)
             if true != predicted and count > 0]
    text = f"{right:,} of {total:,} {held_out} images right"
    if wrong:
        count, true, predicted = max(wrong)
        text += (f"; most often confused: true {class_names[true]} predicted {class_names[predicted]} "
                 f"({count:,} times)")
    return text + "."


def describe_per_class(accuracies: Sequence[float], class_names: Sequence[str], held_out: str = "test") -> str:
    """'Worst test accuracy: shirt 55%; best: trouser 96%.'"""
    worst = min(range(len(accuracies)), key=lambda i: accuracies[i])
    best = max(range(len(accuracies)), key=lambda i: accuracies[i])
    return (f"Worst {held_out} accuracy: {class_names[worst]} {accuracies[worst]:.0%}; "
            f"best: {class_names[best]} {accuracies[best]:.0%}.")


def describe_band(name: str, mean: Sequence[float], std: Sequence[float]) -> str:
    """'train accuracy ends at 0.85 ± 0.01 (mean ± std over seeds) after 10 epochs'."""
    if not len(mean):
        return f"no {name} yet"
    return (f"{name} ends at {shown_value(mean[-1])} ± {shown_value(std[-1])} after "
            f"{epochs_text(len(mean))}, starting from {shown_value(mean[0])}")


def describe_grid(cells: Sequence, metric: str, where: Callable[[object], str]) -> str:
    """A sweep's grid in a sentence: how many cells are done, the lowest and highest ``metric`` and
    where (``where(cell)`` names a cell's place), and how many pass the book's loss check."""
    done = [cell for cell in cells if cell.mean is not None]
    text = f"{len(done)} of {len(cells)} cells finished"
    if done:
        low = min(done, key=lambda cell: cell.mean)
        high = max(done, key=lambda cell: cell.mean)
        inside = sum(1 for cell in done if cell.inside_book_loss)
        text += (f"; {metric} from {low.mean:.3f} ({where(low)}) to {high.mean:.3f} ({where(high)}); "
                 f"{inside} inside the book's train loss < 0.5")
    return text + "."
