"""Who is who in classroom mode: the class's settings, the teacher's password hash, students' display
names and devices, and the ``ClassDoor`` that lets people in: students join with the class code and a
name, the teacher with the password or a link from the server's console.

Nothing the door hands to a page signs anyone in by itself for long: a join, the teacher's password, a
console link and a student's "sign in on another device" link each give a one-time pass, short-lived and
spent by its first use (``ClassDoor.sign_in``), which the server's sign-in route trades for the token it
keeps in the browser's HttpOnly cookie: a new device token for a student (one per browser, so one
browser can be signed out without the others), or a teacher's session.

Every try at the door is counted in the store before it is checked (``ClassStore.take_try``), per
address, so that parallel sessions get no extra guesses, no browser can reset the count, and a restart
keeps it. Only the guessing address waits: there is no class-wide count, because any such count lets
wrong tries from other addresses refuse the right code or password (the door locked on the right
answer). Guessing stays hopeless by the code's size instead (``class_code``: a generated code has 42
bits, and the server warns about a weak one), and with the waiting room on a guessed code only gets a
name into a list the teacher can refuse. The person at the server can always let the teacher in with
a one-time link (``python -m softmax_core teacher-link``).
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

from softmax_core.classroom.names import canonical_name, has_letter_or_digit
from softmax_core.errors import LabError
from softmax_core.i18n import N_, _, as_code
from softmax_core.runs.store import THIS_MACHINE, ClassFull, ClassStore, GuardRule, NameTaken, StudentRecord
from softmax_core.settings import (
    DEFAULT_MAX_ACTIVE_COST,
    DEFAULT_MAX_ACTIVE_RUNS,
    DEFAULT_MAX_RUN_COST,
    MOST_ACTIVE_RUNS_ALLOWED,
    MOST_COST_ALLOWED,
    server_settings,
)

CLASS_CODE_ENV_VAR = "SOFTMAX_LAB_CLASS_CODE"
TEACHER_PASSWORD_ENV_VAR = "SOFTMAX_LAB_TEACHER_PASSWORD"
MAX_ACTIVE_ENV_VAR = "SOFTMAX_LAB_MAX_ACTIVE_RUNS"
MAX_RUN_COST_ENV_VAR = "SOFTMAX_LAB_MAX_RUN_COST"
MAX_ACTIVE_COST_ENV_VAR = "SOFTMAX_LAB_MAX_ACTIVE_COST"
DEFAULT_MAX_STUDENTS = 60
MOST_STUDENTS_ALLOWED = 1000
TOKEN_BYTES = 32  # 256 bits
NAME_MAX_LENGTH = 40
RESERVED_NAMES = {"teacher", "the teacher"}
_RESERVED_KEYS = {canonical_name(reserved) for reserved in RESERVED_NAMES}  # what looks like them is theirs too
_RESERVED_EDGES = " .!:-_"  # "teacher!" is the teacher's as well
NAME_KEY_MAX_LENGTH = 255  # students.name_key; a compatibility character can spell out to 18 (U+FDFA)
TEACHER_SESSION_SECONDS = 12 * 3600
DEVICE_SECONDS = 180 * 24 * 3600  # how long a browser keeps a student's device cookie (a school term or two)
TEACHER_LINK_SECONDS = 600  # a link from the server's console
SIGN_IN_LINK_SECONDS = 600  # a student's link for another device: time to type it in, not to keep it
HANDOFF_SECONDS = 60  # a page's pass to the sign-in route, right after a join or the teacher's password
SIGN_IN_PATH = "/auth/sign-in"  # the server's route that spends a pass (a link is SIGN_IN_PATH?pass=...)
STUDENT_LINK, TEACHER_LINK, TEACHER_SESSION = "student-link", "teacher-link", "teacher"  # kinds of pass
SECTION = "classroom"
SETTING_KEYS = ("code", "teacher_password_hash", "max_active_runs", "max_students", "max_run_cost",
                "max_active_cost")
_HASH_SCHEME = "scrypt"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1

# tries at the door, per address only (docs/threat-model.md: what a guesser with many addresses gets)
PASSWORD_TRIES = {"address": GuardRule(5, 2.0, 300.0)}
CODE_TRIES = {"address": GuardRule(10, 2.0, 300.0)}
JOINS = {"address": GuardRule(3, 60.0, 3600.0)}  # names joined from one address: 3, then a growing wait
# the class's state (set by the teacher on the board) that the door reads
CLASS_SIZE = "class_size"  # overrides the configured max_students
WAITING_ROOM = "waiting_room"  # on: a new join waits until the teacher lets them in
WAITING_ROOM_FACTOR = 2  # the waiting room holds at most this many times the class size


TRY_NAMES = {"class-code": N_("tries of the class code"), "teacher-password": N_("tries of the teacher password")}

class ClassroomError(LabError, ValueError):
    """A classroom action can't be done (bad code, name taken, misconfigured); the message says why."""


