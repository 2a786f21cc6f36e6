"""The page's logic through streamlit.testing.v1.AppTest: submit a run, see its status and curves, compare
runs, inspect one, bad input shown as an error, and no exception anywhere."""

from __future__ import annotations

import json
import os
import re
import socket
import time

import pytest
import streamlit as st
from conftest import REPO_ROOT
from streamlit.testing.v1 import AppTest

from softmax_core.config import TrainConfig
from softmax_core.runs.store import EVERYTHING

APP = str(REPO_ROOT / "dashboard" / "main.py")  # the pages, as app.py serves them
TIMEOUT = 60


@pytest.fixture(autouse=True)
def fresh_store(tmp_path, real_data_dir, monkeypatch):
    """Each test its own database: the server's services (store, runner, curve cache) start anew around it."""
    from dashboard.services import stop_services

    monkeypatch.setenv("SOFTMAX_LAB_DB", f"sqlite:///{tmp_path}/runs.db")
    monkeypatch.setenv("SOFTMAX_LAB_DATA", str(real_data_dir))
    stop_services()
    st.cache_data.clear()
    yield
    stop_services(timeout=15, cancel_running=True)


def open_page(page: str | None = None, query: dict | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    if page:
        app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def start_run(app: AppTest, **fields) -> AppTest:
    for field, value in fields.items():
        widget = app.sidebar.text_input(key="form_name") if field == "name" else \
            app.sidebar.number_input(key=f"form_{field}")
        widget.set_value(value)
    app.sidebar.button(key="train_start").click().run()
    assert not app.exception, app.exception
    return app


def wait_for_runs_to_end(timeout: float = TIMEOUT) -> None:
    from dashboard.services import get_runner

    deadline = time.monotonic() + timeout
    while get_runner().active_count() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not get_runner().active_count()


def count_elements(app: AppTest, type_name: str) -> int:
    def walk(node) -> int:
        own = type(node).__name__ == type_name
        return own + sum(walk(child) for child in getattr(node, "children", {}).values())
    return walk(app._tree)


def image_alts(app: AppTest) -> list[str]:
    """The alt text of every image on the page ('' where an image has none)."""
    def walk(node) -> list[str]:
        own = [image.alt for image in node.proto.imgs] if type(node).__name__ == "Image" else []
        return own + [alt for child in getattr(node, "children", {}).values() for alt in walk(child)]
    return walk(app._tree)


def open_tab(app: AppTest, label: str) -> AppTest:
    """Click a Lessons tab (only the tab in view runs)."""
    app.session_state["lesson_tab"] = label
    app.run()
    assert not app.exception, app.exception
    return app


def unescaped(text: str) -> str:
    """Markdown as a reader sees it: the escaping backslashes and the invisible word joiners removed."""
    return re.sub(r"\\([^\w\s])", r"\1", text).replace("\u2060", "")


def texts(app: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "success", "warning", "error", "info", "caption")
             for e in getattr(app, kind)]
    parts += [e.value for kind in ("error", "markdown", "caption") for e in getattr(app.sidebar, kind)]
    return "\n".join(str(part) for part in parts)


def test_first_view_invites_a_start_with_the_books_defaults():
    app = open_page()
    assert "press **Start**" in texts(app)
    assert app.sidebar.number_input(key="form_batch_size").value == 256
    assert app.sidebar.number_input(key="form_lr").value == 0.1
    assert app.sidebar.number_input(key="form_epochs").value == 10


def test_preset_fills_the_form():
    app = open_page()
    app.sidebar.selectbox(key="preset").set_value("batch-1024").run()
    assert app.sidebar.number_input(key="form_batch_size").value == 1024
    assert "fewer updates per epoch" in texts(app)


