"""The Train form's contract with the pages that start runs from its values (Sweep takes "the other
settings" from it): which session key holds each TrainConfig field's widget, where the values typed are
kept while another page shows (every change, not only Start's: the form sends each field as it is typed),
and the config those values make, or the problems the core finds in them."""

from __future__ import annotations

from typing import Any

import streamlit as st

from softmax_core.config import PRESETS, ConfigError, TrainConfig, check_fields, describe_problem, field_names

FORM_FIELDS = {name: f"form_{name}" for name in field_names()}  # TrainConfig field -> widget key
FORM_EXTRAS = ("preset", "form_name")  # the form's other widgets, kept with the fields
FORM_VALUES = "form_values"  # the session key of {widget key: value}, kept across pages


def remember_form_values() -> None:
    """Keep the form's values (Streamlit drops a widget's state while another page shows)."""
    keys = [*FORM_FIELDS.values(), *FORM_EXTRAS]
    st.session_state[FORM_VALUES] = {key: st.session_state[key] for key in keys if key in st.session_state}


def form_fields() -> dict[str, Any]:
    """The TrainConfig fields' values the form holds now ({} if the form was never opened)."""
    values = st.session_state.get(FORM_VALUES) or {}
    return {field: values[key] for field, key in FORM_FIELDS.items() if key in values}


def form_problems(fields: dict[str, Any] | None = None) -> list[str]:
    """What the core refuses in the form's values, each as a form says it ('Epochs: 1000 is above the
    largest allowed, 500'); [] when they can start (or the form was never opened)."""
    fields = form_fields() if fields is None else fields
    return [describe_problem(error) for error in check_fields(fields)] if fields else []


def form_config() -> TrainConfig:
    """The config the Train form holds now; the book's run if the form was never opened (or holds a
    combination TrainConfig refuses, which ``form_problems`` names)."""
    fields = form_fields()
    if not fields:
        return PRESETS["book"].config
    try:
        return TrainConfig(**fields)
    except ConfigError:
        return PRESETS["book"].config
