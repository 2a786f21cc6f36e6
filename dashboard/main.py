"""The pages' entry (``app.py`` serves it): page config, the reader's language (``language.py``),
presenting mode, what the gatekeeper says of this
session's traffic (slowed down, or paused: too many tabs), classroom mode's gate, the navigation between
the pages in ``dashboard/`` (which share the server's services: ``services.py``), and a last safety net
so that an unexpected error is shown as a message, never as a traceback.
"""

from pathlib import Path

import streamlit as st

from dashboard.chart_downloads import offer_svg_downloads
from dashboard.classroom_gate import classroom_on, identity, require_identity, resolve_identity
from dashboard.gatekeeper import TICKET_HEADER, is_parked, traffic_notice
from dashboard.language import mark_page_language, render_language_picker, start_language
from dashboard.render import presenting, shown_as_message, start_presenting_mode, start_readable_styles
from dashboard.services import services
from softmax_core.i18n import _
from softmax_core.runs.store import StoreError

FAVICON = Path(__file__).parent / "assets" / "favicon.png"  # served by this server: a :material/: icon
# would make every page fetch its favicon from Google's font host

st.set_page_config(page_title="Softmax Lab", page_icon=str(FAVICON), layout="wide",
                   initial_sidebar_state="collapsed" if presenting() else "auto")
language = start_language()  # first: every word below is in the reader's language
mark_page_language(language)
start_readable_styles()
start_presenting_mode()
offer_svg_downloads()  # every chart's camera saves a PNG; this adds the SVG button beside it
ticket = st.context.headers.get(TICKET_HEADER)
if notice := traffic_notice(ticket):
    st.warning(notice, icon=":material/speed:")
    if is_parked(ticket):
        st.stop()  # a paused tab costs the server nothing more than saying why
try:
    services()  # started by the server's lifespan; here only under AppTest
except StoreError as error:
    st.error(_("The run database can't be used: {error}").format(error=error))
    st.stop()
refusal = shown_as_message(resolve_identity)() or ""

pages = [
    # Streamlit serves the default page at the root only, so /train (the Train page's own path, which
    # people type or bookmark) is a hidden second entry for the same page
    st.Page("train_page.py", title=_("Train"), icon=":material/play_circle:", url_path="start", default=True),
    st.Page("train_page.py", title=_("Train"), icon=":material/play_circle:", url_path="train",
            visibility="hidden"),
    st.Page("compare_page.py", title=_("Compare"), icon=":material/compare_arrows:", url_path="compare"),
    st.Page("inspect_page.py", title=_("Inspect a run"), icon=":material/image_search:",
            url_path="inspect"),
    st.Page("lessons_page.py", title=_("Lessons"), icon=":material/school:", url_path="lessons"),
    st.Page("sweep_page.py", title=_("Sweep"), icon=":material/grid_view:", url_path="sweep"),
]
if classroom_on():
    pages.append(st.Page("board_page.py", title=_("Class board"), icon=":material/leaderboard:", url_path="board"))
# the page is chosen from the URL first, so that /board survives the join screen and the teacher's login
page = st.navigation(pages, position="hidden" if classroom_on() and identity() is None else "sidebar")
render_language_picker(language)
require_identity(refusal)
shown_as_message(page.run)()  # the last line of defence: a message, never a traceback
