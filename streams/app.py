"""The Faust application: topics, tables, the agents, and the HTTP pages.

Every agent handles a batch the same way (:meth:`TieringApp.run_batches`): decide, write
PostgreSQL, send the outputs and wait until Kafka has them, store the new customer states in
the table's changelog and wait again, and only then acknowledge the batch. A crash anywhere
before the acknowledgement replays the batch; the deterministic ids and idempotent sinks make
the replay harmless, and the remembered ids make it count nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import faust
from aiokafka import AIOKafkaProducer, TopicPartition
from faust.types import TableT
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from sinks.postgres import PostgresSink
from streams import metrics, topics
from streams.codec import AvroCodec
from streams.core.state_codec import decode_state
from streams.core.tiers import Tier
from streams.lag import Holding, LagMonitor
from streams.ledger_processor import Inbound, LedgerProcessor, LedgerStore
from streams.notifier_processor import NotifierProcessor, NotifierStore
from streams.profile_processor import ProfileProcessor, ProfileStore
from streams.resume_order import resume_after_buffers_emptied
from streams.settings import Settings
from streams.state import BatchStore

log = logging.getLogger(__name__)

#: events per batch: large enough to amortise a PostgreSQL round trip and a producer flush
BATCH_MAX = 2000
#: seconds a partial batch waits for more events
BATCH_WITHIN = 0.05

#: seconds an agent waits for PostgreSQL and the output producer before it gives up
OUTPUTS_TIMEOUT = 120.0
#: seconds between consumer-lag measurements
LAG_INTERVAL = 10.0

LEDGER_TABLE = "customer-ledger"
NOTIFIER_TABLE = "customer-notices"
PROFILE_TABLE = "customer-profiles"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record to produce, on the customer's own partition."""

    topic: faust.TopicT
    key: bytes | None
    value: bytes | None
    partition: int
    headers: list[tuple[str, bytes]] | None = None


