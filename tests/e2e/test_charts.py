"""The training curves as a person uses them, in Chromium at 1366x768: the log-scale toggle turns the
rendered loss axis to a log one, the smoothing slider leaves a faint raw curve beneath each smoothed one,
every chart's modebar saves a PNG and an SVG (made in the browser), and a browser that prefers dark gets a
dark page with dark charts. Screenshots of Train's live chart and of Compare, light and dark
(artifacts/e2e/charts-*.png), to look at."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, Server, wait_until_settled
from tests.e2e.test_pages import seed_runs

pytestmark = pytest.mark.e2e
VIEWPORT = {"width": 1366, "height": 768}
PLOTS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(plot => ({
    axis: plot._fullLayout.yaxis.type, names: plot.data.map(trace => trace.name),
    opacity: plot.data.map(trace => trace.opacity === undefined ? 1 : trace.opacity),
    font: plot._fullLayout.font.color}))"""
BACKGROUND = """() => getComputedStyle(document.querySelector('[data-testid="stApp"]')).backgroundColor"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, real_data_dir):
    folder = tmp_path_factory.mktemp("charts")
    db_url = f"sqlite:///{folder}/runs.db"
    ids = seed_runs(db_url)
    server = Server(db_url, real_data_dir, folder / "streamlit.log").start()
    try:
        yield server.url, ids
    finally:
        server.stop()


@pytest.fixture
def open_page(browser):
    """A fresh browser at 1366x768 in a colour scheme ('light' or 'dark'), opened at a path."""
    contexts = []

    def make(url: str, scheme: str = "light"):
        context = browser.new_context(viewport=VIEWPORT, color_scheme=scheme, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(url)
        page.locator(".js-plotly-plot").first.wait_for()
        wait_until_settled(page)
        return page

    yield make
    for context in contexts:
        context.close()


def luminance(css: str) -> float:
    """Relative luminance of a CSS 'rgb(r, g, b)' or 'rgba(...)' or '#rrggbb' colour."""
    if css.startswith("#"):
        channels = [int(css[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    else:
        channels = [float(part) / 255 for part in css[css.index("(") + 1:css.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def compare_url(url: str, ids: dict) -> str:
    return f"{url}/compare?runs={ids['book']},{ids['bigger batch']}"


def test_the_log_toggle_and_the_smoothing_slider_change_the_rendered_loss_chart(site, open_page):
    url, ids = site
    page = open_page(compare_url(url, ids))
    loss = page.evaluate(PLOTS)[0]
    book, bigger = f"#{ids['book']} batch 64", f"#{ids['bigger batch']} batch 128"
    assert loss["axis"] == "linear" and loss["names"] == [f"{book}: train loss", f"{book}: test loss",
                                                          f"{bigger}: train loss", f"{bigger}: test loss"]
    page.get_by_text("Log-scale loss", exact=True).click()
    page.wait_for_function(f"() => ({PLOTS})()[0]?.axis === 'log'")
    slider = page.get_by_role("slider", name="Smoothing").first
    slider.focus()
    slider.press("End")  # the smoothest: 0.99
    page.wait_for_function(f"() => ({PLOTS})()[0]?.names.length === 6")  # the chart is redrawn: absent a moment
    wait_until_settled(page)
    loss = page.evaluate(PLOTS)[0]
    assert loss["axis"] == "log", "the toggle stays on while the slider moves"
    assert loss["names"] == [f"{book}: train loss (raw)", f"{book}: train loss", f"{book}: test loss",
                             f"{bigger}: train loss (raw)", f"{bigger}: train loss", f"{bigger}: test loss"]
    assert loss["opacity"][0] < 0.5 and loss["opacity"][1] == 1
    page.locator(".js-plotly-plot").first.hover()  # its modebar shows: the camera (PNG) and the SVG button
    page.screenshot(path=str(ARTIFACTS / "charts-compare-log-smoothed.png"))
    assert "train loss fell from" in page.inner_text("body") or "train loss rose from" in page.inner_text("body")


@pytest.mark.parametrize("title, suffix, magic", [("Download plot as a PNG", ".png", b"\x89PNG"),
                                                  ("Download plot as an SVG", ".svg", b"<svg")])
def test_the_modebar_saves_the_chart_as_a_png_and_as_an_svg(site, open_page, title, suffix, magic):
    url, ids = site
    page = open_page(compare_url(url, ids))
    plot = page.locator(".js-plotly-plot").first
    plot.hover()
    button = plot.locator(f'.modebar-btn[data-title="{title}"]')
    button.wait_for()
    with page.expect_download() as download:
        button.click()
    saved = download.value
    assert saved.suggested_filename == f"compare_curves_loss{suffix}"
    assert open(saved.path(), "rb").read().lstrip()[:len(magic)] == magic


def test_a_browser_that_prefers_dark_gets_a_dark_page_and_dark_charts(site, open_page):
    url, ids = site
    shots = {}
    for scheme in ("light", "dark"):
        for name, path in (("train", f"/?runs={ids['book']},{ids['bigger batch']}"),
                           ("compare", compare_url("", ids))):
            page = open_page(url + path, scheme)
            background, font = luminance(page.evaluate(BACKGROUND)), luminance(page.evaluate(PLOTS)[0]["font"])
            shots[name, scheme] = background, font
            page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
            wait_until_settled(page)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"charts-{name}-{scheme}.png"))
    for (name, scheme), (background, font) in shots.items():
        assert (background > 0.8) if scheme == "light" else (background < 0.05), (name, scheme, shots)
        contrast = (max(background, font) + 0.05) / (min(background, font) + 0.05)
        assert contrast >= 3.0, f"{name} in {scheme}: the charts' text has a contrast of {contrast:.1f}"
