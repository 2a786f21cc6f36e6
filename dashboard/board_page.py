"""Class board (classroom mode): each student's best shared run on the class's challenge, ranked by
validation accuracy, with the top runs' curves and each entry's settings. The teacher sets the challenge
and reveals test accuracy; then the board shows how the ranking moves, and why (``board.read_reveal``).
It refreshes itself, so it can stay on the projector (``?present=1``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.charts import build_curves_figure, run_traces
from dashboard.classroom_gate import identity
from dashboard.render import escape_markdown
from dashboard.services import get_curve_cache, open_store_or_stop
from softmax_core.classroom.board import CHALLENGES, DEFAULT_CHALLENGE, BoardEntry, rank_board, read_reveal
from softmax_core.runs.store import RunStore

TOP_CURVES = 5
REFRESH_SECONDS = 3.0


def render_teacher_controls(store: RunStore, state: dict) -> None:
    """The challenge and the reveal, for the teacher only."""
    left, right = st.columns([3, 1])
    current = state.get("challenge", DEFAULT_CHALLENGE)
    chosen = left.selectbox("The class's challenge", list(CHALLENGES), index=list(CHALLENGES).index(current),
                            format_func=lambda key: CHALLENGES[key].title, key="board_challenge")
    if chosen != current:
        store.set_class_state("challenge", chosen)
    revealed = bool(state.get("revealed"))
    label = "Hide test accuracy" if revealed else "Reveal test accuracy"
    if right.button(label, key="board_reveal", type="secondary" if revealed else "primary"):
        store.set_class_state("revealed", not revealed)
        st.rerun()


def board_table(entries: list[BoardEntry], revealed: bool) -> pd.DataFrame:
    """One row per student: place, name, validation accuracy, settings; test accuracy once revealed."""
    rows = []
    for entry in entries:
        config = entry.run.config
        row = {"place": entry.rank, "student": entry.student, "val acc": f"{entry.val_acc:.4f}"}
        if revealed:
            moved = entry.places_moved
            row.update({"test acc": f"{entry.test_acc:.4f}", "place by test": entry.test_rank,
                        "moves": "=" if moved == 0 else (f"↑{moved}" if moved > 0 else f"↓{-moved}")})
        row.update({"batch": config.batch_size, "lr": f"{config.lr:g}", "epochs": config.epochs,
                    "optimizer": config.optimizer, "wd": f"{config.weight_decay:g}",
                    "momentum": f"{config.momentum:g}", "run": f"#{entry.run.id}"})
        rows.append(row)
    return pd.DataFrame(rows)


def render_top_curves(entries: list[BoardEntry], revealed: bool) -> None:
    metrics = ["train_loss", "val_acc"] + (["test_acc"] if revealed else [])
    cache = get_curve_cache()
    traces = [trace for index, entry in enumerate(entries[:TOP_CURVES])
              for trace in run_traces(cache.curves_of(entry.run, f"{entry.rank}. {entry.student}"), index, metrics)]
    st.plotly_chart(build_curves_figure([], title=f"the top {min(TOP_CURVES, len(entries))} runs", traces=traces),
                    key="board_curves", width="stretch")


@st.fragment(run_every=REFRESH_SECONDS)
def render_board() -> None:
    store = open_store_or_stop()
    state = store.class_state()
    if identity() is not None and identity().is_teacher:
        render_teacher_controls(store, state)
    challenge = CHALLENGES[state.get("challenge", DEFAULT_CHALLENGE)]
    revealed = bool(state.get("revealed"))
    st.subheader(challenge.title)
    st.caption(f"Each student's best run shared to the board, among {challenge.rules}; ranked by accuracy on "
               "10,000 training images held out for validation. Test accuracy stays hidden until the teacher "
               "reveals it.")
    names = {student.id: student.name for student in store.list_students()}
    entries = rank_board([run for run in store.list_runs() if run.shared], names, challenge)
    if not entries:
        st.info("No shared run meets the challenge yet: train with a validation split, then switch on Share.")
        return
    st.table(board_table(entries, revealed))
    if revealed:
        st.subheader("What the test set says")
        for line in read_reveal(entries):
            st.markdown(escape_markdown(line))
    render_top_curves(entries, revealed)


def main() -> None:
    st.title("Class board")
    render_board()


main()
