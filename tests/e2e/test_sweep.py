"""The Sweep page in Chromium: a 2 x 2 grid (batch size x learning rate) on the real data, its heatmap
filling in to 4 cells, and a click on a cell overlaying that cell's curves."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import body_text, save_screenshot

pytestmark = pytest.mark.e2e

FILLED_CELLS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(plot =>
    (plot.data || []).some(t => t.name === 'final train loss' && (t.x || []).length === 4))"""


def test_a_2x2_sweep_fills_four_cells_and_a_click_shows_the_cells_curves(page, server_url):
    page.goto(f"{server_url}/sweep")
    for label, values in (("Batch size values", "256, 1024"), ("Learning rate values", "0.1, 0.4")):
        box = page.get_by_role("textbox", name=label)
        box.fill(values)
        box.press("Enter")
    page.get_by_text("= 4 runs").wait_for()
    page.get_by_role("button", name="Start sweep").click()
    page.wait_for_function(FILLED_CELLS_JS, timeout=120_000)
    page.get_by_text("All 4 runs ended").wait_for(timeout=60_000)  # a full bar across the page
    assert "sweep=" in page.url, "the URL reopens the same grid"
    body = body_text(page)
    assert "The lowest final train loss is" in body and "the linear-scaling rule says 4x" in body
    cell = page.locator(".js-plotly-plot .scatterlayer .trace").first.locator(".point").first.bounding_box()
    page.mouse.click(cell["x"] + cell["width"] / 2, cell["y"] + cell["height"] / 2)  # as a person clicks
    page.get_by_text("The runs of the cell").wait_for()
    page.wait_for_function("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(plot =>
        (plot.data || []).some(t => (t.name || '').includes('sweep') && (t.name || '').endsWith('test acc')))""")
    labels = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot .annotation-text'))
        .filter(e => /^\\d\\.\\d{3}$/.test(e.textContent))
        .map(e => [e.textContent, getComputedStyle(e).fillOpacity, getComputedStyle(e).opacity])""")
    assert len(labels) == 4 and all(fill == "1" and opacity == "1" for _, fill, opacity in labels), (
        "after the click every cell still shows its number at full strength", labels)
    save_screenshot(page, "sweep")
    page.reload()
    page.wait_for_function(FILLED_CELLS_JS, timeout=30_000)
