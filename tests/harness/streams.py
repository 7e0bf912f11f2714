"""A stream of postings for crash and outage tests, and what must hold after it: the balances
computed the plain way, the tier changes the pure core calls for, and the deployment's
PostgreSQL and topics compared with both."""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

from tests.harness.records import CODEC, T0, posting
from tiering.core.policy import Policy
from tiering.ledger.postings import CREDITS, TxnType, posting_from_record
from tiering.ledger.rules import apply_posting
from tiering.wire.codec import TIER_CHANGE


def feed(n: int, customers: int, seed: int, start_ms: int = T0) -> list[dict[str, Any]]:
    """Postings that walk customers up and down across the tier bounds, a minute apart."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        customer = f"C{rng.randrange(customers):04d}"
        kind = rng.choices(["DEPOSIT", "WITHDRAWAL", "TRANSFER_IN", "FEE"], weights=[5, 3, 1, 1])[0]
        amount = (
            Decimal(rng.choice([rng.randrange(1, 90_000_00), rng.randrange(1, 900_000_00)])) / 100
        )
        records.append(
            posting(
                f"T{seed}-{i}",
                customer,
                amount,
                kind,
                event_time_ms=start_ms + i * 60_000,
                account_id=f"{customer}-A{rng.randrange(2)}",
            )
        )
    return records


def sums(records: list[dict[str, Any]]) -> dict[str, Decimal]:
    """The balances, computed the plain way: each account's credits minus debits, each posting
    once; a customer's deposit balance counts each account at no less than zero (POLICY §3: a
    debt is no deposit)."""
    accounts: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    seen = set()
    for r in records:
        if r["txn_id"] in seen:
            continue
        seen.add(r["txn_id"])
        sign = 1 if TxnType(r["txn_type"]) in CREDITS else -1
        accounts[r["customer_id"], r["account_id"]] += sign * r["amount"]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for (customer, _account), balance in accounts.items():
        totals[customer] += max(balance, Decimal("0.00"))
    return dict(totals)


def replay(records: list[dict[str, Any]], policy: Policy) -> tuple[dict[str, Any], set[str]]:
    """The customers' states and the ids of the tier changes the pure core decides over the
    same stream, in order."""
    states: dict[str, Any] = {}
    changes: set[str] = set()
    for r in records:
        p = posting_from_record(dict(r), policy, key=r["customer_id"])
        states[p.customer_id], applied = apply_posting(states.get(p.customer_id), p, policy, 0)
        changes |= {c.change_id for c in applied.changes}
    return states, changes


async def balances(d: Any, n: int) -> dict[str, Decimal] | None:
    """Every customer's balance in the deployment's PostgreSQL, once it holds ``n`` of them."""
    rows = await d.fetch("SELECT customer_id, balance FROM customer_balances")
    return {r["customer_id"]: r["balance"] for r in rows} if len(rows) >= n else None


async def exact(d: Any, expected: dict[str, Decimal]) -> dict[str, Decimal] | None:
    """The balances, once they are exactly ``expected`` (for ``wait_for``)."""
    got = await balances(d, len(expected))
    return got if got == expected else None


async def tier_changes_stored(d: Any) -> list[str]:
    """The change ids of the tier_changes table (a primary key: a repeat cannot be there)."""
    return [r["change_id"] for r in await d.fetch("SELECT change_id FROM tier_changes")]


async def tier_changes_sent(d: Any) -> set[str]:
    """The change ids on the tier-changes topic up to its end offsets. A batch replayed after a
    crash sends its changes again with the same ids; the set is what consumers act on."""
    on_topic = await d.read_to_end("tier-changes")
    return {CODEC.decode(r.value, expect=TIER_CHANGE)[1]["change_id"] for r in on_topic}
