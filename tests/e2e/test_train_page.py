"""The Train page as a person uses it, in Chromium at 1366x768 (a common laptop) and 390x844 (a phone): Start
on the first screen and the live chart above the run cards; Start with fields out of range names each
field and its range right beside Start; values typed in the form (no Start) reach Sweep and are still
there back on Train; and `/` opened again shows the runs still going. Screenshots in
artifacts/e2e/train-*.png."""

from __future__ import annotations

import re

import pytest

from softmax_core.book.train import fit
from softmax_core.config import TrainConfig
from softmax_core.runs.recording_callback import RecordingCallback
from softmax_core.runs.store import RunStore
from tests.e2e.conftest import ARTIFACTS, Server, body_text, wait_until_settled
from tests.heartbeats import kept_going
from tests.workloads import make_tiny_data

pytestmark = pytest.mark.e2e
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
FIELDS_OUT_OF_RANGE = (("Epochs", "1000"), ("Batch size", "-5"), ("Learning rate", "0"))
SAID = ("Epochs: 1000 is above the largest allowed, 500", "Batch size: -5 is below the smallest allowed, 1",
        "Learning rate: 0 is too small: it must be above 0")


@pytest.fixture(scope="module")
def site(tmp_path_factory, real_data_dir):
    """A server over four finished runs (trained on made-up data: a second)."""
    folder = tmp_path_factory.mktemp("train-page")
    db_url = f"sqlite:///{folder}/runs.db"
    store, data = RunStore(db_url), make_tiny_data()
    ids = []
    for batch in (32, 64, 128, 256):
        config = TrainConfig(epochs=2, batch_size=batch)
        ids.append(store.create_run(config, f"batch {batch}"))
        fit(config, data, [RecordingCallback(store, ids[-1])])
    server = Server(db_url, real_data_dir, folder / "streamlit.log").start()
    try:
        yield server.url, db_url, ids
    finally:
        server.stop()


@pytest.fixture
def person(new_page):
    """A fresh browser (its own context), at a laptop's screen size unless told another."""
    return lambda viewport=LAPTOP, **options: new_page(viewport, **options)


def screenshot(page, name: str) -> None:
    """What the screen shows without scrolling, as a person first sees it."""
    wait_until_settled(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"train-{name}.png"))


def as_shown(text: str) -> re.Pattern:
    """Text as the page shows it: an invisible word joiner follows each ':' (dashboard/text.py)."""
    return re.compile(re.escape(text).replace(":", ":\u2060?"))


def start_button(page):
    return page.get_by_role("button", name="Start", exact=True)


def nav_link(page, title: str):
    """The sidebar's link to a page (its icon's ligature is part of the link's text)."""
    return page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=re.compile(f"{title}$"))


def type_into(page, label: str, value: str) -> None:
    field = page.get_by_role("spinbutton", name=label)
    field.fill(value)
    field.press("Tab")
    wait_until_settled(page)


def inside_the_screen(box: dict, viewport: dict = LAPTOP) -> bool:
    return box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= viewport["width"] \
        and box["y"] + box["height"] <= viewport["height"]


def test_start_is_on_the_first_screen_and_the_chart_is_above_the_run_cards(site, person):
    url, _, ids = site
    page = person()
    page.goto(f"{url}/?runs={','.join(map(str, ids))}")
    start_button(page).wait_for()
    page.locator('[data-testid="stMain"] .js-plotly-plot').first.wait_for()
    page.get_by_text(f"#{ids[0]} batch 32", exact=True).wait_for()
    screenshot(page, "laptop-four-runs")
    assert inside_the_screen(start_button(page).bounding_box()), start_button(page).bounding_box()
    chart = page.locator('[data-testid="stMain"] .js-plotly-plot').first.bounding_box()
    first_card = page.get_by_text(f"#{ids[0]} batch 32", exact=True).bounding_box()
    assert chart["y"] + chart["height"] <= first_card["y"], (chart, first_card)
    assert chart["y"] < LAPTOP["height"], "the chart starts on the first screen"


def test_start_with_fields_out_of_range_says_which_and_their_range_beside_start(site, person):
    url, *_ = site
    page = person()
    page.goto(url)
    start_button(page).wait_for()
    for label, value in FIELDS_OUT_OF_RANGE:
        type_into(page, label, value)
    start_button(page).click()
    wait_until_settled(page)
    start = start_button(page).bounding_box()
    for said in SAID:
        message = page.get_by_text(as_shown(said))
        message.wait_for(timeout=10_000)
        box = message.bounding_box()
        assert inside_the_screen(box), (said, box)
        assert start["y"] + start["height"] <= box["y"] <= start["y"] + start["height"] + 200, (said, box, start)
    assert "runs=" not in page.url and "Traceback" not in body_text(page), "nothing started"
    screenshot(page, "laptop-fields-out-of-range")


def test_values_typed_survive_a_round_trip_train_sweep_train(site, person):
    url, *_ = site
    page = person()
    page.goto(url)
    start_button(page).wait_for()
    type_into(page, "Batch size", "512")
    type_into(page, "Learning rate", "0.3")
    type_into(page, "Epochs", "3")  # no Start: what is typed is what the form holds
    nav_link(page, "Sweep").click()
    page.get_by_role("heading", name="Sweep: a grid of hyperparameters").wait_for()
    page.get_by_text(re.compile(r"The other settings come from the Train form: batch 512, lr 0\.3, epochs 3")) \
        .wait_for(timeout=10_000)
    screenshot(page, "laptop-sweep-from-the-form")
    nav_link(page, "Train").click()
    start_button(page).wait_for()
    wait_until_settled(page)
    shown = [page.get_by_role("spinbutton", name=label).input_value() for label in ("Batch size", "Learning rate",
                                                                                    "Epochs")]
    assert shown == ["512", "0.3000", "3"], shown


def test_the_train_page_on_a_phone(site, person):
    url, _, ids = site
    page = person(PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.goto(f"{url}/?runs={ids[0]}")
    page.locator('[data-testid="stMain"] .js-plotly-plot').first.wait_for()
    screenshot(page, "phone")
    page.get_by_role("button", name="Expand sidebar").click()
    page.locator('[data-testid="stSidebar"][data-collapsed="false"]').wait_for()
    start_button(page).wait_for()
    screenshot(page, "phone-form")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"


def test_slash_opened_again_shows_the_runs_still_going(site, person):
    url, db_url, _ = site
    store = RunStore(db_url)
    going = store.create_run(TrainConfig(epochs=1), "still queued")  # given to no worker: it waits
    with kept_going(store, [going]):  # as a worker holding it would
        page = person()
        page.goto(url)
        page.get_by_text(f"#{going} still queued", exact=True).wait_for(timeout=15_000)
        assert "No run in this view yet" not in body_text(page)
        screenshot(page, "laptop-runs-going")
