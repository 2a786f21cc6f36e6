"""The book's section 3.7 exercises as experiments whose explanations are computed from the runs just made.

Nothing here is canned: every sentence is built from measured numbers (updates per epoch, the loss after
the same number of updates, how much the loss jumps from one mini-batch to the next, seed-to-seed
standard deviations), so it can't contradict the curves on screen. Also the numerical-stability table
of section 3.7.2 (naive softmax against the max-subtraction and LogSumExp forms).

Inputs are plain ``LessonRun`` records (built from the store by ``lesson_run``), so the logic is tested
without a page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from softmax_core.book.metrics import Verdict
from softmax_core.book.model import naive_cross_entropy, naive_softmax, stable_log_softmax
from softmax_core.book.train import EpochSchedule
from softmax_core.config import TrainConfig, describe_fields, preset_config, settings
from softmax_core.dataset_sizes import TRAIN_SET_SIZE
from softmax_core.i18n import N_, _
from softmax_core.runs.store import ScopedRuns
from softmax_core.status import RunStatus

EXERCISE1_VARIANTS = ("book", "batch-1024", "lr-0.4")
MAX_EPOCHS = int(settings()["epochs"].high)
SEED_COUNTS = (2, 10)  # how many seeds a lesson may repeat a run with
NOISE_FACTOR = 2.0  # a change counts as signal when it exceeds twice the seed-to-seed noise


@dataclass(frozen=True)
class LessonRun:
    """What the lessons need of a stored run, as plain numbers."""

    run_id: int
    config: TrainConfig
    status: str
    verdict: Optional[Verdict]
    steps: Sequence[int]  # progress points: optimizer step ...
    step_losses: Sequence[float]  # ... and the window-average train loss there
    epoch_train_loss: Sequence[float]  # per epoch (the book's metrics)
    epoch_train_acc: Sequence[float]
    epoch_test_acc: Sequence[float]  # the held-out accuracy its reader may see (``held_out`` says which)
    last_epoch_batch_losses: Sequence[float] = field(default_factory=list)  # every mini-batch's loss
    diverged_step: Optional[int] = None
    held_out: str = "test"  # or "validation": a student's view before the teacher reveals test accuracy
    epoch_held_out_loss: Sequence[Optional[float]] = ()  # the held-out loss on the same split (None: not recorded)

    @property
    def final_train_loss(self) -> float:
        return self.epoch_train_loss[-1] if self.epoch_train_loss else math.nan


def lesson_run(store: ScopedRuns, run_id: int) -> LessonRun:
    """Read one run from the store (as a reader may see it) as a LessonRun: its held-out accuracy is the
    test set's, or the validation split's where the reader's scope hides test accuracy."""
    run = store.get_run(run_id)
    points = store.read_points(run_id)
    epochs = store.read_epochs(run_id)
    last_losses: list[float] = []
    if epochs:
        last_losses = store.read_epoch(run_id, epochs[-1].epoch).step_losses.tolist()
    return LessonRun(
        run_id=run.id, config=run.config, status=run.status, verdict=run.verdict,
        steps=[p.step for p in points], step_losses=[p.train_loss for p in points],
        epoch_train_loss=[e.train_loss for e in epochs], epoch_train_acc=[e.train_acc for e in epochs],
        epoch_test_acc=[e.test_acc if run.test_accuracy_shown else e.val_acc for e in epochs],
        last_epoch_batch_losses=last_losses, diverged_step=run.diverged_step,
        held_out="test" if run.test_accuracy_shown else "validation",
        epoch_held_out_loss=[e.test_loss if run.test_accuracy_shown else e.val_loss for e in epochs],
    )


# --- exercise 1: batch size and learning rate ------------------------------------------------------------

def updates_per_epoch(config: TrainConfig) -> int:
    return EpochSchedule(TRAIN_SET_SIZE, config.batch_size, 1).steps


def loss_at_step(run: LessonRun, step: int) -> float:
    """The train loss (window average) at the last progress point at or before ``step``."""
    before = [loss for s, loss in zip(run.steps, run.step_losses) if s <= step]
    return before[-1] if before else math.nan


def batch_to_batch_jump(batch_losses: Sequence[float]) -> float:
    """Mean absolute change of the loss from one mini-batch to the next (how much it oscillates)."""
    if len(batch_losses) < 2:
        return math.nan
    return float(np.mean(np.abs(np.diff(np.asarray(batch_losses, dtype=float)))))


