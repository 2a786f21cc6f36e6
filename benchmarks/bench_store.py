"""What recording a run in the store costs: fit() alone against fit() with RecordingCallback on a fresh
SQLite database, alternated in one process so both see the same machine load.

    python benchmarks/bench_store.py                 # 7 pairs of 3-epoch runs
    python benchmarks/bench_store.py --pairs 3 --epochs 10 --reports 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from softmax_core.book.data import load_fashion_mnist  # noqa: E402
from softmax_core.book.train import fit  # noqa: E402
from softmax_core.config import TrainConfig  # noqa: E402
from softmax_core.runs.recording_callback import RecordingCallback  # noqa: E402
from softmax_core.runs.store import RunStore  # noqa: E402


def timed_fit(config: TrainConfig, data, store: RunStore | None) -> float:
    callbacks = []
    if store is not None:
        callbacks.append(RecordingCallback(store, store.create_run(config, "bench")))
    started = time.perf_counter()
    fit(config, data, callbacks)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--reports", type=int, default=5, help="reports per epoch")
    args = parser.parse_args()
    data_dir = os.environ.get("SOFTMAX_LAB_DATA", REPO_ROOT.parent / "shared" / "data" / "fashion-mnist")
    data = load_fashion_mnist(data_dir, download=False)
    config = TrainConfig(epochs=args.epochs, reports_per_epoch=args.reports, device="cpu")
    with tempfile.TemporaryDirectory() as folder:
        store = RunStore(f"sqlite:///{folder}/bench.db")
        timed_fit(config, data, store)  # warm-up: first-use costs on both paths
        plain, stored = [], []
        for _ in range(args.pairs):
            plain.append(timed_fit(config, data, None))
            stored.append(timed_fit(config, data, store))
    ratios = [s / p for s, p in zip(stored, plain)]
    print(f"{args.pairs} pairs of {args.epochs}-epoch runs, {args.reports} reports per epoch")
    print(f"fit alone      median {statistics.median(plain):.3f} s")
    print(f"fit + store    median {statistics.median(stored):.3f} s")
    print(f"stored / plain median ratio {statistics.median(ratios):.3f} (limit 1.15)")


if __name__ == "__main__":
    main()
