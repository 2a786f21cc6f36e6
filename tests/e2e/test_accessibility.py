"""Every page of the app audited by axe-core in Chromium, alone and in classroom mode (the join screen, a
student's pages, the teacher's board and the projector's), in the light and the dark colour scheme, at a
laptop's 1366x768 and a phone's 390x844. A page fails on any violation the app causes. What Streamlit's
own markup causes is let through only by ``STREAMLIT_OWN`` below: a rule, the elements it may flag there,
and the Streamlit issue that tracks it. axe-core comes from the npm registry (``tests/e2e/package.json``,
installed by ``.ci/run`` with ``npm ci --prefix tests/e2e``). Screenshots: artifacts/e2e/a11y-*.png."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from softmax_core.book.data import load_fashion_mnist
from softmax_core.book.train import fit
from softmax_core.classroom.auth import hash_password, make_teacher_link
from softmax_core.classroom.names import canonical_name
from softmax_core.config import TrainConfig
from softmax_core.runs.recording_callback import RecordingCallback
from softmax_core.runs.store import RunStore

from .conftest import ARTIFACTS, Server, wait_until_settled
from .test_classroom_mode import CLASS_CODE, TEACHER_PASSWORD, join
from .test_pages import seed_runs, seed_sweep

pytestmark = pytest.mark.e2e
AXE_JS = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
SCHEMES = ("light", "dark")  # a scheme the app doesn't follow draws the light theme, and must pass too
SIZES = {"1366x768": {"width": 1366, "height": 768}, "390x844": {"width": 390, "height": 844}}


@dataclass(frozen=True)
class Allowed:
    """A violation of ``rule`` on an element inside ``selector``, which Streamlit's own markup causes."""

    rule: str
    selector: str
    issue: str  # the Streamlit issue that tracks it


STREAMLIT_OWN: tuple[Allowed, ...] = ()


@dataclass(frozen=True)
class Visit:
    """A page to audit: its address, what shows once it is drawn, a tab to click first, if any, and the
    screen sizes it is seen at."""

    path: str
    drawn: str
    tab: str = ""
    sizes: tuple[str, ...] = tuple(SIZES)


def solo_visits(ids: dict) -> dict[str, Visit]:
    book, bigger = ids["book"], ids["bigger batch"]
    visits = {
        "train": Visit("/", "No run in this view yet"),
        "train-run": Visit(f"/train?runs={book}", "The book's checks"),
        "compare": Visit(f"/compare?runs={book},{bigger}", "What differs"),
        "inspect": Visit(f"/inspect?run={book}", "Most confidently wrong"),
        "inspect-diverged": Visit(f"/inspect?run={ids['blows up']}", "loss became NaN"),
        "sweep": Visit(f"/sweep?sweep={ids['sweep']}", "What the grid says"),
        "sweep-new": Visit("/sweep", "New sweep"),
    }
    for index, tab in enumerate(LESSON_TABS, start=1):
        visits[f"lessons-{index}"] = Visit("/lessons", "Lessons: section 3.7, hands on", tab)
    return visits


LESSON_TABS = ("Exercise 1: batch size and lr", "Exercise 2: overfitting or noise?", "Numerical stability",
               "Change one thing", "Repeat with seeds")
SOLO_PAGES = ["train", "train-run", "compare", "inspect", "inspect-diverged", "sweep", "sweep-new",
              *(f"lessons-{index}" for index in range(1, len(LESSON_TABS) + 1))]


