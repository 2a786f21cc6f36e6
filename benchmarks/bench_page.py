"""What a person waits for in the browser: the real server, Debian's Chromium, measured side by side.

1. Click-to-first-points: from clicking Start (the book's run) until the live chart shows the run's first
   points; median over several clicks (target: within 2 s).
2. Responsiveness: time to open the Compare page (until its chart is drawn) with nothing training,
   against the same while the server trains 3 long runs; medians and their ratio, each timed three ways
   (``CompareTimer``: painted on the page, the server's answer, Playwright's round trip).

    python benchmarks/bench_page.py             # needs Debian's chromium and the real data
    python benchmarks/bench_page.py --trials 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT))

from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, wait_until_healthy  # noqa: E402

FIRST_POINTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(plot =>
    (plot.data || []).some(t => (t.name || '').startsWith('#' + window.__run + ' ') && t.x.length > 0))"""

# Marks on the page's own clock (0 = the navigation's start): the first frame after Compare's chart and run
# table are both in the document, and how long before it the server's answer took (from the websocket's
# opening to its last message before that frame).
COMPARE_MARKS_JS = """
window.__marks = {painted: 0, served: 0, opened: 0, lastMessage: 0};
const PageWebSocket = window.WebSocket;
window.WebSocket = class extends PageWebSocket {
  constructor(...args) {
    super(...args);
    window.__marks.opened = performance.now();
    this.addEventListener('message', () => { window.__marks.lastMessage = performance.now(); });
  }
};
let seen = false;
new MutationObserver(() => {
  const drawn = document.querySelector('.js-plotly-plot') && document.body.innerText.includes('Runs to overlay');
  if (seen || !drawn) return;
  seen = true;
  window.__marks.served = window.__marks.lastMessage - window.__marks.opened;
  requestAnimationFrame(() => { window.__marks.painted = performance.now(); });
}).observe(document, {subtree: true, childList: true});
"""


class CompareTiming(NamedTuple):
    round_trip: float
    painted: float
    served: float


def start_server(db_url: str, data_dir: str):
    import os
    import subprocess

    port = free_port()
    env = {**os.environ, "SOFTMAX_LAB_DB": db_url, "SOFTMAX_LAB_DATA": data_dir}
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                "--server.headless", "true"], cwd=REPO_ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_until_healthy(url, process)
    return process, url


def click_to_first_points(page, url: str, run_number: int) -> float:
    page.goto(url)
    page.get_by_role("button", name="Start").wait_for()
    page.evaluate(f"window.__run = {run_number}")
    clicked = time.perf_counter()
    page.get_by_role("button", name="Start").click()
    page.wait_for_function(FIRST_POINTS_JS, timeout=30_000, polling=50)
    return time.perf_counter() - clicked


class CompareTimer:
    """Opens Compare in one Chromium page and times it three ways, each from the navigation's start:
    ``round_trip``, until Playwright reports the chart and the run table (Playwright's own polling and
    driver are in it: on 2 cores it adds 0 or about 0.35 s, at random); ``painted``, the page's own clock
    at the first frame after both are in the document (what a person sees); and ``served``, the server's
    part of it: from the page's websocket opening to the server's last message before that frame."""

    def __init__(self, page):
        self.page = page
        page.add_init_script(COMPARE_MARKS_JS)

    def open(self, url: str, query: str = "") -> CompareTiming:
        started = time.perf_counter()
        self.page.goto(f"{url}/compare{query}")
        self.page.get_by_text("Runs to overlay").wait_for(timeout=30_000)
        self.page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        round_trip = time.perf_counter() - started
        self.page.wait_for_function("window.__marks.painted > 0", timeout=30_000)
        marks = self.page.evaluate("window.__marks")
        return CompareTiming(round_trip, marks["painted"] / 1000, marks["served"] / 1000)


def start_long_runs(page, url: str, count: int) -> None:
    page.goto(url)
    epochs = page.get_by_role("spinbutton", name="Epochs")
    epochs.fill("200")
    epochs.press("Tab")
    for _ in range(count):
        page.get_by_role("button", name="Start").click()
        page.wait_for_timeout(500)
    page.get_by_text("running").first.wait_for()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--data-dir", default=str(REPO_ROOT.parent / "shared" / "data" / "fashion-mnist"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        db_url = f"sqlite:///{folder}/runs.db"
        process, url = start_server(db_url, args.data_dir)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        compare = CompareTimer(page)
        try:
            latencies = []
            for trial in range(args.trials):
                latencies.append(click_to_first_points(page, url, trial + 1))
                time.sleep(3)  # let the run finish so trials don't overlap
            idle = [compare.open(url) for _ in range(args.trials)]
            start_long_runs(page, url, count=3)  # trained by the server itself, as a class would
            busy = [compare.open(url) for _ in range(args.trials)]
        finally:
            browser.close()
            process.terminate()
    print(f"click Start -> first points: median {statistics.median(latencies):.2f} s "
          f"(min {min(latencies):.2f}, max {max(latencies):.2f}; {args.trials} clicks)")
    for line in compare_lines(idle, busy, "3 runs training"):
        print(line)


def compare_lines(idle: list[CompareTiming], busy: list[CompareTiming], busy_with: str) -> list[str]:
    """Opening Compare idle and busy, each way it is timed: medians and their ratio."""
    lines = []
    ways = (("painted", "painted on the page"), ("served", "the server's answer (websocket open to last message)"),
            ("round_trip", "Playwright's round trip"))
    for way, what in ways:
        calm, loaded = (statistics.median(getattr(timing, way) for timing in timings) for timings in (idle, busy))
        lines.append(f"   open Compare, {what}: idle median {calm:.2f} s; {busy_with} {loaded:.2f} s: "
                     f"ratio {loaded / calm:.2f}")
    return lines


if __name__ == "__main__":
    main()