def test_start_shows_the_run_its_curves_and_the_verdict():
    app = start_run(open_page(), epochs=2, name="two epochs")
    run_id = int(app.query_params["runs"].split(",")[0])
    wait_for_runs_to_end()
    app.run()
    shown = texts(app)
    assert f"#{run_id} two epochs" in shown
    assert "finished" in shown
    from dashboard.services import get_store

    final_loss = get_store().get_run(run_id, scope=EVERYTHING).final_train_loss
    assert final_loss > 0.5 and f"train loss {final_loss:.3f} is not below 0.5" in shown
    charts = app.get("plotly_chart")
    assert len(charts) == 2, "loss and accuracy, two panels (a phone stacks them)"
    assert "train loss" in charts[0].proto.spec and "test acc" in charts[1].proto.spec


def test_the_form_says_each_fields_range_and_leaves_the_check_to_the_config():
    app = open_page()
    learning_rate, momentum = app.sidebar.number_input(key="form_lr"), app.sidebar.number_input(key="form_momentum")
    assert "Allowed: (0, 10]." in learning_rate.proto.help and "Allowed: [0, 1)." in momentum.proto.help
    # no bound in the browser, which would only turn a field red: the page hears every number and names
    # what the config refuses beside Start (tests/test_app_train.py)
    assert learning_rate.min is None and app.sidebar.number_input(key="form_batch_size").max is None


def test_bad_input_is_an_error_naming_the_field_and_nothing_starts():
    from dashboard.services import get_store

    before = len(get_store().list_runs(scope=EVERYTHING))
    app = open_page()
    app.sidebar.selectbox(key="form_implementation").set_value("scratch")
    app.sidebar.selectbox(key="form_optimizer").set_value("adam")
    app.sidebar.button(key="train_start").click().run()
    assert "Optimizer: the scratch implementation has only hand-written sgd, got 'adam'" in unescaped(texts(app))
    assert len(get_store().list_runs(scope=EVERYTHING)) == before


def test_run_names_are_shown_as_text_not_markup():
    app = start_run(open_page(), epochs=1, name="<b>bold</b> [link](http://x) *star*")
    wait_for_runs_to_end()
    app.run()
    shown = texts(app)
    assert "<b>bold</b> [link](http://x) *star*" in unescaped(shown), "the name, character for character"
    assert "[link](" not in shown and "*star*" not in shown and "http://" not in shown, "no Markdown is left live"


def test_compare_overlays_selected_runs_and_tabulates_what_differs():
    from dashboard.services import get_runner

    runner = get_runner()
    ids = [runner.submit(TrainConfig(epochs=1), "book, 1 epoch"),
           runner.submit(TrainConfig(epochs=1, batch_size=1024), "batch 1024, 1 epoch")]
    wait_for_runs_to_end()
    app = open_page("compare_page.py", {"runs": ",".join(map(str, ids))})
    assert app.multiselect(key="compare_ids").value == ids
    table = app.dataframe[1].value  # [0] is the table of all runs
    assert list(table["batch_size"]) == [256, 1024]
    assert list(table["run"]) == [f"#{ids[0]} batch 256", f"#{ids[1]} batch 1024"]
    assert "lr" not in table.columns
    spec = app.get("plotly_chart")[0].proto.spec
    assert f"#{ids[1]} batch 1024: train loss" in spec
    app.multiselect(key="compare_ids").set_value([ids[1]]).run()
    assert app.query_params["runs"] == str(ids[1])
    all_runs = app.dataframe[0].value
    assert set(ids) <= set(all_runs["id"])
    worker_pid = get_runner().store.get_run(ids[1], scope=EVERYTHING).pid
    trained_on = all_runs.set_index("id")["trained on"]
    assert trained_on[ids[1]] == f"cpu on {socket.gethostname()}, process {worker_pid}" and worker_pid != os.getpid()
    app.text_input(key="compare_filter").set_value("batch 1024").run()
    assert set(app.dataframe[0].value["id"]) == {ids[1]}


