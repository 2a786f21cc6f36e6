"""Who is who in classroom mode: the class's settings, the teacher's password hash, students' tokens and
display names, and the ``ClassDoor`` that lets people in: students join with the class code and a name,
the teacher with the password or a pass from the server's console.

Every try at the door is counted in the store before it is checked (``ClassStore.take_try``), per
address and for the whole class, so that parallel sessions get no extra guesses, no browser can reset
the count, and a restart keeps it. One student guessing locks only their own address out at first;
and however the door is blocked, the person at the server can let the teacher in with a one-time link
(``python -m softmax_core teacher-link``).
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import hmac
import os
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from softmax_core.runs.store import ClassFull, ClassStore, GuardRule, StudentRecord

CLASS_CODE_ENV_VAR = "SOFTMAX_LAB_CLASS_CODE"
TEACHER_PASSWORD_ENV_VAR = "SOFTMAX_LAB_TEACHER_PASSWORD"
MAX_ACTIVE_ENV_VAR = "SOFTMAX_LAB_MAX_ACTIVE_RUNS"
MAX_RUN_COST_ENV_VAR = "SOFTMAX_LAB_MAX_RUN_COST"
MAX_ACTIVE_COST_ENV_VAR = "SOFTMAX_LAB_MAX_ACTIVE_COST"
# Compute is counted in book steps (config.run_cost; the book's 10-epoch run costs 2,350). The largest run:
# the book's 40-epoch exercise (9,400) fits, one epoch at batch 1 (60,000) does not, and no allowed run has
# an epoch longer than about a second here, so a run that must yield its worker does so within seconds.
DEFAULT_MAX_RUN_COST = 10_000
# What a student's group may have queued or training at once: Exercise 2's five 40-epoch seeds (5 x 7,840
# with the validation split students hold out) and a 3x3 sweep of 10 epochs (17,640) fit.
DEFAULT_MAX_ACTIVE_COST = 40_000
MOST_COST_ALLOWED = 10_000_000  # the largest cost limit a class may set (500 epochs at batch 1 is 30 million)
# A second guard, on rows rather than compute: a sweep's largest grid (sweeps.DEFAULT_MAX_RUNS) fits.
DEFAULT_MAX_ACTIVE_RUNS = 64
MOST_ACTIVE_RUNS_ALLOWED = 200  # the largest per-student limit a class may set
DEFAULT_MAX_STUDENTS = 60
TOKEN_BYTES = 32  # 256 bits
NAME_MAX_LENGTH = 40
RESERVED_NAMES = {"teacher", "the teacher"}
TEACHER_SESSION_SECONDS = 12 * 3600
TEACHER_LINK_SECONDS = 600
SECTION = "classroom"
SETTING_KEYS = ("code", "teacher_password_hash", "max_active_runs", "max_students", "max_run_cost",
                "max_active_cost")
_HASH_SCHEME = "scrypt"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1

# tries at the door: per address, and for the whole class (what a student changing address still meets)
PASSWORD_TRIES = {"address": GuardRule(5, 2.0, 300.0), "class": GuardRule(20, 2.0, 300.0)}
CODE_TRIES = {"address": GuardRule(10, 2.0, 300.0), "class": GuardRule(60, 2.0, 300.0)}
JOINS = {"address": GuardRule(3, 60.0, 3600.0)}  # names joined from one address: 3, then a growing wait


class ClassroomError(ValueError):
    """A classroom action can't be done (bad code, name taken, misconfigured); the message says why."""


class NotAllowed(ClassroomError):
    """The acting person may not do this (e.g. cancel another student's run), or not yet (too many tries)."""


# --- the teacher's password ---------------------------------------------------------------------------

def hash_password(password: str, salt: bytes | None = None) -> str:
    """A salted scrypt hash, as text: 'scrypt$16384$8$1$<salt>$<hash>' (base64)."""
    if not password:
        raise ClassroomError("the teacher's password must not be empty")
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    encode = base64.b64encode
    return f"{_HASH_SCHEME}${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"


def is_password_hash(text: str) -> bool:
    return text.startswith(f"{_HASH_SCHEME}$") and text.count("$") == 5


def verify_password(password: str, stored_hash: str) -> bool:
    """Whether ``password`` matches the hash (in constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored_hash.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return scheme == _HASH_SCHEME and hmac.compare_digest(actual, expected)


# --- tokens and names ------------------------------------------------------------------------------------

def new_token() -> str:
    """A secret: 256 random bits, URL-safe text."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What the store keeps of a token (so the database alone can't be used to act as someone)."""
    return hashlib.sha256(token.encode()).hexdigest()


