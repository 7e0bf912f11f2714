"""A worker never starts from tables that are not its own: another deployment's, of unknown
origin, or a database that no longer opens. Real RocksDB databases (rocksdict), no services."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rocksdict

from tiering.runtime.faust_internals import ROCKSDB_OFFSET_KEY
from tiering.runtime.local_state import MARKER, claim_data_dir
from tiering.settings import Settings


def settings(data_dir: Path, **overrides: object) -> Settings:
    fields: dict[str, object] = {"app_id": "bank-a", "topic_partitions": 8, **overrides}
    return Settings(data_dir=data_dir, **fields)


def database(path: Path, offset: bytes = b"41") -> Path:
    db = rocksdict.Rdict(str(path), options=rocksdict.Options(raw_mode=True))
    db[b"C1"] = b"state"
    db[ROCKSDB_OFFSET_KEY] = offset
    db.close()
    return path


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    found = tmp_path / "data" / "v1" / "tables"
    found.mkdir(parents=True)
    return found


def test_a_new_data_directory_is_claimed(tmp_path: Path) -> None:
    s = settings(tmp_path / "data")
    assert claim_data_dir(s, tmp_path / "data" / "v1" / "tables") == []
    assert json.loads((tmp_path / "data" / MARKER).read_text())["app_id"] == "bank-a"


def test_its_own_tables_are_kept(tables: Path) -> None:
    s = settings(tables.parents[1])
    claim_data_dir(s, tables)
    ledger = database(tables / "customer-ledger-0.db")
    assert claim_data_dir(s, tables) == []
    assert ledger.is_dir()


def test_tables_of_another_deployment_are_discarded_saying_whose(tables: Path) -> None:
    claim_data_dir(settings(tables.parents[1], app_id="bank-b"), tables)
    database(tables / "customer-ledger-0.db")
    found = claim_data_dir(settings(tables.parents[1]), tables)
    assert len(found) == 1
    assert "another deployment" in found[0]
    assert "'bank-b'" in found[0]
    assert not tables.exists()
    assert json.loads((tables.parents[1] / MARKER).read_text())["app_id"] == "bank-a"


def test_more_partitions_or_another_store_is_another_owner(tables: Path) -> None:
    claim_data_dir(settings(tables.parents[1]), tables)
    database(tables / "customer-ledger-0.db")
    found = claim_data_dir(settings(tables.parents[1], topic_partitions=16), tables)
    assert "topic_partitions 8 (this worker: 16)" in found[0]


def test_tables_of_unknown_origin_are_discarded(tables: Path) -> None:
    database(tables / "customer-ledger-0.db")
    found = claim_data_dir(settings(tables.parents[1]), tables)
    assert found == [f"it holds tables but no {MARKER}: whose they are is unknown"]
    assert not tables.exists()


def test_a_database_that_does_not_open_is_discarded_alone(tables: Path) -> None:
    s = settings(tables.parents[1])
    claim_data_dir(s, tables)
    good = database(tables / "customer-ledger-0.db")
    broken = database(tables / "customer-ledger-1.db")
    (broken / "CURRENT").write_text("MANIFEST-999999\n")  # names a manifest that is not there
    offset = database(tables / "customer-ledger-2.db", offset=b"not a number")
    found = claim_data_dir(s, tables)
    assert sorted(found) == [
        "customer-ledger-1.db does not open " + found[0].split("does not open ")[1],
        "customer-ledger-2.db holds an unreadable changelog offset",
    ]
    assert good.is_dir()
    assert not broken.exists()
    assert not offset.exists()
