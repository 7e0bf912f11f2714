"""A store's bookkeeping kept beside the states in a partition's RocksDB database (the one
Faust's store would open, with its raw options): taken back only while it matches the states."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import rocksdict

from tiering.runtime.faust_internals import (
    ROCKSDB_OFFSET_KEY,
    read_kept,
    replace_kept,
    scan_local,
    write_local,
)


@dataclass
class Store:
    """Faust's RocksDB store as far as the door reaches: one database per partition."""

    root: Path
    _dbs: dict[int, Any] = field(default_factory=dict)

    def _db_for_partition(self, partition: int) -> Any:
        if partition not in self._dbs:
            path = str(self.root / f"p{partition}.db")
            self._dbs[partition] = rocksdict.Rdict(path, rocksdict.Options(raw_mode=True))
        return self._dbs[partition]


@dataclass
class Table:
    data: Store


@pytest.fixture
def table(tmp_path: Path) -> Iterator[Table]:
    t = Table(Store(tmp_path))
    yield t
    for db in t.data._dbs.values():
        db.close()


def test_kept_changes_are_written_with_the_states_and_read_back(table: Table) -> None:
    write_local(table, [(b"C1", b"s1", 0)], {0: 7}, {0: [(b"s", b"sum"), (b"dC1", b"9")]})
    assert read_kept(table, 0) == [(b"dC1", b"9"), (b"s", b"sum")]
    write_local(table, [(b"C1", b"s2", 0)], {0: 8}, {0: [(b"s", b"sum2"), (b"dC1", None)]})
    assert read_kept(table, 0) == [(b"s", b"sum2")]
    # the states are what a scan finds; neither the offset nor the bookkeeping is a state
    assert list(scan_local(table, [0])) == [(b"C1", b"s2")]


def test_what_faust_writes_afterwards_makes_the_kept_bookkeeping_stale(table: Table) -> None:
    write_local(table, [(b"C1", b"s1", 0)], {0: 7}, {0: [(b"s", b"sum")]})
    db = table.data._db_for_partition(0)
    # Faust's recovery or a standby copy: the records, then the offset they reach
    db.put(b"C1", b"s9")
    db.put(ROCKSDB_OFFSET_KEY, b"12")
    assert read_kept(table, 0) is None
    # counted again and kept: it matches once more, and only the new entries are there
    replace_kept(table, 0, [(b"s", b"recounted")])
    assert read_kept(table, 0) == [(b"s", b"recounted")]


def test_states_written_without_their_offset_are_never_taken_as_matching(table: Table) -> None:
    write_local(table, [(b"C1", b"s1", 0)], {0: 7}, {0: [(b"s", b"sum")]})
    write_local(table, [(b"C1", b"s2", 0)], {}, {0: [(b"s", b"sum2")]})
    assert read_kept(table, 0) is None


def test_a_database_nobody_wrote_keeps_nothing_until_a_recount(table: Table) -> None:
    assert read_kept(table, 3) is None
    replace_kept(table, 3, [(b"s", b"zero")])
    assert read_kept(table, 3) == [(b"s", b"zero")]
    table.data._db_for_partition(3).put(ROCKSDB_OFFSET_KEY, b"0")  # Faust applies a first record
    assert read_kept(table, 3) is None


def test_the_memory_store_keeps_nothing() -> None:
    data: dict[bytes, bytes] = {}
    memory = Table(data)  # type: ignore[arg-type]
    write_local(memory, [(b"C1", b"s1", 0)], {0: 1}, {0: [(b"s", b"sum")]})
    assert data == {b"C1": b"s1"}
    assert read_kept(memory, 0) is None
    assert list(scan_local(memory, [0])) == [(b"C1", b"s1")]
