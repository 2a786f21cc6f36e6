"""ReadScope: which runs a reader may see, and whether it may see their test accuracy, as the store's
queries apply it in SQL. The classroom's policy decides the scope of each person; the store only obeys
it, so no page can read past it by asking the store a different way. The scope also says how a run it
reads is shown (``shown``): the row mapper only maps."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from softmax_core.metric_registry import Split, shown_to
from softmax_core.runs.store.records import RunRecord, judged_on_validation
from softmax_core.runs.store.schema import runs_table


@dataclass(frozen=True)
class ReadScope:
    """Every run (``everyone``), or one student's runs and those shared to the class; with or without
    test accuracy (hidden, a reader sees validation accuracy where test accuracy would be)."""

    everyone: bool = True
    student_id: int | None = None  # without ``everyone``: whose runs (None: no run at all)
    test_accuracy: bool = True

    @classmethod
    def of_student(cls, student_id: int, test_accuracy: bool) -> ReadScope:
        return cls(everyone=False, student_id=student_id, test_accuracy=test_accuracy)

    def shows(self, split: Split) -> bool:
        """Whether this reader sees what is measured on ``split`` (the registry's one rule)."""
        return shown_to(split, self.test_accuracy)

    def shown(self, run: RunRecord) -> RunRecord:
        """The run as this scope sees it: without test accuracy, its verdict judged on validation."""
        return run if self.test_accuracy else judged_on_validation(run)

    def runs_condition(self) -> sa.ColumnElement:
        """The SQL condition on the runs table for the runs in this scope."""
        if self.everyone:
            return sa.true()
        if self.student_id is None:
            return sa.false()
        return sa.or_(runs_table.c.owner_id == self.student_id, runs_table.c.shared.is_(True))


EVERYTHING = ReadScope()
NOTHING = ReadScope(everyone=False, student_id=None, test_accuracy=False)
