"""Rules of the codebase that a reading can check (DESIGN.md): the engine never imports streamlit, every
module says what it owns, and no function grows past 50 lines."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.glob("softmax_core/**/*.py"), *ROOT.glob("dashboard/*.py"), ROOT / "app.py"])


def test_the_engine_never_imports_streamlit():
    for path in ROOT.glob("softmax_core/**/*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(name.split(".")[0] == "streamlit" for name in names), f"{path} imports streamlit"


def test_every_module_has_a_docstring_and_no_function_is_over_50_lines():
    long = []
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        if path.name != "__init__.py" or path.read_text().strip():
            assert ast.get_docstring(tree), f"{path.relative_to(ROOT)} has no module docstring"
        long += [f"{path.relative_to(ROOT)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
                 for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and node.end_lineno - node.lineno + 1 > 50]
    assert long == []
