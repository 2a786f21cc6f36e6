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
from dashboard.render import render_seed_band, show_chart
from dashboard.services import get_lesson_runs, open_store_or_stop
from dashboard.settings_widgets import setting_input
from dashboard.text import as_text
from softmax_core.analysis import lessons
from softmax_core.analysis.chart_readings import describe_band
from softmax_core.config import PRESETS, ConfigError, TrainConfig
from softmax_core.runs.store import RunRecord, ScopedRuns
from softmax_core.status import RunStatus

AB_FIELDS = ("batch_size", "lr", "epochs", "init_std", "weight_decay", "momentum", "optimizer")
STABILITY_EXAMPLES = {"tame: 2, 1, 0.1": [2.0, 1.0, 0.1], "large: 100, 0, -5": [100.0, 0.0, -5.0],
                      "very negative: 0, -200": [0.0, -200.0]}
STABILITY_RUN = TrainConfig(init_std=2.0, epochs=3, reports_per_epoch=20)


def lesson_runs(store: ScopedRuns, runs: Sequence[RunRecord]) -> list[lessons.LessonRun]:
    """The runs as the lessons read them, each computed once per run and last step (``LessonRunCache``)."""
    cache = get_lesson_runs()
    return [cache.lesson_run(run, store) for run in runs]


# --- exercise 1 ---------------------------------------------------------------------------------------------

def exercise_one(store: ScopedRuns) -> None:
    st.markdown("The book asks what happens with **batch 1024**, or with **lr 0.4**, and why its checks "
                "then fail. Run all three side by side; the explanations below are computed from these runs.")
    ids = group_from_url_or_store(store, "exercise1", "ex1")
    configs = {PRESETS[name].title: config for name, config in lessons.exercise1_configs().items()}
    left, right = st.columns([2, 3])
    fits = render_estimate(list(configs.values()))
    if left.button("Run the book's run, batch 1024 and lr 0.4", key="ex1_start", type="primary", disabled=not fits):
        ids = submit_group(configs, "exercise1")
        remember_group("ex1", ids)
    with right.popover("Add your own variant"):
        batch = setting_input("batch_size", "ex1_batch", 512)
        lr = setting_input("lr", "ex1_lr", 0.2)
        epochs = setting_input("epochs", "ex1_epochs", 10)
        fits = fits_before_the_click(lambda: [TrainConfig(batch_size=batch, lr=lr, epochs=epochs)])
        if st.button("Add to the comparison", key="ex1_add", disabled=not fits):
            ids = add_variant(ids, batch, lr, epochs)
    if not ids:
        st.info("Press the button to train the three runs (about 10 seconds).")
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
        st.warning("Run the three first; your variant joins their comparison.")
        return ids
    try:
        config = TrainConfig(batch_size=batch, lr=lr, epochs=epochs)
    except ConfigError as error:
        st.error(f"Can't add it: {error}")
        return ids
    ids = ids + submit_group({f"my variant (batch {batch}, lr {lr:g})": config}, "exercise1-mine")
    remember_group("ex1", ids)
    return ids


def explain_exercise_one(store: ScopedRuns, runs: list[RunRecord]) -> None:
    reading = lessons.read_exercise_one(lesson_runs(store, runs))
    st.markdown("**The book's checks**")
    for run in runs:
        st.markdown(f"- **#{run.id} {as_text(run.name)}**: {as_text(reading.verdicts[run.id])}")
    if reading.reasons:
        st.markdown("**Why**")
        for reason in reading.reasons:
            st.markdown("- " + as_text(reason))
    if reading.fixes:
        offer_fixes(store, reading.fixes)


def offer_fixes(store: ScopedRuns, fixes: dict[str, TrainConfig]) -> None:
    st.markdown("**What would make each pass?**")
    for label in fixes:
        st.markdown(f"- {as_text(label)}")
    fix_ids = group_from_url_or_store(store, "exercise1-fix", "ex1fix")
    fits = render_estimate(list(fixes.values()))
    if st.button("Verify the fixes by running them", key="ex1_fix", disabled=not fits):
        fix_ids = submit_group(fixes, "exercise1-fix")
        remember_group("ex1fix", fix_ids)
    if fix_ids:
        render_live_runs(store, fix_ids, "ex1_fix_curves", when_done=lambda runs: show_verdicts(store, runs))


def show_verdicts(store: ScopedRuns, runs: Sequence[RunRecord]) -> None:
    for run in lesson_runs(store, runs):
        st.markdown(f"- **#{run.run_id}** {as_text(lessons.verdict_sentence(run))}")


