"""Messages as they come off the wire, and the dead letters of those that cannot be applied.

A dead letter keeps the original key and bytes; its headers say why, and where it came from
(``dlq.reason``, ``dlq.error``, ``dlq.topic``, ``dlq.partition``, ``dlq.offset``,
``dlq.failed_at``, and for a notification no channel took, ``dlq.channel``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tiering.core.bad_input import BadInput
from tiering.wire.codec import CodecError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One consumed message, as it came off the wire."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An inbound message set aside, and why. ``error`` is safe to store: no customer data."""

    source: Inbound
    reason: str
    error: str
    channel: str | None = None  #: the delivery channel that gave up on it

    def headers(self, failed_at_ms: int) -> list[tuple[str, bytes]]:
        headers = [
            ("dlq.reason", self.reason.encode()),
            ("dlq.error", self.error.encode()),
            ("dlq.topic", self.source.topic.encode()),
            ("dlq.partition", str(self.source.partition).encode()),
            ("dlq.offset", str(self.source.offset).encode()),
            ("dlq.failed_at", str(failed_at_ms).encode()),
        ]
        if self.channel is not None:
            headers.append(("dlq.channel", self.channel.encode()))
        return headers

    def log(self) -> None:
        s = self.source
        log.warning(
            "dead letter: %s[%d]@%d reason=%s%s",
            s.topic,
            s.partition,
            s.offset,
            self.reason,
            f" channel={self.channel}" if self.channel else "",
        )


def set_aside(message: Inbound, exc: Exception) -> DeadLetter:
    """The dead letter for an event that could not be applied: bad input keeps its reason; any
    other error is a bug this event met (``processing_error``), logged, and the stream goes on."""
    if isinstance(exc, CodecError | BadInput):
        return DeadLetter(message, exc.reason, exc.detail)
    log.exception(
        "event at %s[%d]@%d could not be processed",
        message.topic,
        message.partition,
        message.offset,
    )
    return DeadLetter(message, "processing_error", type(exc).__name__)


def value_of(message: Inbound) -> bytes:
    """The message's bytes; a tombstone is bad input (``empty_value``)."""
    if message.value is None:
        raise BadInput("empty_value", "the message has no value (a tombstone?)")
    return message.value


def decode_key(message: Inbound) -> str | None:
    """The message key as text; every topic is keyed by customer_id in UTF-8."""
    try:
        return message.key.decode() if message.key is not None else None
    except UnicodeDecodeError:
        raise BadInput("key_mismatch", "the message key is not UTF-8") from None
