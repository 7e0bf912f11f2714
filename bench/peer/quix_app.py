"""The core of the service's job as a Quix Streams application, for ``make bench``'s peer.

Runs in its own virtual environment (``.venv/peer``: Quix Streams pins a pydantic older than
the service's), so it imports of the service only what needs nothing but fastavro: the Avro
codec, the tiers and the debit types. It consumes the pre-loaded postings from
the beginning, at-least-once; decodes each with fastavro (the single-object header skipped, the
logical types off, as the worker decodes); keeps each customer's balance in Quix's RocksDB
state; produces a JSON change when the tier the balance falls in changes; and upserts every
balance into PostgreSQL with Quix's own sink. It stops by itself after ``n`` postings and prints
one JSON line: the rate from the first posting to the end of the final checkpoint, and the
process's CPU seconds over the same window.

What it does not do that the worker does: no deduplication by transaction id, no dead letters
(a bad posting stops it), no per-account balances, downgrade grace, peaks or signals, no
notifier, no tier-change rows in PostgreSQL, no metrics.
"""

from __future__ import annotations

import io
import json
import sys
import time
from typing import Any

import fastavro
import quixstreams
from quixstreams import Application
from quixstreams.sinks.community.postgresql import PostgreSQLSink

from tiering.core.tiers import classify
from tiering.ledger.postings import DEBITS
from tiering.wire.codec import (
    DEPOSIT_TRANSACTION,
    HEADER_SIZE,
    load_schema,
    without_logical_types,
)

DEBIT_TYPES = frozenset(t.value for t in DEBITS)


def main(args: dict[str, Any]) -> None:
    schema = fastavro.parse_schema(without_logical_types(load_schema(DEPOSIT_TRANSACTION)))
    bounds: list[int] = args["bounds_fen"]
    n: int = args["n"]
    app = Application(
        broker_address=args["bootstrap"],
        consumer_group=args["group"],
        auto_offset_reset="earliest",
        processing_guarantee="at-least-once",
        state_dir=args["state_dir"],
    )
    source = app.topic(args["topic"], key_deserializer="bytes", value_deserializer="bytes")
    changes = app.topic(args["out"], value_serializer="json")
    seen = 0
    window: dict[str, float] = {}

    def decode(value: bytes) -> dict[str, Any]:
        nonlocal seen
        if not seen:
            window.update(started=time.monotonic(), cpu=time.process_time())
        seen += 1
        if seen == n:
            app.stop()
        record = fastavro.schemaless_reader(io.BytesIO(value[HEADER_SIZE:]), schema, None)
        return record  # type: ignore[return-value]

    def tier_of(fen: int) -> str:
        return classify(fen, bounds).name

    def apply(posting: dict[str, Any], state: Any) -> dict[str, Any]:
        fen = int.from_bytes(posting["amount"], "big", signed=True)
        before = state.get("balance")
        after = (before or 0) + (-fen if posting["txn_type"] in DEBIT_TYPES else fen)
        state.set("balance", after)
        return {
            "customer_id": posting["customer_id"],
            "balance_fen": after,
            "previous_tier": None if before is None else tier_of(before),
            "new_tier": tier_of(after),
            "txn_id": posting["txn_id"],
        }

    sdf = app.dataframe(source).apply(decode).apply(apply, stateful=True)
    sdf.filter(lambda r: r["previous_tier"] != r["new_tier"]).to_topic(changes)
    sdf.apply(lambda r: {"customer_id": r["customer_id"], "balance_fen": r["balance_fen"]}).sink(
        PostgreSQLSink(
            host=args["pg"]["host"],
            port=args["pg"]["port"],
            dbname=args["pg"]["dbname"],
            user=args["pg"]["user"],
            password=args["pg"]["password"],
            table_name=args["table"],
            primary_key_columns=("customer_id",),
            upsert_on_primary_key=True,
            include_metadata=False,
        )
    )
    app.run()
    seconds = time.monotonic() - window["started"]
    cpu = time.process_time() - window["cpu"]
    print(
        json.dumps(
            {
                "postings": seen,
                "seconds_steady": round(seconds, 2),
                "rate_steady": round(seen / seconds),
                "cpu_seconds": round(cpu, 2),
                "rate_per_cpu_s": round(seen / cpu),
                "version": quixstreams.__version__,
                "sink": "upsert",
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
