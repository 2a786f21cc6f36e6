"""Run names as a reader reads them: a name the app made (Train's ``describe_config``, a sweep's, a lesson's) is
stored in English and said again in the reader's language from the run's config and tags; a typed name, and
the stored name itself, stay as they are."""

from __future__ import annotations

import pytest

from softmax_core.analysis.lessons import group_tags
from softmax_core.analysis.sweeps import SweepSpec, sweep_requests
from softmax_core.config import PRESETS, TrainConfig, describe_config
from softmax_core.i18n import use_language
from softmax_core.runs.store import RunRecord
from softmax_core.status import RunStatus


def stored_run(name: str, config: TrainConfig, tags: dict | None = None) -> RunRecord:
    return RunRecord(id=1, name=name, config=config, status=RunStatus.FINISHED, created_at=0.0, started_at=None,
                     ended_at=None, error=None, finals={}, verdict=None, diverged_step=None, diverged_epoch=None,
                     steps_per_epoch=None, total_steps=None, tags=tags or {})


def lesson_run(lesson: str, variant: str) -> RunRecord:
    return stored_run(f"{lesson}: {variant}", TrainConfig(), group_tags(lesson, "ab12cd34", variant))


BIG_BATCH = TrainConfig(batch_size=1024, lr=0.4, epochs=2)


def test_a_train_run_named_by_its_config_reads_in_chinese():
    run = stored_run(describe_config(BIG_BATCH), BIG_BATCH)
    assert run.name == "batch 1024, lr 0.4, epochs 2"
    with use_language("zh"):
        assert run.shown_name() == "批量大小 1024，学习率 0.4，轮数 2"
        assert stored_run("book defaults", TrainConfig()).shown_name() == "书中的默认值"
        assert stored_run("scratch", TrainConfig(implementation="scratch")).shown_name() == "从零实现"
    assert run.shown_name() == run.name and run.to_dict()["name"] == run.name  # English, and what the CLI says


def test_a_sweeps_run_reads_in_chinese():
    spec = SweepSpec(TrainConfig(epochs=1), {"batch_size": [512], "lr": [0.1]}, seeds=1)
    request = sweep_requests(spec, "c39ce51a")[0]
    run = stored_run(request.name, request.config, request.tags)
    assert run.name == "sweep c39ce51a: batch 512, lr 0.1, seed 0"
    with use_language("zh"):
        assert run.shown_name() == "扫描 c39ce51a：批量大小 512，学习率 0.1，种子 0"
    assert run.shown_name() == run.name


@pytest.mark.parametrize(("lesson", "variant", "chinese"), [
    ("exercise1", PRESETS["book"].title, "练习1：书中的运行（3.7）"),
    ("exercise1-fix", "#5 fixed: halve the learning rate to 0.2", "练习1-修正：修正 #5：把学习率减半为 0.2"),
    ("stability", "scratch (naive softmax)", "数值稳定性：从零实现（朴素的 softmax）"),
    ("exercise2", "seed 1", "练习2：种子 1"),
    ("exercise2-wd", "seed 1, wd 0.001", "练习2-权重衰减：种子 1，权重衰减 0.001"),
    ("repeat", "batch 1024, lr 0.4, epochs 2, seed 1", "重复：批量大小 1024，学习率 0.4，轮数 2，种子 1"),
    ("repeat", "book defaults, seed 1", "重复：书中的默认值，种子 1"),
    ("ab", "batch 1024 -> batch 256", "对照：批量大小 1024 → 批量大小 256"),
    ("exercise1-mine", "my variant (batch 512, lr 0.2)", "练习1-我的变体：我的变体（批量大小 512，学习率 0.2）"),
])
def test_a_lessons_run_reads_in_chinese(lesson, variant, chinese):
    run = lesson_run(lesson, variant)
    with use_language("zh"):
        assert run.shown_name() == chinese
    assert run.shown_name() == run.name == f"{lesson}: {variant}"


def test_a_typed_name_stays_as_typed():
    with use_language("zh"):
        assert stored_run("my first run", BIG_BATCH).shown_name() == "my first run"
        assert stored_run("batch 1024, lr 0.1", BIG_BATCH).shown_name() == "batch 1024, lr 0.1"  # not its config
        sweep_name = "sweep c39ce51a: batch 512, lr 0.1, seed 0"  # not the cell its tags say
        assert stored_run(sweep_name, TrainConfig(), {"sweep": "c39ce51a", "cell": {"batch_size": 64}}).shown_name() \
            == sweep_name
        assert lesson_run("repeat", "my run, seed 1").shown_name() == "重复：my run, seed 1"  # a typed base's name
        assert stored_run("exercise2: seed 1", TrainConfig()).shown_name() == "exercise2: seed 1"  # no lesson tags
