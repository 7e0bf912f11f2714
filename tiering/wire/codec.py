"""Avro single-object encoding (contract "Wire format").

A message is ``C3 01``, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer
schema's Parsing Canonical Form, then the Avro binary body. Readers look the fingerprint up
among the schemas they know; a later schema version gets a new fingerprint and is registered
beside the old one, which is then resolved to the current reader schema: the earlier versions
of a schema are kept as ``schemas/avro/history/<name>.v<N>.avsc`` and every codec reads them.
"""

from __future__ import annotations

import enum
import io
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8

# The contract's four schemas, by file name under schemas/avro/.
DEPOSIT_TRANSACTION = "deposit_transaction"
ONLINE_BEHAVIOR_EVENT = "online_behavior_event"
TIER_CHANGE = "tier_change"
MANAGER_NOTIFICATION = "manager_notification"
CONTRACT_SCHEMAS = (DEPOSIT_TRANSACTION, ONLINE_BEHAVIOR_EVENT, TIER_CHANGE, MANAGER_NOTIFICATION)
# Internal: the dated exchange rates the ledger values foreign accounts at (tiering import-rates).
FX_RATE = "fx_rate"
# Internal: the effective-dated policy versions (tiering policy publish).
POLICY_VERSION = "policy_version"
SCHEMAS = (*CONTRACT_SCHEMAS, FX_RATE, POLICY_VERSION)


class CodecErrorKind(enum.Enum):
    """Why a message could not be decoded."""

    NOT_SINGLE_OBJECT = "not_single_object"  #: too short or the C3 01 marker is missing
    UNKNOWN_FINGERPRINT = "unknown_fingerprint"  #: a schema this reader does not know
    TRUNCATED = "truncated"  #: the body ends before the record does
    MALFORMED = "malformed"  #: the body is not a valid record of the schema
    WRONG_SCHEMA = "wrong_schema"  #: a known schema, but not the one this topic carries
    INVALID_RECORD = "invalid_record"  #: encoding: the record does not fit the schema


class CodecError(ValueError):
    """A message could not be encoded or decoded; ``kind`` says which way it failed."""

    def __init__(self, kind: CodecErrorKind, detail: str) -> None:
        super().__init__(f"{kind.value}: {detail}")
        self.kind = kind
        self.detail = detail

    @property
    def reason(self) -> str:
        """The dead-letter reason: ``unknown_schema`` or ``undecodable``."""
        if self.kind in (CodecErrorKind.UNKNOWN_FINGERPRINT, CodecErrorKind.WRONG_SCHEMA):
            return "unknown_schema"
        return "undecodable"


def load_schema(name: str) -> dict[str, Any]:
    """The JSON of ``schemas/avro/<name>.avsc`` as packaged with the service."""
    text = resources.files("schemas").joinpath("avro", f"{name}.avsc").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_history(name: str) -> list[dict[str, Any]]:
    """The earlier versions of ``schemas/avro/<name>.avsc``, oldest first: each
    ``schemas/avro/history/<name>.v<N>.avsc``, as it was when it was replaced."""
    history = resources.files("schemas").joinpath("avro", "history")
    if not history.is_dir():
        return []
    versions: list[tuple[int, dict[str, Any]]] = []
    for entry in history.iterdir():
        stem, _, version = entry.name.removesuffix(".avsc").rpartition(".v")
        if stem == name and version.isdigit() and entry.name.endswith(".avsc"):
            versions.append((int(version), json.loads(entry.read_text("utf-8"))))
    return [schema for _, schema in sorted(versions, key=lambda v: v[0])]


def schema_fingerprint(schema: dict[str, Any]) -> bytes:
    """The 8 fingerprint bytes as they appear on the wire (CRC-64-AVRO, little-endian)."""
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))


@dataclass(frozen=True, slots=True)
class _Reader:
    name: str
    writer: Any
    reader: Any | None  # None when writer and reader schema are the same
    #: the writer schema without logical types, for :meth:`AvroCodec.decode` with plain=True
    plain: Any | None = None


