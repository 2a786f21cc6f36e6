"""The Lessons, Inspect, Sweep and Compare pages in Chinese, in Chromium with a zh-CN browser, on one server
(tests/e2e/test_chinese.py does Train and the class flow): each tab of the Lessons page (Exercise 1 with its
runs trained and its computed reading) and its Glossary, Inspect of a one-epoch run (its class templates,
confusion matrix and per-class accuracy, the classes in the book's Chinese names), a 2 x 2 sweep run to its
end with its heatmap and reading, and Compare with a run that diverged (its missing values a mark, not
'None'; where it trained in Chinese). On each, the Latin words left in the page's own text (the charts' and
the data grids' text included; run names, numbers and the glossary's kept words aside) must be none.
Screenshots to look at: artifacts/e2e/zh-*.png."""

from __future__ import annotations

import re
import socket

import pytest
from playwright.sync_api import expect

from softmax_core.runs.store import EVERYTHING, RunStore
from tests.e2e.conftest import Server, save_screenshot, wait_until_settled
from tests.e2e.test_chinese import ALLOWED, CHINESE, LATIN_WORD, OWN_TEXT, assert_all_chinese

pytestmark = pytest.mark.e2e
HOST = socket.gethostname()  # where a run trained: a machine's name is data, as a run's name is
TALL = {"width": 1366, "height": 2400}  # Streamlit scrolls inside its page: a tall screen shows it all at once
WIDE = {"width": 2800, "height": 1600}  # a data grid puts in its page only the columns in view: all of them
LESSON_TABS = ["练习 1：批量大小和学习率", "练习 2：过拟合还是噪声？", "数值稳定性", "只改一处", "用多个种子重复"]
CLASS_NAMES = {"T恤", "裤子", "套衫", "连衣裙", "外套", "凉鞋", "衬衫", "运动鞋", "包", "短靴"}
# what a data grid holds: it draws on a canvas, and keeps its cells in a table for screen readers
GRID_CELLS = """grid => Array.from(grid.querySelectorAll('table tr'))
    .map(row => Array.from(row.querySelectorAll('th, td')).map(cell => cell.textContent))"""

