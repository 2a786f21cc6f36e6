"""The charts in the reader's language: a curves figure built in Chinese names its curves, panels and axes in
the book's terms and says the same numbers in its text alternative; the live view's traces, cached and
shared by every viewer, are never handed to a reader of the other language; Compare opened with
``?lang=zh`` speaks Chinese in its page text and its charts, while an English viewer of the same run after
it still reads English."""

from __future__ import annotations

import dataclasses
import json
import re
import threading

from test_app import fresh_store, open_page, texts, unescaped, wait_for_runs_to_end  # noqa: F401

from dashboard.charts import (
    PROJECTOR,
    CurveView,
    RunCurves,
    build_confusion_figure,
    build_curves_figure,
    build_per_class_figure,
    chart_config,
    curve_panel_specs,
    curves_text,
)
from softmax_core.analysis.chart_readings import describe_band, describe_confusion, describe_per_class
from softmax_core.config import TrainConfig
from softmax_core.i18n import set_language, use_language
from softmax_core.runs.store import RunRecord
from softmax_core.status import RunStatus

CJK = re.compile(r"[\u4e00-\u9fff]")
NUMBERS = re.compile(r"\d+(?:\.\d+)?")
RUN = RunCurves("#1 book", {"train_loss": ([0.5, 1.0, 10.0], [0.78, 0.6, 0.45]),
                            "train_acc": ([0.5, 1.0, 10.0], [0.6, 0.7, 0.85]),
                            "test_acc": ([1.0, 10.0], [0.8, 0.83]), "test_loss": ([1.0, 10.0], [0.6, 0.5])})


def curves_spec(language: str, **options) -> dict:
    with use_language(language):
        return build_curves_figure([RUN], **options).to_dict()


def axis_titles(layout: dict) -> list[str]:
    return [layout[key]["title"]["text"] for key in sorted(layout) if key.startswith(("xaxis", "yaxis"))]


def test_a_curves_figure_built_in_chinese_says_the_books_terms():
    spec = curves_spec("zh", view=CurveView(log_loss=True, smoothing=0.5))
    names = [trace["name"] for trace in spec["data"]]
    assert names == ["#1 book：训练损失（原始）", "#1 book：训练损失", "#1 book：训练精度（原始）",
                     "#1 book：训练精度", "#1 book：测试精度", "#1 book：测试损失"], names
    assert [note["text"] for note in spec["layout"]["annotations"]] == ["损失", "精度"]
    assert axis_titles(spec["layout"]) == ["轮", "轮", "损失（对数刻度）", "精度"]
    assert all("<br>轮 %{x:.2f}" in trace["hovertemplate"] for trace in spec["data"] if "hovertemplate" in trace)
    english = curves_spec("en", view=CurveView(log_loss=True, smoothing=0.5))
    assert [trace["name"] for trace in english["data"]][:2] == ["#1 book: train loss (raw)", "#1 book: train loss"]
    assert axis_titles(english["layout"]) == ["epoch", "epoch", "loss (log scale)", "accuracy"]


def test_the_panels_and_the_projectors_key_in_chinese():
    with use_language("zh"):
        loss, accuracy = curve_panel_specs([RUN])
    assert [note["text"] for note in loss["layout"]["annotations"]] == ["损失"], "the panel keeps its own title"
    assert [trace["name"] for trace in accuracy["data"]] == ["#1 book：训练精度", "#1 book：测试精度"]
    assert accuracy["layout"]["yaxis"]["title"]["text"] == "精度"
    projector = curves_spec("zh", style=PROJECTOR)
    assert projector["layout"]["legend2"]["title"]["text"] == "线型："
    assert {trace["name"] for trace in projector["data"] if trace.get("legend") == "legend2"} == \
        {"训练损失", "测试损失", "训练精度", "测试精度"}
    runs = {trace["name"] for trace in projector["data"]
            if trace.get("showlegend") and trace.get("legend") != "legend2"}
    assert runs == {"#1 book"}, "one entry per run, named without its metric after the reader's colon"


def test_the_curves_text_alternative_in_chinese_says_the_same_numbers():
    english, = curves_text([RUN])
    with use_language("zh"):
        chinese, = curves_text([RUN])
    assert english == ("#1 book: train loss fell from 0.78 to 0.45 over 10 epochs; train acc ends at 0.85; "
                       "test acc ends at 0.83; test loss ends at 0.50.")
    assert chinese == ("#1 book：训练损失经过 10 轮从 0.78 降到 0.45；训练精度最终为 0.85；测试精度最终为 0.83；"
                       "测试损失最终为 0.50。")
    assert sorted(NUMBERS.findall(chinese)) == sorted(NUMBERS.findall(english)), "the same numbers, in its order"
    assert not re.search(r"[A-Za-z]{3,}", chinese.replace("book", "")), "no English word but the run's name"


