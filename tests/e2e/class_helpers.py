"""What the classroom's browser tests share: the screens (a 1280x720 projector, a 390x844 phone, a 1366x768
laptop), the teacher's sign-in by a one-time link, the board's QR code read as a phone's camera reads it,
joining by that link, what the projector must never show (a control, an address), and the phone's sidebar."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import expect

from softmax_core.classroom.auth import hash_password, make_teacher_link
from softmax_core.runs.store import RunStore

from .conftest import Server, wait_until_settled

PROJECTOR = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}  # a common laptop screen
TEACHER_BUTTONS = ("Reveal test accuracy", "Hide test accuracy", "Remove the chosen", "Let everyone in",
                   "Set class size", "Log out")
CONTROL_ROLES = ("button", "checkbox", "switch", "textbox", "spinbutton", "combobox")
OUTER = "e => e.outerHTML.slice(0, 200)"


@contextlib.contextmanager
def running_class(folder: Path, data_dir: Path, code: str, password: str, **env: str) -> Iterator[Server]:
    """A real server in classroom mode (its database in ``folder``), stopped at the end."""
    env = {"SOFTMAX_LAB_CLASS_CODE": code, "SOFTMAX_LAB_TEACHER_PASSWORD": hash_password(password), **env}
    server = Server(f"sqlite:///{folder}/runs.db", data_dir, folder / "streamlit.log", env=env).start()
    try:
        yield server
    finally:
        server.stop()


def open_as_teacher(page, server: Server, path: str) -> None:
    """Sign the page's browser in as the teacher (a one-time link, as the console prints) and open ``path``."""
    link = make_teacher_link(RunStore(server.db_url).classroom)
    page.goto(f"{server.url}/auth/sign-in?{urlencode({'pass': link, 'next': path})}")


def controls_shown(page) -> list[str]:
    """The teacher's buttons anywhere, and any control in the page's main part, that a person can see."""
    shown = [label for label in TEACHER_BUTTONS if page.get_by_role("button", name=label).is_visible()]
    main = page.locator('[data-testid="stMain"]')
    for role in CONTROL_ROLES:
        shown += [element.evaluate(OUTER) for element in main.get_by_role(role).all() if element.is_visible()]
    return shown


def read_join_qr(projector) -> str:
    """The link in the board's QR code, decoded from the pixels the projector shows (as a phone's camera)."""
    import zxingcpp
    from PIL import Image

    qr = projector.locator('img[data-testid="join-qr"]')
    qr.wait_for(timeout=30_000)
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))
    return decoded.text


def join_by_link(page, link: str, code: str, name: str) -> None:
    """Open the join link (it fills in the class code), give a display name, join."""
    page.goto(link)
    page.get_by_text("Join the class").wait_for()
    expect(page.get_by_role("textbox", name="Class code")).to_have_value(code, timeout=10_000)
    page.get_by_role("textbox", name="Your display name").fill(name)
    page.get_by_role("button", name="Join").click()
    page.get_by_text("Signed in as").wait_for()


def fits_the_screen(page, locator, width: int = PHONE["width"]) -> None:
    box = locator.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, box


def open_sidebar(page) -> None:
    page.get_by_role("button", name="Expand sidebar").click()
    page.locator('[data-testid="stSidebar"][data-collapsed="false"]').wait_for()
    wait_until_settled(page)  # the sidebar slides in


def close_sidebar(page) -> None:
    page.get_by_role("button", name="Collapse sidebar").click()
    page.locator('[data-testid="stSidebar"][data-collapsed="true"]').wait_for(state="attached")
