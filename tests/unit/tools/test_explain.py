"""What ``tiering explain`` shows: each trigger worded, a pending downgrade with its deadline
or none, amounts as the bank writes them, times in China time, in the reader's language."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from tests.unit.directory.test_explanation import POLICY, T0, balance, change
from tiering.directory.explanation import Explanation, Trigger, TriggerKind, explanation_from
from tiering.i18n import Language
from tiering.tools.explain import describe_trigger, show_explanation, unknown_customer


def test_each_trigger_is_worded_in_the_reader_language() -> None:
    posting = describe_trigger(Trigger(TriggerKind.POSTING, "TXN-42"), "en")
    assert posting == "posting TXN-42"
    assert "TXN-42" in describe_trigger(Trigger(TriggerKind.POSTING, "TXN-42"), "zh_Hans_CN")
    expiry = describe_trigger(Trigger(TriggerKind.GRACE_EXPIRY, None), "en")
    assert "grace period" in expiry
    rate = describe_trigger(Trigger(TriggerKind.FX_RATE, "r-1"), "zh_Hant")
    assert "r-1" in rate
    assert rate != describe_trigger(Trigger(TriggerKind.FX_RATE, "r-1"), "en")


def render(e: Explanation, language: Language = "en") -> str:
    out = io.StringIO()
    show_explanation(Console(file=out, width=200, color_system=None), e, language)
    return out.getvalue()


def test_a_pending_downgrade_is_shown_with_its_deadline() -> None:
    e = explanation_from(balance(), [change("TXN-2", "POTENTIAL", "PREMIUM", T0)], POLICY)
    text = render(e)
    assert "Pending downgrade" in text
    assert "downgraded on" in text
    assert "TXN-2" in text
    assert "¥400,000.00" in text
    assert "CUST-000123" in text


def test_no_pending_downgrade_says_none() -> None:
    e = explanation_from(balance(downgrade_due_ms=None), [], POLICY)
    assert "downgraded on" not in render(e)
    assert "none" in render(e)


def test_simplified_chinese_and_china_time() -> None:
    e = explanation_from(
        balance(downgrade_due_ms=None), [change("TXN-2", None, "PREMIUM", T0)], POLICY
    )
    text = render(e, "zh_Hans_CN")
    assert "2025年11月25日 00:00:00" in text
    assert "TXN-2" in text


def test_notifications_are_listed_with_their_status() -> None:
    notices = [
        {
            "kind": "TIER_UPGRADE",
            "team": "WEALTH_TEAM",
            "created_at": datetime(2025, 11, 24, 16, tzinfo=UTC),
            "acknowledged_at": None,
        }
    ]
    e = explanation_from(balance(), [], POLICY, notices)
    assert e.notices[0].acknowledged is False
    assert "not acknowledged" in render(e)


def test_an_unknown_customer_is_named_in_the_error() -> None:
    assert "NOBODY" in unknown_customer("NOBODY", "zh_Hans_CN")


def test_a_policy_change_and_an_average_crossing_are_named() -> None:
    from tiering.directory.explanation import trigger_of

    switched = trigger_of("policy:2027.01-1")
    assert switched == Trigger(TriggerKind.POLICY_CHANGE, "2027.01-1")
    assert "2027.01-1" in describe_trigger(switched, "en")
    averaged = trigger_of("adb:CUST-000123:1772294400000")
    assert averaged == Trigger(TriggerKind.AVERAGE, None)
    assert describe_trigger(averaged, "zh_Hans_CN") == "日均余额达到了层级门槛（政策第3条）"


def test_the_average_is_shown_when_the_tiers_go_by_it() -> None:
    e = explanation_from(balance(average_fen=45_000_000, average_since_ms=T0), [], POLICY)
    shown = render(e)
    assert "Average daily balance" in shown
    assert "¥450,000.00 from" in shown
    assert "Average daily balance" not in render(explanation_from(balance(), [], POLICY))
