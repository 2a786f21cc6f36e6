"""Who a page acts for (a student, the teacher, or nobody in the single-user app) and what each may do
with a run: see it, cancel it.
"""

from __future__ import annotations

from dataclasses import dataclass

from softmax_core.classroom.auth import NotAllowed


@dataclass(frozen=True)
class Identity:
    """Who a page acts for: a student (by id) or the teacher."""

    student_id: int | None = None
    name: str = ""
    is_teacher: bool = False

    @classmethod
    def teacher(cls) -> Identity:
        return cls(None, "teacher", True)

    def owns(self, run) -> bool:
        return self.student_id is not None and run.owner_id == self.student_id

    def can_see(self, run) -> bool:
        """The teacher sees every run; a student their own and the ones shared to the board."""
        return self.is_teacher or self.owns(run) or bool(run.shared)

    def check_can_cancel(self, run) -> None:
        """NotAllowed unless this is the run's owner or the teacher."""
        if not (self.is_teacher or self.owns(run)):
            raise NotAllowed(f"run {run.id} belongs to another student: only its owner or the teacher "
                             "can cancel it")
