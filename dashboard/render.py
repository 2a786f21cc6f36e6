"""Small renderers every page uses: user text shown literally, a run's status, its verdict, its progress,
legends that say what differs, a seed band; and the guard that turns an error into a message.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from dashboard.charts import PROJECTOR, ProjectorStyle, build_band_figure, chart_config, style_figure
from dashboard.services import get_lesson_runs
from dashboard.text import as_text
from softmax_core.analysis.chart_readings import describe_band
from softmax_core.analysis.lessons import HELD_OUT_ACCURACY, SeedBands, seed_bands
from softmax_core.config import differing_fields
from softmax_core.i18n import N_, _
from softmax_core.run_names import say_fields
from softmax_core.runs.store import RunRecord, ScopedRuns
from softmax_core.status import RunStatus, after_its_status

PASS_ICON, FAIL_ICON = ":material/check:", ":material/close:"
STATUS_ICONS = {RunStatus.QUEUED: ":material/hourglass_top:", RunStatus.RUNNING: ":material/directions_run:",
                RunStatus.FINISHED: ":material/check_circle:", RunStatus.DIVERGED: ":material/trending_up:",
                RunStatus.CANCELLED: ":material/stop_circle:", RunStatus.FAILED: ":material/error:",
                RunStatus.INTERRUPTED: ":material/warning:"}
STATUS_NAMES = {RunStatus.QUEUED: N_("queued"), RunStatus.RUNNING: N_("running"),
                RunStatus.FINISHED: N_("finished"), RunStatus.DIVERGED: N_("diverged"),
                RunStatus.CANCELLED: N_("cancelled"), RunStatus.FAILED: N_("failed"),
                RunStatus.INTERRUPTED: N_("interrupted")}


def status_name(status: RunStatus) -> str:
    """A run's status in the reader's language, e.g. 'finished'."""
    return _(STATUS_NAMES[status]) if status in STATUS_NAMES else str(status)


PRESENTING_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"] {display: none;}
html, .stMarkdown p, .stCaption, li {font-size: 1.35rem;}
h1 {font-size: 3.2rem !important;} h2, h3 {font-size: 2.2rem !important;}
.block-container {max-width: 100% !important; padding: 1rem 2.5rem !important;}
[data-testid="stTable"] td, [data-testid="stTable"] th {font-size: 1.3rem; padding-top: 0.2rem; padding-bottom: 0.2rem;}
[data-testid="stMainBlockContainer"] :is(h2, h3) {font-size: 1.9rem !important; padding-top: 0.25rem;}
.modebar-container {display: none !important;}
</style>"""


# What every page needs to be readable, in any theme (axe-core checks it: tests/e2e/test_accessibility.py).
# Streamlit draws captions at 60% opacity: under 4.5:1 contrast on white; 80% passes, and keeps them quieter
# than the text. A table wider than a phone would scroll sideways in a box that a keyboard can't reach (and
# hide its last columns without a sign): its cells wrap there instead, between words (a number broken in
# two misreads), and the headers of a wide table (8 columns or more: the board's) anywhere.
READABLE_CSS = """<style>
[data-testid="stCaptionContainer"] {opacity: 0.8 !important;}
/* the slider's value is drawn in the primary blue, which keeps white text on buttons at 4.6:1 but reads at
   3.9:1 on the dark page: a lighter blue for that text only */
@media (prefers-color-scheme: dark) {
  [data-testid="stSliderThumbValue"], [data-testid="stSliderThumbValue"] *,
  [role="tab"][aria-selected="true"], [role="tab"][aria-selected="true"] * {color: #8FB3E0 !important;}}
@media (max-width: 640px) {
  [data-testid="stTable"] :is(th, td) {padding-left: 0.25rem !important; padding-right: 0.25rem !important;}
  [data-testid="stTable"] :is(th, td, th *, td *) {white-space: normal !important;}
  [data-testid="stTable"]:has(th:nth-child(8)) :is(th, th *) {overflow-wrap: anywhere !important;}
}
</style>"""


def start_readable_styles() -> None:
    """Captions and narrow tables that meet WCAG AA (READABLE_CSS), on every page; a style-only st.html takes
    no room on the page."""
    st.html(READABLE_CSS)


def presenting() -> bool:
    """``?present=1``: the page is on a projector."""
    return st.query_params.get("present") == "1"


def chart_style() -> ProjectorStyle | None:
    """The curves' style on a projector (large type, a legend entry per run), else the page's own."""
    return PROJECTOR if presenting() else None


def for_the_room(figure):
    """A figure in a projector's type sizes while presenting (any figure; the curves have their own style)."""
    return style_figure(figure, chart_style())


def show_chart(figure, key: str, alt: str, where: Any = None, caption: bool = True, **options: Any) -> Any:
    """A Plotly chart the page's width, with its text alternative: the chart's accessible name (``alt``,
    plain text) and, with ``caption``, the same words beneath it; its camera button saves a PNG (the
    SVG button beside it: ``chart_downloads``). Returns what ``st.plotly_chart`` does (a selection)."""
    where = where or st
    shown = where.plotly_chart(figure, key=key, width="stretch", config=chart_config(key), alt=alt, **options)
    if caption:
        where.caption(as_text(alt))
    return shown