# --- exercise 2 ---------------------------------------------------------------------------------------------

def exercise_two(store: ScopedRuns) -> None:
    st.markdown("Train for 40 epochs and the test accuracy sometimes drops: **overfitting, or noise?** "
                "Repeat the run with several seeds and compare the dips with the seed-to-seed spread.")
    seeds_column, epochs_column, button_column = st.columns(3)
    seeds = seeds_column.number_input("Seeds", *lessons.SEED_COUNTS, 5, key="ex2_seeds")
    epochs = setting_input("epochs", "ex2_epochs", 40, container=epochs_column)
    ids = group_from_url_or_store(store, "exercise2", "ex2")
    configs = lessons.seed_group_configs(TrainConfig(epochs=epochs), seeds)
    fits = render_estimate(configs)
    if button_column.button(f"Run {epochs} epochs with {seeds} seeds", key="ex2_start", type="primary",
                            disabled=not fits):
        ids = submit_group({f"seed {c.seed}": c for c in configs}, "exercise2")
        remember_group("ex2", ids)
    if not ids:
        st.info(f"Press the button: {seeds} runs train in parallel (about half a minute).")
        return
    render_live_runs(store, ids, "ex2_curves", show_curves=False, when_done=lambda runs: show_overfitting(store, runs))


def show_overfitting(store: ScopedRuns, runs: Sequence[RunRecord]) -> None:
    bands = render_seed_band(store, runs, "ex2_bands")
    if bands is None:
        st.warning("At least two finished seeds are needed for a spread.")
        return
    finished = [run for run in runs if run.status == RunStatus.FINISHED]
    gap = lessons.gap_band(bands)
    show_chart(build_band_figure(bands.epochs, gap, y_title="accuracy gap"), "ex2_gap",
               f"Over {bands.seeds} seeds: " + "; ".join(describe_band(label, mean, std)
                                                         for label, (mean, std) in gap.items()) + ".")
    for sentence in lessons.explain_overfitting(bands):
        st.markdown("- " + as_text(sentence))
    offer_weight_decay(store, finished)


def offer_weight_decay(store: ScopedRuns, finished: Sequence[RunRecord]) -> None:
    st.markdown("**A remedy to compare:** the same seeds with weight decay 0.001 (early stopping is above).")
    wd_ids = group_from_url_or_store(store, "exercise2-wd", "ex2wd")
    configs = weight_decay_configs(finished)
    fits = render_estimate(configs)
    if st.button("Run the same seeds with weight decay 0.001", key="ex2_wd", disabled=not fits):
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
               "; ".join(describe_band(label, mean, std) for label, (mean, std) in decay.items()) + ".")
    for sentence in lessons.explain_overfitting(decayed_bands)[1:2]:
        st.markdown("- With weight decay: " + as_text(sentence))


# --- numerical stability ------------------------------------------------------------------------------------

def numerical_stability(store: ScopedRuns) -> None:
    st.markdown("Section 3.7.2: `exp(o) / sum(exp(o))` overflows for large logits and `log` of an "
                "underflowed probability is `-inf`. Subtracting the largest logit first, and computing the "
                "loss as LogSumExp, stays finite.")
    choice_column, scale_column, label_column = st.columns(3)
    choice = choice_column.selectbox("Logits", list(STABILITY_EXAMPLES), key="stab_logits")
    scale = scale_column.slider("Scale the logits by", 0.1, 10.0, 1.0, 0.1, key="stab_scale")
    logits = [value * scale for value in STABILITY_EXAMPLES[choice]]
    label = label_column.selectbox("True class", list(range(len(logits))), key="stab_label")
    # plain tables of text: a data grid greys NaN out as 'None' and cuts 3.72e-44 to zeros
    st.table(pd.DataFrame(lessons.stability_table_shown(logits)).set_index("class"))
    st.table(pd.DataFrame([lessons.stability_losses_shown(logits, label)]).set_index("true class"))
    st.markdown(as_text(lessons.stability_summary(logits, label)))
    st.markdown(f"**On real runs:** the scratch (naive) and concise (LogSumExp) models with initial weight std "
                f"{STABILITY_RUN.init_std:g}, otherwise the book's settings.")
    ids = group_from_url_or_store(store, "stability", "stab")
    pair = {"scratch (naive softmax)": STABILITY_RUN.replace(implementation="scratch"),
            "concise (LogSumExp)": STABILITY_RUN}
    fits = render_estimate(list(pair.values()))
    if st.button("Train the pair", key="stab_start", disabled=not fits):
        ids = submit_group(pair, "stability")
        remember_group("stab", ids)
    if ids:
        render_live_runs(store, ids, "stab_curves", when_done=show_stability_outcome)


