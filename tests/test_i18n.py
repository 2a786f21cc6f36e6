"""The interface's languages: every marked string has a finished Chinese translation that keeps its
placeholders and the book's glossary terms, the language is chosen URL > picker > browser > English (LANG
for the CLI), and it is per reader (a context variable), never per process."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import unicodedata
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from softmax_core.i18n import (
    DOMAIN,
    _,
    available_languages,
    catalog_path,
    current_language,
    language_tag,
    ngettext,
    set_language,
    use_language,
)
from softmax_core.i18n.choose import browser_languages, choose_language, language_from_environment
from softmax_core.i18n.glossary import load_glossary

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"\{([a-z_]*)[^{}]*\}|(%\([a-z_]+\)[sd]|%[sd])")  # {name} (any format spec), %s


def extracted_messages() -> set[str]:
    """Every msgid marked in the engine and the pages, as Babel's extractor finds it (`make i18n`'s view)."""
    found = set()
    for folder in ("softmax_core", "dashboard"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found


def zh_catalog():
    with catalog_path("zh").open("rb") as po:
        return read_po(po)


def catalog_entries(catalog):
    for message in catalog:
        if message.id:
            ids = [message.id] if isinstance(message.id, str) else list(message.id)
            strings = [message.string] if isinstance(message.string, str) else list(message.string)
            yield message, ids, strings


def test_chinese_is_offered_by_its_catalog():
    assert available_languages() == ("en", "zh")


def test_every_marked_string_is_in_the_chinese_catalog():
    in_catalog = {ids[0] for _m, ids, _s in catalog_entries(zh_catalog())}
    missing = sorted(extracted_messages() - in_catalog)
    assert not missing, f"run `make i18n` and translate: {missing[:10]}"


def test_the_chinese_catalog_has_no_untranslated_or_fuzzy_entry():
    unfinished = [ids[0] for message, ids, strings in catalog_entries(zh_catalog())
                  if message.fuzzy or not all(strings)]
    assert not unfinished, unfinished[:10]


def test_every_translation_keeps_its_placeholders():
    changed = []
    for _message, ids, strings in catalog_entries(zh_catalog()):
        for string in strings:
            if sorted(PLACEHOLDER.findall(ids[-1])) != sorted(PLACEHOLDER.findall(string)) and \
                    sorted(PLACEHOLDER.findall(ids[0])) != sorted(PLACEHOLDER.findall(string)):
                changed.append((ids[0], string))
    assert not changed, changed[:5]


def test_no_marked_string_hides_inside_an_f_string():
    """Babel's extractor can't see `_()` inside an f-string's braces: such a string would never be translated."""
    hidden = [str(path.relative_to(ROOT)) for folder in ("softmax_core", "dashboard")
              for path in (ROOT / folder).rglob("*.py")
              if re.search(r"\{N?_\(", path.read_text(encoding="utf-8"))]
    assert not hidden


def glossary_rows() -> list[dict[str, str]]:
    return [vars(term) for term in load_glossary()]


def test_the_catalog_uses_the_glossarys_terms():
    """Where a msgid says a glossary term as a whole word, its translation says the book's Chinese term."""
    rows = glossary_rows()
    assert {"batch size", "learning rate", "epochs", "train loss", "test accuracy", "weight decay",
            "momentum", "overfitting"} <= {row["english"] for row in rows}
    strays = []
    for _message, ids, strings in catalog_entries(zh_catalog()):
        said = PLACEHOLDER.sub(" ", ids[0])  # {url} is a value, not the word URL
        for row in rows:
            kept = row["english"] == row["english"].upper() or row["note"].startswith("kept")
            if re.search(rf"(?<![\w-]){re.escape(row['english'])}(?![\w-])", said, 0 if kept else re.IGNORECASE):
                wanted = row["accepts"] or row["chinese"]
                strays += [(row["english"], wanted, string) for string in strings if wanted not in string]
    assert not strays, strays[:5]


def test_the_glossary_follows_the_books_page():
    book = ROOT.parent / "shared" / "book" / "section-3.7-zh.txt"
    if not book.is_file():
        pytest.skip("the book's page is not beside this checkout")
    text = book.read_text(encoding="utf-8")
    terms = {row["english"]: row["chinese"] for row in glossary_rows()}
    for english in ("batch size", "learning rate", "epochs", "overfitting", "numerical stability",
                    "minibatch stochastic gradient descent", "test accuracy", "softmax regression"):
        assert terms[english] in text, english


