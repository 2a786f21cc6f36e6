"""A student's lesson, end to end, with the class's DEFAULT limits (nothing set but the code): every lesson
on the Lessons page and the Sweep page's default grid start without a refusal; a request over the limits
is refused before the click, saying what would fit; and the Train page shows the class's challenge beside
Start, says when the form's run won't count for it, and sets the form up for it in one click.

Runs started here are cancelled at once (each lesson's budget is then free for the next): what is tested
is that the class lets them start, not what they learn."""

from __future__ import annotations

import re
import time

import pytest
from streamlit.testing.v1 import AppTest
from test_app_classroom import APP, CODE, JAR, student_token

from dashboard.auth_routes import DEVICE_COOKIE
from softmax_core.analysis import lessons
from softmax_core.classroom.auth import hash_password
from softmax_core.classroom.board import CHALLENGES, DEFAULT_CHALLENGE
from softmax_core.config import TrainConfig
from softmax_core.runs.store import EVERYTHING
from tests.heartbeats import kept_going


@pytest.fixture(autouse=True)
def class_with_default_limits(tmp_path, real_data_dir, monkeypatch):
    """A class with a code and every limit at its default, over a fresh database."""
    from dashboard.services import stop_services

    monkeypatch.setenv("SOFTMAX_LAB_DB", f"sqlite:///{tmp_path}/runs.db")
    monkeypatch.setenv("SOFTMAX_LAB_DATA", str(real_data_dir))
    monkeypatch.setenv("SOFTMAX_LAB_CLASS_CODE", CODE)
    monkeypatch.setenv("SOFTMAX_LAB_TEACHER_PASSWORD", hash_password("teach"))
    for name in ("MAX_ACTIVE_RUNS", "MAX_RUN_COST", "MAX_ACTIVE_COST", "MAX_SWEEP_RUNS"):
        monkeypatch.delenv(f"SOFTMAX_LAB_{name}", raising=False)
    stop_services()
    yield
    stop_services(timeout=15, cancel_running=True)


@pytest.fixture(autouse=True)
def browsers(monkeypatch):
    import streamlit as st

    monkeypatch.setattr("dashboard.browser_cookie.request_cookies", lambda: dict(st.session_state.get(JAR) or {}))


