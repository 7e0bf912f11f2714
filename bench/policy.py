"""``tiering policy simulate`` at bank size: a ledger changelog of N customers (1,000,000 by
default) written straight to a throwaway deployment's topic, then the whole simulation timed
as the command runs it: reading the changelog to its end, decoding every state, re-placing
each under the candidate, and the tables and the page."""

from __future__ import annotations

import dataclasses
import random
import time
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.measure import bar, bench_deployment, console
from tiering.core.bank_time import DAY_MS
from tiering.core.money import parse_yuan
from tiering.core.policy_basis import Basis
from tiering.core.policy_file import default_policy_text, load_policy
from tiering.ledger.postings import Posting, TxnType
from tiering.ledger.rules import apply_posting
from tiering.ledger.state import encode_state
from tiering.tools.simulate.output import render_html, tables
from tiering.tools.simulate.run import run_simulation
from tiering.tools.simulate.source import changelog_topic

T0 = 1_764_000_000_000
#: the candidate: POTENTIAL from 100,000 (not 50,000), PREMIUM from 400,000 (not 500,000),
#: in force from 2025-12-05 00:00 China time, after every state's clock
CANDIDATE = "effective_from = 2025-12-05T00:00:00\n" + default_policy_text().replace(
    'POTENTIAL = "50000.00"', 'POTENTIAL = "100000.00"', 1
).replace('PREMIUM = "500000.00"', 'PREMIUM = "400000.00"', 1).replace(
    "policy_version = ", 'policy_version = "bench-candidate"\n# was: ', 1
)


def state_of(i: int, partitions: int, rng: random.Random) -> bytes:
    """A customer of 1-3 accounts at one of 40 branches; one in ten in a grace period."""
    policy, state = load_policy_once(), None
    for n in range(rng.randint(1, 3)):
        amount = rng.choice(["20000.00", "70000.00", "150000.00", "450000.00", "900000.00"])
        posting = Posting(
            txn_id=f"b{i}-{n}",
            customer_id=f"C{i:08d}",
            account_id=f"C{i:08d}-{n}",
            txn_type=TxnType.DEPOSIT,
            amount_fen=parse_yuan(amount),
            event_time_ms=T0 + n * DAY_MS,
            branch_id=f"B{i % 40:02d}",
        )
        state, _ = apply_posting(state, posting, policy, i % partitions)
    assert state is not None
    if i % 10 == 0 and state.total_fen > 0:
        out = Posting(
            txn_id=f"b{i}-out",
            customer_id=f"C{i:08d}",
            account_id=f"C{i:08d}-0",
            txn_type=TxnType.WITHDRAWAL,
            amount_fen=state.total_fen // 2,
            event_time_ms=T0 + 4 * DAY_MS,
        )
        state, _ = apply_posting(state, out, policy, i % partitions)
    return encode_state(state)


_POLICY: list[Any] = []


def load_policy_once() -> Any:
    if not _POLICY:
        _POLICY.append(load_policy())
    return _POLICY[0]


async def simulate_at_scale(customers: int) -> dict[str, Any]:
    d = bench_deployment()
    await d.prepare()
    try:
        topic = changelog_topic(d.settings)
        admin = AIOKafkaAdminClient(bootstrap_servers=d.settings.bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, d.partitions, 1)])
        finally:
            await admin.close()
        rng = random.Random(7)
        producer = AIOKafkaProducer(
            bootstrap_servers=d.settings.bootstrap_servers, linger_ms=50, max_batch_size=1 << 20
        )
        await producer.start()
        progress, task = bar(f"writing {customers:,} customers' states", customers)
        try:
            with progress:
                for i in range(customers):
                    key = f"C{i:08d}".encode()
                    value = state_of(i, d.partitions, rng)
                    await producer.send(topic, value, key=key, partition=i % d.partitions)
                    if i % 10_000 == 0:
                        progress.update(task, completed=i)
                await producer.flush()
                progress.update(task, completed=customers)
        finally:
            await producer.stop()
        progress, task = bar("simulate: reading", customers)
        started = time.monotonic()
        with progress:
            sim = await run_simulation(
                d.settings,
                CANDIDATE,
                lambda done, total: progress.update(task, completed=done, total=total),
            )
        read_and_switched = time.monotonic() - started
        tables(sim, "zh_Hans_CN")
        render_html(sim, "zh_Hans_CN")
        elapsed = time.monotonic() - started
        console.print(
            f"simulate: {sim.customers:,} customers, {sim.moved:,} would move, {elapsed:.1f} s"
        )
        return {
            "customers": sim.customers,
            "moved": sim.moved,
            "seconds": round(elapsed, 1),
            "read_and_switch_s": round(read_and_switched, 1),
        }
    finally:
        await d.drop()


def state_cost(customers: int = 2000) -> dict[str, Any]:
    """Bytes of a customer's stored state after 60 days of a retail customer's postings (a
    salary in, a few payments out, each week), on the balance basis and on the average over
    the calendar month and over the last 30 days: what the balance history costs."""
    base = load_policy_once()
    policies = {
        "balance": base,
        "adb_calendar_month": dataclasses.replace(
            base, basis=Basis(upgrade="adb", downgrade="adb", window="calendar_month")
        ),
        "adb_30_days": dataclasses.replace(
            base, basis=Basis(upgrade="adb", downgrade="adb", window="days", days=30)
        ),
    }
    out: dict[str, Any] = {"customers": customers}
    for name, policy in policies.items():
        rng = random.Random(3)
        size = 0
        for i in range(customers):
            state = None
            for n in range(60 // 7 * 4):
                credit = n % 4 == 0
                posting = Posting(
                    txn_id=f"s{i}-{n}",
                    customer_id=f"C{i}",
                    account_id=f"C{i}-0",
                    txn_type=TxnType.DEPOSIT if credit else TxnType.WITHDRAWAL,
                    amount_fen=rng.randrange(800_000, 1_500_000) if credit else 150_000,
                    event_time_ms=T0 + n * (DAY_MS * 7 // 4),
                )
                state, _ = apply_posting(state, posting, policy, 0)
            assert state is not None
            size += len(encode_state(state))
        out[name] = round(size / customers)
    console.print(
        "state per customer: " + ", ".join(f"{k} {v} B" for k, v in out.items() if k != "customers")
    )
    return out
