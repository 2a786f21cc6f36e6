"""The class board on a 1280x720 projector (``?present=1``), in Chromium: the ranking's top five rows in the
first screen, nothing of the teacher's (no control, no address a student joined from), chart text a back
row can read (>= 18 px) with one legend entry per run; the board follows the reveal made in another
session without a reload; and the QR code on the board decodes to the join link, which opens the join
form with the class code filled in."""

from __future__ import annotations

import pytest
from polling import wait_for

from softmax_core.classroom.names import canonical_name
from softmax_core.config import TrainConfig
from softmax_core.runs.store import MetricPoint, RunStore

from .class_helpers import PROJECTOR, controls_shown, join_by_link, open_as_teacher, read_join_qr, running_class
from .conftest import Server, save_screenshot

pytestmark = pytest.mark.e2e
CLASS_CODE, TEACHER_PASSWORD = "FM-101", "teach me softmax"
STUDENTS = ["Ada Lovelace", "Bob", "Chidi Anagonye", "Dana", "Eleanor Shellstrop", "Farid"]
HIDDEN = "Test accuracy stays hidden until the teacher reveals it"


@pytest.fixture
def class_server(tmp_path_factory, real_data_dir):
    with running_class(tmp_path_factory.mktemp("e2e-projector"), real_data_dir, CLASS_CODE, TEACHER_PASSWORD) as server:
        yield server


def shared_run(store: RunStore, student: str, place: int) -> int:
    """A student (joined from a made-up address) and a finished 5-epoch run of theirs with a validation
    split, shared to the board, with curves: ``place`` 0 has the best validation accuracy."""
    owner = store.classroom.add_student(student, joined_from=f"10.0.0.{place + 10}", name_key=canonical_name(student))
    run_id = store.create_run(TrainConfig(epochs=5, validation=True), f"{student}'s run", owner_id=owner)
    steps = 10
    store.add_points(run_id, [MetricPoint.of(epoch * steps + step, epoch + step / steps,
                                             train_loss=1.0 - 0.1 * epoch - 0.01 * step,
                                             train_acc=0.6 + 0.04 * epoch)
                              for epoch in range(5) for step in range(1, steps + 1)])
    val, test = 0.84 - 0.01 * place, 0.80 + 0.005 * place  # the test set reorders them
    with store.engine.begin() as conn:
        for epoch in range(1, 6):
            conn.exec_driver_sql(f"UPDATE points SET val_acc={val - 0.02 * (5 - epoch)}, "
                                 f"test_acc={test - 0.02 * (5 - epoch)} WHERE run_id={run_id} AND step={epoch * steps}")
        conn.exec_driver_sql(f"UPDATE runs SET status='finished', final_train_loss=0.5, final_train_acc=0.8, "
                             f"final_val_acc={val}, final_test_acc={test} WHERE id={run_id}")
    assert store.set_shared(run_id, True)
    return run_id


def board_projector(new_page, server: Server):
    page = new_page()
    page.set_viewport_size(PROJECTOR)
    open_as_teacher(page, server, "/board?present=1")
    page.locator('[data-testid="stTable"] tbody tr').nth(len(STUDENTS) - 1).wait_for(timeout=30_000)
    page.locator(".js-plotly-plot .legend").first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)  # the chart's text is laid out
    return page


def test_the_projected_board_fits_the_ranking_hides_the_teachers_side_and_reads_from_the_back(new_page,
                                                                                               class_server):
    store = RunStore(class_server.db_url)
    run_ids = [shared_run(store, student, place) for place, student in enumerate(STUDENTS)]
    page = board_projector(new_page, class_server)
    save_screenshot(page, "projector-board-1280x720")

    rows = page.locator('[data-testid="stTable"] tbody tr')
    for index in range(5):
        box = rows.nth(index).bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PROJECTOR["height"], (index, box)
    assert STUDENTS[0] in rows.nth(0).inner_text()

    text = page.locator("body").inner_text()
    assert "joined from" not in text and "10.0.0." not in text, "no student's address on the projector"
    assert controls_shown(page) == [], "no teacher's control on the projector"

    assert_chart_reads_from_the_back(page.locator(".js-plotly-plot").first, runs=5)
    assert "test" not in text.replace(HIDDEN, ""), "no test accuracy before the reveal"
    save_screenshot(page, "projector-board-curves")  # the curves, as the back row sees them

    page.goto(f"{class_server.url}/compare?runs={','.join(map(str, run_ids[:4]))}&present=1")
    chart = page.locator(".js-plotly-plot").first
    chart.locator(".legend").wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    assert_chart_reads_from_the_back(chart, runs=4)
    chart.scroll_into_view_if_needed()
    save_screenshot(page, "projector-compare-4-runs")


def assert_chart_reads_from_the_back(chart, runs: int) -> None:
    """Every text of the chart at least 18 px, one legend entry per run (no metric in it), and panels that
    keep their height with the legend below them."""
    chart.scroll_into_view_if_needed()
    sizes = chart.evaluate("""plot => Array.from(plot.querySelectorAll('svg text'))
        .filter(t => t.textContent.trim() && t.getBoundingClientRect().width > 0)
        .map(t => [t.textContent, parseFloat(getComputedStyle(t).fontSize)])""")
    small = [(words, size) for words, size in sizes if size < 18]
    assert sizes and not small, f"chart text under 18 px: {small}"
    legend = chart.evaluate("""plot => Array.from(plot.querySelectorAll('g.legend .traces'))
        .map(t => t.textContent)""")
    assert len(legend) == runs and not [entry for entry in legend if "acc" in entry or "loss" in entry], legend
    plot_area = chart.locator(".draglayer .xy .nsewdrag").first.bounding_box()
    assert plot_area["height"] >= 250, f"the curves keep their size: {plot_area}"


def test_the_projected_board_follows_the_reveal_made_in_another_session(new_page, class_server):
    store = RunStore(class_server.db_url)
    for place, student in enumerate(STUDENTS[:2]):
        shared_run(store, student, place)
    projector = new_page()
    projector.set_viewport_size(PROJECTOR)
    open_as_teacher(projector, class_server, "/board?present=1")
    projector.get_by_text(HIDDEN).wait_for(timeout=30_000)
    teacher = new_page()
    open_as_teacher(teacher, class_server, "/board")
    teacher.get_by_role("button", name="Reveal test accuracy").click()
    wait_for(lambda: store.classroom.class_state().get("revealed"), timeout=10, what="the reveal")
    projector.get_by_text(HIDDEN).wait_for(state="detached", timeout=10_000)  # its refresh: every 3 s
    projector.get_by_text("What the test set says").wait_for(timeout=10_000)
    assert "test acc" in projector.locator('[data-testid="stTable"]').inner_text()
    save_screenshot(projector, "projector-board-revealed")


def test_the_qr_code_decodes_to_the_join_link_which_fills_in_the_code(new_page, class_server):
    projector = new_page()
    projector.set_viewport_size(PROJECTOR)
    open_as_teacher(projector, class_server, "/board?present=1")
    qr = projector.locator('img[data-testid="join-qr"]')
    qr.wait_for(timeout=30_000)
    assert "QR code of the join link" in qr.get_attribute("alt")
    box = qr.bounding_box()
    assert box["width"] >= 250 and box["y"] + box["height"] <= PROJECTOR["height"], "big, and in the first screen"
    link = read_join_qr(projector)
    assert link == f"{class_server.url}/?code={CLASS_CODE}", link
    assert link.split("?")[0].rstrip("/") in projector.locator("body").inner_text().replace("\u2060", "")
    join_by_link(new_page(), link, CLASS_CODE, "Grace")