def without_logical_types(schema: Any) -> Any:
    """``schema`` read plainly: decimals as their unscaled bytes, timestamps as integers."""
    if isinstance(schema, dict):
        return {k: without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [without_logical_types(s) for s in schema]
    return schema


class AvroCodec:
    """Encodes and decodes the contract's records (and the internal rates) in single-object
    encoding."""

    def __init__(self, names: tuple[str, ...] = SCHEMAS) -> None:
        self._writers: dict[str, tuple[bytes, Any]] = {}
        self._readers: dict[bytes, _Reader] = {}
        for name in names:
            raw = load_schema(name)
            parsed = parse_schema(raw)
            fp = schema_fingerprint(raw)
            self._writers[name] = (MAGIC + fp, parsed)
            self._readers[fp] = _Reader(
                name, parsed, None, parse_schema(without_logical_types(raw))
            )
            for older in schema_history(name):
                self.register_writer_schema(name, older)

    def register_writer_schema(self, name: str, writer_schema: dict[str, Any]) -> bytes:
        """Accept messages written with an older (or newer) version of ``name``.

        They are resolved to the current schema by Avro's schema-resolution rules.
        """
        fp = schema_fingerprint(writer_schema)
        self._readers[fp] = _Reader(name, parse_schema(writer_schema), self._writers[name][1])
        return fp

    def fingerprint(self, name: str) -> bytes:
        return self._writers[name][0][len(MAGIC) :]

    def encode(self, name: str, record: dict[str, Any]) -> bytes:
        header, schema = self._writers[name]
        buf = io.BytesIO()
        buf.write(header)
        try:
            schemaless_writer(buf, schema, record)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CodecError(CodecErrorKind.INVALID_RECORD, f"{name}: {exc}") from exc
        return buf.getvalue()

    def decode(
        self, data: bytes, expect: str | None = None, plain: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """Return ``(schema name, record)``; raise :class:`CodecError` saying what is wrong.

        ``plain``: skip the logical types where the writer schema is the current one: decimals
        come as their unscaled big-endian bytes, timestamps as epoch milliseconds. About half
        the cost, for the hot path; a record from an older writer schema is resolved as usual.
        """
        if len(data) < HEADER_SIZE or data[:2] != MAGIC:
            raise CodecError(
                CodecErrorKind.NOT_SINGLE_OBJECT,
                f"{len(data)} bytes without the C3 01 single-object header",
            )
        fp = data[2:HEADER_SIZE]
        reader = self._readers.get(fp)
        if reader is None:
            raise CodecError(CodecErrorKind.UNKNOWN_FINGERPRINT, f"fingerprint {fp.hex()}")
        if expect is not None and reader.name != expect:
            raise CodecError(CodecErrorKind.WRONG_SCHEMA, f"expected {expect}, got {reader.name}")
        buf = io.BytesIO(data)
        buf.seek(HEADER_SIZE)
        writer = reader.plain if plain and reader.plain is not None else reader.writer
        try:
            record = schemaless_reader(buf, writer, reader.reader)
        except (EOFError, ValueError, TypeError, IndexError, KeyError, OverflowError) as exc:
            # fastavro reports a body cut inside a varint as IndexError, elsewhere as EOFError.
            if isinstance(exc, EOFError) or buf.tell() >= len(data):
                raise CodecError(
                    CodecErrorKind.TRUNCATED,
                    f"{reader.name}: the body ends after {len(data) - HEADER_SIZE} bytes",
                ) from exc
            raise CodecError(CodecErrorKind.MALFORMED, f"{reader.name}: {exc}") from exc
        if buf.tell() != len(data):
            raise CodecError(
                CodecErrorKind.MALFORMED,
                f"{reader.name}: {len(data) - buf.tell()} bytes left after the record",
            )
        if not isinstance(record, dict):
            raise CodecError(CodecErrorKind.MALFORMED, f"{reader.name}: not a record")
        return reader.name, record
