"""Class board (classroom mode): each student's best shared run on the class's challenge, ranked by
validation accuracy, with the top runs' curves and each entry's settings. The teacher sets the challenge,
reveals test accuracy (then the board shows how the ranking moves, and why: ``board.read_reveal``), and
sees the class's students, any of whom they can remove. It refreshes itself, so it can stay on the
projector (``?present=1``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.charts import build_curves_figure, run_traces
from dashboard.classroom_gate import identity, reader
from dashboard.render import shown_as_message
from dashboard.services import get_curve_cache, get_policy, get_store, open_store_or_stop
from dashboard.text import as_text
from softmax_core.classroom.auth import MOST_COST_ALLOWED, ClassroomError
from softmax_core.classroom.board import CHALLENGES, DEFAULT_CHALLENGE, BoardEntry, rank_board, read_reveal
from softmax_core.classroom.policy import REVEALED
from softmax_core.config import BOOK_BATCH, TrainConfig, run_cost

TOP_CURVES = 5
REFRESH_SECONDS = 3.0


def is_teacher() -> bool:
    return identity() is not None and identity().is_teacher


def set_class_state(key: str, value) -> None:
    try:
        get_policy().set_class_state(identity(), key, value)
    except ClassroomError as error:
        st.session_state["board_refusal"] = str(error)


def render_teacher_controls(state: dict) -> None:
    """The challenge and the reveal (the policy lets only the teacher change them)."""
    left, right = st.columns([3, 1])
    current = state.get("challenge", DEFAULT_CHALLENGE)
    chosen = left.selectbox("The class's challenge", list(CHALLENGES), index=list(CHALLENGES).index(current),
                            format_func=lambda key: CHALLENGES[key].title, key="board_challenge")
    if chosen != current:
        set_class_state("challenge", chosen)
    revealed = bool(state.get(REVEALED))
    label = "Hide test accuracy" if revealed else "Reveal test accuracy"
    if right.button(label, key="board_reveal", type="secondary" if revealed else "primary"):
        set_class_state(REVEALED, not revealed)
        st.rerun()
    render_run_limit()


def render_run_limit() -> None:
    """The largest run a student may start, in book steps (the book's 10-epoch run costs 2,350)."""
    policy = get_policy()
    current = policy.run_limit()
    chosen = st.number_input("Largest run a student may start (book steps)", 1, MOST_COST_ALLOWED, current,
                             step=1000, key="board_run_limit",
                             help=f"A run's steps weighted by batch/{BOOK_BATCH}: the book's run costs "
                                  f"{run_cost(TrainConfig()):,}, its 40-epoch exercise "
                                  f"{run_cost(TrainConfig(epochs=40)):,}.")
    if int(chosen) != current:
        try:
            policy.set_run_limit(identity(), int(chosen))
        except (ClassroomError, ValueError) as error:
            st.session_state["board_refusal"] = str(error)


def board_table(entries: list[BoardEntry], revealed: bool) -> pd.DataFrame:
    """One row per student: place, name, validation accuracy, settings; test accuracy once revealed.
    ``st.table`` renders its cells as Markdown, so the name goes in as text."""
    rows = []
    for entry in entries:
        config = entry.run.config
        row = {"place": entry.rank, "student": as_text(entry.student), "val acc": f"{entry.val_acc:.4f}"}
        if revealed and entry.test_rank is not None:
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
    cache, runs = get_curve_cache(), reader()
    traces = [trace for index, entry in enumerate(entries[:TOP_CURVES])
              for trace in run_traces(cache.curves_of(entry.run, f"{entry.rank}. {entry.student}", runs), index,
                                      metrics)]
    st.plotly_chart(build_curves_figure([], title=f"the top {min(TOP_CURVES, len(entries))} runs", traces=traces),
                    key="board_curves", width="stretch")


def remove_student(student_id: int, name: str) -> None:
    try:
        stopped = get_policy().remove_student(identity(), student_id)
    except ClassroomError as error:
        st.session_state["board_refusal"] = str(error)
        return
    st.toast(as_text(f"{name} is out of the class; {stopped} of their runs stopped."))


def render_students() -> None:
    """The teacher's list of the class: who joined, from where, and Remove (their token and runs end)."""
    students = get_store().classroom.list_students()
    with st.expander(f"Students ({len(students)})"):
        if not students:
            st.caption("Nobody has joined yet.")
        for student in students:
            name, where, action = st.columns([3, 2, 1])
            name.markdown(as_text(student.name))
            where.caption(as_text(f"joined from {student.joined_from or 'unknown'}"))
            action.button("Remove", key=f"remove_student_{student.id}", on_click=remove_student,
                          args=(student.id, student.name),
                          help="Ends their sign-in on every device, stops their runs and takes them off the board.")


@st.fragment(run_every=REFRESH_SECONDS)
@shown_as_message
def render_board() -> None:
    store = open_store_or_stop()
    state = store.classroom.class_state()
    if "board_refusal" in st.session_state:
        st.error(st.session_state.pop("board_refusal"))
    if is_teacher():
        render_teacher_controls(state)
    challenge = CHALLENGES[state.get("challenge", DEFAULT_CHALLENGE)]
    revealed = bool(state.get(REVEALED))
    st.subheader(challenge.title)
    st.caption(f"Each student's best run shared to the board, among {challenge.rules}; ranked by accuracy on "
               "10,000 training images held out for validation. Test accuracy stays hidden until the teacher "
               "reveals it.")
    names = {student.id: student.name for student in store.classroom.list_students()}
    entries = rank_board([run for run in reader().list_runs() if run.shared], names, challenge)
    if not entries:
        st.info("No shared run meets the challenge yet: train with a validation split, then switch on Share.")
        return
    st.table(board_table(entries, revealed))
    if revealed and all(entry.test_rank is not None for entry in entries):
        st.subheader("What the test set says")
        for line in read_reveal(entries):
            st.markdown(as_text(line))
    render_top_curves(entries, revealed)


def main() -> None:
    st.title("Class board")
    if is_teacher():
        render_students()
    render_board()


main()
