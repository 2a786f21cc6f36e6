"""Sweep: a grid of hyperparameters in one click, answered as a heatmap that fills in live.

Choose one to three axes (numeric TrainConfig fields) and their values (log-spaced suggestions for the
learning rate and the batch size) and the seeds per cell; the other fields take the Train form's values.
The grid's size and estimated time show before the click, and a grid over the server's limit is
refused. The sweep is one tagged group of ordinary runs (``?sweep=<id>`` reopens it); the heatmap shows
a chosen metric per cell with the book's ``train_loss < 0.5`` boundary, a click on a cell overlays that
cell's curves, and the reading under it is computed from the numbers (``sweeps.read_sweep``).
"""

from __future__ import annotations

import streamlit as st

from dashboard.charts import build_parcoords_figure, build_sweep_figure
from dashboard.classroom_gate import identity, reader, shows_test_accuracy
from dashboard.curve_controls import curve_view_controls
from dashboard.language import in_readers_language
from dashboard.live import curves_figure
from dashboard.render import show_chart
from dashboard.services import get_policy, get_runner, open_store_or_stop
from dashboard.text import as_text
from dashboard.train_form import form_config, form_problems
from softmax_core.analysis.chart_readings import describe_grid
from softmax_core.analysis.sweeps import (
    MAX_AXES,
    MAX_SEEDS,
    METRICS,
    SweepError,
    SweepGrid,
    SweepSpec,
    cancel_sweep,
    cell_by_key,
    default_values,
    describe_cell,
    describe_smaller_grid,
    heat_cells,
    is_log_spaced,
    largest_grid_that_fits,
    metric_of,
    parse_values,
    read_sweep,
    seconds_per_step,
    submit_sweep,
    suggest_values,
    values_label,
)
from softmax_core.classroom.auth import ClassroomError
from softmax_core.config import numeric_fields, settings
from softmax_core.errors import LabError
from softmax_core.i18n import _, ngettext
from softmax_core.run_names import say_config
from softmax_core.runs.store import ScopedRuns
from softmax_core.settings import server_settings

AXIS_CHOICES = [name for name in numeric_fields() if name != "seed"]


def sweep_form() -> SweepSpec | None:
    """The axes, their values and the seeds; the spec, or None with the reason shown."""
    axes = st.multiselect(_("Axes to vary"), AXIS_CHOICES, default=["batch_size", "lr"], key="sweep_axes",
                          max_selections=MAX_AXES, format_func=lambda name: settings()[name].label_text)
    columns = st.columns(max(1, len(axes)) + 1)
    base = get_policy().prepare(identity(), form_config())  # the Train form's values: its contract (train_form.py)
    texts = {name: columns[i].text_input(values_label(name), key=f"sweep_values_{name}",
                                         value=", ".join(f"{v:g}" for v in default_values(name, getattr(base, name))),
                                         help=_("Comma-separated; suggested: {values}").format(
                                             values=", ".join(map(str, suggest_values(name)))))
             for i, name in enumerate(axes)}
    seeds = columns[-1].number_input(_("Seeds per cell"), 1, MAX_SEEDS, 1, key="sweep_seeds")
    st.caption(_("The other settings come from the Train form: {settings}.").format(
        settings=as_text(say_config(base))))
    if problems := form_problems():
        st.warning(_("The Train form holds values that can't start, so the book's are used: {problems}.").format(
            problems=_("; ").join(as_text(problem) for problem in problems)))
    try:
        return SweepSpec(base, {name: parse_values(name, text) for name, text in texts.items()}, int(seeds))
    except SweepError as error:
        st.error(_("Can't sweep: {reason}").format(reason=error))
        return None


