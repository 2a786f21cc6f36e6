"""What every page of the dashboard shares: the process-wide RunStore, JobRunner and CurveCache, the
selected runs (kept in the URL so a reload or a copied link shows the same view), the data check with
its download progress, and small renderers (a run's status, its verdict, its progress).

Only composition lives here: the numbers come from ``softmax_core``.
"""

from __future__ import annotations

import functools
import logging
import re
import time
import uuid
from collections.abc import Iterable, Sequence

import streamlit as st

from softmax_core.charts import build_band_figure
from softmax_core.config import TrainConfig, describe_fields, differing_fields
from softmax_core.curves import CurveCache
from softmax_core.data import DataError, describe_expected_files, ensure_files, missing_files, resolve_data_dir
from softmax_core.jobs import JobRunner
from softmax_core.lessons import SeedBands, lesson_run, seed_bands
from softmax_core.status import RunStatus
from softmax_core.store import RunRecord, RunStore, StoreError

PASS_ICON, FAIL_ICON = ":material/check:", ":material/close:"
STATUS_ICONS = {RunStatus.QUEUED: ":material/hourglass_top:", RunStatus.RUNNING: ":material/directions_run:",
                RunStatus.FINISHED: ":material/check_circle:", RunStatus.DIVERGED: ":material/trending_up:",
                RunStatus.CANCELLED: ":material/stop_circle:", RunStatus.FAILED: ":material/error:",
                RunStatus.INTERRUPTED: ":material/warning:"}


@st.cache_resource(show_spinner=False)
def get_store() -> RunStore:
    """The one RunStore of this server process (thread-safe, shared by every session)."""
    return RunStore()


@st.cache_resource(show_spinner=False)
def get_runner() -> JobRunner:
    """The one JobRunner of this server process: its workers start (and load the data) with the first
    page anyone opens, so the first Start trains at once; runs outlive pages, tabs and sessions."""
    return JobRunner(get_store())


@st.cache_resource(show_spinner=False)
def get_curve_cache() -> CurveCache:
    """Every run's curves as read so far, shared by every viewer (a poll reads only new points)."""
    return CurveCache(get_store())


def start_background_services() -> None:
    """The job runner (workers, run watch) of this server process, started once by the first page view;
    if the store can't be opened, the page says so itself."""
    try:
        get_runner()
    except StoreError:
        pass


