"""Inspect a run: the ten class templates and the confusion matrix, each replayable epoch by epoch,
per-class accuracy, the most confidently wrong held-out images, and what to take away (CSV, JSON, code).

An active run is followed live, as Train and Compare follow theirs: its status, the epoch slider's range
(which keeps to the newest epoch unless moved), the templates and the confusion matrix, until its end
(finished, cancelled, interrupted and why) shows. A student sees the validation split where the test set
would be until the teacher's reveal: the confusion matrix and the gallery are then computed from the
run's weights on it.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from dashboard.charts import build_confusion_figure, build_per_class_figure, build_templates_figure
from dashboard.classroom_gate import classroom_on, held_out_name, reader, refuse_hidden
from dashboard.language import in_readers_language
from dashboard.render import for_the_room, render_verdict, show_chart, shown_as_message, status_markdown, status_name
from dashboard.services import open_store_or_stop
from dashboard.text import as_text
from dashboard.url_state import runs_from_url
from softmax_core.analysis.chart_readings import describe_confusion, describe_per_class
from softmax_core.analysis.export import config_json, metrics_csv, reproduction_notebook, reproduction_script
from softmax_core.analysis.inspection import GalleryItem, held_out_confusion, mistakes_gallery
from softmax_core.book.data import CLASS_NAMES, DataError, load_fashion_mnist, shown_class_names
from softmax_core.book.metrics import per_class_accuracy
from softmax_core.i18n import _
from softmax_core.runs.store import EpochRecord, RunRecord
from softmax_core.status import RunStatus

GALLERY_SIZE = 12
LIVE_POLL_SECONDS = 1.0  # an active run's templates, matrix and slider are redrawn every second
STATUS_POLL_SECONDS = 0.5  # its status line is one cheap query: its end shows within half a second


@st.cache_data(show_spinner=False, max_entries=32)  # its spinner is the caller's, in the reader's language
def cached_gallery(run_key: tuple, epoch: int, held_out: str, _weights: np.ndarray,
                   _bias: np.ndarray) -> list[GalleryItem]:
    """The gallery of one stored epoch, cached by run (id and creation time: a reused id is another run),
    epoch and held-out set."""
    return mistakes_gallery(load_fashion_mnist(download=False), _weights, _bias, GALLERY_SIZE, held_out)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_confusion(run_key: tuple, epoch: int, held_out: str, _weights: np.ndarray, _bias: np.ndarray) -> np.ndarray:
    """An epoch's confusion matrix on the held-out set, computed from its weights (for a reader who may
    not see the stored one, which is the test set's)."""
    return held_out_confusion(load_fashion_mnist(download=False), _weights, _bias, held_out).numpy()


def run_key(run: RunRecord) -> tuple:
    return run.id, run.created_at


def choose_run() -> int:
    """The run to inspect: the URL's (?run=3) if this session may see it, else the one picked. Every run
    this session may see is offered, a queued or diverged one too (``nothing_to_inspect`` says why it has
    no epoch to show); a run the URL asks for and this session can't see is refused, never swapped for
    another one in silence."""
    runs = reader().list_runs()
    say_if_taken_back()
    wanted = runs_from_url("run")
    refuse_hidden(wanted, runs)
    if not runs:
        st.info(_("There is no run you can see here yet: start one on the Train page."))
        st.stop()
    ids = [run.id for run in runs]
    if st.session_state.get("inspect_run") not in ids:
        st.session_state["inspect_run"] = (wanted[0] if wanted[0] in ids else None) if wanted else ids[0]
    by_id = {run.id: run for run in runs}
    run_id = st.selectbox(_("Run"), ids, key="inspect_run", placeholder=_("Choose a run to inspect"),
                          format_func=lambda i: f"#{i} {by_id[i].shown_name()}", on_change=write_run_to_url)
    if run_id is None:
        st.stop()
    return run_id


def write_run_to_url() -> None:
    """The run a person picked, into the URL (a reload or a copied link shows it). Only on their change:
    a write from the script itself pushes a browser history entry, so that one Back press would land on
    this same page."""
    if st.session_state.get("inspect_run") is not None:
        st.query_params["run"] = str(st.session_state["inspect_run"])


