"""What a curious student can do to a class's server, tried against the real server: a scripted websocket
client clearing every cache (which once rebuilt the worker pool and reset the password limiter), a page
reaching the server under another host name (DNS rebinding), and hostile display and run names rendered
in Chromium on every page that shows them, with every request the page makes watched."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from polling import wait_for
from websockets.exceptions import InvalidHandshake

from softmax_core.classroom.auth import hash_password, make_teacher_link
from softmax_core.classroom.names import canonical_name
from softmax_core.runs.executors.local import default_worker_count
from softmax_core.runs.store import EVERYTHING, RunStore

from .conftest import Server, body_text, save_screenshot
from .streamlit_client import ScriptedClient, descendant_processes

pytestmark = pytest.mark.e2e
CLASS_CODE, TEACHER_PASSWORD = "FM-404", "the right one"
HOSTILE_NAME = "[x](http://ev.il)![](http://ev.il/i)"  # the issue's: a live link and a fetched image
HOSTILE_RUN_NAMES = [  # one list for every page: Markdown, HTML, Plotly's tags and templates, autolinks
    "<img src=http://ev.il/i2><a href=http://ev.il/a>a</a>",
    "**b** _i_ `c` $x^2$ :red[r] :material/bolt: :smile: # h",
    "www.ev.il a@ev.il http://ev.il/raw <b>%{y}</b> %{x}",
]
HOSTILE_RUN_NAME = " | ".join(HOSTILE_RUN_NAMES)


@pytest.fixture
def class_server(tmp_path, real_data_dir):
    env = {"SOFTMAX_LAB_CLASS_CODE": CLASS_CODE, "SOFTMAX_LAB_TEACHER_PASSWORD": hash_password(TEACHER_PASSWORD)}
    server = Server(f"sqlite:///{tmp_path}/runs.db", real_data_dir, tmp_path / "streamlit.log", env=env).start()
    try:
        yield server
    finally:
        server.stop()


def guard_failures(db_url: str) -> int:
    """The teacher-password tries counted, over every address (there is no class-wide count any more:
    it let other addresses' wrong tries refuse the right password)."""
    with RunStore(db_url).engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT SUM(failures) FROM guards WHERE key LIKE 'teacher-password@%'"))
                   .scalar() or 0)


def try_passwords(page, server: Server, count: int) -> None:
    """``count`` wrong passwords, each one counted by the server before the next is typed (the message of
    the one before is still on the page, so the page alone can't say the next try was heard)."""
    page.goto(server.url)
    page.get_by_text("I am the teacher").click()
    for attempt in range(count):
        page.get_by_role("textbox", name="Teacher's password").fill(f"guess {attempt}")
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Wrong password").wait_for()
        wait_for(lambda tries=attempt + 1: guard_failures(server.db_url) >= tries, timeout=30,
                 what=f"wrong password {attempt + 1}")
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")


def test_clear_cache_from_a_script_starts_no_new_workers_and_forgets_no_guess(class_server, new_page):
    pool = 1 + default_worker_count()  # the worker template and the workers it forked
    workers = wait_for(lambda: len(descendant_processes(class_server.process.pid)) == pool and
                       descendant_processes(class_server.process.pid), timeout=60, what="the worker pool")
    try_passwords(new_page(), class_server, 3)
    assert guard_failures(class_server.db_url) == 3
    with ScriptedClient(class_server.url) as client:
        client.rerun()
        for _ in range(3):
            client.clear_cache()
            client.rerun()
    assert descendant_processes(class_server.process.pid) == workers, "the same workers, no second pool"
    assert guard_failures(class_server.db_url) == 3, "the guesses are still counted"


def test_a_page_under_another_host_name_cannot_open_the_websocket(class_server):
    port = class_server.url.rsplit(":", 1)[1]
    with pytest.raises(InvalidHandshake):
        ScriptedClient(class_server.url, host=f"ev.il:{port}")  # what a DNS-rebinding page's requests carry
    with ScriptedClient(class_server.url, host=f"localhost:{port}") as client:
        client.rerun()  # the names the server is reached by still work


def watch_requests(page) -> list[str]:
    """Every request the page makes to the hostile names' host, refused and recorded."""
    hits: list[str] = []
    page.route(re.compile(r".*ev\.il.*"), lambda route: (hits.append(route.request.url), route.abort()))
    return hits


def live_links_and_images(page) -> list[str]:
    """Links and images (HTML or SVG, Plotly's included) that point at the hostile host."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('a, img, image')).map(el =>
        el.getAttribute('href') || el.getAttribute('xlink:href') || el.getAttribute('src') || '')
        .filter(target => target.includes('ev.il'))""")


def assert_inert(page, hits: list[str], where: str, texts: list[str]) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
    shown = body_text(page)
    for text in texts:
        assert text in shown, f"{where}: {text!r} is shown character for character"
    assert live_links_and_images(page) == [], f"{where}: no live link or image"
    assert hits == [], f"{where}: the page fetched {hits}"


