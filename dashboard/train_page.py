"""Train: a sidebar form with every TrainConfig field and the book's presets (the exercises' three fields
and Start within a laptop's first screen, the rest behind "More settings"); what the core refuses in it
is named beside Start, field by field. Start submits to the shared JobRunner and returns at once (a
worker process trains); the runs of this view grow live below, in the shared live view, the chart above
the cards with progress, Cancel and verdict. Opened with no run named, the view shows the runs still
going that this person started. In classroom mode a student sees only their own runs here, can share
each to the class board, and starts runs with a validation split.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from dashboard.charts import build_curve_panels
from dashboard.classroom_gate import classroom_on, identity, own_runs, reader, refuse_hidden
from dashboard.data_check import data_ready_or_offer_download
from dashboard.live import render_curve_panels, render_live_runs
from dashboard.render import render_progress, render_verdict, status_markdown
from dashboard.run_actions import render_cancel, render_challenge_note, render_share, show_action_refusal
from dashboard.services import get_policy, open_store_or_stop
from dashboard.settings_widgets import setting_input
from dashboard.text import as_text
from dashboard.train_form import FORM_FIELDS, FORM_VALUES, remember_form_values
from dashboard.url_state import runs_from_url, write_runs_to_url
from softmax_core.classroom.budget import what_fits
from softmax_core.config import PRESETS, ConfigError, TrainConfig, check_fields, describe_problem
from softmax_core.errors import LabError
from softmax_core.i18n import _
from softmax_core.runs.store import RunRecord, RunRequest

SHOWN_FIELDS = ("batch_size", "lr", "epochs")  # the book's exercises vary these; the rest are behind "More settings"
START_KEY = "train_start"
MAX_LIVE_RUNS = 6


def apply_preset() -> None:
    """Fill the form with the chosen preset's values."""
    config = PRESETS[st.session_state["preset"]].config
    for field, key in FORM_FIELDS.items():
        st.session_state[key] = getattr(config, field)


def init_session_state() -> None:
    """The form holds the last values typed (the book's run at first); the view shows the URL's runs, or
    else the runs this person started that are still going."""
    if "watched" not in st.session_state:  # the page opened (a new tab, the address typed again)
        st.session_state["watched"] = runs_from_url()
        book = PRESETS["book"].config
        st.session_state[FORM_VALUES] = {key: getattr(book, field) for field, key in FORM_FIELDS.items()}
        if classroom_on():  # the class board ranks runs on the validation split
            st.session_state[FORM_VALUES][FORM_FIELDS["validation"]] = True
        if not st.session_state["watched"]:  # only then: a tab already open keeps to the runs it started
            watch_runs_going()
    for key, value in st.session_state[FORM_VALUES].items():
        st.session_state.setdefault(key, value)  # Streamlit drops widget state while another page shows


def watch_runs_going() -> None:
    """A view with no run named (a new tab, ``/`` typed again) shows the runs still queued or training
    that this person started: they outlive the tab that started them."""
    going = get_policy().runs_going(identity(), MAX_LIVE_RUNS)
    if going:
        st.session_state["watched"] = going
        write_runs_to_url(going)


def form_input(field: str, container=st) -> None:
    """A form field whose default is its current value: without it, a rerun first draws the field at
    its default and then corrects it, a visible flash. Unbounded: a number out of range reaches the page,
    which names the field and its range beside Start (the core's check is the one source of ranges)."""
    key = FORM_FIELDS[field]
    setting_input(field, key, value=st.session_state[key], container=container, bounded=False)


def config_form() -> tuple[TrainConfig | None, str]:
    """The sidebar form, Start within a laptop's first screen; returns (config, run name) when Start was
    clicked with valid values. Each field reaches the server as it is typed (no ``st.form``): the values
    stay while another page shows, and Sweep starts from them."""
    sidebar = st.sidebar
    sidebar.selectbox(_("Preset"), list(PRESETS), key="preset", on_change=apply_preset,
                      format_func=lambda name: _(PRESETS[name].title),
                      help=_("The book's run and its exercises; the form below takes its values."))
    errors = check_fields(held_fields())
    left, right = sidebar.columns(2)
    form_input("batch_size", left)
    form_input("lr", right)
    left, right = sidebar.columns(2, vertical_alignment="bottom")
    form_input("epochs", left)
    started = right.button(_("Start"), type="primary", key=START_KEY, width="stretch")
    if errors:  # beside Start, before and after a click: a red border alone says neither what nor why
        sidebar.error("  \n".join([_("Can't start:"), *(as_text(describe_problem(error)) for error in errors)]))
    sidebar.caption(preset_caption())  # below Start: what it teaches, not in its way
    with sidebar.expander(_("More settings"), expanded=any(error.field not in SHOWN_FIELDS for error in errors)):
        name = st.text_input(_("Run name (optional)"), key="form_name", max_chars=200)
        for field in FORM_FIELDS:
            if field not in SHOWN_FIELDS:
                form_input(field)
    render_cost()
    render_challenge()
    if not started or errors:
        return None, ""
    return TrainConfig(**held_fields()), name


