"""ClassPolicy: who may see, start, cancel and share each run. One object, asked by every page and the
job runner's callers alike, so a rule holds however a person reaches the server (a page, a forged URL,
a scripted websocket client): hiding a button is only a courtesy.

- Outside classroom mode (no class code) the one person at the server may do everything.
- The teacher sees every run, with test accuracy, and may cancel any.
- A student sees their own runs and the shared ones, and may start, cancel and share only their own;
  their runs hold out the validation split (the board ranks on it). What they start is limited in
  compute (``budget``): no run larger than the teacher's largest (``max_run_cost``, which the teacher
  changes on the board), and no more queued or training at once, with every name from their address,
  than ``max_active_cost``; ``estimate`` says so before the click, ``start`` refuses by the same rule.
  Until the teacher's reveal, they see validation accuracy where test accuracy would be: the store's
  queries leave it out (ReadScope).
- A student in the waiting room (the teacher's switch on the board) may do nothing and see nothing
  until the teacher lets them in; waiting students don't count toward the class size.
- Only the teacher lets students in, removes them, refuses the waiting ones and sets the class size.
- Someone who has not joined may do nothing.
- A page on the projector (``Identity.on_projector``) reads what the class may see: the teacher's runs
  and every student's, but test accuracy only after the reveal, whoever signed the projector in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from softmax_core.classroom.auth import (
    CLASS_SIZE,
    MOST_COST_ALLOWED,
    MOST_STUDENTS_ALLOWED,
    WAITING_ROOM,
    ClassroomError,
    ClassroomSettings,
    NotAllowed,
    class_size,
)
from softmax_core.classroom.board import Challenge, class_challenge
from softmax_core.classroom.budget import RUN_COST_SETTING, Estimate, estimate_request
from softmax_core.config import TrainConfig
from softmax_core.errors import InputError
from softmax_core.i18n import N_, _, as_code
from softmax_core.runs.jobs import JobRunner
from softmax_core.runs.store import (
    EVERYTHING,
    NOTHING,
    ClassFull,
    ReadScope,
    RunLimitReached,
    RunRecord,
    RunRequest,
    RunStore,
    ScopedRuns,
)
from softmax_core.status import RunStatus

REVEALED = "revealed"  # the class state's key for the teacher's reveal of test accuracy


@dataclass(frozen=True)
class Identity:
    """Who a page acts for: a student (by id) or the teacher."""

    student_id: int | None = None
    name: str = ""
    is_teacher: bool = False
    projected: bool = False  # the page is on a projector: the class reads it, whoever signed it in

    def on_projector(self) -> Identity:
        """The same person with their page projected to the class (it reads no more than a student may)."""
        return replace(self, projected=True)

    @classmethod
    def teacher(cls) -> Identity:
        return cls(None, "teacher", True)

    def owns(self, run) -> bool:
        return self.student_id is not None and run.owner_id == self.student_id


class ClassPolicy:
    """The rules of one server: ``settings`` None is the single-user app."""

    def __init__(self, settings: ClassroomSettings | None, store: RunStore, runner: JobRunner | None = None):
        self.settings, self.store, self.runner = settings, store, runner

    @property
    def classroom(self) -> bool:
        return self.settings is not None

    # --- seeing --------------------------------------------------------------------------------------

    def scope(self, who: Identity | None) -> ReadScope:
        """What ``who`` may read, as the store applies it in SQL."""
        if not self.classroom:
            return EVERYTHING
        if who is not None and who.is_teacher:  # on the projector, the class reads over the teacher's shoulder
            return ReadScope(test_accuracy=self.revealed()) if who.projected else EVERYTHING
        if who is None or who.student_id is None or self.is_waiting(who):
            return NOTHING
        return ReadScope.of_student(who.student_id, test_accuracy=self.revealed())

    def reader(self, who: Identity | None) -> ScopedRuns:
        """The store's reads as ``who`` may make them."""
        return self.store.reader(self.scope(who))

    def runs_going(self, who: Identity | None, most: int) -> list[int]:
        """The runs ``who`` started that are still queued or training, newest first (at most ``most``):
        what their Train page shows when it opens with no run named, since runs outlive the tab. A
        student's are their own; the teacher's and the single user's are those no student started."""
        reader = self.reader(who)
        active = [run for status in (RunStatus.RUNNING, RunStatus.QUEUED) for run in reader.list_runs(status)]
        mine = [run for run in active if (who.owns(run) if self._is_student(who) else run.owner_id is None)]
        return sorted((run.id for run in mine), reverse=True)[:most]

    def revealed(self) -> bool:
        return bool(self.store.classroom.class_state().get(REVEALED))

    def shows_test_accuracy(self, who: Identity | None) -> bool:
        return self.scope(who).test_accuracy

    # --- starting ------------------------------------------------------------------------------------

    def prepare(self, who: Identity | None, config: TrainConfig) -> TrainConfig:
        """The config as ``who`` may train it: a student's always holds out the validation split."""
        return config.replace(validation=True) if self._is_student(who) else config

    def run_limit(self) -> int | None:
        """The largest run a student may start, in book steps: the teacher's choice on the board, else the
        class's setting (None outside classroom mode)."""
        if not self.classroom:
            return None
        return int(self.store.classroom.class_state().get(RUN_COST_SETTING) or self.settings.max_run_cost)

    def challenge_for(self, who: Identity | None) -> Challenge | None:
        """The class's challenge, which a student's runs compete in (its rule shows beside their Start);
        None for anyone else, and outside classroom mode."""
        return class_challenge(self.store.classroom.class_state()) if self._is_student(who) else None

    def set_run_limit(self, who: Identity | None, cost: int) -> None:
        """The teacher sets the largest run a student may start (book steps); it applies to the next start."""
        self._check_teacher(who, N_("only the teacher can change the largest run"))
        if isinstance(cost, bool) or not isinstance(cost, int) or not 1 <= cost <= MOST_COST_ALLOWED:
            raise InputError(_("{setting} must be a whole number of book steps from 1 to {most}, got {value}").format(
                setting=as_code(RUN_COST_SETTING), most=f"{MOST_COST_ALLOWED:,}", value=repr(cost)))
        self.store.classroom.set_class_state(RUN_COST_SETTING, cost)

    def estimate(self, who: Identity | None, configs: Sequence[TrainConfig]) -> Estimate:
        """What these runs would cost ``who`` and whether they fit the class's limits, before the click
        (the teacher and the single-user app have none)."""
        if not self._is_student(who):
            return estimate_request(configs)
        prepared = [self.prepare(who, config) for config in configs]
        return estimate_request(prepared, self.run_limit(), self.settings.max_active_cost,
                                self.store.active_cost(who.student_id))

    def start(self, who: Identity | None, requests: Sequence[RunRequest]) -> list[int]:
        """Queue the runs, all or none: a student's count against their limits as a whole, checked and
        recorded in one transaction (RunLimitReached names the limit and what would fit); someone who
        hasn't joined is NotAllowed."""
        if self.classroom and who is None:
            raise NotAllowed(_("join the class first"))
        if self.is_waiting(who):
            raise NotAllowed(_("you are waiting for your teacher to let you in"))
        if not self._is_student(who):
            return self._runner().submit_many(requests)
        prepared = [RunRequest(self.prepare(who, r.config), r.name, r.tags) for r in requests]
        estimate = self.estimate(who, [r.config for r in prepared])
        if not estimate.fits:
            raise RunLimitReached(estimate.refusal)
        return self._runner().submit_many(prepared, owner_id=who.student_id, max_active=self.settings.max_active_runs,
                                          max_cost=self.settings.max_active_cost)

    # --- cancelling and sharing ------------------------------------------------------------------------

    def may_cancel(self, who: Identity | None, run: RunRecord) -> bool:
        return not self.classroom or (who is not None and (who.is_teacher or who.owns(run)))

    def cancel(self, who: Identity | None, run_id: int) -> bool:
        """Stop a run ``who`` may cancel; False if it has already ended. NotAllowed for anyone else's (a
        run they can't see is refused the same way, so the answer says nothing of it)."""
        try:
            run = self.reader(who).get_run(run_id)
        except KeyError:
            run = None
        if run is None or not self.may_cancel(who, run):
            raise NotAllowed(_("run {run_id} belongs to another student: only its owner or the teacher can cancel "
                               "it").format(run_id=run_id))
        return self._runner().cancel(run_id)

    def may_share(self, who: Identity | None, run: RunRecord) -> bool:
        return self.classroom and who is not None and who.owns(run)

    def share(self, who: Identity | None, run_id: int, shared: bool) -> None:
        """Put a student's own run on the class board (or take it back); NotAllowed for anyone else."""
        if not self._is_student(who) or not self.store.set_shared(run_id, shared, owner_id=who.student_id):
            raise NotAllowed(_("run {run_id} isn't yours to share").format(run_id=run_id))

    # --- the teacher's powers ------------------------------------------------------------------------------

    def set_class_state(self, who: Identity | None, key: str, value) -> None:
        """The challenge, the reveal: the teacher's only."""
        self._check_teacher(who, N_("only the teacher can change the class board"))
        self.store.classroom.set_class_state(key, value)

    def remove_student(self, who: Identity | None, student_id: int) -> int:
        """Take a student out of the class: their token dies, their runs stop and leave the board;
        returns how many runs were stopped."""
        self._check_teacher(who, N_("only the teacher can remove a student"))
        active = self.store.classroom.remove_student(student_id)
        return sum(self._runner().cancel(run_id) for run_id in active)

    def remove_students(self, who: Identity | None, student_ids: Sequence[int]) -> int:
        """Take several students out at once; returns how many of their runs were stopped."""
        self._check_teacher(who, N_("only the teacher can remove a student"))
        active = self.store.classroom.remove_students(student_ids)
        return sum(self._runner().cancel(run_id) for run_id in active)

    # --- the door: the waiting room and the class size ----------------------------------------------------

    def is_waiting(self, who: Identity | None) -> bool:
        """Whether ``who`` is a student still in the waiting room (asked of the store, so that an
        admission shows at once and no page's copy of the identity can skip the wait)."""
        if not self._is_student(who):
            return False
        student = self.store.classroom.student_by_id(who.student_id)
        return student is not None and student.waiting

    def waiting_room_on(self) -> bool:
        return bool(self.store.classroom.class_state().get(WAITING_ROOM))

    def set_waiting_room(self, who: Identity | None, on: bool) -> None:
        """While on, new joins wait until the teacher lets them in (those waiting stay so when it goes off)."""
        self.set_class_state(who, WAITING_ROOM, bool(on))

    def class_size(self) -> int:
        """How many students may be let in: the teacher's number, else the configured max_students."""
        return class_size(self.settings, self.store.classroom.class_state()) if self.classroom else 0

    def set_class_size(self, who: Identity | None, size: int) -> None:
        """The teacher's class size (never below 1 nor above the most allowed); it overrides the settings."""
        self._check_teacher(who, N_("only the teacher can change the class size"))
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MOST_STUDENTS_ALLOWED:
            raise ClassroomError(_("the class size must be a whole number from 1 to {most}, got {value}").format(
                most=MOST_STUDENTS_ALLOWED, value=repr(size)))
        self.store.classroom.set_class_state(CLASS_SIZE, size)

    def admit(self, who: Identity | None, student_ids: Sequence[int]) -> list[int]:
        """Let waiting students in, all or none (ClassroomError if the class has no room for them all);
        returns the ids let in."""
        self._check_teacher(who, N_("only the teacher can let students in"))
        try:
            return self.store.classroom.admit_students(student_ids, self.class_size())
        except ClassFull as error:
            raise ClassroomError(str(error)) from None

    def refuse_waiting(self, who: Identity | None) -> int:
        """Send everyone in the waiting room away (their names are free again); returns how many."""
        self._check_teacher(who, N_("only the teacher can refuse students"))
        return self.store.classroom.drop_waiting()

    def _check_teacher(self, who: Identity | None, refusal: str) -> None:
        """``refusal``: a catalog message ('only the teacher can ...'), said in the asker's language."""
        if self.classroom and not (who is not None and who.is_teacher):
            raise NotAllowed(_(refusal))

    def _is_student(self, who: Identity | None) -> bool:
        return self.classroom and who is not None and who.student_id is not None

    def _runner(self) -> JobRunner:
        if self.runner is None:
            raise RuntimeError("this policy was made without a job runner, so it can't start or stop runs")
        return self.runner
