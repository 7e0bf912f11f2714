"""The Faust application: topics, the ledger table, the ledger agent, and the HTTP pages.

Thin on purpose: the agent takes a batch, lets :class:`LedgerProcessor` decide, and then, in
this order, writes PostgreSQL, sends the outputs and waits until Kafka has them, stores the
new customer states in the table (its changelog), and only then acknowledges the batch. A crash
anywhere before the acknowledgement replays the batch; the deterministic ids and idempotent
sinks make the replay harmless, and the remembered txn_ids make it count nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from typing import Any, cast

import faust
from mode import CrashingSupervisor
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from sinks.postgres import PostgresSink
from streams import metrics, topics
from streams.codec import AvroCodec
from streams.core.tiers import Tier
from streams.ledger_processor import (
    BatchOutput,
    Inbound,
    LedgerProcessor,
    LedgerStore,
    direction_label,
    encode_signal,
    encode_tier_change,
)
from streams.settings import Settings

log = logging.getLogger(__name__)

#: postings per batch: large enough to amortise a PostgreSQL round trip and a producer flush
BATCH_MAX = 2000
#: seconds a partial batch waits for more postings
BATCH_WITHIN = 0.05

LEDGER_TABLE = "customer-ledger"


def _raw_topic(app: faust.App, name: str, **kwargs: Any) -> faust.TopicT:
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        **kwargs,
    )


class TieringApp:
    """One worker's Faust app and everything it holds."""

    def __init__(self, settings: Settings) -> None:
        self.settings = s = settings
        self.policy = s.policy
        self.codec = AvroCodec()
        self.ready = False
        self.app = faust.App(
            s.app_id,
            broker=[f"kafka://{host}" for host in s.bootstrap_servers],
            store="memory://",
            datadir=str(s.data_dir),
            topic_partitions=s.topic_partitions,
            topic_replication_factor=s.topic_replication,
            key_serializer="raw",
            value_serializer="raw",
            consumer_auto_offset_reset="earliest",
            producer_acks=-1,
            broker_commit_interval=1.0,
            # A worker that dies is noticed in seconds, and its partitions move on.
            broker_session_timeout=10.0,
            broker_heartbeat_interval=1.0,
            web_enabled=True,
            web_host=s.web_host,
            web_bind=s.web_host,
            web_port=s.web_port,
            # Faust's own pages would show table contents and internals: keep them off (§9).
            web_tables_enabled=False,
            web_stats_enabled=False,
            web_graph_enabled=False,
            web_router_enabled=False,
            web_metrics_enabled=False,
        )
        self.transactions = _raw_topic(
            self.app, s.topic(topics.DEPOSIT_TRANSACTIONS), partitions=s.topic_partitions
        )
        self.tier_changes = _raw_topic(self.app, s.topic(topics.TIER_CHANGES))
        self.transactions_dlq = _raw_topic(
            self.app, s.topic(topics.dlq(topics.DEPOSIT_TRANSACTIONS))
        )
        self.signals = _raw_topic(
            self.app, topics.internal_topic(s, topics.SIGNALS), partitions=s.topic_partitions
        )
        self.table = self.app.Table(
            LEDGER_TABLE,
            default=None,
            key_type=bytes,  # bytes in, bytes out: Faust stores and logs them raw
            value_type=bytes,
            partitions=s.topic_partitions,
        )
        self.store = LedgerStore(self._read_state, self.policy)
        self.processor = LedgerProcessor(self.policy, self.codec, self.store)
        self.sink = PostgresSink(
            s.database_url.get_secret_value(), s.db_schema, application_name=s.app_id
        )
        metrics.register_tier_gauges(self.store.tier_totals)

        self.app.agent(self.transactions, name="ledger", supervisor_strategy=CrashingSupervisor)(
            self._ledger_agent
        )
        self.app.on_rebalance_complete.connect(self._on_rebalance_complete)  # type: ignore[arg-type]
        self._add_pages()
        self.app.service(self.sink_service())

    # --- the table ------------------------------------------------------------------------

    def _read_state(self, key: bytes) -> bytes | None:
        value: bytes | None = self.table.get(key)
        return value

    async def _store_states(self) -> None:
        """Write the batch's customer states to the changelog, wait until Kafka has them, then
        to the local store.

        Not through Faust's ``table[key] = value``: that buffers the changelog record behind the
        batch's acknowledgement, and takes its partition from whichever event Faust thinks is
        current, while a batch spans many partitions and customers.
        """
        staged = self.store.staged()
        changelog = self.table.changelog_topic
        pending = [
            await changelog.send(key=key, value=value, partition=partition, force=True)
            for key, value, partition in staged
        ]
        if pending:
            await asyncio.gather(*pending)
        data = self.table.data
        key_partition = getattr(data, "_key_partition", None)
        for key, value, partition in staged:
            data[key] = value
            if key_partition is not None:  # lets the memory store drop it when the partition goes
                key_partition[key] = partition

    async def _on_rebalance_complete(
        self, sender: Any, *args: Any, signal: Any = None, **kwargs: Any
    ) -> None:
        name = self.transactions.get_topic_name()
        held = {tp.partition for tp in self.app.assignor.assigned_actives() if tp.topic == name}
        started = time.perf_counter()
        customers = self.store.rebuild(list(self.table.data.items()), held)
        log.info(
            "holding partitions %s of %s: %d customers, recounted in %.2fs",
            sorted(held),
            name,
            customers,
            time.perf_counter() - started,
        )
        self.ready = True

    # --- the agent ------------------------------------------------------------------------

    async def _ledger_agent(self, stream: faust.StreamT) -> None:
        # noack_take: events are acknowledged by hand, only after the batch is handled.
        batches = cast(faust.Stream, stream).noack_take(BATCH_MAX, within=BATCH_WITHIN)
        async for events in batches:
            await self.handle_batch(events)
            for event in events:
                await stream.ack(event)

    async def handle_batch(self, events: Sequence[faust.EventT]) -> None:
        now_ms = int(time.time() * 1000)
        batch = [
            Inbound(m.topic, m.partition, m.offset, m.key, m.value)
            for m in (e.message for e in events)
        ]
        out = self.processor.process(batch, now_ms)
        try:
            await self.sink.write(list(out.balances.values()), [c for _, c in out.changes], now_ms)
            await self._send(out, now_ms)
            await self._store_states()
        except BaseException:
            self.store.discard()
            raise
        self.store.commit()
        self._count(out, now_ms)

    async def _send(self, out: BatchOutput, now_ms: int) -> None:
        pending: list[Awaitable[Any]] = []
        for partition, change in out.changes:
            pending.append(
                await self.tier_changes.send(
                    key=change.customer_id.encode(),
                    value=encode_tier_change(self.codec, change, now_ms),
                    partition=partition,
                    force=True,
                )
            )
        for partition, signal in out.signals:
            pending.append(
                await self.signals.send(
                    key=signal.customer_id.encode(),
                    value=encode_signal(signal),
                    partition=partition,
                    force=True,
                )
            )
        for letter in out.dead_letters:
            pending.append(
                await self.transactions_dlq.send(
                    key=letter.source.key,
                    value=letter.source.value,
                    partition=letter.source.partition,
                    headers=letter.headers(now_ms),
                    force=True,
                )
            )
            log.warning(
                "dead letter: %s[%d]@%d reason=%s",
                letter.source.topic,
                letter.source.partition,
                letter.source.offset,
                letter.reason,
            )
        if pending:
            await asyncio.gather(*pending)

    def _count(self, out: BatchOutput, now_ms: int) -> None:
        topic = topics.DEPOSIT_TRANSACTIONS
        for outcome, n in out.outcomes.items():
            metrics.EVENTS.labels(topic, outcome).inc(n)
        for letter in out.dead_letters:
            metrics.DEAD_LETTERS.labels(topic, letter.reason).inc()
        lag = metrics.EVENT_LAG.labels(topic)
        for ms in out.lags_ms:
            lag.observe(ms / 1000)
        for tier, fen in out.inflow_fen.items():
            if fen:
                metrics.INFLOW.labels(tier.name).inc(fen / 100)
        for tier, fen in out.outflow_fen.items():
            if fen:
                metrics.OUTFLOW.labels(tier.name).inc(fen / 100)
        for _, change in out.changes:
            metrics.TIER_CHANGES.labels(*direction_label(change)).inc()
            metrics.TIER_CHANGE_LATENCY.observe(max(now_ms - change.event_time_ms, 0) / 1000)
            if change.previous_tier is not None and change.new_tier < change.previous_tier:
                metrics.CHURNED.labels(change.previous_tier.name).inc()
        for tier, n in out.emptied.items():
            metrics.CHURNED.labels(Tier(tier).name).inc(n)

    # --- services and pages ---------------------------------------------------------------

    def sink_service(self) -> Any:
        sink = self.sink

        class SinkService(faust.Service):
            async def on_start(self) -> None:
                await sink.start()

            async def on_stop(self) -> None:
                await sink.stop()

        return SinkService()

    def _add_pages(self) -> None:
        # Faust binds a page function to its view, so these are plain closures.
        @self.app.page("/metrics")
        async def metrics_page(view: Any, request: Any) -> Any:
            return view.bytes(
                generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
            )

        @self.app.page("/healthz")
        async def health_page(view: Any, request: Any) -> Any:
            if self.ready:
                return view.json({"status": "ok"})
            return view.json({"status": "starting"}, status=503)
