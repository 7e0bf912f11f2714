"""The managers' inbox in the bank's languages, on the real PostgreSQL: each manager reads every
page in the language the directory gives them, else their browser's, else the deployment's;
notifications in that language from their ``texts``, else their English; errors, empty lists
and live rows too."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.harness.deployment import Deployment
from tests.integration import test_inbox
from tests.integration.test_inbox import csrf_of, next_event
from tiering.directory.tokens import issue_token
from tiering.inbox.app import create_app

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
HTML_LANG = {"zh_Hans_CN": "zh-Hans-CN", "zh_Hant": "zh-Hant", "en": "en"}
ENDONYMS = {"zh_Hans_CN": "简体中文", "zh_Hant": "繁體中文", "en": "English"}

MANAGERS = [
    # manager_id, name, branch, language in the directory
    ("M1", "王丽", "0101", "zh_Hans_CN"),
    ("M2", "陳志明", "0101", "zh_Hant"),
    ("M3", "Emma Clarke", "0101", "en"),
    ("M4", "刘洋", "0101", None),
    ("M5", "赵敏", "0909", "zh_Hans_CN"),  # nothing in their inbox
]
#: ids a page may show as they are (machine names, not words)
MANAGER_IDS = {m[0] for m in MANAGERS}


def words(title: str, body: str, *actions: str) -> dict[str, Any]:
    return {"title": title, "body": body, "actions": list(actions)}


UP = {
    "zh_Hans_CN": words("客户 ••••0451 升级为潜力客户", "总存款 ¥61,200.00。", "三天内致电客户"),
    "zh_Hant": words("客戶 ••••0451 升級為潛力客戶", "總存款 ¥61,200.00。", "三天內致電客戶"),
    "en": words("Customer ••••0451 moved up", "Total deposits ¥61,200.00.", "Call within 3 days"),
}
BIG = {
    "zh_Hans_CN": words("客户 ••••0832 大额存入", "存入后总存款 ¥680,000.00。", "介绍财富团队"),
    "zh_Hant": words("客戶 ••••0832 大額存入", "存入後總存款 ¥680,000.00。", "介紹財富團隊"),
    "en": words("Large deposit: ••••0832", "Total deposits ¥680,000.00.", "Meet the wealth team"),
}
#: the row's own English fields, written before notifications kept their texts per language
OLD = words("Moved up: customer ••••0777", "Total deposits 61,200.00 CNY.", "Call the customer")
PART = {"zh_Hans_CN": {"title": "标题"}}  # no body: not whole

NOTIFICATIONS = [
    # id, customer, manager, branch, kind, priority, texts, own fields, minutes after T0
    ("n-up", "C20260451", "M1", "0101", "TIER_UPGRADE", "HIGH", UP, UP["en"], 2),
    ("n-big", "C20260832", None, "0101", "LARGE_DEPOSIT", "NORMAL", BIG, BIG["en"], 1),
    # only M4's: one with no texts, one whose Simplified entry is not whole
    ("n-old", "C20260777", "M4", "0202", "TIER_UPGRADE", "HIGH", {}, OLD, 4),
    ("n-part", "C20260777", "M4", "0202", "IDLE_FUNDS", "LOW", PART, OLD, 3),
]
#: notification → its customer, whose whole id only the detail page shows
CUSTOMERS = {n[0]: n[1] for n in NOTIFICATIONS}

INSERT = """
INSERT INTO notifications (notification_id, customer_id, tier, team, manager_id, branch_id, kind,
                           priority, title, body, actions, texts, source_event_id, created_at)
