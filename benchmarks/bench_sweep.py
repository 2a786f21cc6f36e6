"""What a sweep costs, packed and unpacked, side by side in one run.

0. The matrix library's speed at the widths a pack uses (one thread; its logits and update products):
   what packing can gain at most.
1. The engine: K cells of one batch size (K learning rates) through ``fit_many`` against the same K
   through ``fit`` one after another, one torch thread, for K = 1 to 32: where packing stops paying (a
   pack's time includes its one-time check that the stacked products are exact at its shapes).
2. The 16-run sweep (lr 0.03, 0.1, 0.3, 1 x batch 64, 256 x 2 seeds x 5 epochs) through the job runner and
   one worker per core, packed and with ``--no-pack``, each as its span in the store (first start to last
   end), against the same 16 runs as separate ``fit`` calls divided over the cores.
3. Runs per second of unpacked 1-epoch runs through the runner, against bare ``fit`` (one process per
   core at the workers' priority), idle and beside a CPU-bound neighbour (a process spinning on every
   core), each pair side by side.
4. The 64-run grid (8 lr x 4 batch x 2 seeds, 10 epochs): wall time from the submit to the last end,
   packed and unpacked.
5. Compare opened while packed sweeps train (two 64-run grids, one queued behind the other), against idle
   before and after (the real server and Debian's Chromium).
6. A fresh server, clicked as soon as Start appears: the first point's delay, over 5 fresh starts
   (``bench_classroom.first_point_on_fresh_servers``).

    python benchmarks/bench_sweep.py                 # about 8 minutes on 2 cores; needs chromium and the data
    python benchmarks/bench_sweep.py --quick         # parts 1 and 2 only
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT))
DATA_DIR = os.environ.get("SOFTMAX_LAB_DATA", str(REPO_ROOT.parent / "shared" / "data" / "fashion-mnist"))
os.environ["SOFTMAX_LAB_DATA"] = DATA_DIR

from softmax_core.analysis.sweeps import SweepSpec, submit_sweep  # noqa: E402
from softmax_core.book.data import load_fashion_mnist  # noqa: E402
from softmax_core.book.packed import fit_many  # noqa: E402
from softmax_core.book.train import fit  # noqa: E402
from softmax_core.config import TrainConfig  # noqa: E402
from softmax_core.runs.executors.local import WORKER_NICENESS, LocalExecutor, available_cores  # noqa: E402
from softmax_core.runs.jobs import JobRunner  # noqa: E402
from softmax_core.runs.store import RunRequest, RunStore  # noqa: E402
from softmax_core.status import RunStatus  # noqa: E402

SWEEP_16 = SweepSpec(TrainConfig(epochs=5, device="cpu"), {"lr": (0.03, 0.1, 0.3, 1.0), "batch_size": (64, 256)},
                     seeds=2)
GRID_64 = SweepSpec(TrainConfig(epochs=10, device="cpu"),
                    {"lr": (0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 1.0), "batch_size": (64, 128, 256, 512)}, seeds=2)
PACK_SIZES = (1, 2, 4, 8, 16, 32)  # 32: past the default pack limit, to show whether it is the right one
LRS_32 = tuple(0.01 * 1.15 ** i for i in range(32))


def one_thread_data():
    import torch

    torch.set_num_threads(1)
    return load_fashion_mnist(DATA_DIR, download=False)


def engine_curve(data, epochs: int = 2) -> list[tuple[int, float, float]]:
    """(K, seconds of K separate fits, seconds of one fit_many of the K) for each pack size."""
    rows = []
    for k in PACK_SIZES:
        configs = [TrainConfig(epochs=epochs, lr=lr, batch_size=256, device="cpu") for lr in LRS_32[:k]]
        started = time.perf_counter()
        for config in configs:
            fit(config, data)
        alone = time.perf_counter() - started
        started = time.perf_counter()
        fit_many(configs, data)
        rows.append((k, alone, time.perf_counter() - started))
    return rows


def product_throughput(widths=(1, 4, 8, 16, 32), batch: int = 256, repeats: int = 300) -> list[tuple[int, float]]:
    """(K, GMAC/s) of a pack's two products on one thread, as ``stacked._Block`` runs them: the logits
    ``bmm(W, X^T)`` and the update ``W += G X`` (``baddbmm_``), K cells against one shared batch. How much
    cheaper a cell's products get in a wider pack bounds what packing can gain."""
    import torch

    from softmax_core.book.stacked import _shared

    images = torch.rand(batch, 784)
    rows = []
    for k in widths:
        weights, grads = torch.rand(k, 10, 784), torch.rand(k, 10, batch).mul_(1e-6)
        started = None
        for repeat in range(repeats + 10):
            if repeat == 10:  # warmed up
                started = time.perf_counter()
            torch.bmm(weights, _shared(images.t(), k))
            weights.baddbmm_(grads, _shared(images, k))
        rows.append((k, 2 * 10 * k * 784 * batch * repeats / (time.perf_counter() - started) / 1e9))
    return rows