def most_confident_mistake_caption(run_id: int, epoch: int) -> str:
    """Worked out here from the stored weights, without the page's code: how the first caption begins."""
    import torch

    from dashboard.services import get_store
    from softmax_core.book.data import CLASS_NAMES, load_fashion_mnist

    record, data = get_store().read_epoch(run_id, epoch, scope=EVERYTHING), load_fashion_mnist(download=False)
    probabilities = torch.softmax(data.test_images @ record.weights.T + record.bias, dim=1)
    confidence, predicted = probabilities.max(1)
    confidence[predicted == data.test_labels] = -1.0  # only the wrong ones
    worst = int(confidence.argmax())
    return (f"true **{CLASS_NAMES[int(data.test_labels[worst])]}**, predicted "
            f"**{CLASS_NAMES[int(predicted[worst])]}**  \n{CLASS_NAMES[int(predicted[worst])]} "
            f"{float(confidence[worst]):.0%}")


def test_inspect_replays_templates_confusion_and_mistakes():
    from dashboard.services import get_runner

    run_id = get_runner().submit(TrainConfig(epochs=2), "inspect me")
    wait_for_runs_to_end()
    app = open_page("inspect_page.py", {"run": str(run_id)})
    assert app.selectbox(key="inspect_run").value == run_id
    assert f"Trained on cpu on {socket.gethostname()}, process" in unescaped(texts(app))
    assert len(app.get("plotly_chart")) == 3
    assert count_elements(app, "Image") == 12
    alts = image_alts(app)  # what a screen reader says of each image: the truth, the guess, the confidence
    assert len(alts) == 12 and all(alt.startswith("A test image of ") for alt in alts), alts
    true, predicted, confidence = re.match(r"true \*\*(.+)\*\*, predicted \*\*(.+)\*\*  \n\S+ (\d+%)",
                                           most_confident_mistake_caption(run_id, epoch=2)).groups()
    assert alts[0].endswith(f" {true}, predicted {predicted} with {confidence} confidence"), alts[0]
    captions = [c.value for c in app.caption if c.value.startswith("true **")]
    assert len(captions) == 12 and captions[0].startswith(most_confident_mistake_caption(run_id, epoch=2))
    app.slider(key=f"inspect_epoch_{run_id}").set_value(1).run()
    assert not app.exception
    assert "after epoch 1" in "\n".join(h.value for h in app.header)
    assert any("nn.Linear(784, 10)" in block.value for block in app.code)
    downloads = [button.proto.label for button in app.get("download_button")]
    assert "Notebook (.ipynb)" in downloads, downloads


def test_missing_data_is_explained_offered_and_a_failed_download_shown(tmp_path, monkeypatch):
    import dashboard.data_check
    from dashboard.services import get_store
    from softmax_core.book import data

    monkeypatch.setenv("SOFTMAX_LAB_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(dashboard.data_check, "ensure_files",
                        lambda folder, progress: data.ensure_files(folder, progress=progress,
                                                                   mirrors=["http://127.0.0.1:9/"]))
    before = len(get_store().list_runs(scope=EVERYTHING))
    app = open_page()
    shown = texts(app)
    assert "Fashion-MNIST is not here yet" in shown and "t10k-labels-idx1-ubyte.gz" in shown
    assert str(tmp_path / "empty") in shown
    app.button(key="download_data").click().run()
    assert not app.exception
    assert "could not download train-images-idx3-ubyte.gz" in texts(app) and "Offline?" in texts(app)
    start_run(app, epochs=1)
    assert len(get_store().list_runs(scope=EVERYTHING)) == before, "no run starts without the data"
    assert "Can't start yet: Fashion-MNIST is missing" in texts(app)


def test_lessons_exercise_one_shows_three_verdicts_and_computed_reasons():
    app = open_page("lessons_page.py")
    app.button(key="ex1_start").click().run()
    assert not app.exception
    wait_for_runs_to_end()
    app.run()
    shown = unescaped(texts(app))
    verdict_lines = [line for line in shown.splitlines() if line.startswith("- **#")]
    assert len(verdict_lines) == 3
    assert sum("passes the book's checks" in line for line in verdict_lines) == 1
    assert sum("fails the book's check: train loss" in line for line in verdict_lines) == 2
    assert "59 updates instead of 235" in shown
    assert "from one mini-batch to the next" in shown
    assert "halve the learning rate to 0.2" in shown
    spec = app.get("plotly_chart")[0].proto.spec
    assert "batch 1024, lr 0.1: train loss" in spec and "batch 256, lr 0.4: train loss" in spec