class BatchProducer:
    """Produces a batch's records as one record batch per topic-partition (aiokafka's
    BatchBuilder), not one awaited send per record: the per-record cost of a Faust or aiokafka
    send was most of the worker's time. Idempotent, all in-sync replicas."""

    def __init__(self, bootstrap_servers: list[str], client_id: str) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(  # made here: aiokafka wants the running loop
            bootstrap_servers=self._bootstrap_servers,
            client_id=self._client_id,
            acks="all",
            enable_idempotence=True,
            max_batch_size=1_048_576,
            linger_ms=0,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send_all(self, outgoing: Sequence[Outgoing]) -> None:
        """Produce every record, in order per topic-partition, and wait until Kafka has them."""
        producer = self._producer
        if producer is None:
            raise RuntimeError("BatchProducer.send_all before start")
        by_tp: dict[tuple[str, int], list[Outgoing]] = {}
        for o in outgoing:
            by_tp.setdefault((o.topic.get_topic_name(), o.partition), []).append(o)
        pending: list[asyncio.Future[Any]] = []
        for (topic, partition), records in by_tp.items():
            batch = producer.create_batch()
            for o in records:
                headers = o.headers or []
                if batch.append(key=o.key, value=o.value, timestamp=None, headers=headers) is None:
                    pending.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    batch.append(key=o.key, value=o.value, timestamp=None, headers=headers)
            pending.append(await producer.send_batch(batch, topic, partition=partition))
        if pending:
            await asyncio.gather(*pending)


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

    def __init__(self, settings: Settings, *, delivery: bool = False) -> None:
        from streams.agents import LedgerAgent, NotifierAgent, ProfileAgent

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
        partitions = s.topic_partitions
        self.transactions = _raw_topic(
            self.app, s.topic(topics.DEPOSIT_TRANSACTIONS), partitions=partitions
        )
        self.tier_changes = _raw_topic(self.app, s.topic(topics.TIER_CHANGES))
        self.transactions_dlq = _raw_topic(
            self.app, s.topic(topics.dlq(topics.DEPOSIT_TRANSACTIONS))
        )
        self.behavior = _raw_topic(self.app, s.topic(topics.ONLINE_BEHAVIOR), partitions=partitions)
        self.behavior_dlq = _raw_topic(self.app, s.topic(topics.dlq(topics.ONLINE_BEHAVIOR)))
        self.signals = _raw_topic(
            self.app, topics.internal_topic(s, topics.SIGNALS), partitions=partitions
        )
        self.notifications = _raw_topic(self.app, s.topic(topics.MANAGER_NOTIFICATIONS))
        # bytes in, bytes out: Faust stores and logs them raw
        self.ledger_table = self.app.Table(
            LEDGER_TABLE, default=None, key_type=bytes, value_type=bytes, partitions=partitions
        )
        self.notifier_table = self.app.Table(
            NOTIFIER_TABLE, default=None, key_type=bytes, value_type=bytes, partitions=partitions
        )
        self.profile_table = self.app.Table(
            PROFILE_TABLE, default=None, key_type=bytes, value_type=bytes, partitions=partitions
        )
        self.ledger_store = LedgerStore(self.ledger_table.get, self.policy)
        self.profile_store = ProfileStore(self.profile_table.get)
        self.notifier_store = NotifierStore(self.notifier_table.get)
        self.producer = BatchProducer(s.bootstrap_servers, client_id=f"{s.app_id}-outputs")
        #: set once PostgreSQL and the output producer are up
        self.outputs_ready = asyncio.Event()
        self.sink = PostgresSink(
            s.database_url.get_secret_value(), s.db_schema, application_name=s.app_id
        )
        metrics.register_tier_gauges(self.ledger_store.tier_totals)
        metrics.start_at_zero((topics.DEPOSIT_TRANSACTIONS, topics.ONLINE_BEHAVIOR))

        ledger = LedgerAgent(self, LedgerProcessor(self.policy, self.codec, self.ledger_store))
        notifier = NotifierAgent(self, NotifierProcessor(self.policy, self.notifier_store))
        profile = ProfileAgent(
            self, ProfileProcessor(self.policy, self.codec, self.profile_store, self.tier_of)
        )
        for name, channel, agent in (
            ("ledger", self.transactions, ledger.run),
            ("profile", self.behavior, profile.run),
            ("notifier", self.signals, notifier.run),
        ):
            self.app.agent(channel, name=name)(self._guarded(name, agent))
        self.app.on_rebalance_complete.connect(self._on_rebalance_complete)  # type: ignore[arg-type]
        self._add_pages()
        self.app.service(self._sink_service())
        self.delivery: Any = None
        if delivery:
            self.app.service(self._delivery_service())
        self.app.service(self._lag_service())

    def _guarded(
        self, name: str, agent: Callable[[faust.StreamT], Awaitable[None]]
    ) -> Callable[[faust.StreamT], Awaitable[None]]:
        """The agent, but a failure stops the whole worker.

        Faust cancels and restarts agents on a rebalance: that is fine, the batch in hand was
        not acknowledged and is consumed again. Any other error stops the worker (exit status
        1) instead of letting Faust restart the agent past its unacknowledged batch, which
        would then be missing from the state until the next restart; a supervisor (systemd,
        Kubernetes) starts it again and it resumes from the committed offsets.
        """

        async def run(stream: faust.StreamT) -> None:
            try:
                await agent(stream)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.critical(
                    "the %s agent failed (%s): stopping the worker", name, type(exc).__name__
                )
                await self.app.crash(exc)
                raise

        run.__name__ = run.__qualname__ = f"{name}_agent"
        return run

    # --- the batch protocol ---------------------------------------------------------------

    async def run_batches(self, stream: faust.StreamT) -> AsyncIterator[list[Inbound]]:
        """Batches of the stream's messages; each is acknowledged only once the consumer of
        this generator asks for the next one, that is, once it has handled the batch."""
        # noack_take: events are acknowledged by hand, after the batch is handled.
        batches = cast(faust.Stream, stream).noack_take(BATCH_MAX, within=BATCH_WITHIN)
        async for events in batches:
            # Faust may hand over a batch before the app's services have started.
            if not self.outputs_ready.is_set():
                try:
                    await asyncio.wait_for(self.outputs_ready.wait(), OUTPUTS_TIMEOUT)
                except TimeoutError:
                    raise RuntimeError(
                        f"outputs (PostgreSQL, producer) not started in {OUTPUTS_TIMEOUT:.0f} s"
                    ) from None
            yield [
                Inbound(m.topic, m.partition, m.offset, m.key, m.value)
                for m in (e.message for e in events)
            ]
            for event in events:
                await stream.ack(event)

    async def finish_batch(
        self,
        store: BatchStore[Any],
        table: TableT[Any, Any],
        outgoing: Sequence[Outgoing],
        write: Awaitable[None] | None = None,
    ) -> None:
        """The batch protocol once the batch is decided: PostgreSQL (``write``), then the
        outputs, then the states; if any step fails the batch's staged states are dropped."""
        try:
            if write is not None:
                await write
            await self.send(outgoing)
            await self.store_states(store, table)
        except BaseException:
            store.discard()
            raise

    async def send(self, outgoing: Sequence[Outgoing]) -> None:
        """Produce and wait until Kafka has every record."""
        if outgoing:
            await self.producer.send_all(outgoing)

    async def store_states(self, store: BatchStore[Any], table: TableT[Any, Any]) -> None:
        """Write the batch's customer states to the changelog, wait until Kafka has them, then
        to the local store, and tell the store they are kept.

        Not through Faust's ``table[key] = value``: that buffers the changelog record behind the
        batch's acknowledgement, and takes its partition from whichever event Faust thinks is
        current, while a batch spans many partitions and customers.
        """
        staged = store.staged()
        changelog = table.changelog_topic
        await self.send(
            [Outgoing(changelog, key, value, partition) for key, value, partition in staged]
        )
        data = table.data
        key_partition = getattr(data, "_key_partition", None)
        for key, value, partition in staged:
            data[key] = value
            if key_partition is not None:  # lets the memory store drop it when the partition goes
                key_partition[key] = partition
        store.commit()

    def tier_of(self, customer_id: str) -> Tier:
        """The customer's tier in the ledger (held here: the topics are co-partitioned); a
        customer with no posting yet holds nothing, which §3 places in ORDINARY."""
        raw = self.ledger_table.get(customer_id.encode())
        tier = decode_state(raw).tier if raw is not None else None
        return tier if tier is not None else Tier.ORDINARY

    # --- rebalancing ----------------------------------------------------------------------

    async def _on_rebalance_complete(
        self, sender: Any, *args: Any, signal: Any = None, **kwargs: Any
    ) -> None:
        # sent before Faust resumes the stream partitions: in time to reorder that (see module)
        resume_after_buffers_emptied(self.app)
        name = self.transactions.get_topic_name()
        held = {tp.partition for tp in self.app.assignor.assigned_actives() if tp.topic == name}
        started = time.perf_counter()
        customers = self.ledger_store.rebuild(list(self.ledger_table.data.items()), held)
        log.info(
            "holding partitions %s of %s: %d customers, recounted in %.2fs",
            sorted(held),
            name,
            customers,
            time.perf_counter() - started,
        )
        self.ready = True

    # --- services and pages ---------------------------------------------------------------

    def _sink_service(self) -> Any:
        sink, producer, ready = self.sink, self.producer, self.outputs_ready

        class Outputs(faust.Service):
            """PostgreSQL and the output producer: the agents wait for them (``ready``)."""

            async def on_start(self) -> None:
                await sink.start()
                log.info("outputs: PostgreSQL pool open")
                await producer.start()
                log.info("outputs: producer started; ready")
                ready.set()

            async def on_stop(self) -> None:
                ready.clear()
                await producer.stop()
                await sink.stop()

        return Outputs()

    def _lag_service(self) -> Any:
        s = self.settings
        internal = {topics.internal_topic(s, n): n for n in topics.INTERNAL_TOPICS}
        monitor = LagMonitor(
            s.bootstrap_servers,
            label_of=lambda topic: internal.get(topic) or topic.removeprefix(s.topic_prefix),
        )
        faust_topics = {
            self.transactions.get_topic_name(),
            self.behavior.get_topic_name(),
            self.signals.get_topic_name(),
        }
        tiering = self

        def held_by_faust() -> list[TopicPartition]:
            return [
                TopicPartition(tp.topic, tp.partition)
                for tp in tiering.app.assignor.assigned_actives()
                if tp.topic in faust_topics
            ]

        def holdings() -> list[Holding]:
            found: list[Holding] = [("ledger", s.app_id, held_by_faust)]
            if tiering.delivery is not None:
                found.append(("delivery", tiering.delivery.group_id, tiering.delivery.assignment))
            return found

        class Lag(faust.Service):
            async def on_start(self) -> None:
                await monitor.start()

            async def on_stop(self) -> None:
                await monitor.stop()

            @faust.Service.timer(LAG_INTERVAL)
            async def _measure(self) -> None:
                if not tiering.ready:
                    return
                try:
                    await monitor.measure(holdings())
                except Exception as exc:  # a metric must never stop the worker
                    log.warning("consumer lag not measured: %s", type(exc).__name__)

        return Lag()

    def _delivery_service(self) -> Any:
        """Delivery in this process: its own consumer group, so tiering never waits for it."""
        from sinks.delivery import DeliveryService

        delivery = self.delivery = DeliveryService(self.settings)  # a bad channels file fails here

        class Delivery(faust.Service):
            async def on_start(self) -> None:
                await delivery.start()

            async def on_stop(self) -> None:
                await delivery.stop()

        return Delivery()

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
