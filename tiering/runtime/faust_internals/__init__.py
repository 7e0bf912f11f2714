"""Every place the service relies on faust-streaming's private attributes or undocumented
behaviour, in one package. ``pyproject.toml`` pins the release they were checked against
(0.15.3); ``tests/unit/runtime/test_faust_internals.py`` fails, naming the attribute, when an
upgrade changes one of them. Nothing else in the service reaches into Faust's internals.

1. :mod:`.rebalance`: two fixes to the end of a rebalance, without which postings were lost
   for good (the stream partitions resume only once Faust has emptied its stream buffers;
   partitions nobody has committed yet are read again from their start).
2. :mod:`.stores`: a batch's states into the partition's own database of a table's local
   store, and back, with the changelog offset they reach and the bookkeeping kept beside them.
3. :mod:`.recovery`: Faust's recovery of the tables, counted, and on a cold start done in
   bulk before Faust reads what is left one event at a time.
4. :mod:`.intake`: the input topics' records taken from Faust's fetcher in batches, past its
   per-message path, and their offsets committed the way Faust commits; and the consumer's
   fetches made prompt.
5. :mod:`.reconnects`: backoff with jitter between aiokafka's attempts to connect to a broker
   that did not answer, for every client of the process, each attempt told to the process's
   Kafka outage.
6. :mod:`.leaderless`: an idempotent producer's batch waits for its partition's leader through
   an outage of any length instead of failing after the request timeout.
"""

from tiering.runtime.faust_internals.intake import Records, commit, fetch_promptly, take_batches
from tiering.runtime.faust_internals.leaderless import hold_batches_without_leader
from tiering.runtime.faust_internals.rebalance import (
    RESUME_STREAMS_ORDER,
    resume_after_buffers_emptied,
    seek_committed_or_start,
    seek_uncommitted_to_start,
)
from tiering.runtime.faust_internals.reconnects import back_off_reconnects
from tiering.runtime.faust_internals.recovery import (
    BulkRestorer,
    on_changelog_applied,
    restore_actives_in_bulk,
)
from tiering.runtime.faust_internals.stores import (
    KEPT,
    KEPT_AT,
    ROCKSDB_OFFSET_KEY,
    ROCKSDB_OPTIONS,
    Kept,
    read_kept,
    read_local,
    replace_kept,
    restore_local,
    scan_local,
    store_options,
    write_local,
)

#: ``(dotted class, attribute)`` this package relies on; the guard test checks each one
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
    ("faust.tables.manager.TableManager", "recovery"),
    ("faust.tables.recovery.Recovery", "_build_offsets"),
    ("faust.tables.recovery.Recovery", "tp_to_table"),
    ("faust.tables.recovery.Recovery", "active_highwaters"),
    ("faust.transport.consumer.Consumer", "_getmany"),
    ("faust.transport.consumer.Consumer", "_wait_next_records"),
    ("faust.transport.consumer.Consumer", "_commit_offsets"),
    ("faust.transport.consumer.Consumer", "flow_active"),
    ("faust.App", "consumer_generation_id"),
    ("faust.transport.drivers.aiokafka.AIOKafkaConsumerThread", "_create_worker_consumer"),
    ("aiokafka.AIOKafkaConsumer", "_fetch_max_wait_ms"),
    ("aiokafka.client.AIOKafkaClient", "_get_conn"),
    ("aiokafka.producer.message_accumulator.MessageAccumulator", "_batch_ttl"),
    ("aiokafka.producer.message_accumulator.MessageAccumulator", "_txn_manager"),
)

__all__ = [
    "KEPT",
    "KEPT_AT",
    "RELIED_ON",
    "RESUME_STREAMS_ORDER",
    "ROCKSDB_OFFSET_KEY",
    "ROCKSDB_OPTIONS",
    "BulkRestorer",
    "Kept",
    "Records",
    "back_off_reconnects",
    "commit",
    "fetch_promptly",
    "hold_batches_without_leader",
    "on_changelog_applied",
    "read_kept",
    "read_local",
    "replace_kept",
    "restore_actives_in_bulk",
    "restore_local",
    "resume_after_buffers_emptied",
    "scan_local",
    "seek_committed_or_start",
    "seek_uncommitted_to_start",
    "store_options",
    "take_batches",
    "write_local",
]
