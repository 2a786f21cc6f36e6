"""What a sweep costs: a 4 x 4 grid (batch size x learning rate) x 2 seeds x 5 epochs through the job runner
and its worker processes, against the same 32 runs' bare ``fit`` time divided over the cores, measured in
one run; and whether the Compare page still opens within 1.5 s while the sweep trains.

1. Bare: each of the 32 configs through ``fit`` in this process, one torch thread (as each worker has),
   one after another; the sum divided by the cores is the ideal wall time of the sweep.
2. Sweep: the same 32 runs submitted as one sweep (``sweeps.submit_sweep``) to a ``JobRunner`` with one
   worker per core, from the first submit to the last run's end in the store.
3. Compare while it trains: the real server (``streamlit run app.py``) over the same database, and
   Debian's Chromium opening /compare five times while a second, identical sweep trains, against five
   times with nothing training.

    python benchmarks/bench_sweep.py            # about 3 minutes on 2 cores; needs chromium and the data
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT))
DATA_DIR = os.environ.get("SOFTMAX_LAB_DATA", str(REPO_ROOT.parent / "shared" / "data" / "fashion-mnist"))
os.environ["SOFTMAX_LAB_DATA"] = DATA_DIR

from softmax_core.analysis.sweeps import SweepSpec, submit_sweep  # noqa: E402
from softmax_core.book.data import load_fashion_mnist  # noqa: E402
from softmax_core.book.train import fit  # noqa: E402
from softmax_core.config import TrainConfig  # noqa: E402
from softmax_core.runs.executors.local import LocalExecutor, available_cores  # noqa: E402
from softmax_core.runs.jobs import JobRunner  # noqa: E402
from softmax_core.runs.store import RunStore  # noqa: E402
from softmax_core.status import RunStatus  # noqa: E402

SPEC = SweepSpec(TrainConfig(epochs=5, device="cpu"),
                 {"batch_size": (64, 128, 256, 512), "lr": (0.03, 0.1, 0.3, 1.0)}, seeds=2)


def bare_seconds() -> float:
    """The sweep's runs through fit() alone, one thread, one after another."""
    import torch

    torch.set_num_threads(1)
    data = load_fashion_mnist(DATA_DIR, download=False)
    fit(TrainConfig(epochs=1, device="cpu"), data)  # warm-up
    started = time.perf_counter()
    for _, config in SPEC.configs():
        fit(config, data)
    return time.perf_counter() - started


def sweep_seconds(runner: JobRunner) -> tuple[float, list[int]]:
    started = time.perf_counter()
    _, run_ids = submit_sweep(runner.submit_many, SPEC)
    for run_id in run_ids:
        runner.wait(run_id)
    elapsed = time.perf_counter() - started
    statuses = {run.status for run in runner.store.get_runs(run_ids)}
    if statuses != {RunStatus.FINISHED}:
        raise SystemExit(f"the sweep's runs ended {statuses}")
    return elapsed, run_ids


def open_compare(page, url: str, run_ids: list[int]) -> float:
    started = time.perf_counter()
    page.goto(f"{url}/compare?runs={','.join(map(str, run_ids[:3]))}")
    page.get_by_text("Runs to overlay").wait_for(timeout=30_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    return time.perf_counter() - started


def compare_while_sweeping(runner: JobRunner, page, url: str, seen: list[int], trials: int) -> list[float]:
    """Open Compare ``trials`` times, 2 s apart, while a sweep trains in the background."""
    done = threading.Event()
    worker = threading.Thread(target=lambda: (sweep_seconds(runner), done.set()), daemon=True)
    worker.start()
    time.sleep(3)  # the sweep's workers are busy by now
    times = []
    for _ in range(trials):
        if done.is_set():
            break
        times.append(open_compare(page, url, seen))
        time.sleep(2)
    worker.join()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    from bench_page import start_server
    from e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    cores = available_cores()
    bare = bare_seconds()
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        store = RunStore(f"sqlite:///{folder}/runs.db")
        runner = JobRunner(store, LocalExecutor(store.url, workers=cores, threads_per_worker=1))
        sweep, run_ids = sweep_seconds(runner)
        process, url = start_server(store.url, DATA_DIR)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            open_compare(page, url, run_ids)  # warm-up: Plotly's bundle, the first script run
            idle = [open_compare(page, url, run_ids) for _ in range(args.trials)]
            busy = compare_while_sweeping(runner, page, url, run_ids, args.trials)
        finally:
            browser.close()
            process.terminate()
            runner.shutdown()
    ideal = bare / cores
    print(f"{SPEC.size} runs ({' x '.join(str(len(v)) for v in SPEC.axes.values())} cells x {SPEC.seeds} seeds, "
          f"{SPEC.base.epochs} epochs) on {cores} cores")
    print(f"bare fit, one thread, one after another: {bare:.1f} s; divided over {cores} cores: {ideal:.1f} s")
    print(f"the sweep through the job runner ({cores} workers): {sweep:.1f} s: ratio {sweep / ideal:.3f} "
          "(target at most 1.25)")
    print(f"open Compare, idle: median {statistics.median(idle):.2f} s (max {max(idle):.2f})")
    print(f"open Compare while a sweep trains: median {statistics.median(busy):.2f} s (max {max(busy):.2f}; "
          f"{len(busy)} opens; target within 1.5 s)")


if __name__ == "__main__":
    main()
