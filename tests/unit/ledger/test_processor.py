"""The ledger's batch processor without Kafka: what goes to the dead-letter topic and why, and
that the postings around a bad one are still applied."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from tests.harness.records import T0, posting
from tiering.core.bank_time import DAY_MS
from tiering.core.policy_file import load_policy
from tiering.core.tiers import Tier
from tiering.ledger.processor import LedgerProcessor, OverdraftReport, count
from tiering.ledger.rows import INSERT_TIER_CHANGES, UPSERT_BALANCES
from tiering.ledger.store import LedgerStore
from tiering.processing import BatchContext
from tiering.settings import Settings
from tiering.wire.codec import DEPOSIT_TRANSACTION, TIER_CHANGE, AvroCodec
from tiering.wire.inbound import Inbound
from tiering.wire.topics import DeploymentTopics

CODEC = AvroCodec()
POLICY = load_policy()


def processor(policy=POLICY) -> tuple[LedgerProcessor, LedgerStore, dict[bytes, bytes]]:
    table: dict[bytes, bytes] = {}
    store = LedgerStore(table.get, policy)
    return LedgerProcessor(policy, CODEC, store, DeploymentTopics.of(Settings())), store, table


def commit(store: LedgerStore, table: dict[bytes, bytes]) -> None:
    for key, value, _ in store.staged():
        table[key] = value
    store.commit()


def message(
    value: bytes | None, key: bytes | None = b"C1", offset: int = 0, partition: int = 0
) -> Inbound:
    return Inbound("deposit-transactions", partition, offset, key, value)


def encoded(**kwargs) -> bytes:
    return CODEC.encode(DEPOSIT_TRANSACTION, posting(**kwargs))


def test_each_kind_of_bad_input_is_set_aside_with_its_reason() -> None:
    proc, _, _ = processor()
    good = encoded(txn_id="G1", customer_id="C1", amount="100.00")
    tier_change = CODEC.encode(
        TIER_CHANGE,
        {
            "change_id": "x",
            "customer_id": "C1",
            "previous_tier": None,
            "new_tier": "ORDINARY",
            "direction": "INITIAL",
            "balance": Decimal("1.00"),
            "trigger_event_id": "t",
            "event_time": T0,
            "decided_at": T0,
            "policy_version": "v",
        },
    )
    batch = [
        message(good, offset=0),
        message(b"\x00\x01 not avro at all", offset=1),
        message(b"\xc3\x01" + bytes(8) + good[10:], offset=2),
        message(encoded(txn_id="B3", customer_id="C1", amount="-5.00"), offset=3),
        message(encoded(txn_id="B4", customer_id="C1", amount="5.00", currency="XYZ"), offset=4),
        message(encoded(txn_id="", customer_id="C1", amount="5.00"), offset=5),
        message(encoded(txn_id="B6", customer_id="C9", amount="5.00"), offset=6),  # key C1
        message(None, offset=7),
        message(tier_change, offset=8),
        message(good[:-3], offset=9),
        message(encoded(txn_id="G2", customer_id="C1", amount="200.00"), offset=10),
    ]
    out = proc.decide(batch, now_ms=T0)
    assert [(d.source.offset, d.reason) for d in out.dead_letters] == [
        (1, "undecodable"),
        (2, "unknown_schema"),
        (3, "invalid_amount"),
        (4, "unsupported_currency"),
        (5, "missing_field"),
        (6, "key_mismatch"),
        (7, "empty_value"),
        (8, "unknown_schema"),
        (9, "undecodable"),
    ]
    assert out.outcomes == {"processed": 2, "dead_letter": 9}
    assert out.balances["C1"].balance_fen == 30_000
    headers = dict(out.dead_letters[2].headers(failed_at_ms=T0))
    assert headers["dlq.reason"] == b"invalid_amount"
    assert headers["dlq.topic"] == b"deposit-transactions"
    assert headers["dlq.partition"] == b"0"
    assert headers["dlq.offset"] == b"3"
    assert b"negative" in headers["dlq.error"]
    assert out.dead_letters[0].source.value == b"\x00\x01 not avro at all"  # the original bytes


def test_a_bug_on_one_posting_sets_it_aside_and_the_stream_goes_on(monkeypatch) -> None:
    proc, _, _ = processor()
    import tiering.ledger.processor as lp

    real = lp.apply_posting

    def flaky(state, posting, policy, partition, rates):
        if posting.txn_id == "BOOM":
            raise ZeroDivisionError("a bug")
        return real(state, posting, policy, partition, rates)

    monkeypatch.setattr(lp, "apply_posting", flaky)
    out = proc.decide(
        [
            message(encoded(txn_id="BOOM", customer_id="C1", amount="1.00")),
            message(encoded(txn_id="OK", customer_id="C1", amount="2.00"), offset=1),
        ],
        now_ms=T0,
    )
    assert [(d.reason, d.error) for d in out.dead_letters] == [
        ("processing_error", "ZeroDivisionError")
    ]
    assert out.balances["C1"].balance_fen == 200


def test_duplicates_write_nothing() -> None:
    proc, store, table = processor()
    first = encoded(txn_id="T1", customer_id="C1", amount="60000.00")
    out = proc.decide([message(first)], now_ms=T0)
    commit(store, table)
    again = proc.decide([message(first, offset=1)], now_ms=T0)
    assert again.outcomes == {"duplicate": 1}
    assert again.balances == {}
    assert again.changes == []
    assert store.staged() == []
    assert len(out.changes) == 1


def test_the_sweep_downgrades_customers_who_stay_silent() -> None:
    policy = dataclasses.replace(POLICY, downgrade_grace_ms=30 * DAY_MS)
    proc, store, table = processor(policy)
    proc.decide(
        [
            message(
                encoded(txn_id="S1", customer_id="SILENT", amount="600000.00", event_time_ms=T0),
                key=b"SILENT",
            ),
            message(
                encoded(
                    txn_id="S2",
                    customer_id="SILENT",
                    amount="200000.00",
                    txn_type="WITHDRAWAL",
                    event_time_ms=T0 + 1,
                ),
                key=b"SILENT",
                offset=1,
            ),
        ],
        now_ms=T0,
    )
    commit(store, table)
    assert store.tier_totals()[0] == [0, 0, 1, 0]
    # Another customer's posting moves the partition's stream time past SILENT's deadline.
    late = T0 + 1 + 30 * DAY_MS
    out = proc.decide(
        [
            message(
                encoded(txn_id="O1", customer_id="OTHER", amount="1.00", event_time_ms=late),
                key=b"OTHER",
                offset=2,
            )
        ],
        now_ms=late,
    )
    commit(store, table)
    silent = [c for _, c in out.changes if c.customer_id == "SILENT"]
    assert [(c.new_tier, c.event_time_ms) for c in silent] == [(Tier.POTENTIAL, late)]
    assert out.balances["SILENT"].tier == "POTENTIAL"
    assert store.tier_totals()[0] == [1, 1, 0, 0]
    # Nothing more is due: the next batch finds nothing to sweep.
    out = proc.decide(
        [
            message(
                encoded(txn_id="O2", customer_id="OTHER", amount="1.00", event_time_ms=late + 5),
                key=b"OTHER",
                offset=3,
            )
        ],
        now_ms=late,
    )
    assert [c for _, c in out.changes if c.customer_id == "SILENT"] == []


def test_an_overdraft_is_applied_counted_at_zero_and_reported_without_the_customer(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """§3: the debit is applied to the account (the core is the system of record), the row and
    the tier gauge hold the deposit balance with the overdrawn account at zero, and the anomaly
    is counted and logged where to find it, not whose it is."""
    proc, store, table = processor()
    anomalies = (
        REGISTRY.get_sample_value("tiering_ledger_anomalies_total", {"kind": "overdrawn"}) or 0.0
    )
    batch = [
        message(
            encoded(txn_id="D1", customer_id="C-77", amount="60000.00", account_id="SAV"),
            key=b"C-77",
        ),
        message(
            encoded(txn_id="D2", customer_id="C-77", amount="10.00", account_id="CUR"),
            key=b"C-77",
            offset=1,
        ),
        message(
            encoded(
                txn_id="W1",
                customer_id="C-77",
                amount="510.00",
                txn_type="WITHDRAWAL",
                account_id="CUR",
            ),
            key=b"C-77",
            partition=2,
            offset=2,
        ),
    ]
    caplog.set_level(logging.INFO, logger="tiering.ledger.processor")
    monkeypatch.setattr("tiering.ledger.processor._overdrafts", OverdraftReport())
    out = proc.decide(batch, now_ms=T0)
    assert out.overdrawn == [("deposit-transactions", 2, 2)]
    assert (out.balances["C-77"].balance_fen, out.balances["C-77"].tier) == (
        6_000_000,
        "POTENTIAL",
    )
    commit(store, table)
    assert store.tier_totals() == ([0, 1, 0, 0], [0, 6_000_000, 0, 0])
    assert caplog.records == []  # counted once the batch is stored, not when decided
    count(out, T0)
    after = REGISTRY.get_sample_value("tiering_ledger_anomalies_total", {"kind": "overdrawn"})
    assert after == anomalies + 1
    [line] = [r.getMessage() for r in caplog.records]
    assert "deposit-transactions[2]@2" in line
    for private in ("C-77", "CUR", "510", "500"):
        assert private not in line


def test_a_feed_that_overdraws_in_every_batch_is_reported_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A few lines, not one per batch: the count since the last line, once a minute."""
    caplog.set_level(logging.INFO, logger="tiering.ledger.processor")
    report = OverdraftReport()
    for second in range(0, 130, 2):  # a batch every 2 s, each with two overdrafts
        report.add([("deposit-transactions", 0, second), ("deposit-transactions", 1, 7)], second)
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(" ")[0] for line in lines] == ["2", "60", "60"]
    assert "the latest at deposit-transactions[1]@7" in lines[0]


