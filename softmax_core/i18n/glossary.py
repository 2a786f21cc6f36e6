"""The book's terms in both languages (``glossary.csv``): what the Chinese catalog follows (its test checks
that each msgid's glossary term is said with the book's Chinese term) and what the Lessons page's Glossary
shows side by side, so that a student moves between 《动手学深度学习》 and the page. Rows whose note starts
with "kept" are words the Chinese interface keeps in Latin (SGD, softmax, Fashion-MNIST, ...)."""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

GLOSSARY_PATH = Path(__file__).parent / "glossary.csv"


@dataclass(frozen=True)
class Term:
    english: str
    chinese: str
    accepts: str  # what a translation must contain where the term appears (the Chinese term if empty)
    note: str

    @property
    def kept(self) -> bool:
        """Kept in Latin in the Chinese interface."""
        return self.note.startswith("kept")


@functools.cache
def load_glossary() -> tuple[Term, ...]:
    """Every term, in the file's order."""
    with GLOSSARY_PATH.open(encoding="utf-8", newline="") as file:
        return tuple(Term(row["english"], row["chinese"], row["accepts"], row["note"]) for row in csv.DictReader(file))
