"""Classroom mode's page logic through AppTest: the join screen refuses a wrong code and a taken name and
never puts a token in the URL; a sign-in link is consumed and removed; a link for another student asks
before switching; Start past the class's limit is refused with the numbers; the teacher's password tries
are counted for every session, and the console's one-time link still lets the teacher in; a misspelled
[classroom] table stops every page."""

from __future__ import annotations

import re

import pytest
from conftest import REPO_ROOT
from streamlit.testing.v1 import AppTest

from softmax_core.classroom.auth import hash_password, make_teacher_link, new_token, token_digest

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


def store():
    from dashboard.services import get_store

    return get_store()


def open_app(query: dict | None = None, secrets: dict | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
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
    token = new_token()
    store().classroom.add_student(name, token_digest(token))
    return token


def test_the_join_screen_refuses_a_wrong_code_and_a_taken_name_and_keeps_the_token_out_of_the_url():
    app = open_app()
    assert [t.value for t in app.title] == ["Join the class"] and not app.sidebar.button
    join(app, "FM-999", "Ada")
    assert errors(app) == ["That is not this class's code: ask your teacher for it."]
    join(app, "fm-101", "Ada")
    assert [t.value for t in app.title] == ["Softmax regression on Fashion-MNIST"]
    assert "student" not in app.query_params, "a copied or projected address bar carries nobody's identity"
    assert app.sidebar.checkbox(key="form_validation").value, "classroom runs hold out a validation split"
    other = join(open_app(), CODE, "ada")
    assert errors(other) == ["The name ada is taken in this class: choose another."]


def test_a_sign_in_link_is_consumed_and_another_students_link_asks_before_switching():
    ada, bob = student_token("Ada"), student_token("Bob")
    app = open_app({"student": ada})
    assert "Ada" in signed_in_as(app) and "student" not in app.query_params, "the token leaves the address bar"
    app.query_params["student"] = bob  # a classmate's posted link, opened in Ada's browser
    app.run()
    assert "Ada" in signed_in_as(app), "nothing changes until she says so"
    assert any("This link signs in as **Bob**" in w.value for w in app.warning)
    app.button(key="switch_stay").click().run()
    assert "Ada" in signed_in_as(app) and not any("This link signs in" in w.value for w in app.warning)
    forged = open_app({"student": new_token()})
    assert [t.value for t in forged.title] == ["Join the class"]
    assert errors(forged) == ["This link's student token is not known in this class: join with the class code."]


def test_start_past_the_limit_is_refused_with_the_numbers():
    app = open_app({"student": student_token("Bob")})
    assert "costs 1,960 book steps" in app.sidebar.caption[-1].value, "the cost shows beside Start"
    app.sidebar.number_input(key="form_epochs").set_value(300)
    app.sidebar.button(key="FormSubmitter:train_form-Start").click().run()
    assert [e.value for e in app.sidebar.error] == [
        "Can't start: this run costs 58,800 book steps (300 epochs at batch 256); the largest run this class "
        "allows is 10,000 book steps (max_run_cost): at batch 256, up to 51 epochs fit"]
    assert [w.value for w in app.sidebar.warning][-1].startswith("Too large to start: this run costs 58,800")
    assert store().list_runs() == []
    app.sidebar.number_input(key="form_epochs").set_value(40)
    app.sidebar.button(key="FormSubmitter:train_form-Start").click().run()
    assert not errors(app) and len(store().list_runs()) == 1
    app.sidebar.button(key="FormSubmitter:train_form-Start").click().run()
    assert [e.value for e in app.sidebar.error] == [
        "Can't start: you have 1 runs queued or training; this class allows 1 at once: wait for one to end, "
        "or cancel one"]
    assert len(store().list_runs()) == 1
    assert store().list_runs()[0].owner_id == store().classroom.student_named("Bob").id


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
    teacher = open_app({"teacher_link": make_teacher_link(store().classroom)})
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
    student = store().classroom.student_named(name)
    [run_id] = get_policy().start(Identity(student.id, name), [RunRequest(TrainConfig(epochs=1), "mine")])
    assert get_runner().wait(run_id, timeout=120)
    return token, run_id


def test_before_the_reveal_a_student_sees_validation_accuracy_where_test_accuracy_would_be():
    from dashboard.services import get_policy
    from softmax_core.classroom.policy import REVEALED, Identity

    token, run_id = finished_run_of("Ada")
    app = open_app({"student": token})
    app.switch_page("compare_page.py").run()
    columns = app.dataframe[0].value.columns.tolist()
    assert "val acc" in columns and "test acc" not in columns
    run = store().get_run(run_id)
    assert app.dataframe[0].value["val acc"].tolist() == [run.final_val_acc]
    app.switch_page("inspect_page.py").run()
    assert not app.exception and any(s.value == "Validation confusion matrix" for s in app.subheader)
    get_policy().set_class_state(Identity.teacher(), REVEALED, True)
    app.switch_page("compare_page.py").run()
    assert "test acc" in app.dataframe[0].value.columns.tolist(), "after the reveal, the test set"


def test_the_teacher_removes_a_student_from_the_board():
    token, run_id = finished_run_of("Mallory")
    teacher = open_app({"teacher_link": make_teacher_link(store().classroom)})
    teacher.switch_page("board_page.py").run()
    mallory = store().classroom.student_named("Mallory")
    teacher.button(key=f"remove_student_{mallory.id}").click().run()
    assert not teacher.exception and store().classroom.list_students() == []
    gone = open_app({"student": token})
    assert [t.value for t in gone.title] == ["Join the class"], "their link and cookie sign nobody in"
