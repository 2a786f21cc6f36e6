"""What a sweep costs, packed and unpacked, side by side in one run.

0. The matrix library's speed at the widths a pack uses (one thread; its logits and update products):
   what packing can gain at most.
1. The engine: K cells of one batch size (K learning rates) through ``fit_many`` against the same K
   through ``fit`` one after another, one torch thread, for K = 1 to 32: where packing stops paying (a
   pack's time includes its one-time check that the stacked products are exact at its shapes).
2. The 16-run sweep (lr 0.03, 0.1, 0.3, 1 x batch 64, 256 x 2 seeds x 5 epochs) through the job runner and
   one worker per core, with ``--no-pack`` and in packs of at most 2, 4, 8 and 16 runs, each as its span in
   the store (first start to last end), against the same 16 runs as separate ``fit`` calls divided over
   the cores.
3. Runs per second of unpacked 1-epoch runs through the runner, against bare ``fit`` (one process per
   core at the workers' priority), idle and beside a CPU-bound neighbour (a process spinning on every
   core), each pair side by side.
4. The 64-run grid (8 lr x 4 batch x 2 seeds, 10 epochs): wall time from the submit to the last end,
   packed and unpacked.
5. Compare opened while packed sweeps train (two 64-run grids, one queued behind the other), against idle
   before and after (the real server and Debian's Chromium).
6. A fresh server, clicked as soon as Start appears: the first point's delay, over 5 fresh starts
   (``bench_classroom.first_point_on_fresh_servers``).
7. A pack across seeds, probed and not built: one step of K cells that each gather their own batch (as
   cells of different seeds would) against the step of K cells sharing one batch (as packs do) and
   against K lone steps, with the same operations as ``stacked._Block``'s plain step, on one thread.
8. The ceiling on this machine for the 16-run sweep's packs: what its packs of 4 could gain over lone
   runs at most if every cell cost only its own two products (its share of the pack's batched products)
   and everything else in a step (the gather, the softmax, the loss, the update's small operations) were
   paid once for the pack, against the same steps of ``_plain_step`` as measured. Training steps only:
   evaluation and the store can only lower it.

    python benchmarks/bench_sweep.py                 # about 8 minutes on 2 cores; needs chromium and the data
    python benchmarks/bench_sweep.py --quick         # parts 1 and 2 only
    python benchmarks/bench_sweep.py --parts 5       # any parts, here Compare under the grids only
    python benchmarks/bench_sweep.py --parts 5 --spinners idle   # Compare beside spinners at SCHED_IDLE
    python benchmarks/bench_sweep.py --parts 7       # the probe of packs across seeds (about 10 s)
    python benchmarks/bench_sweep.py --parts 8       # the 16-run sweep's ceiling on this machine (a few seconds)
"""

from __future__ import annotations

import argparse
import contextlib
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
from softmax_core.analysis.sweeps.spec import training_images  # noqa: E402
from softmax_core.book.data import load_fashion_mnist  # noqa: E402
from softmax_core.book.packed import fit_many, pack_key  # noqa: E402
from softmax_core.book.schedule import EpochSchedule  # noqa: E402
from softmax_core.book.train import fit  # noqa: E402
from softmax_core.config import TrainConfig  # noqa: E402
from softmax_core.runs.executors import PACK_ENV_VAR  # noqa: E402
from softmax_core.runs.executors.local import LocalExecutor, available_cores  # noqa: E402
from softmax_core.runs.executors.worker import WORKER_NICENESS  # noqa: E402
from softmax_core.runs.jobs import JobRunner  # noqa: E402
from softmax_core.runs.store import (  # noqa: E402
    EVERYTHING,  # noqa: E402
    RunRequest,
    RunStore,
)
from softmax_core.status import RunStatus  # noqa: E402

SWEEP_16 = SweepSpec(TrainConfig(epochs=5, device="cpu"), {"lr": (0.03, 0.1, 0.3, 1.0), "batch_size": (64, 256)},
                     seeds=2)
GRID_64 = SweepSpec(TrainConfig(epochs=10, device="cpu"),
                    {"lr": (0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 1.0), "batch_size": (64, 128, 256, 512)}, seeds=2)