def class_visits(run_id: int) -> dict[str, tuple[str, Visit]]:
    """Who opens which page in the class: nobody (the join screen), the student Ada, or the teacher."""
    return {
        "join": ("nobody", Visit("/", "Join the class")),
        "student-train": ("student", Visit("/", "Signed in as")),
        "student-lessons": ("student", Visit("/lessons", "Lessons: section 3.7, hands on")),
        "student-compare": ("student", Visit(f"/compare?runs={run_id}", "What differs")),
        "student-inspect": ("student", Visit(f"/inspect?run={run_id}", "Most confidently wrong")),
        "student-sweep": ("student", Visit("/sweep", "New sweep")),
        "student-board": ("student", Visit("/board", "Class board")),
        "teacher-board": ("teacher", Visit("/board", "Students (")),
        "teacher-inspect": ("teacher", Visit(f"/inspect?run={run_id}", "Most confidently wrong")),
        "projector-board": ("teacher", Visit("/board?present=1", "Class code", sizes=("1366x768",))),  # no phone
    }


CLASS_PAGES = ["join", "student-train", "student-lessons", "student-compare", "student-inspect", "student-sweep",
               "student-board", "teacher-board", "teacher-inspect", "projector-board"]


@pytest.fixture(scope="module")
def axe_script() -> Path:
    if not AXE_JS.is_file():
        if os.environ.get("CI") or os.environ.get("SOFTMAX_LAB_REQUIRE_SERVICES"):
            pytest.fail(f"axe-core is missing: .ci/run installs it ({AXE_JS})")
        pytest.skip("axe-core is not installed: npm ci --prefix tests/e2e")
    return AXE_JS


@pytest.fixture(scope="module")
def solo_site(tmp_path_factory, real_data_dir):
    folder = tmp_path_factory.mktemp("a11y")
    db_url = f"sqlite:///{folder}/runs.db"
    ids = seed_runs(db_url)
    ids["sweep"] = seed_sweep(db_url, real_data_dir)
    server = Server(db_url, real_data_dir, folder / "streamlit.log").start()
    try:
        yield server.url, solo_visits(ids)
    finally:
        server.stop()


def seed_shared_run(db_url: str, data_dir: Path) -> int:
    """A classmate's finished one-epoch run on the real data with a validation split, shared to the board."""
    store = RunStore(db_url)
    owner = store.classroom.add_student("Grace", joined_from="10.0.0.7", name_key=canonical_name("Grace"))
    config = TrainConfig(epochs=1, validation=True)
    run_id = store.create_run(config, "Grace's run", owner_id=owner)
    fit(config, load_fashion_mnist(data_dir, download=False), [RecordingCallback(store, run_id)])
    assert store.set_shared(run_id, True)
    return run_id


@pytest.fixture(scope="module")
def class_site(tmp_path_factory, real_data_dir, browser):
    """A class with a classmate's shared run, and the signed-in browser states of a student and the teacher."""
    folder = tmp_path_factory.mktemp("a11y-class")
    db_url = f"sqlite:///{folder}/runs.db"
    run_id = seed_shared_run(db_url, real_data_dir)
    env = {"SOFTMAX_LAB_CLASS_CODE": CLASS_CODE, "SOFTMAX_LAB_TEACHER_PASSWORD": hash_password(TEACHER_PASSWORD)}
    server = Server(db_url, real_data_dir, folder / "streamlit.log", env=env).start()
    try:
        states = {"nobody": None, "student": signed_in_state(browser, lambda page: join(page, server.url, "Ada"))}
        link = make_teacher_link(RunStore(db_url).classroom)
        states["teacher"] = signed_in_state(browser, lambda page: sign_in_teacher(page, server.url, link))
        yield server.url, class_visits(run_id), states
    finally:
        server.stop()


def sign_in_teacher(page, url: str, link: str) -> None:
    page.goto(f"{url}/auth/sign-in?{urlencode({'pass': link, 'next': '/board'})}")
    page.get_by_text("Students (").first.wait_for()