def nothing_to_inspect(run: RunRecord) -> str:
    """Why a run has no epoch to show yet (or ever), in the words of its status."""
    if run.status == RunStatus.QUEUED:
        return _("This run is queued, waiting for a free worker: its class templates, confusion matrix and "
                 "mistakes appear here when its first epoch ends.")
    if run.status == RunStatus.RUNNING:
        return _("This run is training its first epoch: what it learned appears here when that epoch ends.")
    if run.status == RunStatus.DIVERGED:
        where = _(" at step {step}").format(step=run.diverged_step) if run.diverged_step is not None else ""
        return _("This run's loss became NaN{where}, before its first epoch ended, so no epoch's weights were "
                 "stored: there are no templates or confusion matrix to show. Its loss curve, up to the NaN, "
                 "is on the Compare page; its settings and code are below.").format(where=where)
    return _("This run ended ({status}) before its first epoch did, so no epoch's weights were stored: "
             "there is nothing to inspect but its settings and code, below.").format(status=status_name(run.status))


def choose_epoch(run: RunRecord, last: int) -> int:
    """The epoch slider, which keeps to the newest epoch while it grows, unless the person moved it."""
    key, newest_key = f"inspect_epoch_{run.id}", f"inspect_newest_{run.id}"
    if last <= 1:
        return 1
    if key not in st.session_state or st.session_state[key] == st.session_state.get(newest_key):
        st.session_state[key] = last
    st.session_state[newest_key] = last
    return st.slider(_("Epoch"), 1, last, key=key)


def confusion_of(run: RunRecord, record: EpochRecord, held_out: str) -> np.ndarray:
    if record.confusion is not None:
        return record.confusion.numpy()
    return cached_confusion(run_key(run), record.epoch, held_out, record.weights.numpy(), record.bias.numpy())


def render_epoch(run: RunRecord, record: EpochRecord) -> None:
    held_out = held_out_name()
    if record.weights is None:  # a notebook's own model (an MLP, ...): no class templates to draw
        st.info(_("This run's model is not the book's single linear layer, so it has no class templates "
                  "to show; its curves are on Compare."))
        return
    names = shown_class_names()
    st.header(_("Class templates after epoch {epoch}").format(epoch=record.epoch))
    st.caption(_("Each class's weight row as an image: red pixels raise the class's score, blue ones lower it."))
    weights = record.weights.numpy()
    show_chart(for_the_room(build_templates_figure(weights, names)), "templates",
               _("Ten 28 by 28 images, one per class ({classes}), of the weights after epoch {epoch}; the "
                 "strongest weight is {strongest}.").format(classes=_(", ").join(names), epoch=record.epoch,
                                                            strongest=f"{float(np.abs(weights).max()):.3f}"),
               caption=False)
    try:
        confusion = confusion_of(run, record, held_out)
    except DataError as error:
        st.error(str(error))
        return
    left, right = st.columns([3, 2])
    with left:
        st.header(_("Test confusion matrix") if held_out == "test" else _("Validation confusion matrix"))
        show_chart(for_the_room(build_confusion_figure(confusion, names)), "confusion",
                   describe_confusion(confusion.tolist(), names, held_out))
    with right:
        st.header(_("Accuracy per class"))
        accuracies = per_class_accuracy(torch.as_tensor(confusion)).tolist()
        figure = build_per_class_figure(accuracies, names, held_out=held_out)
        show_chart(for_the_room(figure), "per_class", describe_per_class(accuracies, names, held_out))


def render_gallery(run: RunRecord, record: EpochRecord) -> None:
    held_out = held_out_name()
    st.header(_("Most confidently wrong test images") if held_out == "test" else
              _("Most confidently wrong validation images"))
    try:
        with st.spinner(_("Finding the most confidently wrong held-out images")):
            gallery = cached_gallery(run_key(run), record.epoch, held_out, record.weights.numpy(),
                                     record.bias.numpy())
    except DataError as error:
        st.error(str(error))
        return
    columns = st.columns(6)
    for index, item in enumerate(gallery):
        with columns[index % 6]:
            st.image(item.image, width=96, clamp=True, alt=mistake_alt(item, held_out))
            st.caption(mistake_caption(item))


def mistake_caption(item: GalleryItem) -> str:
    """E.g. 'true **shirt**, predicted **t-shirt**  \nt-shirt 91% · shirt 8% · pullover 1%' (the names in
    the reader's language)."""
    mistake, names = item.mistake, shown_class_names()
    return (_("true **{true}**, predicted **{predicted}**").format(true=names[mistake.true_label],
                                                                 predicted=names[mistake.predicted_label])
            + "  \n" + " · ".join(f"{names[i]} {mistake.probabilities[i]:.0%}" for i in item.top_classes()))


