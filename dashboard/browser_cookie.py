"""Cookies that keep who a browser is signed in as, so that the address bar never has to carry a token
(a copied or projected link then carries nobody's identity). Streamlit reads a browser's cookies when
its page connects (``st.context.cookies``) but has no call to set one; an empty ``st.iframe`` (of the
page's own origin, so its script may) sets it with ``document.cookie``, and the next page load reads it.
"""

from __future__ import annotations

import json

import streamlit as st

STUDENT_COOKIE = "softmax_lab_student"
TEACHER_COOKIE = "softmax_lab_teacher"
MONTH_SECONDS = 30 * 24 * 3600


def read_cookie(name: str) -> str:
    """The cookie's value as the browser sent it when this page connected ('' if none)."""
    try:
        return str(st.context.cookies.get(name) or "")
    except Exception:  # noqa: BLE001 - no browser behind this session (AppTest, a scripted client)
        return ""


def remember_in_browser(name: str, value: str, max_age: float = MONTH_SECONDS) -> None:
    """Keep ``value`` in this browser under ``name`` (only its own pages send it back; never in a URL)."""
    _write_cookie(f"{name}={value}; path=/; max-age={int(max_age)}; SameSite=Strict")


def forget_in_browser(name: str) -> None:
    _write_cookie(f"{name}=; path=/; max-age=0; SameSite=Strict")


def _write_cookie(cookie: str) -> None:
    written = st.session_state.setdefault("cookies_written", set())
    written.add(cookie.split("=", 1)[0])
    with st.sidebar:
        st.iframe(f"<script>document.cookie = {json.dumps(cookie)};</script>", height="content")