class NotAllowed(ClassroomError):
    """The acting person may not do this (e.g. cancel another student's run), or not yet (too many tries)."""


# --- the teacher's password ---------------------------------------------------------------------------

def hash_password(password: str, salt: bytes | None = None) -> str:
    """A salted scrypt hash, as text: 'scrypt$16384$8$1$<salt>$<hash>' (base64)."""
    if not password:
        raise ClassroomError(N_("the teacher's password must not be empty"))
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
    """A display name as given, trimmed; ClassroomError if blank, too long, without a letter or digit,
    holding invisible or direction-changing characters, or (in its canonical form) the teacher's."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ClassroomError(_("display name: type the name your class will see"))
    if len(cleaned) > NAME_MAX_LENGTH:
        raise ClassroomError(_("display name: at most {most} characters, got {count}").format(
            most=NAME_MAX_LENGTH, count=len(cleaned)))
    hidden = sorted({f"U+{ord(c):04X}" for c in cleaned if unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs")})
    if hidden:
        raise ClassroomError(_("display name: no invisible or control characters ({characters})").format(
            characters=", ".join(hidden)))
    key = canonical_name(cleaned)
    if not key:
        raise ClassroomError(_("display name: it is blank once its invisible characters are taken out; "
                               "type the name your class will see"))
    if not has_letter_or_digit(cleaned):
        raise ClassroomError(_("display name: it needs at least one letter or digit, so that the class can read it"))
    if len(key) > NAME_KEY_MAX_LENGTH:
        raise ClassroomError(_("display name: too long once its characters are spelled out; choose a shorter one"))
    if key.strip(_RESERVED_EDGES) in _RESERVED_KEYS:
        raise ClassroomError(_("display name: {name} is kept for the teacher; choose another").format(
            name=repr(cleaned)))
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
                            environ: Mapping[str, str] | None = None) -> ClassroomSettings | None:
    """The classroom settings from the environment, else from secrets.toml's [classroom]; None if neither
    names a class code. It fails closed: a misspelled table, a setting outside it or an unknown key in it
    is a ClassroomError, never a silently single-user server."""
    section = _classroom_section(dict(secrets_file or {}))
    env = server_settings(environ)
    code = env.class_code or str(section.get("code", ""))
    if not code.strip():
        if section:
            raise ClassroomError(N_("secrets.toml's {table} has no code: set {example} (what students type)"),
                                 table=as_code(f"[{SECTION}]"), example=as_code('code = "..."'))
        return None
    password = env.teacher_password or str(section.get("teacher_password_hash", ""))
    if password and not is_password_hash(password):
        password = hash_password(password)
    limit = _whole_number("max_active_runs", env.max_active_runs or section.get(
        "max_active_runs", DEFAULT_MAX_ACTIVE_RUNS), MOST_ACTIVE_RUNS_ALLOWED)
    students = _whole_number("max_students", section.get("max_students", DEFAULT_MAX_STUDENTS), MOST_STUDENTS_ALLOWED)
    run_cost = _whole_number("max_run_cost", env.max_run_cost or section.get(
        "max_run_cost", DEFAULT_MAX_RUN_COST), MOST_COST_ALLOWED)
    active_cost = _whole_number("max_active_cost", env.max_active_cost or section.get(
        "max_active_cost", DEFAULT_MAX_ACTIVE_COST), MOST_COST_ALLOWED)
    return ClassroomSettings(code.strip(), password, limit, students, run_cost, active_cost)


def _classroom_section(secrets_file: dict[str, Any]) -> dict[str, Any]:
    for key in secrets_file:
        if key != SECTION and _looks_like(key, SECTION):
            raise ClassroomError(N_("secrets.toml has a {table} table: classroom settings belong in {section}, so "
                                    "classroom mode is not on and the app serves nothing until that is fixed"),
                                 table=as_code(f"[{key}]"), section=as_code(f"[{SECTION}]"))
        if key in SETTING_KEYS:
            raise ClassroomError(N_("secrets.toml sets {key} outside any table: put it under {section}"),
                                 key=as_code(key), section=as_code(f"[{SECTION}]"))
    section = secrets_file.get(SECTION, {})
    if not isinstance(section, Mapping):
        raise ClassroomError(N_("secrets.toml's {name} must be a table ({section}), got {value}"),
                             name=as_code(SECTION), section=as_code(f"[{SECTION}]"), value=repr(section))
    for key in section:
        if key not in SETTING_KEYS:
            near = difflib.get_close_matches(key, SETTING_KEYS, n=1)
            unknown = (N_("secrets.toml's {section} has an unknown setting {key} (did you mean {near}?); the "
                          "settings are {settings}") if near else
                       N_("secrets.toml's {section} has an unknown setting {key}; the settings are {settings}"))
            raise ClassroomError(unknown, section=as_code(f"[{SECTION}]"), key=as_code(key),
                                 near=as_code(near[0]) if near else "",
                                 settings=", ".join(as_code(name) for name in SETTING_KEYS))
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
        raise ClassroomError(N_("{name} must be a whole number from 1 to {most}, got {value}"), name=as_code(name),
                             most=most, value=repr(value))
    return number


# --- the door ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignIn:
    """What a spent pass gives one browser: a student's new device token, or a teacher's session token."""

    token: str
    student: StudentRecord | None  # None: the teacher

    @property
    def is_teacher(self) -> bool:
        return self.student is None

    @property
    def seconds(self) -> int:
        """How long the browser may keep the token."""
        return TEACHER_SESSION_SECONDS if self.is_teacher else DEVICE_SECONDS


class ClassDoor:
    """Lets people in: students by the class code and a name, the teacher by password or a console link,
    each through a one-time pass (``sign_in``). Every try is counted before it is checked; a refused try
    says how long to wait."""

    def __init__(self, settings: ClassroomSettings, classes: ClassStore):
        self.settings, self.classes = settings, classes

    def join(self, code: str, name: str, address: str) -> tuple[StudentRecord, str]:
        """A new student and a one-time pass that signs one browser in as them; ClassroomError saying why
        not (wrong code, name, too many)."""
        name = clean_display_name(name)
        if not self._try("class-code", CODE_TRIES, address, lambda: self.settings.code_matches(code)):
            raise ClassroomError(_("That is not this class's code: ask your teacher for it."))
        self._wait_or_refuse(self.classes.take_try(_keys("join", JOINS, address)), N_("new names from this computer"))
        state = self.classes.class_state()
        size, waiting = class_size(self.settings, state), bool(state.get(WAITING_ROOM))
        try:
            student_id = self.classes.add_student(name, address, size, waiting=waiting,
                                                  max_waiting=WAITING_ROOM_FACTOR * size, name_key=canonical_name(name))
        except NameTaken:
            raise ClassroomError(_("The name {name} is taken in this class, or looks just like one that is: "
                                   "choose another.").format(name=name)) from None
        except ClassFull as error:
            raise ClassroomError(str(error)) from None
        return self.classes.student_by_id(student_id), self.student_pass(student_id, HANDOFF_SECONDS)

    def student_pass(self, student_id: int, seconds: float = SIGN_IN_LINK_SECONDS) -> str:
        """A one-time pass that signs one more browser in as this student (a link for another device)."""
        if not any(student.id == student_id for student in self.classes.list_students()):
            raise NotAllowed(_("you are no longer in this class"))
        return _add_pass(self.classes, STUDENT_LINK, seconds, student_id)

    def teacher_logs_in(self, password: str, address: str) -> str:
        """A one-time pass for the teacher's session, for the right password; ClassroomError for a wrong one
        or a wait."""
        stored = self.settings.teacher_password_hash
        if not stored:
            raise ClassroomError(_("no teacher's password is configured: use a link from "
                                   "'python -m softmax_core teacher-link' on the server"))
        if not self._try("teacher-password", PASSWORD_TRIES, address, lambda: verify_password(password, stored)):
            raise ClassroomError(_("Wrong password."))
        return _add_pass(self.classes, TEACHER_LINK, HANDOFF_SECONDS)

    def pass_holder(self, pass_token: str) -> SignIn | None:
        """Whom an unspent pass would sign in, without spending it (a SignIn without a token); None if it is
        spent, expired, unknown, or its student was removed."""
        found = self.classes.peek_pass(token_digest(pass_token), (STUDENT_LINK, TEACHER_LINK)) if pass_token else None
        if found is None or found[0] == TEACHER_LINK:
            return None if found is None else SignIn("", None)
        student = next((s for s in self.classes.list_students() if s.id == found[1]), None)
        return SignIn("", student) if student else None

    def sign_in(self, pass_token: str) -> SignIn:
        """Spend a one-time pass: a new device token for its student, or a teacher's session; ClassroomError
        if it was used already, has expired, or its student was removed."""
        found = self.classes.spend_pass(token_digest(pass_token), (STUDENT_LINK, TEACHER_LINK)) if pass_token else None
        if found is None:
            raise ClassroomError(_("This sign-in link was used already or has expired: ask for a new one (the "
                                   "teacher: 'python -m softmax_core teacher-link' on the server)."))
        role, student_id = found
        if role == TEACHER_LINK:
            return SignIn(_add_pass(self.classes, TEACHER_SESSION, TEACHER_SESSION_SECONDS), None)
        token = new_token()
        if student_id is None or not self.classes.add_device(student_id, token_digest(token)):
            raise ClassroomError(_("This link's student is no longer in this class."))
        return SignIn(token, self.student_for(token))

    def drop_pass(self, pass_token: str) -> None:
        """Spend a one-time pass without signing anyone in (asked whether to switch, the person stayed)."""
        if pass_token:
            self.classes.drop_pass(token_digest(pass_token))

    def student_for(self, token: str) -> StudentRecord | None:
        """The student a device token signs in (None for an unknown, signed-out or removed one)."""
        return self.classes.student_by_device(token_digest(token)) if token else None

    def sign_out_device(self, token: str) -> None:
        """This browser's token signs nobody in any more (the others of the student still do)."""
        if token:
            self.classes.drop_device(token_digest(token))

    def sign_out_everywhere_else(self, token: str) -> int:
        """Sign this device's student out on every other browser and spend their unused links; how many
        browsers were signed out. NotAllowed if this token signs nobody in."""
        student = self.student_for(token)
        if student is None:
            raise NotAllowed(_("you are no longer in this class"))
        return self.classes.drop_devices(student.id, keep=token_digest(token))

    def trade_device_for_pass(self, token: str) -> str | None:
        """A one-time pass for the student of a device token that this browser once kept where page scripts
        could read it (the cookie of earlier releases); that token dies, so a copy of it is worth nothing.
        None if it signs nobody in."""
        student = self.student_for(token)
        if student is None:
            return None
        self.sign_out_device(token)
        return self.student_pass(student.id, HANDOFF_SECONDS)

    def is_teacher_session(self, session_token: str) -> bool:
        return bool(session_token) and self.classes.use_pass(token_digest(session_token), TEACHER_SESSION)

    def end_teacher_session(self, session_token: str) -> None:
        if session_token:
            self.classes.drop_pass(token_digest(session_token))

    def _try(self, name: str, rules: dict[str, GuardRule], address: str, check: Callable[[], bool]) -> bool:
        keys = _keys(name, rules, address)
        self._wait_or_refuse(self.classes.take_try(keys), TRY_NAMES.get(name, name))
        if check():
            self.classes.clear_tries(keys)
            return True
        return False

    @staticmethod
    def _wait_or_refuse(wait: float, what: str) -> None:
        if wait > 0:
            raise NotAllowed(_("too many {what}: try again in {seconds} s").format(
                what=_(what), seconds=max(1, round(wait))))


