"""The Train page in the reader's language through AppTest: ``?lang=zh`` gives the book's Chinese terms
(labels, buttons, the form's refusals, a run's status and the book's verdict), English stays the default,
and the sidebar's picker switches the language and keeps it in the URL; the Lessons page too."""

from __future__ import annotations

import re

import pytest
from test_app import fresh_store, image_alts, open_page, start_run, texts, unescaped, wait_for_runs_to_end  # noqa: F401

from softmax_core.config import TrainConfig
from softmax_core.i18n import use_language
from softmax_core.runs.store import EVERYTHING

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def reads_chinese():
    """AppTest calls a selectbox's format_func in the test's own thread (to find a value among the options
    the page sent): that thread reads Chinese too, as the page's script thread does."""
    with use_language("zh"):
        yield


def sidebar_labels(app) -> list[str]:
    return [widget.label for widget in [*app.sidebar.number_input, *app.sidebar.selectbox, *app.sidebar.button]]


def test_train_in_chinese_from_the_url(reads_chinese):
    app = open_page(query={"lang": "zh"})
    assert app.title[0].value == "Fashion-MNIST 上的 softmax回归"
    labels = sidebar_labels(app)
    assert {"批量大小", "学习率", "轮数", "开始", "预设", "语言"} <= set(labels), labels
    assert "书中用 256" in app.sidebar.number_input(key="form_batch_size").proto.help
    assert "练习：批量大小 1024" in app.sidebar.selectbox(key="preset").options
    shown = texts(app)
    assert "按侧边栏中的**开始**" in shown and "press **Start**" not in shown
    assert not any(CJK.search(label) is None for label in labels if label not in ("Seed",)), labels


def test_english_is_the_default():
    app = open_page()
    assert app.title[0].value == "Softmax regression on Fashion-MNIST"
    assert {"Batch size", "Learning rate", "Epochs", "Start", "Language"} <= set(sidebar_labels(app))
    assert not CJK.search(texts(app))


def test_the_forms_refusal_in_chinese(reads_chinese):
    app = open_page(query={"lang": "zh"})
    app.sidebar.number_input(key="form_epochs").set_value(1000).run()
    assert "轮数：1000 超过了允许的最大值 500" in unescaped(texts(app))


def test_the_picker_switches_the_language_and_keeps_it_in_the_url():
    app = open_page()
    app.sidebar.selectbox(key="language_picker").set_value("zh").run()
    assert app.query_params["lang"] == "zh"
    assert app.title[0].value == "Fashion-MNIST 上的 softmax回归"
    with use_language("zh"):  # the page now sends Chinese options (see reads_chinese)
        app.sidebar.selectbox(key="language_picker").set_value("en").run()
    assert app.query_params["lang"] == "en" and app.title[0].value == "Softmax regression on Fashion-MNIST"


def test_a_finished_run_and_its_verdict_in_chinese(reads_chinese):
    app = start_run(open_page(query={"lang": "zh"}), epochs=1, name="one epoch")
    wait_for_runs_to_end()
    app.run()
    shown = unescaped(texts(app))
    assert "已完成" in shown and "书中的检查未通过" in shown
    assert re.search(r"训练损失 0\.\d{3} 不低于 0\.5", shown), shown
    assert "is not below" not in shown and "finished" not in shown


def test_the_engines_stored_endings_read_in_the_readers_language():
    from softmax_core.status import describe_ending

    diverged = "diverged: the loss became non-finite at step 12 (epoch 0.05); try a smaller lr or init_std"
    with use_language("zh"):
        assert describe_ending(diverged) == ("发散：损失在第 12 步（第 0.05 轮）变为非有限值（NaN 或无穷大）；"
                                                "请试试更小的学习率或初始权重标准差")
        assert describe_ending("cancelled after step 40 (epoch 0.17)") == "在第 40 步（第 0.17 轮）后取消"
        assert describe_ending("cancelled while queued") == "在排队时取消"
        assert describe_ending("ValueError: boom") == "运行出错：ValueError: boom", "its text, under a lead-in"
    assert describe_ending(diverged) == diverged