def bare_seconds(data, spec: SweepSpec) -> float:
    """The sweep's runs through fit() alone, one thread, one after another."""
    started = time.perf_counter()
    for _, config in spec.configs():
        fit(config, data)
    return time.perf_counter() - started


def store_span(store: RunStore, run_ids: list[int]) -> float:
    """From the first run's start to the last one's end, as the store recorded them."""
    runs = store.get_runs(run_ids)
    if {run.status for run in runs} != {RunStatus.FINISHED}:
        raise SystemExit(f"the sweep's runs ended {sorted({run.status.value for run in runs})}")
    return max(run.ended_at for run in runs) - min(run.started_at for run in runs)


def through_the_runner(spec: SweepSpec, pack: bool, folder: str) -> tuple[float, float]:
    """(span in the store, wall time from the submit) of the sweep on a fresh runner, one worker per core."""
    store = RunStore(f"sqlite:///{folder}/sweep-{pack}-{spec.size}.db")
    runner = JobRunner(store, LocalExecutor(store.url, workers=available_cores(), threads_per_worker=1), pack=pack)
    try:
        runner.submit_many([RunRequest(TrainConfig(epochs=1, batch_size=1024), "warm-up")])
        runner.wait(1)  # the workers are up and have the data
        started = time.perf_counter()
        _, run_ids = submit_sweep(runner.submit_many, spec)
        for run_id in run_ids:
            runner.wait(run_id)
        return store_span(store, run_ids), time.perf_counter() - started
    finally:
        runner.shutdown()


def _spin() -> None:
    while True:
        pass


def _bare_fits(config, count: int, seconds) -> None:
    """``count`` runs through bare fit in this process, at the workers' priority: their seconds go to
    ``seconds`` (a multiprocessing queue)."""
    import torch

    os.nice(WORKER_NICENESS)
    torch.set_num_threads(1)
    data = load_fashion_mnist(DATA_DIR, download=False)
    fit(config, data)  # warm-up
    started = time.perf_counter()
    for seed in range(count):
        fit(config.replace(seed=seed), data)
    seconds.put(time.perf_counter() - started)


def bare_rate(config, count: int) -> float:
    """Runs per second of bare fit, one process per core at the workers' priority, side by side."""
    seconds = multiprocessing.Queue()
    per_core = max(1, count // available_cores())
    workers = [multiprocessing.Process(target=_bare_fits, args=(config, per_core, seconds))
               for _ in range(available_cores())]
    for worker in workers:
        worker.start()
    spans = [seconds.get() for _ in workers]
    for worker in workers:
        worker.join()
    return per_core * len(workers) / max(spans)


def runs_per_second(folder: str, count: int = 12) -> dict:
    """Unpacked 1-epoch runs (batch 1024) through the runner against bare fit (one process per core at
    the workers' priority), idle and beside a CPU-bound neighbour (a process spinning on every core, at
    the normal priority, as a test suite would)."""
    config = TrainConfig(epochs=1, batch_size=1024, device="cpu")
    measured = {}
    for place, neighbours in (("idle", 0), ("beside a busy neighbour", available_cores())):
        spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(neighbours)]
        for spinner in spinners:
            spinner.start()
        try:
            bare = bare_rate(config, count)
            spec = SweepSpec(config, {"lr": tuple(round(0.05 + 0.01 * i, 2) for i in range(count))})
            span, _ = through_the_runner(spec, pack=False, folder=folder)
            measured[place] = (bare, count / span)
        finally:
            for spinner in spinners:
                spinner.kill()
    return measured


