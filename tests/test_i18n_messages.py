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


def test_missing_data_in_chinese_keeps_the_paths_and_file_names(tmp_path):
    from softmax_core.book.data import FILE_MD5S, DataError, load_fashion_mnist

    files = ", ".join(FILE_MD5S)
    with use_language("zh"):
        with pytest.raises(DataError) as caught:
            load_fashion_mnist(tmp_path, download=False)
        assert str(caught.value) == (f"Fashion-MNIST 缺少 {files}：请把这四个 Fashion-MNIST 文件（{files}）放进 "
                                     f"{tmp_path}，或把 `SOFTMAX_LAB_DATA` 设为存有它们的文件夹。")
    assert caught.value.english() == (f"Fashion-MNIST is missing {files}: put the four Fashion-MNIST files "
                                      f"({files}) in {tmp_path}, or set `SOFTMAX_LAB_DATA` to a folder that "
                                      "holds them.")
    assert str(caught.value) == caught.value.english(), "said in the language of whoever shows it"


def test_a_wrong_file_and_an_unreadable_folder_in_chinese(tmp_path, monkeypatch):
    from softmax_core.book import data

    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not gzip")
    with use_language("zh"):
        with pytest.raises(data.DataError, match=r"^train-labels-idx1-ubyte\.gz（位于 .+）无法读取："):
            data._read_idx(tmp_path / "train-labels-idx1-ubyte.gz", "labels")
        monkeypatch.setattr(data.os, "access", lambda path, mode: False)
        with pytest.raises(data.DataError, match=r"^数据文件夹 .+ 无法读取（没有权限）。$"):
            data.load_fashion_mnist(tmp_path, download=False)


def run_cli(*args: str, lang: str, **environ: str):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-m", "softmax_core", *args], capture_output=True, text=True, cwd=root,
                          env={"PATH": "/usr/bin:/bin", "LANG": lang, "PYTHONPATH": str(root), **environ},
                          timeout=120)


