"""Inspect a run: the ten class templates and the test confusion matrix, each replayable epoch by epoch,
per-class accuracy, the most confidently wrong test images, and what to take away (CSV, JSON, code).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.charts import build_confusion_figure, build_per_class_figure, build_templates_figure
from dashboard.classroom_gate import refuse_hidden, visible
from dashboard.render import escape_markdown, render_verdict, status_markdown
from dashboard.services import open_store_or_stop
from dashboard.url_state import runs_from_url
from softmax_core.analysis.export import config_json, metrics_csv, reproduction_script
from softmax_core.analysis.inspection import GalleryItem, mistakes_gallery
from softmax_core.book.data import CLASS_NAMES, DataError, load_fashion_mnist
from softmax_core.book.metrics import per_class_accuracy
from softmax_core.runs.store import EpochRecord, RunRecord, RunStore

GALLERY_SIZE = 12


@st.cache_data(show_spinner="finding the most confidently wrong test images", max_entries=32)
def cached_gallery(store_url: str, run_id: int, epoch: int, _weights: np.ndarray,
                   _bias: np.ndarray) -> list[GalleryItem]:
    """The gallery of one stored epoch (cached by run and epoch; the weights are that epoch's)."""
    return mistakes_gallery(load_fashion_mnist(download=False), _weights, _bias, GALLERY_SIZE)


def choose_run(store: RunStore) -> RunRecord:
    runs = [run for run in visible(store.list_runs()) if run.last_step > 0]
    refuse_hidden(runs_from_url("run"), runs)
    if not runs:
        st.info("No run has finished an epoch yet: start one on the Train page.")
        st.stop()
    ids = [run.id for run in runs]
    wanted = runs_from_url("run")
    if "inspect_run" not in st.session_state or st.session_state["inspect_run"] not in ids:
        st.session_state["inspect_run"] = wanted[0] if wanted and wanted[0] in ids else ids[0]
    by_id = {run.id: run for run in runs}
    run_id = st.selectbox("Run", ids, key="inspect_run", format_func=lambda i: f"#{i} {by_id[i].name}")
    st.query_params["run"] = str(run_id)
    return by_id[run_id]


def render_gallery(store: RunStore, run: RunRecord, epoch_record: EpochRecord) -> None:
    try:
        gallery = cached_gallery(store.url, run.id, epoch_record.epoch, epoch_record.weights.numpy(),
                                 epoch_record.bias.numpy())
    except DataError as error:
        st.error(str(error))
        return
    columns = st.columns(6)
    for index, item in enumerate(gallery):
        with columns[index % 6]:
            st.image(item.image, width=96, clamp=True)
            st.caption(mistake_caption(item))


def mistake_caption(item: GalleryItem) -> str:
    """E.g. 'true **shirt**, predicted **t-shirt**  \nt-shirt 91% · shirt 8% · pullover 1%'."""
    mistake = item.mistake
    return (f"true **{CLASS_NAMES[mistake.true_label]}**, predicted **{CLASS_NAMES[mistake.predicted_label]}**  \n"
            + " · ".join(f"{CLASS_NAMES[i]} {mistake.probabilities[i]:.0%}" for i in item.top_classes()))


def render_takeaways(store: RunStore, run: RunRecord) -> None:
    left, middle = st.columns(2)
    left.download_button("Metrics (CSV)", metrics_csv(store.read_points(run.id)), f"run-{run.id}-metrics.csv",
                         "text/csv", key="download_csv")
    middle.download_button("Config (JSON)", config_json(run.config), f"run-{run.id}-config.json",
                           "application/json", key="download_json")
    with st.expander("Show code: this run in plain PyTorch"):
        st.code(reproduction_script(run.config), language="python")


def main() -> None:
    store = open_store_or_stop()
    st.title("Inspect a run")
    run = choose_run(store)
    st.markdown(status_markdown(run))
    if run.placement:
        st.caption(f"Trained on {escape_markdown(run.placement)}")
    render_verdict(run)
    epochs = store.read_epochs(run.id)
    if not epochs:
        st.info("This run has no finished epoch yet.")
        return
    last = epochs[-1].epoch
    epoch = st.slider("Epoch", 1, last, last, key=f"inspect_epoch_{run.id}") if last > 1 else 1
    record = store.read_epoch(run.id, epoch)
    st.subheader(f"Class templates after epoch {epoch}")
    st.caption("Each class's weight row as an image: red pixels raise the class's score, blue ones lower it.")
    st.plotly_chart(build_templates_figure(record.weights.numpy(), CLASS_NAMES), key="templates",
                    width="stretch")
    left, right = st.columns([3, 2])
    with left:
        st.subheader("Test confusion matrix")
        st.plotly_chart(build_confusion_figure(record.confusion.numpy(), CLASS_NAMES), key="confusion",
                        width="stretch")
    with right:
        st.subheader("Accuracy per class")
        st.plotly_chart(build_per_class_figure(per_class_accuracy(record.confusion).tolist(), CLASS_NAMES),
                        key="per_class", width="stretch")
    st.subheader("Most confidently wrong test images")
    render_gallery(store, run, record)
    st.subheader("Take it with you")
    render_takeaways(store, run)
    st.caption(f"Run name: {escape_markdown(run.name)}")


main()