def test_a_status_line_says_a_divergence_once():
    from types import SimpleNamespace

    from dashboard.render import status_markdown
    from softmax_core.i18n import Said
    from softmax_core.status import CANCELLED_AFTER, DIVERGED, RunStatus, stored_ending

    ending = Said(DIVERGED, step=12, epoch="0.05")
    run = SimpleNamespace(status=RunStatus.DIVERGED, error=stored_ending(ending), ending=ending)
    line = status_markdown(run).replace("\\", "")  # Markdown's escapes aside
    assert line.endswith("**diverged**: the loss became non-finite at step 12 (epoch 0.05); try a smaller lr or "
                         "init_std"), line
    with use_language("zh"):
        line = status_markdown(run).replace("\\", "")
    assert "**已发散**：损失在第 12 步" in line and line.count("发散") == 1, line
    cancelled = Said(CANCELLED_AFTER, step=40, epoch="0.17")
    run = SimpleNamespace(status=RunStatus.CANCELLED, error=stored_ending(cancelled), ending=cancelled)
    assert status_markdown(run).replace("\\", "").endswith("**cancelled**: after step 40 (epoch 0.17)")


LESSON_TABS_ZH = ["练习 1：批量大小和学习率", "练习 2：过拟合还是噪声？", "数值稳定性", "只改一处", "用多个种子重复"]


def test_the_lessons_page_in_chinese(reads_chinese):
    app = open_page(query={"lang": "zh"})
    app.switch_page("lessons_page.py").run()
    assert not app.exception, app.exception
    assert app.title[0].value == "课程：动手实践 3.7 节"
    assert [tab.label for tab in app.tabs] == LESSON_TABS_ZH
    assert "书中问：用 **批量大小 1024** 或 **学习率 0.4** 会怎样" in texts(app)
    assert app.button(key="ex1_start").label == "运行书中的设置、批量大小 1024 和学习率 0.4"
    app.session_state["lesson_tab"] = "数值稳定性"
    app.run()
    app.selectbox(key="stab_logits").set_value("large: 100, 0, -5").run()
    shown = unescaped(texts(app))
    assert "未规范化的预测大于约 88.7 时 exp 上溢为 inf，所以朴素的 softmax 是 NaN (inf/inf)" in shown, shown
    assert list(app.table[0].value.columns)[:2] == ["未规范化的预测", "`exp(o)`"]
    assert app.table[0].value.loc["0", "朴素 softmax"] == "NaN"
    assert "overflows" not in shown and "Section" not in shown


def test_the_lessons_page_is_english_by_default():
    app = open_page("lessons_page.py")
    assert app.title[0].value == "Lessons: section 3.7, hands on"
    assert [tab.label for tab in app.tabs] == ["Exercise 1: batch size and lr", "Exercise 2: overfitting or noise?",
                                               "Numerical stability", "Change one thing", "Repeat with seeds"]
    shown = texts(app)
    assert "The book asks what happens with **batch 1024**" in shown and "书中问" not in shown


def test_changing_language_keeps_the_open_lesson_tab():
    """A tab is known by its label, which the new language changes: the same tab stays open."""
    app = open_page("lessons_page.py")
    app.session_state["lesson_tab"] = "Numerical stability"
    app.run()
    app.sidebar.selectbox(key="language_picker").set_value("zh").run()
    assert not app.exception and app.title[0].value == "课程：动手实践 3.7 节"
    assert app.session_state["lesson_tab"] == "数值稳定性"
    assert app.selectbox(key="stab_logits").label == "未规范化的预测"


CLASS_NAMES_ZH = {"T恤", "裤子", "套衫", "连衣裙", "外套", "凉鞋", "衬衫", "运动鞋", "包", "短靴"}