def class_size(settings: ClassroomSettings, state: Mapping[str, Any]) -> int:
    """How many students may be let in: the teacher's number from the board, else the configured one."""
    try:
        return _whole_number(CLASS_SIZE, state.get(CLASS_SIZE, settings.max_students), MOST_STUDENTS_ALLOWED)
    except ClassroomError:  # never stored so (the policy checks it), but a bad value must not open the door
        return settings.max_students


def make_teacher_link(classes: ClassStore) -> str:
    """A one-time sign-in pass for the teacher (the server's console hands it out; valid 10 minutes)."""
    return _add_pass(classes, TEACHER_LINK, TEACHER_LINK_SECONDS)


def _add_pass(classes: ClassStore, role: str, seconds: float, student_id: int | None = None) -> str:
    """A new pass of this kind: its token (the store keeps only the digest). Links are single-use; the
    teacher's session is used on every page load until it expires or the teacher logs out."""
    token = new_token()
    classes.add_pass(token_digest(token), role, seconds, single_use=role != TEACHER_SESSION, student_id=student_id)
    return token


def _keys(name: str, rules: dict[str, GuardRule], address: str) -> dict[str, GuardRule]:
    """The guards' keys of one kind of try: per address (the only scope: see the module's docstring)."""
    keys = {"address": f"{name}@{address or THIS_MACHINE}"}
    return {keys[scope]: rule for scope, rule in rules.items()}
