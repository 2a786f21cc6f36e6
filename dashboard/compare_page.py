"""Compare: every stored run in a filterable, sortable table; the selected runs' curves overlaid in the
shared live view (legend names say what differs; runs still going grow, and the page redraws when they
end), beside a table of only the differing hyperparameters and the final metrics.
The selection lives in the URL (?runs=3,5), so a reload or a shared link shows the same view (and
"Share this view" gives that link, which never carries who you are). In classroom mode a student's
"held-out acc" is validation accuracy until the teacher reveals the test set, and each of their own runs
has its Share switch here: the runs a lesson or a sweep started show on no Train page to share them from.
"""

from __future__ import annotations

import datetime
import math

import pandas as pd
import streamlit as st

from dashboard.classroom_gate import held_out_name, reader, refuse_hidden, render_view_link
from dashboard.live import render_live_runs
from dashboard.render import legend_labels, render_seed_band, status_markdown, status_name
from dashboard.run_actions import render_cancel, render_challenge_note, render_share, show_action_refusal
from dashboard.services import open_store_or_stop
from dashboard.settings_widgets import choice_name
from dashboard.text import as_text
from dashboard.url_state import runs_from_url, write_runs_to_url
from softmax_core.analysis.lessons import group_by_seed
from softmax_core.config import differing_fields
from softmax_core.i18n import N_, _
from softmax_core.runs.store import RunRecord

# the runs table's columns, by key; their headers are translated where the table is built
COLUMNS = {"id": N_("id"), "name": N_("name"), "status": N_("status"), "train loss": N_("train loss"),
           "train acc": N_("train acc"), "book checks": N_("book checks"), "batch": N_("batch"), "lr": N_("lr"),
           "epochs": N_("epochs"), "optimizer": N_("optimizer"), "impl": N_("impl"), "seed": N_("seed"),
           "seconds": N_("seconds"), "started": N_("started"), "trained on": N_("trained on"), "run": N_("run")}


def column(key: str) -> str:
    """A table column's header in the reader's language."""
    return _(COLUMNS[key])


def held_out_column() -> str:
    return _("test acc") if held_out_name() == "test" else _("val acc")


MISSING = "—"  # a metric a run never reached (it diverged, or is still going): a mark, never 'None' or 'nan'


def shown_metric(value: float | None) -> str:
    """A final metric as the tables show it, 4 decimals (as text: a data grid shows a missing number as
    'None', in English whatever the reader's language; 4-decimal text still sorts as the numbers do)."""
    return MISSING if value is None or not math.isfinite(value) else f"{value:.4f}"


def final_metrics(run: RunRecord) -> dict[str, str]:
    """The run's final train loss, train accuracy and held-out accuracy, by their columns' headers."""
    return {column("train loss"): shown_metric(run.final_train_loss),
            column("train acc"): shown_metric(run.final_train_acc), held_out_column(): shown_metric(run.held_out_acc)}


def metric_columns() -> dict:
    """The metrics' columns: text (``shown_metric``), set to the right as numbers are."""
    return {name: st.column_config.TextColumn(alignment="right")
            for name in (column("train loss"), column("train acc"), held_out_column())}


def verdict_word(run: RunRecord) -> str:
    """'pass', 'fail', or nothing for a run without a verdict, in the reader's language."""
    return "" if run.verdict is None else (_("pass") if run.verdict.passed else _("fail"))


def runs_table(runs: list[RunRecord]) -> pd.DataFrame:
    """One row per run: name, status, key hyperparameters, final metrics, verdict, time, where it trained."""
    rows = []
    for run in runs:
        config = run.config
        seconds = (run.ended_at - run.started_at) if run.ended_at and run.started_at else None
        rows.append({  # the results first: on a laptop's screen they show beside the pinned name
            column("id"): run.id, column("name"): run.shown_name(), column("status"): status_name(run.status),
            **final_metrics(run), column("book checks"): verdict_word(run), column("batch"): config.batch_size,
            column("lr"): config.lr, column("epochs"): config.epochs,
            column("optimizer"): choice_name(config.optimizer), column("impl"): choice_name(config.implementation),
            column("seed"): config.seed,
            column("seconds"): seconds, column("started"): datetime.datetime.fromtimestamp(run.created_at),
            column("trained on"): run.shown_placement(),
        })
    return pd.DataFrame(rows)


def filtered(runs: list[RunRecord]) -> list[RunRecord]:
    left, right = st.columns([2, 3])
    text = left.text_input(_("Filter by name"), key="compare_filter", placeholder=_("e.g. batch"))
    statuses = sorted({run.status for run in runs})
    chosen = right.multiselect(_("Status"), statuses, key="compare_status", placeholder=_("all statuses"),
                               format_func=status_name)
    found = text.lower()  # a generated name is found by its stored words or by the words shown
    return [run for run in runs if (found in run.name.lower() or found in run.shown_name().lower())
            and (not chosen or run.status in chosen)]


# the differences table's headers: each setting's own name ('batch_size'), in Chinese the book's term
FIELD_HEADERS = {"batch_size": N_("batch_size"), "lr": N_("lr"), "epochs": N_("epochs"), "init_std": N_("init_std"),
                 "weight_decay": N_("weight_decay"), "momentum": N_("momentum"), "optimizer": N_("optimizer"),
                 "implementation": N_("implementation"), "reports_per_epoch": N_("reports_per_epoch"),
                 "seed": N_("seed"), "device": N_("device"), "validation": N_("validation")}


