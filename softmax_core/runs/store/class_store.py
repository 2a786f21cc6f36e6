"""ClassStore: the class's own records beside its runs: students (admitted, or in the waiting room until
the teacher lets them in) and their devices (one token per browser), the class's state (challenge,
reveal), guards that count tries (of the teacher's password, the class code, joins) and passes (the
teacher's sessions and one-time sign-in passes). In the database, so that no browser can reset them,
every process of a server sees the same ones, and a restart keeps them.

Every count-then-write step holds a lock to its end (``Database.serialize``), so that parallel sessions
can't each slip past a limit between the count and the write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from softmax_core.errors import LabError
from softmax_core.i18n import N_, _
from softmax_core.runs.store.database import Database
from softmax_core.runs.store.records import StudentRecord
from softmax_core.runs.store.schema import (
    class_state_table,
    devices_table,
    guards_table,
    passes_table,
    runs_table,
    students_table,
)
from softmax_core.status import ACTIVE_STATUSES

_ACTIVE = [status.value for status in ACTIVE_STATUSES]


class ClassFull(LabError, ValueError):
    """The class already has as many students as it allows."""


class NameTaken(LabError, ValueError):
    """Another student has this name, or one that looks just like it."""


@dataclass(frozen=True)
class GuardRule:
    """How many tries a key gets, and how long it then waits: after ``free_tries`` the wait starts at
    ``first_wait`` and doubles with each further try, up to ``max_wait``; a key left alone for
    ``forget_after`` seconds starts afresh."""

    free_tries: int
    first_wait: float
    max_wait: float
    forget_after: float = 3600.0

    def wait_after(self, tries: int) -> float:
        """Seconds a key waits after its ``tries``-th counted try."""
        extra = tries - self.free_tries
        return 0.0 if extra < 0 else min(self.max_wait, self.first_wait * 2.0**extra)


class ClassStore:
    """Students, the class's state, guards and passes, on the run database."""

    def __init__(self, database: Database):
        self.database = database

    # --- students ------------------------------------------------------------------------------------

    def add_student(self, name: str, joined_from: str = "", max_students: int | None = None,
                    waiting: bool = False, max_waiting: int | None = None, *, name_key: str) -> int:
        """Record a student, admitted at once or (``waiting``) in the waiting room; KeyError if ``name_key``
        (the name's canonical form, which the caller computes: the classroom's names module owns the rule) is
        taken (NameTaken), ClassFull past ``max_students`` admitted or ``max_waiting`` waiting."""
        with self.database.writing() as conn:
            self.database.serialize(conn, "lock:roster")
            if conn.execute(sa.select(students_table.c.id).where(students_table.c.name_key == name_key)).first():
                raise NameTaken(N_("the name {name} is taken in this class"), name=repr(name))
            if waiting and max_waiting is not None and self._student_count(conn, waiting=True) >= max_waiting:
                raise ClassFull(_("the waiting room is full ({waiting} waiting); ask your teacher to let "
                                  "people in").format(waiting=max_waiting))
            if not waiting and max_students is not None and self._student_count(conn) >= max_students:
                raise ClassFull(_("this class is full ({students} students); ask your teacher").format(
                    students=max_students))
            now = self.database.now()
            row = {"name": name, "name_key": name_key, "joined_at": now, "joined_from": joined_from[:64],
                   "admitted_at": None if waiting else now}
            return int(conn.execute(students_table.insert().values(**row)).inserted_primary_key[0])

    @staticmethod
    def _student_count(conn, waiting: bool = False) -> int:
        """Students in the class: the admitted ones, or (``waiting``) those in the waiting room."""
        admitted = students_table.c.admitted_at
        query = sa.select(sa.func.count()).select_from(students_table).where(
            students_table.c.removed_at.is_(None), admitted.is_(None) if waiting else admitted.is_not(None))
        return int(conn.execute(query).scalar())

    def admit_students(self, student_ids, max_students: int) -> list[int]:
        """Let waiting students in, all or none: ClassFull if they would take the class past
        ``max_students``; returns the ids let in (those still waiting; others are left as they are)."""
        with self.database.writing() as conn:
            self.database.serialize(conn, "lock:roster")
            waiting = list(conn.execute(sa.select(students_table.c.id).where(
                students_table.c.id.in_(list(student_ids)), students_table.c.removed_at.is_(None),
                students_table.c.admitted_at.is_(None))).scalars())
            room = max_students - self._student_count(conn)
            if len(waiting) > room:
                raise ClassFull(_("the class has room for {room} more of its {students}, and {chosen} were "
                                  "chosen: raise the class size first").format(
                    room=max(room, 0), students=max_students, chosen=len(waiting)))
            conn.execute(students_table.update().where(students_table.c.id.in_(waiting)).values(
                admitted_at=self.database.now()))
            return waiting

    def owner_group(self, student_id: int) -> str:
        """Whose turn a student's runs take and whose workers they count as: their address's (two names
        joined from one computer are one group), or their own where no address is known."""
        query = sa.select(students_table.c.joined_from).where(students_table.c.id == student_id)
        with self.database.reading() as conn:
            address = conn.execute(query).scalar()
        return f"address:{address}" if address else f"student:{student_id}"

    def student_by_device(self, digest: str) -> StudentRecord | None:
        """The student this device's token signs in, unless they were removed."""
        query = (sa.select(*self._student_columns())
                 .join(devices_table, devices_table.c.student_id == students_table.c.id)
                 .where(devices_table.c.digest == digest, students_table.c.removed_at.is_(None)))
        with self.database.reading() as conn:
            row = conn.execute(query).first()
        return StudentRecord(*row) if row else None

    def student_by_id(self, student_id: int) -> StudentRecord | None:
        """The student with this id, unless they were removed."""
        return self._one_student(sa.and_(students_table.c.id == student_id, students_table.c.removed_at.is_(None)))

    def drop_waiting(self) -> int:
        """Forget everyone still in the waiting room (they never had runs; their names are free again);
        returns how many."""
        with self.database.writing() as conn:
            self.database.serialize(conn, "lock:roster")
            waiting = sa.and_(students_table.c.admitted_at.is_(None), students_table.c.removed_at.is_(None))
            ids = list(conn.execute(sa.select(students_table.c.id).where(waiting)).scalars())
            conn.execute(devices_table.delete().where(devices_table.c.student_id.in_(ids)))
            conn.execute(passes_table.delete().where(passes_table.c.student_id.in_(ids)))
            return conn.execute(students_table.delete().where(students_table.c.id.in_(ids))).rowcount

    def student_named(self, name_key: str) -> StudentRecord | None:
        """The student (removed or not) whose name has this canonical form (``canonical_name``)."""
        return self._one_student(students_table.c.name_key == name_key)

    def list_students(self, waiting: bool | None = None) -> list[StudentRecord]:
        """The students in the class (not the removed ones), in the order they joined: all of them, or
        only those waiting (``waiting=True``) or only those admitted (``waiting=False``)."""
        query = (sa.select(*self._student_columns()).where(students_table.c.removed_at.is_(None))
                 .order_by(students_table.c.id))
        if waiting is not None:
            admitted = students_table.c.admitted_at
            query = query.where(admitted.is_(None) if waiting else admitted.is_not(None))
        with self.database.reading() as conn:
            return [StudentRecord(*row) for row in conn.execute(query)]

    def add_device(self, student_id: int, digest: str) -> bool:
        """Sign one more browser in as this student; False if they were removed (then nothing is added)."""
        with self.database.writing() as conn:
            in_class = conn.execute(sa.select(students_table.c.id).where(
                students_table.c.id == student_id, students_table.c.removed_at.is_(None))).first()
            if in_class is not None:
                conn.execute(devices_table.insert().values(digest=digest, student_id=student_id,
                                                           created_at=self.database.now()))
            return in_class is not None

    def drop_device(self, digest: str) -> None:
        with self.database.writing() as conn:
            conn.execute(devices_table.delete().where(devices_table.c.digest == digest))

    def drop_devices(self, student_id: int, keep: str = "") -> int:
        """Sign a student out on every device but ``keep`` (a digest), and spend their unused sign-in passes;
        how many devices were signed out."""
        with self.database.writing() as conn:
            conn.execute(passes_table.delete().where(passes_table.c.student_id == student_id))
            return conn.execute(devices_table.delete().where(
                devices_table.c.student_id == student_id, devices_table.c.digest != keep)).rowcount

    def remove_student(self, student_id: int) -> list[int]:
        """Take a student out of the class: none of their devices or passes signs anybody in any more and
        their runs are no longer shared; returns their runs still queued or training (for the caller to
        cancel)."""
        return self.remove_students([student_id])

    def remove_students(self, student_ids) -> list[int]:
        """Take several students out at once (one transaction); returns their runs still going."""
        ids = list(student_ids)
        with self.database.writing() as conn:
            conn.execute(students_table.update().where(students_table.c.id.in_(ids)).values(
                removed_at=self.database.now()))
            conn.execute(devices_table.delete().where(devices_table.c.student_id.in_(ids)))
            conn.execute(passes_table.delete().where(passes_table.c.student_id.in_(ids)))
            conn.execute(runs_table.update().where(runs_table.c.owner_id.in_(ids)).values(shared=False))
            active = sa.select(runs_table.c.id).where(runs_table.c.owner_id.in_(ids), runs_table.c.status.in_(_ACTIVE))
            return list(conn.execute(active).scalars())

    def _one_student(self, condition) -> StudentRecord | None:
        with self.database.reading() as conn:
            row = conn.execute(sa.select(*self._student_columns()).where(condition)).first()
        return StudentRecord(*row) if row else None

    @staticmethod
    def _student_columns() -> list:
        columns = students_table.c
        return [columns.id, columns.name, columns.joined_at, columns.joined_from, columns.admitted_at]

    # --- the class's state -----------------------------------------------------------------------------

    def class_state(self) -> dict[str, Any]:
        """The class's settings that the teacher changes on the page (challenge, revealed)."""
        with self.database.reading() as conn:
            return dict(conn.execute(sa.select(class_state_table.c.key, class_state_table.c.value)).all())

    def set_class_state(self, key: str, value: Any) -> None:
        with self.database.writing() as conn:
            updated = conn.execute(class_state_table.update().where(class_state_table.c.key == key)
                                   .values(value=value))
            if updated.rowcount == 0:
                conn.execute(class_state_table.insert().values(key=key, value=value))

    # --- guards: tries counted per key -------------------------------------------------------------------

    def take_try(self, rules: Mapping[str, GuardRule]) -> float:
        """Count one try against every key, before the try is made (so parallel tries are each counted):
        0.0 if it may go ahead, else the seconds until it may, and nothing is counted."""
        keys = sorted(rules)
        with self.database.writing() as conn:
            for key in keys:
                self.database.serialize(conn, key)
            now = self.database.clock(conn)
            rows = {row.key: row for row in conn.execute(sa.select(guards_table).where(guards_table.c.key.in_(keys)))}
            wait = max(rows[key].blocked_until - now for key in keys)
            if wait > 0:
                return wait
            for key in keys:
                row, rule = rows[key], rules[key]
                tries = 1 if now - row.last_at > rule.forget_after else row.failures + 1
                conn.execute(guards_table.update().where(guards_table.c.key == row.key).values(
                    failures=tries, last_at=now, blocked_until=now + rule.wait_after(tries)))
            return 0.0

    def clear_tries(self, keys) -> None:
        """Start these keys afresh (a right password: its tries are forgiven)."""
        with self.database.writing() as conn:
            conn.execute(guards_table.update().where(guards_table.c.key.in_(list(keys)))
                         .values(failures=0, blocked_until=0.0))

    def seconds_blocked(self, key: str) -> float:
        """How long tries under this key are still refused (0 if they aren't)."""
        with self.database.reading() as conn:
            until = conn.execute(sa.select(guards_table.c.blocked_until).where(
                guards_table.c.key == key)).scalar()
            return max(0.0, (until or 0.0) - self.database.clock(conn))

    # --- passes: the teacher's sessions and one-time links ----------------------------------------------

    def add_pass(self, digest: str, role: str, seconds: float, single_use: bool = False,
                 student_id: int | None = None) -> None:
        with self.database.writing() as conn:
            conn.execute(passes_table.delete().where(passes_table.c.expires_at < self.database.now()))
            conn.execute(passes_table.insert().values(digest=digest, role=role, single_use=single_use,
                                                      expires_at=self.database.now() + seconds,
                                                      student_id=student_id))

    def use_pass(self, digest: str, role: str) -> bool:
        """Whether this pass is valid for the role now; a single-use pass is spent by the asking."""
        return self.spend_pass(digest, (role,)) is not None

    def peek_pass(self, digest: str, roles: tuple[str, ...]) -> tuple[str, int | None] | None:
        """(role, student id) of a valid pass of one of these roles, without spending it; None if none."""
        with self.database.reading() as conn:
            found = conn.execute(sa.select(passes_table.c.role, passes_table.c.student_id)
                                 .where(self._valid_pass(digest, roles))).first()
        return (found.role, found.student_id) if found else None

    def spend_pass(self, digest: str, roles: tuple[str, ...]) -> tuple[str, int | None] | None:
        """(role, student id) of a valid pass of one of these roles, spent if it is single-use (of two
        sessions racing for it, one wins); None if there is no such pass."""
        valid = self._valid_pass(digest, roles)
        with self.database.reading() as conn:
            found = conn.execute(sa.select(passes_table.c.role, passes_table.c.student_id,
                                           passes_table.c.single_use).where(valid)).first()
        if found is None or not found.single_use:
            return (found.role, found.student_id) if found else None
        with self.database.writing() as conn:
            spent = conn.execute(passes_table.delete().where(valid)).rowcount == 1
        return (found.role, found.student_id) if spent else None

    def _valid_pass(self, digest: str, roles: tuple[str, ...]):
        return sa.and_(passes_table.c.digest == digest, passes_table.c.role.in_(roles),
                       passes_table.c.expires_at > self.database.now())

    def drop_pass(self, digest: str) -> None:
        with self.database.writing() as conn:
            conn.execute(passes_table.delete().where(passes_table.c.digest == digest))