def plot_text(page) -> str:
    """The text Plotly drew (titles, legends), as SVG text."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot text'))
        .map(t => t.textContent).join('\\n')""")


def test_hostile_names_render_as_text_on_every_page(class_server, new_page):
    student = new_page()
    hits = watch_requests(student)
    student.goto(class_server.url)
    student.get_by_role("textbox", name="Class code").fill(CLASS_CODE)
    student.get_by_role("textbox", name="Your display name").fill(HOSTILE_NAME)
    student.get_by_role("button", name="Join").click()
    student.get_by_text("Signed in as").wait_for()
    assert_inert(student, hits, "the sidebar", [HOSTILE_NAME])

    student.get_by_text("More settings").click()  # the run's name is among the settings behind it
    student.get_by_role("textbox", name="Run name (optional)").fill(HOSTILE_RUN_NAME)
    student.get_by_role("spinbutton", name="Epochs").fill("1")
    student.get_by_role("button", name="Start").click()
    student.get_by_text("The book's checks").first.wait_for(timeout=90_000)
    run_id = int(re.search(r"runs=(\d+)", student.url).group(1))
    assert_inert(student, hits, "Train", [HOSTILE_RUN_NAME])
    student.get_by_text("Share", exact=True).first.click()
    store = RunStore(class_server.db_url)
    wait_for(lambda: store.get_run(run_id, scope=EVERYTHING).shared, timeout=10, what="the share")

    student.goto(f"{class_server.url}/compare?runs={run_id}")
    student.locator(".js-plotly-plot").first.wait_for()
    assert_inert(student, hits, "Compare", [HOSTILE_RUN_NAME])
    assert "<b>" not in student.locator(".js-plotly-plot").first.inner_html().replace("&lt;b&gt;", "")
    save_screenshot(student, "attack-compare")

    student.goto(f"{class_server.url}/inspect?run={run_id}")
    student.get_by_text("Class templates after epoch").wait_for()
    assert_inert(student, hits, "Inspect", [HOSTILE_RUN_NAME])

    student.goto(f"{class_server.url}/lessons")
    student.get_by_role("tab", name="Repeat with seeds").click()
    student.get_by_role("spinbutton", name="Seeds in all").fill("2")
    student.get_by_role("spinbutton", name="Seeds in all").press("Enter")
    student.get_by_role("button", name="Repeat with 1 more seeds").click()  # a copy named after the run
    student.wait_for_function("() => Array.from(document.querySelectorAll('.js-plotly-plot text'))"
                              ".some(t => t.textContent.includes('mean ± std'))", timeout=90_000)
    assert_inert(student, hits, "Lessons", [])

    teacher = new_page()
    teacher_hits = watch_requests(teacher)
    link = make_teacher_link(RunStore(class_server.db_url).classroom)
    teacher.goto(f"{class_server.url}/auth/sign-in?pass={link}&next=/board")
    teacher.locator('[data-testid="stTable"]').wait_for()
    assert_inert(teacher, teacher_hits, "the board", [HOSTILE_NAME])
    wait_for(lambda: HOSTILE_NAME in plot_text(teacher), timeout=15,  # Plotly draws after the table
             what="the board's legend to name the student as text")
    assert live_links_and_images(teacher) == [] and teacher_hits == [], "the drawn legend links and fetches nothing"
    save_screenshot(teacher, "attack-board")


def join_as(page, url: str, name: str) -> None:
    page.goto(url)
    page.get_by_role("textbox", name="Class code").fill(CLASS_CODE)
    page.get_by_role("textbox", name="Your display name").fill(name)
    page.get_by_role("button", name="Join").click()


def test_a_name_that_only_looks_like_a_classmates_is_refused_and_the_board_shows_one(class_server, new_page):
    """The issue's attack: with Alice in the class, 'Аlice' (a Cyrillic А) joined too, and the projected
    board showed two Alices. Now the second browser is told why, and the teacher's list has one Alice."""
    alice, mallory = new_page(), new_page()
    join_as(alice, class_server.url, "Alice")
    alice.get_by_text("Signed in as").wait_for()
    join_as(mallory, class_server.url, "\u0410lice")
    mallory.get_by_text(re.compile("is taken in this class|Signed in as")).first.wait_for()
    assert "Signed in as" not in body_text(mallory), "the lookalike got in"
    assert "The name \u0410lice is taken in this class, or looks just like one that is" in body_text(mallory)

    teacher = new_page()
    teacher.goto(f"{class_server.url}/board?teacher_link={make_teacher_link(RunStore(class_server.db_url).classroom)}")
    teacher.get_by_text("Students (1)").wait_for()
    teacher.get_by_role("button", name="Remove the chosen").wait_for()
    listed = re.findall(r"^(.*), joined from ", body_text(teacher), re.M)
    assert [name for name in listed if canonical_name(name) == canonical_name("Alice")] == ["Alice"], listed
    save_screenshot(teacher, "attack-lookalike-name")
