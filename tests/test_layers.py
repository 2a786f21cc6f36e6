"""The engine's layers, as its folders show them: each package imports only the layers below it, the
engine never imports the dashboard, streamlit or plotly, and ray only inside the functions that use it;
so ``python -m softmax_core train`` loads none of them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "softmax_core"
LAYERS = ["softmax_core", "softmax_core.book", "softmax_core.runs", "softmax_core.classroom",
          "softmax_core.analysis", "softmax_core.cli"]  # lowest first
FOREIGN = ("streamlit", "plotly", "dashboard")
MOST_TOP_LEVEL_MODULES = 10


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """The layer a module of the engine belongs to (``__main__`` runs the CLI, so it is the CLI's;
    ``notebook`` is the API a notebook calls, beside the CLI)."""
    if module in ("softmax_core.__main__", "softmax_core.notebook"):  # the CLI, and Jupyter's API: both on top
        return LAYERS.index("softmax_core.cli")
    return max(index for index, layer in enumerate(LAYERS) if module == layer or module.startswith(layer + "."))


def imports_of(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level?) for every import in the file, relative ones resolved."""
    tree, package = ast.parse(path.read_text()), module_name(path).rsplit(".", 1)[0]
    if path.name == "__init__.py":
        package = module_name(path)
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.append((base, id(node) in top_level))
    return found


def engine_files() -> list[Path]:
    return sorted(path for path in ENGINE.rglob("*.py") if "migrations" not in path.parts)


def test_each_layer_imports_only_the_layers_below_it():
    upward = []
    for path in engine_files():
        mine = layer_of(module_name(path))
        for imported, _ in imports_of(path):
            if imported.startswith("softmax_core") and layer_of(imported) > mine:
                upward.append(f"{module_name(path)} imports {imported}")
    assert upward == []


def test_the_engine_never_imports_the_dashboard_streamlit_or_plotly_and_ray_only_where_used():
    found = []
    for path in engine_files():
        for imported, at_top in imports_of(path):
            root = imported.split(".")[0]
            if root in FOREIGN or (root == "ray" and at_top):
                found.append(f"{module_name(path)} imports {imported}{' at import time' if at_top else ''}")
    assert found == []


def test_the_top_level_keeps_only_the_shared_vocabulary():
    modules = sorted(path.name for path in ENGINE.glob("*.py"))
    assert len(modules) <= MOST_TOP_LEVEL_MODULES, modules
    assert {path.name for path in ENGINE.iterdir() if path.is_dir() and path.name != "__pycache__"} == {
        "book", "runs", "classroom", "analysis", "cli", "i18n"}


LOADED_BY_TRAIN = """
import sys
from softmax_core.cli import main
code = main(sys.argv[1:])
print(sorted({name.split('.')[0] for name in sys.modules} & {'plotly', 'streamlit', 'ray', 'dashboard'}))
sys.exit(code)
"""


@pytest.mark.real_data
def test_python_m_softmax_core_train_loads_neither_plotly_streamlit_nor_ray(real_data_dir):
    done = subprocess.run([sys.executable, "-c", LOADED_BY_TRAIN, "train", "--epochs", "1", "--batch-size", "4096",
                           "--data-dir", str(real_data_dir)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
