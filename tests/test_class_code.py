"""Class codes (softmax_core/classroom/class_code.py): a generated code is readable and has at least 40
bits, a weak configured code is called weak (the server logs it and the board shows it), the guessing
arithmetic of docs/threat-model.md holds for the door's real rule, `class-code` prints a fresh code, and
the waiting room's migration counts every student who joined before it as admitted."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from softmax_core.classroom.auth import CODE_TRIES
from softmax_core.classroom.class_code import (
    WORDS,
    estimate_code_bits,
    generate_class_code,
    generated_code_bits,
    guesses_per_address,
    weak_code_warning,
    years_to_guess,
)
from softmax_core.runs.store import RunStore


def test_a_generated_code_is_words_and_digits_with_at_least_40_bits():
    codes = {generate_class_code() for _ in range(200)}
    assert len(codes) == 200 and len(set(WORDS)) == len(WORDS) == 256
    assert all(re.fullmatch(r"([a-z]+-){4}\d{3}", code) for code in codes)
    assert generated_code_bits() >= 40 and round(generated_code_bits()) == 42
    assert all(estimate_code_bits(code) == generated_code_bits() for code in list(codes)[:20])
    assert weak_code_warning(generate_class_code()) == ""


def test_a_short_or_guessable_code_is_called_weak():
    for weak in ("FM-101", "FM-2026", "softmax", "12345678", "otter-maple"):
        assert "The class code is weak" in weak_code_warning(weak), weak
    assert estimate_code_bits("FM-101") < 20


def test_the_doors_pace_is_what_the_threat_model_says():
    """10 free tries an address, then waits of 2, 4, ... 256 s, then 300 s: 28 in the first hour, 12 an
    hour after; a 42-bit code then takes 1000 addresses about 20,000 years on average."""
    rule = CODE_TRIES["address"]
    assert guesses_per_address(rule, 0) == 10 and guesses_per_address(rule, 3600) == 28
    assert guesses_per_address(rule, 7200) - guesses_per_address(rule, 3600) == 12
    assert 19_000 < years_to_guess(generated_code_bits(), 1000, rule) < 22_000
    assert years_to_guess(estimate_code_bits("FM-101"), 20, rule) * 365 * 24 < 200, "a weak code: hours"


def test_class_code_prints_a_fresh_strong_code(capsys):
    from softmax_core.cli import main

    out = io.StringIO()
    assert main(["class-code"], out=out) == 0
    code = out.getvalue().strip()
    assert re.fullmatch(r"([a-z]+-){4}\d{3}", code) and "42 bits" in capsys.readouterr().err


def test_students_who_joined_before_the_waiting_room_count_as_admitted(tmp_path):
    from alembic import command

    from softmax_core.runs.store.engine import _alembic_config

    url = f"sqlite:///{tmp_path}/runs.db"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        command.upgrade(_alembic_config(conn), "0005")
        conn.execute(sa.text("INSERT INTO students (name, name_key, token_digest, joined_at) "
                             "VALUES ('Ada', 'ada', 'digest', 123.0)"))
        conn.commit()
    engine.dispose()
    [ada] = RunStore(url).classroom.list_students()
    assert ada.admitted_at == 123.0 and not ada.waiting