def signed_in_state(browser, sign_in) -> dict:
    """The cookies of a browser that ``sign_in`` signed in, to open later pages with."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        sign_in(page)
        return context.storage_state()
    finally:
        context.close()


AXE_RUN_JS = """async allowed => {
    const results = await axe.run(document, {resultTypes: ['violations']});
    const element = target => {
        let node = document;
        for (const part of target) node = (node.shadowRoot || node).querySelector(part);
        return node;
    };
    const streamlits = (rule, target) => allowed.some(([id, selector]) => {
        const node = element([].concat(target));
        return id === rule && node && node.closest(selector);
    });
    return results.violations.map(v => ({
        rule: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.filter(n => !streamlits(v.id, n.target))
                      .map(n => ({target: n.target, html: n.html.slice(0, 200), why: n.failureSummary,
                                  inside: element([].concat(n.target))?.closest('[data-testid]')?.dataset.testid})),
    })).filter(v => v.nodes.length);
}"""


def audit(page, axe_script: Path) -> list[dict]:
    """axe-core's violations on the page as drawn now, less those that ``STREAMLIT_OWN`` lets through."""
    page.add_script_tag(path=str(axe_script))
    return page.evaluate(AXE_RUN_JS, [[allowed.rule, allowed.selector] for allowed in STREAMLIT_OWN])


def audit_at_both_sizes(page, visit: Visit, url: str, name: str, axe_script: Path, scheme: str) -> list[str]:
    """Open the page at a laptop's size, audit it, shoot it; then the same at a phone's size (the whole
    page is shot in the light scheme only, to keep the suite's time)."""
    page.goto(url + visit.path)
    page.get_by_text(visit.drawn).first.wait_for()
    if visit.tab:
        page.get_by_role("tab", name=visit.tab).click()
        page.wait_for_timeout(1000)
    found = []
    for size in visit.sizes:
        viewport = SIZES[size]
        page.set_viewport_size(viewport)
        wait_until_settled(page)
        page.screenshot(path=str(ARTIFACTS / f"a11y-{name}-{size}.png"))
        found += [describe(violation, size) for violation in audit(page, axe_script)]
        if scheme == "light":
            shoot_whole_page(page, viewport, ARTIFACTS / f"a11y-{name}-{size}-whole.png")
    return found


def shoot_whole_page(page, viewport: dict, path: Path) -> None:
    """The whole page at this width: Streamlit scrolls inside its main area, so a full-page screenshot
    holds only what is in view; a viewport as tall as the content holds all of it."""
    height = page.evaluate("""() => Math.max(document.documentElement.scrollHeight,
        ...Array.from(document.querySelectorAll('[data-testid="stMain"], [data-testid="stSidebarContent"]'))
            .map(element => element.scrollHeight))""")
    page.set_viewport_size({"width": viewport["width"], "height": min(max(height, viewport["height"]), 6000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))


def describe(violation: dict, size: str) -> str:
    nodes = "\n".join(f"    {node['target']} in {node['inside']}: {node['html']}\n      {node['why']}"
                      for node in violation["nodes"])
    return f"{violation['rule']} ({violation['impact']}, {size}): {violation['help']}\n{nodes}"


def open_in(browser, scheme: str, state: dict | None = None):
    context = browser.new_context(viewport=SIZES["1366x768"], color_scheme=scheme, storage_state=state)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("name", SOLO_PAGES)
def test_a_page_alone_has_no_accessibility_violation(browser, solo_site, axe_script, name, scheme):
    url, visits = solo_site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context, page = open_in(browser, scheme)
    try:
        found = audit_at_both_sizes(page, visits[name], url, f"{name}-{scheme}", axe_script, scheme)
    finally:
        context.close()
    assert not found, "\n".join(found)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("name", CLASS_PAGES)
def test_a_classroom_page_has_no_accessibility_violation(browser, class_site, axe_script, name, scheme):
    url, visits, states = class_site
    who, visit = visits[name]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context, page = open_in(browser, scheme, states[who])
    try:
        found = audit_at_both_sizes(page, visit, url, f"class-{name}-{scheme}", axe_script, scheme)
    finally:
        context.close()
    assert not found, "\n".join(found)
