"""Classroom mode in Chromium: a teacher and two students, each in a separate browser context, on a real
server with a class code. Each student sees only their own runs on Train; a student can't cancel (or
even see) a classmate's run, neither from the page nor with a forged run id or token; names are shown as
text; the board ranks both students by validation accuracy, and reveal shows test accuracy; presenting
mode draws the board without the sidebar."""

from __future__ import annotations

import re
import time

import pytest
from polling import wait_for

from softmax_core.classroom.auth import hash_password
from softmax_core.runs.store import EVERYTHING, RunStore

from .conftest import Server, body_text, save_screenshot

pytestmark = pytest.mark.e2e
CLASS_CODE, TEACHER_PASSWORD = "FM-101", "teach me softmax"


@pytest.fixture
def class_server(tmp_path_factory, real_data_dir):
    """A fresh class for each test: its own database, so that one test's joins never count against the
    next test's (three new names per address, then a wait)."""
    folder = tmp_path_factory.mktemp("e2e-class")
    env = {"SOFTMAX_LAB_CLASS_CODE": CLASS_CODE, "SOFTMAX_LAB_TEACHER_PASSWORD": hash_password(TEACHER_PASSWORD),
           # a 300-epoch run to watch while it trains (58,800 book steps): past the default largest run
           "SOFTMAX_LAB_MAX_RUN_COST": "100000", "SOFTMAX_LAB_MAX_ACTIVE_COST": "200000"}
    server = Server(f"sqlite:///{folder}/runs.db", real_data_dir, folder / "streamlit.log", env=env).start()
    try:
        yield server
    finally:
        server.stop()


def join(page, url: str, name: str) -> None:
    """Join the class as ``name``: the server keeps the token in the browser's cookie, never in the address bar."""
    page.goto(url)
    page.get_by_text("Join the class").wait_for()
    page.get_by_role("textbox", name="Class code").fill(CLASS_CODE.lower())
    page.get_by_role("textbox", name="Your display name").fill(name)
    page.get_by_role("button", name="Join").click()
    page.get_by_text("Signed in as").wait_for()
    assert "student=" not in page.url
    wait_for(lambda: any(c["name"] == "softmax_lab_device" for c in page.context.cookies()), timeout=10,
             what="the sign-in cookie")


def train_and_share(page, epochs: int) -> int:
    """Start a run with a validation split for ``epochs`` epochs, wait for its end, share it; its id."""
    page.get_by_role("spinbutton", name="Epochs").fill(str(epochs))
    page.get_by_role("button", name="Start").click()
    page.get_by_text("The book's checks").first.wait_for(timeout=90_000)
    run_id = int(re.search(r"runs=(\d+)", page.url).group(1))
    page.get_by_text("Share", exact=True).first.click()
    return run_id


def wait_until_shared(store: RunStore, run_id: int, page) -> None:
    for _ in range(50):
        if store.get_run(run_id, scope=EVERYTHING).shared:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"run {run_id} was not shared")


