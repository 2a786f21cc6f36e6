"""What a page keeps in the URL (?runs=3,5, ?run=3), so that a reload or a copied link shows the same view.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import streamlit as st

RUN_ID = re.compile(r"[0-9]{1,12}")  # ASCII digits only: str.isdigit() also takes '²', which int() refuses


def runs_from_url(key: str = "runs") -> list[int]:
    """Run ids in the query string (?runs=3,5), ignoring anything that isn't a plain number."""
    return parse_run_ids(st.query_params.get(key, ""))


def parse_run_ids(raw: str) -> list[int]:
    """'3, 5,x,²' -> [3, 5]: the parts that are plain ASCII numbers, in order."""
    return [int(part.strip()) for part in raw.split(",") if RUN_ID.fullmatch(part.strip())]


def write_runs_to_url(run_ids: Iterable[int], key: str = "runs") -> None:
    ids = ",".join(str(run_id) for run_id in run_ids)
    if ids:
        st.query_params[key] = ids
    elif key in st.query_params:
        del st.query_params[key]
