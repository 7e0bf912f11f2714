"""A table's active partitions restored from their changelogs in bulk, before Faust's recovery
reads them one event at a time (installed by
:func:`~tiering.runtime.faust_internals.restore_actives_in_bulk`): on a new machine, or a
worker that was away long, the tables are filled at the speed of a plain consumer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from tiering.runtime import faust_internals
from tiering.wire.kafka_clients import KafkaClientOptions

log = logging.getLogger(__name__)

#: below this many records to restore in all, Faust's own recovery is as quick as a consumer
BULK_FROM = 10_000
#: records per fetch, and so at most per ``WriteBatch``
FETCH_RECORDS = 10_000
#: Faust gives the step this runs in its ``broker_request_timeout`` and stops its recovery
#: for good past it: restore in bulk for this share of it, and leave the rest to Faust
SHARE_OF_TIMEOUT = 0.6
#: seconds between two progress lines in the log
PROGRESS_EVERY = 10.0


class BulkRestore:
    """What :func:`~tiering.runtime.faust_internals.restore_actives_in_bulk` calls."""

    def __init__(
        self,
        kafka: KafkaClientOptions,
        budget_s: float,
        applied: Callable[[str, int], None],
    ) -> None:
        self._kafka = kafka
        self._budget_s = budget_s
        #: ``applied(table name, records)``
        self._applied = applied

    async def __call__(self, spans: dict[Any, dict[Any, tuple[int | None, int]]]) -> dict[Any, int]:
        """``{table: {tp: (last offset applied or None, highwater)}}`` → the last offset
        restored per tp (only those it restored anything of)."""
        missing = {
            table: {tp: (-1 if last is None else last, hw) for tp, (last, hw) in tps.items()}
            for table, tps in spans.items()
        }
        total = sum(hw - last for tps in missing.values() for last, hw in tps.values())
        if total < BULK_FROM:
            return {}
        deadline = time.monotonic() + self._budget_s
        reached: dict[Any, int] = {}
        consumer = AIOKafkaConsumer(
            **self._kafka,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # a start compacted away: from the first one kept
            max_partition_fetch_bytes=8 * 1024**2,
            fetch_max_bytes=64 * 1024**2,
        )
        try:
            await consumer.start()
            for table, tps in missing.items():
                # aiokafka's own TopicPartition (Faust's TP is a tuple of the same shape)
                todo = {
                    TopicPartition(tp.topic, tp.partition): span
                    for tp, span in tps.items()
                    if span[1] > span[0]
                }
                if todo:
                    await self._restore(consumer, table, todo, deadline, reached)
        except Exception as exc:  # Faust's recovery does the rest, one event at a time
            log.warning("restoring in bulk stopped (%s): Faust restores the rest", exc)
        finally:
            await consumer.stop()
        return reached

    async def _restore(
        self,
        consumer: AIOKafkaConsumer,
        table: Any,
        todo: dict[TopicPartition, tuple[int, int]],
        deadline: float,
        reached: dict[Any, int],
    ) -> None:
        """``todo``: tp → (last offset applied, highwater); each tp's records after the one
        and up to the other, into the table's database of the partition."""
        records = sum(hw - last for last, hw in todo.values())
        log.info("restoring %s from its changelog in bulk: %d records", table.name, records)
        started = last_said = time.monotonic()
        done = 0
        consumer.assign(list(todo))
        for tp, (last, _) in todo.items():
            consumer.seek(tp, last + 1)
        while todo and time.monotonic() < deadline:
            fetched = await consumer.getmany(*todo, timeout_ms=1000, max_records=FETCH_RECORDS)
            for tp, messages in fetched.items():
                highwater = todo[tp][1]
                kept = [(m.key, m.value) for m in messages if m.offset <= highwater]
                if kept:
                    offset = min(messages[-1].offset, highwater)
                    await asyncio.to_thread(
                        faust_internals.restore_local, table, tp.partition, kept, offset
                    )
                    reached[tp] = offset
                    done += len(kept)
                    self._applied(table.name, len(kept))
            for tp in list(todo):
                if await consumer.position(tp) > todo[tp][1]:
                    del todo[tp]
            if time.monotonic() - last_said >= PROGRESS_EVERY:
                last_said = time.monotonic()
                log.info("restoring %s in bulk: %d of %d records", table.name, done, records)
        elapsed = time.monotonic() - started
        if todo:
            log.warning(
                "restored %d records of %s in bulk in %.1fs; Faust restores the rest",
                done,
                table.name,
                elapsed,
            )
        else:
            log.info(
                "restored %s in bulk: %d records in %.1fs (%.0f/s)",
                table.name,
                done,
                elapsed,
                done / max(elapsed, 1e-3),
            )