def test_the_cli_says_the_data_is_missing_in_chinese(tmp_path):
    offline = {"HOME": str(tmp_path), "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
    chinese = run_cli("train", "--data-dir", str(tmp_path / "empty"), lang="zh_CN.UTF-8", **offline)
    assert chinese.returncode == 2 and "Traceback" not in chinese.stderr
    assert chinese.stderr.startswith("错误：无法下载 train-images-idx3-ubyte.gz（"), chinese.stderr
    assert "离线了吗？请把这四个 Fashion-MNIST 文件" in chinese.stderr and str(tmp_path / "empty") in chinese.stderr
    english = run_cli("train", "--data-dir", str(tmp_path / "empty"), lang="C.UTF-8", **offline)
    assert english.stderr.startswith("error: could not download train-images-idx3-ubyte.gz")


@pytest.mark.parametrize(("secrets", "chinese"), [
    ({"classroom": {"max_students": 0}},
     "secrets.toml 的 `[classroom]` 没有课堂码：请设置 `code = \"...\"`（学生输入的内容）"),
    ({"code": "FM"}, "secrets.toml 在任何表之外设置了 `code`：请把它放到 `[classroom]` 下"),
    ({"classroom": "FM"}, "secrets.toml 的 `classroom` 必须是一个表（`[classroom]`），收到的是 'FM'"),
    ({"classroom": {"code": "FM", "max_student": 3}},
     "secrets.toml 的 `[classroom]` 有一个未知设置 `max_student`（你是想写 `max_students` 吗？）；可用的设置有 "
     "`code`, `teacher_password_hash`, `max_active_runs`, `max_students`, `max_run_cost`, `max_active_cost`"),
    ({"classroom": {"code": "FM", "max_students": 0}}, "`max_students` 必须是 1 到 1000 之间的整数，收到的是 0"),
])
def test_secrets_toml_mistakes_in_chinese(secrets, chinese):
    from softmax_core.classroom.auth import ClassroomError, load_classroom_settings

    with use_language("zh"):
        with pytest.raises(ClassroomError) as caught:
            load_classroom_settings(secrets, environ={})
        assert str(caught.value) == chinese
    assert not any("\u4e00" <= c <= "\u9fff" for c in str(caught.value)), "English for an English reader"


def stored_error_column(url: str, run_id: int) -> str:
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute("SELECT error FROM runs WHERE id = ?", (run_id,)).fetchone()[0]


def test_a_failed_runs_ending_is_stored_language_neutral_and_said_in_each_readers_language(tmp_path):
    """A worker that speaks Chinese stores a data error: an English reader reads it in English, a Chinese
    one in Chinese, and the column holds neither sentence but the msgid and its values."""
    import json

    from softmax_core.book.data import DataError, load_fashion_mnist
    from softmax_core.runs.store import EVERYTHING
    from softmax_core.status import RunStatus, raised

    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    run_id = store.create_run(TrainConfig(), "no data")
    with use_language("zh"):
        try:
            load_fashion_mnist(tmp_path / "empty", download=False)
        except DataError as error:
            store.end_run(run_id, RunStatus.FAILED, raised(error))
    stored = json.loads(stored_error_column(store.url, run_id))
    assert stored["say"] == "{kind}: {detail}" and stored["values"]["kind"] == "DataError"
    assert stored["values"]["detail"]["say"] == "Fashion-MNIST is missing {files}: {what_to_do}."
    run = store.get_run(run_id, scope=EVERYTHING)
    assert run.error.startswith("DataError: Fashion-MNIST is missing train-images-idx3-ubyte.gz")
    assert run.shown_error() == run.error and "`SOFTMAX_LAB_DATA`" in run.error
    with use_language("zh"):
        assert run.shown_error().startswith("运行出错：DataError: Fashion-MNIST 缺少 train-images-idx3-ubyte.gz")
        assert "或把 `SOFTMAX_LAB_DATA` 设为存有它们的文件夹。" in run.shown_error()
    assert run.to_dict()["error"] == run.error and "ending" not in run.to_dict()


@pytest.mark.parametrize(("stored", "chinese"), [  # rows as earlier releases wrote them, in English
    ("no heartbeat for over 10 s while running (its server or worker stopped); the points so far are kept",
     "状态为训练中时超过 10 秒没有心跳（它的服务器或工作进程已停止）；已有的数据点都保留着"),
    ("the worker process 4121 was killed by SIGKILL (out of memory, or killed by hand); the points so far are kept",
     "工作进程 4121 被 SIGKILL 终止（内存不足，或被手动结束）；已有的数据点都保留着"),
    ("the server was stopped while this run was queued; its points are kept",
     "服务器在这次运行状态为排队中时被停止了；它的数据点都保留着"),
    ("cancelled while queued", "在排队时取消"),
    ("ValueError: boom", "运行出错：ValueError: boom"),
    ("something only a person wrote", "something only a person wrote"),
])
def test_an_older_runs_english_ending_reads_in_chinese(tmp_path, stored, chinese):
    from softmax_core.runs.store import EVERYTHING
    from softmax_core.status import RunStatus

    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    run_id = store.create_run(TrainConfig(), "old")
    store.end_run(run_id, RunStatus.INTERRUPTED, stored)
    run = store.get_run(run_id, scope=EVERYTHING)
    assert run.error == stored and run.shown_error() == stored
    with use_language("zh"):
        assert run.shown_error() == chinese


def test_the_engines_own_endings_as_stored_now_read_in_chinese(tmp_path):
    from softmax_core.i18n import Said
    from softmax_core.runs.store import EVERYTHING
    from softmax_core.status import NO_HEARTBEAT, RAY_NODE_LOST, WORKER_LOST, RunStatus, status_named, worker_death

    store = RunStore(f"sqlite:///{tmp_path}/runs.db")
    endings = {
        Said(WORKER_LOST, what=worker_death(77, -9)):
            "工作进程 77 被 SIGKILL 终止（内存不足，或被手动结束）；已有的数据点都保留着",
        Said(WORKER_LOST, what=worker_death(77, 3)): "工作进程 77 意外退出（退出码 3）；已有的数据点都保留着",
        Said(RAY_NODE_LOST, node="abcdef12", host="lab-3", status=status_named("running")):
            "Ray 节点 abcdef12（lab-3）在这次运行状态为训练中时失联了；它的数据点都保留着",
        Said(NO_HEARTBEAT, seconds="10", status=status_named("queued")):
            "状态为排队中时超过 10 秒没有心跳（它的服务器或工作进程已停止）；已有的数据点都保留着",
    }
    for ending, chinese in endings.items():
        run_id = store.create_run(TrainConfig(), "r")
        store.end_run(run_id, RunStatus.FAILED, ending)
        run = store.get_run(run_id, scope=EVERYTHING)
        assert run.error == ending.english()
        with use_language("zh"):
            assert run.shown_error() == chinese


def test_the_clis_run_list_says_a_failed_runs_ending_in_chinese(tmp_path):
    from softmax_core.status import RunStatus, raised

    url = f"sqlite:///{tmp_path}/runs.db"
    store = RunStore(url)
    run_id = store.create_run(TrainConfig(), "broken")
    store.end_run(run_id, RunStatus.FAILED, raised(ValueError("boom")))
    chinese = run_cli("runs", lang="zh_CN.UTF-8", SOFTMAX_LAB_DB=url)
    assert chinese.returncode == 0, chinese.stderr
    assert chinese.stdout.split() == [str(run_id), "失败", "broken", "运行出错：ValueError:", "boom"], chinese.stdout
    english = run_cli("runs", lang="C.UTF-8", SOFTMAX_LAB_DB=url)
    assert english.stdout.split() == [str(run_id), "failed", "broken", "ValueError:", "boom"], english.stdout


def test_refusals_name_a_variable_as_code_and_a_field_by_its_label_in_chinese(tmp_path):
    from softmax_core.analysis.sweeps.spec import SweepError, SweepSpec
    from softmax_core.classroom.budget import estimate_request
    from softmax_core.i18n import Said
    from softmax_core.runs.store import StoreError
    from softmax_core.settings import SettingError, load_settings
    from softmax_core.status import DIVERGED

    with use_language("zh"):
        with pytest.raises(SettingError) as wrong:
            load_settings({"SOFTMAX_LAB_PACK_SIZE": "0", "SOFTMAX_LAB_PAK_SIZE": "2"})
        assert str(wrong.value).startswith("`SOFTMAX_LAB_PACK_SIZE='0'` 必须是 1 到 256 之间的整数；"
                                           "`SOFTMAX_LAB_PAK_SIZE` 不是 Softmax Lab 的设置（你是想写 "
                                           "`SOFTMAX_LAB_PACK_SIZE` 吗？）"), str(wrong.value)
        with pytest.raises(SweepError) as large:
            SweepSpec(TrainConfig(), {"lr": (0.1, 0.2, 0.3)}, seeds=2).check_size(4)
        assert str(large.value).endswith("本服务器每次扫描最多允许 4 次（`SOFTMAX_LAB_MAX_SWEEP_RUNS`）")
        refusal = estimate_request([TrainConfig(epochs=100)], run_limit=1000).refusal
        assert "本课堂允许的最大运行为 1,000 个标准步（`max_run_cost`）" in refusal, refusal
        with pytest.raises(StoreError) as bad_url:
            RunStore("not a url")
        assert str(bad_url.value) == "`SOFTMAX_LAB_DB='not a url'` 不是数据库 URL（例如 sqlite:///path/runs.db）"
        diverged = Said(DIVERGED, step=12, epoch="0.05")
        assert str(diverged).endswith("请试试更小的学习率或初始权重标准差"), "a field by its label, not init_std"
    assert diverged.english().endswith("try a smaller lr or init_std")


def test_a_wrong_setting_stops_the_cli_in_chinese():
    refused = run_cli("runs", lang="zh_CN.UTF-8", SOFTMAX_LAB_MAX_SWEEP_RUNS="lots")
    assert refused.returncode == 2
    assert refused.stderr.strip() == "错误：`SOFTMAX_LAB_MAX_SWEEP_RUNS='lots'` 必须是 1 到 10,000 之间的整数"


def test_where_a_run_trained_in_chinese_keeps_the_host_and_the_gpus_name():
    from softmax_core.runs.store import RunRecord
    from softmax_core.status import RunStatus

    run = RunRecord(id=8, name="r", config=TrainConfig(), status=RunStatus.FINISHED, created_at=0.0, started_at=0.0,
                    ended_at=1.0, error=None, finals={}, verdict=None, diverged_step=None, diverged_epoch=None,
                    steps_per_epoch=None, total_steps=None, host="lab-3", pid=4121, node="abcdef123456",
                    device="cpu", pack_size=2, pack_lead=7)
    with use_language("zh"):
        assert run.shown_placement() == "CPU，在 lab-3，Ray 节点 abcdef12 上，进程 4121，与运行 #7 同组（共 2 个）"
        on_gpu = RunRecord(**{**vars(run), "device": "cuda:0", "node": None, "pack_size": None})
        assert on_gpu.shown_placement() == "cuda:0，在 lab-3 上，进程 4121"
    assert run.shown_placement() == run.placement == ("cpu on lab-3, Ray node abcdef12, process 4121, in a pack of 2 "
                                                      "with run 7")


def test_the_clis_workers_list_in_chinese(tmp_path):
    url = f"sqlite:///{tmp_path}/runs.db"
    store = RunStore(url)
    going = store.create_run(TrainConfig(), "going")
    store.claim_run(going, "lab-7", 4242)
    chinese = run_cli("workers", "--executor", "local", lang="zh_CN.UTF-8", SOFTMAX_LAB_DB=url)
    assert chinese.returncode == 0, chinese.stderr
    machine, run = chinese.stdout.splitlines()[1], chinese.stdout.splitlines()[-1]
    assert "个 CPU" in machine and "个 GPU" in machine and "CPUs" not in machine, chinese.stdout
    assert run.split()[:2] == [str(going), "训练中"] and "CPU，在 lab-7 上，进程 4242" in run, chinese.stdout


def test_a_sentence_whose_values_dont_fit_its_msgid_is_still_shown():
    from softmax_core.i18n import Said

    missing = "cancelled after step {step} (epoch {epoch})"
    assert str(Said(missing, step=3)) == missing, "no KeyError on a page"
    assert Said.from_dict(Said("{kind}: {detail}", kind="ValueError", detail=Said("x {y}", y=1)).to_dict()).english() \
        == "ValueError: x 1"


def test_the_cli_says_a_diverged_run_and_its_device_in_chinese(real_data_dir):
    diverged = run_cli("train", "--implementation", "scratch", "--init-std", "10", "--data-dir", str(real_data_dir),
                       lang="zh_CN.UTF-8")
    assert diverged.returncode == 1, diverged.stderr
    lines = diverged.stdout.splitlines()
    assert lines[0].startswith("在 CPU 上训练：") and lines[-1] == (
        "发散：损失在第 1 步（第 0.00 轮）变为非有限值（NaN 或无穷大）；"
        "请试试更小的学习率或初始权重标准差"), diverged.stdout


def test_train_ch3_speaks_the_notebooks_language(fashion_mnist, tmp_path, monkeypatch, capsys):
    from test_notebook import book_loaders, book_model
    from torch import nn, optim

    from softmax_core.notebook import train_ch3

    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    net = book_model()
    train_iter, test_iter = book_loaders(fashion_mnist, 256, seed=1)
    train_ch3(net, train_iter, test_iter, nn.CrossEntropyLoss(reduction="none"), 1, optim.SGD(net.parameters(), lr=0.1),
              store=f"sqlite:///{tmp_path}/runs.db")
    recording, verdict = capsys.readouterr().out.splitlines()
    assert recording == f"正在记录为运行 1，存于 sqlite:///{tmp_path}/runs.db（softmax-lab serve：比较）"
    assert verdict.startswith("运行 1：未通过：训练损失"), verdict
