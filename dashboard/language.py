"""The reader's language on the page: chosen once at the start of every page run (``start_language``: the
URL's ``?lang=``, then the sidebar picker's choice, then the browser's languages, else English; the rule
itself is the core's ``choose_language``), and the sidebar's picker, which writes ``?lang=`` so that a
reload, a bookmark or a shared link keeps it.

The page says which language it is in (``mark_page_language``): ``<html lang>``, which screen readers and
the browser's own translation offer go by, and the one English phrase Streamlit's frame puts in the page's
text, its keyboard "Skip to main content" link. Streamlit's index.html says ``lang="en"`` whatever the
page speaks; a small page script sets both.

The language lives in a context variable that each script thread starts without: the page run sets it,
and a fragment's rerun or a widget's callback (each in a thread of its own) sets it again from the
session with ``in_readers_language``. Two sessions on one server never see each other's.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import streamlit as st

from softmax_core.i18n import N_, _, available_languages, language_name, language_tag, set_language
from softmax_core.i18n.choose import LANGUAGE_PARAM, choose_language, supported

SKIP_LINK_TEXT = N_("Skip to main content")  # Streamlit's words for its link; ours in the reader's language
# run again whenever the page's language changes (the element's text changes with it)
MARK_LANGUAGE_SCRIPT = """<script>
(() => {
  document.documentElement.lang = LANGUAGE_TAG;
  const skip = document.querySelector('[data-testid="stSkipToContent"]');
  if (skip) skip.textContent = SKIP_LINK_TEXT;
})();
</script>"""
PICKER_KEY = "language_picker"
CHOSEN_KEY = "language_chosen"  # the picker's last choice, kept while a page without the picker shows
LANGUAGE_KEY = "language"  # what this session's page runs speak


def browser_preferences() -> str:
    """The browser's languages, most preferred first: its ``navigator.language``, then its Accept-Language."""
    try:
        locale = st.context.locale or ""
        header = st.context.headers.get("Accept-Language", "")
    except Exception:  # noqa: BLE001 - no browser behind this session (AppTest)
        locale, header = "", ""
    return ",".join(part for part in (locale, header) if part)


def start_language() -> str:
    """Choose this run's language and speak it from here on; a choice the reader made stays in the URL."""
    url = st.query_params.get(LANGUAGE_PARAM)
    if supported(url):  # the URL's choice outlives a page change, which drops the query
        st.session_state[CHOSEN_KEY] = supported(url)
    language = choose_language(url, st.session_state.get(CHOSEN_KEY), browser_preferences())
    if supported(url) is None and st.session_state.get(CHOSEN_KEY):
        st.query_params[LANGUAGE_PARAM] = language  # put the reader's choice back in the URL
    st.session_state[LANGUAGE_KEY] = language
    set_language(language)
    return language


def mark_language_script(language: str) -> str:
    """The page script that marks the page as in ``language``: ``<html lang>`` and the skip link's words."""
    return (MARK_LANGUAGE_SCRIPT.replace("LANGUAGE_TAG", json.dumps(language_tag(language)))
            .replace("SKIP_LINK_TEXT", json.dumps(_(SKIP_LINK_TEXT), ensure_ascii=False)))


def mark_page_language(language: str) -> None:
    """Tell the browser (and a screen reader) which language the page is in."""
    st.html(mark_language_script(language), unsafe_allow_javascript=True)


def speak_readers_language() -> None:
    """Set the language this session's page run chose (a fragment or a callback runs in a thread of its own)."""
    set_language(st.session_state.get(LANGUAGE_KEY, "en"))


def in_readers_language(function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a fragment's body or a widget's callback so that it speaks the reader's language."""
    @functools.wraps(function)
    def speaking(*args: Any, **kwargs: Any) -> Any:
        speak_readers_language()
        return function(*args, **kwargs)
    return speaking


def _remember_choice() -> None:
    language = st.session_state[PICKER_KEY]
    st.session_state[CHOSEN_KEY] = language
    st.query_params[LANGUAGE_PARAM] = language


# drawn first (a page may stop before its end), shown last: the Train form's Start and what it refuses stay
# within a laptop's first screen; the sidebar's blocks are a flex column, so ``order`` moves it down
PICKER_CSS = f"<style>[data-testid='stSidebar'] .st-key-{PICKER_KEY} {{order: 99;}}</style>"


def render_language_picker(language: str) -> None:
    """English / 中文 in the sidebar (each named in itself, at its end), showing the language this run speaks."""
    st.session_state[PICKER_KEY] = language
    st.html(PICKER_CSS)
    st.sidebar.selectbox(_("Language"), available_languages(), key=PICKER_KEY, format_func=language_name,
                         on_change=_remember_choice)
