"""Joining from the projector: the address students open, the class code, and a QR code of the join link,
drawn on the server (``segno``, nothing fetched from the internet) as an inline PNG with alt text.

The join link carries the class code (``/?code=...`` fills in the join form's code field); the code is on
the projector already, so the link tells the room nothing new. The address is the one the projector's
browser reached the server at, unless the teacher sets ``SOFTMAX_LAB_PUBLIC_URL`` (behind a proxy, or a
board opened at ``localhost`` that students can't reach).
"""

from __future__ import annotations

import base64
import functools
import html
import io
import ipaddress
from urllib.parse import urlencode, urlsplit

import segno
import streamlit as st

from dashboard.text import as_text
from softmax_core.i18n import _, as_code
from softmax_core.settings import server_settings

PUBLIC_URL_ENV_VAR = "SOFTMAX_LAB_PUBLIC_URL"
CODE_PARAM = "code"  # the join form's code field is filled in from it
QR_PX = 280  # over a fifth of a 1280-px projector: a phone reads it from the back of a room
QR_BORDER = 4  # modules of quiet zone around the code, as the standard asks


def public_base_url() -> str:
    """The address students open: ``$SOFTMAX_LAB_PUBLIC_URL``, else the one this browser reached the server at."""
    configured = server_settings().public_url
    if configured:
        return configured
    parts = urlsplit(st.context.url or "http://localhost:8501")  # the page's path is no place to join at
    return f"{parts.scheme}://{parts.netloc}"


def join_link(base_url: str, code: str) -> str:
    """The link that opens the join form with the class code filled in."""
    return f"{base_url}/?{urlencode({CODE_PARAM: code})}"


def only_reachable_here(base_url: str) -> bool:
    """Whether the address names this machine only (localhost, 127.x, ::1): useless on students' phones."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def qr_image_tag(link: str) -> str:
    """An <img> of the link's QR code, its alt text in the reader's language."""
    return _qr_image_tag(link, _("QR code of the join link {link}").format(link=link))


@functools.lru_cache(maxsize=16)  # a pure function of the link; the board redraws it every few seconds
def _qr_image_tag(link: str, alt_text: str) -> str:
    """An <img> of the link's QR code (a PNG data URI, drawn here), with alt text that gives the link itself."""
    image = io.BytesIO()
    segno.make(link, error="m").save(image, kind="png", scale=10, border=QR_BORDER)
    source = "data:image/png;base64," + base64.b64encode(image.getvalue()).decode()
    alt = html.escape(alt_text, quote=True)
    return (f'<img src="{source}" alt="{alt}" width="{QR_PX}" height="{QR_PX}" data-testid="join-qr" '
            'style="image-rendering: pixelated; background: #fff;">')


def render_join_panel(code: str) -> None:
    """Where and how to join: the address, the code in large type, the QR code of the join link."""
    base = public_base_url()
    link = join_link(base, code)
    st.markdown(_("**Join:** open {address}").format(address=as_text(base)))
    st.subheader(_("Class code: {code}").format(code=as_text(code)), anchor=False)
    st.html(qr_image_tag(link))
    if only_reachable_here(base):
        st.warning(_("This address works only on this computer: open the board at the address students use, "
                     "or set {variable}.").format(variable=as_code(PUBLIC_URL_ENV_VAR)))


def prefilled_code() -> str:
    """The class code a join link carries (``?code=``), to fill in the join form."""
    return st.query_params.get(CODE_PARAM, "")
