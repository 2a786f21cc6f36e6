"""Each page as a person uses it, through AppTest: the stability table reads NaN, inf and 3.72e-44; a seed
band needs different seeds; Inspect shows what a diverged or queued run has, refuses a run that doesn't
exist without showing another; alone (no class) no message speaks of a class; Sweep's errors name the
form's fields."""

from __future__ import annotations

import pytest

from softmax_core.config import TrainConfig
from softmax_core.runs.store import EVERYTHING
from tests.test_app import fresh_store, open_page, open_tab, texts, unescaped, wait_for_runs_to_end  # noqa: F401


def test_the_stability_table_reads_nan_inf_and_a_tiny_probability_in_scientific_notation():
    app = open_page("lessons_page.py")
    open_tab(app, "Numerical stability")
    app.selectbox(key="stab_logits").set_value("large: 100, 0, -5").run()
    table = app.table[0].value
    shown = [str(value) for row in table.itertuples(index=False) for value in row]
    assert "NaN" in shown and "inf" in shown and "3.72e-44" in shown, shown
    assert "None" not in shown and not any(set(cell) == {"0"} and len(cell) > 3 for cell in shown)
    assert table.loc["0", "naive softmax"] == "NaN" and table.loc["1", "stable softmax"] == "3.72e-44"
    app.selectbox(key="stab_logits").set_value("tame: 2, 1, 0.1").run()
    app.slider(key="stab_scale").set_value(10.0).run()
    summary = unescaped(texts(app))
    assert "naive loss 4.536e-05 differs by 0.13% from the stable 4.542e-05" in summary, summary
    assert "equals" not in summary


def test_compare_draws_no_seed_band_from_two_runs_of_the_same_seed():
    from dashboard.services import get_runner

    runner = get_runner()
    ids = [runner.submit(TrainConfig(epochs=1, seed=0), name) for name in ("first", "again")]
    wait_for_runs_to_end()
    app = open_page("compare_page.py", {"runs": ",".join(map(str, ids))})
    assert not app.exception
    charts = [chart.key for chart in app.get("plotly_chart")]
    assert charts == ["compare_curves_loss", "compare_curves_accuracy"], "the curves only: one seed has no spread"
    assert "more seeds" not in unescaped(texts(app))


def test_inspect_shows_a_diverged_run_that_never_finished_an_epoch():
    from dashboard.services import get_runner, get_store

    run_id = get_runner().submit(TrainConfig(implementation="scratch", init_std=10.0, epochs=1), "blows up")
    wait_for_runs_to_end()
    run = get_store().get_run(run_id, scope=EVERYTHING)
    assert run.status == "diverged" and not get_store().read_epochs(run_id, scope=EVERYTHING)
    app = open_page("inspect_page.py", {"run": str(run_id)})
    assert app.selectbox(key="inspect_run").value == run_id
    shown = unescaped(texts(app))
    assert "doesn't exist" not in shown and "another student" not in shown
    assert f"loss became NaN at step {run.diverged_step}, before its first epoch ended" in shown
    assert any("nn.Linear(784, 10)" in block.value or "784" in block.value for block in app.code)


def test_inspect_says_a_queued_run_has_nothing_to_show_yet():
    from dashboard.services import get_store

    run_id = get_store().create_run(TrainConfig(epochs=1), "waiting")  # recorded, given to no worker
    app = open_page("inspect_page.py", {"run": str(run_id)})
    assert app.selectbox(key="inspect_run").value == run_id
    shown = unescaped(texts(app))
    assert "This run is queued, waiting for a free worker" in shown and "doesn't exist" not in shown


def test_inspect_refuses_a_missing_run_without_showing_another_and_speaks_of_no_class():
    from dashboard.services import get_runner

    get_runner().submit(TrainConfig(epochs=1), "someone else's? no: the only one")
    wait_for_runs_to_end()
    app = open_page("inspect_page.py", {"run": "999"})
    shown = unescaped(texts(app))
    assert "Run #999 doesn't exist, so it isn't shown here." in shown
    assert "student" not in shown and "owner" not in shown
    assert app.selectbox(key="inspect_run").value is None, "no other run shown in its place"
    assert not app.get("plotly_chart")


@pytest.mark.parametrize("text, expected", [
    ("64.5, 256", "Batch size values: '64.5' is not a whole number"),
    ("0, 256", "Batch size values: must be in"),
])
def test_sweep_errors_name_the_values_as_the_form_labels_them(text, expected):
    app = open_page("sweep_page.py")
    app.text_input(key="sweep_values_batch_size").set_value(text).run()
    errors = [error.value for error in app.error]
    assert any(expected in error for error in errors), errors
    assert not any("batch_size" in error for error in errors)


def loss_panel(app, key: str) -> dict:
    import json

    return json.loads(next(chart for chart in app.get("plotly_chart") if chart.key == key).proto.spec)


def test_compare_offers_a_log_loss_axis_and_smoothing_that_keeps_the_raw_curve_and_says_the_curves():
    from dashboard.services import get_runner

    run_id = get_runner().submit(TrainConfig(epochs=1, reports_per_epoch=20), "book")
    wait_for_runs_to_end()
    app = open_page("compare_page.py", {"runs": str(run_id)})
    assert loss_panel(app, "compare_curves_loss")["layout"]["yaxis"].get("type") != "log"
    app.toggle(key="compare_curves_log").set_value(True).run()
    assert loss_panel(app, "compare_curves_loss")["layout"]["yaxis"]["type"] == "log"
    names = [trace["name"] for trace in loss_panel(app, "compare_curves_loss")["data"]]
    assert names == [f"#{run_id} book: train loss", f"#{run_id} book: test loss"], "the held-out loss beside it"
    app.slider(key="compare_curves_smoothing").set_value(0.8).run()
    traces = loss_panel(app, "compare_curves_loss")["data"]
    assert [trace["name"] for trace in traces] == [f"#{run_id} book: train loss (raw)", f"#{run_id} book: train loss",
                                                   f"#{run_id} book: test loss"], "one point an epoch: not smoothed"
    assert traces[0]["opacity"] < traces[1].get("opacity", 1) and traces[0]["y"] != traces[1]["y"]
    shown = unescaped(texts(app))
    assert f"#{run_id} book: train loss fell from" in shown and "over 1 epoch; train acc ends at 0." in shown
    charts = {chart.key: chart.proto.alt for chart in app.get("plotly_chart")}
    assert charts["compare_curves_loss"].startswith("Loss against epoch. ") and "test acc ends at" in \
        charts["compare_curves_accuracy"]
    app.switch_page("inspect_page.py").run()  # the session's choice goes with it; Inspect's charts say theirs
    alts = {chart.key: chart.proto.alt for chart in app.get("plotly_chart")}
    assert "test images right; most often confused: true" in alts["confusion"], alts
    assert alts["per_class"].startswith("Worst test accuracy: ") and "one per class" in alts["templates"]
    app.switch_page("compare_page.py").run()
    assert app.toggle(key="compare_curves_log").value is True
    assert app.slider(key="compare_curves_smoothing").value == 0.8
