"""The project's one error root, so that a page or the CLI catches what a person should read in one place.

``LabError`` is every error whose message is meant for a person (a refusal, a setting, the store, the
data); ``InputError`` is the part of it where what a person typed or chose is wrong, and the message says
which field and what is allowed. Anything else that escapes is a bug, and shows as one.

Each concept keeps its own subclass where it is raised (``ConfigError`` in ``config.py``, ``ClassroomError``
in ``classroom/auth.py``, ...); they subclass these, and the builtin they always were (``ValueError``,
``RuntimeError``), so that older ``except`` clauses keep working.
"""

from __future__ import annotations


class LabError(Exception):
    """An error whose message is for the person using the lab."""


class InputError(LabError, ValueError):
    """What a person typed or chose is wrong; the message names the field and what is allowed."""