def shown_as_message(draw):
    """Wrap a drawing function (a fragment's body) so that an error becomes a message, not a traceback."""
    @functools.wraps(draw)
    def guarded(*args, **kwargs):
        try:
            return draw(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - st.rerun/st.stop are BaseExceptions and pass through
            logging.getLogger("softmax_lab").exception("drawing %s failed", draw.__name__)
            st.error(f"This part of the page failed ({type(error).__name__}: {error}); stored runs are safe.")
    return guarded


def open_store_or_stop() -> RunStore:
    """The store, or an error message on the page (and nothing else) if it can't be opened."""
    try:
        return get_store()
    except StoreError as error:
        st.error(f"The run database can't be used: {error}")
        st.stop()


def escape_markdown(text: str) -> str:
    """User text (run names) shown literally inside markdown: no links, no HTML, no formatting."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", text)


# --- selected runs, mirrored in the URL -----------------------------------------------------------------

def runs_from_url(key: str = "runs") -> list[int]:
    """Run ids in the query string (?runs=3,5), ignoring anything that isn't a number."""
    raw = st.query_params.get(key, "")
    return [int(part) for part in raw.split(",") if part.strip().isdigit()]


def write_runs_to_url(run_ids: Iterable[int], key: str = "runs") -> None:
    ids = ",".join(str(run_id) for run_id in run_ids)
    if ids:
        st.query_params[key] = ids
    elif key in st.query_params:
        del st.query_params[key]


# --- data -----------------------------------------------------------------------------------------------

def data_ready_or_offer_download() -> bool:
    """True when Fashion-MNIST is on disk; otherwise explain, and offer a download with a progress bar."""
    folder = resolve_data_dir()
    try:
        absent = missing_files(folder)
    except DataError as error:
        st.error(str(error))
        return False
    if not absent:
        return True
    st.warning(f"Fashion-MNIST is not here yet: {describe_expected_files(folder)}.")
    if st.button("Download Fashion-MNIST (about 30 MB)", key="download_data"):
        progress = st.progress(0.0, text="starting the download")

        def report(name: str, done: int, total: int | None) -> None:
            share = done / total if total else 0.0
            progress.progress(min(share, 1.0), text=f"{name}: {done / 1e6:.1f} MB")

        try:
            ensure_files(folder, progress=report)
        except DataError as error:
            st.error(str(error))
            return False
        st.success("Downloaded and verified.")
        return True
    return False


# --- rendering runs -------------------------------------------------------------------------------------

def status_markdown(run: RunRecord) -> str:
    """The status as markdown with its icon, e.g. ':material/error: **failed**: ValueError: ...'."""
    text = f"{STATUS_ICONS.get(run.status, '')} **{run.status}**"
    if run.error and run.status != RunStatus.FINISHED:
        text += f": {escape_markdown(run.error)}"
    return text


def render_verdict(run: RunRecord) -> None:
    """The book's three checks, each with its value and threshold."""
    if run.verdict is None:
        return
    headline = "The book's checks pass" if run.verdict.passed else "The book's checks fail"
    lines = [f"{PASS_ICON if check.passed else FAIL_ICON} `{check.name}`: {check.text}" for check in run.verdict.checks]
    box = st.success if run.verdict.passed else st.warning
    box(f"**{headline}**  \n" + "  \n".join(lines))


def render_progress(run: RunRecord) -> None:
    """A progress bar with epoch, elapsed time and time left."""
    if run.status == RunStatus.QUEUED:
        st.progress(0.0, text="queued: waiting for a free worker")
        return
    elapsed = (run.ended_at or time.time()) - (run.started_at or time.time())
    epoch = run.last_step / run.steps_per_epoch if run.steps_per_epoch else 0.0
    left = elapsed / run.progress * (1 - run.progress) if run.progress > 0 else None
    text = (f"epoch {epoch:.1f} of {run.config.epochs} · {elapsed:.1f} s elapsed"
            + (f" · about {left:.0f} s left" if left is not None and run.is_active else ""))
    st.progress(run.progress, text=text)


def legend_labels(runs: Sequence[RunRecord]) -> dict[int, str]:
    """Names that say what differs between the runs shown together, e.g. '#4 batch 1024'."""
    fields = [f for f in differing_fields([run.config for run in runs]) if f != "reports_per_epoch"]
    return {run.id: f"#{run.id} " + (describe_fields(run.config, fields) if fields else run.name) for run in runs}


# --- groups of runs (lessons, seed repeats, A/B pairs) ------------------------------------------------------

def submit_group(configs: dict[str, TrainConfig], lesson: str) -> list[int]:
    """Submit several runs tagged as one group of a lesson; returns their ids in order."""
    group = uuid.uuid4().hex[:8]
    runner = get_runner()
    return [runner.submit(config, f"{lesson}: {label}", {"lesson": lesson, "group": group, "variant": label})
            for label, config in configs.items()]


def latest_group(store: RunStore, lesson: str) -> list[int]:
    """The ids of the newest group of runs tagged with this lesson, oldest first."""
    tagged = [run for run in store.list_runs() if run.tags.get("lesson") == lesson]
    if not tagged:
        return []
    group = tagged[0].tags.get("group")
    return sorted(run.id for run in tagged if run.tags.get("group") == group)


def group_from_url_or_store(store: RunStore, lesson: str, key: str) -> list[int]:
    """This view's group: the session's, else the URL's, else the newest in the store."""
    if key not in st.session_state:
        st.session_state[key] = runs_from_url(key) or latest_group(store, lesson)
    return st.session_state[key]


def remember_group(key: str, run_ids: list[int]) -> None:
    st.session_state[key] = run_ids
    write_runs_to_url(run_ids, key)


def render_seed_band(store: RunStore, runs: Sequence[RunRecord], key: str, title: str = "") -> SeedBands | None:
    """Mean +/- std of train and test accuracy over the finished runs (seeds of one config)."""
    finished = [run for run in runs if run.status == RunStatus.FINISHED]
    if len(finished) < 2:
        return None
    bands = seed_bands([lesson_run(store, run.id) for run in finished])
    st.plotly_chart(build_band_figure(bands.epochs, {
        "train accuracy": (bands.train_mean, bands.train_std),
        "test accuracy": (bands.test_mean, bands.test_std)},
        title=title or f"mean ± std over {bands.seeds} seeds"), key=key, width="stretch")
    return bands
