"""User text (display names, run names, error messages) shown as exactly what was typed, wherever a
page renders Markdown: ``st.markdown``, captions, alerts, progress text, expander labels, ``st.table``
cells. Streamlit's Markdown makes links and images, emphasis, headings, LaTeX, colours, icons and emoji
out of punctuation, and links out of anything that looks like an address (``http://``, ``www.``,
``a@b.org``) even when it is escaped. So every ASCII punctuation mark is escaped, and an invisible word
joiner (U+2060) follows each ``:`` and ``@`` and each ``www`` before a dot, which no link pattern
crosses. Plotly's text has its own helper, ``charts.plot_text``.
"""

from __future__ import annotations

import re
import string

WORD_JOINER = "\u2060"
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_LINK_STARTS = re.compile(r"(www)(?=\.)|([:@])", re.IGNORECASE)


def as_text(value: object) -> str:
    """``value`` as Markdown that renders as its own characters, on one line."""
    text = " ".join(str(value).split())
    text = _LINK_STARTS.sub(lambda match: match.group(0) + WORD_JOINER, text)
    return _PUNCTUATION.sub(r"\\\1", text)
