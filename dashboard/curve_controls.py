"""The controls people expect above training curves (TensorBoard, W&B, MLflow have them): the loss axis on
a log scale, and a smoothing slider (TensorBoard's exponential moving average, 0 = off) that keeps each
raw curve faint beneath its smoothed one. Each chart has its own pair; the last one a person moved is
remembered for the session, so the next chart (on this page or another) starts from it, and a
projector (``?present=1``), which shows no controls, draws it.
"""

from __future__ import annotations

import streamlit as st

from dashboard.charts import CurveView
from dashboard.render import presenting
from softmax_core.analysis.chart_readings import MAX_SMOOTHING
from softmax_core.i18n import N_, _

VIEW_KEY = "curve_view"  # the session's last choice, a CurveView
SMOOTHING_HELP = N_("An exponential moving average of the per-step train loss and train accuracy, as "
                  "TensorBoard draws it: 0 is off, 0.99 the smoothest. The raw curve stays faint beneath; "
                  "held-out accuracy (one point an epoch) is never smoothed.")
LOG_HELP = N_("The loss on a log scale: a small loss and its slow late fall stay readable beside a first epoch's.")


def remember_view(key: str) -> None:
    """A person moved one of ``key``'s controls: that is the session's choice from now on."""
    st.session_state[VIEW_KEY] = CurveView(bool(st.session_state[f"{key}_log"]),
                                           float(st.session_state[f"{key}_smoothing"]))


def curve_view_controls(key: str) -> CurveView:
    """The log-scale toggle and the smoothing slider of the chart ``key``, above it; returns their view.
    A projector shows no controls (nothing to click from the back of the room): the session's last view."""
    saved = st.session_state.get(VIEW_KEY, CurveView())
    if presenting():
        return saved
    log_column, smoothing_column, _spare = st.columns([1, 1, 1], vertical_alignment="center")
    log_loss = log_column.toggle(_("Log-scale loss"), value=saved.log_loss, key=f"{key}_log", help=_(LOG_HELP),
                                 on_change=remember_view, args=(key,))
    smoothing = smoothing_column.slider(_("Smoothing"), 0.0, MAX_SMOOTHING, value=saved.smoothing, step=0.01,
                                        key=f"{key}_smoothing", help=_(SMOOTHING_HELP), on_change=remember_view,
                                        args=(key,))
    return CurveView(bool(log_loss), float(smoothing))
