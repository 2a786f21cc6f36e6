"""Lessons: section 3.7 of the book as experiments a class runs in minutes, on the real data. Every
explanation shown is computed (in softmax_core.analysis.lessons) from the runs just made, never canned text.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from dashboard.charts import build_band_figure
from dashboard.classroom_gate import reader, render_view_link
from dashboard.data_check import data_ready_or_offer_download
from dashboard.glossary_panel import render_glossary_panel
from dashboard.lesson_groups import group_from_url_or_store, remember_group, render_estimate, submit_group
from dashboard.live import render_live_runs
from dashboard.render import render_seed_band, show_chart, status_name
from dashboard.services import get_lesson_runs, open_store_or_stop
from dashboard.settings_widgets import setting_input
from dashboard.text import as_text
from softmax_core.analysis import lessons
from softmax_core.analysis.chart_readings import describe_band
from softmax_core.config import PRESETS, ConfigError, TrainConfig, settings
from softmax_core.i18n import N_, SOURCE_LANGUAGE, _, use_language
from softmax_core.run_names import shown_variant
from softmax_core.runs.store import RunRecord, ScopedRuns
from softmax_core.status import RunStatus

AB_FIELDS = ("batch_size", "lr", "epochs", "init_std", "weight_decay", "momentum", "optimizer")
STABILITY_EXAMPLES = dict([(N_("tame: 2, 1, 0.1"), [2.0, 1.0, 0.1]), (N_("large: 100, 0, -5"), [100.0, 0.0, -5.0]),
                           (N_("very negative: 0, -200"), [0.0, -200.0])])  # the keys are shown through _()
STABILITY_RUN = TrainConfig(init_std=2.0, epochs=3, reports_per_epoch=20)


def shown_name(run: RunRecord) -> str:
    """A lesson's run by its variant in the reader's language ('书中的运行（3.7）', '种子 3'): its stored name
    ('exercise1: The book's run (3.7)') stays English (``shown_variant``: a label the app made is said again,
    another reads as stored); a run of no lesson by its ``shown_name()``."""
    variant = run.tags.get("variant") if run.tags.get("lesson") else None
    return shown_variant(variant) if isinstance(variant, str) and variant else run.shown_name()


def lesson_runs(store: ScopedRuns, runs: Sequence[RunRecord]) -> list[lessons.LessonRun]:
    """The runs as the lessons read them, each computed once per run and last step (``LessonRunCache``)."""
    cache = get_lesson_runs()
    return [cache.lesson_run(run, store) for run in runs]


# --- exercise 1 ---------------------------------------------------------------------------------------------

def exercise_one(store: ScopedRuns) -> None:
    st.markdown(_("The book asks what happens with **batch 1024**, or with **lr 0.4**, and why its checks "
                  "then fail. Run all three side by side; the explanations below are computed from these runs."))
    ids = group_from_url_or_store(store, "exercise1", "ex1")
    configs = {PRESETS[name].title: config for name, config in lessons.exercise1_configs().items()}
    left, right = st.columns([2, 3])
    fits = render_estimate(list(configs.values()))
    if left.button(_("Run the book's run, batch 1024 and lr 0.4"), key="ex1_start", type="primary", disabled=not fits):
        ids = submit_group(configs, "exercise1")
        remember_group("ex1", ids)
    with right.popover(_("Add your own variant")):
        batch = setting_input("batch_size", "ex1_batch", 512)
        lr = setting_input("lr", "ex1_lr", 0.2)
        epochs = setting_input("epochs", "ex1_epochs", 10)
        fits = fits_before_the_click(lambda: [TrainConfig(batch_size=batch, lr=lr, epochs=epochs)])
        if st.button(_("Add to the comparison"), key="ex1_add", disabled=not fits):
            ids = add_variant(ids, batch, lr, epochs)
    if not ids:
        st.info(_("Press the button to train the three runs (about 10 seconds)."))
        return
    render_live_runs(store, ids, "ex1_curves", when_done=lambda runs: explain_exercise_one(store, runs))


def fits_before_the_click(make_configs) -> bool:
    """The cost beside a button, for configs made from widgets (whose refusal the click itself says)."""
    try:
        return render_estimate(make_configs())
    except ConfigError:
        return True


def add_variant(ids: list[int], batch: int, lr: float, epochs: int) -> list[int]:
    """Train the person's own variant beside the three; returns the group's ids."""
    if not ids:
        st.warning(_("Run the three first; your variant joins their comparison."))
        return ids
    try:
        config = TrainConfig(batch_size=batch, lr=lr, epochs=epochs)
    except ConfigError as error:
        st.error(_("Can't add it: {error}").format(error=error))
        return ids
    ids = ids + submit_group({f"my variant (batch {batch}, lr {lr:g})": config}, "exercise1-mine")
    remember_group("ex1", ids)
    return ids


def explain_exercise_one(store: ScopedRuns, runs: list[RunRecord]) -> None:
    reading = lessons.read_exercise_one(lesson_runs(store, runs))
    st.markdown(_("**The book's checks**"))
    for run in runs:
        st.markdown("- " + _("{label}: {text}").format(label=f"**#{run.id} {as_text(shown_name(run))}**",
                                                        text=as_text(reading.verdicts[run.id])))
    if reading.reasons:
        st.markdown(_("**Why**"))
        for reason in reading.reasons:
            st.markdown("- " + as_text(reason))
    if reading.fixes:
        with use_language(SOURCE_LANGUAGE):  # the fixes' labels name their runs, stored in English
            names = list(lessons.read_exercise_one(lesson_runs(store, runs)).fixes)
        offer_fixes(store, reading.fixes, names)


def offer_fixes(store: ScopedRuns, fixes: dict[str, TrainConfig], names: list[str]) -> None:
    """The fixes in the reader's language, each run under its English ``names``' label."""
    st.markdown(_("**What would make each pass?**"))
    for label in fixes:
        st.markdown(f"- {as_text(label)}")
    fix_ids = group_from_url_or_store(store, "exercise1-fix", "ex1fix")
    fits = render_estimate(list(fixes.values()))
    if st.button(_("Verify the fixes by running them"), key="ex1_fix", disabled=not fits):
        fix_ids = submit_group(dict(zip(names, fixes.values(), strict=True)), "exercise1-fix")
        remember_group("ex1fix", fix_ids)
    if fix_ids:
        render_live_runs(store, fix_ids, "ex1_fix_curves", when_done=lambda runs: show_verdicts(store, runs))


def show_verdicts(store: ScopedRuns, runs: Sequence[RunRecord]) -> None:
    for run in lesson_runs(store, runs):
        st.markdown(f"- **#{run.run_id}** {as_text(lessons.verdict_sentence(run))}")


# --- exercise 2 ---------------------------------------------------------------------------------------------

def exercise_two(store: ScopedRuns) -> None:
    st.markdown(_("Train for 40 epochs and the test accuracy sometimes drops: **overfitting, or noise?** "
                  "Repeat the run with several seeds and compare the dips with the seed-to-seed spread."))
    seeds_column, epochs_column, button_column = st.columns(3)
    seeds = seeds_column.number_input(_("Seeds"), *lessons.SEED_COUNTS, 5, key="ex2_seeds")
    epochs = setting_input("epochs", "ex2_epochs", 40, container=epochs_column)
    ids = group_from_url_or_store(store, "exercise2", "ex2")
    configs = lessons.seed_group_configs(TrainConfig(epochs=epochs), seeds)
    fits = render_estimate(configs)
    if button_column.button(_("Run {epochs} epochs with {seeds} seeds").format(epochs=epochs, seeds=seeds),
                            key="ex2_start", type="primary",
                            disabled=not fits):
        ids = submit_group({f"seed {c.seed}": c for c in configs}, "exercise2")
        remember_group("ex2", ids)
    if not ids:
        st.info(_("Press the button: {seeds} runs train in parallel (about half a minute).").format(seeds=seeds))
        return
    render_live_runs(store, ids, "ex2_curves", show_curves=False, when_done=lambda runs: show_overfitting(store, runs))


def show_overfitting(store: ScopedRuns, runs: Sequence[RunRecord]) -> None:
    bands = render_seed_band(store, runs, "ex2_bands")
    if bands is None:
        st.warning(_("At least two finished seeds are needed for a spread."))
        return
    finished = [run for run in runs if run.status == RunStatus.FINISHED]
    gap = lessons.gap_band(bands)
    show_chart(build_band_figure(bands.epochs, gap, y_title=_("accuracy gap")), "ex2_gap",
               _("Over {seeds} seeds: {bands}.").format(seeds=bands.seeds, bands=_("; ").join(
                   describe_band(label, mean, std) for label, (mean, std) in gap.items())))
    for sentence in lessons.explain_overfitting(bands):
        st.markdown("- " + as_text(sentence))
    offer_weight_decay(store, finished)


def offer_weight_decay(store: ScopedRuns, finished: Sequence[RunRecord]) -> None:
    st.markdown(_("**A remedy to compare:** the same seeds with weight decay 0.001 (early stopping is above)."))
    wd_ids = group_from_url_or_store(store, "exercise2-wd", "ex2wd")
    configs = weight_decay_configs(finished)
    fits = render_estimate(configs)
    if st.button(_("Run the same seeds with weight decay 0.001"), key="ex2_wd", disabled=not fits):
        wd_ids = submit_group({f"seed {c.seed}, wd 0.001": c for c in configs}, "exercise2-wd")
        remember_group("ex2wd", wd_ids)
    if wd_ids:
        render_live_runs(store, wd_ids, "ex2_wd_curves", show_curves=False,
                         when_done=lambda runs: show_weight_decay(store, finished, runs))


def weight_decay_configs(finished: Sequence[RunRecord]) -> list[TrainConfig]:
    """Exercise 2's remedy: the same seeds (and settings) with weight decay 0.001."""
    return [run.config.replace(weight_decay=0.001) for run in finished]


