"""The project's one error root, so that a page or the CLI catches what a person should read in one place.

``LabError`` is every error whose message is meant for a person (a refusal, a setting, the store, the
data); ``InputError`` is the part of it where what a person typed or chose is wrong, and the message says
which field and what is allowed. Anything else that escapes is a bug, and shows as one.

Each concept keeps its own subclass where it is raised (``ConfigError`` in ``config.py``, ``ClassroomError``
in ``classroom/auth.py``, ...); they subclass these, and the builtin they always were (``ValueError``,
``RuntimeError``), so that older ``except`` clauses keep working.
"""

from __future__ import annotations

from softmax_core.i18n import Said


class LabError(Exception):
    """An error whose message is for the person using the lab. Raised with a msgid and its values
    (``DataError(N_("{path} can't be read"), path=...)``), it reads in the language of whoever shows it
    (``str(error)``: a page's reader, the CLI's ``LANG``), and ``english()`` says it in English, what a
    stored run keeps; raised with a finished sentence, it is that sentence in every language."""

    def __init__(self, message: str | Said = "", /, **values: object):
        self.said = message if isinstance(message, Said) else Said(message, **values)
        super().__init__(message if isinstance(message, str) and not values else str(self.said))

    def __str__(self) -> str:
        return str(self.said)

    def english(self) -> str:
        """The message in English, whoever's language is current."""
        return self.said.english()


class InputError(LabError, ValueError):
    """What a person typed or chose is wrong; the message names the field and what is allowed."""
