"""RunStatus: the one list of states a run can be in, shared by the engine, the store and the pages; and how
a run ended when it did not finish (diverged, cancelled, failed, interrupted), kept language-neutral and said
in its reader's language.

A run's ``error`` column holds that ending as JSON: the English msgid and its values (``{"say": "cancelled
after step {step} (epoch {epoch})", "values": {"step": 40, "epoch": "0.17"}}``), never a sentence in the
language of the server or worker that wrote it. A page and the CLI build the sentence when they
show it: in Chinese for a Chinese reader, in English for everyone else and in ``RunRecord.error``. A value may
itself be a msgid (a status name, one of our errors' messages); an exception from outside the lab keeps its
own text, under a translated lead-in. Rows written before (English sentences) are read back by matching the
same msgids, so an old run reads in the reader's language too; anything else is shown as it was stored.
"""

from __future__ import annotations

import enum
import json
import re
from typing import Optional

from softmax_core.errors import LabError
from softmax_core.i18n import N_, Said


class RunStatus(str, enum.Enum):
    """Where a run stands. A str, so it compares equal to its stored text ('finished' == FINISHED)."""

    QUEUED = "queued"  # recorded, waiting for a worker
    RUNNING = "running"  # a worker has claimed it and is training
    FINISHED = "finished"  # every epoch done (the book's checks may still fail: that is a result)
    DIVERGED = "diverged"  # the loss became non-finite
    CANCELLED = "cancelled"  # someone asked it to stop
    FAILED = "failed"  # an error ended it (its message is stored)
    INTERRUPTED = "interrupted"  # its worker or server went away (no heartbeat); its points are kept

    def __str__(self) -> str:
        return self.value

    @property
    def is_active(self) -> bool:
        return self in ACTIVE_STATUSES


ACTIVE_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})


# --- how a run ended ---------------------------------------------------------------------------------

DIVERGED = N_("diverged: the loss became non-finite at step {step} (epoch {epoch}); try a smaller lr or init_std")
# the same, said after the run's status (a page's status line, which says 'diverged' already)
DIVERGED_WHY = N_("the loss became non-finite at step {step} (epoch {epoch}); try a smaller lr or init_std")
CANCELLED_AFTER = N_("cancelled after step {step} (epoch {epoch})")
CANCELLED_WHY = N_("after step {step} (epoch {epoch})")  # said after the status, which says 'cancelled' already
CANCELLED_WHILE_QUEUED = N_("cancelled while queued")
INTERRUPTED_FROM_KEYBOARD = N_("interrupted from the keyboard")
STOPPED_IN_NOTEBOOK = N_("stopped in the notebook")
SERVER_STOPPED = N_("the server was stopped while this run was {status}; its points are kept")
NO_HEARTBEAT = N_("no heartbeat for over {seconds} s while {status} (its server or worker stopped); the points "
                  "so far are kept")
WORKER_KILLED_OOM = N_("the worker process {pid} was killed by {signal} (out of memory, or killed by hand)")
WORKER_KILLED = N_("the worker process {pid} was killed by {signal}")
WORKER_EXITED = N_("the worker process {pid} exited unexpectedly (exit code {code})")
WORKER_LOST = N_("{what}; the points so far are kept")
RAY_NODE_LOST = N_("the Ray node {node} ({host}) was lost while this run was {status}; its points are kept")
RAY_WORKER_DIED = N_("its Ray worker died: {kind}: {detail}; the points so far are kept")
RAY_HAS_NO_GPU = N_("it asks for cuda, but no node of the Ray cluster has a GPU")
RAISED = N_("{kind}: {detail}")  # an exception: its type and its message (last: it matches almost anything)

ENDINGS = (DIVERGED, CANCELLED_AFTER, CANCELLED_WHILE_QUEUED, INTERRUPTED_FROM_KEYBOARD, STOPPED_IN_NOTEBOOK,
           SERVER_STOPPED, NO_HEARTBEAT, RAY_NODE_LOST, RAY_WORKER_DIED, RAY_HAS_NO_GPU, WORKER_LOST,
           WORKER_KILLED_OOM, WORKER_KILLED, WORKER_EXITED, RAISED)
