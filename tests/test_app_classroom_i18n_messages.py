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


def test_the_roster_says_this_computer_for_a_join_from_the_servers_own_machine():
    from test_app_classroom import follow, join, store
    from test_app_classroom_i18n import join_in_chinese

    from softmax_core.classroom.auth import make_teacher_link
    from softmax_core.i18n import use_language

    follow(join_in_chinese(open_app(query={"lang": "zh"}), CODE, "Lin"))
    follow(join(open_app(), CODE, "Ada"))
    assert {student.joined_from for student in store().classroom.list_students()} == {"local"}, "stored as it was"
    with use_language("zh"):  # AppTest formats the multiselect's options in the test's thread
        teacher = follow(open_app({"teacher_link": make_teacher_link(store().classroom), "lang": "zh"}))
        teacher.switch_page("board_page.py").run()
        assert not teacher.exception, teacher.exception
        roster = "\n".join(markdown.value for markdown in teacher.markdown)
        assert "- Lin，从 本机 加入" in roster and "local" not in roster, roster
        pick = teacher.multiselect(key="board_remove_pick")
        assert sorted(pick.options) == ["Ada（来自 本机）", "Lin（来自 本机）"], pick.options
    english = follow(open_app({"teacher_link": make_teacher_link(store().classroom)}))
    english.switch_page("board_page.py").run()
    assert "- Lin, joined from this computer" in "\n".join(markdown.value for markdown in english.markdown)