ENGLISH_COLUMN = """table => {
  const column = Array.from(table.querySelectorAll('thead th')).findIndex(th => th.textContent.trim() === 'English');
  return Array.from(table.querySelectorAll('tbody tr')).map(row => row.cells[column].textContent.trim()); }"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, real_data_dir):
    folder = tmp_path_factory.mktemp("zh-pages")
    server = Server(f"sqlite:///{folder}/runs.db", real_data_dir, folder / "streamlit.log").start()
    try:
        yield server
    finally:
        server.stop()


def data_words(server: Server) -> tuple[str, ...]:
    """What the page shows as data, allowed in Latin: a sweep's id (in its runs' names: '扫描 c39ce51a：...'),
    the machine a run trained on, and the book's own 'T恤'. No run's name: these tests type none, and the names
    the app makes (Train's, the lessons', a sweep's) are said in Chinese."""
    sweeps = {run.tags["sweep"] for run in RunStore(server.db_url).list_runs(scope=EVERYTHING) if "sweep" in run.tags}
    return (*sorted(sweeps), HOST, "T恤")


def check_chinese(page, server: Server, also_allowed: tuple[str, ...] = ()) -> None:
    """No Latin word but data and the glossary's kept words, and no bold shown with its asterisks."""
    assert_all_chinese(page, data_words(server) + also_allowed)
    assert "**" not in page.evaluate(OWN_TEXT), page.evaluate(OWN_TEXT)


def open_tab(page, label: str) -> None:
    page.get_by_role("tab", name=label).click()
    expect(page.get_by_role("tab", name=label)).to_have_attribute("aria-selected", "true")
    wait_until_settled(page)


def test_the_lessons_page_its_tabs_and_glossary_in_chinese(new_page, site):
    page = new_page(TALL, **CHINESE)
    page.goto(f"{site.url}/lessons")
    page.get_by_role("heading", name="课程：动手实践 3.7 节").wait_for()
    expect(page.get_by_role("tab")).to_have_text(LESSON_TABS)
    page.get_by_role("button", name="运行书中的设置、批量大小 1024 和学习率 0.4").click()
    page.get_by_text("书中的检查", exact=True).wait_for(timeout=180_000)
    page.get_by_role("button", name="运行这些修正来验证").wait_for()
    wait_until_settled(page)
    reading = page.get_by_test_id("stMain").inner_text()
    assert reading.count("书中的检查") >= 3 and "为什么" in reading, reading
    check_chinese(page, site)
    save_screenshot(page, "zh-lessons-exercise-1")
    for label in LESSON_TABS[1:]:
        open_tab(page, label)
        if label == "数值稳定性":  # the pair of real runs (3 epochs, one goes NaN at once) and what they did
            page.get_by_role("button", name="训练这一对").click()
            page.get_by_text("保持有限").wait_for(timeout=120_000)
            page.get_by_text("变为 NaN").first.wait_for()
            wait_until_settled(page)
        check_chinese(page, site)
        save_screenshot(page, f"zh-lessons-tab-{LESSON_TABS.index(label) + 1}")
    page.get_by_text("术语表：书中术语的英文和中文").click()
    glossary = page.get_by_test_id("stExpander").get_by_test_id("stTable")
    glossary.wait_for()
    for english, chinese in (("batch size", "批量大小"), ("learning rate", "学习率"), ("overfitting", "过拟合")):
        expect(glossary.get_by_role("row").filter(has_text=english)).to_contain_text(chinese)
    # the glossary's English column is English on purpose; every other word on the page is counted
    english_column = glossary.evaluate(ENGLISH_COLUMN)
    assert "batch size" in english_column, english_column
    check_chinese(page, site, tuple(sorted(english_column, key=len, reverse=True)))
    save_screenshot(page, "zh-lessons-glossary")


def train_one_epoch(page, server: Server) -> None:
    """A one-epoch run from the Train page (the sidebar's epochs stay 1 for what the session starts next)."""
    page.goto(server.url)
    page.get_by_role("heading", name="Fashion-MNIST 上的 softmax回归").wait_for()
    page.get_by_role("spinbutton", name="轮数").fill("1")
    page.get_by_role("button", name="开始").click()
    page.get_by_text("书中的检查").first.wait_for(timeout=180_000)


def test_inspect_a_finished_run_in_chinese(new_page, site):
    page = new_page(TALL, **CHINESE)
    train_one_epoch(page, site)
    run_id = int(re.search(r"runs=(\d+)", page.url).group(1))
    page.goto(f"{site.url}/inspect?run={run_id}")
    page.get_by_role("heading", name="第 1 轮后的类别模板").wait_for()
    page.get_by_role("heading", name="测试集上的混淆矩阵").wait_for()
    page.get_by_role("heading", name="各类别的精度").wait_for()
    page.locator(".js-plotly-plot").nth(1).wait_for()
    wait_until_settled(page)
    charts = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot svg text'))
        .map(e => e.textContent)""")
    assert CLASS_NAMES <= set(charts), charts
    check_chinese(page, site)
    save_screenshot(page, "zh-inspect")


FILLED_CELLS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(plot =>
    (plot.data || []).some(t => (t.x || []).length === 4))"""


def test_a_sweep_to_its_end_in_chinese(new_page, site):
    page = new_page(TALL, **CHINESE)
    train_one_epoch(page, site)  # the sweep takes its other settings from the Train form: one epoch
    page.get_by_test_id("stSidebar").get_by_role("link", name="扫描").click()
    page.get_by_role("heading", name="扫描：超参数网格").wait_for()
    for label, values in (("批量大小取值", "512, 1024"), ("学习率取值", "0.1, 0.4")):
        box = page.get_by_role("textbox", name=label)
        box.fill(values)
        box.press("Enter")
    page.get_by_text("= 4 次运行").wait_for()
    wait_until_settled(page)
    check_chinese(page, site)
    page.get_by_role("button", name="开始扫描").click()
    page.get_by_text("全部 4 次运行已结束").wait_for(timeout=240_000)
    page.wait_for_function(FILLED_CELLS_JS, timeout=30_000)
    page.get_by_role("heading", name="网格说明了什么").wait_for()
    wait_until_settled(page)
    assert "最低的最终训练损失是" in page.get_by_test_id("stMain").inner_text()
    cell = page.locator(".js-plotly-plot .scatterlayer .trace").first.locator(".point").first.bounding_box()
    page.mouse.click(cell["x"] + cell["width"] / 2, cell["y"] + cell["height"] / 2)  # a cell: its runs' curves
    page.get_by_role("heading", name=re.compile("^格子（.*）中的运行$")).wait_for()
    page.wait_for_function("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(plot =>
        (plot.data || []).some(t => (t.name || '').endsWith('训练损失') && (t.name || '').includes('扫描 ')))""")
    wait_until_settled(page)
    check_chinese(page, site)
    save_screenshot(page, "zh-sweep")


def train_a_diverging_run(page, server: Server) -> int:
    """The scratch model (naive softmax) at learning rate 10: its logits overflow within a few steps."""
    page.goto(server.url)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("spinbutton", name="学习率").fill("10")
    sidebar.get_by_role("spinbutton", name="轮数").fill("1")
    sidebar.get_by_text("更多设置").click()
    wait_until_settled(page)  # the fields' rerun redraws the sidebar: a list opened before it would close
    sidebar.get_by_role("combobox", name=re.compile("^实现")).click()
    page.get_by_role("option", name="从零实现（3.6）").click()
    sidebar.get_by_role("button", name="开始").click()
    page.get_by_text("已发散").first.wait_for(timeout=120_000)
    return int(re.search(r"runs=(\d+)", page.url).group(1))


def test_compare_with_a_diverged_run_in_chinese(new_page, site):
    page = new_page(WIDE, **CHINESE)
    diverged = train_a_diverging_run(page, site)
    finished = [run.id for run in RunStore(site.db_url).list_runs(scope=EVERYTHING) if run.status == "finished"]
    page.goto(f"{site.url}/compare?runs={','.join(map(str, [diverged, *finished[:1]]))}")  # beside a run that ended
    page.get_by_role("heading", name="比较运行").wait_for()
    page.get_by_text("已发散").first.wait_for()
    wait_until_settled(page)
    names = data_words(site)
    for index, key in enumerate(("runs", "differences")):
        grid = page.get_by_test_id("stDataFrame").nth(index)
        grid.locator("table").wait_for(state="attached")
        cells = grid.evaluate(GRID_CELLS)
        assert len(cells) >= 2, (key, cells)
        diverged_row = next(row for row in cells if str(diverged) in row or f"#{diverged} " in row[0])
        assert "已发散" in diverged_row and "—" in diverged_row, (key, diverged_row)
        text = "\n".join("\t".join(row) for row in cells)
        assert "None" not in text and "nan" not in text.lower(), cells
        for name in names:
            text = text.replace(name, " ")
        words = latin_words_in(text)
        assert words == [], (key, words, cells)
    check_chinese(page, site)
    save_screenshot(page, "zh-compare-diverged")


def latin_words_in(text: str) -> list[str]:
    """``latin_words`` for text read out of a data grid (numbers aside, the glossary's kept words allowed)."""
    return [word for word in LATIN_WORD.findall(text) if word.lower() not in ALLOWED]
