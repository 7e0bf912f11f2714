"""``tiering demo``: a synthetic bank fed into a deployment's topics, and what the worker makes
of it, shown live."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console
from rich.live import Live

from tiering.core.bank_time import CHINA_STANDARD_TIME, DAY_MS, from_epoch_ms
from tiering.directory.links import NoLinkSecretError
from tiering.settings import Settings
from tiering.sinks.postgres.connection import NotMigratedError, connect
from tiering.tools.demo.bank import BRANCHES, SyntheticBank
from tiering.tools.demo.directory import (
    SampleLink,
    load_directory,
    sample_links,
    sample_managers,
    show_links,
)
from tiering.tools.demo.screen import Screen
from tiering.wire.codec import (
    DEPOSIT_TRANSACTION,
    MANAGER_NOTIFICATION,
    ONLINE_BEHAVIOR_EVENT,
    TIER_CHANGE,
    AvroCodec,
)
from tiering.wire.kafka_clients import kafka_client_options
from tiering.wire.topics import (
    DEPOSIT_TRANSACTIONS,
    MANAGER_NOTIFICATIONS,
    TIER_CHANGES,
    ensure_topics,
    partitions_of,
)


@dataclass(frozen=True, slots=True)
class DemoRun:
    """The command's options."""

    customers: int
    postings: int
    rate: int  #: postings per second
    follow: bool  #: keep showing after the feed, until Ctrl-C
    wait: float  #: without follow: seconds to wait for every customer to be placed
    seed: int | None
    #: only load the managers' directory and print the sign-in links
    prepare_only: bool = False


class DemoNotReadyError(RuntimeError):
    """With ``prepare_only``: the directory or the links could not be made (the message says
    what to do)."""


async def run_demo(settings: Settings, demo: DemoRun) -> None:
    console = Console()
    links = await prepare(settings, console, strict=demo.prepare_only)
    if demo.prepare_only:
        return
    codec = AvroCodec()
    await ensure_topics(settings)
    now_ms = time.time_ns() // 1_000_000
    run = f"D{now_ms // 1000 % 10**7:07d}"
    bank = SyntheticBank(demo.customers, run, now_ms - 60 * DAY_MS, now_ms, demo.seed)
    first_day = from_epoch_ms(bank.start_ms).astimezone(CHINA_STANDARD_TIME).date()
    if not await _store_risk_levels(settings, bank.risk_levels(), first_day):
        console.print(
            "[yellow]No risk profiles stored (is PostgreSQL migrated?): "
            "proposals will name only the lowest-risk products."
        )
    openings = list(bank.opening_balances())
    feed = bank.feed(demo.postings)
    screen = Screen(console, demo.customers, {r["txn_id"] for r in openings}, len(feed))
    consumer = await _tail(settings, (TIER_CHANGES, MANAGER_NOTIFICATIONS))
    producer = AIOKafkaProducer(
        **kafka_client_options(settings),
        linger_ms=20,
        acks="all",
        enable_idempotence=True,
    )
    await producer.start()
    try:
        with Live(screen.view(), console=console, refresh_per_second=4) as live:
            shower = asyncio.create_task(_show(settings, consumer, codec, run, screen, live))
            try:
                feeder = _Feeder(settings, producer, codec, screen)
                opening = ((DEPOSIT_TRANSACTIONS, r) for r in openings)
                await feeder.produce(screen.opening_task, opening, max(demo.rate * 5, 1000))
                await feeder.produce(screen.feed_task, feed, demo.rate)
                await _after_the_feed(demo, shower, screen, console)
            finally:
                shower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await shower
    finally:
        await producer.stop()
        await consumer.stop()
    sent = sum(n for kind, n in bank.tally.items() if kind != "declined")
    if not console.is_terminal:
        console.line()  # the live view's last line has no end there
    console.print(
        f"Demo run {run}: {demo.customers:,} customers, {sent:,} postings "
        f"({bank.tally['salary']:,} salaries, {bank.tally['declined']:,} withdrawals declined "
        f"for lack of funds); {len(screen.tiers):,} customers placed, "
        f"{screen.changes['UPGRADE']:,} upgrades, {screen.changes['DOWNGRADE']:,} downgrades, "
        f"{sum(screen.teams.values()):,} notifications.",
        soft_wrap=True,  # one line, for whoever reads the output after the run
    )
    if links:
        show_links(console, settings, links)


