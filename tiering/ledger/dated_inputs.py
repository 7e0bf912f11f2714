"""The dated inputs a ledger partition holds beside its customers, each read from its own
internal topic, a copy on every partition: the exchange rates (``tiering import-rates``,
:mod:`tiering.ledger.fx`) and the policy versions (``tiering policy publish``,
:mod:`tiering.core.policy_versions`). A bad one is a dead letter with its reason; one known
already is a duplicate.
"""

from __future__ import annotations

import logging

from tiering.core.bad_input import BadInput
from tiering.core.bank_time import epoch_ms, from_epoch_ms
from tiering.core.dedup import EventOutcome
from tiering.core.policy import PolicyError
from tiering.core.policy_versions import PolicyConflict, published
from tiering.ledger.fx import CNY, EPOCH_DAY
from tiering.ledger.store import LedgerStore
from tiering.wire.codec import FX_RATE, POLICY_VERSION, AvroCodec
from tiering.wire.inbound import Inbound, value_of

log = logging.getLogger(__name__)


def take_rate(codec: AvroCodec, store: LedgerStore, message: Inbound) -> EventOutcome:
    """A dated rate into its partition's table: processed, or a duplicate when it was
    known already (a re-send)."""
    _, record = codec.decode(value_of(message), expect=FX_RATE)
    currency, rate = record["currency"], record["rate"]
    if not (len(currency) == 3 and currency.isascii() and currency.isupper()):
        raise BadInput("invalid_rate", f"currency {currency!r} is not an ISO 4217 code")
    if currency == CNY or not (rate.is_finite() and rate > 0):
        raise BadInput("invalid_rate", f"no rate of {currency} to CNY can be {rate}")
    day = (record["effective_date"] - EPOCH_DAY).days
    if not store.rates(message.partition).add(currency, day, rate):
        return EventOutcome.DUPLICATE
    store.rates_changed(message.partition)
    return EventOutcome.PROCESSED


def take_policy(codec: AvroCodec, store: LedgerStore, message: Inbound) -> EventOutcome:
    """A published policy version into its partition's versions: processed, or a
    duplicate when it was known already (a re-send, or the compacted topic read again)."""
    _, record = codec.decode(value_of(message), expect=POLICY_VERSION)
    try:
        version = published(record["text"])
    except PolicyError as exc:
        raise BadInput("invalid_policy", str(exc)) from None
    if version.version != record["version"] or version.effective_from_ms != epoch_ms(
        record["effective_from"]
    ):
        raise BadInput("invalid_policy", "the record's version or moment is not its text's")
    try:
        added = store.policies(message.partition).add(version)
    except PolicyConflict as exc:
        raise BadInput("policy_conflict", str(exc)) from None
    if not added:
        return EventOutcome.DUPLICATE
    store.policies_changed(message.partition)
    log.info(
        "partition %d: policy %s known, in force from %s (event time)",
        message.partition,
        version.version,
        from_epoch_ms(version.effective_from_ms).isoformat(),
    )
    return EventOutcome.PROCESSED
