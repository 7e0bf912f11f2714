"""Random streams (re-sends, snapshots, mixed currencies, several accounts and customers)
through the core and through a reference model written straight from the policy's words.
They must agree on every balance and on every tier change."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness.records import AFTER_ALL
from tiering.core.dedup import EventOutcome
from tiering.core.money import convert_to_fen, from_fen, to_fen
from tiering.core.policy_file import load_policy
from tiering.core.tiers import Tier, classify
from tiering.ledger.postings import CREDITS, DEBITS, Posting, TxnType, posting_from_record
from tiering.ledger.processor import LedgerProcessor
from tiering.ledger.rules import apply_posting
from tiering.ledger.state import decode_state, encode_state
from tiering.ledger.store import LedgerStore
from tiering.settings import Settings
from tiering.wire.codec import DEPOSIT_TRANSACTION, AvroCodec
from tiering.wire.inbound import Inbound
from tiering.wire.topics import DeploymentTopics

DAY = 86_400_000
# Remember every id in these streams; eviction has its own tests.
POLICY = dataclasses.replace(load_policy(), dedup_max_ids=10_000, dedup_horizon_ms=10_000 * DAY)
BOUNDS = POLICY.lower_bounds_fen
CODEC = AvroCodec()


# --- the reference model ---------------------------------------------------------------------


CURRENCIES = ("CNY", "USD", "HKD", "JPY")


def currency_of(customer_id: str, account_id: str) -> str:
    """An account is kept in one currency (a posting in another one is bad input)."""
    return CURRENCIES[(int(customer_id[1:]) + int(account_id[1:])) % len(CURRENCIES)]


def deposits(customer_id: str, accounts: dict[str, int]) -> int:
    """§3: the customer's deposit balance, every account valued in CNY at the policy's rate
    (its whole balance, rounded once) and counted at no less than zero."""
    return sum(
        max(convert_to_fen(from_fen(b), POLICY.rates[currency_of(customer_id, a)]), 0)
        for a, b in accounts.items()
    )


def reference_balances(postings: list[dict[str, Any]]) -> tuple[dict, dict]:
    """Per customer: account balances, and the (event time, deposit balance) after every new
    posting."""
    accounts, history = defaultdict(dict), defaultdict(list)
    for p in applied_once(postings):
        acct = accounts[p["customer_id"]]
        acct[p["account_id"]] = balance_after(p, acct.get(p["account_id"], 0))
        history[p["customer_id"]].append((p["event_time"], deposits(p["customer_id"], acct)))
    return accounts, history


def applied_once(postings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The postings without their re-sends."""
    seen: set[str] = set()
    once = []
    for p in postings:
        if p["txn_id"] not in seen:
            seen.add(p["txn_id"])
            once.append(p)
    return once


def balance_after(p: dict[str, Any], balance: int) -> int:
    """The account's balance in hundredths of its own currency, exact."""
    fen = to_fen(p["amount"])
    if p["txn_type"] == "BALANCE_SNAPSHOT":
        return fen
    return balance + (fen if TxnType(p["txn_type"]) in CREDITS else -fen)


def reference_overdrafts(postings: list[dict[str, Any]]) -> set[str]:
    """The debits that leave their account below zero."""
    balances: dict[tuple[str, str], int] = defaultdict(int)
    overdrafts = set()
    for p in applied_once(postings):
        account = (p["customer_id"], p["account_id"])
        balances[account] = balance_after(p, balances[account])
        if TxnType(p["txn_type"]) in DEBITS and balances[account] < 0:
            overdrafts.add(p["txn_id"])
    return overdrafts


def reference_tiers(
    history: list[tuple[int, int]], grace: int, until: int
) -> list[tuple[int, Tier]]:
    """§3 in one sentence: at time t the tier is the highest one whose bound the total reached at
    some moment in [t - grace, t]. Evaluated wherever it can change, up to ``until``."""

    def total_at(t: int) -> int | None:
        return max(((s, v) for s, v in history if s <= t), default=(0, None))[1]

    times = sorted({s for s, _ in history} | {s + grace for s, _ in history if s + grace <= until})
    tiers: list[tuple[int, Tier]] = []
    for now in times:
        window = [total_at(now - grace)] + [v for s, v in history if now - grace < s <= now]
        tier = classify(max(v for v in window if v is not None), BOUNDS)
        if not tiers or tiers[-1][1] != tier:
            tiers.append((now, tier))
    return tiers


# --- random streams --------------------------------------------------------------------------