def show_weight_decay(store: ScopedRuns, plain: Sequence[RunRecord], decayed: Sequence[RunRecord]) -> None:
    plain_bands = lessons.seed_bands(lesson_runs(store, plain))
    decayed_bands = lessons.seed_bands(lesson_runs(store, [r for r in decayed if r.status == RunStatus.FINISHED]))
    decay = lessons.weight_decay_bands(plain_bands, decayed_bands)
    show_chart(build_band_figure(decayed_bands.epochs, decay), "ex2_wd_bands",
               _("{bands}.").format(bands=_("; ").join(describe_band(label, mean, std)
                                                        for label, (mean, std) in decay.items())))
    for sentence in lessons.explain_overfitting(decayed_bands)[1:2]:
        st.markdown("- " + _("With weight decay: {reading}").format(reading=as_text(sentence)))


# --- numerical stability ------------------------------------------------------------------------------------

def numerical_stability(store: ScopedRuns) -> None:
    st.markdown(_("Section 3.7.2: `exp(o) / sum(exp(o))` overflows for large logits and `log` of an "
                  "underflowed probability is `-inf`. Subtracting the largest logit first, and computing the "
                  "loss as LogSumExp, stays finite."))
    choice_column, scale_column, label_column = st.columns(3)
    choice = choice_column.selectbox(_("Logits"), list(STABILITY_EXAMPLES), key="stab_logits", format_func=_)
    scale = scale_column.slider(_("Scale the logits by"), 0.1, 10.0, 1.0, 0.1, key="stab_scale")
    logits = [value * scale for value in STABILITY_EXAMPLES[choice]]
    label = label_column.selectbox(_("True class"), list(range(len(logits))), key="stab_label")
    # plain tables of text: a data grid greys NaN out as 'None' and cuts 3.72e-44 to zeros
    st.table(shown_table(lessons.stability_table_shown(logits), "class"))
    st.table(shown_table([lessons.stability_losses_shown(logits, label)], "true class"))
    st.markdown(as_text(lessons.stability_summary(logits, label)))
    st.markdown(_("**On real runs:** the scratch (naive) and concise (LogSumExp) models with initial weight std "
                  "{std}, otherwise the book's settings.").format(std=f"{STABILITY_RUN.init_std:g}"))
    ids = group_from_url_or_store(store, "stability", "stab")
    pair = dict([(N_("scratch (naive softmax)"), STABILITY_RUN.replace(implementation="scratch")),  # stored in
                 (N_("concise (LogSumExp)"), STABILITY_RUN)])  # English; shown through _() (shown_name)
    fits = render_estimate(list(pair.values()))
    if st.button(_("Train the pair"), key="stab_start", disabled=not fits):
        ids = submit_group(pair, "stability")
        remember_group("stab", ids)
    if ids:
        render_live_runs(store, ids, "stab_curves", when_done=show_stability_outcome)


