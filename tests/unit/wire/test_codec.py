"""Avro single-object encoding: round trips, the contract's fingerprints, and every way a
message can be unreadable."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tiering.wire.codec import (
    CONTRACT_SCHEMAS,
    DEPOSIT_TRANSACTION,
    MAGIC,
    MANAGER_NOTIFICATION,
    ONLINE_BEHAVIOR_EVENT,
    TIER_CHANGE,
    AvroCodec,
    CodecError,
    CodecErrorKind,
    load_schema,
    schema_fingerprint,
    schema_history,
)

CODEC = AvroCodec()
WHEN = datetime(2026, 11, 29, 8, 30, 15, 123000, tzinfo=UTC)

RECORDS = {
    DEPOSIT_TRANSACTION: {
        "txn_id": "T1",
        "customer_id": "C1",
        "account_id": "A1",
        "txn_type": "DEPOSIT",
        "amount": Decimal("50000.00"),
        "currency": "CNY",
        "channel": "MOBILE",
        "branch_id": "BR001",
        "product_code": None,
        "event_time": WHEN,
        "account_type": "DEPOSIT",
    },
    ONLINE_BEHAVIOR_EVENT: {
        "event_id": "E1",
        "customer_id": "C1",
        "event_type": "PRODUCT_VIEW",
        "channel": "MOBILE_APP",
        "product_code": "SW90",
        "product_category": "SHORT_TERM_WEALTH",
        "business_type": None,
        "rating": None,
        "comment": None,
        "event_time": WHEN,
    },
    TIER_CHANGE: {
        "change_id": "X1",
        "customer_id": "C1",
        "previous_tier": None,
        "new_tier": "POTENTIAL",
        "direction": "INITIAL",
        "balance": Decimal("50000.00"),
        "trigger_event_id": "T1",
        "event_time": WHEN,
        "decided_at": WHEN,
        "policy_version": "v1",
    },
    MANAGER_NOTIFICATION: {
        "notification_id": "N1",
        "customer_id": "C1",
        "tier": "PREMIUM",
        "team": "WEALTH_TEAM",
        "manager_id": None,
        "branch_id": "BR001",
        "kind": "TIER_UPGRADE",
        "priority": "HIGH",
        "title": "t",
        "body": "b",
        "actions": ["assign a dedicated customer manager"],
        "source_event_id": "X1",
        "created_at": WHEN,
        "texts": {
            "zh_Hans_CN": {"title": "升级", "body": "正文", "actions": ["配备专属客户经理"]},
            "en": {"title": "t", "body": "b", "actions": []},
        },
        "risk_level": 3,
        "risk_assessed_on": date(2025, 3, 15),
        "risk_expired_on": None,
    },
}


@pytest.mark.parametrize(
    ("name", "fingerprint"),
    [
        (DEPOSIT_TRANSACTION, "db70bb36746bbce2"),  # version 2, with account_type
        (ONLINE_BEHAVIOR_EVENT, "aa1ae70d88f57866"),
        (TIER_CHANGE, "e26c3a3354091e40"),
        # version 5: the kind POLICY_CHANGE
        (MANAGER_NOTIFICATION, "8c9907d618d52d0f"),
    ],
)
def test_fingerprints_are_the_contracts(name: str, fingerprint: str) -> None:
    assert CODEC.fingerprint(name).hex() == fingerprint
    assert CODEC.encode(name, RECORDS[name])[:10] == MAGIC + bytes.fromhex(fingerprint)


@pytest.mark.parametrize("name", CONTRACT_SCHEMAS)
def test_round_trip(name: str) -> None:
    decoded_name, record = CODEC.decode(CODEC.encode(name, RECORDS[name]))
    assert decoded_name == name
    assert record == RECORDS[name]


@given(
    amount=st.decimals(min_value=0, max_value=Decimal("9999999999999999.99"), places=2),
    txn_id=st.text(min_size=1, max_size=40),
)
def test_amounts_and_ids_survive_exactly(amount: Decimal, txn_id: str) -> None:
    record = dict(RECORDS[DEPOSIT_TRANSACTION], amount=amount, txn_id=txn_id)
    _, decoded = CODEC.decode(CODEC.encode(DEPOSIT_TRANSACTION, record))
    assert decoded["amount"] == amount
    assert decoded["txn_id"] == txn_id


def test_random_bytes_are_not_a_single_object() -> None:
    with pytest.raises(CodecError) as err:
        CODEC.decode(b"\x00\x01garbage that is long enough")
    assert err.value.kind is CodecErrorKind.NOT_SINGLE_OBJECT
    assert err.value.reason == "undecodable"


@pytest.mark.parametrize("data", [b"", b"\xc3", b"\xc3\x01\x1c\x44"])
def test_too_short_for_a_header(data: bytes) -> None:
    with pytest.raises(CodecError) as err:
        CODEC.decode(data)
    assert err.value.kind is CodecErrorKind.NOT_SINGLE_OBJECT


def test_unknown_fingerprint_is_unknown_schema() -> None:
    body = CODEC.encode(DEPOSIT_TRANSACTION, RECORDS[DEPOSIT_TRANSACTION])
    with pytest.raises(CodecError) as err:
        CODEC.decode(MAGIC + bytes.fromhex("0102030405060708") + body[10:])
    assert err.value.kind is CodecErrorKind.UNKNOWN_FINGERPRINT
    assert err.value.reason == "unknown_schema"
    assert "0102030405060708" in str(err.value)


def test_every_truncation_is_reported_as_truncated() -> None:
    data = CODEC.encode(DEPOSIT_TRANSACTION, RECORDS[DEPOSIT_TRANSACTION])
    for cut in range(10, len(data)):
        with pytest.raises(CodecError) as err:
            CODEC.decode(data[:cut])
        assert err.value.kind is CodecErrorKind.TRUNCATED, cut
        assert err.value.reason == "undecodable"


def test_bytes_after_the_record_are_malformed() -> None:
    data = CODEC.encode(DEPOSIT_TRANSACTION, RECORDS[DEPOSIT_TRANSACTION])
    with pytest.raises(CodecError) as err:
        CODEC.decode(data + b"\x00")
    assert err.value.kind is CodecErrorKind.MALFORMED


def test_a_known_schema_on_the_wrong_topic() -> None:
    data = CODEC.encode(TIER_CHANGE, RECORDS[TIER_CHANGE])
    with pytest.raises(CodecError) as err:
        CODEC.decode(data, expect=DEPOSIT_TRANSACTION)
    assert err.value.kind is CodecErrorKind.WRONG_SCHEMA
    assert err.value.reason == "unknown_schema"


def test_random_bodies_never_escape_as_other_errors() -> None:
    header = MAGIC + CODEC.fingerprint(DEPOSIT_TRANSACTION)
    kinds = set()
    for size in range(0, 200):
        try:
            CODEC.decode(header + os.urandom(size))
        except CodecError as err:  # anything else escaping fails the test
            kinds.add(err.kind)
    assert kinds <= {CodecErrorKind.TRUNCATED, CodecErrorKind.MALFORMED}
    assert kinds


def test_encoding_a_bad_record_says_so() -> None:
    with pytest.raises(CodecError) as err:
        CODEC.encode(DEPOSIT_TRANSACTION, dict(RECORDS[DEPOSIT_TRANSACTION], txn_type="GIFT"))
    assert err.value.kind is CodecErrorKind.INVALID_RECORD


def test_an_older_writer_schema_resolves_to_the_current_one() -> None:
    older = load_schema(DEPOSIT_TRANSACTION)
    older["fields"] = [f for f in older["fields"] if f["name"] not in ("product_code", "branch_id")]
    codec = AvroCodec()
    fp = codec.register_writer_schema(DEPOSIT_TRANSACTION, older)
    import io

    from fastavro import parse_schema, schemaless_writer

    buf = io.BytesIO()
    record = {
        k: v
        for k, v in RECORDS[DEPOSIT_TRANSACTION].items()
        if k not in ("product_code", "branch_id")
    }
    schemaless_writer(buf, parse_schema(older), record)
    name, decoded = codec.decode(MAGIC + fp + buf.getvalue())
    assert name == DEPOSIT_TRANSACTION
    assert decoded["branch_id"] is None
    assert decoded["amount"] == Decimal("50000.00")


def test_a_notification_written_with_version_1_still_decodes_with_no_texts() -> None:
    """The contract's first ManagerNotification (fingerprint 4312e0619efc76cd) is kept in
    schemas/avro/history/ and read by every codec: records already on the topic, or from a
    producer not yet upgraded, decode with ``texts`` empty."""
    import io

    from fastavro import parse_schema, schemaless_writer

    v1 = schema_history(MANAGER_NOTIFICATION)[0]  # the oldest first
    assert schema_fingerprint(v1).hex() == "4312e0619efc76cd"
    old = {
        k: v
        for k, v in RECORDS[MANAGER_NOTIFICATION].items()
        if k not in ("texts", "risk_level", "risk_assessed_on", "risk_expired_on")
    }
    buf = io.BytesIO()
    schemaless_writer(buf, parse_schema(v1), old)
    name, decoded = AvroCodec().decode(
        MAGIC + bytes.fromhex("4312e0619efc76cd") + buf.getvalue(), expect=MANAGER_NOTIFICATION
    )
    assert name == MANAGER_NOTIFICATION
    assert decoded == old | {
        "texts": {},
        "risk_level": None,
        "risk_assessed_on": None,
        "risk_expired_on": None,
    }


def test_a_notification_written_with_version_2_still_decodes_with_no_risk_level() -> None:
    """Version 2 (texts, fingerprint 370409e27a61eb76) is kept in schemas/avro/history/ too:
    its records decode with the risk level and assessment date unknown (None)."""
    import io

    from fastavro import parse_schema, schemaless_writer

    v2 = schema_history(MANAGER_NOTIFICATION)[1]
    assert schema_fingerprint(v2).hex() == "370409e27a61eb76"
    old = {
        k: v
        for k, v in RECORDS[MANAGER_NOTIFICATION].items()
        if k not in ("risk_level", "risk_assessed_on", "risk_expired_on")
    }
    buf = io.BytesIO()
    schemaless_writer(buf, parse_schema(v2), old)
    name, decoded = AvroCodec().decode(
        MAGIC + bytes.fromhex("370409e27a61eb76") + buf.getvalue(), expect=MANAGER_NOTIFICATION
    )
    assert name == MANAGER_NOTIFICATION
    assert decoded == old | {"risk_level": None, "risk_assessed_on": None, "risk_expired_on": None}


def test_a_notification_written_with_version_3_still_decodes_with_no_expired_assessment() -> None:
    """Version 3 (the risk level used, fingerprint e7e91beaa36a4447) is kept in
    schemas/avro/history/ too: its records decode with the expired assessment unknown."""
    import io

    from fastavro import parse_schema, schemaless_writer

    v3 = schema_history(MANAGER_NOTIFICATION)[2]
    assert schema_fingerprint(v3).hex() == "e7e91beaa36a4447"
    old = {k: v for k, v in RECORDS[MANAGER_NOTIFICATION].items() if k != "risk_expired_on"}
    buf = io.BytesIO()
    schemaless_writer(buf, parse_schema(v3), old)
    _, decoded = AvroCodec().decode(
        MAGIC + bytes.fromhex("e7e91beaa36a4447") + buf.getvalue(), expect=MANAGER_NOTIFICATION
    )
    assert decoded == old | {"risk_expired_on": None}


def test_a_reader_on_version_3_reads_a_campaign_as_other() -> None:
    """The kind's default keeps older readers working: a consumer still on version 3 reads
    version 4's CAMPAIGN as OTHER (Avro schema resolution), the rest of the record as is."""
    import io

    from fastavro import parse_schema, schemaless_reader

    campaign = RECORDS[MANAGER_NOTIFICATION] | {"kind": "CAMPAIGN"}
    body = CODEC.encode(MANAGER_NOTIFICATION, campaign)[10:]
    current = parse_schema(load_schema(MANAGER_NOTIFICATION))
    v3 = parse_schema(schema_history(MANAGER_NOTIFICATION)[2])
    old = schemaless_reader(io.BytesIO(body), current, v3)
    assert isinstance(old, dict)
    assert old["kind"] == "OTHER"
    assert CODEC.decode(MAGIC + CODEC.fingerprint(MANAGER_NOTIFICATION) + body)[1] == campaign


