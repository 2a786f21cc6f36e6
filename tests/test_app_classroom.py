"""Classroom mode's page logic through AppTest: the join screen refuses a wrong code and a taken name and
never puts a token in the URL; an old token link is refused and removed; signing out goes through the
route; Start past the class's limit is refused with the numbers; the teacher's password tries are counted
for every session, and the console's one-time link still lets the teacher in; a misspelled [classroom]
table stops every page.

AppTest has no browser and no routes: each app's cookies are kept in its session state (where the page's
cookie reader is pointed), and when the page sends the browser to a route, ``follow`` does what the route
does, through the core."""

from __future__ import annotations

import re

import pytest
import streamlit as st
from conftest import REPO_ROOT
from streamlit.testing.v1 import AppTest

from dashboard.auth_routes import DEVICE_COOKIE, SIGN_OUT_PATH, TEACHER_COOKIE
from softmax_core.classroom.auth import SIGN_IN_PATH, hash_password, make_teacher_link
from softmax_core.classroom.names import canonical_name
from softmax_core.runs.store import EVERYTHING

APP = str(REPO_ROOT / "dashboard" / "main.py")
CODE, PASSWORD = "FM-101", "teach"


@pytest.fixture(autouse=True)
def class_server(tmp_path, real_data_dir, monkeypatch):
    """A class with a code and a limit of one active run per student, over a fresh database."""
    from dashboard.services import stop_services

    monkeypatch.setenv("SOFTMAX_LAB_DB", f"sqlite:///{tmp_path}/runs.db")
    monkeypatch.setenv("SOFTMAX_LAB_DATA", str(real_data_dir))
    monkeypatch.setenv("SOFTMAX_LAB_CLASS_CODE", CODE)
    monkeypatch.setenv("SOFTMAX_LAB_TEACHER_PASSWORD", hash_password(PASSWORD))
    monkeypatch.setenv("SOFTMAX_LAB_MAX_ACTIVE_RUNS", "1")
    stop_services()
    yield
    stop_services(timeout=15, cancel_running=True)


JAR, SENT = "test_cookies", "test_sent_to_route"  # an app's cookies, and the route the page sent it to


@pytest.fixture(autouse=True)
def browsers(monkeypatch):
    """The page reads its app's cookies, and a hand-off to a route is recorded for ``follow``."""
    monkeypatch.setattr("dashboard.browser_cookie.request_cookies", lambda: dict(st.session_state.get(JAR) or {}))
    monkeypatch.setattr("dashboard.classroom_gate.send_browser_to",
                        lambda path, fields: st.session_state.__setitem__(SENT, (path, dict(fields))))


def follow(app: AppTest) -> AppTest:
    """What the browser and the route do with the page's hand-off: spend the pass (or sign out) through
    the core, keep the cookie, and load the page again."""
    from dashboard.services import services

    door, jar = services().door, dict(app.session_state.get(JAR) or {})
    path, fields = app.session_state[SENT]
    del app.session_state[SENT]
    door.sign_out_device(jar.get(DEVICE_COOKIE, ""))
    door.end_teacher_session(jar.get(TEACHER_COOKIE, ""))
    jar = {}
    if path == SIGN_IN_PATH:
        signed_in = door.sign_in(fields["pass"])
        jar = {TEACHER_COOKIE if signed_in.is_teacher else DEVICE_COOKIE: signed_in.token}
    assert path in (SIGN_IN_PATH, SIGN_OUT_PATH) and "next" not in fields, "the page's script adds next"
    app.session_state[JAR] = jar
    app.run()
    assert not app.exception, app.exception
    return app


def store():
    from dashboard.services import get_store

    return get_store()


