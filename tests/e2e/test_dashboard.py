"""What a person sees: the real page in Chromium, a run started with the book's defaults on the real data,
its curve growing to 10 epochs, and the verdict."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import body_text, save_screenshot, wait_until_settled

pytestmark = pytest.mark.e2e

FINISHED_PLOT_TRACES_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .flatMap(plot => (plot.data || []).map(trace => ({name: trace.name || '', x: Array.from(trace.x || [])})))"""


def finished_traces(page) -> list[dict]:
    """Each curve once, at its longest: the loss and accuracy panels are two plots, and a redraw may
    briefly keep an old plot beside the new one."""
    longest: dict[str, dict] = {}
    for trace in page.evaluate(FINISHED_PLOT_TRACES_JS):
        if len(trace["x"]) >= len(longest.get(trace["name"], {"x": []})["x"]):
            longest[trace["name"]] = trace
    return list(longest.values())


def test_start_with_the_books_defaults_grows_a_ten_epoch_curve_and_a_verdict(page, server_url):
    page.goto(server_url)
    page.get_by_role("button", name="Start").click()
    page.get_by_text("The book's checks pass").wait_for(timeout=90_000)
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(plot =>
            (plot.data || []).some(t => (t.name || '').endsWith('test acc') && t.x.length === 10))""",
        timeout=30_000)
    traces = finished_traces(page)
    test_acc = [t for t in traces if t["name"].endswith("test acc")]
    assert len(test_acc) == 1 and test_acc[0]["x"] == list(range(1, 11))
    train_loss = [t for t in traces if t["name"].endswith("train loss")][0]
    assert train_loss["x"][-1] == 10 and len(train_loss["x"]) == 50
    body = body_text(page)
    assert "finished" in body and "train loss 0.44" in body
    assert "runs=" in page.url, "the URL carries the run, so a reload shows it again"
    save_screenshot(page, "train-finished")
    page.reload()
    page.get_by_text("The book's checks pass").wait_for()


def test_bad_input_shows_the_allowed_range_and_starts_nothing(page, server_url):
    page.goto(server_url)  # the cross-field rule (scratch has no adam) is checked in tests/test_app.py
    learning_rate = page.get_by_role("spinbutton", name="Learning rate")
    learning_rate.fill("0")
    learning_rate.press("Tab")
    page.get_by_role("button", name="Start").click()
    # the config's (0, 10], as the page says it (a word joiner follows each ':', dashboard/text.py)
    page.get_by_text(re.compile("Learning rate:\u2060? 0 is too small:\u2060? it must be above 0")).wait_for()
    wait_until_settled(page)  # the click's rerun has drawn all it will
    assert "runs=" not in page.url and "Traceback" not in body_text(page), "nothing started"
    save_screenshot(page, "bad-input")


def test_lessons_exercise_one_shows_three_curves_and_three_verdicts(page, server_url):
    page.goto(server_url + "/lessons")
    page.get_by_role("button", name="Run the book's run, batch 1024 and lr 0.4").click()
    page.get_by_text("What would make each pass?").wait_for(timeout=90_000)
    verdicts = [line for line in body_text(page).splitlines()  # "#2 Exercise: batch 1024: fails the book's check"
                if line.startswith("#") and "the book's check" in line]
    assert len(verdicts) == 3, verdicts
    assert sum("passes the book's checks" in line for line in verdicts) == 1
    assert sum("fails the book's check: train loss" in line for line in verdicts) == 2
    traces = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .flatMap(plot => (plot.data || []).map(t => t.name || ''))""")
    loss_curves = {name for name in traces if name.endswith(": train loss")}
    assert len(loss_curves) == 3, loss_curves
    save_screenshot(page, "lessons-exercise-1")


WATCH_FORM_AND_CARDS_JS = """() => { window.__seen = []; let last = '';
  const tick = () => {
    const batch = document.querySelector('input[aria-label="Batch size"]');
    const cards = Array.from(document.querySelectorAll('[data-testid="stVerticalBlockBorderWrapper"]'));
    const stale = cards.filter(c => c.innerText.includes('finished') && c.innerText.includes('Cancel')).length;
    const now = (batch ? batch.value : '') + '|' + stale;
    if (now !== last) { window.__seen.push(now); last = now; }
    setTimeout(tick, 5); };
  tick(); }"""


def test_a_run_ends_without_a_flash_of_minimum_values_or_a_stale_cancel(page, server_url):
    page.goto(server_url)
    page.get_by_role("button", name="Start").wait_for()
    page.evaluate(WATCH_FORM_AND_CARDS_JS)  # samples the page every 5 ms
    for _ in range(2):
        page.get_by_role("button", name="Start").click()
        page.wait_for_timeout(300)
    page.get_by_text("The book's checks pass").nth(1).wait_for(timeout=90_000)
    page.wait_for_function("""() => !Array.from(document.querySelectorAll('button'))
        .some(b => b.innerText.trim() === 'Cancel')""", timeout=15_000)  # the rerun that ends the runs
    wait_until_settled(page)
    seen = page.evaluate("() => window.__seen")
    assert {state.split("|")[0] for state in seen} <= {"", "256"}, f"the batch size field showed {seen}"
    assert all(state.split("|")[1] == "0" for state in seen), f"a finished run showed Cancel: {seen}"