def show_stability_outcome(runs: Sequence[RunRecord]) -> None:
    for run in runs:
        if run.status == RunStatus.DIVERGED:
            st.markdown(_("- **#{run} {name}** went NaN at step {step} (epoch {epoch}, marked on the loss "
                          "chart).").format(run=run.id, name=as_text(shown_name(run)), step=run.diverged_step,
                                            epoch=f"{run.diverged_epoch:.3f}"))
        elif run.final_train_loss is not None:
            st.markdown(_("- **#{run} {name}** stayed finite: train loss {loss} after {epochs} epochs.").format(
                run=run.id, name=as_text(shown_name(run)), loss=f"{run.final_train_loss:.3f}",
                epochs=run.config.epochs))


# --- change one thing, and repeat with seeds --------------------------------------------------------------

def change_one_thing(store: ScopedRuns) -> None:
    st.markdown(_("A controlled A/B: the clone keeps the seed, so it starts from the **same initial weights** "
                  "and (at the same batch size) sees the **same batches in the same order**; only one setting "
                  "differs."))
    base = choose_finished_run(store, "ab_base")
    if base is None:
        return
    field_column, value_column = st.columns(2)
    field = field_column.selectbox(_("Change"), AB_FIELDS, key="ab_field", format_func=field_label)
    value = setting_input(field, f"ab_value_{field}", getattr(base.config, field), container=value_column,
                          label=_("to"))
    pair = group_from_url_or_store(store, "ab", "ab")
    fits = fits_before_the_click(lambda: [base.config.replace(**{field: value})])
    if st.button(_("Run the clone"), key="ab_start", type="primary", disabled=not fits):
        try:
            variant = base.config.replace(**{field: value})
        except ConfigError as error:
            st.error(_("Can't run it: {error}").format(error=error))
        else:
            pair = [base.id] + submit_group({lessons.describe_difference(base.config, variant): variant}, "ab")
            remember_group("ab", pair)
    if len(pair) == 2:
        render_live_runs(store, pair, "ab_curves", when_done=show_pair)