PACK_SIZES = (1, 2, 4, 8, 16, 32)  # 32: past the default pack limit, to show whether it is the right one
# The sweep's packs hold 4 cells at most (its 4 learning rates share each batch size and seed), so limits
# of 8 and 16 pack it as 4 does: their rows show the noise. Part 1 shows K up to 32 cells of one pack.
SWEEP_PACK_SIZES = (2, 4, 8, 16)
CEILING_STEPS = 800  # part 8 subtracts medians measured apart: more steps than part 7 keep the difference steady
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


def _product_seconds(k: int, batch: int, repeats: int) -> list[float]:
    """Each call's time of a pack's two products on one thread, as ``stacked._Block`` runs them: the
    logits ``bmm(W, X^T)`` and the update ``W += G X`` (``baddbmm_``), k cells against one shared batch."""
    import torch

    from softmax_core.book.stacked import broadcast_to_cells

    images = torch.rand(batch, 784)
    weights, grads = torch.rand(k, 10, 784), torch.rand(k, 10, batch).mul_(1e-6)
    times = []
    for repeat in range(repeats + 10):
        started = time.perf_counter()
        torch.bmm(weights, broadcast_to_cells(images.t(), k))
        weights.baddbmm_(grads, broadcast_to_cells(images, k))
        if repeat >= 10:  # warmed up
            times.append(time.perf_counter() - started)
    return times


def product_throughput(widths=(1, 4, 8, 16, 32), batch: int = 256, repeats: int = 300) -> list[tuple[int, float]]:
    """(K, GMAC/s) of a pack's two products for K cells. How much cheaper a cell's products get in a
    wider pack bounds what packing can gain."""
    return [(k, 2 * 10 * k * 784 * batch * repeats / sum(_product_seconds(k, batch, repeats)) / 1e9) for k in widths]


def products_microseconds(k: int, batch: int, repeats: int = 300) -> float:
    """The median time of one call of a pack's two products for k cells at this batch size."""
    return statistics.median(_product_seconds(k, batch, repeats)) * 1e6


def _plain_step(weight, bias, images, labels, steps) -> None:
    """``stacked._Block``'s plain SGD step for (1 or k, n, 784) images: one batch shared, or one a cell."""
    import torch
    import torch.nn.functional as F

    k, n = weight.shape[0], labels.shape[-1]
    batches = images.expand(k, n, images.shape[2])
    logits = torch.bmm(weight, batches.transpose(1, 2)).add_(bias.unsqueeze(2))
    picked = labels.view(-1, 1, n).expand(k, 1, n)
    F.log_softmax(logits, dim=1).gather(1, picked).sum((1, 2))
    (logits.max(1).indices == picked.squeeze(1)).sum(1)
    grad = F.softmax(logits, dim=1)
    grad.scatter_add_(1, picked, torch.full((k, 1, n), -1.0)).mul_(steps)
    bias.add_(grad.sum(2))
    weight.baddbmm_(grad, batches)


def step_microseconds(data, k: int, batch: int, own_batches: bool, steps: int = 200) -> float:
    """The median time of one training step of k cells (part 7), each batch gathered from the real
    training set by a permutation: one for all cells, or one per cell."""
    import torch

    weight, bias = torch.zeros(k, 10, 784), torch.zeros(k, 10)
    lrs = torch.full((k, 1, 1), -0.1 / batch)
    orders = [torch.randperm(len(data.train_labels)) for _ in range(k if own_batches else 1)]
    times = []
    for step in range(steps + 20):
        started = time.perf_counter()
        start = (step * batch) % (len(data.train_labels) - batch)
        rows = torch.stack([order[start:start + batch] for order in orders])
        images = data.train_images.index_select(0, rows.view(-1)).view(len(orders), batch, -1)
        _plain_step(weight, bias, images, data.train_labels.index_select(0, rows.view(-1)).view(len(orders), batch),
                    lrs)
        if step >= 20:  # warmed up
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def pack_groups(spec: SweepSpec) -> list[tuple[int, int, int]]:
    """The packs a sweep makes (cells that share a ``packed.pack_key``), each as (batch size, cells,
    training steps of each cell)."""
    keys = [pack_key(config) for _, config in spec.configs()]
    return [(key.batch_size, keys.count(key), key.epochs * EpochSchedule(training_images(key), key.batch_size, 1).steps)
            for key in dict.fromkeys(keys)]


