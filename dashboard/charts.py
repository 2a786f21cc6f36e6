"""Plotly figure builders from plain data (lists and numpy arrays): no torch, no store, no streamlit.

The curves figure replaces the book's matplotlib ``Animator``: every metric of the registry
(``metric_registry``: train and held-out loss on the left panel, accuracies on the right) against
(fractional) epoch, one colour per run and one line style per metric, interactive (hover values, legend
toggles). Every figure sets ``uirevision`` so that a live redraw keeps the
person's zoom, and long series are thinned to a bounded number of points.

The curves figure is redrawn by every live viewer twice a second, so it is built as plain dicts (its
two panels laid out by hand, not by ``make_subplots``) and wrapped without Plotly's validation, which
would cost ten times the rest; ``run_traces`` is its per-run part, which a live view may reuse while a
run hasn't changed. Its shape is pinned by the tests.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
from plotly.basedatatypes import BaseFigure
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from softmax_core.analysis.chart_readings import describe_run_curves, smooth_curve
from softmax_core.analysis.sweeps import HeatCell
from softmax_core.dataset_sizes import IMAGE_SIDE
from softmax_core.i18n import N_, SOURCE_LANGUAGE, _, current_language
from softmax_core.metric_registry import METRICS, metric

PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6", "#9D755D",
           "#BAB0AC", "#EECA3B")
MAX_POINTS_PER_SERIES = 400
RAW_OPACITY = 0.35  # the raw curve, faint beneath its smoothed one (TensorBoard's look)
LOG_LOSS_RANGE = (0.2, 2.5)  # the empty chart's loss axis on a log scale: the book's runs live in there
HEAT_COLOURS = "Viridis"  # the sweep's cells
WHITE, NEAR_BLACK = "rgb(255, 255, 255)", "rgb(26, 26, 26)"  # the numbers written on them
KEY_GREY = "#8A8A8A"  # the line styles' key: 3:1 or more against both the light and the dark background


Series = tuple[Sequence[float], Sequence[float]]  # (fractional epochs, values)


@dataclass
class RunCurves:
    """One run's curves, as plain lists (x = fractional epoch), by metric name (the registry's)."""

    label: str
    series: dict[str, Series] = field(default_factory=dict)
    marker_epoch: float | None = None  # e.g. where the loss became NaN
    marker_text: str = ""

    def points(self, name: str) -> Series:
        return self.series.get(name, ([], []))


@dataclass(frozen=True)
class CurveView:
    """How a person chose to see the curves: the loss axis on a log scale, and the per-step series
    smoothed (TensorBoard's weight, 0 = off) with their raw curves kept faint beneath."""

    log_loss: bool = False
    smoothing: float = 0.0


# Plotly's own words (its modebar's titles, its notices), which a chart's ``locales`` config translates:
# Plotly looks each one up in the chart's dictionary, so a reader in Chinese hovers Chinese titles
PNG_TITLE = N_("Download plot as a PNG")  # the camera's title while it saves a PNG
PLOTLY_WORDS = (PNG_TITLE, N_("Download plot"), N_("Zoom"), N_("Pan"), N_("Box Select"), N_("Lasso Select"),
                N_("Zoom in"), N_("Zoom out"), N_("Autoscale"), N_("Reset axes"), N_("Reset view"),
                N_("Toggle Spike Lines"), N_("Show closest data on hover"), N_("Compare data on hover"),
                N_("Produced with Plotly.js"), N_("Double-click to zoom back out"),
                N_("Taking snapshot - this may take a few seconds"),
                N_("Preparing image - this may take a few seconds"), N_("Image download succeeded"),
                N_("Sorry, there was a problem downloading your image!"))


def plotly_locale() -> dict:
    """Plotly's config keys that make its own words the reader's (none in English, Plotly's own)."""
    language = current_language()
    if language == SOURCE_LANGUAGE:
        return {}
    return {"locale": language, "locales": {language: {"dictionary": {word: _(word) for word in PLOTLY_WORDS}}}}


def chart_config(name: str) -> dict:
    """Plotly's config for one chart: its camera button saves a PNG named after the chart, at twice its
    size on screen (the SVG button beside it comes from ``chart_downloads``); Plotly's own words in the
    reader's language."""
    return {"toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}, **plotly_locale()}


def thin(xs: Sequence[float], ys: Sequence[float], limit: int = MAX_POINTS_PER_SERIES) -> tuple[list, list]:
    """At most ``limit`` evenly spaced points, always keeping the last one."""
    if len(xs) <= limit:
        return list(xs), list(ys)
    keep = np.unique(np.linspace(0, len(xs) - 1, limit).round().astype(int))
    return [xs[i] for i in keep], [ys[i] for i in keep]


def safe_label(text: str) -> str:
    """User text (a run or student name) as inert Plotly text: Plotly renders a few HTML tags in every
    title, legend name and annotation (``<a href>`` links among them), so every figure builder passes
    its text through here."""
    return html.escape(text, quote=False)


CURVE_PANELS = {"loss": ("x", "y", [0.0, 0.46]), "accuracy": ("x2", "y2", [0.54, 1.0])}  # axis -> x, y, domain
PANEL_TITLES = {"loss": N_("loss"), "accuracy": N_("accuracy")}  # a panel's title and its y axis's, translated


def panel_title(name: str) -> str:
    """A curves panel's title ('loss', 'accuracy') in the reader's language."""
    return _(PANEL_TITLES[name]) if name in PANEL_TITLES else name


def run_traces(run: RunCurves, index: int, metrics: Sequence[str] | None = None,
               smoothing: float = 0.0) -> list[dict]:
    """One run's curves (its three, and val acc when it has a validation split; or only ``metrics``) as
    Plotly trace dicts, in the run's colour (the ``index``-th of the palette); with ``smoothing``, each
    per-step series is drawn smoothed over its faint raw curve."""
    colour = PALETTE[index % len(PALETTE)]
    label = safe_label(run.label)
    traces = []
    for name, (xs, ys) in drawn_series(run, metrics).items():
        if smoothing and metric(name).per_step and ys:
            traces.append(_raw_trace(_curve_trace(name, xs, ys, label, index, colour)))
            ys = smooth_curve(ys, smoothing)
        traces.append(_curve_trace(name, xs, ys, label, index, colour))
    return traces


def metric_label(name: str) -> str:
    """How a chart names a metric, in the reader's language: 'train loss', '训练损失'."""
    return _(metric(name).label)


def drawn_series(run: RunCurves, metrics: Sequence[str] | None = None) -> dict[str, Series]:
    """The run's series a chart draws (all the registry's, or only ``metrics``), in the registry's order:
    every train series, and each held-out one that has points; before the first epoch's held-out point,
    an empty test accuracy, so that the legend says what will come."""
    wanted = [m for m in METRICS if metrics is None or m.name in metrics]
    drawn = {m.name: run.points(m.name) for m in wanted if not m.held_out or run.points(m.name)[1]}
    if not any(metric(name).held_out for name in drawn) and any(m.name == "test_acc" for m in wanted):
        drawn["test_acc"] = run.points("test_acc")
    return {m.name: drawn[m.name] for m in wanted if m.name in drawn}


def _curve_trace(name: str, xs: Sequence[float], ys: Sequence[float], label: str, index: int,
                 colour: str) -> dict:
    drawn = metric(name)
    xs, ys = thin(xs, ys)
    x_axis, y_axis, _domain = CURVE_PANELS[drawn.kind]
    said, epoch_word = _(drawn.label), _("epoch")
    return {
        "type": "scatter", "x": xs, "y": ys, "xaxis": x_axis, "yaxis": y_axis,
        "mode": "lines" if drawn.per_step else "lines+markers",
        "name": _("{run}: {metric}").format(run=label, metric=said), "legendgroup": str(index),
        "line": {"color": colour, "dash": drawn.dash, "width": 2}, "marker": {"size": 5},
        "cliponaxis": False,  # a dot at the panel's edge is drawn whole
        # the label comes from the trace's escaped name: a '%{y}' in a run name would be filled in here
        "hovertemplate": f"{said} %{{y:.4f}}<br>{epoch_word} %{{x:.2f}}<extra>%{{fullData.name}}</extra>",
    }


def _raw_trace(trace: dict) -> dict:
    """The raw curve under a smoothed one: faint and thin, out of the legend and the hover (its legend
    group still hides it with its run)."""
    raw = {key: value for key, value in trace.items() if key != "hovertemplate"}
    return {**raw, "name": _("{name} (raw)").format(name=trace["name"]), "opacity": RAW_OPACITY, "showlegend": False,
            "hoverinfo": "skip", "line": {**trace["line"], "width": 1.5}}


def curves_text(runs: Sequence[RunCurves], metrics: Sequence[str] | None = None) -> list[str]:
    """Each run's curves in a sentence (its train loss, then each other series drawn: all, or those of
    ``metrics`` as ``run_traces`` takes them), the text alternative of the curves charts. (Labels are as
    typed: the page escapes what it renders.)"""
    texts = []
    for run in runs:
        epochs, losses = run.points("train_loss")
        others = {metric_label(name): values for name, (_xs, values) in drawn_series(run, metrics).items()
                  if name != "train_loss"}
        texts.append(describe_run_curves(run.label, epochs, losses, others))
    return texts


@dataclass(frozen=True)
class ProjectorStyle:
    """How the curves read from the back of a classroom: large type everywhere, one legend entry per run
    below the panels (the plot grows with it rather than shrinking), and the line styles explained once."""

    text_px: int = 20  # axis titles, legend, panel titles
    tick_px: int = 18
    title_px: int = 24
    legend_row_px: int = 34
    runs_per_legend_row: int = 3  # at 1280 px wide, with names like '1. Ada Lovelace'
    plot_px: int = 320  # the panels' height, whatever the number of runs (the figure grows with the legend)
    top_px: int = 110  # the title and the line styles' key
    axes_px: int = 90  # tick labels and the axis titles under the panels


PROJECTOR = ProjectorStyle()


def build_curves_figure(runs: Sequence[RunCurves], title: str = "", height: int = 420,
                        traces: Sequence[dict] | None = None, style: ProjectorStyle | None = None,
                        view: CurveView = CurveView()) -> go.Figure:
    """Loss (left) and accuracy (right) against epoch for every run, sharing colours across panels
    (``traces``: the runs' ``run_traces``, when the caller already has them, smoothed as ``view`` says;
    ``style``: for a projector; ``view``: a log loss axis, smoothing)."""
    return go.Figure(_curves_spec(runs, title, height, traces, style, view), _validate=False)


def build_curve_panels(runs: Sequence[RunCurves], title: str = "", height: int = 420,
                       traces: Sequence[dict] | None = None, view: CurveView = CurveView()) -> list[go.Figure]:
    """The curves figure's two panels as two figures, loss then accuracy, for two page columns: a phone
    stacks columns, where one figure's panels would stay side by side, each a third of the screen. The
    title goes on the loss panel; each legend names its own panel's curves. (A projector keeps the one
    figure, whose legend names each run once: ``build_curves_figure`` with a style.)"""
    return [go.Figure(spec, _validate=False) for spec in curve_panel_specs(runs, title, height, traces, view)]


def curve_panel_specs(runs: Sequence[RunCurves], title: str = "", height: int = 420,
                      traces: Sequence[dict] | None = None, view: CurveView = CurveView()) -> list[dict]:
    """``build_curve_panels`` as plain specs ({"data", "layout"}), for ``PreparedFigure``."""
    spec = _curves_spec(runs, title, height, traces, view=view)
    return [_panel_spec(spec, name, keep_title=index == 0) for index, name in enumerate(CURVE_PANELS)]


class PreparedFigure(BaseFigure):
    """A spec this module built, handed to ``st.plotly_chart`` as it is. Streamlit asks a figure only for
    ``to_dict()``; building a ``go.Figure`` from a live view's spec (every trace and layout key made a
    validated object, then deep-copied back) cost more than all the rest of a poll, forty students polling
    every second or two. The specs are valid by construction: the tests build ``go.Figure`` from the same
    specs with validation on."""

    def __new__(cls, spec: dict) -> PreparedFigure:
        figure = object.__new__(cls)
        object.__setattr__(figure, "_prepared_spec", spec)
        return figure

    def __init__(self, spec: dict) -> None:  # noqa: D107 - nothing to build: that is the point
        pass

    def to_dict(self) -> dict:
        return self._prepared_spec


def _panel_spec(spec: dict, name: str, keep_title: bool) -> dict:
    """One panel of a curves spec on the figure's only axes (x, y), its domain the whole width."""
    x_axis, y_axis, _domain = CURVE_PANELS[name]
    data = [{**trace, "xaxis": "x", "yaxis": "y"} for trace in spec["data"] if trace.get("xaxis") == x_axis]
    layout = {key: value for key, value in spec["layout"].items() if not key.startswith(("xaxis", "yaxis"))}
    layout["xaxis"] = {**spec["layout"][_layout_key(x_axis)], "domain": [0.0, 1.0], "anchor": "y"}
    layout["yaxis"] = {**spec["layout"][_layout_key(y_axis)], "anchor": "x"}
    layout["annotations"] = [dict(note, x=0.5) if note.get("xref") == "paper" else note
                             for note in spec["layout"]["annotations"]
                             if note.get("text") == panel_title(name) or (note.get("xref") == x_axis)]
    layout["shapes"] = [shape for shape in spec["layout"]["shapes"] if shape.get("xref") == x_axis]
    # a new revision when the loss axis changes scale: a zoom kept from the other scale would be nonsense
    layout["uirevision"] = f"curves-{name}-{layout['yaxis'].get('type', 'linear')}"
    # below the epoch axis's title, however many rows it wraps into on a half-width column or a phone
    layout["legend"] = {**(layout.get("legend") or {}), "y": -0.25, "yanchor": "top"}
    if not keep_title:
        layout["title"] = None
    return {"data": data, "layout": layout}


def _curves_spec(runs: Sequence[RunCurves], title: str, height: int, traces: Sequence[dict] | None,
                 style: ProjectorStyle | None = None, view: CurveView = CurveView()) -> dict:
    if traces is None:
        traces = [trace for index, run in enumerate(runs) for trace in run_traces(run, index, None, view.smoothing)]
    layout = _curves_layout(title, height, view.log_loss)
    if not traces:  # the chart's place before any run: both panels, the book's ranges (not Plotly's -1..4)
        _fix_ranges(layout, epochs=10, loss=LOG_LOSS_RANGE if view.log_loss else (0, 2.5))
        traces = [{"type": "scatter", "x": [], "y": [], "xaxis": x_axis, "yaxis": y_axis, "showlegend": False,
                   "hoverinfo": "skip"} for x_axis, y_axis, _domain in CURVE_PANELS.values()]
    for index, run in enumerate(runs):
        if run.marker_epoch is not None:
            _add_marker(layout, run.marker_epoch, safe_label(run.marker_text), PALETTE[index % len(PALETTE)])
    if style is not None:
        traces = _style_for_projector(layout, list(traces), style)
    return {"data": list(traces), "layout": layout}


def _style_for_projector(layout: dict, traces: list[dict], style: ProjectorStyle) -> list[dict]:
    """Restyle the figure for a projector (on copies: a live view's traces are cached and shared)."""
    per_run = _one_legend_entry_per_run(traces)
    drawn = {(trace.get("xaxis"), trace.get("line", {}).get("dash")) for trace in per_run}
    metrics = [m.name for m in METRICS if (CURVE_PANELS[m.kind][0], m.dash) in drawn]
    rows = max(1, math.ceil(sum(1 for trace in per_run if trace.get("showlegend")) / style.runs_per_legend_row))
    legend_px = rows * style.legend_row_px
    text, ticks = {"size": style.text_px}, {"size": style.tick_px}
    layout.update(height=style.top_px + style.plot_px + style.axes_px + legend_px, font=text,
                  margin={"t": style.top_px, "b": style.axes_px + legend_px, "l": 20, "r": 20},
                  legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 0, "yref": "container",
                          "yanchor": "bottom", "font": text},
                  legend2={"orientation": "h", "x": 1, "xanchor": "right", "y": 1, "yref": "container",
                           "yanchor": "top", "font": ticks, "title": {"text": _("line:"), "font": ticks}})
    if layout.get("title"):
        layout["title"].update(font={"size": style.title_px}, x=0, xanchor="left", y=0.99, yanchor="top",
                               yref="container")
    for note in layout["annotations"]:
        note["font"] = {**note.get("font", {}), "size": style.text_px}
    for key in [key for key in layout if key.startswith(("xaxis", "yaxis"))]:
        layout[key]["title"]["font"] = text
        layout[key].update(tickfont=ticks, automargin=True)
    return per_run + [_line_style_key(name) for name in metrics]


def style_figure(figure: go.Figure, style: ProjectorStyle | None) -> go.Figure:
    """Any figure's text in a projector's sizes (titles, axes, ticks, legend, colour bar); as is without a style."""
    if style is None:
        return figure
    text, ticks = {"size": style.text_px}, {"size": style.tick_px}
    figure.update_layout(font=text, legend_font=text, title_font_size=style.title_px)
    figure.update_xaxes(tickfont=ticks, title_font=text)
    figure.update_yaxes(tickfont=ticks, title_font=text)
    figure.update_annotations(font_size=style.text_px)
    return figure


def _one_legend_entry_per_run(traces: list[dict]) -> list[dict]:
    """Each run once in the legend, by its name (its first trace; a click still hides all its curves)."""
    shown, styled = set(), []
    separator = _("{run}: {metric}").format(run="", metric="")  # between the run and its metric: ': ', '：'
    for trace in traces:
        trace = dict(trace)
        group = trace.get("legendgroup")
        if group is not None and trace.get("showlegend", True):
            trace["showlegend"] = group not in shown
            trace["name"] = trace.get("name", "").rpartition(separator)[0] or trace.get("name", "")
            shown.add(group)
        styled.append(trace)
    return styled


def _line_style_key(name: str) -> dict:
    """A grey line in the second legend that says what one line style means."""
    styled = metric(name)
    x_axis, y_axis, _domain = CURVE_PANELS[styled.kind]
    return {"type": "scatter", "x": [None], "y": [None], "xaxis": x_axis, "yaxis": y_axis, "mode": "lines",
            "name": _(styled.label), "legend": "legend2", "hoverinfo": "skip",
            "line": {"color": KEY_GREY, "dash": styled.dash, "width": 3}}


def _curves_layout(title: str, height: int, log_loss: bool = False) -> dict:
    layout: dict = {
        "title": {"text": safe_label(title)} if title else None, "height": height, "hovermode": "closest",
        "uirevision": "curves", "legend": {"orientation": "h", "y": -0.2},
        "margin": {"t": 60, "b": 10, "l": 10, "r": 10}, "shapes": [],
        "annotations": [{"text": panel_title(name), "x": sum(domain) / 2, "y": 1.0, "xref": "paper", "yref": "paper",
                         "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 16}}
                        for name, (_x, _y, domain) in CURVE_PANELS.items()],
    }
    for name, (x_axis, y_axis, domain) in CURVE_PANELS.items():
        # autorange on every redraw so growing curves stay in view; uirevision still keeps a person's zoom
        layout[_layout_key(x_axis)] = {"domain": domain, "anchor": y_axis, "title": {"text": _("epoch")},
                                       "rangemode": "tozero", "autorange": True}
        layout[_layout_key(y_axis)] = {"anchor": x_axis, "title": {"text": panel_title(name)},
                                       "autorange": True}
    if log_loss:
        layout["yaxis"].update(type="log", title={"text": _("loss (log scale)")})
    return layout


def _fix_ranges(layout: dict, epochs: float, loss: tuple[float, float]) -> None:
    """Fixed ranges for the empty chart; a log axis's range is given in powers of ten, as Plotly reads it."""
    low, high = (math.log10(end) for end in loss) if layout["yaxis"].get("type") == "log" else loss
    for axis, span in (("xaxis", [0, epochs]), ("xaxis2", [0, epochs]), ("yaxis", [low, high]),
                       ("yaxis2", [0, 1.0])):
        layout[axis].update(range=span, autorange=False)


def _add_marker(layout: dict, epoch: float, text: str, colour: str) -> None:
    """A dash-dotted vertical line on the loss panel, e.g. where the loss became NaN."""
    layout["shapes"].append({"type": "line", "x0": epoch, "x1": epoch, "xref": "x", "y0": 0, "y1": 1,
                             "yref": "y domain", "line": {"color": colour, "dash": "dashdot"}})
    layout["annotations"].append({"text": text, "x": epoch, "y": 1, "xref": "x", "yref": "y domain",
                                  "showarrow": False, "yanchor": "bottom"})


def _layout_key(axis: str) -> str:
    return axis.replace("x", "xaxis").replace("y", "yaxis")


def build_templates_figure(weights: np.ndarray, class_names: Sequence[str], height: int = 330) -> go.Figure:
    """The ten weight rows as 28x28 images (red: evidence for the class, blue: against)."""
    weights = np.asarray(weights, dtype=float).reshape(len(class_names), IMAGE_SIDE, IMAGE_SIDE)
    limit = float(np.abs(weights).max()) or 1.0
    figure = make_subplots(rows=2, cols=5, subplot_titles=list(class_names), horizontal_spacing=0.02,
                           vertical_spacing=0.12)
    for index, image in enumerate(weights):
        figure.add_trace(go.Heatmap(z=image, zmin=-limit, zmax=limit, colorscale="RdBu_r",
                                    showscale=index == 0, hovertemplate=_("weight") + " %{z:.3f}<extra></extra>"),
                         row=index // 5 + 1, col=index % 5 + 1)
    figure.update_yaxes(autorange="reversed", showticklabels=False, scaleanchor="x")
    figure.update_xaxes(showticklabels=False)
    figure.update_layout(height=height, margin={"t": 40, "b": 10, "l": 10, "r": 10}, uirevision="templates")
    return figure


def build_confusion_figure(confusion: np.ndarray, class_names: Sequence[str], height: int = 460) -> go.Figure:
    """Counts of true (rows) against predicted (columns) held-out labels, with the counts written in."""
    confusion = np.asarray(confusion)
    figure = go.Figure(go.Heatmap(
        z=confusion, x=list(class_names), y=list(class_names), colorscale="Blues",
        text=confusion, texttemplate="%{text}",
        hovertemplate=_("true %{y}<br>predicted %{x}<br>%{z}") + "<extra></extra>",
    ))
    figure.update_yaxes(autorange="reversed", title_text=_("true class"))
    figure.update_xaxes(title_text=_("predicted class"))
    figure.update_layout(height=height, margin={"t": 20, "b": 10, "l": 10, "r": 10}, uirevision="confusion")
    return figure


def build_per_class_figure(accuracies: Sequence[float], class_names: Sequence[str], height: int = 300,
                           held_out: str = "test") -> go.Figure:
    """Accuracy of each true class as horizontal bars, worst at the top."""
    order = np.argsort(accuracies)
    figure = go.Figure(go.Bar(
        x=[accuracies[i] for i in order], y=[class_names[i] for i in order], orientation="h",
        marker_color=PALETTE[0], text=[f"{accuracies[i]:.1%}" for i in order], textposition="auto",
    ))
    title = _("test accuracy of the class") if held_out == "test" else _("validation accuracy of the class")
    figure.update_xaxes(range=[0, 1], title_text=title)
    figure.update_layout(height=height, margin={"t": 10, "b": 10, "l": 10, "r": 10}, uirevision="per-class")
    return figure


def build_band_figure(epochs: Sequence[float], bands: dict[str, tuple[Sequence[float], Sequence[float]]],
                      title: str = "", y_title: str = "", height: int = 380) -> go.Figure:
    """Mean lines with +/- one standard deviation bands, one colour per series (``y_title``: 'accuracy',
    in the reader's language, unless given)."""
    figure = go.Figure()
    for index, (name, (mean, std)) in enumerate(bands.items()):
        colour = PALETTE[index % len(PALETTE)]
        mean, std = np.asarray(mean, float), np.asarray(std, float)
        figure.add_trace(go.Scatter(x=list(epochs) + list(epochs)[::-1], y=list(mean + std) + list(mean - std)[::-1],
                                    fill="toself", fillcolor=colour, opacity=0.2, line={"width": 0},
                                    hoverinfo="skip", showlegend=False, legendgroup=name))
        figure.add_trace(go.Scatter(x=list(epochs), y=list(mean), name=safe_label(name), legendgroup=name,
                                    line={"color": colour, "width": 2}, mode="lines+markers",
                                    customdata=std, hovertemplate="%{y:.4f} ± %{customdata:.4f}<extra></extra>"))
    figure.update_xaxes(title_text=_("epoch"))
    figure.update_yaxes(title_text=y_title or _("accuracy"))
    figure.update_layout(title=safe_label(title) or None, height=height, uirevision="bands",
                         margin={"t": 40 if title else 10, "b": 10, "l": 10, "r": 10})
    return figure


def build_sweep_figure(cells: Sequence[HeatCell], x_title: str, y_title: str, metric_title: str,
                       log_x: bool = False, log_y: bool = False, height: int = 460) -> go.Figure:
    """The sweep's grid as square cells coloured by the metric (mean over seeds, ± std and n on hover); the
    cells inside the book's ``train_loss < 0.5`` are outlined, drawing that boundary over the grid. Each
    finished cell's value is written on it in white or near-black, whichever reads better on its colour,
    as an annotation: a click selects a cell, and selection would dim the other cells' trace text."""
    done = [cell for cell in cells if cell.mean is not None]
    waiting = [cell for cell in cells if cell.mean is None]
    size = max(24, min(130, 520 // max(1, len({c.x for c in cells}), len({c.y for c in cells}))))
    height = min(height, 150 + len({c.y for c in cells}) * (size + 30))  # one row of cells needs no 460 px
    where = _where_template(x_title, y_title)
    traces = [_heat_trace(done, metric_title, size, where), _waiting_trace(waiting, size, where),
              _boundary_trace(done, size)]
    figure = go.Figure([trace for trace in traces if trace is not None])
    # the page's own background between the cells (a white plot area glared on the dark theme)
    figure.update_layout(height=height, margin={"l": 70, "r": 30, "t": 30, "b": 60}, uirevision="sweep",
                         plot_bgcolor="rgba(0, 0, 0, 0)", clickmode="event+select", showlegend=True,
                         legend={"orientation": "h", "y": -0.2})
    x_ticks, y_ticks = sorted({c.x for c in cells}), sorted({c.y for c in cells})
    for update, log, ticks, title in ((figure.update_xaxes, log_x, x_ticks, x_title),
                                      (figure.update_yaxes, log_y, y_ticks, y_title)):
        update(title=title, type="log" if log else "category", showgrid=False,
               **({"tickvals": ticks, "ticktext": [f"{v:g}" for v in ticks], "range": _log_range(ticks)} if log else
                  {"categoryorder": "array", "categoryarray": ticks}))
    figure.update_traces(selected={"marker": {"opacity": 1.0}}, unselected={"marker": {"opacity": 0.9}})
    figure.update_layout(annotations=[
        {"x": _axis_position(cell.x, log_x, x_ticks), "y": _axis_position(cell.y, log_y, y_ticks), "xref": "x",
         "yref": "y", "text": f"{cell.mean:.3f}", "showarrow": False, "font": {"color": colour, "size": 12}}
        for cell, colour in zip(done, label_colours([cell.mean for cell in done]))])
    return figure


def _log_range(ticks: Sequence[float]) -> list[float]:
    """A log axis's range padded by half a step each side, as a category axis is: the cells sit where a
    grid's would, never squeezed against the plot's edges with the middle left empty."""
    low, high = math.log10(ticks[0]), math.log10(ticks[-1])
    pad = (high - low) / (len(ticks) - 1) / 2 if len(ticks) > 1 else 0.5
    return [low - pad, high + pad]


def _axis_position(value, log: bool, ticks: Sequence) -> float:
    """Where an annotation sits on a log axis (the value's log10) or a category axis (its tick's index)."""
    return math.log10(value) if log else ticks.index(value)


def _relative_luminance(rgb: str) -> float:
    """WCAG's relative luminance of an 'rgb(r, g, b)' colour."""
    channels = [int(part) / 255 for part in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    """WCAG's contrast ratio of two 'rgb(r, g, b)' colours, from 1 (none) to 21 (black on white)."""
    light, dark = sorted((_relative_luminance(first), _relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def label_colours(values: Sequence[float], colorscale: str = HEAT_COLOURS) -> list[str]:
    """For a number written on each cell: white or near-black, whichever stands out more from the cell's
    colour (the colour scale stretched from the smallest value to the largest, as the markers are)."""
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    spread = (high - low) or 1.0
    cells = sample_colorscale(colorscale, [(value - low) / spread for value in values])
    return [max((WHITE, NEAR_BLACK), key=lambda text: contrast_ratio(text, cell)) for cell in cells]


def _where_template(x_title: str, y_title: str) -> str:
    """What a cell's hover says of its place, labelled: 'Batch size 64, Learning rate 0.3'."""
    places = [f"{safe_label(x_title)} %{{x}}"] + ([f"{safe_label(y_title)} %{{y}}"] if y_title else [])
    return _(", ").join(places)  # the reader's list separator: '，' in Chinese


def _heat_trace(cells: Sequence[HeatCell], metric_title: str, size: int, where: str) -> go.Scatter | None:
    if not cells:
        return None
    return go.Scatter(
        x=[c.x for c in cells], y=[c.y for c in cells], mode="markers", name=metric_title,
        customdata=[[c.key, _spread_text(c)] for c in cells],
        marker={"symbol": "square", "size": size, "color": [c.mean for c in cells], "colorscale": HEAT_COLOURS,
                "cmin": min(c.mean for c in cells), "cmax": max(c.mean for c in cells),
                "showscale": True, "colorbar": {"title": {"text": metric_title, "side": "right"}}},
        hovertemplate=f"{metric_title} %{{marker.color:.4f}}%{{customdata[1]}}<br>{where}<extra></extra>")


def _spread_text(cell: HeatCell) -> str:
    """What the hover says of the seeds: their spread, or that one seed has none to show."""
    if cell.n > 1 and cell.std is not None:
        return f" ± {cell.std:.4f}<br>" + _("over {seeds} seeds").format(seeds=cell.n)
    return "<br>" + _("one seed: no spread to show")


def _waiting_trace(cells: Sequence[HeatCell], size: int, where: str) -> go.Scatter | None:
    if not cells:
        return None
    return go.Scatter(
        x=[c.x for c in cells], y=[c.y for c in cells], mode="markers+text", name=_("training…"),
        text=["…" if c.running else "–" for c in cells], customdata=[[c.key, ""] for c in cells],
        textfont={"color": NEAR_BLACK},  # on its light grey cell whatever the theme's text colour
        marker={"symbol": "square", "size": size, "color": "#E0E0E0"},
        hovertemplate=_("{where}: no finished run yet").format(where=where) + "<extra></extra>")


def _boundary_trace(cells: Sequence[HeatCell], size: int) -> go.Scatter | None:
    inside = [c for c in cells if c.inside_book_loss]
    if not inside:
        return None
    return go.Scatter(
        x=[c.x for c in inside], y=[c.y for c in inside], mode="markers", name=_("train loss < 0.5 (the book's check)"),
        hoverinfo="skip", marker={"symbol": "square-open", "size": size + 4, "color": "#D62728",
                                  "line": {"width": 3, "color": "#D62728"}})


def build_parcoords_figure(dimensions: dict[str, Sequence[float]], colour_by: str, log_fields: Sequence[str] = (),
                           height: int = 420) -> go.Figure:
    """Every run of a sweep as one line across its varied fields and the metric; drag on an axis to brush."""
    dims = []
    for name, values in dimensions.items():
        shown = [math.log10(v) for v in values] if name in log_fields else list(values)
        dims.append({"label": f"log10 {name}" if name in log_fields else name, "values": shown})  # field names
    figure = go.Figure(go.Parcoords(dimensions=dims, line={"color": list(dimensions[colour_by]),
                                                            "colorscale": "Viridis", "showscale": True}))
    figure.update_layout(height=height, margin={"l": 60, "r": 60, "t": 50, "b": 30})
    return figure
