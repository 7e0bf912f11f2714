"""Every place the service relies on faust-streaming's private attributes or undocumented
behaviour, in one module. ``pyproject.toml`` pins the release they were checked against
(0.15.3); ``tests/unit/runtime/test_faust_internals.py`` fails, naming the attribute, when an
upgrade changes one of them. Nothing else in the service reaches into Faust's internals.

1. **Resume order at the end of a rebalance.** Faust 0.15 (``Recovery._resume_streams``)

   a. resumes fetching the stream partitions (``consumer.resume_partitions``),
   b. seeks them to their committed offsets and resets its read offsets (``perform_seek``,
      which waits on the broker), then
   c. resumes flow control, which empties every stream buffer (``flow_control.resume()``).

   While (b) waits, the fetcher already hands messages of the resumed partitions to the
   streams and raises Faust's read offset past them; (c) then throws those messages away, and
   when they are fetched again Faust drops them as already read. They are never processed nor
   acknowledged: the partition's committed offset stops there for good, or Faust's gap
   handling commits past them, and their postings never reach the balances (seen in 3 of 83
   restarts of a worker killed mid-stream; none in 61 with this fix).

   :func:`resume_after_buffers_emptied` keeps the stream partitions paused through (b) and (c)
   and resumes them right after the buffers are emptied, in the same synchronous call, so
   every message Faust hands over comes from the committed offset with a read offset that
   agrees. Outside a rebalance nothing changes. It is installed from the
   ``on_rebalance_complete`` signal, which ``_resume_streams`` sends before (a).

2. **Partitions nobody has committed yet are read from their start again.** Faust drops what
   the fetcher hands over for a partition it holds paused (while a rebalance ends, an empty set of
   active partitions even fetches *every* partition), trusting the seek to the committed offsets
   that follows to fetch it again. aiokafka's ``seek_to_committed`` leaves a partition with no
   committed offset where the fetcher left it, past what was dropped: a worker killed before its
   first commit and started again lost those messages for good (seen in 3 of 14 restarts of the
   exactly-once test). :func:`seek_uncommitted_to_start` seeks such stream partitions to their
   beginning, which is where ``consumer_auto_offset_reset="earliest"`` starts them anyway.
   Changelog partitions are left to Faust's recovery, which seeks them itself. And since fix 1
   holds the stream partitions paused in Faust until after that seek, what the fetcher handed
   over *after* the seek was dropped too (postings sent as a restored worker became healthy
   were lost): the seek pauses them in aiokafka as well, which then neither fetches nor hands
   them over, and fix 1 resumes them in both.

3. **A batch's states into a table's local store, and back.** The batch cycle writes the
   changelog itself (a batch spans partitions; Faust's ``table[key] = value`` takes the
   partition from the event it believes current) and then the local store, ``Table.data``.
   The memory store remembers each key's partition in ``_key_partition`` so that it can drop
   the key when the partition is reassigned; :func:`write_local` fills it as Faust would.
   Faust's RocksDB store (one database per partition, ``_dbs``) has the same trap for writes
   *and* reads (``_set``/``_get`` use the current event's partition): :func:`write_local`
   writes each partition's states to that partition's database in one ``WriteBatch``, together
   with the changelog offset they reach under Faust's ``offset_key`` (what its recovery reads
   to replay only the tail), and :func:`read_local` looks a key up in the databases held.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any

from aiokafka import TopicPartition
from faust.stores.rocksdb import Store as RocksDBStore

log = logging.getLogger(__name__)

#: ``(dotted class, attribute)`` this module relies on; the guard test checks each one
RELIED_ON = (
    ("faust.stores.memory.Store", "_key_partition"),
    ("faust.tables.recovery.Recovery", "_resume_streams"),
    ("faust.transport.consumer.Consumer", "resume_partitions"),
    ("faust.transport.consumer.Consumer", "assignment"),
    ("faust.App", "flow_control"),
    ("faust.App", "rebalancing"),
    ("faust.App", "on_rebalance_complete"),
    ("mode.utils.queues.FlowControlEvent", "resume"),
    ("faust.transport.consumer.ThreadDelegateConsumer", "_thread"),
    ("faust.transport.drivers.aiokafka.AIOKafkaConsumerThread", "seek_to_committed"),
    ("faust.transport.drivers.aiokafka.AIOKafkaConsumerThread", "_ensure_consumer"),
    ("faust.transport.drivers.aiokafka.AIOKafkaConsumerThread", "call_thread"),
    ("faust.transport.drivers.aiokafka.AIOKafkaConsumerThread", "_consumer"),
    ("faust.transport.drivers.aiokafka.AIOKafkaConsumerThread", "thread_loop"),
    ("faust.tables.manager.TableManager", "changelog_topics"),
    ("faust.stores.rocksdb.Store", "_dbs"),
    ("faust.stores.rocksdb.Store", "_db_for_partition"),
    ("faust.stores.rocksdb.Store", "offset_key"),
    ("faust.stores.rocksdb.Store", "persisted_offset"),
    ("faust.tables.base.Collection", "apply_changelog_batch"),
)

#: the key under which Faust's RocksDB store keeps a partition's changelog offset
ROCKSDB_OFFSET_KEY: bytes = RocksDBStore.offset_key

#: Faust's RocksDB store, through rocksdict, sized for one worker holding tens of partitions
#: (Faust's defaults are a 2 GiB block cache and 3 x 64 MiB memtables per database)
ROCKSDB_OPTIONS = {
    "driver": "rocksdict",
    "write_buffer_size": 4 * 1024**2,
    "max_write_buffer_number": 2,
    "block_cache_size": 8 * 1024**2,
    "bloom_filter_size": 10,
}

#: the order of the calls in ``Recovery._resume_streams`` that the fix reorders
RESUME_STREAMS_ORDER = (
    "on_rebalance_complete.send()",
    "consumer.resume_partitions(",
    "consumer.perform_seek()",
    "app.flow_control.resume()",
)

_MARK = "_tiering_resume_deferred"
_SEEK_MARK = "_tiering_seeks_uncommitted_to_start"


def resume_after_buffers_emptied(app: Any) -> None:
    """Wrap ``app.consumer.resume_partitions`` and ``app.flow_control.resume`` (once)."""
    consumer, flow_control = app.consumer, app.flow_control
    if getattr(consumer, _MARK, None) is not None:
        return
    resume_partitions = consumer.resume_partitions
    resume_flow = flow_control.resume
    deferred: set[Any] = set()
    setattr(consumer, _MARK, deferred)

    def deferring_resume_partitions(tps: Any) -> None:
        if not app.rebalancing:
            resume_partitions(tps)
            return
        deferred.clear()
        deferred.update(tps)
        log.debug("resuming %d partitions once the stream buffers are emptied", len(deferred))

    def resume_then_partitions() -> None:
        resume_flow()  # empties the stream buffers
        if deferred:
            held = set(consumer.assignment())
            resuming = {tp for tp in deferred if tp in held}
            resume_partitions(resuming)
            _resume_fetching(consumer, resuming)
            deferred.clear()

    consumer.resume_partitions = deferring_resume_partitions
    flow_control.resume = resume_then_partitions


def _aiokafka_tps(consumer: Any, tps: Iterable[Any]) -> list[TopicPartition]:
    """Faust's ``TP``s as aiokafka's, those ``consumer`` (aiokafka's) holds."""
    assigned = consumer.assignment()
    found = (TopicPartition(tp.topic, tp.partition) for tp in tps)
    return [tp for tp in found if tp in assigned]


def _resume_fetching(consumer: Any, tps: set[Any]) -> None:
    """Resume ``tps`` in aiokafka too, in the consumer thread's loop (its futures live there);
    no-op without Faust's consumer thread."""
    thread: Any = getattr(consumer, "_thread", None)
    fetching = getattr(thread, "_consumer", None)
    if fetching is None or not tps:
        return
    thread.thread_loop.call_soon_threadsafe(lambda: fetching.resume(*_aiokafka_tps(fetching, tps)))


async def seek_committed_or_start(
    consumer: Any, changelogs: Collection[str], held: Iterable[Any] = ()
) -> dict[Any, Any]:
    """On aiokafka's ``consumer``: hold the stream partitions Faust holds paused (``held``)
    paused in aiokafka too, then every assigned partition to its committed offset, and each
    stream partition without one (or at 0) to its beginning. Returns the committed offsets."""
    holding = _aiokafka_tps(consumer, held)
    if holding:
        consumer.pause(*holding)
    committed: dict[Any, Any] = await consumer.seek_to_committed()
    fresh = [
        tp
        for tp, offset in committed.items()
        if (offset is None or offset <= 0) and tp.topic not in changelogs
    ]
    if fresh:
        # to an offset at once: seek_to_beginning would leave the position unset while it
        # resets, and Faust's livelock detector asserts on an unset position
        starts = await consumer.beginning_offsets(fresh)
        for tp in fresh:
            consumer.seek(tp, starts[tp])
    return committed


def seek_uncommitted_to_start(app: Any) -> None:
    """Replace the consumer thread's ``seek_to_committed`` with
    :func:`seek_committed_or_start` (once)."""
    thread = app.consumer._thread
    if getattr(thread, _SEEK_MARK, False):
        return
    setattr(thread, _SEEK_MARK, True)

    async def seek_to_committed() -> dict[Any, Any]:
        consumer = thread._ensure_consumer()
        changelogs = app.tables.changelog_topics
        held = set(getattr(app.consumer, _MARK, None) or ())  # waiting for the resume fix
        result: dict[Any, Any] = await thread.call_thread(
            seek_committed_or_start, consumer, changelogs, held
        )
        return result

    thread.seek_to_committed = seek_to_committed


def on_changelog_applied(table: Any, applied: Callable[[int], None]) -> None:
    """Call ``applied(n)`` after Faust's recovery applies ``n`` changelog records to ``table``
    (``Collection.apply_changelog_batch``, called by ``Recovery`` for actives and standbys)."""
    apply = table.apply_changelog_batch

    def applying(batch: Any) -> None:
        apply(batch)
        applied(len(batch))

    table.apply_changelog_batch = applying


def store_options(kind: str) -> dict[str, Any] | None:
    """A table's ``options`` for the store ``kind`` (a new dict: Faust's store pops from it)."""
    return dict(ROCKSDB_OPTIONS) if kind == "rocksdb" else None


def _databases(table: Any) -> dict[int, Any] | None:
    """The RocksDB store's open database per partition; ``None`` for the memory store."""
    dbs: dict[int, Any] | None = getattr(table.data, "_dbs", None)
    return dbs


def read_local(table: Any, key: bytes) -> bytes | None:
    """``key``'s value in the table's local store, whatever event Faust believes current."""
    dbs = _databases(table)
    if dbs is None:
        value: bytes | None = table.get(key)
        return value
    for db in dbs.values():  # a key lives in one partition; bloom filters skip the others
        found: bytes | None = db.get(key)
        if found is not None:
            return found
    return None


#: a store's bookkeeping, beside the states in each partition's database (never in the
#: changelog): ``KEPT`` + name, and the changelog offset it was written at (``KEPT_AT``)
KEPT = b"__tiering\0kept\0"
KEPT_AT = b"__tiering\0kept-at__"
_KEPT_END = KEPT[:-1] + b"\1"
#: what ``KEPT_AT`` holds for a database Faust has written no offset to yet
_NO_OFFSET = b"-"

Kept = dict[int, list[tuple[bytes, bytes | None]]]


def write_local(
    table: Any,
    states: Iterable[tuple[bytes, bytes, int]],
    offsets: dict[int, int],
    kept: Kept | None = None,
) -> None:
    """``(key, value, partition)`` into the table's local store; with the RocksDB store, one
    ``WriteBatch`` per partition that also stores ``offsets[partition]``, the changelog offset
    the partition's database now reflects, and the partition's ``kept`` bookkeeping changes
    (``(name, value)``, None deletes) marked as matching that offset."""
    data = table.data
    if _databases(table) is None:
        key_partition = getattr(data, "_key_partition", None)
        for key, value, partition in states:
            data[key] = value
            if key_partition is not None:  # lets the memory store drop it with the partition
                key_partition[key] = partition
        return
    import rocksdict  # only with the RocksDB store

    batches: dict[int, Any] = {}
    for key, value, partition in states:
        batch = batches.get(partition)
        if batch is None:
            batch = batches[partition] = rocksdict.WriteBatch(raw_mode=True)
        batch.put(key, value)
    for partition, entries in (kept or {}).items():
        batch = batches.setdefault(partition, rocksdict.WriteBatch(raw_mode=True))
        for name, kept_value in entries:
            if kept_value is None:
                batch.delete(KEPT + name)
            else:
                batch.put(KEPT + name, kept_value)
    for partition, batch in batches.items():
        if partition in offsets:
            offset = str(offsets[partition]).encode()
            batch.put(ROCKSDB_OFFSET_KEY, offset)
            batch.put(KEPT_AT, offset)
        else:  # states without their offset: what is kept no longer matches for sure
            batch.delete(KEPT_AT)
        data._db_for_partition(partition).write(batch)


def read_kept(table: Any, partition: int) -> list[tuple[bytes, bytes]] | None:
    """The bookkeeping kept in ``partition``'s database, or None: with the memory store, or
    when it does not match the states (Faust's recovery or a standby copy has written the
    database since: the offset it stores differs from the one the bookkeeping was kept at)."""
    if _databases(table) is None:
        return None
    db = table.data._db_for_partition(partition)
    if db.get(KEPT_AT) != (db.get(ROCKSDB_OFFSET_KEY) or _NO_OFFSET):
        return None
    found: list[tuple[bytes, bytes]] = []
    for key, value in db.items(from_key=KEPT):
        if not key.startswith(KEPT):
            break
        found.append((key[len(KEPT) :], value))
    return found


def replace_kept(table: Any, partition: int, entries: Iterable[tuple[bytes, bytes]]) -> None:
    """Replace everything kept in ``partition``'s database by ``entries``, marked as matching
    the states as they are now (no-op with the memory store)."""
    if _databases(table) is None:
        return
    import rocksdict

    db = table.data._db_for_partition(partition)
    batch = rocksdict.WriteBatch(raw_mode=True)
    batch.delete_range(KEPT, _KEPT_END)
    for name, value in entries:
        batch.put(KEPT + name, value)
    batch.put(KEPT_AT, db.get(ROCKSDB_OFFSET_KEY) or _NO_OFFSET)
    db.write(batch)


def scan_local(table: Any, partitions: Collection[int]) -> Iterator[tuple[bytes, bytes]]:
    """Every ``(key, state)`` of ``partitions`` in the table's local store (with the memory
    store, of every partition held)."""
    if _databases(table) is None:
        yield from table.data.items()
        return
    for partition in partitions:
        for key, value in table.data._db_for_partition(partition).items():
            if key != ROCKSDB_OFFSET_KEY and not key.startswith(b"__tiering\0"):
                yield key, value
