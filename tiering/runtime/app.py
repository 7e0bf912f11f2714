"""The worker: one Faust app, its topics and tables, the agents of :mod:`tiering.runtime.agents`
each with its :class:`~tiering.runtime.checkpoint.Checkpoint`, the one
:class:`~tiering.runtime.intake.Intake` that feeds them batches, the services, the pages."""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from pathlib import Path
from typing import Any

import faust
from aiokafka import TopicPartition

from tiering import metrics
from tiering.delivery.service import DeliveryService
from tiering.ledger.processor import LedgerProcessor
from tiering.processing import Processor
from tiering.runtime import faust_internals
from tiering.runtime.agents import AGENTS, Parts
from tiering.runtime.bulk_restore import SHARE_OF_TIMEOUT, BulkRestore
from tiering.runtime.checkpoint import Checkpoint
from tiering.runtime.intake import Intake
from tiering.runtime.lag import Holding, LagMonitor
from tiering.runtime.local_state import claim_data_dir
from tiering.runtime.memory import RELEASE_EVERY, release_freed_memory
from tiering.runtime.producer import BatchProducer
from tiering.runtime.services import ConsumerLag, Delivery, Outputs
from tiering.runtime.tables import StateTable
from tiering.runtime.web import add_pages
from tiering.settings import Settings
from tiering.sinks.postgres.sink import PostgresSink
from tiering.wire.codec import AvroCodec
from tiering.wire.kafka_clients import faust_broker_credentials, kafka_client_options
from tiering.wire.topics import DEPOSIT_TRANSACTIONS, ONLINE_BEHAVIOR, DeploymentTopics, topic_label

log = logging.getLogger(__name__)

#: milliseconds the broker holds a fetch for data that has not come (Faust's 1,500 held a
#: posting on a partition outside the fetch in flight that long)
FETCH_MAX_WAIT_MS = 25
#: a standby copy applies the changelog to its tables every this many records per table (and
#: at a rebalance): Faust's default, 1,000, left a small deployment's copy unwritten for long
STANDBY_BUFFER = 100
#: seconds a batch may wait for PostgreSQL (an outage is waited out with the batch in hand)
#: before the consumer is taken for dead and leaves its group: Faust's 1,000 would have let a
#: 17-minute outage end in a rebalance that waits for that batch
MAX_POLL_INTERVAL = 86_400.0
#: Faust's livelock detector checks, every 2.5 s and per partition, that its own streams took
#: an event and committed within a timeout; the input topics' records go past those streams
#: (runtime/intake.py), so it cried "Stream has not started processing" for every partition
#: once a worker had lag five minutes after its start, and every 2.5 s through an outage. The
#: service's own signals say it instead: ``tiering_consumer_lag_messages`` (alert
#: TieringStalled) and the outage lines of :mod:`tiering.outages`.
LIVELOCK_TIMEOUT = 10 * 365 * 86_400.0


def faust_app(s: Settings) -> faust.App:
    return faust.App(
        s.app_id,
        broker=[f"kafka://{host}" for host in s.bootstrap_servers],
        broker_credentials=faust_broker_credentials(s),
        store=f"{s.state_store}://",
        datadir=str(s.data_dir),
        topic_partitions=s.topic_partitions,
        topic_replication_factor=s.topic_replication,
        key_serializer="raw",
        value_serializer="raw",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_commit_interval=1.0,
        # one fetch is one batch (runtime/intake.py): up to this many records when busy
        broker_max_poll_records=s.max_batch,
        # A worker that dies is noticed in seconds, and its partitions move on.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        broker_max_poll_interval=MAX_POLL_INTERVAL,
        stream_processing_timeout=LIVELOCK_TIMEOUT,
        broker_commit_livelock_soft_timeout=LIVELOCK_TIMEOUT,
        web_enabled=True,
        web_host=s.web_host,
        web_bind=s.web_host,
        web_port=s.web_port,
        # Faust's own pages would show table contents and internals: keep them off (§9).
        web_tables_enabled=False,
        table_standby_replicas=s.standby_replicas,
        consumer_group_instance_id=s.instance_id or None,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_router_enabled=False,
        web_metrics_enabled=False,
    )


