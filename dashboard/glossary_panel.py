"""The Lessons page's Glossary: the book's terms in English and in the Chinese edition's words, side by side
(``softmax_core/i18n/glossary.csv``, the file the Chinese catalog follows), the words kept in Latin last.
The notes are the translators' (English, with the book's words quoted): an English reader sees them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.text import as_text
from softmax_core.i18n import SOURCE_LANGUAGE, _, current_language
from softmax_core.i18n.glossary import load_glossary


def glossary_table() -> pd.DataFrame:
    """English, 中文 and (for an English reader) the note, the book's terms first (``st.table`` renders
    cells as Markdown: as text)."""
    terms = sorted(load_glossary(), key=lambda term: term.kept)
    rows = [{"English": as_text(term.english), "中文": as_text(term.chinese)} for term in terms]
    if current_language() == SOURCE_LANGUAGE:
        rows = [{**row, _("note"): as_text(term.note)} for row, term in zip(rows, terms, strict=True)]
    return pd.DataFrame(rows)


def render_glossary_panel() -> None:
    """An expander with the glossary, closed until asked for."""
    with st.expander(_("Glossary: the book's terms in English and Chinese")):
        st.caption(_("The Chinese interface uses the words of 《动手学深度学习》 (Dive into Deep Learning, Chinese "
                     "edition); some words stay in Latin letters there too."))
        st.table(glossary_table())