async def prepare(settings: Settings, console: Console, strict: bool) -> list[SampleLink]:
    """The managers' directory loaded and the sample managers' sign-in links printed, before
    the feed starts. What cannot be done is said (``strict``: raised), and the feed goes on."""
    try:
        path, loaded = await load_directory(settings)
    except (OSError, asyncpg.PostgresError, NotMigratedError) as exc:
        problem = f"no managers' directory loaded ({type(exc).__name__}: is PostgreSQL migrated?)"
        if strict:
            raise DemoNotReadyError(problem) from exc
        console.print(f"[yellow]{problem}: no manager can sign in to the inbox.")
        return []
    console.print(
        f"Managers' directory: {loaded.managers} managers, every team and a supervisor at each "
        f"of {len(BRANCHES)} branches ({', '.join(BRANCHES.values())}) and at head office "
        f"({settings.head_office_branch}), loaded from {path}",
        highlight=False,
    )
    try:
        links = await sample_links(settings)
    except NoLinkSecretError as exc:
        problem = (
            f"no sign-in links: {exc} (make demo sets one); or give a manager a token with "
            f"`tiering managers token {sample_managers(settings.head_office_branch)[1].manager_id}`"
        )
        if strict:
            raise DemoNotReadyError(problem) from exc
        console.print(f"[yellow]{problem}", highlight=False)
        return []
    show_links(console, settings, links)
    return links


async def _store_risk_levels(settings: Settings, levels: dict[str, int], assessed_on: date) -> bool:
    """Give the synthetic customers a risk assessment on ``assessed_on`` (the feed's first
    day, so valid throughout it), so proposals name products (§9)."""
    try:
        conn = await connect(settings, "tiering-demo")
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        await conn.execute(
            "INSERT INTO customer_risk_assessments (customer_id, risk_level, assessed_on) "
            "SELECT c, l, $3 FROM unnest($1::text[], $2::smallint[]) AS r(c, l) "
            "ON CONFLICT (customer_id, assessed_on) DO NOTHING",
            list(levels),
            list(levels.values()),
            assessed_on,
        )
    except asyncpg.PostgresError:
        return False
    finally:
        await conn.close()
    return True


async def _tail(settings: Settings, names: tuple[str, ...]) -> AIOKafkaConsumer:
    """A consumer at the end of ``names``: only what this run causes is shown."""
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    tps = [
        TopicPartition(settings.topic(name), p)
        for name in names
        for p in await partitions_of(settings, settings.topic(name))
    ]
    consumer.assign(tps)
    await consumer.seek_to_end(*tps)
    for tp in tps:  # resolve the end offsets now
        await consumer.position(tp)
    return consumer


async def _show(
    settings: Settings,
    consumer: AIOKafkaConsumer,
    codec: AvroCodec,
    run: str,
    screen: Screen,
    live: Live,
) -> None:
    """This run's tier changes and notifications, as they arrive, until cancelled."""
    changes_topic = settings.topic(TIER_CHANGES)
    while True:
        batches = await consumer.getmany(timeout_ms=200, max_records=1000)
        for tp, records in batches.items():
            for record in records:
                if not record.key or not record.key.decode().startswith(run):
                    continue
                if tp.topic == changes_topic:
                    screen.show_change(codec.decode(record.value, expect=TIER_CHANGE)[1])
                else:
                    screen.show_notification(
                        codec.decode(record.value, expect=MANAGER_NOTIFICATION)[1]
                    )
        live.update(screen.view())


class _Feeder:
    """Produces the synthetic records at a steady rate, advancing a progress bar."""

    def __init__(
        self, settings: Settings, producer: AIOKafkaProducer, codec: AvroCodec, screen: Screen
    ) -> None:
        self._settings = settings
        self._producer = producer
        self._codec = codec
        self._screen = screen

    async def produce(
        self, task: Any, events: Iterable[tuple[str, dict[str, Any]]], per_second: int
    ) -> None:
        progress = self._screen.progress
        started = time.monotonic()
        sent = 0
        for topic, record in events:
            schema = DEPOSIT_TRANSACTION if topic == DEPOSIT_TRANSACTIONS else ONLINE_BEHAVIOR_EVENT
            await self._producer.send(
                self._settings.topic(topic),
                key=record["customer_id"].encode(),
                value=self._codec.encode(schema, record),
            )
            sent += 1
            if sent % 200 == 0:
                progress.update(task, completed=sent)
                ahead = sent / per_second - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
        await self._producer.flush()
        progress.update(task, completed=sent)


async def _after_the_feed(
    demo: DemoRun, shower: asyncio.Task[None], screen: Screen, console: Console
) -> None:
    """Follow until Ctrl-C, or wait up to ``demo.wait`` for every customer to be placed."""
    if demo.follow:
        console.print("[bold]Feed done.[/] Showing tier changes and notifications until Ctrl-C.")
        await shower
    else:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(screen.all_placed.wait(), timeout=demo.wait)