def show_stability_outcome(runs: Sequence[RunRecord]) -> None:
    for run in runs:
        if run.status == RunStatus.DIVERGED:
            st.markdown(f"- **#{run.id} {as_text(run.name)}** went NaN at step {run.diverged_step} "
                        f"(epoch {run.diverged_epoch:.3f}, marked on the loss chart).")
        elif run.final_train_loss is not None:
            st.markdown(f"- **#{run.id} {as_text(run.name)}** stayed finite: train loss "
                        f"{run.final_train_loss:.3f} after {run.config.epochs} epochs.")


# --- change one thing, and repeat with seeds --------------------------------------------------------------

def change_one_thing(store: ScopedRuns) -> None:
    st.markdown("A controlled A/B: the clone keeps the seed, so it starts from the **same initial weights** "
                "and (at the same batch size) sees the **same batches in the same order**; only one setting "
                "differs.")
    base = choose_finished_run(store, "ab_base")
    if base is None:
        return
    field_column, value_column = st.columns(2)
    field = field_column.selectbox("Change", AB_FIELDS, key="ab_field")
    value = setting_input(field, f"ab_value_{field}", getattr(base.config, field), container=value_column, label="to")
    pair = group_from_url_or_store(store, "ab", "ab")
    fits = fits_before_the_click(lambda: [base.config.replace(**{field: value})])
    if st.button("Run the clone", key="ab_start", type="primary", disabled=not fits):
        try:
            variant = base.config.replace(**{field: value})
        except ConfigError as error:
            st.error(f"Can't run it: {error}")
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
    st.dataframe(pd.DataFrame([{"run": f"#{run.id} {run.name}", "status": run.status,
                                "train loss": run.final_train_loss, "test acc": run.final_test_acc}
                               for run in runs]), hide_index=True, key="ab_table")


def repeat_with_seeds(store: ScopedRuns) -> None:
    st.markdown("How much of a result is luck? Repeat any run with other seeds and see the spread.")
    base = choose_finished_run(store, "repeat_base")
    if base is None:
        return
    count = st.number_input("Seeds in all", *lessons.SEED_COUNTS, 5, key="repeat_count")
    ids = group_from_url_or_store(store, "repeat", "repeat")
    seeds = [base.config.seed + offset for offset in range(1, count)]
    configs = {f"{base.name}, seed {seed}": base.config.replace(seed=seed) for seed in seeds}
    fits = render_estimate(list(configs.values()))
    if st.button(f"Repeat with {count - 1} more seeds", key="repeat_start", type="primary", disabled=not fits):
        ids = [base.id] + submit_group(configs, "repeat")
        remember_group("repeat", ids)
    if ids:
        st.page_link("compare_page.py", label="The band also shows on the Compare page: open it",
                     icon=":material/compare_arrows:", query_params={"runs": ",".join(map(str, ids))})
        render_live_runs(store, ids, "repeat_curves", show_curves=False,
                         when_done=lambda runs: render_seed_band(store, runs, "repeat_band"))


def choose_finished_run(store, key: str):
    runs = [run for run in store.list_runs() if run.status == RunStatus.FINISHED]
    if not runs:
        st.info("No finished run yet: train one on the Train page or above.")
        return None
    by_id = {run.id: run for run in runs}
    run_id = st.selectbox("Run", list(by_id), key=key, format_func=lambda i: f"#{i} {by_id[i].name}")
    return by_id[run_id]


def main() -> None:
    open_store_or_stop()
    store = reader()
    st.title("Lessons: section 3.7, hands on")
    render_view_link("lessons")
    if not data_ready_or_offer_download():
        st.stop()
    tabs = st.tabs(["Exercise 1: batch size and lr", "Exercise 2: overfitting or noise?",
                    "Numerical stability", "Change one thing", "Repeat with seeds"], key="lesson_tab",
                   on_change="rerun")  # only the tab in view runs
    sections = (exercise_one, exercise_two, numerical_stability, change_one_thing, repeat_with_seeds)
    for tab, section in zip(tabs, sections, strict=True):
        if tab.open:
            with tab:
                section(store)
    render_glossary_panel()


main()
