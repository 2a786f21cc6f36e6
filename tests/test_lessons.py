"""lessons.py: the explanations agree with the numbers measured on the real runs they explain."""

import dataclasses
import math
import re
from collections.abc import Sequence

import numpy as np
import pytest

from softmax_core.analysis import lessons
from softmax_core.book.train import fit
from softmax_core.config import TrainConfig
from softmax_core.runs.recording_callback import RecordingCallback
from softmax_core.runs.store import EVERYTHING, RunStore


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return RunStore(f"sqlite:///{tmp_path_factory.mktemp('lessons')}/runs.db")


def train_stored(store, data, config):
    run_id = store.create_run(config, "lesson")
    fit(config, data, [RecordingCallback(store, run_id)])
    return lessons.lesson_run(store.reader(EVERYTHING), run_id)


@pytest.fixture(scope="module")
def exercise_one(exercise_one):
    """The session's exercise-1 runs (``conftest.exercise_one``), read as the lessons read them."""
    return {name: lessons.lesson_run(run.store.reader(EVERYTHING), run.run_id) for name, run in exercise_one.items()}


def numbers_in(text):
    return [float(x) for x in re.findall(r"\d+\.\d+|\d+", text)]


def test_batch_1024_explanation_names_the_failed_check_and_the_measured_numbers(exercise_one):
    book, big = exercise_one["book"], exercise_one["batch-1024"]
    text = lessons.explain_batch_size(book, big)
    failed = big.verdict.failed[0]
    assert f"train loss {failed.value:.3f} is not below 0.5" in text
    assert "59 updates instead of 235" in text and "only 590 steps" in text
    book_same, big_end = lessons.loss_at_step(book, 590), lessons.loss_at_step(big, 590)
    assert f"{book_same:.3f}" in text and f"{big_end:.3f}" in text
    assert abs(book_same - big_end) < 0.05, "per update, batch 1024 learns about as well (the book's point)"
    assert "about the same as" in text


def test_lr_04_explanation_reports_the_measured_oscillation(exercise_one):
    book, fast = exercise_one["book"], exercise_one["lr-0.4"]
    text = lessons.explain_learning_rate(book, fast)
    book_jump = lessons.batch_to_batch_jump(book.last_epoch_batch_losses)
    fast_jump = lessons.batch_to_batch_jump(fast.last_epoch_batch_losses)
    assert fast_jump > 1.5 * book_jump, "at lr 0.4 the loss jumps more from batch to batch"
    assert f"{fast_jump:.3f}" in text and f"{book_jump:.3f}" in text and f"({fast_jump / book_jump:.1f}x)" in text
    assert f"train loss {fast.final_train_loss:.3f} is not below 0.5" in text
    assert lessons.verdict_sentence(book).startswith("passes the book's checks")


def test_the_suggested_fixes_pass_when_run(exercise_one, store, fashion_mnist):
    for name in ("batch-1024", "lr-0.4"):
        fixed_config, reason = lessons.suggest_fix(exercise_one[name].config)
        fixed = train_stored(store, fashion_mnist, fixed_config)
        assert fixed.verdict.passed, f"{name} fixed by '{reason}' still fails: {lessons.verdict_sentence(fixed)}"


def test_overfitting_statements_follow_from_the_seed_spread(store, fashion_mnist):
    runs = [train_stored(store, fashion_mnist, config)
            for config in lessons.seed_group_configs(TrainConfig(epochs=15), 3)]
    bands = lessons.seed_bands(runs)
    assert bands.seeds == 3 and len(bands.epochs) == 15
    assert np.allclose(bands.test_mean, np.mean([r.epoch_test_acc for r in runs], axis=0))
    dips, gap, best, loss_gap = lessons.explain_overfitting(bands)
    gaps = np.array([r.epoch_held_out_loss for r in runs]) - np.array([r.epoch_train_loss for r in runs])
    assert f"{gaps.mean(0)[4]:.4f} at epoch 5" in loss_gap and f"{gaps.mean(0)[14]:.4f} at epoch 15" in loss_gap
    assert "it grows" in loss_gap, "on the real data the test loss pulls away from the train loss by epoch 15"
    dip, _ = lessons.largest_dip(bands.test_mean)
    noise = float(np.median(bands.test_std))
    assert f"{dip:.4f}" in dips and f"{noise:.4f}" in dips
    assert dip < 0.015 and "within noise" in dips, "on the real data, 15 epochs' dips are seed noise"
    assert f"epoch {int(np.argmax(bands.test_mean)) + 1}" in best


