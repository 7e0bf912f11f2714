"""The batch cycle: the one place that decides the order in which a batch's effects leave the
worker. Every agent runs its batches through :meth:`Checkpoint.run`.

The order is the guarantee (at-least-once delivery, exactly-once effect):

1. **look up** what the processor needs from PostgreSQL (the notifier: the directory);
2. **decide**: the processor, pure, turns the batch into rows, records and new states;
3. **write the sinks**: PostgreSQL holds the rows (one transaction; retried while it is away);
4. **send the outputs**: Kafka holds every record (tier changes, signals, notifications, dead
   letters);
5. **store the state**: the changelog holds the new states, then the local store does, with
   the bookkeeping the store keeps beside them (tier totals, deadlines);
6. **count**: the metrics add what is now stored;
7. **commit**: once every agent's part of the batch is stored, the offsets past it are
   committed (:class:`~tiering.runtime.intake.Intake`).

A crash anywhere before 7 replays the batch from the last commit: the states remember the ids
they applied (nothing counts twice), every output has a deterministic id and every sink writes
idempotently (a repeat is harmless). If a step fails, the batch's staged states are dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from tiering.processing import BatchContext, Processor
from tiering.runtime.producer import BatchProducer
from tiering.runtime.tables import StateTable
from tiering.sinks.postgres.sink import PostgresSink
from tiering.wire.inbound import Inbound


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Checkpoint:
    """Runs one agent's batches through its processor, its table, the sink and the producer."""

    def __init__(
        self,
        processor: Processor,
        table: StateTable,
        sink: PostgresSink,
        producer: BatchProducer,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.processor = processor
        self.table = table
        self.sink = sink
        self.producer = producer
        self.clock = clock

    async def run(self, batch: Sequence[Inbound]) -> None:
        """One batch, start to end, in the order that makes the service exact (see module)."""
        processor, store = self.processor, self.processor.store
        query = processor.lookup(batch)
        found = await self.sink.fetch(query) if query is not None else []
        try:
            decisions = processor.process(batch, BatchContext(self.clock(), found))
            await self.sink.write(decisions.rows)
            await self.producer.send_all(decisions.records)
            await self.table.store(store.staged(), store.kept_staged())
        except BaseException:
            store.discard()
            raise
        store.commit()
        decisions.count()
