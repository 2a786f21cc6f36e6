"""The class board: each student's best shared run on the class's challenge, ranked by accuracy on the
validation split, and what changes when the teacher reveals test accuracy.

The ranking uses validation accuracy (10,000 training images held out with a fixed seed), never test
accuracy: the board is how the class chooses settings, and choosing by the test set would spend it.
``read_reveal`` says, from the numbers, how the ranking moves when it is ranked by test accuracy
instead, and why the book's exercise 2 must not pick the number of epochs by test accuracy.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from softmax_core.config import TrainConfig
from softmax_core.i18n import N_, _
from softmax_core.runs.store import RunRecord
from softmax_core.status import RunStatus

STATUS_WORDS = {RunStatus.DIVERGED: N_("diverged"), RunStatus.CANCELLED: N_("cancelled"),
                RunStatus.FAILED: N_("failed"), RunStatus.INTERRUPTED: N_("interrupted")}  # ended, not counted

@dataclass(frozen=True)
class Challenge:
    """What the class competes on: the best validation accuracy among runs that keep these rules."""

    key: str
    title: str  # English, a catalog msgid: shown through _()
    max_epochs: int | None = None
    batch_size: int | None = None
    must_pass_book_checks: bool = False

    def admits(self, run: RunRecord) -> bool:
        """A finished run with a validation split that keeps the rules."""
        return (run.status == RunStatus.FINISHED and run.final_val_acc is not None and not self.why_not(run.config)
                and (not self.must_pass_book_checks or bool(run.verdict and run.verdict.passed)))

    def why_not(self, config: TrainConfig) -> str:
        """Why a run of these settings can't count for the challenge, before it trains, in a student's
        words ("" : its settings keep the rules; a finished run still needs the rest, e.g. the checks)."""
        reasons = []
        if self.max_epochs is not None and config.epochs > self.max_epochs:
            reasons.append(_("{epochs} epochs: this run won't count for the challenge, which allows at most "
                             "{most}").format(epochs=config.epochs, most=self.max_epochs))
        if self.batch_size is not None and config.batch_size != self.batch_size:
            reasons.append(_("batch {batch}: this run won't count for the challenge, which needs batch "
                             "{needed}").format(batch=config.batch_size, needed=self.batch_size))
        if not config.validation:
            reasons.append(_("no validation split: this run won't count for the challenge, which ranks by "
                             "validation accuracy"))
        return _("; ").join(reasons)

    def why_run_not_counted(self, run: RunRecord) -> str:
        """Why this run, shared, won't count for the challenge ("" : it will, or may once it finishes)."""
        if reason := self.why_not(run.config):
            return reason
        if not run.is_active and run.status != RunStatus.FINISHED:
            return _("a {status} run won't count for the challenge: only finished runs do").format(
                status=_(STATUS_WORDS.get(run.status, str(run.status))))
        if self.must_pass_book_checks and run.status == RunStatus.FINISHED and not (run.verdict and run.verdict.passed):
            return _("this run didn't pass the book's checks, so it won't count for the challenge")
        return ""

    def set_up(self, config: TrainConfig) -> TrainConfig:
        """The nearest settings the challenge admits: at most its epochs, its batch size, a validation split."""
        changes: dict = {"validation": True}
        if self.max_epochs is not None and config.epochs > self.max_epochs:
            changes["epochs"] = self.max_epochs
        if self.batch_size is not None:
            changes["batch_size"] = self.batch_size
        return config.replace(**changes)

    @property
    def rules(self) -> str:
        parts = [_("finished runs with a validation split")]
        if self.max_epochs is not None:
            parts.append(_("at most {epochs} epochs").format(epochs=self.max_epochs))
        if self.batch_size is not None:
            parts.append(_("batch size {batch}").format(batch=self.batch_size))
        if self.must_pass_book_checks:
            parts.append(_("passing the book's checks"))
        return _(", ").join(parts)


CHALLENGES: dict[str, Challenge] = {c.key: c for c in (
    Challenge("best-5-epochs", N_("Best validation accuracy in at most 5 epochs"), max_epochs=5),
    Challenge("book-checks-1024", N_("Pass the book's checks with batch 1024"), batch_size=1024,
              must_pass_book_checks=True),
    Challenge("best-any", N_("Best validation accuracy, any settings")),
)}
DEFAULT_CHALLENGE = "best-5-epochs"
CHALLENGE_KEY = "challenge"  # the class-state key of the teacher's choice


def class_challenge(class_state: Mapping) -> Challenge:
    """The challenge the teacher chose on the board (the default until they choose)."""
    return CHALLENGES.get(class_state.get(CHALLENGE_KEY) or DEFAULT_CHALLENGE, CHALLENGES[DEFAULT_CHALLENGE])


