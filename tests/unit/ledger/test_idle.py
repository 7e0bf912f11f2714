"""§5 idle funds (the PREMIUM example): a large sum held with no withdrawal or transfer out for
the policy's days is told to the customer's team once per idle spell, on event time, whether
the customer's next posting or the partition's sweep finds it."""

from __future__ import annotations

import msgpack

from tests.unit.ledger.test_processor import commit, encoded, message, processor
from tests.unit.ledger.test_rules import POLICY, T0, Customer, policy
from tiering.core.bank_time import DAY_MS
from tiering.core.kinds import SignalKind
from tiering.core.money import parse_yuan
from tiering.core.teams import TEAM_OF, Team, route
from tiering.core.tiers import Tier
from tiering.ledger.deadlines import next_deadline
from tiering.ledger.idle import idle_deadline
from tiering.ledger.postings import TxnType
from tiering.ledger.rules import Applied
from tiering.ledger.state import decode_standing, decode_state, encode_state

IDLE = POLICY.idle_ms
MIN = POLICY.idle_min_balance_fen


def idle(applied: Applied) -> list[tuple[Tier, int, int]]:
    """The idle-funds signals a posting gave: (tier, balance, event time)."""
    return [
        (s.tier, s.balance_fen, s.event_time_ms)
        for s in applied.signals
        if s.kind is SignalKind.IDLE_FUNDS
    ]


def test_the_default_policy_is_500000_held_90_days() -> None:
    assert MIN == parse_yuan("500000.00") == POLICY.lower_bound(Tier.PREMIUM)
    assert IDLE == 90 * DAY_MS


def test_idle_exactly_when_the_days_have_passed_and_not_a_millisecond_before() -> None:
    early, exact = Customer(), Customer()
    for c in (early, exact):
        c.post("600000.00", at=T0)
    assert idle(early.post("1.00", at=T0 + IDLE - 1)) == []
    assert idle(exact.post("1.00", at=T0 + IDLE)) == [
        (Tier.PREMIUM, parse_yuan("600000.00"), T0 + IDLE)
    ]
    # a millisecond late, still dated at the moment the spell turned idle
    assert idle(early.post("1.00", at=T0 + IDLE)) == [
        (Tier.PREMIUM, parse_yuan("600001.00"), T0 + IDLE)
    ]


def test_once_per_spell() -> None:
    c = Customer()
    c.post("600000.00", at=T0)
    assert len(idle(c.post("1.00", at=T0 + IDLE))) == 1
    for day in (1, 50, 200):
        assert idle(c.post("1.00", at=T0 + IDLE + day * DAY_MS)) == []


def test_a_withdrawal_ends_the_spell_and_a_new_one_fires_again() -> None:
    c = Customer()
    c.post("600000.00", at=T0)
    # a withdrawal a millisecond before the deadline: no notice, a new spell from there
    withdrawn = T0 + IDLE - 1
    assert idle(c.post("100.00", TxnType.WITHDRAWAL, at=withdrawn)) == []
    assert idle(c.post("1.00", at=T0 + IDLE)) == []
    # told with the balance held at that moment, before the posting that finds it
    assert idle(c.post("1.00", at=withdrawn + IDLE)) == [
        (Tier.PREMIUM, parse_yuan("599901.00"), withdrawn + IDLE)
    ]
    # told; a transfer out ends that spell too, and the next one is told again
    moved = withdrawn + IDLE + DAY_MS
    assert idle(c.post("2.00", TxnType.TRANSFER_OUT, at=moved)) == []
    assert len(idle(c.post("1.00", at=moved + IDLE))) == 1


def test_a_withdrawal_at_the_deadline_comes_after_it() -> None:
    """The deadline is reached first (what fell due, then the posting): told, then ended."""
    c = Customer()
    c.post("600000.00", at=T0)
    assert len(idle(c.post("100.00", TxnType.WITHDRAWAL, at=T0 + IDLE))) == 1
    assert idle(c.post("1.00", at=T0 + 2 * IDLE - 1)) == []
    assert len(idle(c.post("1.00", at=T0 + 2 * IDLE))) == 1


def test_a_fee_is_not_the_customer_moving_their_money() -> None:
    c = Customer()
    c.post("600000.00", at=T0)
    c.post("2.00", TxnType.FEE, at=T0 + DAY_MS)
    assert len(idle(c.post("1.00", at=T0 + IDLE))) == 1


def test_the_spell_starts_once_the_sum_is_held_and_ends_below_it() -> None:
    c = Customer()
    c.post("400000.00", at=T0)
    reached = T0 + 10 * DAY_MS
    c.post("100000.00", at=reached)  # exactly the minimum: idle counts from here
    assert idle(c.post("1.00", at=reached + IDLE - 1)) == []
    assert len(idle(c.post("1.00", at=reached + IDLE))) == 1
    # a snapshot below the minimum ends the spell; back above it, a new one begins
    d = Customer()
    d.post("600000.00", at=T0)
    d.post("100000.00", TxnType.BALANCE_SNAPSHOT, at=T0 + DAY_MS)
    back = T0 + 2 * DAY_MS
    d.post("500000.00", at=back)
    assert idle(d.post("1.00", at=T0 + IDLE)) == []
    assert len(idle(d.post("1.00", at=back + IDLE))) == 1


