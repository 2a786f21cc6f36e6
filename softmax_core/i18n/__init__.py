"""The page's and the CLI's words in the reader's language: gettext catalogs, read with Babel.

The source of truth is a ``.po`` file per language (``locale/<locale>/LC_MESSAGES/softmax_lab.po``, made
from the ``.pot`` template that ``make i18n`` extracts); it is compiled in memory once per process, so no
binary ``.mo`` is kept in the repository. A third language is a new catalog only: the languages offered
are the catalogs found here, plus English (the source strings themselves).

The language is per reader, never per process: a context variable that ``_()`` and ``ngettext()`` read,
set at the start of each page run (Streamlit runs each session's script in its own thread, and a thread
starts with the variable's default) and by the CLI from ``LANG``. So the teacher's projector in English
and a student's laptop in Chinese share one server. A sentence is translated when it is built: module
constants are marked with ``N_()`` and passed through ``_()`` where they are shown.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import io
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path

DOMAIN = "softmax_lab"
LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"  # the msgids' own language: it needs no catalog

_language: ContextVar[str] = ContextVar("softmax_lab_language", default=SOURCE_LANGUAGE)


def catalog_path(language: str) -> Path | None:
    """The .po file of a language ('zh' -> locale/zh_CN/...), or None if there is none."""
    for folder in sorted(LOCALE_DIR.iterdir()) if LOCALE_DIR.is_dir() else ():
        po = folder / "LC_MESSAGES" / f"{DOMAIN}.po"
        if language_of_locale(folder.name) == language and po.is_file():
            return po
    return None


def language_tag(language: str) -> str:
    """A language as a web page names it (BCP 47, ``<html lang>``): its catalog's locale, 'zh' -> 'zh-CN'."""
    po = catalog_path(language)
    return po.parent.parent.name.replace("_", "-") if po else language


def language_of_locale(locale: str) -> str:
    """A locale's language code: 'zh_CN' -> 'zh', 'en' -> 'en'."""
    return locale.replace("-", "_").split("_")[0].lower()


@functools.lru_cache(maxsize=1)
def available_languages() -> tuple[str, ...]:
    """English, then every language with a catalog here, e.g. ('en', 'zh')."""
    found = {language_of_locale(folder.name) for folder in LOCALE_DIR.iterdir()
             if (folder / "LC_MESSAGES" / f"{DOMAIN}.po").is_file()} if LOCALE_DIR.is_dir() else set()
    return (SOURCE_LANGUAGE, *sorted(found - {SOURCE_LANGUAGE}))


def language_name(language: str) -> str:
    """A language's name in itself, as a picker shows it: 'English', '中文'."""
    from babel import Locale

    return Locale.parse(language).get_display_name(language) or language


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """A language's compiled catalog, built once per process from its .po (English: the msgids as they are)."""
    po = catalog_path(language) if language != SOURCE_LANGUAGE else None
    if po is None:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as source:
        catalog = read_po(source)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy entry is a guess: the English stands instead
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def current_language() -> str:
    """The language of whoever this thread (or task) works for: 'en' unless set."""
    return _language.get()


def set_language(language: str) -> None:
    """Make ``language`` this context's language (a page run sets it once, at its start)."""
    _language.set(language if language in available_languages() else SOURCE_LANGUAGE)


@contextlib.contextmanager
def use_language(language: str) -> Iterator[None]:
    """``with use_language("zh"):`` every ``_()`` inside speaks Chinese; the language before comes back after."""
    token = _language.set(language if language in available_languages() else SOURCE_LANGUAGE)
    try:
        yield
    finally:
        _language.reset(token)


def _(message: str) -> str:
    """``message`` in the current language (itself where the catalog has no translation)."""
    return translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or the plural form for ``count``, in the current language."""
    return translations(_language.get()).ngettext(singular, plural, count)


def N_(message: str) -> str:  # gettext's own name: mark for extraction, translate later
    """Mark a module-level string for the catalog; ``_()`` translates it where it is shown."""
    return message


def as_code(name: str) -> str:
    """A name a person types (an environment variable, a setting in secrets.toml) as Markdown code: it stays
    Latin in every language, and reads as something to type, not as a word of the sentence."""
    return f"`{name}`"


class Said:
    """A sentence kept as its msgid and values, said in whatever language is current when it is shown:
    ``str(Said(N_("{name} is taken"), name="Ada"))``. A value may itself be a ``Said`` (said in the same
    language). ``english()`` is the sentence in the msgids' own language, what a stored record keeps, and
    ``to_dict()``/``from_dict()`` carry it, language-neutral, through JSON."""

    __slots__ = ("template", "values")

    def __init__(self, template: str, /, **values: object):
        self.template, self.values = template, values

    def __str__(self) -> str:
        if not self.values:
            return _(self.template)
        for text in (_(self.template), self.template):  # a translation that lost a placeholder: the English
            try:
                return text.format(**self.values)
            except (KeyError, IndexError, ValueError):
                continue
        return self.template  # values that don't fit it (a row written by another release): the sentence bare

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __repr__(self) -> str:
        return f"Said({self.template!r}, **{self.values!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Said) and (self.template, self.values) == (other.template, other.values)

    def __hash__(self) -> int:
        return hash(self.template)

    def english(self) -> str:
        """The sentence in English (the msgids' language), whoever's language is current."""
        with use_language(SOURCE_LANGUAGE):
            return str(self)

    def to_dict(self) -> dict:
        """A JSON-ready form: the msgid and its values (a nested Said as its own dict, anything else as text)."""
        return {"say": self.template, "values": {name: value.to_dict() if isinstance(value, Said) else
                                                 value if isinstance(value, (int, float)) else str(value)
                                                 for name, value in self.values.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> Said:
        """The Said that ``to_dict`` wrote."""
        return cls(data["say"], **{name: cls.from_dict(value) if isinstance(value, dict) else value
                                   for name, value in data.get("values", {}).items()})


def join_sentences(sentences: Iterable[str]) -> str:
    """Sentences one after another as the reader's language writes them: 'Fell. Rose.' with a space between,
    '降了。升了。' without one (the joining pattern is a msgid of its own)."""
    joined = ""
    for sentence in sentences:
        joined = _("{sentence} {next}").format(sentence=joined, next=sentence) if joined else sentence
    return joined
