"""Classroom mode's own messages in Chinese through AppTest (``?lang=zh``): a misconfigured secrets.toml, and
the roster's address of this machine; English for an English reader on the same server."""

from __future__ import annotations

from test_app_classroom import CODE, browsers, class_server, open_app  # noqa: F401


def test_a_misspelled_classroom_table_is_explained_in_each_readers_language(monkeypatch):
    from dashboard.services import stop_services

    monkeypatch.delenv("SOFTMAX_LAB_CLASS_CODE")
    monkeypatch.delenv("SOFTMAX_LAB_TEACHER_PASSWORD")
    stop_services()
    chinese = open_app(query={"lang": "zh"}, secrets={"clasroom": {"code": CODE}})
    assert [error.value for error in chinese.error] == [
        "课堂模式配置有误，所以本服务器不提供任何内容：secrets.toml 里有一个 `[clasroom]` 表：课堂设置应写在 "
        "`[classroom]` 里，所以课堂模式没有开启，修好之前本应用不提供任何内容"]
    english = open_app(secrets={"clasroom": {"code": CODE}})
    assert english.error[0].value.startswith("Classroom mode is misconfigured, so this server serves nothing: "
                                             "secrets.toml has a `[clasroom]` table: classroom settings belong in "
                                             "`[classroom]`")
