"""Class codes that can't be guessed: a generator of readable, high-entropy codes (four words from a
256-word list and three digits: 42 bits), a pessimistic estimate of a configured code's strength (the
server warns the teacher when it is weak), and the arithmetic of guessing it at the door, where each
address gets ``CODE_TRIES`` (a few free tries, then doubling waits) and nothing else slows a guesser with
many addresses: the right code must never be refused because of other people's guesses.
"""

from __future__ import annotations

import math
import re
import secrets

from softmax_core.i18n import _
from softmax_core.runs.store import GuardRule

# 256 short, common, distinct words: each pick is 8 bits
WORDS = tuple("""acorn adobe agent alarm album alpine amber angle ankle apple apron arch arena armor arrow atlas
attic autumn badge bagel baker bamboo banjo barley basil basket beach beacon beaver berry bison blanket
blossom bottle breeze brick bridge broom bubble bucket buffalo butter button cabin cactus camel candle canoe
canyon carbon carrot castle cedar cello cherry chess cider circle citrus clover cobalt cocoa comet copper
coral cotton cougar crane crater crayon cricket crystal cumin dahlia daisy delta desert diesel dingo dolphin
domino donkey dragon drum eagle easel echo eclipse elbow elder ember engine falcon feather fern ferry fiddle
fig flute forest fossil fox galaxy garden garlic gecko ginger glacier globe goose granite grape gravel
guitar hammock harbor harvest hazel helmet heron hill honey horizon iceberg igloo island ivory jacket
jaguar jasmine jelly jigsaw jungle kayak kettle kiwi koala ladder lagoon lantern lemon lentil lilac lime
lion lizard llama lobster locket lotus magnet mango maple marble meadow melon meteor mint mitten moose
muffin mustard nectar needle nickel noodle nutmeg oasis ocean olive onion orbit orchid otter owl oyster
paddle panda papaya parrot peach peanut pebble pepper piano pickle pigeon pillow pine planet plum pocket
pony poppy potato pretzel puffin pumpkin puzzle quartz quilt rabbit radar radish rainbow raven ribbon
river robin rocket saddle salmon sandal satin scarf shell sierra silver sketch sled sparrow spider spruce
squash stone summit sunset swan tablet tango teapot thistle thunder tiger timber toast tomato topaz torch
tractor trumpet tulip tundra turnip valley velvet violin volcano walnut walrus wagon willow window winter
yogurt zebra""".split())
CODE_WORDS, CODE_DIGITS = 4, 3
STRONG_CODE_BITS = 40.0  # below this the server warns the teacher that the code is weak
# a pessimistic reading of what a person typed: a word of ours is one pick of WORDS; other letters are
# English-like (about 2.5 bits a letter, what a dictionary word carries), digits 3.3 bits, separators
# nothing (a person picks '-' or a space, and the generator always '-')
_LETTER_BITS, _DIGIT_BITS = 2.5, math.log2(10)


def generate_class_code(words: int = CODE_WORDS, digits: int = CODE_DIGITS) -> str:
    """A new class code, e.g. 'otter-maple-crane-violin-407', from the OS's random source."""
    picked = [secrets.choice(WORDS) for _ in range(words)]
    number = "".join(secrets.choice("0123456789") for _ in range(digits))
    return "-".join(picked + ([number] if number else []))


def generated_code_bits(words: int = CODE_WORDS, digits: int = CODE_DIGITS) -> float:
    """The entropy of ``generate_class_code(words, digits)``, in bits (exact: every pick is uniform)."""
    return words * math.log2(len(WORDS)) + digits * _DIGIT_BITS


def estimate_code_bits(code: str) -> float:
    """A pessimistic estimate of a code's entropy in bits, as the door compares it (case folded)."""
    bits = 0.0
    for part in re.findall(r"[a-z]+|[0-9]+|[^a-z0-9]+", code.strip().lower()):
        if part in WORDS:
            bits += math.log2(len(WORDS))
        elif part.isdigit():
            bits += len(part) * _DIGIT_BITS
        elif part.isalpha():
            bits += len(part) * _LETTER_BITS
    return bits


def weak_code_warning(code: str) -> str:
    """Why the configured class code is weak, or "" when it is strong enough."""
    bits = estimate_code_bits(code)
    if bits >= STRONG_CODE_BITS:
        return ""
    return _("The class code is weak (about {bits} bits; at least {needed} are needed): whoever tries enough "
             "codes from many computers can join. Make a strong one with `python -m softmax_core class-code` on "
             "the server and set it as the class's code.").format(bits=f"{bits:.0f}", needed=f"{STRONG_CODE_BITS:.0f}")


def guesses_per_address(rule: GuardRule, seconds: float) -> int:
    """How many codes one address can try in ``seconds`` at a door that counts tries by ``rule``: its
    free tries at once, then one after each wait (which doubles up to the rule's longest)."""
    tries, clock = 0, 0.0
    while True:
        tries += 1
        clock += rule.wait_after(tries)
        if clock > seconds:
            return tries


def years_to_guess(bits: float, addresses: int, rule: GuardRule) -> float:
    """Years an attacker with ``addresses`` addresses needs, at the door's pace, to try half of the
    code space (where the right code is found on average)."""
    first_hour = guesses_per_address(rule, 3600.0)
    per_hour = guesses_per_address(rule, 7200.0) - first_hour  # the steady pace, after the first hour
    hours = 1 + max(0.0, 2.0 ** (bits - 1) - addresses * first_hour) / (addresses * per_hour)
    return hours / (24 * 365)