def made_up_run(test_acc, train_acc, seed=0):
    return lessons.LessonRun(seed, TrainConfig(seed=seed), "finished", None, [], [], [0.5] * len(test_acc),
                             train_acc, test_acc)


def test_a_dip_larger_than_the_noise_and_a_growing_gap_are_called_so():
    rng = np.random.default_rng(0)
    base = np.linspace(0.80, 0.84, 20)
    base[12:] -= 0.03  # a real drop after epoch 12
    runs = [made_up_run(list(base + rng.normal(0, 0.001, 20)),
                        list(base + np.linspace(0.0, 0.05, 20) + rng.normal(0, 0.001, 20)), seed)
            for seed in range(5)]
    dips, gap, _ = lessons.explain_overfitting(lessons.seed_bands(runs))
    assert "larger than the noise" in dips and "it grows" in gap


def test_noise_sized_wiggles_are_called_noise():
    rng = np.random.default_rng(1)
    runs = [made_up_run(list(0.83 + rng.normal(0, 0.01, 20)), list(0.84 + rng.normal(0, 0.01, 20)), seed)
            for seed in range(5)]
    dips, gap, _ = lessons.explain_overfitting(lessons.seed_bands(runs))
    assert "within noise" in dips and "no growth beyond noise" in gap


def test_exercise_twos_bands_are_named_after_what_was_held_out():
    """Before the reveal a student's held-out accuracy is the validation split's: the gap and the weight
    decay bands say so (they were called 'test' whatever was held out)."""
    runs = [made_up_run([0.80, 0.82, 0.83], [0.81, 0.84, 0.86], seed) for seed in range(3)]
    validation = [dataclasses.replace(run, held_out="validation") for run in runs]
    hidden, shown = lessons.seed_bands(validation), lessons.seed_bands(runs)
    assert list(lessons.gap_band(hidden)) == ["train − validation gap"]
    assert list(lessons.weight_decay_bands(hidden, hidden)) == ["validation accuracy, no decay",
                                                                "validation accuracy, wd 0.001"]
    assert list(lessons.gap_band(shown)) == ["train − test gap"], "after the reveal, the test set"
    assert list(lessons.weight_decay_bands(shown, shown))[1] == "test accuracy, wd 0.001"


def test_largest_dip_and_loss_at_step():
    assert lessons.largest_dip([0.1, 0.5, 0.3, 0.6, 0.55]) == (pytest.approx(0.2), 3)
    run = lessons.LessonRun(1, TrainConfig(), "finished", None, [10, 20, 30], [0.9, 0.7, 0.6], [], [], [])
    assert lessons.loss_at_step(run, 25) == 0.7 and math.isnan(lessons.loss_at_step(run, 5))


def test_stability_table_shows_naive_failure_and_stable_success():
    rows = lessons.stability_table([100.0, 0.0, -5.0])
    assert math.isinf(rows[0]["exp(o)"]) and math.isnan(rows[0]["naive softmax"])
    assert rows[0]["stable softmax"] == pytest.approx(1.0)
    assert all(value is not None for row in rows for value in row.values()), "every cell has a value"
    losses = lessons.stability_losses([100.0, 0.0, -5.0], label=0)
    assert math.isnan(losses["naive loss"]) and losses["stable loss"] == pytest.approx(0.0, abs=1e-5)
    assert "NaN (inf/inf)" in lessons.stability_summary([100.0, 0.0, -5.0])
    underflow = lessons.stability_summary([0.0, -200.0], label=1)
    assert "naive loss is inf where LogSumExp gives 200" in underflow
    assert lessons.stability_summary([2.0, 1.0, 0.1]).startswith("These logits are tame")


def test_describe_difference():
    assert lessons.describe_difference(TrainConfig(), TrainConfig(lr=0.4)) == "lr 0.1 -> lr 0.4"
    assert lessons.describe_difference(TrainConfig(), TrainConfig(optimizer="adam")) == "sgd -> adam"


