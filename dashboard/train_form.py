"""The Train form's contract with the pages that start runs from its values (Sweep takes "the other
settings" from it): which session key holds each TrainConfig field's widget, where the last values used
are kept while another page shows, and the config those values make."""

from __future__ import annotations

import streamlit as st

from softmax_core.config import PRESETS, ConfigError, TrainConfig, field_names

FORM_FIELDS = {name: f"form_{name}" for name in field_names()}  # TrainConfig field -> widget key
FORM_VALUES = "form_values"  # the session key of {widget key: value}, kept across pages


def remember_form_values() -> None:
    """Keep the form's values (Streamlit drops a widget's state while another page shows)."""
    st.session_state[FORM_VALUES] = {key: st.session_state[key] for key in FORM_FIELDS.values()}


def form_config() -> TrainConfig:
    """The config the Train form holds now; the book's run if the form was never opened (or holds a
    combination TrainConfig refuses, which its own Start would say)."""
    values = st.session_state.get(FORM_VALUES)
    if not values:
        return PRESETS["book"].config
    try:
        return TrainConfig(**{field: values[key] for field, key in FORM_FIELDS.items() if key in values})
    except ConfigError:
        return PRESETS["book"].config
