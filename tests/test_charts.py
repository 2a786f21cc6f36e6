"""charts.py: figures from plain data, thinned, with inert labels and stable ui revisions."""

import numpy as np
import pytest
from plotly.colors import sample_colorscale

from dashboard.charts import (
    HEAT_COLOURS,
    RunCurves,
    build_band_figure,
    build_confusion_figure,
    build_curve_panels,
    build_curves_figure,
    build_per_class_figure,
    build_sweep_figure,
    build_templates_figure,
    contrast_ratio,
    safe_label,
    thin,
)
from softmax_core.analysis.sweeps.grid import HeatCell
from softmax_core.book.data import CLASS_NAMES


def curves(label, step_epochs=(), train_loss=(), train_acc=(), test_epochs=(), test_acc=(), marker_epoch=None,
           marker_text="", val_epochs=(), val_acc=()) -> RunCurves:
    """A run's curves as the book's four series: per-step loss and accuracy, held-out accuracy per epoch."""
    return RunCurves(label, {"train_loss": (list(step_epochs), list(train_loss)),
                             "train_acc": (list(step_epochs), list(train_acc)),
                             "test_acc": (list(test_epochs), list(test_acc)),
                             "val_acc": (list(val_epochs), list(val_acc))}, marker_epoch, marker_text)

def test_thin_keeps_short_series_and_bounds_long_ones_keeping_the_ends():
    assert thin([1, 2, 3], [4, 5, 6]) == ([1, 2, 3], [4, 5, 6])
    xs = list(range(10_000))
    thinned_x, thinned_y = thin(xs, xs, limit=100)
    assert len(thinned_x) == 100 and thinned_x[0] == 0 and thinned_x[-1] == 9_999 and thinned_x == thinned_y


def test_curves_figure_has_a_line_style_per_metric_and_a_colour_per_run():
    runs = [curves("#1 batch 256", [0.5, 1.0], [0.9, 0.7], [0.7, 0.8], [1.0], [0.79]),
            curves("#2 batch 1024", [0.5, 1.0], [1.2, 0.9], [0.6, 0.7], [1.0], [0.72])]
    figure = build_curves_figure(runs)
    names = [trace.name for trace in figure.data]
    assert names == ["#1 batch 256: train loss", "#1 batch 256: train acc", "#1 batch 256: test acc",
                     "#2 batch 1024: train loss", "#2 batch 1024: train acc", "#2 batch 1024: test acc"]
    assert [trace.line.dash for trace in figure.data[:3]] == ["solid", "dash", "dot"]
    assert figure.data[0].line.color == figure.data[2].line.color != figure.data[3].line.color
    assert figure.data[0].xaxis == "x" and figure.data[1].xaxis == "x2"
    assert figure.layout.uirevision == "curves"


def test_long_runs_are_downsampled():
    epochs = list(np.linspace(0, 500, 50_000))
    figure = build_curves_figure([curves("long", epochs, epochs, epochs, [], [])])
    assert len(figure.data[0].x) <= 400