def test_a_notification_records_the_risk_level_it_used_both_ways() -> None:
    """§9 audit trail: the level and assessment date survive the wire, and unknown stays
    unknown."""
    from tiering.notify.records import (
        decode_notification,
        encode_notification,
        notification_from_record,
    )

    n = notification_from_record(RECORDS[MANAGER_NOTIFICATION])
    assert (n.risk_level, n.risk_assessed_on) == (3, date(2025, 3, 15))
    assert decode_notification(CODEC, encode_notification(CODEC, n)) == n
    unknown = notification_from_record(
        RECORDS[MANAGER_NOTIFICATION] | {"risk_level": None, "risk_assessed_on": None}
    )
    back = decode_notification(CODEC, encode_notification(CODEC, unknown))
    assert (back.risk_level, back.risk_assessed_on, back.risk_expired_on) == (None, None, None)
    expired = notification_from_record(
        RECORDS[MANAGER_NOTIFICATION]
        | {"risk_level": None, "risk_assessed_on": None, "risk_expired_on": date(2024, 1, 2)}
    )
    back = decode_notification(CODEC, encode_notification(CODEC, expired))
    assert (back.risk_level, back.risk_expired_on) == (None, date(2024, 1, 2))


def test_a_notification_without_texts_is_written_with_an_empty_map() -> None:
    old = {k: v for k, v in RECORDS[MANAGER_NOTIFICATION].items() if k != "texts"}
    _, decoded = CODEC.decode(CODEC.encode(MANAGER_NOTIFICATION, old))
    assert decoded["texts"] == {}