def verdict_sentence(run: LessonRun) -> str:
    """'passes the book's checks' or which check failed with its value."""
    if run.verdict is None:
        return _("did not finish ({status})").format(status=_(run.status))
    if run.verdict.passed:
        return _("passes the book's checks (train loss {loss} < 0.5)").format(loss=f"{run.final_train_loss:.3f}")
    return _("fails the book's check: {checks}").format(
        checks=_("; ").join(check.sentence() for check in run.verdict.failed))


def explain_batch_size(book: LessonRun, big_batch: LessonRun) -> str:
    """Why batch 1024 ends with a higher loss: fewer updates, not worse ones."""
    book_updates, big_updates = updates_per_epoch(book.config), updates_per_epoch(big_batch.config)
    total_big = big_updates * big_batch.config.epochs
    book_same, big_end = loss_at_step(book, total_big), loss_at_step(big_batch, total_big)
    comparison = (_("about the same as batch {batch}'s {loss}") if abs(book_same - big_end) < 0.03
                  else _("lower than batch {batch}'s {loss}") if book_same < big_end
                  else _("higher than batch {batch}'s {loss}"))
    batch = big_batch.config.batch_size
    return _(
        "Batch {batch} {verdict}. One epoch holds {updates} updates instead of {book_updates}, so after "
        "{epochs} epochs it has taken only {steps} steps. After that same number of steps the book's run had a "
        "train loss of {book_loss} (over its latest mini-batches), {comparison}: per update it learns about as "
        "well; it just gets fewer updates."
    ).format(batch=batch, verdict=verdict_sentence(big_batch), updates=big_updates, book_updates=book_updates,
             epochs=big_batch.config.epochs, steps=total_big, book_loss=f"{book_same:.3f}",
             comparison=comparison.format(batch=batch, loss=f"{big_end:.3f}"))


def explain_learning_rate(book: LessonRun, fast: LessonRun) -> str:
    """Why lr 0.4 ends higher: the loss jumps around from batch to batch."""
    book_jump = batch_to_batch_jump(book.last_epoch_batch_losses)
    fast_jump = batch_to_batch_jump(fast.last_epoch_batch_losses)
    ratio = fast_jump / book_jump if book_jump else math.nan
    return _(
        "lr {lr} {verdict}. In the last epoch its loss moved by {jump} on average from one mini-batch to the "
        "next, against {book_jump} at lr {book_lr} ({ratio}x): steps that large overshoot the minimum and bounce "
        "around it instead of settling."
    ).format(lr=f"{fast.config.lr:g}", verdict=verdict_sentence(fast), jump=f"{fast_jump:.3f}",
             book_jump=f"{book_jump:.3f}", book_lr=f"{book.config.lr:g}", ratio=f"{ratio:.1f}")


BOOK_RUN = TrainConfig()


def what_changed(variant: TrainConfig, book: TrainConfig = BOOK_RUN) -> str:
    """Which of exercise 1's knobs a variant turned up: 'batch', 'lr', or '' (something else)."""
    if variant.batch_size > book.batch_size:
        return "batch"
    return "lr" if variant.lr > book.lr else ""


def suggest_fix(variant: TrainConfig, book: TrainConfig = BOOK_RUN) -> tuple[TrainConfig, str]:
    """A change that should make a failing exercise pass, and why (to be verified by running it)."""
    changed = what_changed(variant, book)
    if changed == "batch":
        epochs = min(MAX_EPOCHS, math.ceil(updates_per_epoch(book) * book.epochs / updates_per_epoch(variant)))
        return variant.replace(epochs=epochs), _(
            "train {epochs} epochs: as many updates as the book's run ({updates})").format(
            epochs=epochs, updates=updates_per_epoch(book) * book.epochs)
    if changed == "lr":
        return variant.replace(lr=variant.lr / 2), _("halve the learning rate to {lr}").format(lr=f"{variant.lr / 2:g}")
    return variant.replace(epochs=min(MAX_EPOCHS, variant.epochs * 2)), _("train twice as long")


@dataclass(frozen=True)
class ExerciseOneReading:
    """What exercise 1's runs say: each run's verdict, why the failing ones fail, and fixes to try."""

    verdicts: dict[int, str]  # run id -> sentence
    reasons: list[str]  # one per failing run, against the book's run
    fixes: dict[str, TrainConfig]  # label -> the config that should pass


def read_exercise_one(runs: Sequence[LessonRun]) -> ExerciseOneReading:
    """Verdicts for all runs; reasons and fixes only when the book's own run is among them."""
    verdicts = {run.run_id: verdict_sentence(run) for run in runs}
    book = next((run for run in runs if run.config == BOOK_RUN), None)
    if book is None:
        return ExerciseOneReading(verdicts, [], {})
    failing = [run for run in runs if run.verdict is not None and not run.verdict.passed]
    explain = {"batch": explain_batch_size, "lr": explain_learning_rate}
    reasons = [explain[kind](book, run) for run in failing if (kind := what_changed(run.config, book.config))]
    fixed = _("#{run} fixed: {reason}")
    fixes = {fixed.format(run=run.run_id, reason=reason): config
             for run in failing for config, reason in [suggest_fix(run.config, book.config)]}
    return ExerciseOneReading(verdicts, reasons, fixes)


