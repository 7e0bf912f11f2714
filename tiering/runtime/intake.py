"""The worker's one way in: every batch the consumer fetched, split by agent (the topics an agent
reads come to it together, in one part), each part run through its agent's
:class:`~tiering.runtime.checkpoint.Checkpoint`, the agents side by side, then committed once
all of them stored theirs.

A batch is whatever the consumer has fetched when it asks: a few postings when the input is
quiet, so each is decided at once, up to ``broker_max_poll_records`` when it is busy, so the
fixed costs of a batch (a PostgreSQL transaction, a produce per topic-partition, a commit) are
shared by many.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tiering.runtime.checkpoint import Checkpoint
from tiering.runtime.faust_internals import Records
from tiering.wire.inbound import Inbound

#: seconds a batch waits for PostgreSQL and the output producer to start before it gives up
OUTPUTS_TIMEOUT = 120.0

Commit = Callable[[Mapping[Any, int]], Awaitable[object]]


class Intake:
    """Routes each fetched batch to the checkpoints of the topics it holds, then commits."""

    def __init__(
        self,
        checkpoints: Mapping[str, Checkpoint],
        outputs_ready: asyncio.Event,
        commit: Commit,
    ) -> None:
        #: checkpoint per input topic (its name in this deployment)
        self.checkpoints = checkpoints
        self._outputs_ready = outputs_ready
        self._commit = commit
        self._in_flight = asyncio.Lock()

    async def handle(self, records: Records) -> None:
        """Every agent's part of the batch, stored, then the offsets past it committed."""
        async with self._in_flight:
            await self._wait_for_outputs()
            # one part per checkpoint: two runs of one checkpoint at once would share its store
            parts: dict[int, tuple[Checkpoint, list[Inbound]]] = {}
            for tp, rs in records.items():
                checkpoint = self.checkpoints[tp.topic]
                _, part = parts.setdefault(id(checkpoint), (checkpoint, []))
                part.extend(Inbound(r.topic, r.partition, r.offset, r.key, r.value) for r in rs)
            await asyncio.gather(*(checkpoint.run(batch) for checkpoint, batch in parts.values()))
            await self._commit({tp: rs[-1].offset + 1 for tp, rs in records.items()})

    async def settled(self) -> None:
        """Once the batch in hand (if any) is stored and committed: a rebalance takes the
        partitions away only after that."""
        async with self._in_flight:
            pass

    async def _wait_for_outputs(self) -> None:
        # the consumer may fetch before the app's services have started
        if self._outputs_ready.is_set():
            return
        try:
            await asyncio.wait_for(self._outputs_ready.wait(), OUTPUTS_TIMEOUT)
        except TimeoutError:
            raise RuntimeError(
                f"outputs (PostgreSQL, producer) not started in {OUTPUTS_TIMEOUT:.0f} s"
            ) from None
