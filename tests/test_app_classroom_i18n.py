"""Classroom mode in Chinese through AppTest: the join screen, its refusals (a wrong code, a taken name,
said by the core in the asker's language), and the sidebar once signed in; and a second session on the
same server in English at the same time."""

from __future__ import annotations

from test_app_classroom import CODE, browsers, class_server, errors, follow, open_app  # noqa: F401


def join_in_chinese(app, code: str, name: str):
    app.text_input(key="join_code").set_value(code)
    app.text_input(key="join_name").set_value(name)
    app.button(key="FormSubmitter:join_form-加入").click().run()
    assert not app.exception, app.exception
    return app


def test_the_join_screen_and_its_refusals_in_chinese():
    app = open_app(query={"lang": "zh"})
    assert app.title[0].value == "加入课堂"
    assert [field.label for field in app.text_input] == ["课堂码", "你的显示名称", "老师密码"]
    assert errors(join_in_chinese(app, "wrong", "Ada")) == ["这不是本课堂的课堂码：请向老师索取。"]
    follow(join_in_chinese(app, CODE, "Ada"))
    assert any(caption.value.startswith("已在此浏览器上以 **Ada**") for caption in app.sidebar.caption)
    other = open_app(query={"lang": "zh"})
    assert errors(join_in_chinese(other, CODE, "ada")) == [
        "名字 ada 在本课堂已被使用，或与已有名字看起来一样：请换一个。"]


def test_an_english_session_beside_a_chinese_one():
    chinese, english = open_app(query={"lang": "zh"}), open_app()
    assert chinese.title[0].value == "加入课堂" and english.title[0].value == "Join the class"
    english.run()
    chinese.run()
    assert chinese.title[0].value == "加入课堂" and english.title[0].value == "Join the class"
