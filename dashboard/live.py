"""The one live view of runs, shared by Train, Lessons and Compare: whatever each page draws per run
(cards, progress lines, status lines) and the overlaid curves, redrawn in a ``st.fragment`` that polls
the store while any of its runs is active.

Watching must cost the server almost nothing, since a class watches at once: a poll reads the watched
run rows (one query), takes their curves from the process-wide ``CurveCache`` (only new points are
read), reuses the Plotly traces of runs that haven't changed, and builds the figures without
validation: the loss and accuracy panels are two charts in two columns (a phone stacks them), split from
one spec, so a poll does the same work as for one figure. It polls at once while a just-submitted run
awaits its first point, every second while a run trains, slowly while runs only wait in the queue, and
not at all once none is active; a change of pace reruns the page once to re-arm the timer.

Above the curves sit their controls (a log-scale loss axis, smoothing: ``curve_controls``), inside the
fragment so that moving one redraws only the view; a smoothed run's traces are cached like the raw ones.
Beneath them each run's curves are said in a sentence, also the charts' accessible names.

Every poll reads through the session's ``ScopedRuns``: a run its reader may no longer see (un-shared,
its student removed) drops out of the view at the next poll, and says so.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import plotly.graph_objects as go
import streamlit as st

from dashboard.charts import (
    CURVE_PANELS,
    CurveView,
    PreparedFigure,
    RunCurves,
    build_curves_figure,
    curve_panel_specs,
    curves_text,
    run_traces,
)
from dashboard.curve_controls import curve_view_controls
from dashboard.language import in_readers_language
from dashboard.render import chart_style, legend_labels, show_chart, shown_as_message, status_name
from dashboard.services import get_curve_cache
from dashboard.text import as_text
from softmax_core.i18n import N_, _, current_language, join_sentences
from softmax_core.runs.store import RunRecord, ScopedRuns
from softmax_core.status import RunStatus

FIRST_POINT_POLL_SECONDS = 0.25  # a run just submitted, with no point yet: its first point is due any moment
FAST_POLL_SECONDS = 1.0  # while a run trains (points arrive every half second; a redraw costs the browser)
SLOW_POLL_SECONDS = 2.0  # while runs only wait for a worker
FRESH_SECONDS = 3.0  # a free worker claims a run within milliseconds and reports within a second
CLAIM_SECONDS = 0.5  # a run still queued after this waits for a worker: its first point is not due yet
DrawRuns = Callable[[Sequence[RunRecord]], None]
PANEL_NAMES = {"loss": N_("Loss against epoch."), "accuracy": N_("Accuracy against epoch.")}


def poll_interval(runs: Sequence[RunRecord], now: float | None = None) -> float | None:
    """How often a view of these runs should poll: at once for a first point that is due (a run a worker
    has claimed, or one just submitted that a free worker will claim), fast while one trains, slowly while
    they only wait in the queue, and not at all once none is active. (A class pressing Start together used
    to poll four times a second for every queued run: 160 polls a second for three seconds.)"""
    now = time.time() if now is None else now
    active = [run for run in runs if run.is_active]
    if any(_first_point_due(run, now) for run in active):
        return FIRST_POINT_POLL_SECONDS
    if any(run.status == RunStatus.RUNNING for run in active):
        return FAST_POLL_SECONDS
    return SLOW_POLL_SECONDS if active else None


def _first_point_due(run: RunRecord, now: float) -> bool:
    if run.last_step != 0 or now - run.created_at >= FRESH_SECONDS:
        return False
    return run.status == RunStatus.RUNNING or now - run.created_at < CLAIM_SECONDS


def render_live_runs(reader: ScopedRuns, run_ids: Sequence[int], chart_key: str, draw_runs: DrawRuns | None = None,
                     show_curves: bool = True, when_done: DrawRuns | None = None, curves_first: bool = False) -> None:
    """Draw the runs (in ``run_ids`` order) and their curves, live while any is active; once none is,
    ``when_done(runs)`` draws what is computed from the ended runs. ``curves_first``: the chart above
    the runs (Train's cards would push it below a laptop's screen)."""
    if not run_ids:
        return
    order = {run_id: index for index, run_id in enumerate(run_ids)}
    interval = poll_interval(reader.get_runs(run_ids))

    @st.fragment(run_every=interval)
    @in_readers_language  # a fragment's rerun is a thread of its own: it sets the reader's language again
    @shown_as_message
    def live() -> None:
        runs = sorted(reader.get_runs(run_ids), key=lambda run: order[run.id])
        say_which_left(run_ids, runs)
        if curves_first and show_curves and runs:
            render_curves(runs, reader, chart_key)
        (draw_runs or draw_progress_lines)(runs)
        if not curves_first and show_curves and runs:
            render_curves(runs, reader, chart_key)
        if poll_interval(runs) != interval:
            st.rerun()  # speed up, slow down or stop: the page reruns once and re-arms the timer
        if when_done is not None and not any(run.is_active for run in runs):
            when_done(runs)

    live()


def say_which_left(run_ids: Sequence[int], runs: Sequence[RunRecord]) -> None:
    """A run that was in this view and no longer may be seen here (un-shared, deleted) is named, once per poll."""
    gone = sorted(set(run_ids) - {run.id for run in runs})
    if gone:
        from dashboard.classroom_gate import classroom_on  # here only: the live view imports no page's gate

        message = (_("{runs} can no longer be shown here: taken back by its owner, or deleted.") if classroom_on()
                   else _("{runs} can no longer be shown here: deleted."))
        st.caption(message.format(runs=", ".join(f"#{run_id}" for run_id in gone)))


def draw_progress_lines(runs: Sequence[RunRecord]) -> None:
    """A compact progress bar for each active run."""
    for run in runs:
        if run.is_active:
            status = status_name(run.status)
            st.progress(run.progress, text=as_text(f"#{run.id} {run.shown_name()}: {status}, {run.progress:.0%}"))


def render_curves(runs: Sequence[RunRecord], reader: ScopedRuns, chart_key: str) -> None:
    """The curves' controls (log-scale loss, smoothing), then on a projector one figure whose legend names
    each run once, in the room's type; elsewhere the two panels in columns, which a phone stacks. Each
    run's curves are said in a sentence beneath (and are the charts' accessible names)."""
    view = curve_view_controls(chart_key)
    curves, traces = _curves_and_traces(runs, reader, view.smoothing)
    text = join_sentences(curves_text(curves))
    if chart_style() is not None:
        figure = build_curves_figure(curves, traces=traces, style=chart_style(), view=view)
        show_chart(figure, chart_key, alt=_("Loss and accuracy against epoch.") + f" {text}")
    else:
        panels = [PreparedFigure(spec) for spec in curve_panel_specs(curves, traces=traces, view=view)]
        render_curve_panels(panels, chart_key, text)


def render_curve_panels(panels: Sequence[go.Figure | PreparedFigure], chart_key: str, text: str = "",
                        caption: bool = True) -> None:
    """Loss and accuracy side by side in two columns, which a phone stacks, each then the screen's width;
    ``text`` (the runs' curves in words) is each panel's accessible name and (``caption``) a caption
    beneath both."""
    for column, figure, panel in zip(st.columns(2), panels, CURVE_PANELS, strict=True):
        said = _(PANEL_NAMES[panel]) if panel in PANEL_NAMES else panel
        show_chart(figure, f"{chart_key}_{panel}", alt=f"{said} {text}".strip(),
                   where=column, caption=False)
    if text and caption:
        st.caption(as_text(text))


def curves_figure(runs: Sequence[RunRecord], reader: ScopedRuns, title: str = "",
                  view: CurveView | None = None) -> tuple[go.Figure, str]:
    """The runs' overlaid curves as ``reader`` may see them, labelled by what differs between them, in a
    projector's style while presenting; and their text alternative."""
    view = view or CurveView()
    curves, traces = _curves_and_traces(runs, reader, view.smoothing)
    figure = build_curves_figure(curves, title=title, traces=traces, style=chart_style(), view=view)
    return figure, join_sentences(curves_text(curves))


def _curves_and_traces(runs: Sequence[RunRecord], reader: ScopedRuns,
                       smoothing: float = 0.0) -> tuple[list[RunCurves], list[dict]]:
    labels = legend_labels(runs)
    cache = get_curve_cache()
    curves = [cache.curves_of(run, labels[run.id], reader) for run in runs]
    traces = [trace for index, (run, run_curves) in enumerate(zip(runs, curves))
              for trace in _traces_of(run, run_curves, index, smoothing)]
    return curves, traces


_traces: OrderedDict[tuple, list[dict]] = OrderedDict()
_traces_lock = threading.Lock()
MAX_CACHED_TRACES = 1024


def _traces_of(run: RunRecord, curves: RunCurves, index: int, smoothing: float = 0.0) -> list[dict]:
    """A run's traces, rebuilt only when its points, label, colour, smoothing or language changed (the
    cache is shared by every viewer: the legend names and hovers are in the language they were built in)."""
    key = (run.id, run.created_at, run.test_accuracy_shown, run.last_step, curves.label, index, smoothing,
           current_language())
    with _traces_lock:
        if key in _traces:
            _traces.move_to_end(key)
            return _traces[key]
    traces = run_traces(curves, index, smoothing=smoothing)
    with _traces_lock:
        _traces[key] = traces
        while len(_traces) > MAX_CACHED_TRACES:
            _traces.popitem(last=False)
    return traces
