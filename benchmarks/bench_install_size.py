"""How much disk `pip install .` takes: the installed size of softmax-lab's runtime dependencies (no
extras) in the environment that runs this, from each distribution's RECORD, split into torch and
torchvision, what only a CUDA build of torch pulls in (nvidia-*, triton, cuda-bindings, ...), and the rest.

    .venv/bin/python benchmarks/bench_install_size.py

The CPU path installs the rest, torchvision and a CPU build of torch; measure such a torch on its own with
    pip install --no-deps --target /tmp/cpu-torch <a torch+cpu wheel> && python -m compileall -q /tmp/cpu-torch
    du -sb /tmp/cpu-torch
"""

from __future__ import annotations

import importlib.metadata as metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

TORCH = {"torch", "torchvision"}
MIB = 2**20


def installed_bytes(dist: metadata.Distribution) -> int:
    files = (Path(dist.locate_file(name)) for name in dist.files or [])
    return sum(path.stat().st_size for path in files if path.is_file())


def runtime_closure(root: str, skip_from_torch: frozenset[str] = frozenset()) -> dict[str, metadata.Distribution]:
    """Every distribution `root` needs without extras (and what the extras its requirements ask for need);
    torch's requirements named in skip_from_torch left out."""
    found: dict[str, metadata.Distribution] = {}
    done: set[tuple[str, frozenset[str]]] = set()
    waiting: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    while waiting:
        name, extras = waiting.pop()
        name = canonicalize_name(name)
        if (name, extras) in done:
            continue
        done.add((name, extras))
        found[name] = metadata.distribution(name)
        for requirement in map(Requirement, found[name].requires or []):
            wanted = requirement.marker is None or any(requirement.marker.evaluate({"extra": extra})
                                                       for extra in extras | {""})
            if wanted and not (name == "torch" and canonicalize_name(requirement.name) in skip_from_torch):
                waiting.append((requirement.name, frozenset(requirement.extras)))
    return found


def main() -> None:
    everything = runtime_closure("softmax-lab")
    torch_needs = {canonicalize_name(Requirement(text).name) for text in everything["torch"].requires or []}
    cuda_only_roots = frozenset(name for name in torch_needs if name.startswith(("nvidia", "cuda", "triton")))
    without_cuda = runtime_closure("softmax-lab", cuda_only_roots)
    sizes = {name: installed_bytes(dist) for name, dist in everything.items()}
    torch = sum(sizes[name] for name in TORCH)
    rest = sum(size for name, size in sizes.items() if name in without_cuda and name not in TORCH)
    cuda = sum(size for name, size in sizes.items() if name not in without_cuda)
    print(f"torch {everything['torch'].version}, torchvision {everything['torchvision'].version}")
    print(f"all {len(everything)} distributions: {sum(sizes.values()) / MIB:,.0f} MiB")
    print(f"  torch and torchvision: {torch / MIB:,.0f} MiB")
    print(f"  only for CUDA ({len(everything) - len(without_cuda)} distributions): {cuda / MIB:,.0f} MiB")
    print(f"  the rest ({len(without_cuda) - len(TORCH)} distributions): {rest / MIB:,.0f} MiB")


if __name__ == "__main__":
    main()