def test_a_posting_dated_far_ahead_is_refused_and_moves_no_grace_period() -> None:
    """A posting dated 9999-12-31 would make the partition's stream time pass every deadline:
    it goes to the dead-letter topic, and a customer whose downgrade is pending keeps the tier.
    One within the allowed lead (an hour by default) of the worker's clock is applied."""
    policy = dataclasses.replace(POLICY, downgrade_grace_ms=30 * DAY_MS)
    proc, store, table = processor(policy)
    proc.decide(
        [
            message(encoded(txn_id="P1", customer_id="P", amount="600000.00"), key=b"P"),
            message(
                encoded(txn_id="P2", customer_id="P", amount="200000.00", txn_type="WITHDRAWAL"),
                key=b"P",
                offset=1,
            ),
        ],
        now_ms=T0,
    )
    commit(store, table)
    assert store.tier_totals()[0] == [0, 0, 1, 0]  # PREMIUM, its downgrade pending
    far = 253_402_214_400_000  # 9999-12-31 00:00 UTC
    soon = T0 + policy.max_event_time_lead_ms
    out = proc.decide(
        [
            message(encoded(txn_id="F1", customer_id="O", amount="1.00", event_time_ms=far), b"O"),
            message(encoded(txn_id="F2", customer_id="O", amount="1.00", event_time_ms=soon), b"O"),
        ],
        now_ms=T0,
    )
    commit(store, table)
    assert [(d.source.offset, d.reason) for d in out.dead_letters] == [(0, "event_time_in_future")]
    assert out.outcomes == {"processed": 1, "dead_letter": 1}
    assert store.stream_time[0] == soon
    assert [c for _, c in out.changes if c.customer_id == "P"] == []
    assert store.tier_totals()[0] == [1, 0, 1, 0]  # P still PREMIUM; O placed in ORDINARY


