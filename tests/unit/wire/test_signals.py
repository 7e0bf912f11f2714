"""Signals on the internal topic, as JSON: what the notifier reads is what the ledger sent,
including a team's grouped POLICY_CHANGE, which names no customer."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tiering.core.kinds import SignalKind
from tiering.core.signals import Signal
from tiering.core.tiers import Direction, Tier
from tiering.wire.signals import SignalFormatError, decode_signal, encode_signal

#: 2027-01-01 00:00 China time
SWITCH = 1_798_732_800_000

POLICY_CHANGE = Signal(
    signal_id="f3a9c2",
    kind=SignalKind.POLICY_CHANGE,
    customer_id="",
    tier=Tier.POTENTIAL,
    event_time_ms=SWITCH,
    balance_fen=0,
    branch_id="B1",
    detail=json.dumps(
        {
            "version": "2027.01-一",
            "moves": [["POTENTIAL", "ORDINARY", 40], ["PREMIUM", "POTENTIAL", 3]],
        }
    ),
)


def test_a_policy_change_survives_the_topic_whole() -> None:
    assert decode_signal(encode_signal(POLICY_CHANGE)) == POLICY_CHANGE
    doc = json.loads(encode_signal(POLICY_CHANGE))
    # an empty customer is sent as such (not dropped), and the moves travel as the ledger wrote
    assert doc["customer_id"] == ""
    assert json.loads(doc["detail"])["moves"][0] == ["POTENTIAL", "ORDINARY", 40]


def test_a_team_notice_at_head_office_has_no_branch() -> None:
    at_head_office = dataclasses.replace(POLICY_CHANGE, branch_id=None)
    decoded = decode_signal(encode_signal(at_head_office))
    assert decoded.branch_id is None
    assert decoded == at_head_office


def test_a_customers_signal_is_unchanged() -> None:
    change = Signal(
        "X1",
        SignalKind.TIER_CHANGE,
        "C1",
        Tier.PREMIUM,
        SWITCH,
        60_000_000,
        "B1",
        Tier.POTENTIAL,
        Direction.UPGRADE,
    )
    assert decode_signal(encode_signal(change)) == change


@pytest.mark.parametrize(
    "data",
    [b"{}", b'{"format": 1, "id": "x"}', b'{"format": 1, "id": "x", "kind": "NO_SUCH"}', b"[]"],
)
def test_what_is_not_a_signal_is_refused(data: bytes) -> None:
    with pytest.raises(SignalFormatError):
        decode_signal(data)
