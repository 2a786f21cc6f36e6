"""The Train page and the flow between pages, through AppTest: Start with fields out of range names each
field and its range beside Start and starts nothing; what is typed in the form (the preset included)
reaches Sweep without a Start and is still there back on Train; Sweep says when the form's values can't
start; Train opened again shows the runs still going; the chart comes before the run cards. What a
person sees of it in Chromium (Start on a laptop's first screen, no st.form holding values back) is
tests/e2e/test_train_page.py."""

from __future__ import annotations

from softmax_core.config import TrainConfig
from softmax_core.runs.store import EVERYTHING
from softmax_core.status import RunStatus
from tests.heartbeats import kept_going
from tests.test_app import fresh_store, open_page, texts, unescaped  # noqa: F401


def click_start(app):
    """Click the sidebar's Start (found by its label, whatever its key)."""
    [start] = [button for button in app.sidebar.button if button.label == "Start"]
    start.click().run()
    assert not app.exception, app.exception
    return app


def in_order(node) -> list:
    """The elements under ``node`` in the order the page draws them."""
    children = getattr(node, "children", {})
    if not children:
        return [node]
    return [leaf for child in children.values() for leaf in in_order(child)]


def test_start_with_fields_out_of_range_names_each_field_and_its_range_beside_start_and_starts_nothing():
    from dashboard.services import get_store

    app = open_page()
    app.sidebar.number_input(key="form_epochs").set_value(1000)
    app.sidebar.number_input(key="form_batch_size").set_value(-5)
    app.sidebar.number_input(key="form_lr").set_value(0.0)
    click_start(app)
    [error] = [unescaped(error.value) for error in app.sidebar.error]
    for said in ("Epochs: 1000 is above the largest allowed, 500", "Batch size: -5 is below the smallest allowed, 1",
                 "Learning rate: 0 is too small: it must be above 0"):
        assert said in error, error
    assert "batch_size" not in error and "epochs:" not in error, "the labels a person sees, not internal names"
    leaves = in_order(app.sidebar)
    start = next(i for i, leaf in enumerate(leaves) if getattr(leaf, "label", "") == "Start")
    assert type(leaves[start + 1]).__name__ == "Error", "the message comes right after Start"
    assert get_store().list_runs(scope=EVERYTHING) == [], "nothing started"
    app.sidebar.number_input(key="form_epochs").set_value(1)
    app.sidebar.number_input(key="form_batch_size").set_value(256)
    app.sidebar.number_input(key="form_lr").set_value(0.1).run()
    assert not app.sidebar.error, "the message goes once the values can start"


def test_a_field_behind_more_settings_is_named_too():
    app = open_page()
    app.sidebar.number_input(key="form_momentum").set_value(1.0)
    click_start(app)
    assert "Momentum: 1 is too large: it must be below 1" in unescaped(app.sidebar.error[0].value)


def test_what_is_typed_reaches_sweep_without_a_start_and_is_still_there_back_on_train():
    app = open_page()
    app.sidebar.selectbox(key="preset").set_value("lr-0.4").run()
    app.sidebar.number_input(key="form_epochs").set_value(3).run()
    app.sidebar.number_input(key="form_momentum").set_value(0.5).run()
    app.sidebar.text_input(key="form_name").set_value("my try").run()
    app.switch_page("sweep_page.py").run()
    assert not app.exception, app.exception
    assert "The other settings come from the Train form: lr 0.4, epochs 3, momentum 0.5." in unescaped(texts(app))
    app.switch_page("train_page.py").run()
    form = app.sidebar
    assert form.selectbox(key="preset").value == "lr-0.4", "the preset chosen, not the first one again"
    assert (form.number_input(key="form_lr").value, form.number_input(key="form_epochs").value,
            form.number_input(key="form_momentum").value) == (0.4, 3, 0.5)
    assert form.text_input(key="form_name").value == "my try"


def test_the_presets_words_go_once_the_form_is_changed():
    app = open_page()
    assert "batch 256, lr 0.1, 10 epochs: the checks pass." in [c.value for c in app.sidebar.caption]
    app.sidebar.number_input(key="form_lr").set_value(0.4).run()
    captions = [c.value for c in app.sidebar.caption]
    assert "batch 256, lr 0.1, 10 epochs: the checks pass." not in captions, captions
    assert "Your own settings: the preset's words no longer apply." in captions, captions
    app.sidebar.number_input(key="form_lr").set_value(0.1).run()
    assert "batch 256, lr 0.1, 10 epochs: the checks pass." in [c.value for c in app.sidebar.caption]


def test_sweep_says_when_the_train_forms_values_cant_start():
    app = open_page()
    app.sidebar.number_input(key="form_epochs").set_value(1000).run()
    app.switch_page("sweep_page.py").run()
    warnings = [unescaped(warning.value) for warning in app.warning]
    assert any("The Train form holds values that can't start, so the book's are used: Epochs: 1000 is above "
               "the largest allowed, 500." in warning for warning in warnings), warnings


def test_train_opened_again_shows_the_runs_still_going_and_not_those_that_ended():
    from dashboard.services import get_store

    store = get_store()
    ended = store.create_run(TrainConfig(epochs=1), "ended")
    store.end_run(ended, RunStatus.CANCELLED)
    going = store.create_run(TrainConfig(epochs=1), "still queued")  # recorded, given to no worker
    with kept_going(store, [going]):
        app = open_page()  # a new session: a new tab, or / typed again
    shown = unescaped(texts(app))
    assert "No run in this view yet" not in shown
    assert f"#{going} still queued" in shown and f"#{ended} ended" not in shown
    assert app.query_params["runs"] == str(going), "a reload shows it again"


def test_the_chart_comes_before_the_run_cards():
    from dashboard.services import get_store

    ids = [get_store().create_run(TrainConfig(epochs=1), f"run {n}") for n in range(4)]
    with kept_going(get_store(), ids):
        app = open_page(query={"runs": ",".join(map(str, ids))})
    leaves = in_order(app.main)
    chart = next(i for i, leaf in enumerate(leaves) if getattr(leaf, "type", "") == "plotly_chart")
    first_card = next(i for i, leaf in enumerate(leaves)
                      if f"#{ids[0]} run 0" in unescaped(str(getattr(leaf, "value", ""))))
    assert chart < first_card, "the live chart above the cards, not after every one of them"