def test_the_other_charts_and_their_readings_in_chinese():
    confusion, classes = [[90, 10], [3, 97]], ["shirt", "t-shirt"]
    with use_language("zh"):
        heat = build_confusion_figure(confusion, classes).to_dict()["layout"]
        bars = build_per_class_figure([0.55, 0.96], classes, held_out="validation").to_dict()["layout"]
        readings = [describe_confusion(confusion, classes), describe_per_class([0.55, 0.96], classes),
                    describe_band("训练精度", [0.7, 0.85], [0.02, 0.01])]
    assert (heat["xaxis"]["title"]["text"], heat["yaxis"]["title"]["text"]) == ("预测类别", "真实类别")
    assert bars["xaxis"]["title"]["text"] == "该类别的验证精度"
    assert readings == ["200 张测试图像中答对 187 张；最常混淆：真实为shirt，预测为t-shirt（10 次）。",
                        "测试精度最差：shirt 55%；最好：t-shirt 96%。",
                        "训练精度经过 2 轮最终为 0.85 ± 0.01，起点为 0.70"]
    assert describe_confusion(confusion, classes) == \
        "187 of 200 test images right; most often confused: true shirt predicted t-shirt (10 times)."


def test_plotlys_own_words_follow_the_reader():
    assert "locales" not in chart_config("curves"), "English: Plotly's own words"
    with use_language("zh"):
        config = chart_config("curves")
    words = config["locales"][config["locale"]]["dictionary"]
    assert words["Download plot as a PNG"] == "下载图表为 PNG" and words["Zoom"] == "缩放"
    assert config["toImageButtonOptions"]["filename"] == "curves"


def test_the_svg_button_is_titled_in_the_readers_language_and_finds_a_camera_in_any():
    from dashboard.chart_downloads import svg_button_script

    english = svg_button_script()
    with use_language("zh"):
        chinese = svg_button_script()
    assert 'window.softmaxLabSvgTitle = "Download plot as an SVG"' in english
    assert 'window.softmaxLabSvgTitle = "下载图表为 SVG"' in chinese
    assert '["Download plot as a PNG", "下载图表为 PNG"]' in chinese and '"下载图表为 PNG"' in english


STORED = RunRecord(id=7, name="book", config=TrainConfig(), status=RunStatus.FINISHED, created_at=1.0,
                   started_at=1.0, ended_at=2.0, error=None, finals={}, verdict=None, diverged_step=None,
                   diverged_epoch=None, steps_per_epoch=10, total_steps=100, last_step=100)


def test_two_viewers_of_one_run_each_get_their_own_languages_traces():
    """The live view's traces are cached for every viewer of a run: a Chinese viewer's must never reach an
    English one (a script thread each, the Chinese one first), nor the other way round."""
    from dashboard import live

    live._traces.clear()
    run = dataclasses.replace(STORED, last_step=123_457)  # a key no other test made
    turn, seen = threading.Semaphore(0), {}

    def viewer(language: str, wait: threading.Semaphore | None) -> None:
        set_language(language)
        if wait is not None:
            wait.acquire()
        seen[language] = [trace["name"] for trace in live._traces_of(run, RUN, 0)]
        turn.release()

    first = threading.Thread(target=viewer, args=("zh", None))
    second = threading.Thread(target=viewer, args=("en", turn))
    second.start()
    first.start()
    first.join()
    second.join()
    assert seen["zh"][:2] == ["#1 book：训练损失", "#1 book：训练精度"], seen
    assert seen["en"][:2] == ["#1 book: train loss", "#1 book: train acc"], seen
    with use_language("zh"):  # and back: the Chinese traces are still there for the next Chinese viewer
        assert live._traces_of(run, RUN, 0)[0]["name"] == "#1 book：训练损失"


def chart_specs(app) -> dict[str, dict]:
    return {chart.key: json.loads(chart.proto.spec) for chart in app.get("plotly_chart")}


def test_compare_in_chinese_from_the_url_and_english_beside_it():
    from dashboard.services import get_runner

    run_id = get_runner().submit(TrainConfig(epochs=1, reports_per_epoch=4), "book")
    wait_for_runs_to_end()
    with use_language("zh"):  # AppTest formats a multiselect's options in the test's thread (test_app_i18n)
        app = open_page("compare_page.py", {"runs": str(run_id), "lang": "zh"})
    assert app.title[0].value == "比较运行"
    assert app.header[0].value == "有何不同"
    shown = unescaped(texts(app))
    assert "点击一行即可查看该运行。" in shown
    said = rf"#{run_id} book：训练损失经过 1 轮从 \d\.\d\d 降到 \d\.\d\d；训练精度最终为 \d\.\d\d"
    assert re.search(said, shown), shown
    assert "train loss" not in shown and "ends at" not in shown
    specs = chart_specs(app)
    loss, accuracy = specs["compare_curves_loss"], specs["compare_curves_accuracy"]
    assert [trace["name"] for trace in loss["data"]] == [f"#{run_id} book：训练损失", f"#{run_id} book：测试损失"]
    assert [trace["name"] for trace in accuracy["data"]] == [f"#{run_id} book：训练精度", f"#{run_id} book：测试精度"]
    assert (loss["layout"]["xaxis"]["title"]["text"], loss["layout"]["yaxis"]["title"]["text"]) == ("轮", "损失")
    assert [note["text"] for note in accuracy["layout"]["annotations"]] == ["精度"]
    alts = {chart.key: chart.proto.alt for chart in app.get("plotly_chart")}
    assert alts["compare_curves_loss"].startswith("损失随轮数的变化。 ")
    assert "测试精度最终为" in alts["compare_curves_accuracy"]
    assert {"编号", "名称", "状态", "训练损失", "测试精度", "书中的检查"} <= set(app.dataframe[0].value.columns)
    assert app.toggle(key="compare_curves_log").label == "对数刻度的损失"

    english = open_page("compare_page.py", {"runs": str(run_id)})  # another viewer, the same run's cached traces
    names = [trace["name"] for trace in chart_specs(english)["compare_curves_loss"]["data"]]
    assert names == [f"#{run_id} book: train loss", f"#{run_id} book: test loss"]
    assert english.title[0].value == "Compare runs" and not CJK.search(unescaped(texts(english)))