def test_a_teacher_and_two_students(new_page, class_server):
    store = RunStore(class_server.db_url)
    ada, bob = new_page(), new_page()
    join(ada, class_server.url, "Ada <i>L</i>")
    assert "Ada <i>L</i>" in body_text(ada), "a name is shown as text, never as markup"
    ada_run = train_and_share(ada, epochs=2)
    join(bob, class_server.url, "Bob")
    bob.reload()
    bob.get_by_text("Signed in as Bob").wait_for()  # the cookie signs a reloaded page in
    bob_run = train_and_share(bob, epochs=3)
    wait_until_shared(store, ada_run, ada)
    wait_until_shared(store, bob_run, bob)
    assert store.get_run(ada_run, scope=EVERYTHING).config.validation, \
        "in classroom mode the form holds out a validation split"

    bob_body = body_text(bob)
    assert f"#{bob_run}" in bob_body and f"#{ada_run} " not in bob_body, "Train shows only Bob's own runs"
    save_screenshot(bob, "class-bob-train")

    bob.goto(f"{class_server.url}/train?runs={ada_run}")  # a forged run id
    bob.get_by_text(f"Run #{ada_run} belongs to another student").wait_for()
    assert bob.get_by_role("button", name="Cancel").count() == 0

    bob.goto(f"{class_server.url}/compare?runs={ada_run}")  # shared: Bob may look
    bob.wait_for_function(f"""() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(plot =>
        (plot.data || []).some(t => (t.name || '').startsWith('#{ada_run} ')))""")
    assert "belongs to another student" not in body_text(bob)

    long_run = start_long_run(ada)  # Ada's, not shared
    bob.goto(f"{class_server.url}/compare?runs={long_run}")
    bob.get_by_text(f"Run #{long_run} belongs to another student").wait_for()
    assert bob.get_by_role("button", name="Cancel").count() == 0
    long = store.get_run(long_run, scope=EVERYTHING)
    assert long.is_active and not long.cancel_requested

    bob.goto(f"{class_server.url}/auth/sign-in?pass={'x' * 43}")  # a forged link
    bob.get_by_text("This sign-in link was used already or has expired").wait_for()
    bob.goto(f"{class_server.url}/train")
    bob.get_by_text("Signed in as Bob").wait_for()  # a refused link leaves the browser as it was

    teacher = new_page()
    log_in_as_teacher(teacher, f"{class_server.url}/compare?runs={long_run}", wrong_first=True)
    teacher.get_by_role("button", name="Cancel").click()  # the teacher may cancel any run
    teacher.get_by_text("cancelled: after step").wait_for(timeout=10_000)
    assert store.get_run(long_run, scope=EVERYTHING).status == "cancelled"

    projector = new_page()
    log_in_as_teacher(projector, f"{class_server.url}/board?present=1")
    projector.get_by_text("Best validation accuracy in at most 5 epochs").first.wait_for()
    assert not projector.locator('[data-testid="stSidebar"]').is_visible(), "presenting mode: no sidebar"
    table = projector.locator('[data-testid="stTable"]')
    table.wait_for()
    by_val = sorted([(store.get_run(ada_run, scope=EVERYTHING).final_val_acc, "Ada <i>L</i>"),
                     (store.get_run(bob_run, scope=EVERYTHING).final_val_acc, "Bob")], reverse=True)
    rows = table.locator("tbody tr").all_inner_texts()
    assert [name for _, name in by_val] == [next(n for n in ("Ada <i>L</i>", "Bob") if n in row) for row in rows]
    assert "test acc" not in table.inner_text(), "test accuracy stays hidden until the reveal"
    save_screenshot(projector, "class-board-hidden")

    assert projector.get_by_role("button", name="Reveal test accuracy").count() == 0, "no control on the projector"
    teacher.goto(f"{class_server.url}/board")  # the teacher reveals from their own screen...
    teacher.get_by_role("button", name="Reveal test accuracy").click()
    projector.get_by_text("What the test set says").wait_for()  # ...and the projector follows, unreloaded
    revealed = projector.locator('[data-testid="stTable"]').inner_text()
    assert "test acc" in revealed and f"{store.get_run(bob_run, scope=EVERYTHING).final_test_acc:.4f}" in revealed
    assert projector.get_by_text("exercise 2 must not pick the number of epochs by test accuracy").count() == 1
    save_screenshot(projector, "class-board-revealed")


def start_long_run(page) -> int:
    page.get_by_role("spinbutton", name="Epochs").fill("300")
    page.get_by_role("button", name="Start").click()
    page.get_by_text("running").first.wait_for(timeout=30_000)
    return int(re.search(r"runs=(\d+)", page.url).group(1))