def latin_words(text: str) -> set[str]:
    """The Latin words a reader meets, less the ones the glossary keeps (SGD, softmax, PyTorch, ...)."""
    from softmax_core.i18n.glossary import load_glossary

    kept = {word.lower() for term in load_glossary() if term.english == term.chinese
            for word in term.english.split()}
    text = re.sub(r":material/\w+:", " ", text)  # an icon's name, never shown as text
    text = re.sub(r"`[^`]*`", " ", text)  # code stays code (the book's checks: `train_loss < 0.5`)
    text = text.replace("T恤", " ").replace("(.ipynb)", " ")  # the book's own 'T恤'; a file's suffix
    return {word for word in re.findall(r"[A-Za-z][A-Za-z-]*", text) if word.lower() not in kept}


def inspect_page_text(app, run_name: str) -> str:
    """The page's own text: title, headers, markdown, captions, messages, widgets' labels; the run's name
    and where it trained (a host and a device name: data) left out."""
    parts = [texts(app), app.title[0].value, *(h.value for h in app.header), *(e.label for e in app.expander),
             *(s.label for s in app.slider), *(s.label for s in app.selectbox if s.key == "inspect_run")]
    parts += [button.proto.label for button in app.get("download_button")]
    text = unescaped("\n".join(parts)).replace(run_name, " ")
    return re.sub(r"训练于 .*", " ", text)


def test_inspect_in_chinese_names_the_classes_in_the_books_words(reads_chinese):
    from dashboard.services import get_runner

    run_id = get_runner().submit(TrainConfig(epochs=2), "inspect me")
    wait_for_runs_to_end()
    app = open_page("inspect_page.py", {"run": str(run_id), "lang": "zh"})
    assert not app.exception, app.exception
    assert app.title[0].value == "查看运行"
    headers = [h.value for h in app.header]
    assert headers == ["第 2 轮后的类别模板", "测试集上的混淆矩阵", "各类别的精度", "最有把握却预测错误的测试图像",
                       "下载"], headers
    assert app.slider(key=f"inspect_epoch_{run_id}").label == "轮"
    shown = unescaped(texts(app))
    confused = re.search(r"最常混淆：真实为(\S+)，预测为(\S+)（", shown)
    assert confused and {confused[1], confused[2]} <= CLASS_NAMES_ZH, shown
    worst_best = re.search(r"测试精度最差：(\S+) \d+%；最好：(\S+) \d+%", shown)
    assert worst_best and {worst_best[1], worst_best[2]} <= CLASS_NAMES_ZH, shown
    captions = [c.value for c in app.caption if c.value.startswith("真实为 **")]
    assert len(captions) == 12, captions
    names = re.match(r"真实为 \*\*(.+)\*\*，预测为 \*\*(.+)\*\*  \n(\S+) \d+%", captions[0])
    assert names and set(names.groups()) <= CLASS_NAMES_ZH, captions[0]
    alts = image_alts(app)
    alt = re.compile(r"一张(\S+)的测试图像，被预测为(\S+)，置信度 \d+%")
    assert len(alts) == 12 and all(alt.fullmatch(text) for text in alts), alts
    assert set(alt.fullmatch(alts[0]).groups()) <= CLASS_NAMES_ZH, alts[0]
    assert "Notebook (.ipynb)" not in [b.proto.label for b in app.get("download_button")]
    left = latin_words(inspect_page_text(app, "inspect me"))
    assert not left, left
    app.slider(key=f"inspect_epoch_{run_id}").set_value(1).run()
    assert not app.exception and app.header[0].value == "第 1 轮后的类别模板"
    assert any("nn.Linear(784, 10)" in block.value for block in app.code), "the code stays code"


def test_inspect_in_english_by_default_keeps_the_class_names_as_stored():
    from dashboard.services import get_runner

    run_id = get_runner().submit(TrainConfig(epochs=1), "inspect me")
    wait_for_runs_to_end()
    app = open_page("inspect_page.py", {"run": str(run_id)})
    assert app.title[0].value == "Inspect a run"
    assert [h.value for h in app.header][:3] == ["Class templates after epoch 1", "Test confusion matrix",
                                                 "Accuracy per class"]
    shown = unescaped(texts(app))
    assert re.search(r"most often confused: true [a-z -]+ predicted [a-z -]+ \(", shown), shown
    assert not CJK.search(shown) and not CJK.search("\n".join(h.value for h in app.header))


