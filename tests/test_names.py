"""The canonical form of a display name (softmax_core/classroom/names.py): what looks the same is equal,
what looks different is not, the form is settled (a canonical name is its own canonical name), and the
skeleton is TS #39's on Unicode's own confusables.txt."""

import unicodedata

import pytest

from softmax_core.classroom.names import (
    DEFAULT_IGNORABLE_RANGES,
    canonical_name,
    has_letter_or_digit,
    load_prototypes,
    skeleton,
    strip_ignorables,
)


@pytest.mark.parametrize(("lookalike", "name"), [
    ("\u0410lice", "Alice"),  # Cyrillic capital A
    ("Al\u034fice", "Alice"),  # combining grapheme joiner
    ("Alice\ufe0f", "Alice"),  # variation selector 16
    ("Al\u3164ice", "Alice"),  # Hangul filler
    ("\uff21\uff4c\uff49\uff43\uff45", "Alice"),  # full width
    ("ALICE", "Alice"),
    ("Zoe\u0308", "Zo\u00eb"),  # decomposed
    ("t\u0435acher", "teacher"),  # Cyrillic e
    ("\uff54\uff45\uff41\uff43\uff48\uff45\uff52", "teacher"),
    ("The   teacher", "the teacher"),
    ("B0b", "Bob"),  # digit zero: TS #39 reads it as O
    ("\u0418\u0412\u0410\u041d", "\u0418\u0432\u0430\u043d"),  # a Cyrillic name in capitals is the same name
])
def test_names_that_look_the_same_have_one_canonical_form(lookalike, name):
    assert canonical_name(lookalike) == canonical_name(name)


@pytest.mark.parametrize(("one", "other"), [
    ("Alice", "Alicia"),
    ("Zoe", "Zo\u00eb"),  # the diaeresis shows: two names (TS #39 keeps it too)
    ("\u0418\u0432\u0430\u043d", "Ivan"),
    ("\u738b\u5c0f\u660e", "\u738b\u5c0f\u6797"),
    ("Ali Ce", "Alice"),
    ("Ali", "All"),
])
def test_names_that_look_different_stay_different(one, other):
    assert canonical_name(one) != canonical_name(other)


def test_invisible_marks_and_whitespace_leave_nothing_of_a_blank_name():
    assert canonical_name("\u3164") == canonical_name(" \u115f\u1160\uffa0 \u034f ") == ""
    assert canonical_name("\u2800") == "\u2800", "a blank Braille pattern is no ignorable: the letter rule refuses it"
    assert not has_letter_or_digit("\u2800 \u3164") and not has_letter_or_digit("-_-")
    assert has_letter_or_digit("\u738b") and has_letter_or_digit("7") and has_letter_or_digit("\u0418")


def test_the_skeleton_is_ts39s_on_unicodes_confusables():
    prototypes = load_prototypes()
    assert len(prototypes) == 6311 and prototypes["\u0410"] == "A" and prototypes["m"] == "rn"
    assert all(char not in prototypes for target in prototypes.values() for char in target), \
        "a prototype is never mapped again (the data is TS #39's, not an undirected table)"
    assert skeleton("paypal") == skeleton("\u0440\u0430\u0443\u0440\u0430l")
    assert skeleton("Kim") == "Kirn" and skeleton("\u00eb") == "e\u0308"


def test_the_ignorables_are_unicodes_default_ignorable_code_points():
    ignorable = strip_ignorables("".join(chr(point) for first, last in DEFAULT_IGNORABLE_RANGES
                                         for point in range(first, last + 1)))
    assert ignorable == ""
    for char in "\u034f\ufe00\ufe0f\u3164\u200b\u200f\u2060\u180b\u115f\u1160\uffa0\U000e0100":
        assert strip_ignorables(f"a{char}b") == "ab", f"U+{ord(char):04X}"
    assert strip_ignorables("a\u2800b\u00a0c") == "a\u2800b\u00a0c", "visible or whitespace: kept"
    assert all(unicodedata.category(chr(point)) in ("Cf", "Mn", "Lo", "Cn")
               for first, last in DEFAULT_IGNORABLE_RANGES for point in range(first, last + 1))


def test_a_canonical_name_is_its_own_canonical_name():
    """Settled for every code point of the first planes (the keys the store compares are fixed points)."""
    for point in range(0x30000):
        if 0xD800 <= point <= 0xDFFF:
            continue
        key = canonical_name(chr(point))
        assert canonical_name(key) == key, f"U+{point:04X}"