def exercise1_configs() -> dict[str, TrainConfig]:
    return {name: preset_config(name) for name in EXERCISE1_VARIANTS}


# --- exercise 2: overfitting or noise? ------------------------------------------------------------------

@dataclass(frozen=True)
class SeedBands:
    """Per-epoch mean and standard deviation over seeds."""

    epochs: list[int]
    train_mean: np.ndarray
    train_std: np.ndarray
    test_mean: np.ndarray
    test_std: np.ndarray
    gap_mean: np.ndarray
    gap_std: np.ndarray
    seeds: int
    gap_per_seed: np.ndarray  # (seeds, epochs)
    held_out: str = "test"  # what ``test_*`` measured: "test", or "validation" before the reveal
    loss_gap_per_seed: np.ndarray | None = None  # held-out minus train loss, (seeds, epochs); None: not recorded


def one_per_seed(runs: Sequence) -> list:
    """The first run of each seed (anything with ``.config``): two runs of one seed are one sample of the
    seed-to-seed spread, not two, and would draw a band of zero width."""
    seen: dict[int, object] = {}
    for run in runs:
        seen.setdefault(run.config.seed, run)
    return list(seen.values())


def seed_bands(runs: Sequence[LessonRun]) -> SeedBands:
    """Mean +/- std of train accuracy, test accuracy and their gap over runs that differ only by seed
    (one run per seed)."""
    runs = one_per_seed(runs)
    length = min(len(run.epoch_test_acc) for run in runs)
    train = np.array([run.epoch_train_acc[:length] for run in runs], dtype=float)
    test = np.array([run.epoch_test_acc[:length] for run in runs], dtype=float)
    gap = train - test
    std = (lambda a: a.std(axis=0, ddof=1)) if len(runs) > 1 else (lambda a: np.zeros(a.shape[1]))
    return SeedBands(list(range(1, length + 1)), train.mean(0), std(train), test.mean(0), std(test),
                     gap.mean(0), std(gap), len(runs), gap, runs[0].held_out, _loss_gaps(runs, length))


def _loss_gaps(runs: Sequence[LessonRun], length: int) -> np.ndarray | None:
    """Held-out minus train loss per seed and epoch, when every run recorded its held-out loss."""
    held_out = [list(run.epoch_held_out_loss[:length]) for run in runs]
    if any(len(losses) < length or None in losses for losses in held_out):
        return None
    return np.array(held_out, dtype=float) - np.array([run.epoch_train_loss[:length] for run in runs], dtype=float)


def _paired_growth(per_seed: np.ndarray, early: int, last: int) -> tuple[float, float, bool]:
    """How much a per-seed series grows from epoch index ``early`` to ``last`` (mean over seeds, paired:
    same seed), its standard error over seeds, and whether the growth is beyond noise."""
    growth_per_seed = per_seed[:, last] - per_seed[:, early]
    growth = float(growth_per_seed.mean())
    seeds = len(per_seed)
    noise = float(growth_per_seed.std(ddof=1) / math.sqrt(seeds)) if seeds > 1 else math.inf
    return growth, noise, growth > NOISE_FACTOR * noise


def largest_dip(values: Sequence[float]) -> tuple[float, int]:
    """The largest fall below an earlier maximum, and the epoch (1-based) where it bottoms out."""
    best, dip, where = -math.inf, 0.0, 0
    for epoch, value in enumerate(values, start=1):
        best = max(best, value)
        if best - value > dip:
            dip, where = best - value, epoch
    return dip, where