def open_app(query: dict | None = None, secrets: dict | None = None, cookies: dict | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state[JAR] = cookies or {}
    for key, value in (secrets or {}).items():
        app.secrets[key] = value
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, app.exception
    return app


def join(app: AppTest, code: str, name: str) -> AppTest:
    app.text_input(key="join_code").set_value(code)
    app.text_input(key="join_name").set_value(name)
    app.button(key="FormSubmitter:join_form-Join").click().run()
    assert not app.exception, app.exception
    return app


def errors(app: AppTest) -> list[str]:
    """The page's error messages as a person reads them (user text in them is escaped Markdown)."""
    return [re.sub(r"\\(.)", r"\1", e.value).replace("\u2060", "") for e in app.error]


def signed_in_as(app: AppTest) -> str:
    captions = [c.value for c in app.sidebar.caption if c.value.startswith("Signed in as")]
    return captions[0] if captions else ""


def student_token(name: str) -> str:
    """A new student's device token, as the sign-in route would keep it in a browser's cookie."""
    from dashboard.services import services

    door = services().door
    return door.sign_in(door.student_pass(store().classroom.add_student(name, name_key=canonical_name(name)))).token


def signed_in_app(token: str) -> AppTest:
    return open_app(cookies={DEVICE_COOKIE: token})


def test_the_join_screen_refuses_a_wrong_code_and_a_taken_name_and_keeps_the_token_out_of_the_url():
    app = open_app()
    assert [t.value for t in app.title] == ["Join the class"] and not app.sidebar.button
    join(app, "FM-999", "Ada")
    assert errors(app) == ["That is not this class's code: ask your teacher for it."]
    join(app, "fm-101", "Ada")
    assert app.session_state[SENT][0] == SIGN_IN_PATH and not app.title, "the page hands the browser to the route"
    follow(app)
    assert [t.value for t in app.title] == ["Softmax regression on Fashion-MNIST"] and "Ada" in signed_in_as(app)
    assert not app.query_params, "a copied or projected address bar carries nobody's identity"
    assert app.sidebar.checkbox(key="form_validation").value, "classroom runs hold out a validation split"
    other = join(open_app(), CODE, "ada")
    assert errors(other) == ["The name ada is taken in this class, or looks just like one that is: choose another."]


def test_an_old_token_link_is_refused_and_signing_out_goes_through_the_route():
    ada = student_token("Ada")
    old = open_app({"student": ada})  # the link of the release before one-time links: the token itself
    assert errors(old)[0].startswith("This kind of sign-in link no longer works") and "student" not in old.query_params
    assert [t.value for t in old.title] == ["Join the class"], "a token in a URL signs nobody in"
    app = signed_in_app(ada)
    assert "Ada" in signed_in_as(app)
    app.sidebar.button(key="sign_out").click().run()
    assert app.session_state[SENT] == (SIGN_OUT_PATH, {})
    follow(app)
    assert [t.value for t in app.title] == ["Join the class"]
    assert [t.value for t in signed_in_app(ada).title] == ["Join the class"], "this browser's token died"


def test_a_cookie_written_by_an_earlier_releases_page_is_traded_once_for_the_routes():
    old = student_token("Ada")  # kept where page scripts could read it (the cookie was written by one)
    app = open_app(cookies={"softmax_lab_student": old})
    assert app.session_state[SENT][0] == SIGN_IN_PATH, "the browser goes to the route for an HttpOnly cookie"
    follow(app)
    assert "Ada" in signed_in_as(app) and app.session_state[JAR][DEVICE_COOKIE] != old
    again = open_app(cookies={"softmax_lab_student": old})
    assert [t.value for t in again.title] == ["Join the class"] and SENT not in again.session_state, \
        "the readable token died in the trade"


def test_start_past_the_limit_is_refused_with_the_numbers():
    app = signed_in_app(student_token("Bob"))
    assert "costs 1,960 book steps" in app.sidebar.caption[-1].value, "the cost shows beside Start"
    app.sidebar.number_input(key="form_epochs").set_value(300)
    app.sidebar.button(key="train_start").click().run()
    assert [e.value for e in app.sidebar.error] == [
        "Can't start: this run costs 58,800 book steps (300 epochs at batch 256); the largest run this class "
        "allows is 10,000 book steps (`max_run_cost`): at batch 256, up to 51 epochs fit"]
    assert [w.value for w in app.sidebar.warning][0].startswith("Too large to start: this run costs 58,800")
    assert store().list_runs(scope=EVERYTHING) == []
    app.sidebar.number_input(key="form_epochs").set_value(40)
    app.sidebar.button(key="train_start").click().run()
    assert not errors(app) and len(store().list_runs(scope=EVERYTHING)) == 1
    app.sidebar.button(key="train_start").click().run()
    assert [e.value for e in app.sidebar.error] == [
        "Can't start: you have 1 runs queued or training; this class allows 1 at once: wait for one to end, "
        "or cancel one"]
    assert len(store().list_runs(scope=EVERYTHING)) == 1
    assert store().list_runs(scope=EVERYTHING)[0].owner_id == store().classroom.student_named(canonical_name("Bob")).id


def log_in(app: AppTest, password: str) -> AppTest:
    app.text_input(key="teacher_password").set_value(password)
    app.button(key="FormSubmitter:teacher_form-Log in").click().run()
    return app


def test_password_tries_count_for_every_session_and_the_console_link_still_lets_the_teacher_in():
    app = open_app()
    for attempt in range(5):
        assert errors(log_in(app, f"guess {attempt}")) == ["Wrong password."]
    assert errors(log_in(app, PASSWORD))[0].startswith("too many tries of the teacher password: try again in")
    fresh = log_in(open_app(), PASSWORD)  # another session gets no fresh guesses
    assert errors(fresh)[0].startswith("too many tries of the teacher password"), "even the right one waits"
    teacher = follow(open_app({"teacher_link": make_teacher_link(store().classroom)}))  # an older link's form
    assert "the teacher" in signed_in_as(teacher) and "teacher_link" not in teacher.query_params


def test_a_misspelled_classroom_table_stops_every_page_with_the_reason(monkeypatch):
    from dashboard.services import stop_services

    monkeypatch.delenv("SOFTMAX_LAB_CLASS_CODE")
    monkeypatch.delenv("SOFTMAX_LAB_TEACHER_PASSWORD")
    stop_services()
    app = open_app(secrets={"clasroom": {"code": CODE}})
    assert len(app.error) == 1 and "Classroom mode is misconfigured" in app.error[0].value
    assert "[clasroom]" in app.error[0].value and not app.title, "no page is served, open or otherwise"


def finished_run_of(name: str) -> tuple[str, int]:
    """A student and one finished 1-epoch run of theirs on the real data: (their token, the run's id)."""
    from dashboard.services import get_policy, get_runner
    from softmax_core.classroom.policy import Identity
    from softmax_core.config import TrainConfig
    from softmax_core.runs.store import RunRequest

    token = student_token(name)
    student = store().classroom.student_named(canonical_name(name))
    [run_id] = get_policy().start(Identity(student.id, name), [RunRequest(TrainConfig(epochs=1), "mine")])
    assert get_runner().wait(run_id, timeout=120)
    return token, run_id


def test_before_the_reveal_a_student_sees_validation_accuracy_where_test_accuracy_would_be():
    from dashboard.services import get_policy
    from softmax_core.classroom.policy import REVEALED, Identity

    token, run_id = finished_run_of("Ada")
    app = signed_in_app(token)
    app.switch_page("compare_page.py").run()
    columns = app.dataframe[0].value.columns.tolist()
    assert "val acc" in columns and "test acc" not in columns
    run = store().get_run(run_id, scope=EVERYTHING)
    assert app.dataframe[0].value["val acc"].tolist() == [f"{run.final_val_acc:.4f}"]
    app.switch_page("inspect_page.py").run()
    assert not app.exception and any(s.value == "Validation confusion matrix" for s in app.header)
    get_policy().set_class_state(Identity.teacher(), REVEALED, True)
    app.switch_page("compare_page.py").run()
    assert "test acc" in app.dataframe[0].value.columns.tolist(), "after the reveal, the test set"


def teachers_board() -> AppTest:
    teacher = follow(open_app({"teacher_link": make_teacher_link(store().classroom)}))
    teacher.switch_page("board_page.py").run()
    assert not teacher.exception, teacher.exception
    return teacher


def test_the_teacher_removes_a_student_from_the_board():
    token, run_id = finished_run_of("Mallory")
    teacher = teachers_board()
    mallory = store().classroom.student_named(canonical_name("Mallory"))
    teacher.multiselect(key="board_remove_pick").select(mallory.id).run()
    teacher.button(key="board_remove").click().run()
    assert not teacher.exception and store().classroom.list_students() == []
    gone = signed_in_app(token)
    assert [t.value for t in gone.title] == ["Join the class"], "their link and cookie sign nobody in"


def test_the_teacher_turns_the_waiting_room_on_lets_a_join_in_and_removes_two_at_once():
    """With the waiting room on, a new join waits (its page says so, and it can't start a run) until the
    teacher lets them in from the board; the board removes two students with one button and sets the
    class size, which overrides the configured one."""
    ada, bob = student_token("Ada"), student_token("Bob")
    teacher = teachers_board()
    assert any(s.value == "Students (2)" for s in teacher.header)
    teacher.toggle(key="board_waiting_room").set_value(True).run()
    cy = follow(join(open_app(), CODE, "Cy"))
    assert any("You are waiting for your teacher to let you in." in i.value for i in cy.info)
    assert "train_start" not in [b.key for b in cy.sidebar.button], "no page but the wait"
    teacher.run()
    waiting = store().classroom.student_named(canonical_name("Cy"))
    assert waiting.waiting and any(s.value == "Students (2)" for s in teacher.header)
    teacher.multiselect(key="board_waiting_pick").select(waiting.id).run()
    teacher.button(key="board_admit").click().run()
    assert not store().classroom.student_named(canonical_name("Cy")).waiting
    cy.run()
    assert [t.value for t in cy.title] == ["Softmax regression on Fashion-MNIST"], "in, once let in"
    assert any(s.value == "Students (3)" for s in teacher.header)
    pick = teacher.multiselect(key="board_remove_pick")
    pick.select(store().classroom.student_named(canonical_name("Ada")).id).select(store().classroom.student_named(canonical_name("Bob")).id).run()
    teacher.button(key="board_remove").click().run()
    assert [student.name for student in store().classroom.list_students()] == ["Cy"]
    assert [t.value for t in open_app({"student": ada}).title] == ["Join the class"]
    assert [t.value for t in open_app({"student": bob}).title] == ["Join the class"]
    teacher.number_input(key="board_class_size").set_value(80).run()
    teacher.button(key="board_set_class_size").click().run()
    from dashboard.services import get_policy

    assert get_policy().class_size() == 80 and store().classroom.class_state()["class_size"] == 80


def chart_traces(app: AppTest) -> list[dict]:
    """Every Plotly trace the page drew (the figure's JSON, as the browser gets it)."""
    import json

    return [trace for chart in app.get("plotly_chart") for trace in json.loads(chart.proto.spec).get("data", [])]


def test_a_teachers_page_on_the_projector_shows_no_test_accuracy_before_the_reveal():
    """The teacher projects Compare (``?present=1``) before the reveal: the class sees no test accuracy in the
    text, the table's columns nor the chart's traces, though the teacher's own session would."""
    from dashboard.services import get_policy
    from softmax_core.classroom.policy import REVEALED, Identity

    _token, run_id = finished_run_of("Ada")
    run = store().get_run(run_id, scope=EVERYTHING)
    teacher = follow(open_app({"teacher_link": make_teacher_link(store().classroom)}))
    teacher.switch_page("compare_page.py")
    teacher.query_params["runs"] = str(run_id)
    teacher.run()
    assert "test acc" in teacher.dataframe[0].value.columns, "the teacher's own session sees the test set"
    teacher.query_params["present"] = "1"
    teacher.run()
    assert not teacher.exception, teacher.exception
    text = " ".join(str(element.value) for kind in ("markdown", "caption", "header", "subheader", "info")
                    for element in teacher.get(kind) if hasattr(element, "value"))
    assert "test acc" not in text.lower()
    for table in teacher.dataframe:
        assert not [c for c in table.value.columns if "test" in str(c)], table.value.columns
        assert f"{run.final_test_acc}" not in table.value.to_string()
    traces = chart_traces(teacher)
    assert traces and not [t for t in traces if "test" in (t.get("name", "") + t.get("hovertemplate", ""))]
    assert not [t for t in traces if run.final_test_acc in (t.get("y") or [])], "no test accuracy under any name"
    teacher.switch_page("inspect_page.py")
    teacher.query_params["present"] = "1"
    teacher.run()
    headers = [s.value for s in teacher.header]
    assert "Validation confusion matrix" in headers and "Test confusion matrix" not in headers, headers
    teacher.switch_page("compare_page.py")
    teacher.query_params["present"], teacher.query_params["runs"] = "1", str(run_id)
    get_policy().set_class_state(Identity.teacher(), REVEALED, True)
    teacher.run()
    assert "test acc" in teacher.dataframe[0].value.columns, "after the reveal, the class sees the test set"
