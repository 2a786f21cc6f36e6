"""ClassStore: the class's own records beside its runs: students, the class's state (challenge, reveal),
guards that count tries (of the teacher's password, the class code, joins) and passes (the teacher's
sessions and one-time sign-in links). In the database, so that no browser can reset them, every
process of a server sees the same ones, and a restart keeps them.

Every count-then-write step holds a lock to its end (``Database.serialize``), so that parallel sessions
can't each slip past a limit between the count and the write.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from softmax_core.runs.store.database import Database
from softmax_core.runs.store.records import StudentRecord
from softmax_core.runs.store.schema import (
    class_state_table,
    guards_table,
    passes_table,
    runs_table,
    students_table,
)
from softmax_core.status import ACTIVE_STATUSES

_ACTIVE = [status.value for status in ACTIVE_STATUSES]


class ClassFull(ValueError):
    """The class already has as many students as it allows."""


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

    def add_student(self, name: str, token_digest: str, joined_from: str = "", max_students: int | None = None) -> int:
        """Record a student; KeyError if the name (in any case) is taken, ClassFull past ``max_students``."""
        with self.database.writing() as conn:
            self.database.serialize(conn, "lock:roster")
            if conn.execute(sa.select(students_table.c.id).where(students_table.c.name_key == name.lower())).first():
                raise KeyError(f"the name {name!r} is taken in this class")
            if max_students is not None and self._student_count(conn) >= max_students:
                raise ClassFull(f"this class is full ({max_students} students); ask your teacher")
            row = {"name": name, "name_key": name.lower(), "token_digest": token_digest,
                   "joined_at": self.database.now(), "joined_from": joined_from[:64]}
            return int(conn.execute(students_table.insert().values(**row)).inserted_primary_key[0])

    @staticmethod
    def _student_count(conn) -> int:
        query = sa.select(sa.func.count()).select_from(students_table).where(students_table.c.removed_at.is_(None))
        return int(conn.execute(query).scalar())

    def owner_group(self, student_id: int) -> str:
        """Whose turn a student's runs take and whose workers they count as: their address's (two names
        joined from one computer are one group), or their own where no address is known."""
        query = sa.select(students_table.c.joined_from).where(students_table.c.id == student_id)
        with self.database.reading() as conn:
            address = conn.execute(query).scalar()
        return f"address:{address}" if address else f"student:{student_id}"

    def student_by_token(self, token_digest: str) -> StudentRecord | None:
        """The student this token signs in, unless they were removed."""
        return self._one_student(sa.and_(students_table.c.token_digest == token_digest,
                                         students_table.c.removed_at.is_(None)))

    def student_named(self, name: str) -> StudentRecord | None:
        return self._one_student(students_table.c.name_key == name.lower())

    def list_students(self) -> list[StudentRecord]:
        """The students in the class (not the removed ones), in the order they joined."""
        query = (sa.select(*self._student_columns()).where(students_table.c.removed_at.is_(None))
                 .order_by(students_table.c.id))
        with self.database.reading() as conn:
            return [StudentRecord(*row) for row in conn.execute(query)]

    def rotate_token(self, student_id: int, new_digest: str) -> bool:
        """Give a student a new token: every link and browser holding the old one is signed out."""
        with self.database.writing() as conn:
            updated = conn.execute(students_table.update().where(
                students_table.c.id == student_id, students_table.c.removed_at.is_(None)).values(
                token_digest=new_digest))
            return updated.rowcount == 1

    def remove_student(self, student_id: int) -> list[int]:
        """Take a student out of the class: their token signs nobody in any more and their runs are no
        longer shared; returns their runs still queued or training (for the caller to cancel)."""
        dead_token = f"removed:{student_id}:{secrets.token_hex(8)}"  # unique, and no token hashes to it
        with self.database.writing() as conn:
            conn.execute(students_table.update().where(students_table.c.id == student_id).values(
                removed_at=self.database.now(), token_digest=dead_token))
            conn.execute(runs_table.update().where(runs_table.c.owner_id == student_id).values(shared=False))
            active = sa.select(runs_table.c.id).where(runs_table.c.owner_id == student_id,
                                                      runs_table.c.status.in_(_ACTIVE))
            return list(conn.execute(active).scalars())

    def _one_student(self, condition) -> StudentRecord | None:
        with self.database.reading() as conn:
            row = conn.execute(sa.select(*self._student_columns()).where(condition)).first()
        return StudentRecord(*row) if row else None

    @staticmethod
    def _student_columns() -> list:
        return [students_table.c.id, students_table.c.name, students_table.c.joined_at, students_table.c.joined_from]

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

    def add_pass(self, digest: str, role: str, seconds: float, single_use: bool = False) -> None:
        with self.database.writing() as conn:
            conn.execute(passes_table.delete().where(passes_table.c.expires_at < self.database.now()))
            conn.execute(passes_table.insert().values(digest=digest, role=role, single_use=single_use,
                                                      expires_at=self.database.now() + seconds))

    def use_pass(self, digest: str, role: str) -> bool:
        """Whether this pass is valid for the role now; a single-use pass is spent by the asking."""
        valid = sa.and_(passes_table.c.digest == digest, passes_table.c.role == role,
                        passes_table.c.expires_at > self.database.now())
        with self.database.reading() as conn:
            found = conn.execute(sa.select(passes_table.c.single_use).where(valid)).first()
        if found is None or not found.single_use:
            return found is not None
        with self.database.writing() as conn:  # spent once: of two sessions racing for it, one wins
            return conn.execute(passes_table.delete().where(valid)).rowcount == 1

    def drop_pass(self, digest: str) -> None:
        with self.database.writing() as conn:
            conn.execute(passes_table.delete().where(passes_table.c.digest == digest))