VALUES ($1, $2, 'POTENTIAL', 'CUSTOMER_MANAGER', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
"""


async def add(d: Deployment, row: tuple[Any, ...], created_at: datetime | None = None) -> None:
    nid, customer, manager, branch, kind, priority, texts, own, minutes = row
    when = created_at or T0 + timedelta(minutes=minutes)
    args = (nid, customer, manager, branch, kind, priority)
    await d.fetch(INSERT, *args, *own.values(), json.dumps(texts), f"src-{nid}", when)


Browser = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def inbox(deployment: Any) -> AsyncIterator[tuple[Deployment, dict[str, str], Browser]]:
    """The managers and notifications above; ``browser(accept_language, language=...)``: a new
    browser (own cookies) on an inbox whose TIERING_LANGUAGE is ``language``, else the default."""
    d = await deployment("lang")
    for manager_id, name, branch, language in MANAGERS:
        await d.fetch(
            "INSERT INTO managers (manager_id, name, team, branch_id, language)"
            " VALUES ($1, $2, 'CUSTOMER_MANAGER', $3, $4)",
            *(manager_id, name, branch, language),
        )
    for row in NOTIFICATIONS:
        await add(d, row)
    await d.fetch(
        "UPDATE notifications SET acknowledged_at = $1, acknowledged_by = 'M4'"
        " WHERE notification_id = 'n-big'",
        T0 + timedelta(hours=1),
    )
    tokens = {m[0]: await issue_token(d.settings, m[0]) for m in MANAGERS}
    servers: dict[str | None, TestServer] = {}
    clients: list[TestClient] = []

    async def browser(
        accept_language: str | None = None, language: str | None = None
    ) -> TestClient:
        if language not in servers:
            settings = d.settings.model_copy(update={"language": language or "zh_Hans_CN"})
            servers[language] = TestServer(create_app(settings, keepalive=0.3), host="127.0.0.1")
            await servers[language].start_server()
        headers = {"Accept-Language": accept_language} if accept_language else {}
        client = TestClient(servers[language], headers=headers)
        clients.append(client)
        return client

    try:
        yield d, tokens, browser
    finally:
        for client in clients:
            await client.session.close()
        for server in servers.values():
            await server.close()


async def sign_in(client: TestClient, token: str) -> None:
    assert (await test_inbox.sign_in(client, token)).status == 303


class Page(HTMLParser):
    """What a reader gets of a page: the text between tags, the attributes shown or read aloud,
    and the words the page's script shows (the data-* attributes it reads them from); the parts
    marked as in another language (``lang``) kept apart."""

    SHOWN = frozenset({"title", "placeholder", "alt", "aria-label", "label"})
    SCRIPTED = frozenset({"data-on", "data-stopped", "data-retrying", "data-arrived", "data-text"})
    VOID = frozenset({"meta", "link", "input", "br", "img", "hr"})

    def __init__(self, html: str) -> None:
        super().__init__()
        self.lang = ""
        self.stack: list[tuple[str, str]] = []
        self.own: list[str] = []
        self.foreign: list[tuple[str, str]] = []
        self.feed(html)
        self.text = " ".join(self.own)

    def _here(self) -> str:
        return self.stack[-1][1] if self.stack else self.lang

    def _add(self, text: str, lang: str) -> None:
        if not text.strip():
            return
        if lang == self.lang:
            self.own.append(text.strip())
        else:
            self.foreign.append((lang, text.strip()))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = values.get("lang", "")
        lang = values.get("lang", self._here())
        for name in self.SHOWN & values.keys():
            self._add(values[name], lang)
        for name in self.SCRIPTED & values.keys():  # as the script fills them in
            self._add(values[name].replace("{count}", "2").replace("{title}", "…"), lang)
        if tag not in self.VOID:
            self.stack.append((tag, lang))

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if not self.stack or self.stack[-1][0] not in ("script", "style"):
            self._add(data, self._here())


MASKED = re.compile(r"••••\w{4}")
#: characters of this inbox's words that Simplified and Traditional write differently
SIMPLIFIED = "户经认处级时间条类态选筛网点录务请无实连页单内链该发遗联员层额绍团"
TRADITIONAL = "戶經認處級時間條類態選篩網點錄務請無實連頁單內鏈該發遺聯員層額紹團"
CJK = re.compile(r"[\u3400-\u9fff]")


def latin_words(text: str) -> list[str]:
    """Words in Latin letters, apart from masked customer ids and manager ids."""
    return [w for w in re.findall(r"[A-Za-z]\w*", MASKED.sub(" ", text)) if w not in MANAGER_IDS]


def assert_reads_as(page: Page, language: str, names: tuple[str, ...] = ()) -> None:
    """Every word of ``page`` outside its ``lang``-marked parts is in ``language`` (a person's
    ``names`` apart)."""
    assert page.lang == HTML_LANG[language]
    text = page.text
    for name in names:
        text = text.replace(name, " ")
    if language == "en":
        assert not CJK.findall(text), text
        return
    assert not latin_words(text), text
    other = TRADITIONAL if language == "zh_Hans_CN" else SIMPLIFIED
    assert not [c for c in text if c in other], text
    assert CJK.search(text)


async def page(client: TestClient, url: str, status: int = 200) -> Page:
    response = await client.get(url)
    assert response.status == status, url
    parsed = Page(await response.text())
    assert response.headers["Content-Language"] == parsed.lang
    return parsed


@pytest.mark.parametrize(
    ("manager", "language", "browser_asks"),
    [("M1", "zh_Hans_CN", "en-US,en"), ("M2", "zh_Hant", "en"), ("M3", "en", "zh-CN,zh")],
)
async def test_a_manager_reads_every_page_in_their_directory_language(
    inbox: Any, manager: str, language: str, browser_asks: str
) -> None:
    _, tokens, browser = inbox
    client = await browser(browser_asks)  # the browser asks for another: the directory wins
    await sign_in(client, tokens[manager])
    names = (next(m[1] for m in MANAGERS if m[0] == manager), "刘洋")  # (who acknowledged n-big)

    listing = await page(client, "/notifications")
    assert_reads_as(listing, language, names)
    assert listing.foreign == []  # no switch: it would change nothing for them
    text = listing.text
    assert text.index(UP[language]["title"]) < text.index(BIG[language]["title"])  # newest first
    for n in (UP, BIG):
        assert n[language]["body"] in text
        assert n[language]["actions"][0] in text
    assert "刘洋" in text
    if language != "en":
        assert UP["en"]["title"] not in text

    for nid, n in (("n-up", UP), ("n-big", BIG)):
        detail = await page(client, f"/notifications/{nid}")
        # the detail page shows the team responsible the customer's whole id (issue 17)
        assert_reads_as(detail, language, (*names, CUSTOMERS[nid]))
        assert detail.foreign == []
        for part in (n[language]["title"], n[language]["body"], *n[language]["actions"]):
            assert part in detail.text

    assert_reads_as(await page(client, "/notifications/no-such-id", 404), language, names)
    assert_reads_as(await page(client, "/notifications?kind=CHURN_RISK"), language, names)


async def test_the_words_people_depend_on(inbox: Any) -> None:
    _, tokens, browser = inbox
    chinese, english = await browser(), await browser(language="en")
    await sign_in(chinese, tokens["M1"])
    await sign_in(english, tokens["M3"])
    zh, en = await page(chinese, "/notifications"), await page(english, "/notifications")
    for expected in ("客户经理收件箱", "1 条待确认", "确认", "已确认", "潜力客户", "层级提升"):
        assert expected in zh.text
    for expected in ("Managers' inbox", "1 new", "Acknowledge", "Potential customer"):
        assert expected in en.text
    assert "实时更新中：新通知将显示在最上方。" in zh.text  # what the script shows when live
    empty = await page(chinese, "/notifications?kind=CHURN_RISK")
    assert "没有符合筛选条件的通知。" in empty.text
    nothing = await browser()
    await sign_in(nothing, tokens["M5"])
    assert "暂无通知。" in (await page(nothing, "/notifications")).text


@pytest.mark.parametrize(
    ("accept_language", "deployment_language", "expected"),
    [
        ("zh-TW,zh;q=0.9,en;q=0.8", None, "zh_Hant"),
        ("en-GB,en;q=0.9,zh-CN;q=0.5", None, "en"),
        ("fr-FR,de;q=0.5", None, "zh_Hans_CN"),  # none of ours: the deployment's
        (None, None, "zh_Hans_CN"),
        (None, "en", "en"),  # TIERING_LANGUAGE=en
        ("zh-HK", "en", "zh_Hant"),
    ],
)
async def test_without_a_preference_the_browser_then_the_deployment_decides(
    inbox: Any, accept_language: str | None, deployment_language: str | None, expected: str
) -> None:
    _, tokens, browser = inbox
    client = await browser(accept_language, deployment_language)
    signin = await page(client, "/signin")  # no manager yet: the same order
    assert_reads_as(signin, expected)
    await sign_in(client, tokens["M4"])
    listing = await page(client, "/notifications")
    assert_reads_as(listing, expected, ("刘洋",))
    # the switch names each other language in itself (and M4's notifications without texts
    # show their English, marked as such)
    others = {name for code, name in ENDONYMS.items() if code != expected}
    assert {t for _, t in listing.foreign} - {OLD["title"], OLD["body"], *OLD["actions"]} == others


async def test_without_texts_in_the_language_a_notification_shows_its_english(inbox: Any) -> None:
    _, tokens, browser = inbox
    client = await browser()
    await sign_in(client, tokens["M4"])
    listing = await page(client, "/notifications")
    assert_reads_as(listing, "zh_Hans_CN", ("刘洋",))  # the page around them
    english = [text for lang, text in listing.foreign if lang == "en"]
    for part in (OLD["title"], OLD["body"], *OLD["actions"]):
        assert english.count(part) == 2  # n-old's and n-part's
    assert "标题" not in listing.text  # an entry without a body is not used
    assert UP["zh_Hans_CN"]["title"] in listing.text

    detail = await page(client, "/notifications/n-old")
    # the window's <title> is the notification's: its English cannot be marked there
    assert_reads_as(detail, "zh_Hans_CN", (OLD["title"], CUSTOMERS["n-old"]))
    assert {OLD["title"], OLD["body"], *OLD["actions"]} <= {t for lang, t in detail.foreign}

    in_english = await browser("en")
    await sign_in(in_english, tokens["M4"])
    detail = await page(in_english, "/notifications/n-old")
    assert OLD["title"] in detail.text  # English in an English page: nothing marked
    assert all(lang != "en" for lang, _ in detail.foreign)


async def test_errors_in_the_readers_language(inbox: Any) -> None:
    _, tokens, browser = inbox
    visitor = await browser("zh-CN")
    form = {"csrf": csrf_of(await (await visitor.get("/signin")).text()), "token": "wrong"}
    refused = await visitor.post("/signin", data=form)
    assert refused.status == 401
    failed = Page(await refused.text())
    assert_reads_as(failed, "zh_Hans_CN")
    assert "登录失败。" in failed.text
    assert_reads_as(await page(visitor, "/nowhere", 404), "zh_Hans_CN")

    manager = await browser("en")  # M2 reads Traditional Chinese, whatever the browser asks
    await sign_in(manager, tokens["M2"])
    missing = await page(manager, "/nowhere", 404)  # no handler found them: the frame does
    assert_reads_as(missing, "zh_Hant", ("陳志明",))
    assert "陳志明" in missing.text
    expired = await manager.post("/notifications/n-up/ack", data={"csrf": "stale"})
    assert expired.status == 403
    text = Page(await expired.text())
    assert_reads_as(text, "zh_Hant", ("陳志明",))
    assert "表單已失效。請返回並重新整理頁面後再試。" in text.text
    wrong_method = await page(manager, "/signout", 405)
    assert_reads_as(wrong_method, "zh_Hant", ("陳志明",))


async def test_live_rows_come_in_each_connections_language(inbox: Any) -> None:
    d, tokens, browser = inbox
    streams = {}
    for manager, language in (("M2", "zh_Hant"), ("M3", "en")):
        client = await browser()
        await sign_in(client, tokens[manager])
        streams[language] = await client.get("/events")
        assert streams[language].status == 200
    texts = {lang: {**w, "title": f"{w['title']} (2)"} for lang, w in UP.items()}
    row = ("n-live", "C20260451", None, "0101", "TIER_UPGRADE", "HIGH", texts, texts["en"], 0)
    await add(d, row, created_at=datetime.now(UTC))
    for language, stream in streams.items():
        event = await next_event(stream)
        assert event["id"] == "n-live"
        assert event["title"] == texts[language]["title"]
        html = f'<html lang="{HTML_LANG[language]}"><table>{event["html"]}</table></html>'
        assert_reads_as(Page(html), language)
        assert texts[language]["body"] in event["html"]
        assert ("確認" if language == "zh_Hant" else "Acknowledge") in event["html"]
        stream.close()


async def test_the_language_switch_ranks_below_the_directory(inbox: Any) -> None:
    _, tokens, browser = inbox
    client = await browser("en")
    signin = await client.get("/signin")
    html = await signin.text()
    assert 'lang="zh-Hant"' in html
    form = {"csrf": csrf_of(html), "language": "zh_Hant", "next": "/signin"}
    chose = await client.post("/language", data=form, allow_redirects=False)
    assert chose.status == 303
    assert chose.headers["Location"] == "/signin"
    cookie = chose.headers["Set-Cookie"]
    assert "tiering_inbox_language=zh_Hant" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert_reads_as(await page(client, "/signin"), "zh_Hant")  # above Accept-Language

    await sign_in(client, tokens["M4"])  # no language in the directory: the switch's
    assert_reads_as(await page(client, "/notifications"), "zh_Hant", ("刘洋",))
    listing = await client.get("/notifications")
    form = {"csrf": csrf_of(await listing.text()), "language": "fr", "next": "//evil.example/"}
    ignored = await client.post("/language", data=form, allow_redirects=False)
    assert ignored.headers["Location"] == "/notifications"  # and no other site
    assert "Set-Cookie" not in ignored.headers  # no language of ours: nothing kept
    assert (await client.post("/language", data={"language": "en"})).status == 403

    # in the same browser, a manager whose directory language is Simplified: above the switch
    signout = {"csrf": csrf_of(await listing.text())}
    assert (await client.post("/signout", data=signout, allow_redirects=False)).status == 303
    await sign_in(client, tokens["M1"])
    assert_reads_as(await page(client, "/notifications"), "zh_Hans_CN", ("王丽",))