def show_pair(runs: Sequence[RunRecord]) -> None:
    if len(runs) != 2:
        return
    first, second = runs
    st.markdown(f"**{as_text(lessons.describe_difference(first.config, second.config))}**")
    columns = [_("run"), _("status"), _("train loss"), _("test acc")]
    rows = [(f"#{run.id} {run.shown_name()}", status_name(run.status), run.final_train_loss, run.final_test_acc)
            for run in runs]
    st.dataframe(pd.DataFrame([dict(zip(columns, row, strict=True)) for row in rows]), hide_index=True, key="ab_table")


def repeat_with_seeds(store: ScopedRuns) -> None:
    st.markdown(_("How much of a result is luck? Repeat any run with other seeds and see the spread."))
    base = choose_finished_run(store, "repeat_base")
    if base is None:
        return
    count = st.number_input(_("Seeds in all"), *lessons.SEED_COUNTS, 5, key="repeat_count")
    ids = group_from_url_or_store(store, "repeat", "repeat")
    seeds = [base.config.seed + offset for offset in range(1, count)]
    configs = {f"{base.name}, seed {seed}": base.config.replace(seed=seed) for seed in seeds}
    fits = render_estimate(list(configs.values()))
    repeat = _("Repeat with {count} more seeds").format(count=count - 1)
    if st.button(repeat, key="repeat_start", type="primary", disabled=not fits):
        ids = [base.id] + submit_group(configs, "repeat")
        remember_group("repeat", ids)
    if ids:
        st.page_link("compare_page.py", label=_("The band also shows on the Compare page: open it"),
                     icon=":material/compare_arrows:", query_params={"runs": ",".join(map(str, ids))})
        render_live_runs(store, ids, "repeat_curves", show_curves=False,
                         when_done=lambda runs: render_seed_band(store, runs, "repeat_band"))