def log_in_as_teacher(page, url: str, wrong_first: bool = False) -> None:
    page.goto(url)
    page.get_by_text("I am the teacher").click()
    password = page.get_by_role("textbox", name="Teacher's password")
    if wrong_first:
        password.fill("a wrong guess")
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Wrong password.").wait_for()
    password.fill(TEACHER_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Join the class").wait_for(state="detached")


def test_a_run_taken_back_while_a_classmate_inspects_it_leaves_their_screen(new_page, class_server):
    """Eve watches Dana's shared run train on Inspect; Dana switches Share off: within a few seconds Eve's
    page says so, and the run's templates, matrix, numbers and name go from her screen and its address."""
    store = RunStore(class_server.db_url)
    dana, eve = new_page(), new_page()
    join(dana, class_server.url, "Dana")
    run_id = start_long_run(dana)
    dana.get_by_text("Share", exact=True).first.click()
    wait_for(lambda: store.get_run(run_id, scope=EVERYTHING).shared, timeout=10, what="Dana's run to be shared")
    join(eve, class_server.url, "Eve")
    eve.goto(f"{class_server.url}/inspect?run={run_id}")
    eve.get_by_text("Take it with you").wait_for(timeout=60_000)  # the whole run drawn, and polled since
    assert "confusion matrix" in body_text(eve).lower() and "epochs 300" in body_text(eve)

    dana.get_by_text("Share", exact=True).first.click()
    wait_for(lambda: not store.get_run(run_id, scope=EVERYTHING).shared, timeout=10, what="Dana's run to be unshared")
    taken_back = time.monotonic()
    eve.get_by_text(f"Run #{run_id} can no longer be shown here").wait_for(timeout=15_000)
    # Measured 0.4-3.7 s on 2 cores while the run trains and both pages redraw: the status line's
    # half-second poll waits behind the frontend's redraw of the last templates and matrix.
    assert time.monotonic() - taken_back <= 6.0
    wait_for(lambda: "Class templates" not in body_text(eve), timeout=5, what="the templates to leave the page")
    body = body_text(eve)
    assert "confusion matrix" not in body.lower() and "Take it with you" not in body
    assert "epochs 300" not in body, "the run's name leaves the run picker too"
    assert f"run={run_id}" not in eve.url
    save_screenshot(eve, "class-inspect-taken-back")
    store.request_cancel(run_id)


REFRESH_SECONDS = 3.0  # dashboard/board_page.py's (importing the page would run it)


def choose_in(page, label: str, name: str) -> None:
    """Pick the student ``name`` in the multiselect labelled ``label`` (a dropdown of 'name (from where)')."""
    page.locator('[data-testid="stMultiSelect"]').filter(has_text=label).locator("input").click()
    page.get_by_role("option", name=re.compile(f"^{re.escape(name)} \\(from ")).click()
    page.keyboard.press("Escape")


def test_the_board_shows_joins_as_they_happen_lets_them_in_and_removes_two_at_once(new_page, class_server):
    """The teacher's board, left open, shows each join within its refresh period (on main the list was
    drawn outside the refreshing part: 'Students (0)' stayed); with the waiting room on, a join waits,
    its page moving on by itself once the teacher lets it in; one button removes two students."""
    store = RunStore(class_server.db_url)
    teacher, ada, bob = new_page(), new_page(), new_page()
    log_in_as_teacher(teacher, f"{class_server.url}/board")
    teacher.get_by_text("Students (0)").wait_for()
    join(ada, class_server.url, "Ada")
    joined = time.monotonic()
    teacher.get_by_text("Students (1)").wait_for(timeout=(REFRESH_SECONDS + 10) * 1000)
    teacher.get_by_text("Ada, joined from").wait_for(timeout=5_000)
    assert time.monotonic() - joined <= REFRESH_SECONDS + 5, "within one refresh, without a reload"

    teacher.get_by_text("Waiting room: new joins wait until you let them in").click()
    wait_for(lambda: store.classroom.class_state().get("waiting_room"), timeout=10, what="the waiting room on")
    join(bob, class_server.url, "Bob")
    bob.get_by_text("You are waiting for your teacher to let you in.").wait_for()
    assert bob.get_by_role("button", name="Start").count() == 0
    teacher.get_by_text("Waiting to be let in: 1").wait_for(timeout=(REFRESH_SECONDS + 10) * 1000)
    save_screenshot(teacher, "class-board-waiting")
    choose_in(teacher, "Let in", "Bob")
    teacher.get_by_role("button", name="Let the chosen in").click()
    teacher.get_by_text("Students (2)").wait_for()
    bob.get_by_role("button", name="Start").wait_for(timeout=15_000)  # his page moved on by itself
    assert "waiting for your teacher" not in body_text(bob)

    choose_in(teacher, "Remove from the class", "Ada")
    choose_in(teacher, "Remove from the class", "Bob")
    teacher.get_by_role("button", name="Remove the chosen").click()
    teacher.get_by_text("Students (0)").wait_for()
    assert store.classroom.list_students() == []
    ada.reload()
    ada.get_by_text("Join the class").wait_for()