def field_header(field: str) -> str:
    """A setting's column header in the reader's language: 'batch_size', '批量大小'."""
    return _(FIELD_HEADERS[field]) if field in FIELD_HEADERS else field


def shown_setting(run: RunRecord, field: str):
    """A setting's value as the table shows it: a choice in the reader's words ('从零实现（3.6）')."""
    value = getattr(run.config, field)
    return choice_name(value) if isinstance(value, str) else value


def differences_table(runs: list[RunRecord]) -> pd.DataFrame:
    """Only the hyperparameters that differ between the runs, with each run's final metrics; a run without
    the book's checks (it diverged, or is still going) says how it stands there instead."""
    fields = differing_fields([run.config for run in runs])
    labels = legend_labels(runs)
    headers = {field: field_header(field) for field in fields}
    return pd.DataFrame([{
        column("run"): labels[run.id], **{headers[field]: shown_setting(run, field) for field in fields},
        **final_metrics(run),
        column("book checks"): status_name(run.status) if run.verdict is None else run.verdict.describe(),
    } for run in runs])


def render_seed_bands(runs: list[RunRecord]) -> None:
    """Mean +/- std bands for each group of selected runs that differ only by seed."""
    for index, group in enumerate(group_by_seed(runs)):
        render_seed_band(reader(), group, f"seed_band_{index}",
                         _("{run} and {more} more seeds: mean ± std").format(run=group[0].shown_name(),
                                                                              more=len(group) - 1))


def render_statuses(runs: list[RunRecord]) -> None:
    """Each selected run's status, live: progress while it goes, the reason when it didn't finish,
    Cancel for an active run this session may cancel (the teacher: any), and a student's Share for their own."""
    for run in runs:
        progress = f" · {run.progress:.0%}" if run.is_active else ""
        line, action = st.columns([6, 1])
        line.markdown(f"**#{run.id}** {status_markdown(run)}{progress}")
        render_cancel(run, action, key=f"compare_cancel_{run.id}")
        render_share(run, action)
        render_challenge_note(run)


def render_runs_table(shown: list[RunRecord]) -> None:
    """Every run, its results next to its name (they fit a laptop's screen; the settings scroll); a click
    on a row offers that run in Inspect."""
    st.caption(_("Click a row to inspect that run."))
    event = st.dataframe(
        runs_table(shown), key="runs_table", hide_index=True, width="stretch", on_select="rerun",
        selection_mode=["single-row", "single-cell"],  # a click on any cell picks its run, as on its tick box
        column_config={column("id"): st.column_config.NumberColumn(width="small"),  # not pinned: greyed
                       column("status"): st.column_config.TextColumn(width="small"),
                       column("lr"): st.column_config.NumberColumn(format="%.4g"),
                       **metric_columns(),
                       column("seconds"): st.column_config.NumberColumn(format="%.1f")})
    rows = (list(event.selection.rows) + [row for row, _ in event.selection.cells]) if event else []
    if rows and rows[0] < len(shown):
        run = shown[rows[0]]
        label = _("Inspect #{run} {name}").format(run=run.id, name=as_text(run.shown_name()))
        st.page_link("inspect_page.py", label=label,
                     icon=":material/image_search:", query_params={"run": str(run.id)})


def sync_selection_to_url() -> None:
    st.session_state["compare_selection"] = list(st.session_state["compare_ids"])
    write_runs_to_url(st.session_state["compare_ids"])


def main() -> None:
    open_store_or_stop()
    st.title(_("Compare runs"))
    show_action_refusal()
    runs = reader().list_runs()  # in classroom mode: a student's own runs and the shared ones
    if "compare_ids" not in st.session_state:
        refuse_hidden(runs_from_url(), runs)
    if not runs:
        st.info(_("No runs stored yet: start one on the Train page."))
        return
    by_id = {run.id: run for run in runs}
    if "compare_ids" not in st.session_state:  # first visit, or back from another page
        remembered = st.session_state.get("compare_selection") or runs_from_url()
        st.session_state["compare_ids"] = [i for i in remembered if i in by_id] or [runs[0].id]
        st.session_state["compare_selection"] = list(st.session_state["compare_ids"])
        # not written into the URL here: a write from the script pushes a browser history entry, and one
        # Back press would then land on this same page; a person's own change writes it (on_change)
    shown = filtered(runs)
    render_runs_table(shown)
    st.multiselect(_("Runs to overlay"), list(by_id), key="compare_ids", on_change=sync_selection_to_url,
                   format_func=lambda i: f"#{i} {by_id[i].shown_name()}")  # the status line below says how each stands
    selected = [by_id[i] for i in st.session_state["compare_ids"] if i in by_id]
    if not selected:
        st.info(_("Select runs above to overlay their curves."))
        return
    render_view_link("compare", {"runs": ",".join(map(str, st.session_state["compare_ids"]))})
    render_live_runs(reader(), [run.id for run in selected], "compare_curves", draw_runs=render_statuses)
    render_seed_bands(selected)
    st.header(_("What differs"))
    st.dataframe(differences_table(selected), hide_index=True, width="stretch", key="differences",
                 column_config=metric_columns())


main()