AMOUNTS = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000000"), places=2),
    # near the bounds, where mistakes hide
    st.sampled_from(
        [
            Decimal(x)
            for x in (
                "0.01",
                "49999.99",
                "50000.00",
                "450000.00",
                "500000.00",
                "2500000.00",
                "3000000.00",
            )
        ]
    ),
)
STEP = st.integers(min_value=1, max_value=40).map(lambda n: n * DAY // 4 * 2)  # even ms only


@st.composite
def streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    customers = draw(st.integers(1, 3))
    n = draw(st.integers(1, 40))
    t = 1_764_000_000_000
    out: list[dict[str, Any]] = []
    for i in range(n):
        if out and draw(st.booleans()) and draw(st.booleans()):  # a re-send of an earlier posting
            out.append(draw(st.sampled_from(out)))
            continue
        t += draw(STEP)
        txn_type = draw(st.sampled_from([t.value for t in TxnType]))
        amount = draw(AMOUNTS)
        if txn_type == "BALANCE_SNAPSHOT" and draw(st.booleans()):
            amount = Decimal("0.00")
        customer_id = f"C{draw(st.integers(0, customers - 1))}"
        account_id = f"A{draw(st.integers(0, 2))}"
        out.append(
            {
                "txn_id": f"T{i}",
                "customer_id": customer_id,
                "account_id": account_id,
                "txn_type": txn_type,
                "amount": amount,
                "currency": currency_of(customer_id, account_id),
                "channel": "OTHER",
                "branch_id": None,
                "product_code": None,
                "event_time": t,
            }
        )
    return out


GRACES = st.sampled_from([0, 1 * DAY + 1, 30 * DAY + 1])  # odd: deadlines never meet postings


def to_posting(p: dict[str, Any]) -> Posting:
    return posting_from_record(dict(p), POLICY, key=p["customer_id"])


# --- the properties --------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(stream=streams(), grace=GRACES)
def test_the_core_agrees_with_the_reference(stream: list[dict[str, Any]], grace: int) -> None:
    policy = dataclasses.replace(POLICY, downgrade_grace_ms=grace)
    states: dict[str, Any] = {}
    changes: dict[str, list[tuple[int, Tier]]] = defaultdict(list)
    totals: dict[str, list[tuple[int, int]]] = defaultdict(list)
    overdrafts: set[str] = set()
    duplicates = 0
    for record in stream:
        p = to_posting(record)
        states[p.customer_id], applied = apply_posting(states.get(p.customer_id), p, policy, 0)
        duplicates += applied.outcome is EventOutcome.DUPLICATE
        changes[p.customer_id] += [(c.event_time_ms, c.new_tier) for c in applied.changes]
        if applied.outcome is EventOutcome.PROCESSED:
            totals[p.customer_id].append((p.event_time_ms, applied.total_fen))
        if applied.overdrawn:
            overdrafts.add(p.txn_id)

    accounts, history = reference_balances(stream)
    assert duplicates == len(stream) - sum(len(h) for h in history.values())
    # every total the core decided on is the deposit balance, never below zero
    assert totals == history
    assert overdrafts == reference_overdrafts(stream)
    for customer, state in states.items():
        assert {a: acct.balance for a, acct in state.accounts.items()} == accounts[customer]
        assert state.total_fen == decode_state(encode_state(state)).total_fen
        last = history[customer][-1][0]
        assert changes[customer] == reference_tiers(history[customer], grace, last)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams(), grace=GRACES, batch=st.integers(1, 7))
def test_the_batch_processor_agrees_with_the_reference(
    stream: list[dict[str, Any]], grace: int, batch: int
) -> None:
    """Through the shell's batch processor: encoded state, batches, and the partition sweep."""
    policy = dataclasses.replace(POLICY, downgrade_grace_ms=grace)
    table: dict[bytes, bytes] = {}
    store = LedgerStore(table.get, policy)
    processor = LedgerProcessor(policy, CODEC, store, DeploymentTopics.of(Settings()))
    changes: dict[str, list[tuple[int, Tier]]] = defaultdict(list)
    rows: dict[str, tuple[int, str, int]] = {}
    overdrawn: list[tuple[str, int, int]] = []
    messages = [
        Inbound(
            "deposit-transactions",
            0,
            offset,
            r["customer_id"].encode(),
            CODEC.encode(DEPOSIT_TRANSACTION, r),
        )
        for offset, r in enumerate(stream)
    ]
    for start in range(0, len(messages), batch):
        out = processor.decide(messages[start : start + batch], now_ms=AFTER_ALL)
        assert out.dead_letters == []
        for key, value, _ in store.staged():
            table[key] = value
        store.commit()
        for _, c in out.changes:
            changes[c.customer_id].append((c.event_time_ms, c.new_tier))
        overdrawn += out.overdrawn
        for row in out.balances.values():
            assert row.version > rows.get(row.customer_id, (0, "", 0))[2]
            rows[row.customer_id] = (row.balance_fen, row.tier, row.version)

    accounts, history = reference_balances(stream)
    stream_time = max(r["event_time"] for r in stream)
    for customer, tiers in changes.items():
        expected = reference_tiers(history[customer], grace, stream_time)
        # the sweep runs after each batch: every deadline up to the last batch's stream time
        assert tiers == expected
        assert rows[customer][0] == deposits(customer, accounts[customer])
        assert rows[customer][1] == tiers[-1][1].name
    counts, balances = store.tier_totals()
    assert sum(counts) == len(history)
    # the per-tier gauge and the rows the report sums per tier agree: both deposit balances
    for tier in Tier:
        assert balances[tier] == sum(fen for fen, name, _ in rows.values() if name == tier.name)
    assert sum(balances) == sum(deposits(c, a) for c, a in accounts.items())
    assert {stream[offset]["txn_id"] for _, _, offset in overdrawn} == reference_overdrafts(stream)