def test_a_translation_is_used_and_english_is_the_default():
    assert current_language() == "en"
    assert _("Learning rate") == "Learning rate"
    with use_language("zh"):
        assert _("Learning rate") == "学习率"
        assert ngettext("{cost} book step", "{cost} book steps", 3) == "{cost} 个标准步"
    assert _("Learning rate") == "Learning rate"
    with use_language("xx"):  # a language without a catalog is English
        assert _("Learning rate") == "Learning rate"


def test_sentences_are_built_in_the_readers_language():
    from softmax_core.book.verdict import judge_book_checks
    from softmax_core.config import ConfigError, TrainConfig, describe_problem

    with use_language("zh"):
        verdict = judge_book_checks(0.5226, 0.82, 0.80)
        assert verdict.describe() == "未通过：训练损失 0.523 不低于 0.5"
        assert verdict.summary() == "fail: train loss 0.523 is not below 0.5", "stored with the run: English"
        with pytest.raises(ConfigError) as error:
            TrainConfig(epochs=1000)
        assert describe_problem(error.value) == "轮数：1000 超过了允许的最大值 500"
    assert verdict.describe() == "fail: train loss 0.523 is not below 0.5"
    assert verdict.checks[0].text == "train loss 0.523 is not below 0.5"
    assert verdict.checks[2].sentence() == "test accuracy 0.800 is in (0.7, 1]"


@pytest.mark.parametrize(("url", "picked", "browser", "expected"), [
    ("zh", "en", "en-US", "zh"),  # the URL first
    (None, "zh", "en-US", "zh"),  # then the picker
    ("", "en", "zh-CN", "en"),
    ("klingon", None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),  # then the browser
    (None, None, "zh-TW", "zh"),
    (None, None, "zh", "zh"),
    (None, None, "en;q=0.5, zh-Hans-CN;q=0.9", "zh"),
    (None, None, "zh;q=0.1, en", "en"),
    (None, None, "fr-FR, de;q=0.5", "en"),  # else English
    (None, None, None, "en"),
])
def test_choose_language(url, picked, browser, expected):
    assert choose_language(url, picked, browser) == expected


def test_browser_languages_are_ranked_by_quality():
    assert browser_languages("en;q=0.5, zh-CN, fr;q=0") == ["zh-CN", "en"]


@pytest.mark.parametrize(("environ", "expected"), [
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "zh_TW.UTF-8"}, "zh"),
    ({"LANG": "en_US.UTF-8", "LC_ALL": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "C"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({}, "en"),
])
def test_cli_language_follows_the_environment(environ, expected):
    assert language_from_environment(environ) == expected


