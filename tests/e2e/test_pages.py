"""Every page as a person uses it, in Chromium at 1366x768: a shared Compare link opens the same view in a
fresh browser; /train is the Train page; the stability table reads NaN, inf and 3.72e-44; one Back press
leaves Compare and Inspect; Inspect shows a diverged run; no request goes to any host but the server's;
and a screenshot of each page (artifacts/e2e/pages-*.png) to look at."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from softmax_core.book.train import fit
from softmax_core.config import TrainConfig
from softmax_core.runs.recording_callback import RecordingCallback
from softmax_core.runs.store import RunStore
from tests.e2e.conftest import ARTIFACTS, REPO_ROOT, Server, body_text, wait_until_settled
from tests.workloads import make_tiny_data

pytestmark = pytest.mark.e2e
VIEWPORT = {"width": 1366, "height": 768}  # a common laptop screen


def seed_runs(db_url: str) -> dict[str, int]:
    """Two finished runs, one that diverged in its first epoch (trained on made-up data: a second)."""
    store, data, ids = RunStore(db_url), make_tiny_data(), {}
    for name, config in (("book", TrainConfig(epochs=2, batch_size=64)),
                         ("bigger batch", TrainConfig(epochs=2, batch_size=128)),
                         ("blows up", TrainConfig(implementation="scratch", init_std=10.0, epochs=1, batch_size=64))):
        ids[name] = store.create_run(config, name)
        fit(config, data, [RecordingCallback(store, ids[name])])
    return ids


def seed_sweep(db_url: str, data_dir) -> str:
    """A 2-cell sweep over a log batch axis (64, 1024) on the real data, one epoch: its id."""
    result = subprocess.run(
        [sys.executable, "-m", "softmax_core", "sweep", "--batch-size", "64,1024", "--lr", "0.3", "--epochs", "1",
         "--data-dir", str(data_dir)], cwd=REPO_ROOT, env={**os.environ, "SOFTMAX_LAB_DB": db_url},
        capture_output=True, text=True, timeout=300, check=True)
    return re.search(r"sweep (\S+):", result.stderr).group(1)


@pytest.fixture(scope="module")
def site(tmp_path_factory, real_data_dir):
    folder = tmp_path_factory.mktemp("pages")
    db_url = f"sqlite:///{folder}/runs.db"
    ids = seed_runs(db_url)
    ids["sweep"] = seed_sweep(db_url, real_data_dir)
    server = Server(db_url, real_data_dir, folder / "streamlit.log").start()
    try:
        yield server.url, ids
    finally:
        server.stop()


@pytest.fixture
def person(browser):
    """A fresh browser (its own context) at 1366x768, and every URL it asked for."""
    contexts, requests = [], []

    def make():
        context = browser.new_context(viewport=VIEWPORT)
        context.on("request", lambda request: requests.append(request.url))
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield make, requests
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> None:
    """What the viewport shows, as a person sees it without scrolling, and the whole page."""
    wait_until_settled(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"pages-{name}.png"))
    page.screenshot(path=str(ARTIFACTS / f"pages-{name}-full.png"), full_page=True)


def test_a_shared_compare_link_opens_the_same_view_in_a_fresh_browser(site, person):
    url, ids = site
    make, _ = person
    page = make()
    page.goto(f"{url}/compare?runs={ids['book']},{ids['bigger batch']}")
    page.get_by_role("heading", name="Compare runs").wait_for()
    page.get_by_role("button", name="Share this view").click()
    link = page.locator('[data-testid="stPopoverBody"] code').first.inner_text().strip()
    assert "/compare/compare" not in link and urlsplit(link).path == "/compare", link
    screenshot(page, "compare")
    other = make()
    other.goto(link)
    other.get_by_role("heading", name="Compare runs").wait_for()
    wait_until_settled(other)
    chips = body_text(other)
    assert f"#{ids['book']} book" in chips and f"#{ids['bigger batch']} bigger batch" in chips


def test_compare_fits_a_laptop_and_a_click_on_a_row_offers_the_run_in_inspect(site, person):
    url, ids = site
    page = person[0]()
    page.goto(f"{url}/compare?runs={ids['book']}")
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for()
    wait_until_settled(page)
    headers = page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"] th'))
        .map(th => [th.textContent, th.getBoundingClientRect().right])""")
    shown = {name for name, right in headers if right <= 1366}
    assert {"name", "train loss", "train acc", "test acc", "book checks"} <= shown, headers
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 200, box["y"] + 35 + 17)  # a cell of the first row (newest run first)
    link = page.get_by_role("link", name=re.compile(r"^Inspect #\d+"))
    link.wait_for()
    run_id = re.search(r"#(\d+)", link.inner_text()).group(1)
    link.click()
    page.get_by_role("heading", name="Inspect a run").wait_for()
    page.get_by_text(re.compile(f"^#{run_id} ")).first.wait_for()


