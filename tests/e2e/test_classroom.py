"""A class on one server, as people see it: three viewers training at once, Cancel on the page, and
a server killed mid-run whose run then shows as interrupted after a restart, with nobody doing anything."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from softmax_core.runs.store import EVERYTHING, RunStore
from softmax_core.status import RunStatus
from tests.e2e.conftest import Server, body_text, save_screenshot, wait_until_settled

pytestmark = pytest.mark.e2e
VERDICT = "The book's checks pass"


def start_from_the_form(page, epochs: int | None = None) -> int:
    """Press Start (after setting the epochs, if given); returns the new run's id from the URL."""
    page.get_by_role("button", name="Start").wait_for()
    if epochs is not None:
        field = page.get_by_role("spinbutton", name="Epochs")
        field.fill(str(epochs))
        field.press("Tab")
    page.get_by_role("button", name="Start").click()
    # the page's own word for the new run: the address may first show this person's runs still going
    started = page.get_by_text(re.compile(r"Run #\d+ started")).first
    started.wait_for()
    run_id = int(re.search(r"Run #(\d+) started", started.inner_text()).group(1))
    page.wait_for_url(f"**runs={run_id}*")
    return run_id


def wait_for_points(page, timeout_ms: int = 30_000) -> None:
    page.wait_for_function("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(plot =>
        (plot.data || []).some(t => (t.name || '').endsWith('train loss') && (t.x || []).length > 0))""",
                           timeout=timeout_ms)


def process_is_gone(pid: int) -> bool:
    """Gone, or a zombie nobody has reaped yet (it no longer runs)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def test_three_viewers_training_at_once_each_reach_their_verdict(new_page, server_url):
    pages = [new_page() for _ in range(3)]
    for page in pages:
        page.goto(server_url)
        page.get_by_role("button", name="Start").wait_for()
    ids = [start_from_the_form(page) for page in pages]
    assert len(set(ids)) == 3
    for page, run_id in zip(pages, ids):
        page.get_by_text(VERDICT).wait_for(timeout=120_000)
        body = body_text(page)
        assert f"#{run_id} book defaults" in body and "finished" in body
        others = [other for other in ids if other != run_id]
        assert all(f"#{other} " not in body for other in others), "each viewer sees its own run"
    save_screenshot(pages[-1], "classroom-third-viewer")


def test_cancel_on_the_page_stops_the_run_within_a_second(page, server_url):
    page.goto(server_url)
    run_id = start_from_the_form(page, epochs=300)
    wait_for_points(page)
    clicked = time.monotonic()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("cancelled: after step").wait_for(timeout=5_000)
    shown_after = time.monotonic() - clicked
    assert shown_after < 1.0, f"the page showed the cancel {shown_after:.2f} s after the click"
    # the card's Cancel goes with the same redraw (Streamlit drops an element once that redraw completes)
    page.get_by_role("button", name="Cancel", exact=True).wait_for(state="detached", timeout=5_000)
    assert f"#{run_id} " in body_text(page)
    wait_until_settled(page)
    save_screenshot(page, "cancelled")


def test_kill_9_of_the_server_mid_run_then_a_restart_shows_it_interrupted(new_page, tmp_path, real_data_dir):
    db_url = f"sqlite:///{tmp_path}/runs.db"
    server = Server(db_url, real_data_dir, tmp_path / "streamlit.log").start()
    try:
        page = new_page()
        page.goto(server.url)
        run_id = start_from_the_form(page, epochs=300)
        wait_for_points(page)
        worker_pid = RunStore(db_url).get_run(run_id, scope=EVERYTHING).pid
        server.kill()
        deadline = time.monotonic() + 5
        while not process_is_gone(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process_is_gone(worker_pid), "the worker must not train on without its server"
        points_at_kill = len(RunStore(db_url).read_points(run_id, scope=EVERYTHING))
        server.start()
        viewer = new_page()
        viewer.goto(f"{server.url}/compare?runs={run_id}")
        viewer.get_by_text("no heartbeat for over").wait_for(timeout=30_000)
        wait_until_settled(viewer)  # the page reruns once when the run ends
        save_screenshot(viewer, "interrupted-after-restart")  # while the server is up: after, the page greys
    finally:
        server.stop()
    run = RunStore(db_url).get_run(run_id, scope=EVERYTHING)
    assert run.status == RunStatus.INTERRUPTED and "no heartbeat" in run.error
    assert len(RunStore(db_url).read_points(run_id, scope=EVERYTHING)) == points_at_kill > 0, "the points are kept"