def sweep_ceiling(data, spec: SweepSpec = SWEEP_16) -> tuple[dict[int, dict[str, float]], float, float]:
    """Per batch size, a lone step, the measured pack step and its floor (the lone step's non-product
    part once, plus every cell's share of the pack's products), in microseconds; then the sweep's gain
    over lone runs as measured on those steps and at that floor (training steps only)."""
    groups, rows = pack_groups(spec), {}
    for batch, k in sorted({(batch, cells) for batch, cells, _ in groups}):
        lone = step_microseconds(data, 1, batch, False, CEILING_STEPS)
        rows[batch] = {"cells": k, "lone": lone, "pack": step_microseconds(data, k, batch, False, CEILING_STEPS),
                       "floor": lone - products_microseconds(1, batch, CEILING_STEPS)
                       + products_microseconds(k, batch, CEILING_STEPS)}
    lone_total = sum(cells * steps * rows[batch]["lone"] for batch, cells, steps in groups)
    measured = sum(steps * rows[batch]["pack"] for batch, _, steps in groups)
    floor = sum(steps * rows[batch]["floor"] for batch, _, steps in groups)
    return rows, lone_total / measured, lone_total / floor


def bare_seconds(data, spec: SweepSpec) -> float:
    """The sweep's runs through fit() alone, one thread, one after another."""
    started = time.perf_counter()
    for _, config in spec.configs():
        fit(config, data)
    return time.perf_counter() - started


def _fits_at_a_barrier(configs, niceness: int, barrier, seconds) -> None:
    """These runs through bare fit in this process, one thread, at this niceness, from the moment every
    process is ready: their seconds go to ``seconds`` (a multiprocessing queue)."""
    import torch

    os.nice(niceness)
    torch.set_num_threads(1)
    data = load_fashion_mnist(DATA_DIR, download=False)
    fit(configs[0].replace(epochs=1), data)  # warm-up
    barrier.wait()
    started = time.perf_counter()
    for config in configs:
        fit(config, data)
    seconds.put(time.perf_counter() - started)


def side_by_side_seconds(config_lists: list[list[TrainConfig]], niceness: int = 0) -> float:
    """Each list of runs through bare fit in a process of its own, all at once: the wall time until the
    last process ends."""
    barrier, seconds = multiprocessing.Barrier(len(config_lists)), multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_fits_at_a_barrier, args=(configs, niceness, barrier, seconds))
               for configs in config_lists]
    for worker in workers:
        worker.start()
    spans = [seconds.get() for _ in workers]
    for worker in workers:
        worker.join()
    return max(spans)


def bare_side_by_side_seconds(spec: SweepSpec, cores: int) -> float:
    """The sweep's runs through fit() in one process per core at once, each process an equal share of
    every kind of run (dealt in turn). Unlike the one-process time divided by the cores, this pays what
    the cores share (the L3 cache, the memory bus)."""
    configs = [config for _, config in spec.configs()]
    return side_by_side_seconds([configs[core::cores] for core in range(cores)])


def store_span(store: RunStore, run_ids: list[int]) -> float:
    """From the first run's start to the last one's end, as the store recorded them."""
    runs = store.get_runs(run_ids, scope=EVERYTHING)
    if {run.status for run in runs} != {RunStatus.FINISHED}:
        raise SystemExit(f"the sweep's runs ended {sorted({run.status.value for run in runs})}")
    return max(run.ended_at for run in runs) - min(run.started_at for run in runs)


@contextlib.contextmanager
def pack_limit_of(size: int | None):
    """$SOFTMAX_LAB_PACK_SIZE set to ``size`` (None: the default limit) while a runner is built and used."""
    before = os.environ.pop(PACK_ENV_VAR, None)
    if size is not None:
        os.environ[PACK_ENV_VAR] = str(size)
    try:
        yield
    finally:
        os.environ.pop(PACK_ENV_VAR, None)
        if before is not None:
            os.environ[PACK_ENV_VAR] = before


def through_the_runner(spec: SweepSpec, pack: bool, folder: str, pack_size: int | None = None) -> tuple[float, float]:
    """(span in the store, wall time from the submit) of the sweep on a fresh runner, one worker per core,
    its packs at most ``pack_size`` runs (None: the default limit)."""
    store = RunStore(f"sqlite:///{folder}/sweep-{pack}-{pack_size}-{spec.size}.db")
    with pack_limit_of(pack_size):
        return _timed_on_a_fresh_runner(store, spec, pack)


def _timed_on_a_fresh_runner(store: RunStore, spec: SweepSpec, pack: bool) -> tuple[float, float]:
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


