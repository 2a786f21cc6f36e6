"""A student on a phone (390x844, Chromium): joins the class, sets the form up for the class's challenge,
starts a run, and watches its curves, the loss and accuracy panels stacked (each the screen's width, not
side by side at a third of it each), with nothing wider than the screen. Screenshots in artifacts/e2e/."""

from __future__ import annotations

import pytest

from .class_helpers import PHONE, close_sidebar, fits_the_screen, open_sidebar, running_class
from .conftest import save_screenshot
from .test_classroom_mode import CLASS_CODE, TEACHER_PASSWORD, join

pytestmark = pytest.mark.e2e
PLOTS_WITH_CURVES_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot'))
    .filter(plot => (plot.data || []).some(t => (t.x || []).length > 0)).length"""


@pytest.fixture
def class_with_default_limits(tmp_path_factory, real_data_dir):
    with running_class(tmp_path_factory.mktemp("e2e-phone"), real_data_dir, CLASS_CODE, TEACHER_PASSWORD) as server:
        yield server


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def test_a_student_on_a_phone_joins_starts_a_run_and_sees_the_curve_panels_stacked(phone, class_with_default_limits):
    phone.goto(class_with_default_limits.url)
    phone.get_by_text("Join the class").wait_for()
    fits_the_screen(phone, phone.get_by_role("button", name="Join"))
    save_screenshot(phone, "phone-join")
    join(phone, class_with_default_limits.url, "Ada")
    save_screenshot(phone, "phone-joined")
    open_sidebar(phone)
    set_up = phone.get_by_role("button", name="Set up for the challenge")
    set_up.scroll_into_view_if_needed()
    fits_the_screen(phone, set_up)
    set_up.click()
    phone.get_by_text("These settings can count for the challenge.").wait_for()
    start = phone.get_by_role("button", name="Start", exact=True)
    start.scroll_into_view_if_needed()
    fits_the_screen(phone, start)
    save_screenshot(phone, "phone-form")
    start.click()
    phone.wait_for_url("**runs=*")
    if phone.locator('[data-testid="stSidebar"][data-collapsed="false"]').count():
        close_sidebar(phone)
    phone.wait_for_function(f"() => ({PLOTS_WITH_CURVES_JS})() === 2", timeout=60_000)
    phone.get_by_text("The book's checks pass").wait_for(timeout=90_000)
    loss, accuracy = (plot.bounding_box() for plot in phone.locator('[data-testid="stMain"] .js-plotly-plot').all())
    assert loss["width"] >= 300 and accuracy["width"] >= 300, (loss, accuracy)
    assert accuracy["y"] >= loss["y"] + loss["height"] - 1, "one above the other, not side by side"
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    fits_the_screen(phone, phone.get_by_text("Share", exact=True).first)
    save_screenshot(phone, "phone-train-card")
    phone.locator('[data-testid="stMain"] .js-plotly-plot').first.scroll_into_view_if_needed()
    save_screenshot(phone, "phone-train-curves")  # Streamlit scrolls inside the page: a shot is what is in view