def offer_start(store: ScopedRuns, spec: SweepSpec) -> None:
    limit = server_settings().max_sweep_runs
    parallel = get_runner().executor.capacity()
    minutes = spec.estimate_seconds(seconds_per_step(store.list_runs()[:50]), parallel) / 60
    shape = " × ".join(str(len(values)) for values in spec.axes.values())
    st.info(ngettext("{shape} cells × {seeds} seed = **{size} runs**, about {minutes} min on {workers} worker(s) "
                     "({steps} steps).",
                     "{shape} cells × {seeds} seeds = **{size} runs**, about {minutes} min on {workers} worker(s) "
                     "({steps} steps).", spec.seeds).format(
        shape=shape, seeds=spec.seeds, size=spec.size, minutes=f"{minutes:.1f}", workers=parallel,
        steps=f"{spec.total_steps():,}"))
    try:
        spec.check_size(limit)
    except SweepError as error:
        st.error(_("Can't sweep: {reason}").format(reason=error))
        return
    configs = [config for _, config in spec.configs()]
    estimate = get_policy().estimate(identity(), configs)
    if estimate.fits_once_idle(configs):  # e.g. this grid again, just started: a wait, not a grid too large
        st.info(_("A new sweep of this grid: {why}.").format(why=estimate.busy_summary()))
        return
    if not estimate.fits:  # before the click, in a student's words, with the grid that would fit
        st.error(_("Too large to start: {what_fits}.").format(
            what_fits=describe_smaller_grid(spec, largest_grid_that_fits(spec, estimate.admits))))
        st.caption(_("Why: {refusal}.").format(refusal=estimate.refusal))
        return
    st.caption(_("This sweep {summary}.").format(summary=estimate.summary()))
    if st.button(_("Start sweep"), type="primary", key="sweep_start"):
        start_sweep(spec)


def start_sweep(spec: SweepSpec) -> None:
    try:
        sweep_id, _ = submit_sweep(lambda requests: get_policy().start(identity(), requests), spec)
    except LabError as error:
        st.error(_("Can't sweep: {reason}").format(reason=error))
        return
    st.query_params["sweep"] = sweep_id
    st.rerun()


def metric_label(metric: str) -> str:
    """The metric's name as this session sees it: test accuracy is validation accuracy before the reveal."""
    if metric == "final_test_acc" and not shows_test_accuracy():
        return _("final validation accuracy (test accuracy is hidden until the reveal)")
    return _(METRICS[metric][0])


def choose_view(grid: SweepGrid) -> tuple[str, str, str | None, dict]:
    """The metric, the heatmap's axes, and the value a third axis is held at."""
    left, middle, right = st.columns(3)
    metric = left.selectbox(_("Metric"), list(METRICS), key="sweep_metric", format_func=metric_label)
    x_axis = grid.axes[0]
    y_axis = grid.axes[1] if len(grid.axes) > 1 else None
    fixed = {}
    if len(grid.axes) > 2:
        third = grid.axes[2]
        fixed[third] = middle.select_slider(_("{label} (the third axis)").format(label=settings()[third].label_text),
                                            grid.axis_values(third), key="sweep_third")
    return metric, x_axis, y_axis, fixed


def cell_place(cell, x_title: str, y_title: str) -> str:
    """Where a cell is, as its axes label it: 'Batch size 64, Learning rate 0.3'."""
    return f"{x_title} {cell.x:g}" + (_(", ") + f"{y_title} {cell.y:g}" if y_title else "")


def render_heatmap(grid: SweepGrid, metric: str, x_axis: str, y_axis: str | None, fixed: dict) -> int | None:
    """The heatmap; returns the key of the cell clicked, if any."""
    cells = heat_cells(grid, metric, x_axis, y_axis, fixed)
    x_title, y_title = settings()[x_axis].label_text, settings()[y_axis].label_text if y_axis else ""
    figure = build_sweep_figure(cells, x_title, y_title, metric_label(metric),
                                log_x=is_log_spaced(grid.axis_values(x_axis)),
                                log_y=bool(y_axis) and is_log_spaced(grid.axis_values(y_axis)))
    text = describe_grid(cells, metric_label(metric), lambda cell: cell_place(cell, x_title, y_title))
    event = show_chart(figure, "sweep_heatmap", text, on_select="rerun", selection_mode="points")
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    for point in points:
        data = point.get("customdata")
        if data:
            st.session_state["sweep_cell"] = int(data[0])
    return st.session_state.get("sweep_cell")


