"""§7.3 churn: a customer has left once their deposit balance has stayed at zero for the policy's
``[churn] inactive_days``; each departure counts once, by the tier they left from, whether the
customer's next posting or the partition's sweep finds it. Emptying and refilling accounts
within the days is no departure; a downgrade is a tier migration, not churn."""

from __future__ import annotations

import msgpack
from prometheus_client import REGISTRY

from tests.unit.ledger.test_processor import commit, encoded, message, processor
from tests.unit.ledger.test_rules import POLICY, T0, Customer
from tiering.core.bank_time import DAY_MS
from tiering.core.tiers import Tier
from tiering.ledger.deadlines import next_deadline
from tiering.ledger.postings import TxnType
from tiering.ledger.processor import count
from tiering.ledger.state import decode_standing, decode_state, encode_state

AWAY = POLICY.departure_ms
GRACE = POLICY.downgrade_grace_ms


def churned(tier: Tier) -> float:
    return REGISTRY.get_sample_value("tiering_churned_customers_total", {"tier": tier.name}) or 0


def downgrades() -> float:
    return sum(
        s.value
        for m in REGISTRY.collect()
        if m.name == "tiering_tier_changes"
        for s in m.samples
        if s.labels.get("direction") == "DOWNGRADE" and s.name.endswith("_total")
    )


def test_the_default_policy_counts_a_departure_after_30_days_at_zero() -> None:
    assert AWAY == 30 * DAY_MS


def test_left_exactly_when_the_days_at_zero_have_passed_by_the_tier_left_from() -> None:
    early, exact = Customer(), Customer()
    for c in (early, exact):
        c.post("600000.00", at=T0)
        c.post("600000.00", TxnType.WITHDRAWAL, at=T0 + DAY_MS)
    emptied = T0 + DAY_MS
    assert early.post("0.01", TxnType.FEE, at=emptied + AWAY - 1).departed is None
    # the grace period has moved them down meanwhile; they are lost from PREMIUM
    assert exact.tier is Tier.PREMIUM
    assert exact.post("0.01", TxnType.FEE, at=emptied + AWAY).departed is Tier.PREMIUM
    assert exact.tier is Tier.ORDINARY
    # found late, it is the same departure: once
    assert early.post("0.01", TxnType.FEE, at=emptied + 3 * AWAY).departed is Tier.PREMIUM
    assert early.post("0.01", TxnType.FEE, at=emptied + 4 * AWAY).departed is None


def test_emptying_and_refilling_within_the_days_is_no_departure() -> None:
    """The customer once counted three times: an ORDINARY payroll account emptied each month."""
    c = Customer()
    c.post("8000.00", at=T0)
    at = T0
    for month in range(3):
        at = T0 + month * 28 * DAY_MS
        c.post("8000.00", TxnType.WITHDRAWAL, at=at + DAY_MS)
        assert c.post("8000.00", TxnType.TRANSFER_IN, at=at + 20 * DAY_MS).departed is None
    assert next_deadline(c.state, POLICY) is None  # type: ignore[arg-type]


def test_every_account_must_be_at_zero_and_an_overdraft_counts_as_zero() -> None:
    c = Customer()
    c.post("100.00", account="A1", at=T0)
    c.post("100.00", account="A2", at=T0)
    c.post("150.00", TxnType.WITHDRAWAL, account="A1", at=T0 + DAY_MS)  # overdrawn: zero
    assert c.post("1.00", account="A2", at=T0 + 2 * AWAY).departed is None
    c.post("101.00", TxnType.WITHDRAWAL, account="A2", at=T0 + 2 * AWAY + 1)
    assert c.post("0.01", TxnType.FEE, at=T0 + 3 * AWAY + 1).departed is Tier.ORDINARY


def test_a_customer_who_never_held_a_deposit_has_not_left() -> None:
    c = Customer()
    c.post("0.00", TxnType.BALANCE_SNAPSHOT, at=T0)
    assert c.post("0.00", TxnType.BALANCE_SNAPSHOT, at=T0 + 2 * AWAY).departed is None
    assert next_deadline(c.state, POLICY) is None  # type: ignore[arg-type]


def test_a_customer_who_comes_back_and_leaves_again_leaves_twice() -> None:
    c = Customer()
    c.post("60000.00", at=T0)
    c.post("60000.00", TxnType.WITHDRAWAL, at=T0 + 1)
    assert c.post("0.01", TxnType.FEE, at=T0 + 1 + AWAY).departed is Tier.POTENTIAL
    back = T0 + 2 * AWAY
    c.post("100.00", at=back)
    c.post("100.00", TxnType.TRANSFER_OUT, at=back + 1)
    assert c.post("0.01", TxnType.FEE, at=back + 1 + AWAY).departed is Tier.ORDINARY


def test_the_spell_survives_encoding_and_a_format_2_state_starts_none() -> None:
    c = Customer()
    c.post("600000.00", at=T0)
    c.post("600000.00", TxnType.WITHDRAWAL, at=T0 + DAY_MS)
    assert c.state is not None
    assert (c.state.empty_since, c.state.empty_tier) == (T0 + DAY_MS, Tier.PREMIUM)
    assert decode_standing(encode_state(c.state)).empty_since == T0 + DAY_MS
    assert next_deadline(c.state, POLICY) == T0 + DAY_MS + GRACE
    fields = msgpack.unpackb(encode_state(c.state))
    old = msgpack.packb([2, *fields[1:13]], use_bin_type=True)
    state = decode_state(old)
    assert (state.empty_since, state.empty_tier) == (None, None)
    assert decode_standing(old).empty_since is None


def test_the_sweep_counts_a_silent_departure_once_and_a_downgrade_is_no_churn() -> None:
    proc, store, table = processor()

    def batch(offset: int, *postings: dict) -> None:
        out = proc.decide(
            [
                message(encoded(**p), key=p["customer_id"].encode(), offset=offset + i)
                for i, p in enumerate(postings)
            ],
            now_ms=T0 + 10 * AWAY,
        )
        commit(store, table)
        count(out, T0 + 10 * AWAY)

    premium, potential = churned(Tier.PREMIUM), churned(Tier.POTENTIAL)
    moved_down = downgrades()
    gone = {"customer_id": "GONE", "event_time_ms": T0}
    batch(0, dict(gone, txn_id="G1", amount="600000.00"))
    batch(1, dict(gone, txn_id="G2", amount="600000.00", txn_type="WITHDRAWAL"))
    # STAYS falls to POTENTIAL: downgraded after the grace period, still a customer
    stays = {"customer_id": "STAYS", "event_time_ms": T0}
    batch(2, dict(stays, txn_id="S1", amount="600000.00"))
    batch(3, dict(stays, txn_id="S2", amount="500000.00", txn_type="WITHDRAWAL"))
    other = {"customer_id": "OTHER", "amount": "1.00"}
    batch(4, dict(other, txn_id="O1", event_time_ms=T0 + AWAY - 1))
    assert churned(Tier.PREMIUM) == premium
    for n, at in enumerate((T0 + AWAY, T0 + AWAY + DAY_MS, T0 + 2 * AWAY)):
        batch(5 + n, dict(other, txn_id=f"O{n + 2}", event_time_ms=at))
    assert churned(Tier.PREMIUM) == premium + 1
    assert churned(Tier.POTENTIAL) == potential
    assert downgrades() == moved_down + 2  # GONE and STAYS, each moved out of PREMIUM