def choose_finished_run(store, key: str):
    runs = [run for run in store.list_runs() if run.status == RunStatus.FINISHED]
    if not runs:
        st.info(_("No finished run yet: train one on the Train page or above."))
        return None
    by_id = {run.id: run for run in runs}
    run_id = st.selectbox(_("Run"), list(by_id), key=key, format_func=lambda i: f"#{i} {by_id[i].shown_name()}")
    return by_id[run_id]


def shown_table(rows: list[dict[str, str]], index: str) -> pd.DataFrame:
    """A stability table with its column names in the reader's language (the core's rows keep English keys)."""
    return pd.DataFrame(rows).set_index(index).rename_axis(_(STABILITY_COLUMNS.get(index, index))).rename(
        columns=lambda column: _(STABILITY_COLUMNS.get(column, column)))


STABILITY_COLUMNS = {"class": N_("class"), "logit": N_("logit"), "exp(o)": "`exp(o)`",
                     "naive softmax": N_("naive softmax"), "stable softmax": N_("stable softmax"),
                     "stable log-softmax": N_("stable log-softmax"), "true class": N_("true class"),
                     "naive loss": N_("naive loss"), "stable loss": N_("stable loss")}


def field_label(name: str) -> str:
    """A setting's label in the reader's language ('batch_size' -> 'Batch size' / '批量大小')."""
    return _(settings()[name].label)


TAB_LABELS = (N_("Exercise 1: batch size and lr"), N_("Exercise 2: overfitting or noise?"), N_("Numerical stability"),
              N_("Change one thing"), N_("Repeat with seeds"))


def keep_the_open_tab(labels: list[str]) -> None:
    """A tab is known by its label: after the reader changes language, open the same tab by its place."""
    index = st.session_state.get("lesson_tab_index")
    if index is not None and st.session_state.get("lesson_tab") not in labels:
        st.session_state["lesson_tab"] = labels[index]


def main() -> None:
    open_store_or_stop()
    store = reader()
    st.title(_("Lessons: section 3.7, hands on"))
    render_view_link("lessons")
    if not data_ready_or_offer_download():
        st.stop()
    labels = [_(label) for label in TAB_LABELS]
    keep_the_open_tab(labels)
    tabs = st.tabs(labels, key="lesson_tab", on_change="rerun")  # only the tab in view runs
    sections = (exercise_one, exercise_two, numerical_stability, change_one_thing, repeat_with_seeds)
    for index, (tab, section) in enumerate(zip(tabs, sections, strict=True)):
        if tab.open:
            st.session_state["lesson_tab_index"] = index
            with tab:
                section(store)
    render_glossary_panel()


main()
