"""The interface in Chinese, in Chromium with a zh-CN browser (no ``?lang=`` needed: the browser's language
decides): the Train page, and the class flow: the join screen, a student's Train page, the teacher's board,
a one-epoch run with its verdict and its curves, Share, Compare, the ranking and the reveal (the other
pages: ``test_chinese_pages.py``). On each, the Latin words left in the page's own text are counted (the
charts' text included: their titles, axes, legends and the sentence beneath each; Streamlit's icon ligatures
and commands to type aside; run names, numbers and the words the glossary keeps, e.g. SGD, softmax,
Fashion-MNIST, are allowed) and must be none, and each Chinese character on it must be drawn from a font,
not as a tofu box (CJK fonts come from .ci/run). Screenshots to look at go to artifacts/e2e/zh-*.png. An
English browser still gets English."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from softmax_core.i18n.glossary import load_glossary
from tests.e2e.class_helpers import LAPTOP, open_as_teacher, running_class
from tests.e2e.conftest import save_screenshot, wait_until_settled

pytestmark = pytest.mark.e2e
CODE, PASSWORD = "gray-otter-42-mint", "teach-zh"
CHINESE = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# the page's own text: what a person reads, with the text Plotly drew in each chart (titles, axes, legends:
# SVG text) and the caption beneath it that says its curves, without Streamlit's Material icons (words drawn
# in a symbol font) and commands to type (code); Streamlit's keyboard link to skip to the content (visible on
# focus) counts: the page words it in the reader's language. (A chart's element itself is set aside from the
# page's text and its SVG text read instead: its modebar and its hidden hover layer are no words a person reads.)
OWN_TEXT = """() => {
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"] svg text')]
    .map(e => e.textContent).join('\\n');
  const skipped = [
    ...document.querySelectorAll('[data-testid="stPlotlyChart"], code'),
    ...[...document.querySelectorAll('span, i')].filter(e => getComputedStyle(e).fontFamily.includes('Material')),
  ];
  skipped.forEach(e => e.style.setProperty('display', 'none', 'important'));
  const text = document.body.innerText;
  skipped.forEach(e => e.style.removeProperty('display'));
  return (text + '\\n' + charts).replaceAll('\\u2060', '');
}"""


def kept_words() -> set[str]:
    """The glossary's words kept in Latin (SGD, softmax, Fashion-MNIST, ...), and each word of them."""
    kept = {term.english for term in load_glossary() if term.kept}
    return {word.lower() for term in kept for word in [term, *term.split()]}


ALLOWED = kept_words() | {"english", "sgd", "adam"}  # the picker names English in itself; the optimizers' values


def latin_words(page, also_allowed: tuple[str, ...] = ()) -> list[str]:
    """The Latin words in the page's own text that neither the glossary keeps nor the test names (run and
    student names)."""
    text = page.evaluate(OWN_TEXT)
    for name in also_allowed:
        text = text.replace(name, " ")
    return [word for word in LATIN_WORD.findall(text) if word.lower() not in ALLOWED]


def assert_all_chinese(page, also_allowed: tuple[str, ...] = ()) -> None:
    """No Latin word left but those allowed, and no character drawn as a tofu box."""
    words = latin_words(page, also_allowed)
    assert words == [], (words, page.evaluate(OWN_TEXT))
    assert_no_tofu(page)


CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # Han characters and CJK punctuation
# Which of ``chars`` the browser draws as a missing glyph ("tofu"): each is drawn on a canvas in the page's
# own font (its fallbacks included, as the page draws text) and compared with a character no font has,
# which every font draws as its .notdef box.
TOFU = """(chars) => {
  const style = getComputedStyle(document.body);
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 48;
  const context = canvas.getContext('2d', {willReadFrequently: true});
  context.font = '32px ' + style.fontFamily;
  const drawn = (char) => {
    context.clearRect(0, 0, 48, 48);
    context.fillText(char, 4, 38);
    return context.getImageData(0, 0, 48, 48).data.join(',');
  };
  const missing = drawn('\\u{10FFFD}');  // a private-use character: no font draws it
  return chars.filter((char) => drawn(char) === missing);
}"""


def tofu_among(page, chars: list[str]) -> list[str]:
    return page.evaluate(TOFU, chars)


def assert_no_tofu(page) -> None:
    """Every Han character and CJK punctuation mark on the page is drawn from a font (CJK fonts: .ci/run)."""
    chars = sorted(set(CJK.findall(page.evaluate(OWN_TEXT))))
    assert chars, "no Chinese on the page"
    assert tofu_among(page, chars) == [], "drawn as tofu boxes"


def open_in_chinese(new_page, url: str):
    page = new_page(LAPTOP, **CHINESE)
    page.goto(url)
    return page


def test_train_page_in_chinese(new_page, server_url):
    page = open_in_chinese(new_page, server_url)
    page.get_by_role("heading", name="Fashion-MNIST 上的 softmax回归").wait_for()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("spinbutton", name="批量大小")).to_be_visible()
    expect(sidebar.get_by_role("button", name="开始")).to_be_visible()
    expect(sidebar.get_by_role("link", name="训练")).to_be_visible()  # the navigation
    wait_until_settled(page)
    words = latin_words(page)
    assert words == [], words
    assert_page_says_its_language(page, "zh-CN", "跳到主要内容")
    assert_no_tofu(page)
    assert tofu_among(page, ["训", "\U0010FFFC"]) == ["\U0010FFFC"], "a character no font has is found"
    save_screenshot(page, "zh-train")


SKIP_LINK = '[data-testid="stSkipToContent"]'