def test_a_posting_written_with_version_1_decodes_as_a_deposit_account() -> None:
    """DepositTransaction version 1 (the contract's, fingerprint 1c444fe1ab0b5ca3) is kept in
    schemas/avro/history/: a core system not yet sending account_type still feeds the service,
    its postings resolved with account_type null (a deposit account)."""
    import io

    from fastavro import parse_schema, schemaless_writer

    (v1,) = schema_history(DEPOSIT_TRANSACTION)
    assert schema_fingerprint(v1).hex() == "1c444fe1ab0b5ca3"
    assert "account_type" not in {f["name"] for f in v1["fields"]}
    old = {k: v for k, v in RECORDS[DEPOSIT_TRANSACTION].items() if k != "account_type"}
    buf = io.BytesIO()
    schemaless_writer(buf, parse_schema(v1), old)
    message = MAGIC + bytes.fromhex("1c444fe1ab0b5ca3") + buf.getvalue()
    for plain in (False, True):  # the ledger decodes plainly; an old writer resolves as usual
        name, decoded = AvroCodec().decode(message, expect=DEPOSIT_TRANSACTION, plain=plain)
        assert name == DEPOSIT_TRANSACTION
        assert decoded == old | {"account_type": None}


def test_a_posting_of_version_2_carries_its_account_type() -> None:
    record = RECORDS[DEPOSIT_TRANSACTION] | {"account_type": "LOAN"}
    message = CODEC.encode(DEPOSIT_TRANSACTION, record)
    assert message[2:10] == bytes.fromhex("db70bb36746bbce2")
    assert CODEC.decode(message) == (DEPOSIT_TRANSACTION, record)
    # a producer on version 2 that leaves it out writes null: a deposit account
    without = {k: v for k, v in record.items() if k != "account_type"}
    _, decoded = CODEC.decode(CODEC.encode(DEPOSIT_TRANSACTION, without))
    assert decoded["account_type"] is None


def test_a_reader_on_version_4_reads_a_policy_change_as_other() -> None:
    """Version 4 (fingerprint 05e111203c82b3c6) is kept in schemas/avro/history/, and a
    consumer still on it reads version 5's POLICY_CHANGE as OTHER, the rest as is."""
    import io

    from fastavro import parse_schema, schemaless_reader

    v4 = schema_history(MANAGER_NOTIFICATION)[3]
    assert schema_fingerprint(v4).hex() == "05e111203c82b3c6"
    notice = RECORDS[MANAGER_NOTIFICATION] | {"kind": "POLICY_CHANGE", "customer_id": ""}
    body = CODEC.encode(MANAGER_NOTIFICATION, notice)[10:]
    current = parse_schema(load_schema(MANAGER_NOTIFICATION))
    old = schemaless_reader(io.BytesIO(body), current, parse_schema(v4))
    assert isinstance(old, dict)
    assert (old["kind"], old["customer_id"]) == ("OTHER", "")
    assert CODEC.decode(MAGIC + CODEC.fingerprint(MANAGER_NOTIFICATION) + body)[1] == notice