def test_a_legend_says_what_differs_in_the_readers_language():
    from dashboard.render import legend_labels

    runs = [dataclasses.replace(STORED, id=1, config=TrainConfig(batch_size=64)),
            dataclasses.replace(STORED, id=2, config=TrainConfig(batch_size=1024, lr=0.4, validation=True))]
    assert legend_labels(runs) == {1: "#1 batch 64, lr 0.1, no validation", 2: "#2 batch 1024, lr 0.4, validation"}
    with use_language("zh"):
        chinese = legend_labels(runs)
    assert chinese == {1: "#1 批量大小 64，学习率 0.1，无验证集", 2: "#2 批量大小 1024，学习率 0.4，验证集"}


def test_compare_in_chinese_says_what_differs_in_the_books_terms():
    from dashboard.services import get_runner

    runner = get_runner()
    ids = [runner.submit(TrainConfig(epochs=1, reports_per_epoch=2, batch_size=size), name)
           for size, name in ((256, "book"), (1024, "big"))]
    wait_for_runs_to_end()
    with use_language("zh"):
        app = open_page("compare_page.py", {"runs": ",".join(map(str, ids)), "lang": "zh"})
    differences = app.dataframe[1].value
    assert list(differences.columns) == ["运行", "批量大小", "训练损失", "训练精度", "测试精度", "书中的检查"]
    assert list(differences["运行"]) == [f"#{ids[0]} 批量大小 256", f"#{ids[1]} 批量大小 1024"]
    assert all(verdict.startswith("未通过：") or verdict.startswith("通过") for verdict in differences["书中的检查"])
    names = [trace["name"] for trace in chart_specs(app)["compare_curves_loss"]["data"]]
    assert names[0] == f"#{ids[0]} 批量大小 256：训练损失", names


def test_compare_marks_a_diverged_runs_missing_metrics_and_says_why_in_each_language():
    """A run that diverged has no final metrics: both tables show a mark where the grid would say 'None'
    (in English whatever the reader's language), the differences table says the run diverged, and where
    it trained reads in the reader's language."""
    from dashboard.services import get_runner

    runner = get_runner()
    ids = [runner.submit(TrainConfig(implementation="scratch", init_std=10.0, epochs=1), "blows up"),
           runner.submit(TrainConfig(epochs=1, reports_per_epoch=2), "book")]
    wait_for_runs_to_end()
    app = open_page("compare_page.py", {"runs": ",".join(map(str, ids))})
    runs, differences = (app.dataframe[index].value for index in (0, 1))
    diverged = runs.set_index("id").loc[ids[0]]
    assert (diverged["status"], diverged["train loss"], diverged["test acc"]) == ("diverged", "—", "—")
    assert re.fullmatch(r"cpu on \S+, process \d+", diverged["trained on"]), diverged["trained on"]
    assert re.fullmatch(r"0\.\d{4}", runs.set_index("id").loc[ids[1], "train loss"])
    assert list(differences["book checks"])[0] == "diverged" and list(differences["train loss"])[0] == "—"
    assert list(differences["implementation"]) == ["from scratch (3.6)", "concise (3.7)"]
    with use_language("zh"):
        app = open_page("compare_page.py", {"runs": ",".join(map(str, ids)), "lang": "zh"})
    runs, differences = (app.dataframe[index].value for index in (0, 1))
    diverged = runs.set_index("编号").loc[ids[0]]
    assert (diverged["状态"], diverged["训练损失"], diverged["实现"]) == ("已发散", "—", "从零实现（3.6）")
    assert re.fullmatch(r"CPU，在 \S+ 上，进程 \d+", diverged["训练设备"]), diverged["训练设备"]
    assert list(differences["书中的检查"])[0] == "已发散" and list(differences["训练损失"])[0] == "—"
    assert list(differences["运行"])[0] == f"#{ids[0]} 初始权重标准差 10，从零实现", list(differences["运行"])
