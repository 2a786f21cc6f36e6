"""Which language a reader gets: the URL's ``?lang=`` first, then the sidebar picker's choice, then the
browser's preferred languages (``st.context.locale`` or an ``Accept-Language`` header), else English;
for the CLI, ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` as gettext reads them. Pure functions of text, so
the page and the CLI decide the same way and the tests need no browser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Optional

from softmax_core.i18n import SOURCE_LANGUAGE, available_languages, language_of_locale

LANGUAGE_PARAM = "lang"  # ?lang=zh
ENVIRONMENT_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")  # gettext's order: the first one set decides


def supported(tag: Optional[str]) -> Optional[str]:
    """A language tag as one this app speaks ('zh-CN', 'zh_TW.UTF-8', 'ZH' -> 'zh'), or None."""
    if not tag or not isinstance(tag, str):
        return None
    language = language_of_locale(tag.strip().split(".")[0].split("@")[0])
    return language if language in available_languages() else None


def browser_languages(header: Optional[str]) -> list[str]:
    """An Accept-Language header's (or one locale's) tags, most preferred first:
    'en;q=0.5, zh-CN' -> ['zh-CN', 'en']."""
    ranked = []
    for position, part in enumerate((header or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _q, _p, tag in sorted(ranked)]


def choose_language(url: Optional[str] = None, picked: Optional[str] = None,
                    browser: Optional[str] = None) -> str:
    """The reader's language: the URL's, else the picker's, else the browser's first that we speak, else English."""
    for choice in (url, picked):
        if language := supported(choice):
            return language
    return first_supported(browser_languages(browser)) or SOURCE_LANGUAGE


def first_supported(tags: Iterable[str]) -> Optional[str]:
    return next((language for language in map(supported, tags) if language), None)


def language_from_environment(environ: Mapping[str, str]) -> str:
    """The CLI's language: the first of LC_ALL, LC_MESSAGES, LANG that is set ('zh_CN.UTF-8' -> 'zh');
    'C', 'POSIX' or a language without a catalog is English."""
    for name in ENVIRONMENT_VARIABLES:
        if value := environ.get(name):
            return supported(value) or SOURCE_LANGUAGE
    return SOURCE_LANGUAGE