def band_text(bands: SeedBands) -> str:
    """A seed band's gist: where each mean ends, ± its spread, over how many seeds."""
    return _("Over {seeds} seeds: {bands}.").format(seeds=bands.seeds, bands=_("; ").join((
        describe_band(_("train accuracy"), bands.train_mean, bands.train_std),
        describe_band(_(HELD_OUT_ACCURACY[bands.held_out]), bands.test_mean, bands.test_std))))


def start_presenting_mode() -> None:
    """Large type, no sidebar, full-width content, on any page, while ``?present=1`` is in the URL."""
    if presenting():
        st.markdown(PRESENTING_CSS, unsafe_allow_html=True)


def shown_as_message(draw: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a drawing function (a fragment's body) so that an error becomes a message, not a traceback."""
    @functools.wraps(draw)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return draw(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - st.rerun/st.stop are BaseExceptions and pass through
            logging.getLogger("softmax_lab").exception("drawing %s failed", draw.__name__)
            st.error(_("This part of the page failed ({error}); stored runs are safe.").format(
                error=f"{type(error).__name__}: {error}"))
    return guarded


def status_markdown(run: RunRecord) -> str:
    """The status as markdown with its icon, e.g. ':material/error: **failed**: ValueError: ...'."""
    name = f"**{status_name(run.status)}**"
    if run.error and run.status != RunStatus.FINISHED:
        why = str(after_its_status(run.ending)) if run.ending is not None else run.shown_error()
        name = _("{label}: {text}").format(label=name, text=as_text(why))
    return f"{STATUS_ICONS.get(run.status, '')} {name}"


def render_verdict(run: RunRecord) -> None:
    """The book's three checks, each with its value and threshold."""
    if run.verdict is None:
        return
    headline = _("The book's checks pass") if run.verdict.passed else _("The book's checks fail")
    lines = [f"{PASS_ICON if check.passed else FAIL_ICON} `{check.name}`: {check.sentence()}"
             for check in run.verdict.checks]
    box = st.success if run.verdict.passed else st.warning
    box(f"**{headline}**  \n" + "  \n".join(lines))


def render_progress(run: RunRecord) -> None:
    """A progress bar with epoch, elapsed time and time left."""
    if run.status == RunStatus.QUEUED:
        if run.yields:  # pre-empted: it gave its worker to a classmate and goes on where it stopped
            st.progress(run.progress, text=_("queued (pre-empted at step {step}): it goes on from its last epoch "
                                             "when a worker is free, nothing lost").format(step=f"{run.last_step:,}"))
        else:
            st.progress(0.0, text=_("queued: waiting for a free worker"))
        return
    st.progress(run.progress, text=progress_text(run, time.time()))


def progress_text(run: RunRecord, now: float) -> str:
    """'epoch 1.5 of 10 · 3.2 s elapsed · about 18 s left'; without a start time (a run recorded
    elsewhere, or cancelled before a worker took it), no time is claimed."""
    epoch = run.last_step / run.steps_per_epoch if run.steps_per_epoch else 0.0
    text = _("epoch {epoch} of {epochs}").format(epoch=f"{epoch:.1f}", epochs=run.config.epochs)
    if run.started_at is None:
        return text
    elapsed = max(0.0, (run.ended_at or now) - run.started_at)
    text += " · " + _("{seconds} s elapsed").format(seconds=f"{elapsed:.1f}")
    if run.progress > 0 and run.is_active:
        text += " · " + _("about {seconds} s left").format(seconds=f"{elapsed / run.progress * (1 - run.progress):.0f}")
    return text


def legend_labels(runs: Sequence[RunRecord]) -> dict[int, str]:
    """Names that say what differs between the runs shown together, e.g. '#4 batch 1024' (in the reader's
    language: '#4 批量大小 1024'), or else each run's shown name."""
    fields = [f for f in differing_fields([run.config for run in runs]) if f != "reports_per_epoch"]
    return {run.id: f"#{run.id} " + (say_fields(run.config, fields) if fields else run.shown_name())
            for run in runs}



def render_seed_band(reader: ScopedRuns, runs: Sequence[RunRecord], key: str, title: str = "") -> SeedBands | None:
    """Mean +/- std of train and held-out accuracy over the finished runs (seeds of one config)."""
    finished = [run for run in runs if run.status == RunStatus.FINISHED]
    if len(finished) < 2:
        return None
    cache = get_lesson_runs()
    bands = seed_bands([cache.lesson_run(run, reader) for run in finished])
    show_chart(for_the_room(build_band_figure(bands.epochs, {
        _("train accuracy"): (bands.train_mean, bands.train_std),
        _(HELD_OUT_ACCURACY[bands.held_out]): (bands.test_mean, bands.test_std)},
        title=title or _("mean ± std over {seeds} seeds").format(seeds=bands.seeds))), key, band_text(bands))
    return bands