def test_a_recount_counts_only_the_partitions_held() -> None:
    proc, store, table = processor()
    for partition, (customer, amount) in enumerate(
        [("A", "10.00"), ("B", "60000.00"), ("C", "600000.00")]
    ):
        proc.decide(
            [
                message(
                    encoded(txn_id=customer, customer_id=customer, amount=amount),
                    key=customer.encode(),
                    partition=partition,
                )
            ],
            now_ms=T0,
        )
        commit(store, table)
    assert store.tier_totals() == ([1, 1, 1, 0], [1000, 6_000_000, 60_000_000, 0])
    store.hold({1, 2})
    assert store.recount(table.items(), {1, 2}) == 2
    assert store.tier_totals() == ([0, 1, 1, 0], [0, 6_000_000, 60_000_000, 0])


def test_each_record_goes_to_its_topic_on_the_customers_partition() -> None:
    proc, _, _ = processor()
    topics = proc.topics
    premium = encoded(txn_id="T1", customer_id="C1", amount="600000.00")
    decisions = proc.process(
        [message(premium, partition=3), message(b"not avro", partition=3, offset=1)],
        BatchContext(now_ms=T0),
    )
    # A real posting places C1 in PREMIUM at once: the TierChange, the notifier hears of it (an
    # upgrade) and of the large deposit; the garbage goes to the dead-letter topic.
    assert Counter(r.topic for r in decisions.records) == {
        topics.tier_changes: 1,
        topics.signals: 2,
        topics.transactions_dlq: 1,
    }
    assert {(r.key, r.partition) for r in decisions.records} == {(b"C1", 3)}
    assert [s.sql for s in decisions.rows] == [UPSERT_BALANCES, INSERT_TIER_CHANGES]

    # An initial placement in ORDINARY is nobody's news: the TierChange only, no signal.
    quiet = proc.process(
        [message(encoded(txn_id="T2", customer_id="C2", amount="10.00"), key=b"C2")],
        BatchContext(now_ms=T0),
    )
    assert [r.topic for r in quiet.records] == [topics.tier_changes]
