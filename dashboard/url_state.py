"""What a page keeps in the URL (?runs=3,5, ?run=3), so that a reload or a copied link shows the same view.
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st


def runs_from_url(key: str = "runs") -> list[int]:
    """Run ids in the query string (?runs=3,5), ignoring anything that isn't a number."""
    raw = st.query_params.get(key, "")
    return [int(part) for part in raw.split(",") if part.strip().isdigit()]


def write_runs_to_url(run_ids: Iterable[int], key: str = "runs") -> None:
    ids = ",".join(str(run_id) for run_id in run_ids)
    if ids:
        st.query_params[key] = ids
    elif key in st.query_params:
        del st.query_params[key]
