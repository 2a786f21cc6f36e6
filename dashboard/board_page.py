"""Class board (classroom mode): each student's best shared run on the class's challenge, ranked by
validation accuracy, with the top runs' curves and each entry's settings. The teacher sets the challenge,
reveals test accuracy (then the board shows how the ranking moves, and why: ``board.read_reveal``), and
keeps the door: sees joins as they happen, lets waiting students in (with the waiting room on), refuses
them, removes several students at once and sets the class size (the policy decides; this page asks).
All of it refreshes itself, so it can stay on the projector (``?present=1``): there the class sees the
ranking and the challenge first, how to join (the address, the code, a QR code), the names of who is in,
and the top curves in large type; never a control, an address a student joined from, or test accuracy
before the reveal (the policy reads the projector's page as the class may).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.charts import build_curves_figure, curves_text, run_traces
from dashboard.classroom_gate import identity, reader
from dashboard.curve_controls import curve_view_controls
from dashboard.join_panel import render_join_panel
from dashboard.language import in_readers_language
from dashboard.render import chart_style, presenting, show_chart, shown_as_message
from dashboard.services import get_curve_cache, get_policy, get_store, open_store_or_stop
from dashboard.text import as_text
from softmax_core.classroom.auth import MOST_COST_ALLOWED, MOST_STUDENTS_ALLOWED, WAITING_ROOM_FACTOR, ClassroomError
from softmax_core.classroom.board import CHALLENGES, DEFAULT_CHALLENGE, BoardEntry, rank_board, read_reveal
from softmax_core.classroom.class_code import weak_code_warning
from softmax_core.classroom.policy import REVEALED
from softmax_core.config import BOOK_BATCH, TrainConfig, run_cost
from softmax_core.errors import LabError
from softmax_core.i18n import N_, _, join_sentences, ngettext
from softmax_core.metric_registry import METRICS, shown_to
from softmax_core.runs.store import StudentRecord

TOP_CURVES = 5
PROJECTOR_DROPS = ["wd", "momentum", "run"]  # the room reads the ranking, not every setting
REVEALED_DROPS = ["epochs", "optimizer"]  # room for the test set's three columns on a 1280-px projector
REFRESH_SECONDS = 3.0
LET_IN = N_("{result} let in.")
COLUMN_NAMES = {"place": N_("place"), "student": N_("student"), "val acc": N_("val acc"), "test acc": N_("test acc"),
                "place by test": N_("place by test"), "moves": N_("moves"), "batch": N_("batch"), "lr": N_("lr"),
                "epochs": N_("epochs"), "optimizer": N_("optimizer"), "wd": N_("wd"), "momentum": N_("momentum"),
                "run": N_("run")}


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
    chosen = left.selectbox(_("The class's challenge"), list(CHALLENGES), index=list(CHALLENGES).index(current),
                            format_func=lambda key: _(CHALLENGES[key].title), key="board_challenge")
    if chosen != current:
        set_class_state("challenge", chosen)
    revealed = bool(state.get(REVEALED))
    label = _("Hide test accuracy") if revealed else _("Reveal test accuracy")
    if right.button(label, key="board_reveal", type="secondary" if revealed else "primary"):
        set_class_state(REVEALED, not revealed)
        st.rerun()
    render_run_limit()


def render_run_limit() -> None:
    """The largest run a student may start, in book steps (the book's 10-epoch run costs 2,350)."""
    policy = get_policy()
    current = policy.run_limit()
    chosen = st.number_input(_("Largest run a student may start (book steps)"), 1, MOST_COST_ALLOWED, current,
                             step=1000, key="board_run_limit",
                             help=_("A run's steps weighted by batch/{book_batch}: the book's run costs {book}, its "
                                    "40-epoch exercise {longer}.").format(
                                 book_batch=BOOK_BATCH, book=f"{run_cost(TrainConfig()):,}",
                                 longer=f"{run_cost(TrainConfig(epochs=40)):,}"))
    if int(chosen) != current:
        try:
            policy.set_run_limit(identity(), int(chosen))
        except LabError as error:
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
    metrics = [m.name for m in METRICS if (m.held_out or m.kind == "loss") and shown_to(m.split, revealed)]
    cache, runs = get_curve_cache(), reader()
    view = curve_view_controls("board_curves")
    curves = [cache.curves_of(entry.run, f"{entry.rank}. {entry.student}", runs) for entry in entries[:TOP_CURVES]]
    traces = [trace for index, run_curves in enumerate(curves)
              for trace in run_traces(run_curves, index, metrics, view.smoothing)]
    figure = build_curves_figure([], title=top_runs_title(min(TOP_CURVES, len(entries))), traces=traces,
                                 style=chart_style(), view=view)
    show_chart(figure, "board_curves", join_sentences([_("Loss and accuracy against epoch."),
                                                       *curves_text(curves, metrics)]))


@in_readers_language  # the teacher's buttons call it back: their toasts speak the teacher's language
def act_on_class(action, *args, done: str = "", said: dict | None = None) -> None:
    """Ask the policy to do a teacher's action; its refusal (or ``done``, a catalog message, with the result
    and ``said``) is shown."""
    try:
        result = action(identity(), *args)
    except ClassroomError as error:
        st.session_state["board_refusal"] = str(error)
        return
    if done:
        count = result if not isinstance(result, list) else len(result)
        st.toast(as_text(_(done).format(result=count, **(said or {}))))


def admit_chosen() -> None:
    act_on_class(get_policy().admit, st.session_state.pop("board_waiting_pick", []), done=LET_IN)


def admit_all() -> None:
    waiting = [student.id for student in get_store().classroom.list_students(waiting=True)]
    act_on_class(get_policy().admit, waiting, done=LET_IN)


def refuse_all_waiting() -> None:
    act_on_class(get_policy().refuse_waiting, done=N_("{result} sent away from the waiting room."))


def remove_chosen() -> None:
    act_on_class(get_policy().remove_students, st.session_state.pop("board_remove_pick", []),
                 done=N_("Removed; {result} of their runs stopped."))


def set_waiting_room() -> None:
    act_on_class(get_policy().set_waiting_room, st.session_state["board_waiting_room"])


def set_class_size() -> None:
    size = int(st.session_state["board_class_size"])
    act_on_class(get_policy().set_class_size, size, done=N_("The class now takes {size} students."),
                 said={"size": size})


def keep_known(key: str, options: list[int]) -> None:
    """Drop from a multiselect's choice the students who are gone (its options changed under it)."""
    if key in st.session_state:
        st.session_state[key] = [student_id for student_id in st.session_state[key] if student_id in options]


def pick_students(label: str, key: str, students: list[StudentRecord]) -> None:
    names = {student.id: _("{name} (from {address})").format(name=student.name, address=student.shown_address())
             for student in students}
    keep_known(key, list(names))
    st.multiselect(label, list(names), format_func=names.get, key=key, placeholder=_("choose students"))


def render_door_settings(policy) -> None:
    """The waiting room's switch and the class size (the teacher's; stored in the class's state)."""
    left, right, button = st.columns([2, 1, 1], vertical_alignment="bottom")
    left.toggle(_("Waiting room: new joins wait until you let them in"), value=policy.waiting_room_on(),
                key="board_waiting_room", on_change=set_waiting_room)
    right.number_input(_("Class size"), min_value=1, max_value=MOST_STUDENTS_ALLOWED, value=policy.class_size(),
                       step=1, key="board_class_size")
    button.button(_("Set class size"), key="board_set_class_size", on_click=set_class_size)


def list_names(students: list[StudentRecord]) -> None:
    """One line per student: their name (as text) and where they joined from."""
    st.markdown("\n".join("- " + _("{name}, joined from {address}").format(
        name=as_text(s.name), address=as_text(s.shown_address())) for s in students))


def render_waiting(waiting: list[StudentRecord], size: int) -> None:
    st.markdown(_("**Waiting to be let in: {count}** (the room holds at most {most})").format(
        count=len(waiting), most=WAITING_ROOM_FACTOR * size))
    if not waiting:
        st.caption(_("Nobody is waiting."))
        return
    list_names(waiting)
    pick_students(_("Let in"), "board_waiting_pick", waiting)
    admit, everyone, refuse = st.columns(3)
    admit.button(_("Let the chosen in"), key="board_admit", on_click=admit_chosen, type="primary")
    everyone.button(_("Let everyone in"), key="board_admit_all", on_click=admit_all)
    refuse.button(_("Refuse all waiting"), key="board_refuse_all", on_click=refuse_all_waiting,
                  help=_("Sends everyone in the waiting room away; their names are free again."))


def render_admitted(students: list[StudentRecord], size: int) -> None:
    st.markdown(_("**In the class: {count}** of {size}").format(count=len(students), size=size))
    if not students:
        st.caption(_("Nobody has joined yet."))
        return
    list_names(students)
    pick_students(_("Remove from the class"), "board_remove_pick", students)
    st.button(_("Remove the chosen"), key="board_remove", on_click=remove_chosen,
              help=_("Ends their sign-in on every device, stops their runs and takes them off the board."))


def render_students(code: str) -> None:
    """The teacher's view of the door, redrawn with the board: who waits, who is in, and what to do."""
    policy, store = get_policy(), get_store()
    waiting, admitted = store.classroom.list_students(waiting=True), store.classroom.list_students(waiting=False)
    if warning := weak_code_warning(code):
        st.warning(warning)
    with st.container(border=True):
        st.header(_("Students ({count})").format(count=len(admitted)))
        render_door_settings(policy)
        size = policy.class_size()
        render_waiting(waiting, size)
        render_admitted(admitted, size)


def ranking_caption(challenge, revealed: bool) -> str:
    """What the ranking ranks by, and whether test accuracy is still hidden (it follows the reveal)."""
    test = (_("Test accuracy is revealed: where each run lands on the test set.") if revealed
            else _("Test accuracy stays hidden until the teacher reveals it."))
    if presenting():
        return _("Ranked by validation accuracy (10,000 held-out training images), among {rules}. {test}").format(
            rules=challenge.rules, test=test)
    return _("Each student's best run shared to the board, among {rules}; ranked by accuracy on 10,000 training "
             "images held out for validation. {test}").format(rules=challenge.rules, test=test)


def render_ranking(state: dict, entries: list[BoardEntry], revealed: bool) -> None:
    """The challenge and the ranking: what the class looks at first."""
    challenge = CHALLENGES[state.get("challenge", DEFAULT_CHALLENGE)]
    st.header(_(challenge.title), anchor=False)
    st.caption(ranking_caption(challenge, revealed))
    if not entries:
        st.info(_("No shared run meets the challenge yet: train with a validation split, then switch on Share."))
        return
    table = board_table(entries, revealed)
    if presenting():
        table = table.drop(columns=PROJECTOR_DROPS + (REVEALED_DROPS if revealed else []), errors="ignore")
    st.table(table.rename(columns=lambda column: _(COLUMN_NAMES.get(column, column))))


def render_class_names(students: list[StudentRecord], waiting: int) -> None:
    """On the projector: who is in the class, by name only (never where they joined from)."""
    names = _(", ").join(as_text(student.name) for student in students) or _("nobody yet")
    st.markdown(_("**In the class ({count}):** {names}").format(count=len(students), names=names))
    if waiting:
        st.caption(_("{count} waiting to be let in: open the board without presenting mode.").format(count=waiting))


def render_projected_board(state: dict, entries: list[BoardEntry], revealed: bool) -> None:
    """The projector's board: the ranking beside how to join, the names, then the top runs' curves."""
    store = get_store()
    ranking, door = st.columns([2.6, 1], gap="large")
    with ranking:
        render_ranking(state, entries, revealed)
    with door:
        render_join_panel(get_policy().settings.code)
        render_class_names(store.classroom.list_students(waiting=False),
                           len(store.classroom.list_students(waiting=True)))
    render_reveal_and_curves(entries, revealed)


def render_reveal_and_curves(entries: list[BoardEntry], revealed: bool) -> None:
    if not entries:
        return
    if revealed and all(entry.test_rank is not None for entry in entries):
        st.header(_("What the test set says"), anchor=False)
        for line in read_reveal(entries):
            st.markdown(as_text(line))
    render_top_curves(entries, revealed)


@st.fragment(run_every=REFRESH_SECONDS)
@in_readers_language  # each refresh is a thread of its own
@shown_as_message
def render_board() -> None:
    """Everything on the board, redrawn every few seconds: the reveal, the challenge, the ranking, the class."""
    store = open_store_or_stop()
    state = store.classroom.class_state()
    if "board_refusal" in st.session_state:
        st.error(st.session_state.pop("board_refusal"))
    revealed = bool(state.get(REVEALED))
    challenge = CHALLENGES[state.get("challenge", DEFAULT_CHALLENGE)]
    names = {student.id: student.name for student in store.classroom.list_students()}
    entries = rank_board([run for run in reader().list_runs() if run.shared], names, challenge)
    if presenting():  # the class's view: no control, no address, no test accuracy before the reveal
        render_projected_board(state, entries, revealed)
        return
    if is_teacher():
        render_students(get_policy().settings.code)
        render_teacher_controls(state)
    render_ranking(state, entries, revealed)
    render_reveal_and_curves(entries, revealed)


def top_runs_title(count: int) -> str:
    """'the top run', 'the top 5 runs'."""
    return ngettext("the top run", "the top {count} runs", count).format(count=count)


def main() -> None:
    if not presenting():  # on the projector the challenge is the headline: the ranking must fit the first screen
        st.title(_("Class board"))
    render_board()


main()