def mistake_alt(item: GalleryItem, held_out: str) -> str:
    """The image's alt text, for a screen reader: what it shows and what the model made of it, e.g.
    'A test image of an ankle boot, predicted sandal with 91% confidence'."""
    mistake, names = item.mistake, shown_class_names()
    vowel = CLASS_NAMES[mistake.true_label][0] in "aeiou"  # English's article: whole sentences, one per case
    if held_out == "test":
        sentence = (_("A test image of an {true}, predicted {predicted} with {confidence} confidence") if vowel
                    else _("A test image of a {true}, predicted {predicted} with {confidence} confidence"))
    else:
        sentence = (_("A validation image of an {true}, predicted {predicted} with {confidence} confidence")
                    if vowel else
                    _("A validation image of a {true}, predicted {predicted} with {confidence} confidence"))
    return sentence.format(true=names[mistake.true_label], predicted=names[mistake.predicted_label],
                           confidence=f"{mistake.confidence:.0%}")


def render_takeaways(run: RunRecord) -> None:
    left, middle, right = st.columns(3)
    csv_text = metrics_csv(reader().read_points(run.id), test_accuracy=run.test_accuracy_shown)
    left.download_button(_("Metrics (CSV)"), csv_text, f"run-{run.id}-metrics.csv", "text/csv", key="download_csv")
    middle.download_button(_("Config (JSON)"), config_json(run.config), f"run-{run.id}-config.json",
                           "application/json", key="download_json")
    if run.ended_at is not None:  # the notebook puts the stored epochs beside its rerun
        notebook = reproduction_notebook(run, reader().read_epochs(run.id)) if run.test_accuracy_shown else \
            reproduction_notebook(run)  # before the reveal, no test accuracy leaves the server
        right.download_button(_("Notebook (.ipynb)"), notebook, f"run-{run.id}.ipynb", "application/x-ipynb+json",
                              key="download_notebook")
    with st.expander(_("Show code: this run in plain PyTorch")):
        st.code(reproduction_script(run.config), language="python")


def render_status_line(run: RunRecord) -> None:
    """The run's name and status (queued, running, finished, failed, cancelled), with the error if it ended in one."""
    label = f"**#{run.id} {as_text(run.shown_name())}**"
    st.markdown(_("{label}: {text}").format(label=label, text=status_markdown(run)))


def render_run(run: RunRecord) -> None:
    """Everything Inspect shows of the run as it stands now, below its status line."""
    if run.placement:
        st.caption(_("Trained on {placement}").format(placement=as_text(run.shown_placement())))
    render_verdict(run)
    epochs = reader().read_epochs(run.id)
    if not epochs:
        st.info(nothing_to_inspect(run))
        if not run.is_active:
            st.header(_("Take it with you"))
            render_takeaways(run)
        return
    record = reader().read_epoch(run.id, choose_epoch(run, epochs[-1].epoch))
    render_epoch(run, record)
    render_gallery(run, record)
    st.header(_("Take it with you"))
    render_takeaways(run)


def forget_taken_back_run(run_id: int) -> None:
    """Drop a run this session may no longer see from the address and the picker; the next run of the
    page says why (``say_if_taken_back``)."""
    st.session_state["inspect_taken_back"] = run_id
    st.session_state.pop("inspect_run", None)
    st.query_params.pop("run", None)


def say_if_taken_back() -> None:
    if "inspect_taken_back" in st.session_state:
        run_id = st.session_state.pop("inspect_taken_back")
        st.warning((_("Run #{run} can no longer be shown here: taken back by its owner, or deleted.")
                    if classroom_on() else _("Run #{run} can no longer be shown here: it was deleted.")
                    ).format(run=run_id))


def run_if_still_there(run_id: int) -> RunRecord | None:
    """The run as the store holds it now, or None once it was taken back by its owner or deleted."""
    try:
        return reader().get_run(run_id)
    except KeyError:
        return None


def render_live_run(run_id: int) -> None:
    """The run while it is active: its status line checked every half second (the moment it ends, the page
    reruns once and stops polling), the rest redrawn every second."""
    active = reader().get_run(run_id).is_active

    @st.fragment(run_every=STATUS_POLL_SECONDS if active else None)
    @in_readers_language  # a fragment's rerun is a thread of its own: it sets the reader's language again
    @shown_as_message
    def status_line() -> None:
        run = run_if_still_there(run_id)
        if run is None:
            forget_taken_back_run(run_id)
            st.rerun()  # the whole page, so that nothing of the run stays on it, its name in the picker too
        render_status_line(run)
        if run.is_active != active:
            st.rerun()

    @st.fragment(run_every=LIVE_POLL_SECONDS if active else None)
    @in_readers_language
    @shown_as_message
    def live() -> None:
        run = run_if_still_there(run_id)
        if run is not None:  # else the status line says so
            render_run(run)

    status_line()
    live()


def main() -> None:
    open_store_or_stop()
    st.title(_("Inspect a run"))
    render_live_run(choose_run())


main()
