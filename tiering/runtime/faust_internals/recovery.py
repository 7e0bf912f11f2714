"""Faust's recovery of the tables, counted and, on a cold start, done in bulk.

Faust's ``Recovery`` restores a table's active partitions by handing every changelog record
through its consumer, its per-event buffers and ``Collection.apply_changelog_batch``: about
7,000 records a second here, two and a half minutes for a million customers on a new machine.
:func:`restore_actives_in_bulk` lets the service read the changelog with its own consumer
first, many records per fetch into one ``WriteBatch`` per partition
(:func:`~tiering.runtime.faust_internals.stores.restore_local`), and start Faust where it
stopped; :func:`on_changelog_applied` counts what Faust itself applies (a tail, the standby
copies).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from tiering.runtime.faust_internals.stores import open_databases

log = logging.getLogger(__name__)

_BULK_MARK = "_tiering_restores_actives_in_bulk"


def on_changelog_applied(table: Any, applied: Callable[[int], None]) -> None:
    """Call ``applied(n)`` after Faust's recovery applies ``n`` changelog records to ``table``
    (``Collection.apply_changelog_batch``, called by ``Recovery`` for actives and standbys)."""
    apply = table.apply_changelog_batch

    def applying(batch: Any) -> None:
        apply(batch)
        applied(len(batch))

    table.apply_changelog_batch = applying


#: ``restore(spans)``: ``{table: {tp: (last offset applied or None, highwater)}}`` → the last
#: offset it applied per tp
BulkRestorer = Callable[[dict[Any, dict[Any, tuple[int | None, int]]]], Awaitable[dict[Any, int]]]


def restore_actives_in_bulk(app: Any, restore: BulkRestorer) -> None:
    """Let ``restore`` fill the active partitions of the tables on disk from their changelogs
    before Faust's recovery reads them one event at a time (once).

    Faust's ``Recovery`` builds the active partitions' highwaters, then the offsets it starts
    reading at (``_build_offsets``, from each database's stored offset), seeks there and
    replays up to the highwaters. Wrapped here, the build first hands ``restore`` what is
    missing (stored offset, highwater) and starts Faust where ``restore`` stopped: at the
    highwater, nothing is left for Faust. Faust gives the build ``broker_request_timeout``
    seconds and stops its recovery for good past them; ``restore`` must return well before.
    """
    recovery = app.tables.recovery
    if getattr(recovery, _BULK_MARK, False):
        return
    setattr(recovery, _BULK_MARK, True)
    build = recovery._build_offsets

    async def build_offsets(consumer: Any, tps: Any, destination: Any, title: str) -> None:
        if title == "active":
            spans: dict[Any, dict[Any, tuple[int | None, int]]] = {}
            for tp in tps:
                table = recovery.tp_to_table.get(tp)
                highwater = recovery.active_highwaters.get(tp)
                if (
                    table is not None
                    and highwater is not None
                    and open_databases(table) is not None
                ):
                    spans.setdefault(table, {})[tp] = (destination[tp], highwater)
            if spans:
                try:
                    reached = await restore(spans)
                except Exception:  # Faust's own recovery must go on: it restores it all
                    log.exception("restoring the tables in bulk failed")
                    reached = {}
                for tp, offset in reached.items():
                    destination[tp] = offset  # a Counter: update() would add
        await build(consumer, tps, destination, title)

    recovery._build_offsets = build_offsets