def latin_words_left(text: str) -> set[str]:
    """The Latin words in a page's own text, numbers aside, that the glossary doesn't keep."""
    from softmax_core.i18n.glossary import load_glossary

    kept = {term.english for term in load_glossary() if term.kept}
    return set(re.findall(r"[A-Za-z][A-Za-z-]*", re.sub(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", " ", text))) - kept


def sweep_controls(app) -> list[str]:
    return [widget.label for widget in [*app.multiselect, *app.text_input, *app.number_input, *app.button,
                                        *app.expander]]


def test_the_sweep_page_in_chinese_with_its_grid_and_reading(reads_chinese):
    app = open_page(query={"lang": "zh"})
    app.sidebar.number_input(key="form_epochs").set_value(1).run()
    app.switch_page("sweep_page.py").run()
    assert not app.exception, app.exception
    assert app.title[0].value == "扫描：超参数网格"
    controls = {"要变化的轴", "批量大小取值", "学习率取值", "每格种子数", "开始扫描", "新的扫描"}
    assert controls <= set(sweep_controls(app)), sweep_controls(app)
    assert app.multiselect(key="sweep_axes").format_func("lr") == "学习率"
    assert "用逗号分隔；建议：" in app.text_input(key="sweep_values_lr").help
    app.text_input(key="sweep_values_batch_size").set_value("512, 1024").run()
    app.text_input(key="sweep_values_lr").set_value("0.1, 0.4").run()
    shown = unescaped(texts(app))
    assert "2 × 2 个格子 × 1 个种子 = **4 次运行**" in shown, shown
    app.button(key="sweep_start").click().run()
    wait_for_runs_to_end()
    app.run()
    assert not app.exception, app.exception
    shown = unescaped(texts(app))
    assert [header.value for header in app.header][:1] == ["网格说明了什么"]
    assert "最低的最终训练损失是" in shown and "线性缩放规则" in shown, shown
    assert app.selectbox(key="sweep_metric").label == "指标"
    labels = sweep_controls(app) + [app.selectbox(key="sweep_metric").label]
    assert not latin_words_left("\n".join([shown, app.title[0].value, *labels, *[h.value for h in app.header]]))
    app.text_input(key="sweep_values_lr").set_value("0.1, fast").run()
    assert any("无法扫描：学习率取值：'fast' 不是数字" in error.value for error in app.error), app.error


def test_the_sweep_page_is_english_by_default():
    app = open_page("sweep_page.py")
    assert app.title[0].value == "Sweep: a grid of hyperparameters"
    assert {"Axes to vary", "Batch size values", "Learning rate values", "Seeds per cell", "Start sweep",
            "New sweep"} <= set(sweep_controls(app))
    assert not CJK.search(texts(app))


def test_compare_names_a_generated_run_in_chinese(reads_chinese):
    """A run started with no name is stored as 'batch 1024, epochs 1' (the CLI and the CSV say that); a
    Chinese reader reads it in the book's words in Compare's table, its overlay picker and the legend."""
    from dashboard.services import get_runner
    from softmax_core.i18n import _

    generated = get_runner().submit(TrainConfig(epochs=1, batch_size=1024), "")
    typed = get_runner().submit(TrainConfig(epochs=1), "my batch 256 run")
    wait_for_runs_to_end()
    app = open_page("compare_page.py", {"runs": str(generated), "lang": "zh"})
    names = dict(zip(app.dataframe[0].value[_("id")], app.dataframe[0].value[_("name")], strict=True))
    assert names == {generated: "批量大小 1024，轮数 1", typed: "my batch 256 run"}, names
    assert app.multiselect(key="compare_ids").format_func(generated) == f"#{generated} 批量大小 1024，轮数 1"
    spec = app.get("plotly_chart")[0].proto.spec
    assert f"#{generated} 批量大小 1024，轮数 1" in spec and "batch 1024" not in spec, spec[:2000]
    assert get_runner().store.get_run(generated, scope=EVERYTHING).name == "batch 1024, epochs 1"  # as stored
