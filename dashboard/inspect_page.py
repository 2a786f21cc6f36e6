"""Inspect a run: the ten class templates and the test confusion matrix, each replayable epoch by epoch,
per-class accuracy, the most confidently wrong test images, and what to take away (CSV, JSON, code).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.shared import escape_markdown, open_store_or_stop, render_verdict, runs_from_url, status_markdown
from softmax_core.charts import build_confusion_figure, build_per_class_figure, build_templates_figure
from softmax_core.data import CLASS_NAMES, DataError, load_fashion_mnist
from softmax_core.export import config_json, metrics_csv, reproduction_script
from softmax_core.metrics import most_confident_mistakes, per_class_accuracy
from softmax_core.model import linear_logits

GALLERY_SIZE = 12


@st.cache_data(show_spinner="finding the most confidently wrong test images", max_entries=32)
def confident_mistakes(store_url: str, run_id: int, epoch: int, _weights: np.ndarray, _bias: np.ndarray):
    """The gallery of one stored epoch (cached by run and epoch; the weights are that epoch's)."""
    data = load_fashion_mnist(download=False)
    logits = linear_logits(data.test_images, _weights, _bias)
    mistakes = most_confident_mistakes(logits, data.test_labels, GALLERY_SIZE)
    images = [(data.test_images[m.index].reshape(28, 28).numpy() * 255).astype(np.uint8) for m in mistakes]
    return mistakes, images


def choose_run(store):
    runs = [run for run in store.list_runs() if run.last_step > 0]
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


def render_gallery(store, run, epoch_record) -> None:
    try:
        mistakes, images = confident_mistakes(store.url, run.id, epoch_record.epoch,
                                              epoch_record.weights.numpy(), epoch_record.bias.numpy())
    except DataError as error:
        st.error(str(error))
        return
    columns = st.columns(6)
    for index, (mistake, image) in enumerate(zip(mistakes, images)):
        top = np.argsort(mistake.probabilities)[::-1][:3]
        with columns[index % 6]:
            st.image(image, width=96, clamp=True)
            st.caption(f"true **{CLASS_NAMES[mistake.true_label]}**, predicted "
                       f"**{CLASS_NAMES[mistake.predicted_label]}**  \n"
                       + " · ".join(f"{CLASS_NAMES[i]} {mistake.probabilities[i]:.0%}" for i in top))


def render_takeaways(store, run) -> None:
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