def assert_page_says_its_language(page, tag: str, skip_link: str) -> None:
    """``<html lang>`` names the page's language (Streamlit's index.html says 'en'), and the keyboard's
    skip link is in it."""
    expect(page.locator("html")).to_have_attribute("lang", tag)
    expect(page.locator(SKIP_LINK)).to_have_text(skip_link)


def test_an_english_browser_gets_english(new_page, server_url):
    page = new_page(LAPTOP, locale="en-US")
    page.goto(server_url)
    page.get_by_role("heading", name="Softmax regression on Fashion-MNIST").wait_for()
    expect(page.get_by_test_id("stSidebar").get_by_role("button", name="Start")).to_be_visible()
    assert_page_says_its_language(page, "en", "Skip to main content")


def test_the_picker_changes_the_pages_language(new_page, server_url):
    page = new_page(LAPTOP, locale="en-US")
    page.goto(server_url)
    page.get_by_role("heading", name="Softmax regression on Fashion-MNIST").wait_for()
    page.get_by_test_id("stSidebar").get_by_role("combobox", name="Language").click()
    page.get_by_role("option", name="中文").click()
    page.get_by_role("heading", name="Fashion-MNIST 上的 softmax回归").wait_for()
    assert_page_says_its_language(page, "zh-CN", "跳到主要内容")


def test_the_url_beats_the_browser(new_page, server_url):
    page = open_in_chinese(new_page, f"{server_url}/?lang=en")
    page.get_by_role("heading", name="Softmax regression on Fashion-MNIST").wait_for()


def test_join_student_train_and_board_in_chinese(new_page, tmp_path, real_data_dir):
    with running_class(tmp_path, real_data_dir, CODE, PASSWORD) as server:
        student = open_in_chinese(new_page, server.url)
        student.get_by_role("heading", name="加入课堂").wait_for()
        wait_until_settled(student)
        assert_all_chinese(student)
        save_screenshot(student, "zh-join")
        student.get_by_role("textbox", name="课堂码").fill(CODE)
        student.get_by_role("textbox", name="你的显示名称").fill("Lin")
        student.get_by_role("button", name="加入", exact=True).click()
        student.get_by_text("已在此浏览器上以").wait_for()
        student.get_by_role("heading", name="Fashion-MNIST 上的 softmax回归").wait_for()
        wait_until_settled(student)
        assert_all_chinese(student, also_allowed=("Lin",))
        save_screenshot(student, "zh-student-train")

        teacher = new_page(LAPTOP, **CHINESE)
        open_as_teacher(teacher, server, "/board")
        teacher.get_by_role("heading", name="课堂排行榜").wait_for()
        teacher.get_by_text("Lin，从").wait_for()
        wait_until_settled(teacher)
        assert_all_chinese(teacher, also_allowed=("Lin", CODE))
        save_screenshot(teacher, "zh-board")

        train_share_and_reveal(student, teacher)


def train_share_and_reveal(student, teacher) -> None:
    """The rest of the class flow: a one-epoch run with a validation split, its card and verdict, Share,
    the board's ranking, and the teacher's reveal with its reading, all in Chinese."""
    student.get_by_role("spinbutton", name="轮数").fill("1")
    student.get_by_role("button", name="开始").click()
    student.get_by_text("书中的检查").wait_for(timeout=180_000)
    student.get_by_role("switch", name="分享").wait_for()
    wait_until_settled(student)
    assert_all_chinese(student, also_allowed=("Lin",))  # the run's name too: the app made it, in Chinese here
    student.get_by_text("轮数 1，验证集").first.wait_for()  # stored as 'epochs 1, validation'
    assert "epochs 1, validation" not in student.evaluate(OWN_TEXT)
    save_screenshot(student, "zh-student-run")
    student.get_by_text("分享", exact=True).click()
    compare_in_chinese(student)
    teacher.get_by_role("columnheader", name="验证精度").wait_for(timeout=30_000)
    teacher.get_by_role("button", name="公布测试精度").click()
    teacher.get_by_text("测试集告诉我们什么").wait_for(timeout=30_000)
    wait_until_settled(teacher)
    assert_all_chinese(teacher, also_allowed=("Lin", CODE))
    save_screenshot(teacher, "zh-board-revealed")


PLOT_NAMES = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(plot => ({
    names: plot.data.map(trace => trace.name), x: plot._fullLayout.xaxis.title.text,
    y: plot._fullLayout.yaxis.title.text}))"""


def compare_in_chinese(student) -> None:
    """Compare, its charts included: the student's run overlaid, its curves named in the book's terms, and
    the camera's title Plotly's in Chinese (the SVG button's beside it)."""
    student.get_by_test_id("stSidebar").get_by_role("link", name="比较").click()
    student.get_by_role("heading", name="比较运行").wait_for()
    student.locator(".js-plotly-plot").nth(1).wait_for()
    wait_until_settled(student)
    loss, accuracy = student.evaluate(PLOT_NAMES)[:2]
    assert [name.rpartition("：")[2] for name in loss["names"]] == ["训练损失", "验证损失"], loss
    assert (loss["x"], loss["y"], accuracy["y"]) == ("轮", "损失", "精度")
    assert [name.rpartition("：")[2] for name in accuracy["names"]] == ["训练精度", "验证精度"], accuracy
    student.locator(".js-plotly-plot").first.hover()
    expect(student.locator('.modebar-btn[data-title="下载图表为 PNG"]').first).to_be_attached()
    expect(student.locator('.modebar-btn[data-title="下载图表为 SVG"]').first).to_be_attached()
    assert all("轮数 1，验证集" in name for name in loss["names"] + accuracy["names"]), (loss, accuracy)  # a legend
    assert_all_chinese(student, also_allowed=("Lin",))
    save_screenshot(student, "zh-compare")