def test_train_has_its_own_path(site, person):
    url, _ = site
    page = person[0]()
    page.goto(f"{url}/train")
    page.get_by_role("button", name="Start").wait_for()
    wait_until_settled(page)
    assert "Page not found" not in body_text(page)


def test_the_stability_table_reads_nan_inf_and_a_tiny_probability(site, person):
    url, _ = site
    page = person[0]()
    page.goto(f"{url}/lessons")
    page.get_by_role("tab", name="Numerical stability").click()
    page.get_by_text("Logits", exact=True).wait_for()
    page.get_by_test_id("stMain").get_by_role("combobox").first.click()  # the sidebar has the language picker
    page.get_by_role("option", name="large: 100, 0, -5").click()
    page.get_by_text("NaN (inf/inf)").wait_for()
    wait_until_settled(page)
    table = page.locator('[data-testid="stTable"]').first.inner_text()
    for shown in ("NaN", "inf", "3.72e-44"):
        assert shown in table, table
    assert "None" not in table and "0000000" not in table
    screenshot(page, "lessons-stability")


@pytest.mark.parametrize("where, link", [("compare", "Compare"), ("inspect", "Inspect a run")])
def test_one_back_press_leaves_the_page(site, person, where, link):
    url, _ = site
    page = person[0]()
    page.goto(f"{url}/lessons")
    page.get_by_role("heading", name="Lessons: section 3.7, hands on").wait_for()
    wait_until_settled(page)
    page.get_by_role("link", name=link).click()
    page.wait_for_url(re.compile(f"/{where}"))
    wait_until_settled(page)
    page.go_back()
    page.wait_for_timeout(1500)
    assert urlsplit(page.url).path == "/lessons", page.url


def test_inspect_shows_a_diverged_run(site, person):
    url, ids = site
    page = person[0]()
    page.goto(f"{url}/inspect?run={ids['blows up']}")
    page.get_by_text("loss became NaN").wait_for()
    body = body_text(page)
    assert "doesn't exist" not in body and f"#{ids['blows up']} blows up" in body
    screenshot(page, "inspect-diverged")
    page.goto(f"{url}/inspect?run={ids['book']}")
    page.get_by_text("Class templates after epoch 2").wait_for()
    screenshot(page, "inspect")


def test_the_sweep_heatmap_and_its_finished_bar(site, person):
    url, ids = site
    page = person[0]()
    page.goto(f"{url}/sweep?sweep={ids['sweep']}")
    page.get_by_text("All 2 runs ended").wait_for()
    screenshot(page, "sweep")
    hover = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .flatMap(plot => (plot.data || []).map(t => t.hovertemplate || ''))""")
    assert any("Batch size" in template for template in hover), hover


def test_no_request_leaves_the_server(site, person):
    url, ids = site
    make, requests = person
    page = make()
    for path in ("/", "/train", f"/compare?runs={ids['book']}", f"/inspect?run={ids['book']}", "/lessons",
                 f"/sweep?sweep={ids['sweep']}"):
        page.goto(url + path)
        page.get_by_role("heading").first.wait_for()
        wait_until_settled(page)
    server = urlsplit(url).netloc
    elsewhere = sorted({request for request in requests
                        if urlsplit(request).scheme in ("http", "https", "ws", "wss")
                        and urlsplit(request).netloc != server})
    assert not elsewhere, elsewhere