def test_lessons_stability_panel_and_change_one_thing():
    from dashboard.services import get_runner

    base = get_runner().submit(TrainConfig(epochs=1), "A/B base")
    wait_for_runs_to_end()
    app = open_page("lessons_page.py")
    open_tab(app, "Numerical stability")
    app.selectbox(key="stab_logits").set_value("large: 100, 0, -5").run()
    assert "NaN (inf/inf)" in unescaped(texts(app))
    assert not app.get("selectbox") or all(box.key != "ab_base" for box in app.selectbox), "only the open tab runs"
    open_tab(app, "Change one thing")
    app.selectbox(key="ab_base").set_value(base).run()
    app.selectbox(key="ab_field").set_value("lr").run()
    app.number_input(key="ab_value_lr").set_value(0.4).run()
    app.button(key="ab_start").click().run()
    assert not app.exception
    wait_for_runs_to_end()
    app.run()
    assert "lr 0.1 -> lr 0.4" in unescaped(texts(app))
    from dashboard.services import get_store

    clone = get_store().list_runs(scope=EVERYTHING)[0]
    assert clone.config == TrainConfig(epochs=1, lr=0.4) and clone.config.seed == TrainConfig().seed


def test_compare_draws_a_band_for_runs_that_differ_only_by_seed():
    from dashboard.services import get_runner

    runner = get_runner()
    ids = [runner.submit(TrainConfig(epochs=2, seed=seed), f"seed {seed}") for seed in (0, 1, 2)]
    wait_for_runs_to_end()
    app = open_page("compare_page.py", {"runs": ",".join(map(str, ids))})
    charts = app.get("plotly_chart")
    assert len(charts) == 3  # the loss and accuracy panels, then the band
    band = json.loads(charts[2].proto.spec)
    assert band["layout"]["title"]["text"] == "seed 0 and 2 more seeds: mean ± std"
    assert [trace.get("name") for trace in band["data"]][1::2] == ["train accuracy", "test accuracy"]


def test_lessons_own_variant_joins_exercise_one_within_the_configs_bounds():
    app = open_page("lessons_page.py")
    app.button(key="ex1_start").click().run()
    assert app.number_input(key="ex1_lr").proto.min == 0.0001, "the variant's lr is bounded as the form's is"
    app.number_input(key="ex1_lr").set_value(0.2).run()
    app.button(key="ex1_add").click().run()
    wait_for_runs_to_end()
    app.run()
    assert not app.exception
    spec = app.get("plotly_chart")[0].proto.spec
    assert "batch 512, lr 0.2: train loss" in spec
    verdict_lines = [line for line in unescaped(texts(app)).splitlines() if line.startswith("- **#")]
    assert len(verdict_lines) == 4 and "my variant (batch 512, lr 0.2)" in verdict_lines[-1]


def test_the_form_and_the_selection_survive_a_visit_to_another_page():
    from dashboard.services import get_store

    app = start_run(start_run(open_page(), batch_size=256, epochs=1), batch_size=512, epochs=1)
    wait_for_runs_to_end()
    app.switch_page("compare_page.py").run()
    oldest, newest = get_store().list_runs(scope=EVERYTHING)[-1].id, get_store().list_runs(scope=EVERYTHING)[0].id
    assert app.multiselect(key="compare_ids").value == [newest, oldest], "Compare opens the Train view's runs"
    app.multiselect(key="compare_ids").set_value([oldest]).run()  # a choice the page would not make itself
    app.switch_page("train_page.py").run()
    assert app.sidebar.number_input(key="form_batch_size").value == 512
    assert app.sidebar.number_input(key="form_lr").value == 0.1
    app.switch_page("compare_page.py").run()
    assert not app.exception
    assert app.multiselect(key="compare_ids").value == [oldest]
