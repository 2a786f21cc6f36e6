"""Inspect follows an active run live, on SQLite and PostgreSQL: the epoch slider grows while it trains,
and its end shows within 2 s of the store's saying so, whether it was cancelled or interrupted (the
server killed with -9 and restarted: the restarted server marks the run, and the open page, which
reconnects on its own, says so with the reason)."""

from __future__ import annotations

import time

import pytest
from polling import wait_for

from softmax_core.config import TrainConfig
from softmax_core.runs.store import EVERYTHING, RunStore

from .conftest import Server, save_screenshot

pytestmark = pytest.mark.e2e
END_SHOWN_WITHIN_SECONDS = 2.0


@pytest.fixture
def server(store_url, tmp_path, real_data_dir):
    server = Server(store_url, real_data_dir, tmp_path / "streamlit.log").start()
    try:
        yield server
    finally:
        server.stop()


def slider_max(page) -> int:
    """The epoch slider's range, as its right-hand label says."""
    return int(page.evaluate("""() => document.querySelector('[data-testid="stSliderTickBar"]')
        .lastElementChild.textContent"""))


def slider_value(page) -> int:
    return int(page.locator('[data-testid="stSliderThumbValue"]').first.text_content())


def submit_long_run(page, server: Server) -> int:
    """Start a long run from the Train page; its id."""
    page.goto(server.url)
    page.get_by_role("spinbutton", name="Epochs").fill("300")
    page.get_by_role("button", name="Start").click()
    store = RunStore(server.db_url)
    return wait_for(lambda: next((run.id for run in store.list_runs(scope=EVERYTHING)), None), timeout=30,
                    what="the run")


def open_inspect_while_it_grows(page, server: Server, run_id: int) -> None:
    store = RunStore(server.db_url)
    wait_for(lambda: len(store.read_epochs(run_id, scope=EVERYTHING)) >= 2, timeout=60, what="two epochs")
    page.goto(f"{server.url}/inspect?run={run_id}")
    page.get_by_role("slider").wait_for()
    first = slider_max(page)
    wait_for(lambda: slider_max(page) > first, timeout=30, what="the slider to grow without a reload")
    assert slider_value(page) >= first + 1, "the slider keeps to the newest epoch while nobody moves it"
    assert page.get_by_text("running").first.is_visible()


def seconds_until_shown(page, text: str) -> float:
    started = time.monotonic()
    page.get_by_text(text).first.wait_for(timeout=30_000)
    return time.monotonic() - started


def test_inspect_shows_a_cancel_within_two_seconds(new_page, server):
    page = new_page()
    run_id = submit_long_run(page, server)
    open_inspect_while_it_grows(page, server, run_id)
    store = RunStore(server.db_url)
    store.request_cancel(run_id)
    wait_for(lambda: not store.get_run(run_id, scope=EVERYTHING).is_active, timeout=10, what="the worker to stop")
    assert seconds_until_shown(page, "cancelled") <= END_SHOWN_WITHIN_SECONDS


def test_inspect_shows_an_interruption_and_its_reason_after_a_kill_and_restart(new_page, server):
    page = new_page()
    run_id = submit_long_run(page, server)
    open_inspect_while_it_grows(page, server, run_id)
    server.kill()
    server.start(same_port=True)  # the restarted server's liveness check marks what the dead one left
    store = RunStore(server.db_url)
    wait_for(lambda: store.get_run(run_id, scope=EVERYTHING).status == "interrupted", timeout=30,
             what="the interruption")
    assert seconds_until_shown(page, "interrupted") <= END_SHOWN_WITHIN_SECONDS
    page.get_by_text("its server or worker stopped").first.wait_for(timeout=5_000)
    save_screenshot(page, "inspect-interrupted")
    assert TrainConfig.from_dict(store.get_run(run_id, scope=EVERYTHING).config.to_dict()).epochs == 300