def clean_display_name(name: str) -> str:
    """A display name as given, trimmed; ClassroomError if empty, too long, reserved, or holding invisible
    or direction-changing characters (which could make one name look like another)."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ClassroomError("display name: type the name your class will see")
    if len(cleaned) > NAME_MAX_LENGTH:
        raise ClassroomError(f"display name: at most {NAME_MAX_LENGTH} characters, got {len(cleaned)}")
    hidden = sorted({f"U+{ord(c):04X}" for c in cleaned if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs")})
    if hidden:
        raise ClassroomError(f"display name: no invisible or control characters ({', '.join(hidden)})")
    if cleaned.casefold().strip(" .!:-_") in RESERVED_NAMES:
        raise ClassroomError(f"display name: {cleaned!r} is kept for the teacher; choose another")
    return cleaned


# --- settings ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClassroomSettings:
    """What turns classroom mode on, and its limits."""

    code: str
    teacher_password_hash: str = ""  # "" : nobody can log in with a password (a console link still works)
    max_active_runs: int = DEFAULT_MAX_ACTIVE_RUNS  # per student, queued or training
    max_students: int = DEFAULT_MAX_STUDENTS
    max_run_cost: int = DEFAULT_MAX_RUN_COST  # the largest run a student may start (book steps; the board changes it)
    max_active_cost: int = DEFAULT_MAX_ACTIVE_COST  # book steps queued or training per student and address

    def code_matches(self, typed: str) -> bool:
        return hmac.compare_digest(typed.strip().lower().encode(), self.code.strip().lower().encode())


def load_classroom_settings(secrets_file: Mapping[str, Any] | None = None,
                            environ: Mapping[str, str] = os.environ) -> ClassroomSettings | None:
    """The classroom settings from the environment, else from secrets.toml's [classroom]; None if neither
    names a class code. It fails closed: a misspelled table, a setting outside it or an unknown key in it
    is a ClassroomError, never a silently single-user server."""
    section = _classroom_section(dict(secrets_file or {}))
    code = environ.get(CLASS_CODE_ENV_VAR) or str(section.get("code", ""))
    if not code.strip():
        if section:
            raise ClassroomError(f"secrets.toml's [{SECTION}] has no code: set code = \"...\" (what students type)")
        return None
    password = environ.get(TEACHER_PASSWORD_ENV_VAR) or str(section.get("teacher_password_hash", ""))
    if password and not is_password_hash(password):
        password = hash_password(password)
    limit = _whole_number("max_active_runs", environ.get(MAX_ACTIVE_ENV_VAR) or section.get(
        "max_active_runs", DEFAULT_MAX_ACTIVE_RUNS), MOST_ACTIVE_RUNS_ALLOWED)
    students = _whole_number("max_students", section.get("max_students", DEFAULT_MAX_STUDENTS), 1000)
    run_cost = _whole_number("max_run_cost", environ.get(MAX_RUN_COST_ENV_VAR) or section.get(
        "max_run_cost", DEFAULT_MAX_RUN_COST), MOST_COST_ALLOWED)
    active_cost = _whole_number("max_active_cost", environ.get(MAX_ACTIVE_COST_ENV_VAR) or section.get(
        "max_active_cost", DEFAULT_MAX_ACTIVE_COST), MOST_COST_ALLOWED)
    return ClassroomSettings(code.strip(), password, limit, students, run_cost, active_cost)


def _classroom_section(secrets_file: dict[str, Any]) -> dict[str, Any]:
    for key in secrets_file:
        if key != SECTION and _looks_like(key, SECTION):
            raise ClassroomError(f"secrets.toml has a [{key}] table: classroom settings belong in [{SECTION}], "
                                 "so classroom mode is not on and the app serves nothing until that is fixed")
        if key in SETTING_KEYS:
            raise ClassroomError(f"secrets.toml sets {key!r} outside any table: put it under [{SECTION}]")
    section = secrets_file.get(SECTION, {})
    if not isinstance(section, Mapping):
        raise ClassroomError(f"secrets.toml's {SECTION} must be a table ([{SECTION}]), got {section!r}")
    for key in section:
        if key not in SETTING_KEYS:
            near = difflib.get_close_matches(key, SETTING_KEYS, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ClassroomError(f"secrets.toml's [{SECTION}] has an unknown setting {key!r}{hint}; "
                                 f"the settings are {', '.join(SETTING_KEYS)}")
    return dict(section)


def _looks_like(key: str, name: str) -> bool:
    simple = "".join(c for c in key.casefold() if c.isalnum())
    return simple == name or difflib.SequenceMatcher(None, simple, name).ratio() >= 0.8


def _whole_number(name: str, value: Any, most: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not 1 <= number <= most or isinstance(value, bool):
        raise ClassroomError(f"{name} must be a whole number from 1 to {most}, got {value!r}")
    return number


# --- the door ---------------------------------------------------------------------------------------------

class ClassDoor:
    """Lets people in: students by the class code and a name, the teacher by password or pass. Every
    try is counted before it is checked; a refused try says how long to wait."""

    def __init__(self, settings: ClassroomSettings, classes: ClassStore):
        self.settings, self.classes = settings, classes

    def join(self, code: str, name: str, address: str) -> tuple[StudentRecord, str]:
        """A new student and their token; ClassroomError saying why not (wrong code, name, too many)."""
        name = clean_display_name(name)
        if not self._try("class-code", CODE_TRIES, address, lambda: self.settings.code_matches(code)):
            raise ClassroomError("That is not this class's code: ask your teacher for it.")
        self._wait_or_refuse(self.classes.take_try(_keys("join", JOINS, address)), "new names from this computer")
        token = new_token()
        try:
            student_id = self.classes.add_student(name, token_digest(token), address, self.settings.max_students)
        except KeyError:
            raise ClassroomError(f"The name {name} is taken in this class: choose another.") from None
        except ClassFull as error:
            raise ClassroomError(str(error)) from None
        return StudentRecord(student_id, name, 0.0, address), token

    def student_for(self, token: str) -> StudentRecord | None:
        return self.classes.student_by_token(token_digest(token)) if token else None

    def new_token_for(self, student_id: int) -> str:
        """Sign a student out everywhere: a new token replaces the old one; returns the new one."""
        token = new_token()
        if not self.classes.rotate_token(student_id, token_digest(token)):
            raise NotAllowed("you are no longer in this class")
        return token

    def teacher_logs_in(self, password: str, address: str) -> str:
        """A teacher's session token for the right password; ClassroomError for a wrong one or a wait."""
        stored = self.settings.teacher_password_hash
        if not stored:
            raise ClassroomError("no teacher's password is configured: use a link from "
                                 "'python -m softmax_core teacher-link' on the server")
        if not self._try("teacher-password", PASSWORD_TRIES, address, lambda: verify_password(password, stored)):
            raise ClassroomError("Wrong password.")
        return self._teacher_session()

    def teacher_from_link(self, link_token: str) -> str:
        """A teacher's session token for an unspent one-time link (made on the server's console)."""
        if not self.classes.use_pass(token_digest(link_token), "teacher-link"):
            raise ClassroomError("This teacher's link was used already or has expired: make a new one with "
                                 "'python -m softmax_core teacher-link' on the server.")
        return self._teacher_session()

    def is_teacher_session(self, session_token: str) -> bool:
        return bool(session_token) and self.classes.use_pass(token_digest(session_token), "teacher")

    def end_teacher_session(self, session_token: str) -> None:
        self.classes.drop_pass(token_digest(session_token))

    def _teacher_session(self) -> str:
        token = new_token()
        self.classes.add_pass(token_digest(token), "teacher", TEACHER_SESSION_SECONDS)
        return token

    def _try(self, name: str, rules: dict[str, GuardRule], address: str, check: Callable[[], bool]) -> bool:
        keys = _keys(name, rules, address)
        self._wait_or_refuse(self.classes.take_try(keys), f"tries of the {name.replace('-', ' ')}")
        if check():
            self.classes.clear_tries(keys)
            return True
        return False

    @staticmethod
    def _wait_or_refuse(wait: float, what: str) -> None:
        if wait > 0:
            raise NotAllowed(f"too many {what}: try again in {max(1, round(wait))} s")


def make_teacher_link(classes: ClassStore) -> str:
    """A one-time sign-in token for the teacher (the server's console hands it out; valid 10 minutes)."""
    token = new_token()
    classes.add_pass(token_digest(token), "teacher-link", TEACHER_LINK_SECONDS, single_use=True)
    return token


def _keys(name: str, rules: dict[str, GuardRule], address: str) -> dict[str, GuardRule]:
    """The guards' keys of one kind of try: per address, and for the whole class."""
    keys = {"address": f"{name}@{address or 'local'}", "class": f"{name}@class"}
    return {keys[scope]: rule for scope, rule in rules.items()}
