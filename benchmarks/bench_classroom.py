"""A class on one 2-core server: N Chromium viewers on one core, the server and its workers on the other.

Measured in one run, side by side:

1. Every viewer presses Start with the book's defaults. Time until every viewer shows its verdict,
   against one CLI process training as many epochs (N x 10) on the server's core, alternated
   ``--rounds`` times: the median ratio (target: at most 1.3 at N = 8). Also when the store saw the
   last run end, and the viewers' core's load: if it saturates, the browsers are the bottleneck.
2. The server process's own CPU time (utime + stime from /proc/<pid>/stat; its worker processes are
   not in it) while N viewers watch two runs train, against the same with no viewer: per viewer,
   as a share of one core (target: at most 3%).
3. Click-to-first-point on a freshly started server: from the click on Start to the run's first point
   on the live chart; median over fresh starts (target: at most 1 s).

    .venv/bin/python benchmarks/bench_classroom.py                   # N = 8, 5 fresh starts
    .venv/bin/python benchmarks/bench_classroom.py --viewers 3 --fresh-starts 2 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT))

from e2e.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, wait_until_healthy  # noqa: E402

from softmax_core.runs.store import (  # noqa: E402
    EVERYTHING,  # noqa: E402
    RunStore,  # noqa: E402
)

VIEWER_CORE, SERVER_CORE = 0, 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FIRST_POINT_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(plot =>
    (plot.data || []).some(t => (t.name || '').endsWith('train loss') && (t.x || []).length > 0))"""


class Server:
    """``streamlit run app.py`` pinned to the server's core (its worker processes inherit the pin)."""

    def __init__(self, data_dir: str, folder: Path):
        self.db_url = f"sqlite:///{folder}/runs.db"
        port = free_port()
        env = {**os.environ, "SOFTMAX_LAB_DB": self.db_url, "SOFTMAX_LAB_DATA": data_dir}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.headless", "true"], cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CORE}))
        self.url = f"http://127.0.0.1:{port}"
        wait_until_healthy(self.url, self.process)

    def cpu_seconds(self) -> float:
        """The server process's own user + system time (its children, the workers, are not in it)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def core_busy_seconds(core: int) -> float:
    """Seconds the core spent busy since boot (/proc/stat: everything but idle and iowait)."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{core} "):
            values = [int(v) for v in line.split()[1:]]
            return (sum(values) - values[3] - values[4]) / CLOCK_TICKS
    raise RuntimeError(f"no cpu{core} in /proc/stat")


def open_viewer(browser, url: str):
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(120_000)
    page.goto(url)
    page.get_by_role("button", name="Start").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()  # the empty chart: Plotly's bundle is loaded
    return page


def viewers_to_verdicts(browser, server: Server, count: int) -> dict:
    pages = [open_viewer(browser, server.url) for _ in range(count)]
    cpu, busy, started = server.cpu_seconds(), core_busy_seconds(VIEWER_CORE), time.perf_counter()
    clicked_at = time.time()
    for page in pages:
        page.get_by_role("button", name="Start").click()
    for page in pages:
        page.get_by_text("The book's checks pass").wait_for(timeout=600_000)
    seconds = time.perf_counter() - started
    for page in pages:
        page.context.close()
    last_end = max(run.ended_at for run in RunStore(server.db_url).list_runs(scope=EVERYTHING))
    return {"seconds": seconds, "store_seconds": last_end - clicked_at,
            "server_cpu_share_per_viewer": (server.cpu_seconds() - cpu) / seconds / count,
            "viewer_core_busy": (core_busy_seconds(VIEWER_CORE) - busy) / seconds}


def watching_cost(browser, server: Server, count: int, seconds: float) -> dict:
    """Server CPU while two runs train: with no viewer, then with ``count`` viewers watching both."""
    starter = open_viewer(browser, server.url)
    epochs = starter.get_by_role("spinbutton", name="Epochs")
    epochs.fill("500")
    epochs.press("Tab")
    for _ in range(2):
        starter.get_by_role("button", name="Start").click()
        starter.wait_for_timeout(700)
    starter.context.close()
    store = RunStore(server.db_url)
    deadline = time.monotonic() + 60
    while len(running := [run.id for run in store.list_runs(scope=EVERYTHING) if run.status == "running"]) < 2:
        if time.monotonic() > deadline:
            states = [(r.id, r.status) for r in store.list_runs(scope=EVERYTHING)]
            raise RuntimeError(f"the two long runs did not both start: {states}")
        time.sleep(0.2)
    run_ids = sorted(running)
    time.sleep(2)
    idle = _server_cpu_over(server, seconds)
    pages = [browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in range(count)]
    for page in pages:
        page.goto(f"{server.url}/compare?runs={','.join(map(str, run_ids))}")
        page.get_by_text("running ·").first.wait_for(timeout=60_000)  # the live status line: it polls
    time.sleep(2)
    watched = _server_cpu_over(server, seconds)
    if not all(run.status == "running" for run in store.get_runs(run_ids, scope=EVERYTHING)):
        raise RuntimeError("a watched run ended before the measurement did; use more epochs")
    for run_id in run_ids:
        store.request_cancel(run_id)
    for page in pages:
        page.context.close()
    return {"idle_share": idle, "watched_share": watched, "per_viewer_share": (watched - idle) / count,
            "runs_watched": run_ids}