def test_a_group_of_seeds_has_different_seeds():
    """Two runs of one seed are one sample of the seed-to-seed spread: no group, no zero-wide band."""
    def run(run_id, seed, acc):
        return lessons.LessonRun(run_id, TrainConfig(seed=seed), "finished", None, [], [], [0.5], [acc], [acc])

    same = [run(1, 0, 0.8), run(2, 0, 0.8)]
    assert lessons.group_by_seed(same) == []
    mixed = [run(1, 0, 0.8), run(2, 0, 0.8), run(3, 1, 0.9)]
    assert [[r.run_id for r in group] for group in lessons.group_by_seed(mixed)] == [[1, 3]]
    bands = lessons.seed_bands(mixed)
    assert bands.seeds == 2 and bands.test_mean[0] == pytest.approx(0.85)


def test_the_stability_numbers_read_as_they_are():
    assert [lessons.shown_number(v) for v in (math.nan, math.inf, -math.inf, 3.72e-44, 0.0, 100.0)] == [
        "NaN", "inf", "-inf", "3.72e-44", "0", "100"]
    assert "differs by 0.13% from the stable" in lessons.stability_summary([20.0, 10.0, 1.0])


# --- the readings in Chinese: the same numbers, the book's terms, no English left ---------------------------

NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z-]*")
MATH_WORDS = {"exp", "inf", "LogSumExp"}  # the formulas' own names, as the book prints them


def kept_words() -> set[str]:
    from softmax_core.i18n.glossary import load_glossary

    return {term.english for term in load_glossary() if term.kept}


def in_both_languages(read):
    """``read()`` in English, then as a Chinese reader gets it."""
    from softmax_core.i18n import use_language

    english = read()
    with use_language("zh"):
        chinese = read()
    return english, chinese


def assert_same_reading(english: str, chinese: str, terms: Sequence[str], allowed: set[str] = frozenset()):
    assert sorted(NUMBER.findall(chinese)) == sorted(NUMBER.findall(english)), (english, chinese)
    assert all(term in chinese for term in terms), (terms, chinese)
    assert set(LATIN_WORD.findall(NUMBER.sub(" ", chinese))) <= kept_words() | set(allowed), chinese


def exercise_one_text(runs) -> str:
    reading = lessons.read_exercise_one(runs)
    return "\n".join([*reading.verdicts.values(), *reading.reasons, *reading.fixes])


def test_exercise_ones_reading_in_chinese_says_the_same_numbers(exercise_one):
    """Issue 39: batch 1024 and lr 0.4 read in Chinese with the very numbers of the English reading."""
    runs = [exercise_one[name] for name in lessons.EXERCISE1_VARIANTS]
    english, chinese = in_both_languages(lambda: exercise_one_text(runs))
    assert "59 updates instead of 235" in english and len(NUMBER.findall(english)) > 20
    assert_same_reading(english, chinese, ["批量大小", "学习率", "训练损失", "轮"])
    assert "未通过书中的检查" in chinese and "59 次更新" in chinese


def test_exercise_twos_reading_in_chinese_says_the_same_numbers():
    rng = np.random.default_rng(2)
    base = np.linspace(0.80, 0.84, 20)
    runs = [dataclasses.replace(made_up_run(list(base + rng.normal(0, 0.004, 20)),
                                            list(base + np.linspace(0, 0.05, 20) + rng.normal(0, 0.004, 20)), seed),
                                epoch_held_out_loss=list(0.5 + np.linspace(0, 0.1, 20) + rng.normal(0, 0.004, 20)))
            for seed in range(4)]
    for held_out, accuracy, loss in (("test", "测试精度", "测试损失"), ("validation", "验证精度", "验证损失")):
        bands = lessons.seed_bands([dataclasses.replace(run, held_out=held_out) for run in runs])

        def read(bands=bands):
            return "\n".join([*lessons.explain_overfitting(bands), *lessons.gap_band(bands),
                              *lessons.weight_decay_bands(bands, bands)])

        english, chinese = in_both_languages(read)
        assert len(english.splitlines()) == 7 and "loss gap" in english
        assert_same_reading(english, chinese, [accuracy, loss, "训练损失", "种子", "第 5 轮", "过拟合", "权重衰减"])


@pytest.mark.parametrize("logits, label", [([100.0, 0.0, -5.0], 0), ([0.0, -200.0], 1), ([2.0, 1.0, 0.1], 0),
                                           ([20.0, 10.0, 1.0], 0)])
def test_the_stability_summary_in_chinese_says_the_same_numbers(logits, label):
    english, chinese = in_both_languages(lambda: lessons.stability_summary(logits, label))
    assert_same_reading(english, chinese, ["损失"], MATH_WORDS)
