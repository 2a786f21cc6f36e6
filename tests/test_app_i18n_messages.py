"""Pages in Chinese where the engine speaks: the data's errors, a failed run's ending, a class's settings
gone wrong; through AppTest with ``?lang=zh``."""

from __future__ import annotations

import pytest
from test_app import fresh_store, open_page, start_run, texts, unescaped  # noqa: F401
from test_app_i18n import reads_chinese  # noqa: F401

from softmax_core.runs.store import EVERYTHING


@pytest.mark.usefixtures("reads_chinese")
def test_missing_data_and_a_failed_download_in_chinese(tmp_path, monkeypatch):
    import dashboard.data_check
    from dashboard.services import get_store
    from softmax_core.book import data

    monkeypatch.setenv("SOFTMAX_LAB_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(dashboard.data_check, "ensure_files",
                        lambda folder, progress: data.ensure_files(folder, progress=progress,
                                                                   mirrors=["http://127.0.0.1:9/"]))
    app = open_page(query={"lang": "zh"})
    shown = unescaped(texts(app))
    assert "这里还没有 Fashion-MNIST：请把这四个 Fashion-MNIST 文件（train-images-idx3-ubyte.gz" in shown, shown
    assert f"）放进 {tmp_path / 'empty'}，或把 `SOFTMAX_LAB_DATA` 设为存有它们的文件夹" in shown
    app.button(key="download_data").click().run()
    assert not app.exception
    shown = unescaped(texts(app))
    assert "无法下载 train-images-idx3-ubyte.gz（http://127.0.0.1:9/train-images-idx3-ubyte.gz" in shown, shown
    assert "离线了吗？" in shown and "could not download" not in shown and "put the four" not in shown
    assert get_store().list_runs(scope=EVERYTHING) == []


@pytest.mark.usefixtures("reads_chinese")
def test_a_failed_runs_status_line_on_inspect_in_chinese():
    from dashboard.services import get_store
    from softmax_core.config import TrainConfig
    from softmax_core.i18n import Said
    from softmax_core.status import WORKER_LOST, RunStatus, worker_death

    store = get_store()
    run_id = store.create_run(TrainConfig(), "killed")
    store.end_run(run_id, RunStatus.FAILED, Said(WORKER_LOST, what=worker_death(4121, -9)))
    app = open_page("inspect_page.py", {"run": str(run_id), "lang": "zh"})
    shown = unescaped(texts(app))
    assert "**失败**：工作进程 4121 被 SIGKILL 终止（内存不足，或被手动结束）；已有的数据点都保留着" in shown, shown
    assert "worker process" not in shown
