"""A synthetic bank for ``tiering demo``: opening balances, then a day-to-day posting feed.

Balances follow a log-normal spread, as retail deposits do: most customers ORDINARY, a
fifth POTENTIAL, a few PREMIUM, a handful HIGH_END. Postings are salaries, card spending,
transfers, interest and fees, with now and then a large deposit or withdrawal that moves a
customer across a tier bound. Event time runs over the last 60 days, so the 30-day
downgrade grace plays out within one run.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from streams.codec import DEPOSIT_TRANSACTION, TIER_CHANGE, AvroCodec
from streams.core.money import from_fen
from streams.core.tiers import Tier
from streams.settings import Settings
from streams.topics import DEPOSIT_TRANSACTIONS, TIER_CHANGES, ensure_topics, partitions_of

DAY_MS = 86_400_000
CHANNELS = ("COUNTER", "ATM", "MOBILE", "ONLINE", "AUTO")
PRODUCTS = (
    "TIME_DEPOSIT_1Y",
    "INSTALLMENT_SAVINGS",
    "NOTICE_DEPOSIT",
    "LARGE_CD",
    "SHORT_TERM_WEALTH_90D",
)
BRANCHES = tuple(f"BR{n:03d}" for n in range(1, 13))


@dataclass(slots=True)
class _Customer:
    customer_id: str
    accounts: list[str]
    balance_fen: int
    branch_id: str


class SyntheticBank:
    """Generates DepositTransaction records; deterministic for a given seed."""

    def __init__(
        self, customers: int, run: str, start_ms: int, end_ms: int, seed: int | None = None
    ) -> None:
        self.rng = random.Random(seed)
        self.run = run
        self.start_ms = start_ms
        self.end_ms = end_ms
        self._txn = 0
        self.customers = [self._customer(i) for i in range(customers)]

    def _customer(self, i: int) -> _Customer:
        rng = self.rng
        # Median ~12,000 CNY with a long tail: ~20 % above 50k, ~2 % above 500k, a few above 3M.
        balance = int(min(rng.lognormvariate(9.4, 1.9), 8_000_000) * 100)
        n_accounts = 1 + (rng.random() < 0.4) + (rng.random() < 0.15)
        cid = f"{self.run}-{i:06d}"
        return _Customer(
            cid, [f"{cid}-A{a}" for a in range(n_accounts)], balance, rng.choice(BRANCHES)
        )

    def _record(
        self, c: _Customer, account: str, txn_type: str, fen: int, at_ms: int, **extra: Any
    ) -> dict[str, Any]:
        self._txn += 1
        return {
            "txn_id": f"{self.run}-T{self._txn:09d}",
            "customer_id": c.customer_id,
            "account_id": account,
            "txn_type": txn_type,
            "amount": from_fen(fen),
            "currency": "CNY",
            "channel": extra.pop("channel", self.rng.choice(CHANNELS)),
            "branch_id": c.branch_id,
            "product_code": extra.pop("product_code", None),
            "event_time": at_ms,
        }

    def opening_balances(self) -> Iterator[dict[str, Any]]:
        for c in self.customers:
            shares = [self.rng.random() for _ in c.accounts]
            total = sum(shares)
            remaining = c.balance_fen
            for n, (account, share) in enumerate(zip(c.accounts, shares, strict=True)):
                fen = remaining if n == len(c.accounts) - 1 else int(c.balance_fen * share / total)
                remaining -= fen
                yield self._record(
                    c, account, "BALANCE_SNAPSHOT", fen, self.start_ms, channel="AUTO"
                )

    def postings(self, count: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        span = self.end_ms - self.start_ms
        for n in range(count):
            at = self.start_ms + 1 + span * n // max(count, 1)
            c = rng.choice(self.customers)
            account = rng.choice(c.accounts)
            roll = rng.random()
            if roll < 0.003:  # a windfall: a bonus, the sale of a flat, an inheritance
                size = rng.choices((60_000, 550_000, 3_200_000), weights=(70, 25, 5))[0]
                fen = size * 100 + rng.randrange(100_000_00)
                kind, extra = "DEPOSIT", {"channel": "COUNTER"}
            elif roll < 0.006 and c.balance_fen > 100_000_00:  # moving money elsewhere
                fen = int(c.balance_fen * rng.uniform(0.5, 0.95))
                kind, extra = "TRANSFER_OUT", {}
            elif roll < 0.35:  # salary, transfers from family
                fen = rng.randrange(1_000_00, 12_000_00)
                kind, extra = rng.choice(("DEPOSIT", "TRANSFER_IN")), {}
            elif roll < 0.85:  # spending, bills
                fen = min(rng.randrange(200_00, 9_000_00), max(c.balance_fen, 0))
                kind, extra = rng.choice(("WITHDRAWAL", "TRANSFER_OUT")), {}
            elif roll < 0.95:
                fen = max(c.balance_fen // 400, 1)
                kind, extra = "INTEREST", {"channel": "AUTO"}
            else:
                fen = rng.randrange(1_00, 50_00)
                kind, extra = "FEE", {"channel": "AUTO"}
            if fen <= 0:
                fen = 1_00
                kind = "DEPOSIT"
            if kind == "DEPOSIT" and rng.random() < 0.1:
                extra["product_code"] = rng.choice(PRODUCTS)
            c.balance_fen += fen if kind in ("DEPOSIT", "TRANSFER_IN", "INTEREST") else -fen
            yield self._record(c, account, kind, fen, at, **extra)


def _tier_table(counts: Counter[str], changes: Counter[str]) -> Table:
    table = Table(title="Customers per tier (from tier-changes)", expand=False)
    table.add_column("tier")
    table.add_column("customers", justify="right")
    for tier in Tier:
        table.add_row(tier.name, f"{counts[tier.name]:,}")
    table.caption = "  ".join(f"{k.lower()}: {v:,}" for k, v in sorted(changes.items()))
    return table


async def run_demo(
    settings: Settings,
    customers: int,
    postings: int,
    rate: int,
    follow: bool,
    wait: float,
    seed: int | None,
) -> None:
    console = Console()
    codec = AvroCodec()
    await ensure_topics(settings)
    now_ms = int(time.time() * 1000)
    run = f"D{now_ms // 1000 % 10**7:07d}"
    bank = SyntheticBank(customers, run, now_ms - 60 * DAY_MS, now_ms, seed)

    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    changes_topic = settings.topic(TIER_CHANGES)
    tps = [TopicPartition(changes_topic, p) for p in await partitions_of(settings, changes_topic)]
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    for tp in tps:  # resolve the end offsets now: only this run's changes are shown
        await consumer.position(tp)

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        linger_ms=20,
        acks="all",
        enable_idempotence=True,
    )
    await producer.start()

    tiers: dict[str, str] = {}
    all_placed = asyncio.Event()
    changes: Counter[str] = Counter()
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    opening = progress.add_task(
        "opening balances", total=sum(len(c.accounts) for c in bank.customers)
    )
    feed = progress.add_task("postings", total=postings)
    seen = progress.add_task("tier changes seen", total=None)

    def view() -> Group:
        return Group(progress, _tier_table(Counter(tiers.values()), changes))

    async def show_changes(live: Live) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=1000)
            for records in batches.values():
                for record in records:
                    _, change = codec.decode(record.value, expect=TIER_CHANGE)
                    if not change["customer_id"].startswith(run):
                        continue
                    tiers[change["customer_id"]] = change["new_tier"]
                    if len(tiers) == customers:
                        all_placed.set()
                    changes[change["direction"]] += 1
                    progress.advance(seen)
                    if change["direction"] != "INITIAL":
                        arrow = "[green]▲" if change["direction"] == "UPGRADE" else "[red]▼"
                        console.print(
                            f"{arrow}[/] customer …{change['customer_id'][-4:]}  "
                            f"{change['previous_tier'] or '-':>9} → {change['new_tier']:<9} "
                            f"balance {Decimal(change['balance']):>16,.2f} CNY"
                        )
            live.update(view())

    async def produce(task: Any, records: Iterator[dict[str, Any]], per_second: int) -> None:
        started = time.monotonic()
        sent = 0
        for record in records:
            await producer.send(
                settings.topic(DEPOSIT_TRANSACTIONS),
                key=record["customer_id"].encode(),
                value=codec.encode(DEPOSIT_TRANSACTION, record),
            )
            sent += 1
            if sent % 200 == 0:
                progress.update(task, completed=sent)
                ahead = sent / per_second - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
        await producer.flush()
        progress.update(task, completed=sent)

    with Live(view(), console=console, refresh_per_second=4) as live:
        shower = asyncio.create_task(show_changes(live))
        try:
            await produce(opening, bank.opening_balances(), max(rate * 5, 1000))
            await produce(feed, bank.postings(postings), rate)
            if follow:
                console.print("[bold]Feed done.[/] Showing tier changes until Ctrl-C.")
                await shower
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(all_placed.wait(), timeout=wait)
        finally:
            shower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await shower
            await producer.stop()
            await consumer.stop()
    console.print(
        f"Demo run {run}: {customers:,} customers, {postings:,} postings; "
        f"{len(tiers):,} customers placed, {changes['UPGRADE']:,} upgrades, "
        f"{changes['DOWNGRADE']:,} downgrades."
    )