def compare_while_sweeping(folder: str, trials: int) -> tuple[list[float], list[float]]:
    """Open Compare ``trials`` times idle, then ``trials`` times while packed 64-run grids train (a second
    grid queued behind the first, so that every trial falls inside training: checked), then ``trials``
    times idle again: (idle before and after, busy)."""
    from bench_page import start_server
    from e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    store = RunStore(f"sqlite:///{folder}/compare.db")
    ids = store.create_runs([RunRequest(TrainConfig(epochs=1), f"shown {i}") for i in range(3)])
    for run_id in ids:
        store.end_run(run_id, RunStatus.CANCELLED, "a row to show")
    process, url = start_server(store.url, DATA_DIR)
    runner = JobRunner(store, LocalExecutor(store.url, workers=available_cores(), threads_per_worker=1))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            open_compare(page, url, ids)  # warm-up: Plotly's bundle, the first script run
            idle = [open_compare(page, url, ids) for _ in range(trials)]
            grid_ids = [run_id for _ in range(2) for run_id in submit_sweep(runner.submit_many, GRID_64)[1]]
            time.sleep(3)
            busy = []
            for _ in range(trials):
                busy.append(open_compare(page, url, ids))
                if not any(run.status == RunStatus.RUNNING for run in store.get_runs(grid_ids)):
                    raise SystemExit("the grids ended before the trials did: the busy times were not all busy")
                time.sleep(1)
            runner.shutdown(cancel_running=True)
            idle += [open_compare(page, url, ids) for _ in range(trials)]
        finally:
            browser.close()
            process.terminate()
            runner.shutdown(cancel_running=True)
    return idle, busy


def fresh_server_first_points(starts: int) -> list[float]:
    from bench_classroom import first_point_on_fresh_servers
    from e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return first_point_on_fresh_servers(browser, DATA_DIR, starts)
        finally:
            browser.close()


def open_compare(page, url: str, run_ids: list[int]) -> float:
    started = time.perf_counter()
    page.goto(f"{url}/compare?runs={','.join(map(str, run_ids[:3]))}")
    page.get_by_text("Runs to overlay").wait_for(timeout=30_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the engine's curve and the 16-run sweep only")
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    cores, data = available_cores(), one_thread_data()
    fit(TrainConfig(epochs=1, device="cpu"), data)  # warm-up
    print(f"{cores} cores, one torch thread per run")
    print("\n0. the matrix library on one thread: a pack's two batched products, K x (10 x 784) by the batch of 256")
    for k, rate in product_throughput():
        print(f"   K = {k:>2}: {rate:5.1f} GMAC/s")
    print("\n1. the engine: K cells of batch 256, 2 epochs, alone one after another vs one pack")
    for k, alone, packed in engine_curve(data):
        print(f"   K = {k:>2}: alone {alone:6.2f} s, packed {packed:6.2f} s: {alone / packed:5.2f}x")
    with tempfile.TemporaryDirectory() as folder:
        ideal = bare_seconds(data, SWEEP_16) / cores
        print(f"\n2. the 16-run sweep: separate fit calls over {cores} cores {ideal:.2f} s")
        for pack in (False, True):
            span, _ = through_the_runner(SWEEP_16, pack, folder)
            print(f"   {'packed' if pack else '--no-pack'}: span in the store {span:.2f} s: {ideal / span:.2f}x "
                  "the separate runs")
        if args.quick:
            return
        print("\n3. unpacked 1-epoch runs (batch 1024) per second, bare fit and through the runner")
        for place, (bare, runner) in runs_per_second(folder).items():
            print(f"   {place}: bare fit {bare:.2f} runs/s, the runner {runner:.2f} runs/s: "
                  f"{runner / bare:.2f} of bare")
        print(f"\n4. the 64-run grid ({GRID_64.base.epochs} epochs), from the submit to the last end")
        for pack in (False, True):
            _, wall = through_the_runner(GRID_64, pack, folder)
            print(f"   {'packed' if pack else '--no-pack'}: {wall:.1f} s")
        idle, busy = compare_while_sweeping(folder, args.trials)
        print(f"\n5. open Compare: idle median {statistics.median(idle):.2f} s; while two 64-run grids train packed "
              f"median {statistics.median(busy):.2f} s: ratio {statistics.median(busy) / statistics.median(idle):.2f}"
              " (target at most 1.25)")
        delays = fresh_server_first_points(args.trials)
        print(f"\n6. a fresh server, clicked at first paint: first point median {statistics.median(delays):.2f} s "
              f"({', '.join(f'{d:.2f}' for d in delays)}; target at most 1.0 s)")


if __name__ == "__main__":
    main()
