"""Classroom mode in Chinese through AppTest: the join screen, its refusals (a wrong code, a taken name,
said by the core in the asker's language), and the sidebar once signed in; and a second session on the
same server in English at the same time; a student's Inspect before the reveal, on the validation split."""

from __future__ import annotations

from test_app_classroom import CODE, browsers, class_server, errors, finished_run_of, follow, open_app  # noqa: F401


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


def test_a_students_train_page_in_chinese():
    """The class's challenge, what a run costs, and a run too large for the class, in the book's words."""
    from streamlit.testing.v1 import AppTest
    from test_app_classroom import APP, JAR, student_token

    from dashboard.auth_routes import DEVICE_COOKIE
    from softmax_core.i18n import use_language

    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state[JAR] = {DEVICE_COOKIE: student_token("Ada")}
    app.query_params["lang"] = "zh"
    with use_language("zh"):  # AppTest calls the preset's format_func in this thread (test_app_i18n.reads_chinese)
        app.run()
        shown = "\n".join(str(e.value) for e in [*app.sidebar.info, *app.sidebar.caption, *app.sidebar.warning])
        assert "**课堂挑战：** 最多 5 轮内的最佳验证精度（留出验证集的已完成运行，最多 5 轮）" in shown, shown
        assert "10 轮：这次运行不计入挑战，挑战最多允许 5 轮" in shown
        app.sidebar.number_input(key="form_epochs").set_value(500).run()
        warnings = [w.value for w in app.sidebar.warning]
        too_large = "太大，无法开始：这次运行需要 98,000 个标准步（批量大小 256，500 轮）"
        assert any(warning.startswith(too_large) for warning in warnings), warnings
        assert "500 轮：这次运行不计入挑战，挑战最多允许 5 轮。" in warnings
    assert not app.exception


def test_a_students_inspect_before_the_reveal_speaks_of_validation_images_in_chinese():
    from test_app import image_alts

    from dashboard.auth_routes import DEVICE_COOKIE
    from softmax_core.i18n import use_language

    token, run_id = finished_run_of("Ada")
    app = open_app(query={"lang": "zh", "run": str(run_id)}, cookies={DEVICE_COOKIE: token})
    with use_language("zh"):  # AppTest formats the run picker's options in the test's thread
        app.switch_page("inspect_page.py").run()
    assert not app.exception, app.exception
    headers = [header.value for header in app.header]
    assert "验证集上的混淆矩阵" in headers and "最有把握却预测错误的验证图像" in headers, headers
    assert all(alt.startswith("一张") and "的验证图像，被预测为" in alt for alt in image_alts(app))
    shown = "\n".join(caption.value for caption in app.caption)
    assert "张验证图像中答对" in shown and "测试精度" not in shown, shown
    assert "测试" not in "\n".join(headers), "no test set before the reveal"