_VALUE_PATTERNS = {"step": r"\d+", "pid": r"\S+", "code": r"-?\d+", "epoch": r"[0-9.]+", "seconds": r"[0-9.e+]+",
                   "kind": r"[A-Za-z_][\w.]*", "status": r"[a-z]+", "signal": r"\S+(?: \d+)?"}
_NAMED_VALUES = {"status"}  # values that are msgids themselves (a status's name), said in the reader's language


def raised(error: BaseException) -> Said:
    """An exception as a run's ending: its type, and its message (ours said in the reader's language)."""
    detail = error.said if isinstance(error, LabError) else str(error)
    return Said(RAISED, kind=type(error).__name__, detail=detail)


def worker_death(pid: int | None, exitcode: int | None) -> Said:
    """A worker process that died: 'the worker process 4121 was killed by SIGKILL (out of memory, ...)'."""
    import signal

    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        killed = WORKER_KILLED_OOM if exitcode == -signal.SIGKILL else WORKER_KILLED
        return Said(killed, pid=str(pid), signal=name)
    return Said(WORKER_EXITED, pid=str(pid), code=str(exitcode))


def after_its_status(ending: Said) -> Said:
    """An ending said after its run's status, which names it already: 'diverged: the loss became ...' and
    'cancelled: after step 40 (epoch 0.17)', never 'cancelled: cancelled after ...'."""
    why = {DIVERGED: DIVERGED_WHY, CANCELLED_AFTER: CANCELLED_WHY}.get(ending.template)
    return Said(why, **ending.values) if why else ending


def status_named(status: str) -> Said:
    """A run status as a value of an ending ('running'), said in the reader's language."""
    return Said(str(status))


def stored_ending(ending: Said | str | None) -> Optional[str]:
    """What the error column keeps: the ending as JSON (a plain string is kept as it is)."""
    if ending is None or isinstance(ending, str):
        return ending
    return json.dumps(ending.to_dict(), ensure_ascii=False)


def read_ending(stored: Optional[str]) -> Optional[Said]:
    """The ending that ``stored_ending`` wrote, or an older row's English sentence matched to its msgid;
    anything else as it was stored (a Said of no msgid says its text as it is)."""
    if not stored:
        return None
    if stored.startswith("{"):
        try:
            data = json.loads(stored)
            if isinstance(data, dict) and isinstance(data.get("say"), str):
                return Said.from_dict(data)
        except (ValueError, TypeError, AttributeError):
            pass
    return _legacy_ending(stored) or Said(stored)


def describe_ending(stored: Optional[str]) -> str:
    """A stored ending in the reader's language ('' for none)."""
    ending = read_ending(stored)
    return str(ending) if ending is not None else ""


def english_ending(stored: Optional[str]) -> Optional[str]:
    """A stored ending in English, as ``RunRecord.error`` and the CLI's JSON give it."""
    ending = read_ending(stored)
    return None if ending is None else ending.english()


def _legacy_ending(text: str) -> Optional[Said]:
    for template in ENDINGS:
        if found := _pattern(template).fullmatch(text):
            values = {name: status_named(value) if name in _NAMED_VALUES else value
                      for name, value in found.groupdict().items()}
            if template == WORKER_LOST:  # a legacy {what}: one of the worker endings
                values["what"] = _legacy_ending(values["what"]) or values["what"]
            return Said(template, **values)
    return None


def _pattern(template: str) -> re.Pattern:
    """A template as a regular expression: its text literal, each ``{name}`` a named group."""
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(re.escape(part) if index % 2 == 0 else
                      f"(?P<{part}>{_VALUE_PATTERNS.get(part, '.+?')})" for index, part in enumerate(parts))
    return re.compile(pattern, re.DOTALL)