async def _release_freed_memory() -> None:
    release_freed_memory()


def _count_restored(table: str, records: int) -> None:
    metrics.STATE_RESTORED.labels(table).inc(records)


class TieringApp:
    """One worker's Faust app and everything it holds."""

    def __init__(self, settings: Settings, *, delivery: bool = False) -> None:
        self.settings = settings
        self.topics = DeploymentTopics.of(settings)
        self.ready = False
        self.app = faust_app(settings)
        #: what was wrong with the data directory's tables, discarded before the start
        self.discarded = claim_data_dir(settings, Path(self.app.conf.tabledir))
        self.producer = BatchProducer(kafka_client_options(settings), f"{settings.app_id}-outputs")
        self.sink = PostgresSink(settings, application_name=settings.app_id)
        #: set once PostgreSQL and the output producer are up
        self.outputs_ready = asyncio.Event()
        self._recounting = asyncio.Lock()
        self.checkpoints = self._declare_agents()
        self.intake = Intake(
            {getattr(self.topics, t): self.checkpoints[a.name] for a in AGENTS for t in a.topics},
            self.outputs_ready,
            partial(faust_internals.commit, self.app),
        )
        faust_internals.take_batches(self.app, self.intake.checkpoints, self._handle)
        faust_internals.fetch_promptly(self.app, FETCH_MAX_WAIT_MS)
        if settings.state_store == "rocksdb":
            budget = SHARE_OF_TIMEOUT * self.app.conf.broker_request_timeout
            restore = BulkRestore(kafka_client_options(settings), budget, _count_restored)
            faust_internals.restore_actives_in_bulk(self.app, restore)
        self.delivery = DeliveryService(settings) if delivery else None  # a bad file fails here
        self._count_from_zero()
        self.app.on_rebalance_complete.connect(self._on_rebalance_complete)  # type: ignore[arg-type]
        self.app.on_partitions_revoked.connect(self._on_partitions_revoked)  # type: ignore[arg-type]
        add_pages(self.app, lambda: self.ready)
        self._start_with_app(Outputs(self.sink, self.producer, self.outputs_ready))
        if self.delivery is not None:
            self._start_with_app(Delivery(self.delivery))
        self._start_with_app(self._consumer_lag())
        self.app.timer(RELEASE_EVERY, name="release_freed_memory")(_release_freed_memory)

    def _start_with_app(self, service: faust.Service) -> None:
        # Faust starts an instance as well as a class (App._prepare_subservice); its type
        # hint names only the class.
        self.app.service(service)  # type: ignore[arg-type]

    def _declare_agents(self) -> dict[str, Checkpoint]:
        """A table, a processor and a checkpoint for each agent of ``AGENTS``, and its topic
        subscribed."""
        s = self.settings
        tables = {a.table: StateTable(self._table(a.table), self.producer) for a in AGENTS}
        parts = Parts(s.policy, AvroCodec(), self.topics, tables)
        checkpoints: dict[str, Checkpoint] = {}
        for agent in AGENTS:
            processor = agent.processor(parts)
            checkpoint = Checkpoint(processor, tables[agent.table], self.sink, self.producer)
            checkpoints[agent.name] = checkpoint
            for topic in agent.topics:
                source = self.app.topic(
                    getattr(self.topics, topic),
                    key_type=bytes,
                    value_type=bytes,
                    key_serializer="raw",
                    value_serializer="raw",
                    partitions=s.topic_partitions,
                )
                self.app.topics.add(source)
        return checkpoints

    def _table(self, name: str) -> Any:
        """A table of encoded states in the configured store, its restores counted."""
        s = self.settings
        table = self.app.Table(
            name,
            default=None,
            key_type=bytes,
            value_type=bytes,
            partitions=s.topic_partitions,
            options=faust_internals.store_options(s.state_store),
            standby_buffer_size=STANDBY_BUFFER,
        )
        faust_internals.on_changelog_applied(table, metrics.STATE_RESTORED.labels(name).inc)
        return table

    async def _handle(self, records: faust_internals.Records) -> None:
        """One fetched batch through :class:`Intake`; a failure stops the whole worker.

        A rebalance waits for the batch in hand (:meth:`_on_partitions_revoked`). Any error
        stops the worker (exit status 1) instead of letting Faust's fetcher go on past the
        batch, which would then be missing from the state until the next restart; a
        supervisor (systemd, Kubernetes) starts it again and it resumes from the committed
        offsets.
        """
        try:
            await self.intake.handle(records)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.critical("a batch failed (%s): stopping the worker", type(exc).__name__)
            await self.app.crash(exc)
            raise

    @property
    def ledger(self) -> LedgerProcessor:
        processor: Processor = self.checkpoints["ledger"].processor
        assert isinstance(processor, LedgerProcessor)
        return processor

    def _count_from_zero(self) -> None:
        metrics.register_tier_gauges(
            self.ledger.store.tier_totals, self.ledger.store.versions_in_force
        )
        metrics.start_at_zero((DEPOSIT_TRANSACTIONS, ONLINE_BEHAVIOR))
        metrics.export_marketing(self.ledger.policy)
        metrics.export_interest(self.ledger.policy)

    # --- rebalancing ----------------------------------------------------------------------

    def held(self, topic: str) -> set[int]:
        """The partitions of ``topic`` this worker holds now."""
        return {tp.partition for tp in self.app.assignor.assigned_actives() if tp.topic == topic}

    async def _on_partitions_revoked(
        self, sender: Any, *args: Any, signal: Any = None, **kwargs: Any
    ) -> None:
        # the batch in hand is stored and committed before the partitions go
        await self.intake.settled()

    async def _on_rebalance_complete(
        self, sender: Any, *args: Any, signal: Any = None, **kwargs: Any
    ) -> None:
        # sent before Faust resumes the stream partitions and seeks them: in time for both
        faust_internals.resume_after_buffers_emptied(self.app)
        faust_internals.seek_uncommitted_to_start(self.app)
        async with self._recounting:  # a rebalance during a recount waits for it
            await self._recount()
        self.ready = True

    async def _recount(self) -> None:
        """Each agent's store takes back the bookkeeping of the partitions this worker now
        holds (:meth:`StateTable.take_back`)."""
        for agent in AGENTS:
            checkpoint = self.checkpoints[agent.name]
            store = checkpoint.processor.store
            if not store.keeps_bookkeeping:
                continue
            held = self.held(getattr(self.topics, agent.reads))
            started = time.perf_counter()
            take_back = partial(checkpoint.table.take_back, store, held)
            # On disk a recount reads every customer of a partition: in a thread, so that the
            # worker's pages (and probes) still answer. Nothing writes the tables meanwhile but
            # standby copies, and a RocksDB iterator reads a snapshot; the memory store is one
            # dict that those copies write, so it is recounted here.
            on_disk = self.settings.state_store == "rocksdb"
            done = await asyncio.to_thread(take_back) if on_disk else take_back()
            metrics.STATE_RECOUNTED.labels(agent.table).inc(done.customers)
            log.info(
                "%s holds partitions %s: %d taken back as kept, %d recounted (%d customers)"
                " in %.2fs",
                agent.name,
                sorted(held),
                done.restored,
                done.recounted,
                done.customers,
                time.perf_counter() - started,
            )

    # --- consumer lag ---------------------------------------------------------------------

    def _consumer_lag(self) -> ConsumerLag:
        s = self.settings
        monitor = LagMonitor(kafka_client_options(s), label_of=lambda topic: topic_label(s, topic))
        sources = {getattr(self.topics, t) for a in AGENTS for t in a.topics}

        def held_by_faust() -> list[TopicPartition]:
            return [
                TopicPartition(tp.topic, tp.partition)
                for tp in self.app.assignor.assigned_actives()
                if tp.topic in sources
            ]

        def holdings() -> list[Holding]:
            found: list[Holding] = [("ledger", s.app_id, held_by_faust)]
            if self.delivery is not None:
                found.append(("delivery", self.delivery.group_id, self.delivery.assignment))
            return found

        return ConsumerLag(monitor, holdings, lambda: self.ready)
