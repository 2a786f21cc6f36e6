"""What Ray costs: many short runs through the ``ray`` executor (a local Ray instance) against the same runs
through ``local`` (worker processes), on this machine, alternated round by round in one process so both
see the same load. Both train one run per core with one torch thread each, into a fresh SQLite store.

Throughput is runs per second from the first submit to the last run's end, after a warm-up that pays
each executor's one-off costs (worker start, torch import, the data load or shipping), which are
reported apart. Memory is the proportional set size (PSS) of every process the benchmark started
(workers; for Ray also its GCS, raylet and agents), at its peak during a round.

    python benchmarks/bench_ray.py                 # 64 runs of 3 epochs, 3 rounds each
    python benchmarks/bench_ray.py --runs 16 --rounds 1
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
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("SOFTMAX_LAB_DATA", str(REPO_ROOT.parent / "shared" / "data" / "fashion-mnist"))

from softmax_core.config import TrainConfig  # noqa: E402
from softmax_core.runs.executors.local import LocalExecutor  # noqa: E402
from softmax_core.runs.executors.ray_cluster import RayExecutor  # noqa: E402
from softmax_core.runs.jobs import JobRunner  # noqa: E402
from softmax_core.runs.store import (  # noqa: E402
    EVERYTHING,  # noqa: E402
    RunStore,  # noqa: E402
)
from softmax_core.status import RunStatus  # noqa: E402


def descendants(root: int) -> list[int]:
    """Every process below ``root``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def pss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class MemoryPeak:
    """Samples the PSS of this process's descendants every 0.2 s; ``peak`` is the largest total."""

    def __init__(self):
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> MemoryPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, sum(pss_bytes(pid) for pid in descendants(os.getpid())))


def make_executor(name: str, store_url: str):
    if name == "local":
        return LocalExecutor(store_url, workers=2, threads_per_worker=1)
    return RayExecutor(store_url, cpus=1)


def run_batch(runner: JobRunner, configs: list[TrainConfig]) -> float:
    """Submit every run, wait for all; the wall time from the first submit to the last end."""
    started = time.perf_counter()
    ids = [runner.submit(config, f"bench {config.seed}") for config in configs]
    for run_id in ids:
        runner.wait(run_id)
    elapsed = time.perf_counter() - started
    failed = [run for run in runner.store.get_runs(ids, scope=EVERYTHING) if run.status != RunStatus.FINISHED]
    if failed:
        raise SystemExit(f"{len(failed)} runs did not finish, e.g. {failed[0].status}: {failed[0].error}")
    return elapsed


def one_round(name: str, folder: str, configs: list[TrainConfig], warm_up: list[TrainConfig]) -> dict:
    store = RunStore(f"sqlite:///{folder}/{name}-{time.monotonic_ns()}.db")
    with MemoryPeak() as memory:
        started = time.perf_counter()
        runner = JobRunner(store, make_executor(name, store.url))
        run_batch(runner, warm_up)
        ready = time.perf_counter() - started
        seconds = run_batch(runner, configs)
        peak = memory.peak
        runner.shutdown(cancel_running=True)
    return {"seconds": seconds, "throughput": len(configs) / seconds, "ready": ready, "pss": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    configs = [TrainConfig(epochs=args.epochs, seed=seed, device="cpu") for seed in range(args.runs)]
    warm_up = [TrainConfig(epochs=1, seed=seed, device="cpu") for seed in range(2)]
    results: dict[str, list[dict]] = {"local": [], "ray": []}
    with tempfile.TemporaryDirectory() as folder:
        for round_number in range(args.rounds):
            for name in ("local", "ray") if round_number % 2 == 0 else ("ray", "local"):
                result = one_round(name, folder, configs, warm_up)
                results[name].append(result)
                print(f"round {round_number + 1} {name:>5}: {args.runs} runs in {result['seconds']:6.1f} s "
                      f"({result['throughput']:.2f} runs/s), ready after {result['ready']:.1f} s, "
                      f"peak PSS {result['pss'] / 2**20:,.0f} MiB", flush=True)
    report(results, args)


def report(results: dict[str, list[dict]], args) -> None:
    ratios = [local["throughput"] / ray["throughput"] for local, ray in zip(results["local"], results["ray"])]
    median = {name: {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
              for name, rounds in results.items()}
    print(f"\n{args.runs} runs of {args.epochs} epochs, {os.cpu_count()} cores, {args.rounds} rounds each")
    for name, values in median.items():
        print(f"{name:>5}: median {values['throughput']:.2f} runs/s, ready after {values['ready']:.1f} s, "
              f"peak PSS {values['pss'] / 2**20:,.0f} MiB")
    overhead = statistics.median(ratios) - 1
    print(f"local / ray throughput, median ratio {statistics.median(ratios):.3f}: Ray's overhead "
          f"{100 * overhead:+.1f}% (target at most 15%)")
    print(f"memory Ray adds: {(median['ray']['pss'] - median['local']['pss']) / 2**20:+,.0f} MiB (peak PSS)")


if __name__ == "__main__":
    main()