def _spin(priority: str = "0") -> None:
    """Spin on a core at a nice value, or "idle": at SCHED_IDLE, which runs only when nothing else wants it."""
    if priority == "idle":
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.nice(int(priority))
    while True:
        pass


def bare_rate(config, count: int) -> float:
    """Runs per second of bare fit, one process per core at the workers' priority, side by side."""
    per_core = max(1, count // available_cores())
    runs = [config.replace(seed=seed) for seed in range(per_core)]
    return per_core * available_cores() / side_by_side_seconds([runs] * available_cores(), WORKER_NICENESS)


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


def compare_while_sweeping(folder: str, trials: int, spinners: str | None = None) -> tuple[list, list]:
    """Open Compare ``trials`` times idle, then ``trials`` times while packed 64-run grids train (a second
    grid queued behind the first, so that every trial falls inside training: checked), then ``trials``
    times idle again: (idle before and after, busy). With ``spinners`` (a nice value or "idle"), one
    process spinning on each core at that priority stands in for the grids: what the scheduler can do."""
    from bench_page import CompareTimer, start_server
    from e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    store = RunStore(f"sqlite:///{folder}/compare.db")
    ids = store.create_runs([RunRequest(TrainConfig(epochs=1), f"shown {i}") for i in range(3)])
    for run_id in ids:
        store.end_run(run_id, RunStatus.CANCELLED, "a row to show")
    process, url = start_server(store.url, DATA_DIR)
    runner = JobRunner(store, LocalExecutor(store.url, workers=available_cores(), threads_per_worker=1))
    neighbours: list[multiprocessing.Process] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            compare, shown = CompareTimer(browser.new_page()), f"?runs={','.join(map(str, ids))}"
            compare.open(url, shown)  # warm-up: Plotly's bundle, the first script run
            idle = [compare.open(url, shown) for _ in range(trials)]
            if spinners is None:
                grid_ids = [run_id for _ in range(2) for run_id in submit_sweep(runner.submit_many, GRID_64)[1]]
            else:
                neighbours = [multiprocessing.Process(target=_spin, args=(spinners,), daemon=True)
                              for _ in range(available_cores())]
                for neighbour in neighbours:
                    neighbour.start()
            time.sleep(3)
            busy = []
            for _ in range(trials):
                busy.append(compare.open(url, shown))
                grid = store.get_runs(grid_ids, scope=EVERYTHING)
                if spinners is None and not any(run.status == RunStatus.RUNNING for run in grid):
                    raise SystemExit("the grids ended before the trials did: the busy times were not all busy")
                time.sleep(1)
            _end_load(runner, neighbours)
            idle += [compare.open(url, shown) for _ in range(trials)]
        finally:  # on a failure too: no grid keeps training and no spinner keeps spinning after the benchmark
            browser.close()
            process.terminate()
            _end_load(runner, neighbours)
    return idle, busy


def _end_load(runner: JobRunner, neighbours: list[multiprocessing.Process]) -> None:
    """Stop what Compare was timed under: the runner's grids (cancelled) and the spinners. Safe to call
    again: a runner shut down and a process killed stay so."""
    runner.shutdown(cancel_running=True)
    for neighbour in neighbours:
        neighbour.kill()


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


def print_products() -> None:
    print("\n0. the matrix library on one thread: a pack's two batched products, K x (10 x 784) by the batch of 256")
    for k, rate in product_throughput():
        print(f"   K = {k:>2}: {rate:5.1f} GMAC/s")


def print_engine_curve(data) -> None:
    print("\n1. the engine: K cells of batch 256, 2 epochs, alone one after another vs one pack")
    for k, alone, packed in engine_curve(data):
        print(f"   K = {k:>2}: alone {alone:6.2f} s, packed {packed:6.2f} s: {alone / packed:5.2f}x")


def print_sweep_16(data, folder: str, cores: int) -> None:
    ideal = bare_seconds(data, SWEEP_16) / cores
    side_by_side = bare_side_by_side_seconds(SWEEP_16, cores)
    print(f"\n2. the 16-run sweep: separate fit calls over {cores} cores {ideal:.2f} s (one process, divided by "
          f"the cores; the ratios below are against it), or {side_by_side:.2f} s in {cores} processes side by side")
    span, _ = through_the_runner(SWEEP_16, False, folder)
    print(f"   --no-pack: span in the store {span:.2f} s: {ideal / span:.2f}x the separate runs")
    for size in SWEEP_PACK_SIZES:
        span, _ = through_the_runner(SWEEP_16, True, folder, size)
        print(f"   packs of at most {size:>2}: span in the store {span:.2f} s: {ideal / span:.2f}x the separate runs")


def print_runs_per_second(folder: str) -> None:
    print("\n3. unpacked 1-epoch runs (batch 1024) per second, bare fit and through the runner")
    for place, (bare, runner) in runs_per_second(folder).items():
        print(f"   {place}: bare fit {bare:.2f} runs/s, the runner {runner:.2f} runs/s: {runner / bare:.2f} of bare")


def print_grid_64(folder: str) -> None:
    print(f"\n4. the 64-run grid ({GRID_64.base.epochs} epochs), from the submit to the last end")
    for pack in (False, True):
        _, wall = through_the_runner(GRID_64, pack, folder)
        print(f"   {'packed' if pack else '--no-pack'}: {wall:.1f} s")


def print_compare(folder: str, trials: int, spinners: str | None) -> None:
    from bench_page import compare_lines

    idle, busy = compare_while_sweeping(folder, trials, spinners)
    beside = "two 64-run grids train packed" if spinners is None else f"a spinner at {spinners} runs on each core"
    print(f"\n5. open Compare idle ({2 * trials} times: before and after) and while {beside} ({trials} times); "
          "target: at most 1.25 times idle")
    for line in compare_lines(idle, busy, "busy"):
        print(line)


def print_fresh_starts(starts: int) -> None:
    delays = fresh_server_first_points(starts)
    print(f"\n6. a fresh server, clicked at first paint: first point median {statistics.median(delays):.2f} s "
          f"({', '.join(f'{d:.2f}' for d in delays)}; target at most 1.0 s)")


def print_cross_seed_probe(data) -> None:
    print("\n7. a pack across seeds (not built): one step of K cells, each its own batch or one shared, "
          "against K lone steps")
    for batch in (64, 256):
        lone = step_microseconds(data, 1, batch, False)
        print(f"   batch {batch}: a lone step {lone:.0f} us")
        for k in (4, 8):
            shared, own = step_microseconds(data, k, batch, False), step_microseconds(data, k, batch, True)
            print(f"   K = {k}: one shared batch {shared:.0f} us ({k * lone / shared:.2f}x of {k} lone steps), "
                  f"a batch a cell {own:.0f} us ({k * lone / own:.2f}x)")


def print_sweep_ceiling(data) -> None:
    print("\n8. the 16-run sweep's ceiling here: its packs if each further cell cost only its own products")
    rows, measured, ceiling = sweep_ceiling(data)
    for batch, row in rows.items():
        print(f"   batch {batch}: a lone step {row['lone']:.0f} us; a pack of {row['cells']} {row['pack']:.0f} us "
              f"({row['cells'] * row['lone'] / row['pack']:.2f}x), at best {row['floor']:.0f} us "
              f"({row['cells'] * row['lone'] / row['floor']:.2f}x)")
    print(f"   the sweep's training steps, packed against lone: {measured:.2f}x as measured, at most {ceiling:.2f}x "
          "(target 3x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the engine's curve and the 16-run sweep only")
    parser.add_argument("--parts", default="012345678", help="which parts to run, e.g. 5 or 12 (default: all)")
    parser.add_argument("--trials", type=int, default=9, help="Compare's openings in each state (part 5)")
    parser.add_argument("--starts", type=int, default=5, help="fresh servers (part 6)")
    parser.add_argument("--spinners", metavar="NICE", help='part 5 beside one spinner per core at this nice value '
                        '(or "idle": SCHED_IDLE) in place of the grids')
    args = parser.parse_args()
    parts = "12" if args.quick else args.parts
    cores, data = available_cores(), one_thread_data()
    fit(TrainConfig(epochs=1, device="cpu"), data)  # warm-up
    print(f"{cores} cores, one torch thread per run")
    with tempfile.TemporaryDirectory() as folder:
        steps = {"0": print_products, "1": lambda: print_engine_curve(data),
                 "2": lambda: print_sweep_16(data, folder, cores), "3": lambda: print_runs_per_second(folder),
                 "4": lambda: print_grid_64(folder), "5": lambda: print_compare(folder, args.trials, args.spinners),
                 "6": lambda: print_fresh_starts(args.starts), "7": lambda: print_cross_seed_probe(data),
                 "8": lambda: print_sweep_ceiling(data)}
        for part in parts:
            steps[part]()


if __name__ == "__main__":
    main()