def test_labels_cannot_inject_markup():
    assert safe_label("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    figure = build_curves_figure([curves("<img src=x>", [1.0], [0.5], [0.8], [1.0], [0.8])])
    assert "<img" not in figure.data[0].name


def test_divergence_marker_is_drawn():
    figure = build_curves_figure([curves("naive", [0.2], [2.0], [0.1], [], [], 0.4, "NaN at step 12")])
    assert figure.layout.shapes[0].x0 == 0.4
    assert figure.layout.annotations[-1].text == "NaN at step 12"


def test_templates_confusion_per_class_and_band_figures():
    templates = build_templates_figure(np.random.default_rng(0).normal(size=(10, 784)), CLASS_NAMES)
    assert len(templates.data) == 10 and templates.data[0].z.shape == (28, 28)
    assert templates.data[0].zmin == -templates.data[0].zmax
    confusion = build_confusion_figure(np.eye(10, dtype=int) * 100, CLASS_NAMES)
    assert list(confusion.data[0].x) == list(CLASS_NAMES)
    per_class = build_per_class_figure([0.9, 0.5] + [0.8] * 8, CLASS_NAMES)
    assert per_class.data[0].y[0] == "trouser"  # the worst class comes first
    band = build_band_figure([1, 2], {"test acc": ([0.8, 0.82], [0.01, 0.02])})
    assert np.allclose(band.data[0].y, [0.81, 0.84, 0.8, 0.79])


def test_the_unvalidated_curves_figure_is_valid_plotly():
    import plotly.graph_objects as go

    runs = [curves("a", [0.5, 1.0], [0.9, 0.7], [0.7, 0.8], [1.0], [0.79], 0.7, "NaN at step 3"),
            curves("b", [0.5], [1.2], [0.6], [], [])]
    checked = go.Figure(build_curves_figure(runs, title="t").to_dict())  # validates every key and value
    assert [trace.name for trace in checked.data][:3] == ["a: train loss", "a: train acc", "a: test acc"]
    assert checked.layout.xaxis2.domain == (0.54, 1.0) and checked.layout.yaxis2.anchor == "x2"


def test_the_empty_chart_shows_both_panels_at_the_books_scale():
    figure = build_curves_figure([])
    assert {(trace.xaxis, trace.yaxis) for trace in figure.data} == {("x", "y"), ("x2", "y2")}
    assert figure.layout.xaxis.range == (0, 10) and figure.layout.yaxis2.range == (0, 1.0)
    assert not any(trace.showlegend for trace in figure.data)


def test_parallel_coordinates_put_log_spaced_fields_on_a_log_scale():
    from dashboard.charts import build_parcoords_figure

    figure = build_parcoords_figure({"lr": [0.01, 0.1, 1.0], "momentum": [0.0, 0.5, 0.9],
                                     "final train loss": [0.6, 0.45, 0.9]}, "final train loss", log_fields=["lr"])
    dims = figure.data[0].dimensions
    assert [d.label for d in dims] == ["log10 lr", "momentum", "final train loss"]
    assert list(dims[0].values) == pytest.approx([-2.0, -1.0, 0.0]) and list(dims[1].values) == [0.0, 0.5, 0.9]
    assert list(figure.data[0].line.color) == [0.6, 0.45, 0.9]


def sweep_cells(means: dict[tuple[float, float], float | None]) -> list[HeatCell]:
    return [HeatCell(x, y, mean, 0.0 if mean is not None else None, 1 if mean is not None else 0, 0,
                     mean is not None and mean < 0.5, key) for key, ((x, y), mean) in enumerate(means.items())]


def test_every_sweep_cell_shows_its_value_in_a_colour_that_reads_on_it():
    """Viridis runs from dark purple to yellow: white on its upper half is unreadable (contrast 1.3 at the
    top), so the numbers switch to near-black there. They are annotations, which a click's selection of
    one cell cannot dim, at the cell's place on a log or a category axis."""
    means = {(64, 0.03): 0.92, (64, 0.3): 0.51, (256, 0.03): 0.71, (256, 0.3): 0.45, (1024, 0.03): None,
             (1024, 0.3): 0.60}
    for log in (True, False):
        figure = build_sweep_figure(sweep_cells(means), "batch", "lr", "final train loss", log_x=log, log_y=log)
        heat = figure.data[0]
        assert heat.mode == "markers", "no trace text, which a selection would dim"
        labels = {(a.x, a.y): a for a in figure.layout.annotations}
        done = {key: mean for key, mean in means.items() if mean is not None}
        xs, ys = sorted({x for x, _ in means}), sorted({y for _, y in means})
        where = ({(x, y): (np.log10(x), np.log10(y)) for x, y in done} if log else
                 {(x, y): (xs.index(x), ys.index(y)) for x, y in done})
        assert {labels[where[key]].text for key in done} == {f"{mean:.3f}" for mean in done.values()}
        assert len(labels) == len(done)
        low, high = min(done.values()), max(done.values())
        for key, mean in done.items():
            cell_colour = sample_colorscale(HEAT_COLOURS, [(mean - low) / (high - low)])[0]
            assert contrast_ratio(labels[where[key]].font.color, cell_colour) >= 4.0, (key, mean)
        if not log:
            assert list(figure.layout.xaxis.categoryarray) == xs, "the axis keeps its order as cells finish"


def test_a_sweep_cells_hover_gives_the_seeds_spread_or_says_one_seed_has_none():
    one, two = (HeatCell(64, 0.1, 0.45, 0.0, 1, 0, True, 0), HeatCell(256, 0.1, 0.52, 0.0123, 2, 0, False, 1))
    heat = build_sweep_figure([one, two], "batch", "lr", "final train loss").data[0]
    spreads = {key: text for key, text in heat.customdata}
    assert spreads[0] == "<br>one seed: no spread to show" and spreads[1] == " ± 0.0123<br>over 2 seeds"
    assert "%{customdata[1]}" in heat.hovertemplate


def test_the_curve_panels_are_two_figures_each_the_full_width_of_its_column():
    import plotly.graph_objects as go

    runs = [curves("a", [0.5, 1.0], [0.9, 0.7], [0.7, 0.8], [1.0], [0.79], 0.7, "NaN at step 3")]
    loss, accuracy = (go.Figure(panel.to_dict()) for panel in build_curve_panels(runs, title="t"))  # validated
    assert [t.name for t in loss.data] == ["a: train loss"] and [t.name for t in accuracy.data] == [
        "a: train acc", "a: test acc"]
    assert {(t.xaxis, t.yaxis) for t in [*loss.data, *accuracy.data]} == {("x", "y")}
    assert loss.layout.xaxis.domain == accuracy.layout.xaxis.domain == (0.0, 1.0)
    assert loss.layout.title.text == "t" and accuracy.layout.title.text is None
    assert [a.text for a in loss.layout.annotations] == ["loss", "NaN at step 3"] and len(loss.layout.shapes) == 1
    assert [a.text for a in accuracy.layout.annotations] == ["accuracy"] and not accuracy.layout.shapes
    assert accuracy.layout.yaxis.title.text == "accuracy"
    empty = build_curve_panels([])
    assert [len(panel.data) for panel in empty] == [1, 1] and empty[1].layout.yaxis.range == (0, 1.0)


def test_a_prepared_figure_sends_the_spec_that_a_validated_figure_would():
    """The live view hands Streamlit its panels' specs as they are (``PreparedFigure``): what Streamlit reads
    of it, ``to_dict()``, is the spec, and Plotly's validation accepts every key and value of it."""
    import plotly.graph_objects as go
    from plotly.basedatatypes import BaseFigure

    from dashboard.charts import PreparedFigure, curve_panel_specs

    runs = [curves("lr 0.1", [0.5, 1.0], [0.9, 0.6], [0.7, 0.8], [1.0], [0.79]),
            curves("lr 0.4", [0.5, 1.0], [1.2, 0.9], [0.6, 0.7], [1.0], [0.7], 0.8, "NaN at step 3")]
    for spec, built in zip(curve_panel_specs(runs, title="t"), build_curve_panels(runs, title="t"), strict=True):
        prepared = PreparedFigure(spec)
        assert isinstance(prepared, BaseFigure) and prepared.to_dict() is spec
        validated = go.Figure(spec)  # raises on any key or value Plotly doesn't know
        assert [trace.name for trace in validated.data] == [trace.name for trace in built.data]


def test_a_log_loss_axis_is_on_the_loss_panel_only_and_keeps_no_zoom_from_the_linear_one():
    import plotly.graph_objects as go

    from dashboard.charts import CurveView, curve_panel_specs

    runs = [curves("a", [0.5, 1.0], [0.9, 0.7], [0.7, 0.8], [1.0], [0.79])]
    loss, accuracy = (go.Figure(spec) for spec in curve_panel_specs(runs, view=CurveView(log_loss=True)))
    assert loss.layout.yaxis.type == "log" and accuracy.layout.yaxis.type in (None, "linear")
    linear = curve_panel_specs(runs)[0]["layout"]
    assert linear["yaxis"].get("type") is None and linear["uirevision"] != loss.layout.uirevision
    assert build_curves_figure(runs, view=CurveView(log_loss=True)).layout.yaxis.type == "log"
    empty = build_curve_panels([], view=CurveView(log_loss=True))[0]  # a log axis's range is in powers of ten
    assert empty.layout.yaxis.range == pytest.approx((np.log10(0.2), np.log10(2.5)))


def test_smoothing_draws_each_per_step_curve_smoothed_over_its_faint_raw_curve():
    import plotly.graph_objects as go

    from dashboard.charts import CurveView, run_traces
    from softmax_core.analysis.chart_readings import smooth_curve

    run = curves("lr 0.4", [0.25, 0.5, 0.75, 1.0], [0.9, 0.5, 0.8, 0.4], [0.6, 0.8, 0.7, 0.85], [1.0], [0.8])
    assert [trace["name"] for trace in run_traces(run, 0)] == ["lr 0.4: train loss", "lr 0.4: train acc",
                                                               "lr 0.4: test acc"]
    traces = run_traces(run, 0, smoothing=0.6)
    assert [trace["name"] for trace in traces] == [
        "lr 0.4: train loss (raw)", "lr 0.4: train loss", "lr 0.4: train acc (raw)", "lr 0.4: train acc",
        "lr 0.4: test acc"], "raw beneath smoothed; held-out accuracy, one point an epoch, never smoothed"
    raw, smoothed = traces[0], traces[1]
    assert raw["y"] == [0.9, 0.5, 0.8, 0.4] and smoothed["y"] == pytest.approx(smooth_curve(raw["y"], 0.6))
    assert raw["opacity"] < 0.5 and raw["showlegend"] is False and raw["hoverinfo"] == "skip"
    assert raw["line"]["color"] == smoothed["line"]["color"] and raw["legendgroup"] == smoothed["legendgroup"]
    loss, _ = build_curve_panels([run], view=CurveView(smoothing=0.6))
    assert [trace.name for trace in go.Figure(loss.to_dict()).data] == ["lr 0.4: train loss (raw)",
                                                                       "lr 0.4: train loss"]


def test_every_chart_saves_a_png_named_after_it_and_the_curves_have_a_text_alternative():
    from dashboard.charts import chart_config, curves_text

    assert chart_config("compare_curves_loss")["toImageButtonOptions"] == {
        "format": "png", "filename": "compare_curves_loss", "scale": 2}
    runs = [curves("#1 book", [0.5, 10.0], [0.78, 0.45], [0.7, 0.85], [1.0, 10.0], [0.8, 0.83]),
            curves("#2 student", [0.5], [0.9], [0.6], val_epochs=[1.0], val_acc=[0.7])]
    assert curves_text(runs) == [
        "#1 book: train loss fell from 0.78 to 0.45 over 10 epochs; train acc ends at 0.85; test acc ends at 0.83.",
        "#2 student: train loss stayed at 0.90 over 0.5 epochs; train acc ends at 0.60; val acc ends at 0.70."]
    assert curves_text(runs[:1], ["train_loss", "val_acc"]) == [  # the class board's chart before the reveal
        "#1 book: train loss fell from 0.78 to 0.45 over 10 epochs."]


def test_progress_claims_no_time_without_a_start_and_never_a_negative_one():
    """A run cancelled before a worker took it (or recorded elsewhere) has no start time: the card said
    '-59.4 s elapsed'."""
    import dataclasses

    from dashboard.render import progress_text
    from softmax_core.config import TrainConfig
    from softmax_core.runs.store.records import RunRecord
    from softmax_core.status import RunStatus

    run = RunRecord(id=1, name="r", config=TrainConfig(epochs=2), status=RunStatus.CANCELLED, created_at=100.0,
                    started_at=None, ended_at=100.0, error=None, finals={},
                    verdict=None, diverged_step=None, diverged_epoch=None,
                    steps_per_epoch=235, total_steps=470, last_step=470)
    assert progress_text(run, now=160.0) == "epoch 2.0 of 2"
    going = dataclasses.replace(run, status=RunStatus.RUNNING, started_at=150.0, ended_at=None, last_step=235)
    assert progress_text(going, now=160.0) == "epoch 1.0 of 2 · 10.0 s elapsed · about 10 s left"


def test_the_held_out_loss_is_drawn_on_the_loss_panel_in_its_splits_line_style():
    run = curves("#1 book", [0.5, 1.0], [0.9, 0.7], [0.7, 0.8], [1.0], [0.79])
    run.series["test_loss"] = ([1.0], [0.74])
    student = curves("#2 hers", [0.5, 1.0], [0.9, 0.7], [0.7, 0.8], val_epochs=[1.0], val_acc=[0.8])
    student.series["val_loss"] = ([1.0], [0.72])
    figure = build_curves_figure([run, student])
    by_name = {trace.name: trace for trace in figure.data}
    assert list(by_name) == ["#1 book: train loss", "#1 book: train acc", "#1 book: test acc", "#1 book: test loss",
                             "#2 hers: train loss", "#2 hers: train acc", "#2 hers: val acc", "#2 hers: val loss"]
    for name, split_accuracy in (("#1 book: test loss", "#1 book: test acc"),
                                 ("#2 hers: val loss", "#2 hers: val acc")):
        assert by_name[name].xaxis == "x" and by_name[name].mode == "lines+markers"
        assert by_name[name].line.dash == by_name[split_accuracy].line.dash