@dataclass(frozen=True)
class BoardEntry:
    """One student's place on the board."""

    rank: int  # by validation accuracy, 1 = best
    student: str
    run: RunRecord
    test_rank: int | None  # where the same runs would place by test accuracy (None: not read, not revealed)

    @property
    def val_acc(self) -> float:
        return self.run.final_val_acc

    @property
    def test_acc(self) -> float:
        return self.run.final_test_acc

    @property
    def places_moved(self) -> int:
        """How many places up (positive) the entry would move if ranked by test accuracy (0: not known)."""
        return 0 if self.test_rank is None else self.rank - self.test_rank


def rank_board(runs: Iterable[RunRecord], student_names: Mapping[int, str], challenge: Challenge) -> list[BoardEntry]:
    """Each student's best admitted run by validation accuracy (ties: the earlier run), best first."""
    best: dict[int, RunRecord] = {}
    for run in sorted(runs, key=lambda r: r.id):
        if run.owner_id in student_names and challenge.admits(run):
            current = best.get(run.owner_id)
            if current is None or run.final_val_acc > current.final_val_acc:
                best[run.owner_id] = run
    by_val = sorted(best.values(), key=lambda r: (-r.final_val_acc, r.id))
    test_rank: dict[int, int] = {}
    if all(run.final_test_acc is not None for run in best.values()):  # read in a scope that shows test accuracy
        by_test = sorted(best.values(), key=lambda r: (-r.final_test_acc, r.id))
        test_rank = {run.id: place for place, run in enumerate(by_test, start=1)}
    return [BoardEntry(place, student_names[run.owner_id], run, test_rank.get(run.id))
            for place, run in enumerate(by_val, start=1)]


def read_reveal(entries: list[BoardEntry]) -> list[str]:
    """What the revealed test accuracy shows, as sentences computed from the board's numbers."""
    if len(entries) < 2:
        return [_("With fewer than two students on the board there is no ranking to compare yet.")]
    moved = [entry for entry in entries if entry.places_moved]
    gaps = [entry.val_acc - entry.test_acc for entry in entries]
    lines = [_how_the_ranking_moves(entries, moved), _how_far_the_numbers_differ(gaps)]
    lines.append(_(
        "That is why the book's exercise 2 must not pick the number of epochs by test accuracy: a choice "
        "made by looking at a number fits that number's images a little. The board chose by validation "
        "accuracy, so each run's test accuracy is still an honest estimate of how it does on images it "
        "never saw; picking by the test set would leave no such estimate."))
    return lines


def _how_the_ranking_moves(entries: list[BoardEntry], moved: list[BoardEntry]) -> str:
    if not moved:
        every = _("both") if len(entries) == 2 else _("all {count}").format(count=len(entries))
        return _("Ranked by test accuracy instead, {every} places stay the same: here validation accuracy "
                 "chose exactly as the test set would have.").format(every=every)
    biggest = max(moved, key=lambda entry: abs(entry.places_moved))
    winner = next(entry for entry in entries if entry.test_rank == 1)
    winner_text = (_("the winner stays the winner") if winner.rank == 1
                   else _("{name} (now {place}) would win").format(name=winner.student, place=_ordinal(winner.rank)))
    sentence = (_("Ranked by test accuracy instead, {moved} of {total} places change and {winner}; {name} moves "
                  "furthest, {places} place(s) up.") if biggest.places_moved > 0 else
                _("Ranked by test accuracy instead, {moved} of {total} places change and {winner}; {name} moves "
                  "furthest, {places} place(s) down."))
    return sentence.format(moved=len(moved), total=len(entries), winner=winner_text, name=biggest.student,
                           places=abs(biggest.places_moved))


def _how_far_the_numbers_differ(gaps: list[float]) -> str:
    mean_gap = statistics.fmean(gaps)
    spread = max(gaps) - min(gaps)
    sentence = (_("Validation accuracy is {gap} higher than test accuracy on average, and that gap itself varies "
                  "by {spread} between runs: two samples of images give two slightly different numbers for the "
                  "same model.") if mean_gap > 0 else
                _("Validation accuracy is {gap} lower than test accuracy on average, and that gap itself varies "
                  "by {spread} between runs: two samples of images give two slightly different numbers for the "
                  "same model."))
    return sentence.format(gap=f"{abs(mean_gap):.2%}", spread=f"{spread:.2%}")


def _ordinal(place: int) -> str:
    teens = (place // 10) % 10 == 1  # 11th, 12th, 13th
    suffix = "th" if teens else {1: "st", 2: "nd", 3: "rd"}.get(place % 10, "th")
    # the catalog's pattern: Chinese says 第 3 名 and drops the English suffix ({english_suffix:.0})
    return _("{place}{english_suffix}").format(place=place, english_suffix=suffix)
