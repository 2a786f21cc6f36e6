"""Is Fashion-MNIST here? If not: what to put where, and a download with a progress bar.
"""

from __future__ import annotations

import streamlit as st

from softmax_core.book.data import DataError, describe_expected_files, ensure_files, missing_files, resolve_data_dir
from softmax_core.i18n import _


def data_ready_or_offer_download() -> bool:
    """True when Fashion-MNIST is on disk; otherwise explain, and offer a download with a progress bar."""
    folder = resolve_data_dir()
    try:
        absent = missing_files(folder)
    except DataError as error:
        st.error(str(error))
        return False
    if not absent:
        return True
    st.warning(_("Fashion-MNIST is not here yet: {where}.").format(where=describe_expected_files(folder)))
    if st.button(_("Download Fashion-MNIST (about 30 MB)"), key="download_data"):
        progress = st.progress(0.0, text=_("starting the download"))

        def report(name: str, done: int, total: int | None) -> None:
            share = done / total if total else 0.0
            progress.progress(min(share, 1.0), text=f"{name}: {done / 1e6:.1f} MB")

        try:
            ensure_files(folder, progress=report)
        except DataError as error:
            st.error(str(error))
            return False
        st.success(_("Downloaded and verified."))
        return True
    return False
