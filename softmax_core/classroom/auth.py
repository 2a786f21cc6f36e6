"""Classroom mode: who is who on a shared server, and what each may do.

It is on when a class code is configured (``[classroom]`` in ``.streamlit/secrets.toml``, or
``$SOFTMAX_LAB_CLASS_CODE``); without one the app is the single-user app. Here live the settings, the
teacher's password hash (scrypt, salted; made by ``python -m softmax_core teacher-password``) and a
limiter against guessing it, the students' tokens (random, 256 bits; only their SHA-256 is stored), the
``Identity`` a page acts as, and the rule of who may cancel which run. The store keeps the students;
nothing here knows about pages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CLASS_CODE_ENV_VAR = "SOFTMAX_LAB_CLASS_CODE"
TEACHER_PASSWORD_ENV_VAR = "SOFTMAX_LAB_TEACHER_PASSWORD"
MAX_ACTIVE_ENV_VAR = "SOFTMAX_LAB_MAX_ACTIVE_RUNS"
DEFAULT_MAX_ACTIVE_RUNS = 3
MOST_ACTIVE_RUNS_ALLOWED = 50  # the largest per-student limit a class may set
TOKEN_BYTES = 32  # 256 bits
NAME_MAX_LENGTH = 40
_HASH_SCHEME = "scrypt"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class ClassroomError(ValueError):
    """A classroom action can't be done (bad code, name taken, not allowed); the message says why."""


class NotAllowed(ClassroomError):
    """The acting person may not do this (e.g. cancel another student's run)."""


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


class GuessLimiter:
    """Refuses password tries after ``free_tries`` failures, for a wait that doubles with each further
    failure (up to ``max_wait``): against guessing, shared by every session of the server."""

    def __init__(self, free_tries: int = 5, first_wait: float = 2.0, max_wait: float = 300.0,
                 clock=time.monotonic):
        self.free_tries, self.first_wait, self.max_wait, self.clock = free_tries, first_wait, max_wait, clock
        self._failures, self._blocked_until = 0, 0.0
        self._lock = threading.Lock()

    def seconds_to_wait(self) -> float:
        with self._lock:
            return max(0.0, self._blocked_until - self.clock())

    def check(self, password: str, stored_hash: str) -> bool:
        """Try a password: True if right; False if wrong; NotAllowed while tries are refused."""
        wait = self.seconds_to_wait()
        if wait > 0:
            raise NotAllowed(f"too many wrong passwords: try again in {wait:.0f} s")
        if verify_password(password, stored_hash):
            with self._lock:
                self._failures = 0
            return True
        with self._lock:
            self._failures += 1
            extra = self._failures - self.free_tries
            if extra >= 0:
                self._blocked_until = self.clock() + min(self.max_wait, self.first_wait * 2**extra)
        return False


# --- students' tokens ---------------------------------------------------------------------------------

def new_token() -> str:
    """A student's secret: 256 random bits, URL-safe text."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What the store keeps of a token (so the database alone can't be used to act as a student)."""
    return hashlib.sha256(token.encode()).hexdigest()


def clean_display_name(name: str) -> str:
    """A display name as given, trimmed; ClassroomError if empty or too long."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ClassroomError("display name: type the name your class will see")
    if len(cleaned) > NAME_MAX_LENGTH:
        raise ClassroomError(f"display name: at most {NAME_MAX_LENGTH} characters, got {len(cleaned)}")
    return cleaned


# --- settings and identities ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ClassroomSettings:
    """What turns classroom mode on, and its limits."""

    code: str
    teacher_password_hash: str = ""  # "" : nobody can log in as the teacher
    max_active_runs: int = DEFAULT_MAX_ACTIVE_RUNS  # per student, queued or training

    def code_matches(self, typed: str) -> bool:
        return hmac.compare_digest(typed.strip().lower().encode(), self.code.strip().lower().encode())


def load_classroom_settings(secrets_section: Mapping[str, Any] | None = None,
                            environ: Mapping[str, str] = os.environ) -> ClassroomSettings | None:
    """The classroom settings from the environment, else from secrets.toml's [classroom]; None if no code.

    The teacher's password is given as its hash (``teacher_password_hash`` / the variable); a plain
    password in the variable is hashed here, for a quick demo."""
    section = dict(secrets_section or {})
    code = environ.get(CLASS_CODE_ENV_VAR) or str(section.get("code", ""))
    if not code.strip():
        return None
    password = environ.get(TEACHER_PASSWORD_ENV_VAR) or str(section.get("teacher_password_hash", ""))
    if password and not is_password_hash(password):
        password = hash_password(password)
    limit = environ.get(MAX_ACTIVE_ENV_VAR) or section.get("max_active_runs", DEFAULT_MAX_ACTIVE_RUNS)
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        raise ClassroomError(f"max_active_runs must be a whole number from 1 to {MOST_ACTIVE_RUNS_ALLOWED}, "
                             f"got {limit!r}") from None
    if not 1 <= limit <= MOST_ACTIVE_RUNS_ALLOWED:
        raise ClassroomError(f"max_active_runs must be a whole number from 1 to {MOST_ACTIVE_RUNS_ALLOWED}, "
                             f"got {limit}")
    return ClassroomSettings(code.strip(), password, limit)
