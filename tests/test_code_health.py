"""Rules of the codebase that a reading can check: every module says what it is, and no function grows past
50 lines. (Which package may import which is tests/test_layers.py.)"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.glob("softmax_core/**/*.py"), *ROOT.glob("dashboard/*.py"), ROOT / "app.py"])


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
