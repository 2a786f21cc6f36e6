"""Widgets for TrainConfig fields, made from each field's Setting (label, range, help, precision), so
the form, the lessons and the A/B clone all offer exactly what the config accepts."""

from __future__ import annotations

from typing import Any

import streamlit as st

from softmax_core.config import Setting, settings
from softmax_core.i18n import N_, _

CHOICE_NAMES = {"concise": N_("concise (3.7)"), "scratch": N_("from scratch (3.6)"), "auto": N_("automatic"),
                "sgd": "SGD", "adam": "Adam"}  # the optimizers by their own names, as the book writes them


def help_text(setting: Setting) -> str:
    """The setting's help with its allowed values, e.g. 'Step size ... Allowed: (0, 10].'"""
    allowed = _(", ").join(map(choice_name, setting.choices)) if setting.choices else setting.allowed
    return _("{help} Allowed: {allowed}.").format(help=setting.help_text, allowed=allowed)


def choice_name(value: str) -> str:
    """A choice as a form shows it ('SGD' and 'Adam' are the optimizers' own names, in every language)."""
    return _(CHOICE_NAMES[value]) if value in CHOICE_NAMES else value


def setting_input(name: str, key: str, value: Any = None, container: Any = st, label: str | None = None,
                  bounded: bool = True) -> Any:
    """The widget for one field (``value`` None: the widget's state under ``key`` holds it). ``bounded``
    False lets a number outside the range reach the page, so that the page can say what is wrong with it
    (a bounded field that the browser refuses only turns red, and the page never hears of it)."""
    setting = settings()[name]
    shown = label or setting.label_text
    if setting.kind is bool:
        options = {} if value is None else {"value": bool(value)}
        return container.checkbox(shown, key=key, help=setting.help_text, **options)
    if setting.choices:
        index = setting.choices.index(value) if value in setting.choices else 0
        options = {"index": index} if value is not None else {}
        return container.selectbox(shown, setting.choices, key=key, help=help_text(setting), format_func=choice_name,
                                   **options)
    low, high = setting.widget_range
    kind = int if setting.kind is int else float
    options = {} if value is None else {"value": kind(value)}
    if bounded:
        options |= {"min_value": kind(low), "max_value": kind(high)}
    if setting.kind is not int:
        options["format"] = f"%.{setting.decimals}f"
    return container.number_input(shown, step=kind(setting.step), key=key, help=help_text(setting), **options)
