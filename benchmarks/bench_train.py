"""The book's training pipeline against fit(), side by side in one run.

The book's pipeline, as section 3.7 writes it: ``torchvision.datasets.FashionMNIST`` with
``transforms.ToTensor()``, a ``DataLoader`` with 4 workers and shuffling, autograd on
``nn.CrossEntropyLoss(reduction='none')``, ``torch.optim.SGD``, and the same epoch metrics (average
train loss and accuracy over the epoch, test accuracy after it). fit() runs the same config.

Each pipeline runs in its own process so that its peak memory (resident set, DataLoader workers
included) is its own. Prints seconds per epoch (median), the ratio, the final metrics of both, and peak
memory.

    python benchmarks/bench_train.py                 # 10 epochs each (about a minute on 2 cores)
    python benchmarks/bench_train.py --epochs 3      # quicker
    python benchmarks/bench_train.py --device cuda   # both pipelines on the GPU (where one is)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))


def run_book_pipeline(epochs: int, data_dir: Path, device: str) -> dict:
    import torch
    from torch import nn
    from torch.utils import data as torch_data
    from torchvision import datasets, transforms

    with tempfile.TemporaryDirectory() as root:
        raw = Path(root) / "FashionMNIST" / "raw"
        raw.mkdir(parents=True)
        for file in data_dir.glob("*-ubyte.gz"):
            shutil.copy(file, raw / file.name)  # torchvision verifies the md5 and extracts them
        trans = transforms.ToTensor()
        mnist_train = datasets.FashionMNIST(root=root, train=True, transform=trans, download=True)
        mnist_test = datasets.FashionMNIST(root=root, train=False, transform=trans, download=True)
        train_iter = torch_data.DataLoader(mnist_train, 256, shuffle=True, num_workers=4)
        test_iter = torch_data.DataLoader(mnist_test, 256, shuffle=False, num_workers=4)

        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
        net.apply(lambda m: nn.init.normal_(m.weight, std=0.01) if type(m) is nn.Linear else None)
        net.to(device)
        loss = nn.CrossEntropyLoss(reduction="none")
        trainer = torch.optim.SGD(net.parameters(), lr=0.1)
        seconds, history = [], []
        for _ in range(epochs):
            started = time.perf_counter()
            net.train()
            total_loss = total_correct = total = 0.0
            for X, y in train_iter:
                X, y = X.to(device), y.to(device)
                y_hat = net(X)
                l = loss(y_hat, y)
                trainer.zero_grad()
                l.mean().backward()
                trainer.step()
                total_loss += float(l.sum())
                total_correct += float((y_hat.argmax(1) == y).sum())
                total += y.numel()
            net.eval()
            correct = count = 0.0
            with torch.no_grad():
                for X, y in test_iter:
                    X, y = X.to(device), y.to(device)
                    correct += float((net(X).argmax(1) == y).sum())
                    count += y.numel()
            seconds.append(time.perf_counter() - started)
            history.append((total_loss / total, total_correct / total, correct / count))
    return {"seconds": seconds, "final": history[-1]}


def run_fit(epochs: int, data_dir: Path, device: str) -> dict:
    from softmax_core.book.data import load_fashion_mnist
    from softmax_core.book.train import fit
    from softmax_core.config import TrainConfig

    data = load_fashion_mnist(data_dir, download=False)
    result = fit(TrainConfig(epochs=epochs, device=device), data)
    final = result.final
    return {"seconds": [e.seconds for e in result.epochs],
            "final": (final.train_loss, final.train_acc, final.test_acc)}


def peak_memory_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024  # ru_maxrss is in KiB on Linux


def measure_in_subprocess(pipeline: str, epochs: int, data_dir: Path, device: str) -> dict:
    command = [sys.executable, __file__, "--child", pipeline, "--epochs", str(epochs),
               "--data-dir", str(data_dir), "--device", device]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def default_data_dir() -> Path:
    return Path(os.environ.get("SOFTMAX_LAB_DATA", REPO_ROOT.parent / "shared" / "data" / "fashion-mnist"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--child", choices=["book", "fit"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = run_book_pipeline if args.child == "book" else run_fit
        measured = run(args.epochs, args.data_dir, args.device)
        print(json.dumps({**measured, "peak_mib": peak_memory_mib()}))
        return
    if args.device == "cuda" and not cuda_available():
        raise SystemExit("--device cuda: no CUDA GPU is visible here (torch.cuda.is_available() is False)")
    print(f"{os.cpu_count()} CPUs, device {args.device}, {args.epochs} epochs each, batch 256, lr 0.1")
    results = {name: measure_in_subprocess(name, args.epochs, args.data_dir, args.device) for name in ("book", "fit")}
    print(f"{'pipeline':<10} {'s/epoch (median)':>17} {'train loss':>10} {'train acc':>9} "
          f"{'test acc':>8} {'peak MiB':>9}")
    for name, r in results.items():
        loss, acc, test_acc = r["final"]
        print(f"{name:<10} {statistics.median(r['seconds']):>17.3f} {loss:>10.4f} {acc:>9.4f} "
              f"{test_acc:>8.4f} {r['peak_mib']:>9.0f}")
    ratio = statistics.median(results["book"]["seconds"]) / statistics.median(results["fit"]["seconds"])
    print(f"fit is {ratio:.1f}x faster per epoch (median over epochs)")


if __name__ == "__main__":
    main()