def explain_overfitting(bands: SeedBands) -> list[str]:
    """Is the test accuracy's dip bigger than seed noise? Does the train-test gap grow? Best epoch?"""
    dip, dip_epoch = largest_dip(bands.test_mean)
    noise = float(np.median(bands.test_std))
    dip_is_noise = dip <= NOISE_FACTOR * noise
    last = len(bands.epochs) - 1
    early = min(len(bands.epochs) - 1, 4)  # compare the gap after epoch 5 with the end
    growth, growth_noise, gap_grows = _paired_growth(bands.gap_per_seed, early, last)
    best_epoch = int(np.argmax(bands.test_mean)) + 1
    test = bands.held_out == "test"
    accuracy = _(HELD_OUT_ACCURACY[bands.held_out])
    loss_reading = [] if bands.loss_gap_per_seed is None else [explain_loss_gap(bands, early, last, gap_grows)]
    return [
        _("Over {seeds} seeds the largest dip of the mean {accuracy} is {dip} (at epoch {epoch}); the seed-to-seed "
          "standard deviation is typically {noise}, so the dip is {outcome}").format(
            seeds=bands.seeds, accuracy=accuracy, dip=f"{dip:.4f}", epoch=dip_epoch, noise=f"{noise:.4f}",
            outcome=_("within noise (no more than twice the spread).") if dip_is_noise
            else _("larger than the noise: a real drop, not luck.")),
        _("The {gap} goes from {start} at epoch {early} to {end} at epoch {last} (change {change}, standard error "
          "over seeds {noise}): {outcome}").format(
            gap=_("train-test accuracy gap") if test else _("train-validation accuracy gap"),
            start=f"{bands.gap_mean[early]:.4f}", early=bands.epochs[early], end=f"{bands.gap_mean[last]:.4f}",
            last=bands.epochs[last], change=f"{growth:+.4f}", noise=f"{growth_noise:.4f}",
            outcome=_("it grows, the signature of overfitting.") if gap_grows
            else _("no growth beyond noise, so no sign of overfitting yet.")),
        _("The mean {accuracy} peaks at epoch {best} ({peak}) and ends at {end}; early stopping would keep epoch "
          "{best} {why}").format(
            accuracy=accuracy, best=best_epoch, peak=f"{bands.test_mean[best_epoch - 1]:.4f}",
            end=f"{bands.test_mean[last]:.4f}",
            why=_("(chosen on the test set, so its score is optimistic).") if test
            else _("(chosen on the validation split, so the test set still gives an honest score).")),
        *loss_reading,
    ]


HELD_OUT_ACCURACY = {"test": N_("test accuracy"), "validation": N_("validation accuracy")}


def explain_loss_gap(bands: SeedBands, early: int, last: int, accuracy_gap_grows: bool) -> str:
    """Does the held-out minus train loss grow? The loss also weighs how sure each answer is, so it can
    show overfitting that the accuracy gap does not yet."""
    gaps = bands.loss_gap_per_seed
    growth, noise, grows = _paired_growth(gaps, early, last)
    mean = gaps.mean(0)
    if grows and not accuracy_gap_grows:
        outcome = _("it grows while the accuracy gap does not yet: the model grows surer of its training "
                    "images than of held-out ones before it gets more of them wrong.")
    elif grows:
        outcome = _("it grows too: the model fits its training images better than held-out ones.")
    else:
        outcome = _("no growth beyond noise.")
    return _("The {gap} goes from {start} at epoch {early} to {end} at epoch {last} (change {change}, standard "
             "error over seeds {noise}): {outcome}").format(
        gap=_("test-train loss gap") if bands.held_out == "test" else _("validation-train loss gap"),
        start=f"{mean[early]:.4f}", early=bands.epochs[early], end=f"{mean[last]:.4f}", last=bands.epochs[last],
        change=f"{growth:+.4f}", noise=f"{noise:.4f}", outcome=outcome)


Band = tuple[np.ndarray, np.ndarray]  # per-epoch mean and standard deviation


def gap_band(bands: SeedBands) -> dict[str, Band]:
    """Exercise 2's train minus held-out accuracy gap, named after what was held out (before the reveal a
    student's is the validation split: a band called 'test' would tell them they chose on the test set)."""
    label = _("train − test gap") if bands.held_out == "test" else _("train − validation gap")
    return {label: (bands.gap_mean, bands.gap_std)}


def weight_decay_bands(plain: SeedBands, decayed: SeedBands) -> dict[str, Band]:
    """Exercise 2's remedy beside the plain seeds: held-out accuracy with and without weight decay, named
    after what was held out."""
    no_decay = _("{accuracy}, no decay").format(accuracy=_(HELD_OUT_ACCURACY[plain.held_out]))
    with_decay = _("{accuracy}, wd 0.001").format(accuracy=_(HELD_OUT_ACCURACY[decayed.held_out]))
    return {no_decay: (plain.test_mean, plain.test_std), with_decay: (decayed.test_mean, decayed.test_std)}


def group_by_seed(runs: Sequence) -> list[list]:
    """Finished runs (anything with ``.config`` and ``.status``) that differ only by seed, one run per
    seed, in groups of two or more seeds, in the order they came."""
    groups: dict[TrainConfig, list] = {}
    for run in runs:
        if run.status == RunStatus.FINISHED:
            groups.setdefault(run.config.replace(seed=0), []).append(run)
    return [group for group in map(one_per_seed, groups.values()) if len(group) > 1]