def _server_cpu_over(server: Server, seconds: float) -> float:
    before, started = server.cpu_seconds(), time.perf_counter()
    time.sleep(seconds)
    return (server.cpu_seconds() - before) / (time.perf_counter() - started)


def first_point_on_fresh_servers(browser, data_dir: str, starts: int) -> list[float]:
    delays = []
    for _ in range(starts):
        with tempfile.TemporaryDirectory() as folder:
            server = Server(data_dir, Path(folder))
            try:
                page = open_viewer(browser, server.url)
                clicked = time.perf_counter()
                page.get_by_role("button", name="Start").click()
                page.wait_for_function(FIRST_POINT_JS, timeout=60_000, polling=20)
                delays.append(time.perf_counter() - clicked)
                page.context.close()
            finally:
                server.stop()
    return delays


def cli_baseline(epochs: int, data_dir: str) -> float:
    """One CLI process training ``epochs`` epochs on the server's core, one torch thread: fit's seconds."""
    env = {**os.environ, "SOFTMAX_LAB_DATA": data_dir, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "softmax_core", "train", "--epochs", str(epochs), "--json"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True,
                          preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CORE}))
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="class runs, each beside its own CLI baseline")
    parser.add_argument("--fresh-starts", type=int, default=5)
    parser.add_argument("--watch-seconds", type=float, default=15.0)
    parser.add_argument("--data-dir", default=str(REPO_ROOT.parent / "shared" / "data" / "fashion-mnist"))
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2 or CHROMIUM is None:
        sys.exit("needs 2 cores and Debian's chromium")
    os.sched_setaffinity(0, {VIEWER_CORE})  # this process, Playwright's driver and Chromium: the viewers' core
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with tempfile.TemporaryDirectory() as folder:
            server = Server(args.data_dir, Path(folder))
            try:
                rounds = [(cli_baseline(10 * args.viewers, args.data_dir),
                           viewers_to_verdicts(browser, server, args.viewers)) for _ in range(args.rounds)]
                watching = watching_cost(browser, server, args.viewers, args.watch_seconds)
            finally:
                server.stop()
        first_points = first_point_on_fresh_servers(browser, args.data_dir, args.fresh_starts)
        browser.close()
    report(args, rounds, watching, first_points)


def report(args, rounds: list[tuple[float, dict]], watching: dict, first_points: list[float]) -> None:
    ratios = [class_run["seconds"] / baseline for baseline, class_run in rounds]
    store_ratios = [class_run["store_seconds"] / baseline for baseline, class_run in rounds]
    median = statistics.median
    figures = {
        "viewers": args.viewers, "rounds": [{"cli_seconds": baseline, **class_run} for baseline, class_run in rounds],
        "ratio_median": median(ratios), "store_ratio_median": median(store_ratios),
        "viewer_core_busy_median": median(class_run["viewer_core_busy"] for _, class_run in rounds),
        "server_cpu_share_per_viewer_while_training": median(c["server_cpu_share_per_viewer"] for _, c in rounds),
        "server_cpu_share_idle": watching["idle_share"], "server_cpu_share_watched": watching["watched_share"],
        "server_cpu_share_per_watching_viewer": watching["per_viewer_share"],
        "first_point_seconds": first_points, "first_point_median": median(first_points),
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{args.viewers} viewers, each pressing Start (book's defaults); server + workers on core {SERVER_CORE}, "
          f"viewers on core {VIEWER_CORE}; {len(rounds)} rounds, each beside one CLI process training "
          f"{10 * args.viewers} epochs on core {SERVER_CORE}")
    for (baseline, class_run), ratio in zip(rounds, ratios):
        print(f"  every verdict on screen {class_run['seconds']:6.2f} s, every run ended in the store "
              f"{class_run['store_seconds']:6.2f} s, CLI {baseline:6.2f} s: ratio {ratio:.2f}")
    print(f"  median ratio {figures['ratio_median']:.2f} on screen (target <= 1.3), "
          f"{figures['store_ratio_median']:.2f} in the store; viewers' core busy "
          f"{figures['viewer_core_busy_median']:.0%}")
    print(f"  server CPU per viewer over a class run: {figures['server_cpu_share_per_viewer_while_training']:.1%} "
          "of a core")
    print(f"watching two training runs for {args.watch_seconds:g} s: server CPU {watching['idle_share']:.1%} of a "
          f"core with no viewer, {watching['watched_share']:.1%} with {args.viewers}: "
          f"{watching['per_viewer_share']:.2%} per viewer (target <= 3%)")
    print(f"click -> first point on a fresh server: median {figures['first_point_median']:.2f} s over "
          f"{len(first_points)} starts ({', '.join(f'{d:.2f}' for d in first_points)}; target <= 1 s)")


if __name__ == "__main__":
    main()
