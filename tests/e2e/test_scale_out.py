"""The dashboard's main flows on the scale-out stack: runs trained as Ray tasks (``SOFTMAX_LAB_EXECUTOR=ray``,
a local Ray instance) into a real PostgreSQL database. Start a run, watch its curves grow to the verdict,
find it on Compare, and read on Inspect where it trained."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Server, body_text, save_screenshot
from tests.e2e.test_dashboard import finished_traces

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ray_server(tmp_path_factory, real_data_dir, postgres_server):
    import services

    db_url, drop = services.fresh_database(postgres_server)
    folder = tmp_path_factory.mktemp("e2e-ray")
    server = Server(db_url, real_data_dir, folder / "streamlit.log",
                    env={"SOFTMAX_LAB_EXECUTOR": "ray", "RAY_ADDRESS": ""}).start()
    try:
        yield server
    finally:
        server.stop()
        drop()


def test_a_run_on_ray_into_postgresql_grows_its_curves_to_the_verdict_and_shows_on_compare(page, ray_server):
    page.goto(ray_server.url)
    page.get_by_role("button", name="Start").click()
    page.get_by_text("The book's checks pass").wait_for(timeout=120_000)
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(plot =>
            (plot.data || []).some(t => (t.name || '').endsWith('test acc') && t.x.length === 10))""",
        timeout=30_000)
    traces = finished_traces(page)
    assert [t["x"] for t in traces if t["name"].endswith("test acc")] == [list(range(1, 11))]
    assert "train loss 0.44" in body_text(page)
    run_id = page.url.split("runs=")[1].split("&")[0]
    save_screenshot(page, "ray-postgresql-train")
    page.goto(f"{ray_server.url}/compare?runs={run_id}")
    page.get_by_text(f"#{run_id}").first.wait_for()
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(plot =>
            (plot.data || []).some(t => (t.name || '').endsWith('test acc') && t.x.length === 10))""",
        timeout=30_000)
    save_screenshot(page, "ray-postgresql-compare")
    page.goto(f"{ray_server.url}/inspect?run={run_id}")  # Compare's grid is a canvas; Inspect says it in text
    where = page.get_by_text("Trained on cpu on").first
    where.wait_for()
    assert ", Ray node " in where.inner_text() and ", process " in where.inner_text()
