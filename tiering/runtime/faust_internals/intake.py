"""Batches straight from the consumer Faust owns, past its per-message path.

Faust's fetcher (``Consumer._drain_messages``) turns every record into a message, awaits the
conductor once per message in a call that starts two tasks, queues the message for an agent's
stream, which wraps it in an event and hands it over one at a time: that path, not the policy,
was most of the worker's time. :func:`take_batches` wraps ``Consumer._getmany``, where the
fetcher receives what aiokafka fetched, per partition, and takes out the records of the
service's input topics: they go to ``handle`` as one batch, and the offsets past them are
committed through :func:`commit` once the batch is stored. What is left (the tables'
changelogs, in recovery and on standby copies) goes on through Faust as before.

Faust builds its consumer to wait up to 1.5 s (``fetch_max_wait_ms``, not configurable) for
data on the partitions of a fetch in flight; aiokafka sends the next fetch only when that one
returns, so a posting on a partition left out of it waited up to 1.5 s too: the p50 from
posting to TierChange at 1,000 postings/s was 1.4 s. :func:`fetch_promptly` sets a shorter
wait before the consumer starts.

Faust still owns the consumer: the group, the assignment, pausing partitions while their tables
recover, seeking to the committed offsets when a rebalance ends, starting and stopping. A batch
is handled only when the consumer's flow is active and the group generation is the one it was
fetched in; otherwise it is dropped, as Faust drops messages then, and fetched again from the
committed offsets Faust seeks to before the flow resumes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any

#: records of one batch, per topic-partition (aiokafka's ``ConsumerRecord``s, in offset order)
Records = Mapping[Any, Sequence[Any]]

_MARK = "_tiering_takes_batches"
_PROMPT_MARK = "_tiering_fetches_promptly"


def take_batches(
    app: Any, topics: Collection[str], handle: Callable[[Records], Awaitable[None]]
) -> None:
    """Wrap ``app.consumer._getmany`` (once): records of ``topics`` go to ``handle``."""
    consumer = app.consumer
    if getattr(consumer, _MARK, False):
        return
    setattr(consumer, _MARK, True)
    getmany = consumer._getmany
    ours = frozenset(topics)

    async def _getmany(active_partitions: Any, timeout: float) -> Any:  # noqa: ASYNC109  (Faust's signature)
        generation = app.consumer_generation_id
        records = await getmany(active_partitions, timeout)
        if not records:
            return records
        batch = {tp: rs for tp, rs in records.items() if tp.topic in ours and rs}
        if not batch:
            return records
        rest = {tp: rs for tp, rs in records.items() if tp.topic not in ours}
        current = (
            consumer.flow_active
            and not consumer.should_stop
            and app.consumer_generation_id == generation
        )
        if active_partitions is not None:
            batch = {tp: rs for tp, rs in batch.items() if tp in active_partitions}
        if current and batch:
            await handle(batch)
        return rest

    consumer._getmany = _getmany


async def commit(app: Any, offsets: Mapping[Any, int]) -> bool:
    """Commit ``offsets`` (the next offset to read, per topic-partition) as Faust commits what
    its streams acknowledged: only partitions still assigned, and Faust's own record of the
    committed offsets kept up to date."""
    done: bool = await app.consumer._commit_offsets(offsets)
    return done


def fetch_promptly(app: Any, max_wait_ms: int) -> None:
    """Make the consumer Faust builds wait at most ``max_wait_ms`` for a fetch (once)."""
    thread = app.consumer._thread
    if getattr(thread, _PROMPT_MARK, False):
        return
    setattr(thread, _PROMPT_MARK, True)
    create = thread._create_worker_consumer

    def create_worker_consumer(transport: Any) -> Any:
        consumer = create(transport)
        consumer._fetch_max_wait_ms = max_wait_ms  # read when the consumer starts its fetcher
        return consumer

    thread._create_worker_consumer = create_worker_consumer