def group_tags(lesson: str, group: str, variant: str) -> dict[str, str]:
    """The tags that mark a run as one variant of one group of a lesson's runs (what the store finds)."""
    return {"lesson": lesson, "group": group, "variant": variant}


def seed_group_configs(base: TrainConfig, seeds: int) -> list[TrainConfig]:
    return [base.replace(seed=seed) for seed in range(seeds)]


# --- numerical stability (3.7.2) ------------------------------------------------------------------------

def stability_table(logits: Sequence[float]) -> list[dict]:
    """Naive softmax against the max-subtraction and LogSumExp forms, one row per class."""
    row = torch.tensor([list(logits)], dtype=torch.float32)
    naive = naive_softmax(row)[0]
    stable_log = stable_log_softmax(row)[0]
    return [{
        "class": index, "logit": float(row[0, index]), "exp(o)": float(torch.exp(row[0, index])),
        "naive softmax": float(naive[index]),
        # exp of the float32 log-probability in double: float32's own exp of -100 is a denormal (3.78e-44)
        "stable softmax": math.exp(float(stable_log[index])),
        "stable log-softmax": float(stable_log[index]),
    } for index in range(row.shape[1])]


def shown_number(value: float) -> str:
    """A number as the stability lesson reads it: NaN, inf and -inf by name, four significant digits, in
    scientific notation where fixed digits would show nothing (3.72e-44) or too many (2.688e+43)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4g}"


def stability_table_shown(logits: Sequence[float]) -> list[dict[str, str]]:
    """``stability_table`` as text, so that a table shows NaN, inf and 3.7e-44 as they are (a data grid
    shows NaN as a greyed 'None' and cuts a tiny number to zeros)."""
    return [{column: str(value) if column == "class" else shown_number(value) for column, value in row.items()}
            for row in stability_table(logits)]


def stability_losses_shown(logits: Sequence[float], label: int = 0) -> dict[str, str]:
    losses = stability_losses(logits, label)
    return {column: str(value) if column == "true class" else shown_number(value) for column, value in losses.items()}


def agreement(first: float, second: float) -> str:
    """'equals' when two finite numbers agree to float32's precision, else 'differs by 0.13% from'."""
    relative = abs(first - second) / max(abs(first), abs(second), 1e-300)
    return _("equals") if relative < 1e-6 else _("differs by {percent} from").format(percent=f"{relative:.2%}")


def stability_losses(logits: Sequence[float], label: int = 0) -> dict[str, float]:
    """The cross-entropy for the true class ``label``, naive (-log of the naive softmax) and LogSumExp."""
    row = torch.tensor([list(logits)], dtype=torch.float32)
    naive = float(naive_cross_entropy(naive_softmax(row), torch.tensor([label]))[0])
    return {"true class": label, "naive loss": naive, "stable loss": float(-stable_log_softmax(row)[0, label]) + 0.0}


def stability_summary(logits: Sequence[float], label: int = 0) -> str:
    """One sentence on what the naive form does with these logits."""
    rows = stability_table(logits)
    losses = stability_losses(logits, label)
    naive_loss, stable_loss = losses["naive loss"], losses["stable loss"]
    overflow = any(math.isinf(r["exp(o)"]) for r in rows)
    nan = any(math.isnan(r["naive softmax"]) for r in rows)
    parts = []
    if overflow:
        parts.append(_("exp overflows to inf for logits above about 88.7, so the naive softmax is NaN (inf/inf)")
                     if nan else _("exp overflows to inf for logits above about 88.7, so the naive softmax is broken"))
    if math.isinf(naive_loss) or math.isnan(naive_loss):
        parts.append(_("the naive loss is {naive} where LogSumExp gives {stable}").format(
            naive=shown_number(naive_loss), stable=f"{stable_loss:.4g}"))
    if not parts:
        return _("These logits are tame: naive loss {naive} {agreement} the stable {stable}.").format(
            naive=shown_number(naive_loss), agreement=agreement(naive_loss, stable_loss),
            stable=shown_number(stable_loss))
    sentence = _("; ").join(parts)
    return _("{sentence}.").format(sentence=sentence[0].upper() + sentence[1:])


def describe_difference(first: TrainConfig, second: TrainConfig) -> str:
    """What one A/B pair changes, e.g. 'lr 0.1 -> lr 0.4'."""
    fields = list(first.differences(second))
    return f"{describe_fields(first, fields)} -> {describe_fields(second, fields)}" if fields else _("nothing")

