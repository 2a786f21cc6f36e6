"""What the documentation promises that a reading can check: every repository path that README.md,
docs/*.md and benchmarks/RESULTS.md cite exists (a module moved or renamed leaves no dead reference
behind), every test cited by name is defined there, every link's anchor is a heading of its page, and the
README stays a page for users (at most 200 lines; measurements and history live in the other files).

A cited path is a backticked span or a link target that looks like a path (it has a ``/`` or ends in a
file extension), or, in a code block, a word that starts with one of the repository's folders. A path that
starts with a top-level name of the repository is read from the root; a shorter one (``classroom/auth.py``,
``threat-model.md``) must be the end of some path in it. Paths outside the checkout (``../``, ``~/``,
``/etc/``) and URLs are not the repository's and are left alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
README_MAX_LINES = 200
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "RESULTS.md"]
EXTENSIONS = (".py", ".md", ".toml", ".conf", ".txt", ".cfg", ".ini", ".json", ".yml", ".yaml", ".mako", ".sh",
              ".png", ".ipynb")
# Named in the docs but never part of a checkout: what a user writes (the teacher's secrets, kept out of
# git by .gitignore), the book's data folder, and what `make` and the tests make.
NOT_IN_A_CHECKOUT = {".streamlit/secrets.toml", "FashionMNIST/raw"}
MADE_BY_BUILDS = {".venv", "artifacts", ".git", "__pycache__", ".pytest_cache", ".ruff_cache", "node_modules"}

SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
PATH_LIKE = re.compile(r"[\w.][\w.\-/]*")
FENCE = re.compile(r"^\s*```")


def list_repository() -> list[str]:
    """Every file and folder of the checkout, as paths relative to its root (build outputs left out)."""
    paths = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if not MADE_BY_BUILDS.intersection(relative.parts) and not relative.parts[0].endswith(".egg-info"):
            paths.append(relative.as_posix())
    return paths


REPOSITORY = list_repository()
TOP_LEVEL = {path.split("/")[0] for path in REPOSITORY}
TOP_FOLDERS = {name for name in TOP_LEVEL if (ROOT / name).is_dir()}


def split_prose_and_code(text: str) -> tuple[str, list[str]]:
    """The document's prose (fenced and indented code blocks removed) and its code lines."""
    prose, code, fenced, indented, previous = [], [], False, False, ""
    for line in text.splitlines():
        # an indented block starts after a blank line; indented lines right after text continue a list item
        indented = line.startswith("    ") and (indented or not previous.strip())
        if FENCE.match(line):
            fenced = not fenced
        elif fenced or indented:
            code.append(line)
        else:
            prose.append(line)
        previous = line
    return "\n".join(prose), code


def is_repository_path(text: str) -> bool:
    """Whether a backticked span reads as a path in this repository (not a URL, a flag, a command or
    something outside the checkout)."""
    text = text.split("::")[0].rstrip("/")
    if not PATH_LIKE.fullmatch(text) or text.startswith(("../", "./")) or text in NOT_IN_A_CHECKOUT:
        return False
    if re.fullmatch(r"[\d./]+", text):  # a network (192.168.1.0/24) or a ratio, not a path
        return False
    if text.split("/")[0] in MADE_BY_BUILDS:
        return False
    return "/" in text or text.endswith(EXTENSIONS)


def words_naming_folders(code_lines: list[str]) -> list[str]:
    """The words of code blocks that start with one of the repository's folders, e.g. a benchmark's path."""
    words = []
    for line in code_lines:
        for word in line.split():
            word = word.strip("(),;:'\"")
            if "/" in word and word.split("/")[0] in TOP_FOLDERS and word not in NOT_IN_A_CHECKOUT:
                words.append(word)
    return words


def resolve(cited: str) -> str | None:
    """The repository path a citation names, or None if there is none."""
    cited = cited.rstrip("/")
    if cited.split("/")[0] in TOP_LEVEL:
        return cited if cited in REPOSITORY else None
    return next((path for path in REPOSITORY if path == cited or path.endswith("/" + cited)), None)


def cited_paths(document: Path) -> list[str]:
    prose, code = split_prose_and_code(document.read_text(encoding="utf-8"))
    return [span for span in SPAN.findall(prose) if is_repository_path(span)] + words_naming_folders(code)


def heading_anchors(document: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    prose, _ = split_prose_and_code(document.read_text(encoding="utf-8"))
    headings = re.findall(r"^#+\s+(.*)$", prose, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def broken_links(document: Path) -> list[str]:
    """Links to files of the repository that don't exist, or to an anchor its page doesn't have."""
    prose, _ = split_prose_and_code(document.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(prose):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        page = (document.parent / path).resolve() if path else document
        if not page.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and page.suffix == ".md" and anchor not in heading_anchors(page):
            broken.append(f"{target} (no such heading)")
    return broken


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_path_and_test_a_document_cites_exists(document):
    missing = []
    for cited in cited_paths(document):
        path, _, test_name = cited.partition("::")
        found = resolve(path)
        if found is None:
            missing.append(cited)
        elif test_name and not re.search(rf"def {re.escape(test_name)}\(", (ROOT / found).read_text()):
            missing.append(f"{cited} (no such test in {found})")
    missing += broken_links(document)
    assert not missing, f"{document.name} cites what the repository doesn't have: {missing}"


def test_the_readme_is_a_page_for_users_of_at_most_200_lines():
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, (f"README.md has {lines} lines: measurements go to benchmarks/RESULTS.md, "
                                       "what was tried to docs/decisions.md, how it works to docs/")


def test_ci_runs_exactly_the_readmes_test_command():
    """The README's two commands are one that starts the dashboard and one that runs the tests; `.ci/run`
    runs the second as it is written, so a green CI means that the README's command passes."""
    _, code = split_prose_and_code(README.read_text(encoding="utf-8"))
    commands = [line.split("#")[0].strip() for line in code if line.startswith("make ")]
    assert commands[:2] == ["make run", "make test"]
    assert "make test" in [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
