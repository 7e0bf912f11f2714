"""`tiering report` in the bank's languages: the page and the charts say everything in the
reader's language, amounts in ¥ and 万元, times in China time, and Chinese chart text is drawn
in a font that has its glyphs (or the report refuses, naming the package to install)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from click.testing import CliRunner
from matplotlib import font_manager
from matplotlib.text import Text

from tests.unit.tools.test_report import PERIOD, sample_report
from tiering.cli.tools import report as report_command
from tiering.i18n import LANGUAGES, Language
from tiering.i18n.terms import tier_name
from tiering.tools.report import fonts
from tiering.tools.report.charts import draw_chart, draw_charts, money_scale, render_charts
from tiering.tools.report.figures import Note, tiers_now
from tiering.tools.report.fonts import MissingFontError, chart_fonts
from tiering.tools.report.page import period_text, render_html
from tiering.tools.report.period import CST, Period
from tiering.tools.report.sources import trends_from_prometheus

CHINESE: list[Language] = ["zh_Hans_CN", "zh_Hant"]
ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")
CJK = re.compile(r"[\u3400-\u9fff]")
NOW = datetime(2026, 11, 5, tzinfo=CST)


def visible_text(page: str) -> str:
    """What a reader sees: text between tags and the images' alt texts, without the styles and
    without the names shown on purpose as they are in <code> (tables, metrics, the schema)."""
    alts = " ".join(re.findall(r'\balt="([^"]*)"', page))
    page = re.sub(r"<(style|code)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]*>", " ", page) + " " + alts)


def chart_texts(figure: object) -> Iterator[Text]:
    for text in figure.findobj(Text):  # type: ignore[attr-defined]
        if text.get_text().strip():
            yield text


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    rendered = {}
    for language in LANGUAGES:
        report = sample_report()
        report.charts = draw_charts(report, language)
        rendered[language] = render_html(report, language)
    return rendered


@pytest.mark.parametrize("language", CHINESE)
def test_a_chinese_page_has_no_english_words(pages: dict[str, str], language: str) -> None:
    text = visible_text(pages[language])
    assert not ENGLISH_WORD.findall(text)
    assert len(CJK.findall(text)) > 300


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        (
            "zh_Hans_CN",
            [
                '<html lang="zh-Hans-CN">',
                "统计期间：2026年11月1日至2026年11月3日（北京时间）",
                "生成时间：2026年11月4日 09:30:00",  # 01:30 UTC in China time
                "共 1,230 位客户，存款合计 5,487.65万元。",
                "期内升级 6 次。",
                "期内存款增长 98.50万元。",
                '<td>优质客户</td><td class="n">30</td>',
                '<td class="n">¥9,876,543.21</td>',
                '<td class="n">-¥15,000.00</td>',
                "<td>财富团队</td><td>大额存入</td>",
                "<code>customer_balances</code>、<code>tier_changes</code>、",
            ],
        ),
        (
            "zh_Hant",
            [
                '<html lang="zh-Hant">',
                "統計期間：2026年11月1日至2026年11月3日（北京時間）",
                "生成時間：2026年11月4日 上午9:30:00",
                "共 1,230 位客戶，存款合計 5,487.65萬元。",
                "<td>優質客戶</td>",
                '<td class="n">¥54,876,543.21</td>',
            ],
        ),
    ],
)
def test_a_chinese_page_writes_money_and_time_as_the_bank_does(
    pages: dict[str, str], language: str, texts: list[str]
) -> None:
    for text in texts:
        assert text in pages[language], text


def test_the_english_page_has_no_chinese(pages: dict[str, str]) -> None:
    assert not CJK.findall(visible_text(pages["en"]))
    assert "1,230 customers hold ¥54,876,543 in deposits." in pages["en"]


def test_one_of_a_thing_is_singular_in_english() -> None:
    report = sample_report(tiers_now=tiers_now([("HIGH_END", 1, Decimal("3000000.00"))]))
    assert "1 customer holds ¥3,000,000 in deposits." in render_html(report, "en")
    assert "共 1 位客户，存款合计 300.00万元。" in render_html(report, "zh_Hans_CN")


def test_a_period_reads_as_the_language_writes_it() -> None:
    period = Period(date(2026, 11, 1), date(2026, 11, 30))
    assert period_text(period, "zh_Hans_CN") == "2026年11月1日至2026年11月30日"
    assert period_text(period, "en") == "Nov 1, 2026 to Nov 30, 2026"
    one_day = Period(date(2026, 11, 1), date(2026, 11, 1))
    assert period_text(one_day, "zh_Hant") == "2026年11月1日"


def test_axes_count_yuan_in_wan_and_yi_in_chinese() -> None:
    assert money_scale([54_876_543.21], "zh_Hans_CN") == (1e4, "万元")
    assert money_scale([3e8], "zh_Hant") == (1e8, "億元")
    assert money_scale([54_876_543.21], "en") == (1e6, "million yuan")
    assert money_scale([12.5], "zh_Hans_CN") == (1.0, "元")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_chart_character_is_in_the_font_it_is_drawn_in(language: Language) -> None:
    charts = render_charts(sample_report(), language)
    assert set(charts) == {"tiers", "changes", "notifications", "growth"}
    drawn = []
    for name, chart in charts.items():
        assert chart.png.startswith(b"\x89PNG")
        for text in chart_texts(chart.figure):
            path = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
            font = font_manager.get_font(path)
            missing = [
                c for c in text.get_text() if not c.isspace() and not font.get_char_index(ord(c))
            ]
            assert not missing, f"{name}: {text.get_text()!r} in {font.family_name}: {missing}"
            drawn.append((font.family_name, text.get_text()))
    words = " ".join(t for _, t in drawn)
    if language == "en":
        assert not CJK.findall(words)
        assert "Premium customer" in words
        return
    assert not ENGLISH_WORD.findall(words), "a chart says something in English"
    assert {family for family, t in drawn if CJK.search(t)} == {chart_fonts(language)[0]}
    assert tier_name("PREMIUM", language) in words
    assert ("万元" if language == "zh_Hans_CN" else "萬元") in words


def test_chinese_charts_use_the_face_of_their_script() -> None:
    assert chart_fonts("zh_Hans_CN")[0] == "Noto Sans CJK SC"
    assert chart_fonts("zh_Hant")[0] == "Noto Sans CJK TC"
    assert chart_fonts("en") == ("DejaVu Sans",)


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    chart_fonts.cache_clear()
    monkeypatch.setitem(fonts.CJK_FAMILIES, "zh_Hant", ("Not An Installed CJK Font",))
    yield
    chart_fonts.cache_clear()


@pytest.mark.usefixtures("no_cjk_font")
def test_without_a_chinese_font_the_report_says_what_to_install() -> None:
    with pytest.raises(MissingFontError, match="fonts-noto-cjk"):
        draw_charts(sample_report(), "zh_Hant")
    assert chart_fonts("zh_Hans_CN")[0] == "Noto Sans CJK SC"


def test_a_glyph_the_font_lacks_is_an_error_not_a_box() -> None:
    with pytest.raises(MissingFontError, match="missing from font"):
        draw_chart("en", lambda fig: fig.text(0.5, 0.5, "层级"))


def test_the_command_takes_a_language() -> None:
    runner = CliRunner()
    result = runner.invoke(report_command, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "--language [zh_Hans_CN|zh_Hant|en]" in result.output
    assert "Default: TIERING_LANGUAGE, which defaults to zh_Hans_CN" in result.output
    wrong = runner.invoke(
        report_command, ["--from", "2026-11-01", "--to", "2026-11-02", "--language", "fr"]
    )
    assert wrong.exit_code == 2
    assert "'fr' is not one of" in wrong.output


def test_the_notes_about_prometheus_are_worded_too() -> None:
    _, unreadable = trends_from_prometheus("http://127.0.0.1:1", PERIOD, NOW)
    _, future = trends_from_prometheus(
        "http://127.0.0.1:1", PERIOD, datetime(2026, 1, 1, tzinfo=CST)
    )
    limited = unreadable + future
    partial = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    limited += [
        Note(
            "Prometheus holds data for this period only from %(since)s: growth and churn below "
            "cover that part.",
            {"since": partial},
        ),
        Note("Figures up to %(until)s.", {"until": partial}),
        Note(
            "Prometheus at %(url)s holds no tiering metrics for this period, so deposit growth "
            "and churn cannot be shown.",
            {"url": "http://prometheus:9090"},
        ),
    ]
    for language in CHINESE:
        page = render_html(sample_report(trends=None, trends_notes=limited), language)
        text = visible_text(page)
        assert not ENGLISH_WORD.findall(text), language
        # the five, and one in each later section Prometheus feeds, pointing at them
        assert page.count('<p class="note">') == 5 + 3
        assert "<code>http://127.0.0.1:1</code>" in page
    page = render_html(sample_report(trends=None, trends_notes=limited), "zh_Hans_CN")
    assert "监控系统仅有自 2026年11月2日 14:00:00 起的本期数据" in page  # 06:00 UTC
    assert "数据截至 2026年11月2日 14:00:00。" in page


def test_a_period_without_notifications_says_so() -> None:
    report = sample_report(notifications=[])
    report.charts = draw_charts(report, "zh_Hans_CN")
    assert "notifications" not in report.charts
    page = render_html(report, "zh_Hans_CN")
    assert "<li>期内没有发给各团队的通知。</li>" in page
    assert not ENGLISH_WORD.findall(visible_text(page))


@pytest.mark.usefixtures("no_cjk_font")
def test_the_command_names_the_font_package_before_reading_anything() -> None:
    period = ["--from", "2026-11-01", "--to", "2026-11-02", "--language", "zh_Hant"]
    result = CliRunner().invoke(
        report_command, period, env={"TIERING_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    )
    assert result.exit_code == 1, result.output
    assert "install Debian's fonts-noto-cjk" in result.output
    assert "Traceback" not in result.output