def test_high_end_customers_too_each_to_their_tiers_team() -> None:
    c = Customer()
    c.post("4000000.00", at=T0)
    (signal,) = c.post("1.00", at=T0 + IDLE).signals
    assert (signal.kind, signal.tier) == (SignalKind.IDLE_FUNDS, Tier.HIGH_END)
    assert route(signal) is not None
    assert TEAM_OF[route(signal)[1]] is Team.PRIVATE_BANKING  # type: ignore[index]
    p = Customer()
    p.post("600000.00", at=T0)
    (signal,) = p.post("1.00", at=T0 + IDLE).signals
    assert TEAM_OF[route(signal)[1]] is Team.WEALTH_TEAM  # type: ignore[index]


def test_not_for_potential_or_ordinary_customers() -> None:
    for amount in ("499999.99", "60000.00", "100.00"):
        c = Customer()
        c.post(amount, at=T0)
        assert c.tier in (Tier.POTENTIAL, Tier.ORDINARY)
        assert idle(c.post("0.01", TxnType.FEE, at=T0 + 2 * IDLE)) == []
        assert idle_deadline(c.state, POLICY) is None  # type: ignore[arg-type]


def test_a_lower_policy_minimum_still_tells_only_premium_and_high_end() -> None:
    """The policy file refuses a minimum below PREMIUM; a state told under one still keeps a
    POTENTIAL customer out, and that spell passes untold rather than pending for ever."""
    c = Customer(policy(idle_min_balance_fen=parse_yuan("100000.00")))
    c.post("200000.00", at=T0)
    assert idle(c.post("1.00", at=T0 + IDLE)) == []
    assert next_deadline(c.state, c.policy) is None  # type: ignore[arg-type]


def test_the_same_signal_whichever_finds_it() -> None:
    posted, later = Customer(), Customer()
    for c in (posted, later):
        c.post("600000.00", at=T0)
    (a,) = posted.post("1.00", at=T0 + IDLE).signals
    (b,) = later.post("1.00", at=T0 + IDLE + 5 * DAY_MS).signals
    assert a.signal_id == b.signal_id
    assert a.event_time_ms == b.event_time_ms == T0 + IDLE


def test_the_spell_survives_encoding_and_a_format_1_state_is_read() -> None:
    c = Customer()
    c.post("600000.00", at=T0)
    c.post("1.00", at=T0 + DAY_MS)
    assert c.state is not None
    assert (c.state.idle_since, c.state.idle_notified) == (T0, False)
    assert decode_standing(encode_state(c.state)).idle_since == T0
    # format 1 knew no idle spell: counted from the customer's newest event, never earlier
    fields = msgpack.unpackb(encode_state(c.state))
    old = msgpack.packb([1, *fields[1:12]], use_bin_type=True)
    state = decode_state(old)
    assert (state.idle_since, state.idle_notified) == (T0 + DAY_MS, False)
    assert decode_standing(old).idle_since == T0 + DAY_MS
    assert state.total_fen == c.state.total_fen


def test_the_sweep_tells_of_a_customer_who_posts_nothing() -> None:
    proc, store, table = processor()
    proc.decide(
        [
            message(encoded(txn_id="I1", customer_id="IDLE", amount="800000.00"), key=b"IDLE"),
            message(
                encoded(txn_id="B1", customer_id="BUSY", amount="800000.00"), key=b"BUSY", offset=1
            ),
        ],
        now_ms=T0,
    )
    commit(store, table)

    def others(txn_id: str, at: int, offset: int) -> list:
        """BUSY withdraws a little; OTHER's deposit moves the partition's stream time."""
        out = proc.decide(
            [
                message(
                    encoded(
                        txn_id=f"{txn_id}b",
                        customer_id="BUSY",
                        amount="10.00",
                        txn_type="WITHDRAWAL",
                        event_time_ms=at,
                    ),
                    key=b"BUSY",
                    offset=offset,
                ),
                message(
                    encoded(txn_id=txn_id, customer_id="OTHER", amount="1.00", event_time_ms=at),
                    key=b"OTHER",
                    offset=offset + 1,
                ),
            ],
            now_ms=at,
        )
        commit(store, table)
        return [s for _, s in out.signals if s.kind is SignalKind.IDLE_FUNDS]

    assert others("O1", T0 + IDLE // 2, 2) == []
    assert others("O2", T0 + IDLE - 1, 4) == []
    (told,) = others("O3", T0 + IDLE, 6)
    assert (told.customer_id, told.tier, told.event_time_ms) == ("IDLE", Tier.PREMIUM, T0 + IDLE)
    assert told.balance_fen == parse_yuan("800000.00")
    # once: nothing is due for IDLE any more, and BUSY, who kept withdrawing, is never told
    assert next_deadline(decode_state(table[b"IDLE"]), POLICY) is None
    assert others("O4", T0 + IDLE + IDLE // 2, 8) == []