def render_cell_curves(store: ScopedRuns, grid: SweepGrid, key: int | None) -> None:
    if key is None or key >= len(grid.cells):
        st.caption(_("Click a cell to overlay its runs' curves here."))
        return
    cell = cell_by_key(grid, key)
    st.header(_("The runs of the cell {cell}").format(cell=describe_cell(grid.axes, cell.values)))
    view = curve_view_controls("sweep_cell_curves")
    figure, text = curves_figure(store.get_runs([run.id for run in cell.runs]), store, view=view)
    show_chart(figure, "sweep_cell_curves", _("Loss and accuracy against epoch. {reading}").format(reading=text))


def render_parcoords(grid: SweepGrid, metric: str) -> None:
    finished = [run for run in grid.runs if run.status == "finished"]
    if len(grid.axes) < 3 or not finished:
        return
    dims = {settings()[name].label_text: [run.tags["cell"][name] for run in finished] for name in grid.axes}
    dims[metric_label(metric)] = [metric_of(run, metric) for run in finished]
    logs = [settings()[name].label_text for name in grid.axes if is_log_spaced(grid.axis_values(name))]
    st.header(_("Every run across the varied fields"))
    st.caption(_("Drag along an axis to brush: only the runs inside stay highlighted."))
    show_chart(build_parcoords_figure(dims, metric_label(metric), logs), "sweep_parcoords",
               _("{count} finished runs, each a line across {dimensions}.").format(
                   count=len(finished), dimensions=_(", ").join(dims)))


def render_sweep(store: ScopedRuns, sweep_id: str) -> None:
    runs = store.runs_tagged("sweep", sweep_id)
    if not runs:
        st.error(_("There is no sweep {sweep} that this page may show.").format(sweep=as_text(sweep_id)))
        return
    grid = SweepGrid.from_runs(runs)
    metric, x_axis, y_axis, fixed = choose_view(grid)
    live_grid(store, sweep_id, metric, x_axis, y_axis, fixed)


@st.fragment(run_every=1.0)
@in_readers_language  # a fragment reruns in a thread of its own
def live_grid(store: ScopedRuns, sweep_id: str, metric: str, x_axis: str, y_axis: str | None, fixed: dict) -> None:
    grid = SweepGrid.from_runs(store.runs_tagged("sweep", sweep_id))
    done = sum(not run.is_active for run in grid.runs)
    if grid.done:  # a full bar in a narrowed column would look 80% full
        st.progress(1.0, text=_("All {count} runs ended").format(count=len(grid.runs)))
    else:
        left, right = st.columns([4, 1])
        left.progress(done / len(grid.runs), text=_("{done} of {count} runs ended").format(done=done,
                                                                                            count=len(grid.runs)))
    if not grid.done and right.button(_("Cancel the sweep"), key="sweep_cancel"):
        try:
            cancel_sweep(lambda run_id: get_policy().cancel(identity(), run_id), [run.id for run in grid.runs])
        except ClassroomError as error:
            st.error(str(error))
    clicked = render_heatmap(grid, metric, x_axis, y_axis, fixed)
    st.header(_("What the grid says"))
    for line in read_sweep(grid):
        st.markdown(f"- {as_text(line)}")
    render_cell_curves(store, grid, clicked)
    render_parcoords(grid, metric)


def main() -> None:
    open_store_or_stop()
    store = reader()
    st.title(_("Sweep: a grid of hyperparameters"))
    st.caption(_("The book's exercise 1: where, in batch size × learning rate, does the train loss fall below 0.5 "
                 "after 10 epochs? Each cell is one run per seed, stored like any other (they show on Compare)."))
    sweep_id = st.query_params.get("sweep")
    with st.expander(_("New sweep"), expanded=not sweep_id):
        spec = sweep_form()
        if spec is not None:
            offer_start(store, spec)
    if sweep_id:
        render_sweep(store, sweep_id)


main()
