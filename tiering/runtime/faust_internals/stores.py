"""A batch's states into a table's local store, and back.

The batch cycle writes the changelog itself (a batch spans partitions; Faust's ``table[key] =
value`` takes the partition from the event it believes current) and then the local store,
``Table.data``. The memory store remembers each key's partition in ``_key_partition`` so that
it can drop the key when the partition is reassigned; :func:`write_local` fills it as Faust
would. Faust's RocksDB store (one database per partition, ``_dbs``) has the same trap for
writes *and* reads (``_set``/``_get`` use the current event's partition): :func:`write_local`
writes each partition's states to that partition's database in one ``WriteBatch``, together
with the changelog offset they reach under Faust's ``offset_key`` (what its recovery reads to
replay only the tail), and :func:`read_local` looks a key up in the databases held.

Beside the states, each partition's database keeps what a store derives from them (the
ledger's tier totals and grace deadlines), under keys of its own (``KEPT``) that never reach
the changelog, marked with the changelog offset it matches (``KEPT_AT``, written in the same
``WriteBatch``). Whoever else writes the database (Faust's recovery of a tail, a standby
copy, :func:`restore_local`) moves the offset without the mark: :func:`read_kept` then finds
no match, and the store counts it again from the states (:func:`scan_local`) and keeps it
anew (:func:`replace_kept`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Any

from faust.stores.rocksdb import Store as RocksDBStore

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


def store_options(kind: str) -> dict[str, Any] | None:
    """A table's ``options`` for the store ``kind`` (a new dict: Faust's store pops from it)."""
    return dict(ROCKSDB_OPTIONS) if kind == "rocksdb" else None


def open_databases(table: Any) -> dict[int, Any] | None:
    """The RocksDB store's open database per partition; ``None`` for the memory store."""
    dbs: dict[int, Any] | None = getattr(table.data, "_dbs", None)
    return dbs


def read_local(table: Any, key: bytes) -> bytes | None:
    """``key``'s value in the table's local store, whatever event Faust believes current."""
    dbs = open_databases(table)
    if dbs is None:
        value: bytes | None = table.get(key)
        return value
    for db in dbs.values():  # a key lives in one partition; bloom filters skip the others
        found: bytes | None = db.get(key)
        if found is not None:
            return found
    return None


#: the service's own keys in a partition's database, never a customer's (nor in the changelog)
_RESERVED = b"__tiering\0"
#: a store's bookkeeping, beside the states in each partition's database: ``KEPT`` + name, and
#: the changelog offset it was written at (``KEPT_AT``)
KEPT = _RESERVED + b"kept\0"
KEPT_AT = _RESERVED + b"kept-at__"
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
    if open_databases(table) is None:
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
    if open_databases(table) is None:
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
    if open_databases(table) is None:
        return
    import rocksdict

    db = table.data._db_for_partition(partition)
    batch = rocksdict.WriteBatch(raw_mode=True)
    batch.delete_range(KEPT, _KEPT_END)
    for name, value in entries:
        batch.put(KEPT + name, value)
    batch.put(KEPT_AT, db.get(ROCKSDB_OFFSET_KEY) or _NO_OFFSET)
    db.write(batch)


def restore_local(
    table: Any, partition: int, records: Iterable[tuple[bytes, bytes | None]], offset: int
) -> None:
    """Changelog ``records`` (``(key, value)``, None deletes) up to ``offset`` into
    ``partition``'s database, in one ``WriteBatch`` with the offset they reach, as Faust's
    recovery would write them; what the stores kept beside the states no longer matches."""
    import rocksdict

    batch = rocksdict.WriteBatch(raw_mode=True)
    for key, value in records:
        if value is None:
            batch.delete(key)
        else:
            batch.put(key, value)
    batch.put(ROCKSDB_OFFSET_KEY, str(offset).encode())
    batch.delete(KEPT_AT)
    table.data._db_for_partition(partition).write(batch)


def scan_local(table: Any, partitions: Collection[int]) -> Iterator[tuple[bytes, bytes]]:
    """Every ``(key, state)`` of ``partitions`` in the table's local store (with the memory
    store, of every partition held)."""
    if open_databases(table) is None:
        yield from table.data.items()
        return
    for partition in partitions:
        for key, value in table.data._db_for_partition(partition).items():
            if key != ROCKSDB_OFFSET_KEY and not key.startswith(_RESERVED):
                yield key, value
