"""The page's side of the identity cookies. The server's routes (``auth_routes.py``) write them, HttpOnly, so
no script reads them; Streamlit still hands them to the page's Python when the browser connects
(``st.context.cookies``), which is how a page knows who it serves. To sign in or out, the page sends
the browser to a route by a form POST (``send_browser_to``): the one-time pass travels in the body, so it
is never in the address bar or the history.
"""

from __future__ import annotations

import json

import streamlit as st

LINK_PARAMS = ("student", "teacher_link")  # sign-in parameters of earlier releases' links: never passed on


def request_cookies() -> dict[str, str]:
    """The cookies the browser sent when this page connected (none without a browser: AppTest)."""
    try:
        return dict(st.context.cookies or {})
    except Exception:  # noqa: BLE001 - no browser behind this session (AppTest, a scripted client)
        return {}


def read_cookie(name: str) -> str:
    """The cookie's value as the browser sent it when this page connected ('' if none)."""
    return str(request_cookies().get(name) or "")


def send_browser_to(path: str, fields: dict[str, str]) -> None:
    """Make the whole page POST ``fields`` to ``path`` of this site (a sign-in route), with the page's own
    path as ``next``. An empty iframe of the page's origin builds the form in the page itself, so that the
    navigation is the page's (the iframe's sandbox doesn't allow it to navigate the top)."""
    script = f"""<script>
const page = window.parent, form = page.document.createElement("form");
form.method = "post"; form.action = {json.dumps(path)};
const query = new URLSearchParams(page.location.search);
for (const name of {json.dumps(list(LINK_PARAMS))}) query.delete(name);
const next = page.location.pathname + (query.toString() ? "?" + query : "");
const fields = Object.assign({{next: next}}, {json.dumps(fields)});
for (const [name, value] of Object.entries(fields)) {{
  const input = page.document.createElement("input");
  input.type = "hidden"; input.name = name; input.value = value; form.appendChild(input);
}}
page.document.body.appendChild(form); form.submit();
</script>"""
    st.iframe(script, height="content")