def student_app(name: str = "Ada", page: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state[JAR] = {DEVICE_COOKIE: student_token(name)}
    app.run()
    if page:
        app.switch_page(page).run()
    assert not app.exception, app.exception
    return app


def open_tab(app: AppTest, label: str) -> AppTest:
    app.session_state["lesson_tab"] = label
    app.run()
    assert not app.exception, app.exception
    return app


def shown(app: AppTest) -> str:
    """Every message and caption on the page, as a person reads it (escaped Markdown undone)."""
    parts = [e.value for kind in ("error", "warning", "info", "caption", "markdown") for e in app.get(kind)]
    return re.sub(r"\\(.)", r"\1", "\n".join(str(p) for p in parts))


def refusals(app: AppTest) -> list[str]:
    return [m.value for m in [*app.error, *app.warning] if "Too large" in m.value or "Can't" in m.value]


def runs_now() -> list:
    from dashboard.services import get_store

    return get_store().list_runs(scope=EVERYTHING)


def click_and_end(app: AppTest, key: str, expect: int) -> None:
    """Click a start button; ``expect`` new runs start (all or none), and are cancelled to free the budget."""
    from dashboard.services import get_runner, get_store

    before = {run.id for run in runs_now()}
    button = app.button(key=key)
    assert not button.disabled and not refusals(app), f"{key}: {refusals(app)}"
    button.click().run()
    assert not app.exception, app.exception
    assert not [e.value for e in app.error if "Can't" in e.value], [e.value for e in app.error]
    new = [run for run in runs_now() if run.id not in before]
    assert len(new) == expect
    for run in new:
        get_store().request_cancel(run.id)
    deadline = time.monotonic() + 60
    while get_runner().active_count() and time.monotonic() < deadline:
        time.sleep(0.1)


def test_with_the_default_limits_a_student_runs_every_lesson_and_the_default_sweep():
    app = student_app(page="lessons_page.py")
    click_and_end(app, "ex1_start", 3)
    open_tab(app, "Exercise 2: overfitting or noise?")
    assert app.number_input(key="ex2_seeds").value == 5 and app.number_input(key="ex2_epochs").value == 40
    click_and_end(app, "ex2_start", 5)
    open_tab(app, "Numerical stability")
    click_and_end(app, "stab_start", 2)
    app.switch_page("sweep_page.py").run()
    assert not app.exception and not refusals(app), refusals(app)
    click_and_end(app, "sweep_start", 9)


def test_exercise_twos_remedy_and_exercise_ones_fixes_fit_the_default_limits():
    """Buttons shown only once runs have ended (nothing of the student's is active then): the policy's
    estimate of their own configs, as the page asks it beside them."""
    from dashboard.services import get_policy, get_store
    from softmax_core.classroom.names import canonical_name
    from softmax_core.classroom.policy import Identity

    student_app("Ada")
    who = Identity(get_store().classroom.student_named(canonical_name("Ada")).id, "Ada")
    seeds = lessons.seed_group_configs(TrainConfig(epochs=40), 5)
    assert get_policy().estimate(who, [config.replace(weight_decay=0.001) for config in seeds]).fits
    fixes = [lessons.suggest_fix(config)[0] for config in lessons.exercise1_configs().values()]
    assert get_policy().estimate(who, fixes).fits


def test_a_request_over_the_limits_is_refused_before_the_click_with_what_would_fit():
    app = student_app(page="sweep_page.py")
    app.text_input(key="sweep_values_batch_size").set_value("32, 64, 128").run()
    app.text_input(key="sweep_values_lr").set_value("0.01, 0.03, 0.1").run()
    assert [e.value for e in app.error] == [
        "Too large to start: at most 6 runs fit: try 2 batch sizes × 3 learning rates (batch 64, 128; "
        "lr 0.01, 0.03, 0.1), or ask your teacher."]
    assert not [b for b in app.button if b.key == "sweep_start"], "no Start for a sweep that would be refused"
    app.switch_page("lessons_page.py").run()
    open_tab(app, "Exercise 2: overfitting or noise?")
    app.number_input(key="ex2_seeds").set_value(10).run()
    assert app.button(key="ex2_start").disabled
    assert refusals(app)[0].startswith("Too large to start: these runs cost 78,400 book steps")
    assert "5 of these 10 runs or all 10 runs at up to 20 epochs would fit" in refusals(app)[0]


def test_the_train_page_shows_the_challenge_says_when_a_run_wont_count_and_sets_the_form_up_for_it():
    challenge = CHALLENGES[DEFAULT_CHALLENGE]
    app = student_app()
    assert f"The class's challenge:** {challenge.title}" in "\n".join(i.value for i in app.sidebar.info)
    assert app.sidebar.number_input(key="form_epochs").value == 10
    assert [w.value for w in app.sidebar.warning] == [
        "10 epochs: this run won't count for the challenge, which allows at most 5."]
    app.sidebar.button(key="train_start").click().run()
    [run] = runs_now()
    assert "Share: 10 epochs: this run won't count for the challenge, which allows at most 5." in shown(app)
    app.sidebar.button(key="challenge_set_up").click().run()
    assert not app.exception, app.exception
    assert app.sidebar.number_input(key="form_epochs").value == 5
    assert not app.sidebar.warning and "These settings can count for the challenge." in shown(app)
    app.sidebar.button(key="train_start").click().run()
    newest = runs_now()[0]
    assert newest.id != run.id and newest.config.epochs == 5 and challenge.why_not(newest.config) == ""


def test_a_students_train_page_opened_again_shows_their_runs_still_going_and_no_one_elses():
    from dashboard.services import get_store
    from softmax_core.classroom.names import canonical_name

    ada_token, _ = student_token("Ada"), student_token("Bob")
    ada, bob = (get_store().classroom.student_named(canonical_name(name)).id for name in ("Ada", "Bob"))
    config = TrainConfig(epochs=1, validation=True)
    hers = get_store().create_run(config, "hers", owner_id=ada)  # recorded, given to no worker: still queued
    his = get_store().create_run(config, "his", owner_id=bob)
    get_store().set_shared(his, True)
    app = AppTest.from_file(APP, default_timeout=60)  # a new tab of Ada's
    app.session_state[JAR] = {DEVICE_COOKIE: ada_token}
    with kept_going(get_store(), [hers, his]):
        app.run()
    assert not app.exception, app.exception
    assert f"#{hers} hers" in shown(app) and f"#{his} his" not in shown(app)
    assert "No run in this view yet" not in shown(app)


def test_a_lessons_run_is_shared_from_compare_where_the_student_finds_it():
    """Exercise 1's runs start on Lessons, so no Train page shows them to share: Compare, where a student
    finds their runs, has each one's Share (and, for a classmate's shared run, none); the cost beside the
    lesson's button reads "These runs cost" (it read "These runs costs")."""
    from dashboard.services import get_store

    app = student_app("Ada", page="lessons_page.py")
    assert re.search(r"These runs cost [\d,]+ book steps", shown(app)), [c.value for c in app.caption]
    app.button(key="ex1_start").click().run()
    assert not app.exception, app.exception
    book_run = min(run.id for run in runs_now())
    app.switch_page("compare_page.py")
    app.query_params["runs"] = str(book_run)
    app.run()
    [share] = [toggle for toggle in app.toggle if toggle.key == f"share_{book_run}"]
    share.set_value(True).run()
    assert not app.exception and get_store().get_run(book_run, scope=EVERYTHING).shared
    assert "Share: 10 epochs: this run won't count for the challenge, which allows at most 5." in shown(app)
    bob = student_app("Bob", page="compare_page.py")
    bob.query_params["runs"] = str(book_run)
    bob.run()
    assert any(f"#{book_run}" in m.value for m in bob.markdown), "Bob sees the shared run..."
    assert not [toggle for toggle in bob.toggle if toggle.key.startswith("share_")], "...and no Share of it"
    for run in runs_now():
        get_store().request_cancel(run.id)


def test_just_after_the_default_sweep_starts_the_page_says_wait_not_too_large():
    """The New sweep form stays open under the sweep just started, estimating the same grid again: it said
    "Too large to start: at most 6 runs fit" in red, as if the class had refused the grid it had just
    started. Now it says the grid fits once the student's runs end."""
    from dashboard.services import get_store

    app = student_app(page="sweep_page.py")
    app.button(key="sweep_start").click().run()
    assert not app.exception, app.exception
    assert len(runs_now()) == 9
    app.run()
    assert not refusals(app), refusals(app)
    assert any(i.value.startswith("A new sweep of this grid: your runs queued or training (with every name from "
                                  "your computer) hold 23,490 of your 40,000 book steps; these fit once they end")
               for i in app.info), [i.value for i in app.info]
    for run in runs_now():
        get_store().request_cancel(run.id)
