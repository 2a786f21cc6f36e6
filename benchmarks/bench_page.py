"""What a person waits for in the browser: the real server, Debian's Chromium, measured side by side.

1. Click-to-first-points: from clicking Start (the book's run) until the live chart shows the run's first
   points; median over several clicks (target: within 2 s).
2. Responsiveness: time to open the Compare page (until its chart is drawn) with nothing training,
   against the same while the server trains 3 long runs; medians and their ratio.

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

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT))

from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, wait_until_healthy  # noqa: E402

FIRST_POINTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(plot =>
    (plot.data || []).some(t => (t.name || '').startsWith('#' + window.__run + ' ') && t.x.length > 0))"""


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


def open_compare(page, url: str) -> float:
    started = time.perf_counter()
    page.goto(url + "/compare")
    page.get_by_text("Runs to overlay").wait_for(timeout=30_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    return time.perf_counter() - started


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
        try:
            latencies = []
            for trial in range(args.trials):
                latencies.append(click_to_first_points(page, url, trial + 1))
                time.sleep(3)  # let the run finish so trials don't overlap
            idle = [open_compare(page, url) for _ in range(args.trials)]
            start_long_runs(page, url, count=3)  # trained by the server itself, as a class would
            busy = [open_compare(page, url) for _ in range(args.trials)]
        finally:
            browser.close()
            process.terminate()
    print(f"click Start -> first points: median {statistics.median(latencies):.2f} s "
          f"(min {min(latencies):.2f}, max {max(latencies):.2f}; {args.trials} clicks)")
    print(f"open Compare, idle:              median {statistics.median(idle):.2f} s")
    print(f"open Compare, 3 runs training:   median {statistics.median(busy):.2f} s "
          f"(ratio {statistics.median(busy) / statistics.median(idle):.2f})")


if __name__ == "__main__":
    main()