def preset_caption() -> str:
    """What the chosen preset teaches, while the form's batch size, learning rate and epochs are still its
    own; once one is changed, the lesson's words ('10 epochs: the checks pass') no longer describe the form."""
    preset = PRESETS[st.session_state["preset"]]
    held = held_fields()
    if all(held[field] == getattr(preset.config, field) for field in SHOWN_FIELDS):
        return _(preset.lesson)
    return _("Your own settings: the preset's words no longer apply.")


def held_fields() -> dict:
    """The TrainConfig fields' values the form holds now."""
    return {field: st.session_state[key] for field, key in FORM_FIELDS.items()}


def held_config() -> TrainConfig | None:
    """The config the form holds as this session would train it (None: values TrainConfig refuses, which
    the form says beside Start)."""
    try:
        return get_policy().prepare(identity(), TrainConfig(**held_fields()))
    except (ConfigError, KeyError):
        return None


def render_cost() -> None:
    """Beside Start, before the click: what the form's run costs and the class's limits (a student only)."""
    config = held_config()
    if config is None:
        return
    estimate = get_policy().estimate(identity(), [config])
    if estimate.run_limit is None:
        return
    if estimate.fits:
        st.sidebar.caption(_("This run {cost} ({fits}).").format(cost=estimate.summary(),
                                                                 fits=what_fits(config, estimate.run_limit)))
    else:
        st.sidebar.warning(_("Too large to start: {why}").format(why=estimate.refusal))


def render_challenge() -> None:
    """Beside Start, for a student: the class's challenge, whether the form's run can count for it (the
    core's ``Challenge.why_not``) and, when it can't, a click that sets the form up for it."""
    challenge, config = get_policy().challenge_for(identity()), held_config()
    if challenge is None or config is None:
        return
    st.sidebar.info(_("**The class's challenge:** {title} ({rules}). Share your best run to put it on the "
                      "board.").format(title=_(challenge.title), rules=challenge.rules), icon=":material/emoji_events:")
    reason = challenge.why_not(config)
    if not reason:
        st.sidebar.caption(_("These settings can count for the challenge."))
        return
    st.sidebar.warning(_("{why}.").format(why=reason))
    st.sidebar.button(_("Set up for the challenge"), key="challenge_set_up", on_click=set_up_for_challenge,
                      width="stretch", help=_("Keeps your other settings and changes only what the challenge "
                                              "rules out."))


def set_up_for_challenge() -> None:
    """Put the form at the nearest settings the challenge admits (a callback: before the form is drawn)."""
    challenge, config = get_policy().challenge_for(identity()), held_config()
    if challenge is None or config is None:
        return
    fitted = challenge.set_up(config)
    for field, key in FORM_FIELDS.items():
        st.session_state[key] = getattr(fitted, field)


def start_run(config: TrainConfig, name: str) -> None:
    try:
        [run_id] = get_policy().start(identity(), [RunRequest(config, name)])
    except LabError as error:
        st.sidebar.error(_("Can't start: {why}").format(why=error))
        return
    watched = [run_id] + [i for i in st.session_state["watched"] if i != run_id]
    st.session_state["watched"] = watched[:MAX_LIVE_RUNS]
    write_runs_to_url(st.session_state["watched"])
    st.toast(_("Run #{run_id} started").format(run_id=run_id))


def render_run_card(run: RunRecord) -> None:
    with st.container(border=True):
        title, action = st.columns([5, 1])
        title.markdown(f"**#{run.id} {as_text(run.shown_name())}**  \n{status_markdown(run)}")
        render_cancel(run, action, key=f"cancel_{run.id}")
        render_share(run, action)
        render_progress(run)
        render_verdict(run)
        render_challenge_note(run)


def render_run_cards(runs: Sequence[RunRecord]) -> None:
    for run in runs:
        render_run_card(run)


def visible_here(run_ids: list[int]) -> list[int]:
    """The watched runs this session may see on Train (a student: their own); the others refused."""
    if identity() is None:
        return run_ids
    shown = own_runs(reader().get_runs(run_ids))
    refuse_hidden(run_ids, shown)
    allowed = {run.id for run in shown}
    return [run_id for run_id in run_ids if run_id in allowed]


def render_empty_curves() -> None:
    """The chart's place before any run: Plotly's bundle loads now, not with the first click."""
    render_curve_panels(build_curve_panels([], title=_("the loss and accuracy curves grow here")), "live_curves",
                        _("No run yet: the curves grow here once one starts."), caption=False)


def main() -> None:
    open_store_or_stop()
    init_session_state()
    st.title(_("Softmax regression on Fashion-MNIST"))
    st.caption(_("Dive into Deep Learning, section 3.7: set the hyperparameters in the sidebar and press Start. "
                 "Runs keep training when you close the tab; compare them on the Compare page."))
    data_ready = data_ready_or_offer_download()
    config, name = config_form()
    remember_form_values()
    if config is not None and not data_ready:
        st.sidebar.error(_("Can't start yet: Fashion-MNIST is missing (see the message on the page)."))
    elif config is not None:
        start_run(config, name)
    show_action_refusal()
    watched = visible_here(st.session_state["watched"])
    if not watched:
        st.info(_("No run in this view yet: press **Start** in the sidebar to train the book's model (on a phone, "
                  "open the sidebar with **»** at the top left)."))
        render_empty_curves()
        return
    render_live_runs(reader(), watched, "live_curves", draw_runs=render_run_cards, curves_first=True)


main()