def test_two_threads_speak_two_languages():
    """Two Streamlit sessions are two script threads: each sets its own language, and neither sees the other's."""
    ready, said = threading.Barrier(2), {}

    def session(language: str) -> None:
        set_language(language)
        ready.wait()  # both have set theirs before either reads
        said[language] = _("Learning rate")

    threads = [threading.Thread(target=session, args=(language,)) for language in ("zh", "en")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert said == {"zh": "学习率", "en": "Learning rate"}
    assert current_language() == "en"


def run_cli(*args: str, lang: str, **more_environ: str) -> subprocess.CompletedProcess:
    environ = {"PATH": "/usr/bin:/bin", "LANG": lang, "PYTHONPATH": str(ROOT), **more_environ}
    return subprocess.run([sys.executable, "-m", "softmax_core", *args], capture_output=True, text=True,
                          env=environ, cwd=ROOT, timeout=120)


def test_cli_help_and_refusal_in_chinese():
    helped = run_cli("train", "--help", lang="zh_CN.UTF-8")
    assert helped.returncode == 0
    assert "用法：" in helped.stdout and "显示此帮助信息并退出" in helped.stdout
    assert "每个 SGD 步用的样本数" in helped.stdout and "书中用 256" in helped.stdout
    refused = run_cli("train", "--epochs", "0", lang="zh_CN.UTF-8")
    assert refused.returncode == 2
    assert refused.stderr.strip() == "错误：epochs: 必须在 1..500 内，收到的是 0"
    english = run_cli("train", "--epochs", "0", lang="C.UTF-8")
    assert english.stderr.strip() == "error: epochs: must be in 1..500, got 0"


def test_catalog_domain_file_exists_for_each_language():
    assert all(catalog_path(language).name == f"{DOMAIN}.po" for language in available_languages()[1:])


def test_cli_sweep_help_table_and_reading_in_chinese(real_data_dir, tmp_path):
    helped = run_cli("sweep", "--help", lang="zh_CN.UTF-8")
    assert helped.returncode == 0 and "用法：" in helped.stdout
    assert "批量大小：一个值，或用于一条轴的多个值" in helped.stdout, helped.stdout
    assert "每格的运行次数" in helped.stdout
    environ = {"SOFTMAX_LAB_DB": f"sqlite:///{tmp_path}/runs.db", "SOFTMAX_LAB_DATA": str(real_data_dir)}
    swept = run_cli("sweep", "--lr", "0.1,0.4", "--batch-size", "1024", "--epochs", "1", lang="zh_CN.UTF-8",
                    **environ)
    assert swept.returncode in (0, 1), swept.stderr
    header, *rows = swept.stdout.splitlines()
    assert header.split() == ["学习率", "种子", "训练损失", "测试精度", "检查"], header
    assert "各格：最终训练损失在各随机种子上的均值 ± 标准差（n）" in swept.stdout
    assert "学习率 0.1" in swept.stdout and "最低的最终训练损失是" in swept.stdout, swept.stdout
    refused = run_cli("sweep", "--lr", "0.1,fast", lang="zh_CN.UTF-8", **environ)
    assert refused.returncode == 2 and "学习率取值：'fast' 不是数字" in refused.stderr, refused.stderr


def test_every_language_offered_writes_numbers_as_english_does():
    """Numbers are written with Python's format specs (``f"{steps:,}"``, ``f"{acc:.1%}"``), which follow
    English's rules. Chinese (CLDR's zh_Hans_CN) writes them by the same rules: '.' for the decimal point, ','
    between thousands, '%' after the number. A language whose rules differ (German writes 12.345,7 and
    85,3%) fails here: its numbers must then go through Babel's ``format_decimal``/``format_percent``."""
    from babel.numbers import format_decimal, format_percent

    for language in available_languages():
        locale = language_tag(language).replace("-", "_")
        assert format_decimal(12345.678, format="#,##0.###", locale=locale) == f"{12345.678:,.3f}", language
        assert format_percent(0.8532, format="#,##0.0%", locale=locale) == f"{0.8532:.1%}", language

def is_punctuation(char: str) -> bool:
    """CommonMark's "Unicode punctuation" (categories P and S): '：', '？', '，', '（' among them."""
    return unicodedata.category(char)[0] in "PS"


def delimiter_flanks(text: str, start: int, end: int) -> tuple[bool, bool]:
    """Whether the delimiter run text[start:end] can open and close emphasis (CommonMark's left- and
    right-flanking rules; the string's ends count as whitespace)."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    left = not after.isspace() and (not is_punctuation(after) or before.isspace() or is_punctuation(before))
    right = not before.isspace() and (not is_punctuation(before) or after.isspace() or is_punctuation(after))
    return left, right


def unbalanced_bold(text: str) -> list[str]:
    """The **bold** spans that Markdown would show with their asterisks, e.g. '**是过拟合，还是噪声？**用':
    a closing '**' after '？' and before a letter closes nothing (CJK punctuation counts as punctuation)."""
    runs = [match.span() for match in re.finditer(r"\*\*", text)]
    broken = []
    for (open_start, open_end), (close_start, close_end) in zip(runs[::2], runs[1::2]):
        if not delimiter_flanks(text, open_start, open_end)[0] or not delimiter_flanks(text, close_start, close_end)[1]:
            broken.append(text[max(0, open_start - 3):close_end + 3])
    return broken


def test_every_bold_span_in_chinese_is_shown_bold():
    """Markdown's emphasis rules treat '：' and '？' as punctuation: '**在真实的训练中：**从' shows its asterisks."""
    broken = {string: spans for _message, _ids, strings in catalog_entries(zh_catalog()) for string in strings
              if (spans := unbalanced_bold(PLACEHOLDER.sub("x", string)))}
    assert not broken, broken


def test_sentences_are_joined_as_the_readers_language_writes_them():
    from softmax_core.i18n import join_sentences

    assert join_sentences(["Loss fell.", "Accuracy rose."]) == "Loss fell. Accuracy rose."
    with use_language("zh"):
        assert join_sentences(["损失下降了。", "精度上升了。"]) == "损失下降了。精度上升了。"
    assert join_sentences([]) == "" and join_sentences(["One."]) == "One."
