"""Train: a sidebar form with every TrainConfig field and the book's presets; Start submits to the shared
JobRunner and returns at once (a worker process trains); the runs of this view grow live below, in the
shared live view, with progress, Cancel and verdict.
"""

from __future__ import annotations

import streamlit as st

from dashboard.live import render_live_runs
from dashboard.shared import (
    data_ready_or_offer_download,
    escape_markdown,
    get_runner,
    open_store_or_stop,
    render_progress,
    render_verdict,
    runs_from_url,
    status_markdown,
    write_runs_to_url,
)
from softmax_core.charts import build_curves_figure
from softmax_core.config import DEVICES, IMPLEMENTATIONS, OPTIMIZERS, PRESETS, ConfigError, TrainConfig
from softmax_core.store import RunRecord, StoreError

FORM_FIELDS = {  # TrainConfig field -> widget key
    "batch_size": "form_batch_size", "lr": "form_lr", "epochs": "form_epochs", "init_std": "form_init_std",
    "weight_decay": "form_weight_decay", "momentum": "form_momentum", "optimizer": "form_optimizer",
    "implementation": "form_implementation", "reports_per_epoch": "form_reports_per_epoch",
    "seed": "form_seed", "device": "form_device",
}
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


def config_form() -> tuple[TrainConfig | None, str]:
    """The sidebar form; returns (config, run name) when Start was clicked with valid values."""
    st.sidebar.selectbox("Preset", list(PRESETS), key="preset", on_change=apply_preset,
                         format_func=lambda name: PRESETS[name].title,
                         help="The book's run and its exercises; the form below takes its values.")
    st.sidebar.caption(PRESETS[st.session_state["preset"]].lesson)
    with st.sidebar.form("train_form"):
        name = st.text_input("Run name (optional)", key="form_name", max_chars=200)
        st.number_input("Batch size", 1, 60000, step=1, key="form_batch_size",
                        help="Examples per SGD step (1..60000). The book uses 256.")
        st.number_input("Learning rate", 0.0, 10.0, step=0.05, format="%.4f", key="form_lr",
                        help="Step size, in (0, 10]. The book uses 0.1.")
        st.number_input("Epochs", 1, 500, step=1, key="form_epochs", help="Passes over the 60,000 images (1..500).")
        st.number_input("Initial weight std", 0.0, 100.0, step=0.01, format="%.4f", key="form_init_std",
                        help="Weights start as N(0, std²), std in [0, 100]. The book uses 0.01.")
        st.number_input("Weight decay", 0.0, 1.0, step=0.0001, format="%.4f", key="form_weight_decay",
                        help="L2 penalty in [0, 1].")
        st.number_input("Momentum", 0.0, 0.999, step=0.1, format="%.3f", key="form_momentum",
                        help="SGD momentum in [0, 1).")
        st.selectbox("Optimizer", OPTIMIZERS, key="form_optimizer")
        st.selectbox("Implementation", IMPLEMENTATIONS, key="form_implementation",
                     help="concise = section 3.7 (stable cross-entropy); scratch = section 3.6 (naive softmax).")
        with st.expander("More settings"):
            st.number_input("Reports per epoch", 1, 100, step=1, key="form_reports_per_epoch",
                            help="Points per epoch on the live curves (1..100).")
            st.number_input("Seed", 0, 2**31 - 1, step=1, key="form_seed",
                            help="Seeds the initial weights and the shuffling.")
            st.selectbox("Device", DEVICES, key="form_device")
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


def render_run_cards(runs) -> None:
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
