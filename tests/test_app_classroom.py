"""Classroom mode's page logic through AppTest: without a code nothing changes; the join screen refuses a
wrong code and a taken name and puts a new student's token in the URL; a token opens the student's own
view; Start past the class's limit is refused with the numbers; the teacher's login is limited."""

from __future__ import annotations

import pytest
import streamlit as st
from conftest import REPO_ROOT
from streamlit.testing.v1 import AppTest

from softmax_core.classroom.auth import hash_password, new_token, token_digest

APP = str(REPO_ROOT / "dashboard" / "main.py")
CODE, PASSWORD = "FM-101", "teach"


@pytest.fixture(autouse=True)
def class_server(tmp_path, real_data_dir, monkeypatch):
    """A class with a code and a limit of one active run per student, over a fresh database."""
    monkeypatch.setenv("SOFTMAX_LAB_DB", f"sqlite:///{tmp_path}/runs.db")
    monkeypatch.setenv("SOFTMAX_LAB_DATA", str(real_data_dir))
    monkeypatch.setenv("SOFTMAX_LAB_CLASS_CODE", CODE)
    monkeypatch.setenv("SOFTMAX_LAB_TEACHER_PASSWORD", hash_password(PASSWORD))
    monkeypatch.setenv("SOFTMAX_LAB_MAX_ACTIVE_RUNS", "1")
    st.cache_resource.clear()
    yield
    from dashboard.services import get_runner

    get_runner().shutdown(timeout=15)
    st.cache_resource.clear()


def open_app(query: dict | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
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
    return [e.value for e in app.error]


def test_the_join_screen_refuses_a_wrong_code_and_a_taken_name_and_keeps_the_token_in_the_url():
    app = open_app()
    assert [t.value for t in app.title] == ["Join the class"] and not app.sidebar.button
    join(app, "FM-999", "Ada")
    assert errors(app) == ["That is not this class's code: ask your teacher for it."]
    join(app, "fm-101", "Ada")
    token = app.query_params["student"]
    assert len(token) >= 43 and [t.value for t in app.title] == ["Softmax regression on Fashion-MNIST"]
    assert app.sidebar.checkbox(key="form_validation").value, "classroom runs hold out a validation split"
    other = join(open_app(), CODE, "ada")
    assert errors(other) == ["The name ada is taken in this class: choose another."]
    again = open_app({"student": token})
    assert any("Signed in as **Ada**" in c.value for c in again.sidebar.caption), "the token is the identity"


def test_start_past_the_limit_is_refused_with_the_numbers():
    from dashboard.services import get_store

    token = new_token()
    get_store().add_student("Bob", token_digest(token))
    app = open_app({"student": token})
    app.sidebar.number_input(key="form_epochs").set_value(300)
    app.sidebar.button(key="FormSubmitter:train_form-Start").click().run()
    assert not errors(app) and len(get_store().list_runs()) == 1
    app.sidebar.button(key="FormSubmitter:train_form-Start").click().run()
    assert [e.value for e in app.sidebar.error] == [
        "Can't start: you have 1 runs queued or training; this class allows 1 at once: wait for one to end, "
        "or cancel one"]
    assert len(get_store().list_runs()) == 1
    assert get_store().list_runs()[0].owner_id == get_store().student_named("Bob").id


def test_the_teachers_password_is_checked_and_guessing_is_refused():
    app = open_app()
    for attempt in range(5):
        app.text_input(key="teacher_password").set_value(f"guess {attempt}")
        app.button(key="FormSubmitter:teacher_form-Log in").click().run()
        assert errors(app) == ["Wrong password."]
    app.text_input(key="teacher_password").set_value(PASSWORD)
    app.button(key="FormSubmitter:teacher_form-Log in").click().run()
    assert errors(app) == ["too many wrong passwords: try again in 2 s"], "even the right one waits"
    fresh = open_app()  # another session gets no fresh guesses
    fresh.text_input(key="teacher_password").set_value(PASSWORD)
    fresh.button(key="FormSubmitter:teacher_form-Log in").click().run()
    assert errors(fresh) and errors(fresh)[0].startswith("too many wrong passwords")
