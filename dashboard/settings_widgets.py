"""Widgets for TrainConfig fields, made from each field's Setting (label, range, help, precision), so
the form, the lessons and the A/B clone all offer exactly what the config accepts."""

from __future__ import annotations

from typing import Any

import streamlit as st

from softmax_core.config import Setting, settings


def help_text(setting: Setting) -> str:
    """The setting's help with its allowed values, e.g. 'Step size ... Allowed: (0, 10].'"""
    return f"{setting.help} Allowed: {setting.allowed}."


def setting_input(name: str, key: str, value: Any = None, container: Any = st, label: str | None = None) -> Any:
    """The widget for one field (``value`` None: the widget's state under ``key`` holds it)."""
    setting = settings()[name]
    shown = label or setting.label
    if setting.kind is bool:
        options = {} if value is None else {"value": bool(value)}
        return container.checkbox(shown, key=key, help=setting.help, **options)
    if setting.choices:
        index = setting.choices.index(value) if value in setting.choices else 0
        options = {"index": index} if value is not None else {}
        return container.selectbox(shown, setting.choices, key=key, help=help_text(setting), **options)
    low, high = setting.widget_range
    options = {} if value is None else {"value": value}
    if setting.kind is int:
        return container.number_input(shown, int(low), int(high), step=int(setting.step), key=key,
                                      help=help_text(setting), **options)
    if value is not None:
        options["value"] = float(value)
    return container.number_input(shown, float(low), float(high), step=float(setting.step),
                                  format=f"%.{setting.decimals}f", key=key, help=help_text(setting), **options)
