"""The hook that lets a cold start restore the tables in bulk before Faust's recovery: what it
hands over, where Faust then starts reading, and that Faust's recovery goes on whatever
happens to the bulk restore."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from tiering.runtime.bulk_restore import BULK_FROM, BulkRestore
from tiering.runtime.faust_internals import restore_actives_in_bulk
from tiering.wire.kafka_clients import KafkaClientOptions


@dataclass(eq=False)  # hashable, as Faust's tables are
class Table:
    name: str
    data: Any


ON_DISK = Table("on-disk", SimpleNamespace(_dbs={}))
IN_MEMORY = Table("in-memory", {})
A0, A1, M0 = TP("a-changelog", 0), TP("a-changelog", 1), TP("m-changelog", 0)


@dataclass
class Recovery:
    """Faust's ``Recovery`` as far as the hook reaches."""

    tp_to_table: dict[TP, Any]
    active_highwaters: Counter[TP]
    built: list[tuple[str, dict[TP, Any]]] = field(default_factory=list)

    async def _build_offsets(self, consumer: Any, tps: Any, destination: Any, title: str) -> None:
        self.built.append((title, dict(destination)))


def app_with(recovery: Recovery) -> Any:
    return SimpleNamespace(tables=SimpleNamespace(recovery=recovery))


def recovery() -> Recovery:
    return Recovery({A0: ON_DISK, A1: ON_DISK, M0: IN_MEMORY}, Counter({A0: 500, A1: 40, M0: 9}))


async def test_faust_starts_reading_where_the_bulk_restore_stopped() -> None:
    rec, asked = recovery(), []

    async def restore(spans: Any) -> dict[Any, int]:
        asked.append(spans)
        return {A0: 500}

    restore_actives_in_bulk(app_with(rec), restore)
    restore_actives_in_bulk(app_with(rec), restore)  # once
    destination = Counter({A0: None, A1: 12, M0: None})
    await rec._build_offsets(None, {A0, A1, M0}, destination, "active")
    # the memory store is left to Faust; the disk store's partitions come with their span
    assert asked == [{ON_DISK: {A0: (None, 500), A1: (12, 40)}}]
    assert rec.built == [("active", {A0: 500, A1: 12, M0: None})]


async def test_standby_offsets_are_left_to_faust() -> None:
    rec, asked = recovery(), []

    async def restore(spans: Any) -> dict[Any, int]:
        asked.append(spans)
        return {}

    restore_actives_in_bulk(app_with(rec), restore)
    await rec._build_offsets(None, {A0}, Counter({A0: 3}), "standby")
    assert asked == []
    assert rec.built == [("standby", {A0: 3})]


async def test_a_failing_bulk_restore_leaves_it_all_to_faust() -> None:
    rec = recovery()

    async def restore(spans: Any) -> dict[Any, int]:
        raise OSError("disk full")

    restore_actives_in_bulk(app_with(rec), restore)
    await rec._build_offsets(None, {A0, A1}, Counter({A0: None, A1: 12}), "active")
    assert rec.built == [("active", {A0: None, A1: 12})]


async def test_a_short_tail_is_left_to_faust_without_a_consumer() -> None:
    counted: list[tuple[str, int]] = []
    # no broker listens there: a consumer would fail to start
    nowhere = KafkaClientOptions(bootstrap_servers=["127.0.0.1:1"])
    restore = BulkRestore(nowhere, 5.0, lambda t, n: counted.append((t, n)))
    spans = {ON_DISK: {A0: (None, BULK_FROM // 2 - 1), A1: (10, 10 + BULK_FROM // 2)}}
    assert await restore(spans) == {}
    assert counted == []
