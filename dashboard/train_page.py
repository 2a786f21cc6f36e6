"""Train: a sidebar form with every TrainConfig field and the book's presets; Start submits to the shared
JobRunner and returns at once (a worker process trains); the runs of this view grow live below, in the
shared live view, with progress, Cancel and verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from dashboard.data_check import data_ready_or_offer_download
from dashboard.live import render_live_runs
from dashboard.render import escape_markdown, render_progress, render_verdict, status_markdown
from dashboard.services import get_runner, open_store_or_stop
from dashboard.settings_widgets import setting_input
from dashboard.url_state import runs_from_url, write_runs_to_url
from softmax_core.charts import build_curves_figure
from softmax_core.config import PRESETS, ConfigError, TrainConfig, field_names
from softmax_core.store import RunRecord, StoreError

MORE_SETTINGS = ("reports_per_epoch", "seed", "device")  # behind "More settings"; the rest are shown
FORM_FIELDS = {name: f"form_{name}" for name in field_names()}  # TrainConfig field -> widget key
MAX_LIVE_RUNS = 6
CANCEL_SETTLE_SECONDS = 0.6  # a worker reads the flag within 0.1 s and stops within a step


def apply_preset() -> None:
    """Fill the form with the chosen preset's values."""
    config = PRESETS[st.session_state["preset"]].config
    for field, key in FORM_FIELDS.items():
        st.session_state[key] = getattr(config, field)


def init_session_state() -> None:
    """The form holds the last values used (the book's run at first); the view shows the URL's runs."""
    if "watched" not in st.session_state:
        st.session_state["watched"] = runs_from_url()
        book = PRESETS["book"].config
        st.session_state["form_values"] = {key: getattr(book, field) for field, key in FORM_FIELDS.items()}
    for key, value in st.session_state["form_values"].items():
        st.session_state.setdefault(key, value)  # Streamlit drops widget state while another page shows


def remember_form_values() -> None:
    st.session_state["form_values"] = {key: st.session_state[key] for key in FORM_FIELDS.values()}


def form_input(field: str) -> None:
    """A form field whose default is its current value: without it, a rerun first draws the field at
    its minimum (batch size 1, lr 0.0001) and then corrects it, a visible flash."""
    key = FORM_FIELDS[field]
    setting_input(field, key, value=st.session_state[key])


def config_form() -> tuple[TrainConfig | None, str]:
    """The sidebar form; returns (config, run name) when Start was clicked with valid values."""
    st.sidebar.selectbox("Preset", list(PRESETS), key="preset", on_change=apply_preset,
                         format_func=lambda name: PRESETS[name].title,
                         help="The book's run and its exercises; the form below takes its values.")
    st.sidebar.caption(PRESETS[st.session_state["preset"]].lesson)
    with st.sidebar.form("train_form"):
        name = st.text_input("Run name (optional)", key="form_name", max_chars=200)
        for field in FORM_FIELDS:
            if field not in MORE_SETTINGS:
                form_input(field)
        with st.expander("More settings"):
            for field in MORE_SETTINGS:
                form_input(field)
        started = st.form_submit_button("Start", type="primary", width="stretch")
    if not started:
        return None, ""
    values = {field: st.session_state[key] for field, key in FORM_FIELDS.items()}
    try:
        return TrainConfig(**values), name
    except ConfigError as error:
        st.sidebar.error(f"Can't start: {error}")
        return None, ""


def start_run(config: TrainConfig, name: str) -> None:
    try:
        run_id = get_runner().submit(config, name)
    except (ConfigError, StoreError) as error:
        st.sidebar.error(f"Can't start: {error}")
        return
    watched = [run_id] + [i for i in st.session_state["watched"] if i != run_id]
    st.session_state["watched"] = watched[:MAX_LIVE_RUNS]
    write_runs_to_url(st.session_state["watched"])
    st.toast(f"Run #{run_id} started")


def render_run_card(run: RunRecord) -> None:
    with st.container(border=True):
        title, action = st.columns([5, 1])
        title.markdown(f"**#{run.id} {escape_markdown(run.name)}**  \n{status_markdown(run)}")
        if run.is_active and not run.cancel_requested:
            action.button("Cancel", key=f"cancel_{run.id}", on_click=cancel_and_settle, args=(run.id,))
        elif run.is_active:
            action.caption("stopping…")
        render_progress(run)
        render_verdict(run)


def cancel_and_settle(run_id: int) -> None:
    """Cancel, and give the worker a moment to stop, so the redraw right after the click shows the end."""
    runner = get_runner()
    if runner.cancel(run_id):
        runner.wait(run_id, CANCEL_SETTLE_SECONDS)


def render_run_cards(runs: Sequence[RunRecord]) -> None:
    for run in runs:
        render_run_card(run)


def render_empty_curves() -> None:
    """The chart's place before any run: Plotly's bundle loads now, not with the first click."""
    st.plotly_chart(build_curves_figure([], title="the loss and accuracy curves grow here"), key="live_curves",
                    width="stretch")


def main() -> None:
    store = open_store_or_stop()
    init_session_state()
    st.title("Softmax regression on Fashion-MNIST")
    st.caption("Dive into Deep Learning, section 3.7: set the hyperparameters in the sidebar and press Start. "
               "Runs keep training when you close the tab; compare them on the Compare page.")
    data_ready = data_ready_or_offer_download()
    config, name = config_form()
    remember_form_values()
    if config is not None and not data_ready:
        st.sidebar.error("Can't start yet: Fashion-MNIST is missing (see the message on the page).")
    elif config is not None:
        start_run(config, name)
    watched = st.session_state["watched"]
    if not watched:
        st.info("No run in this view yet: press **Start** in the sidebar to train the book's model.")
        render_empty_curves()
        return
    render_live_runs(store, watched, "live_curves", draw_runs=render_run_cards)


main()
