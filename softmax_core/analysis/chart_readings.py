"""What the charts' controls and text alternatives compute, as plain numbers and sentences.

A chart's text alternative is its gist in a sentence or two, for a person who can't see it, read from
the same numbers the chart draws: the curves ("train loss fell from 0.78 to 0.45 over 10 epochs; test
acc ends at 0.83"), a confusion matrix, per-class accuracy, a seed band, a sweep's grid.

Smoothing is TensorBoard's: an exponential moving average with weight 0 (off) to 0.99, debiased so that the
smoothed curve starts at the first value rather than at zero; a NaN or infinite value (a diverged run)
is kept as it is and left out of the average.

The sentences are built in the reader's language (``_()``), from the same numbers in either language; the
names passed in (a metric's label, a class's name) are already the reader's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from softmax_core.i18n import _, ngettext

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
    """'1 epoch', '10 epochs', '2.5 epochs' (in the reader's language: '10 轮')."""
    amount = f"{round(epoch, 1):g}"
    return ngettext("{epochs} epoch", "{epochs} epochs", 1 if amount == "1" else 2).format(epochs=amount)


def describe_loss(epochs: Sequence[float], losses: Sequence[float]) -> str:
    """'train loss fell from 0.78 to 0.45 over 10 epochs' (rose, stayed at, became NaN)."""
    if not losses:
        return _("no train loss recorded")  # queued, or diverged before its first report
    first, last = shown_value(losses[0]), shown_value(losses[-1])
    over = epochs_text(epochs[-1])
    if not math.isfinite(losses[-1]):
        sentence = _("train loss went from {first} to {last} over {epochs}")
    elif len(losses) == 1 or first == last:
        sentence = _("train loss stayed at {last} over {epochs}")
    elif losses[-1] < losses[0]:
        sentence = _("train loss fell from {first} to {last} over {epochs}")
    else:
        sentence = _("train loss rose from {first} to {last} over {epochs}")
    return sentence.format(first=first, last=last, epochs=over)


def describe_accuracy(name: str, values: Sequence[float]) -> str:
    """'test acc ends at 0.83', or that there is none yet (``name`` as the reader reads it)."""
    if not values:
        return _("no {name} yet").format(name=name)
    return _("{name} ends at {value}").format(name=name, value=shown_value(values[-1]))


def describe_run_curves(label: str, epochs: Sequence[float], losses: Sequence[float],
                        accuracies: dict[str, Sequence[float]]) -> str:
    """One run's curves in a sentence: its loss, then each accuracy it has (by name, as the reader reads
    it: 'train acc', 'test acc', 'val acc'), e.g. '#3 book: train loss fell from 0.78 to 0.45 over 10
    epochs; train acc ends at 0.85; test acc ends at 0.83.'"""
    parts = [describe_loss(epochs, losses)] + [describe_accuracy(name, values)
                                                for name, values in accuracies.items() if values]
    return _("{run}: {parts}.").format(run=label, parts=_("; ").join(parts))


def describe_confusion(confusion: Sequence[Sequence[int]], class_names: Sequence[str], held_out: str = "test") -> str:
    """'8,312 of 10,000 test images right; most often confused: true shirt predicted t-shirt (153 times).'"""
    total = sum(sum(row) for row in confusion)
    right = sum(confusion[i][i] for i in range(len(confusion)))
    wrong = [(count, true, predicted) for true, row in enumerate(confusion) for predicted, count in enumerate(row)
             if true != predicted and count > 0]
    text = (_("{right} of {total} test images right") if held_out == "test" else
            _("{right} of {total} validation images right")).format(right=f"{right:,}", total=f"{total:,}")
    if wrong:
        count, true, predicted = max(wrong)
        text += _("; most often confused: true {true} predicted {predicted} ({count} times)").format(
            true=class_names[true], predicted=class_names[predicted], count=f"{count:,}")
    return _("{sentence}.").format(sentence=text)


def describe_per_class(accuracies: Sequence[float], class_names: Sequence[str], held_out: str = "test") -> str:
    """'Worst test accuracy: shirt 55%; best: trouser 96%.'"""
    worst = min(range(len(accuracies)), key=lambda i: accuracies[i])
    best = max(range(len(accuracies)), key=lambda i: accuracies[i])
    sentence = (_("Worst test accuracy: {worst} {worst_share}; best: {best} {best_share}.") if held_out == "test"
                else _("Worst validation accuracy: {worst} {worst_share}; best: {best} {best_share}."))
    return sentence.format(worst=class_names[worst], worst_share=f"{accuracies[worst]:.0%}",
                           best=class_names[best], best_share=f"{accuracies[best]:.0%}")


def describe_band(name: str, mean: Sequence[float], std: Sequence[float]) -> str:
    """'train accuracy ends at 0.85 ± 0.01 (mean ± std over seeds) after 10 epochs' (``name`` as the
    reader reads it)."""
    if not len(mean):
        return _("no {name} yet").format(name=name)
    return _("{name} ends at {mean} ± {std} after {epochs}, starting from {first}").format(
        name=name, mean=shown_value(mean[-1]), std=shown_value(std[-1]), epochs=epochs_text(len(mean)),
        first=shown_value(mean[0]))


def describe_grid(cells: Sequence, metric: str, where: Callable[[object], str]) -> str:
    """A sweep's grid in a sentence: how many cells are done, the lowest and highest ``metric`` and
    where (``where(cell)`` names a cell's place), and how many pass the book's loss check."""
    done = [cell for cell in cells if cell.mean is not None]
    text = _("{done} of {cells} cells finished").format(done=len(done), cells=len(cells))
    if done:
        low = min(done, key=lambda cell: cell.mean)
        high = max(done, key=lambda cell: cell.mean)
        inside = sum(1 for cell in done if cell.inside_book_loss)
        text += _("; {metric} from {low} ({low_where}) to {high} ({high_where}); {inside} inside the book's "
                  "train loss < 0.5").format(metric=metric, low=f"{low.mean:.3f}", low_where=where(low),
                                             high=f"{high.mean:.3f}", high_where=where(high), inside=inside)
    return _("{sentence}.").format(sentence=text)
