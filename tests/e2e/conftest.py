"""A real ``streamlit run app.py`` on a free loopback port, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "artifacts" / "e2e"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not become healthy in time")


class Server:
    """A real ``streamlit run app.py`` on a free loopback port, over a given run database."""

    def __init__(self, db_url: str, data_dir: Path, log_path: Path, env: dict | None = None):
        self.db_url, self.data_dir, self.log_path = db_url, data_dir, log_path
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self, same_port: bool = False) -> Server:
        """Start the server (``same_port``: where it last ran, so that open pages reconnect to it)."""
        port = int(self.url.rsplit(":", 1)[1]) if same_port and self.url else free_port()
        env = {**os.environ, "SOFTMAX_LAB_DB": self.db_url, "SOFTMAX_LAB_DATA": str(self.data_dir),
               **self.extra_env}
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.url = f"http://127.0.0.1:{port}"
        wait_until_healthy(self.url, self.process)
        return self

    def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def server_url(tmp_path_factory, real_data_dir):
    folder = tmp_path_factory.mktemp("e2e")
    server = Server(f"sqlite:///{folder}/runs.db", real_data_dir, folder / "streamlit.log").start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("the browser tests need Debian's Chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """Pages in separate browser contexts, as separate people would have (closed after the test); a
    screen size and Playwright's context options may be given."""
    contexts = []

    def make(viewport=None, **options):
        context = browser.new_context(viewport=viewport or {"width": 1400, "height": 1000}, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


def wait_until_settled(page) -> None:
    """Until no element is stale (Streamlit greys out what a running rerun has not redrawn yet) and the
    progress bars' width transitions are over."""
    page.wait_for_timeout(500)
    page.wait_for_function("() => document.querySelectorAll('[data-stale=\"true\"]').length === 0",
                           timeout=15_000)
    page.wait_for_timeout(600)


def body_text(page) -> str:
    """The page's text as a person reads it: without the invisible word joiners that keep a ':' or an
    '@' in shown text from becoming a link (``dashboard/text.py``)."""
    return page.inner_text("body").replace("\u2060", "")


def save_screenshot(page, name: str) -> Path:
    """The page as a person sees it once it has settled, in artifacts/e2e/<name>.png."""
    wait_until_settled(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
