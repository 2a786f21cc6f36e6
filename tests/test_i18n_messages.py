"""The engine's refusals and errors in the reader's language: the classroom's refusals, the data's errors,
secrets.toml's mistakes, a failed run's stored ending (said again in whoever reads it), the settings a
refusal names, and where a run trained; English stays as it was for an English reader."""

from __future__ import annotations

import pytest

from softmax_core.config import TrainConfig
from softmax_core.i18n import use_language
from softmax_core.runs.store import NameTaken, RunLimitReached, RunRequest, RunStore


@pytest.fixture
def classroom(tmp_path):
    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    return store, store.classroom


def test_the_stores_classroom_refusals_in_chinese_and_in_english(classroom):
    store, roster = classroom
    ada = roster.add_student("Ada", name_key="ada")
    waiting = roster.add_student("Bea", waiting=True, name_key="bea")
    with use_language("zh"):
        with pytest.raises(NameTaken) as taken:
            roster.add_student("ADA", name_key="ada")
        assert str(taken.value) == "名字 'ADA' 在本课堂已被使用"
        store.create_runs([RunRequest(TrainConfig(), "one")], owner_id=ada, max_active=1)
        with pytest.raises(RunLimitReached) as busy:
            store.create_runs([RunRequest(TrainConfig(), "two")] * 2, owner_id=ada, max_active=1)
        assert str(busy.value) == ("你有 1 次运行排队中或训练中，另有这 2 次；本课堂同时允许 1 次："
                                   "等一次结束，或取消一次")
        with pytest.raises(RunLimitReached) as held:
            store.create_runs([RunRequest(TrainConfig(), "w")], owner_id=waiting)
        assert str(held.value) == "你正在等待老师让你进入"
        with pytest.raises(RunLimitReached) as costly:
            store.create_runs([RunRequest(TrainConfig(), "c")], owner_id=ada, max_cost=10)
        assert str(costly.value).startswith("这些运行需要 2,350 个标准步，而你（连同你这台电脑上的所有名字）")
        assert "（`max_active_cost`）" in str(costly.value)
    with pytest.raises(NameTaken, match=r"^the name 'ADA' is taken in this class$"):
        roster.add_student("ADA", name_key="ada")
    with pytest.raises(RunLimitReached, match=r"^you are waiting for your teacher to let you in$"):
        store.create_runs([RunRequest(TrainConfig(), "w")], owner_id=waiting)
