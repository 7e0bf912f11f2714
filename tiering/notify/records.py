"""ManagerNotification records on ``manager-notifications`` (the contract's Avro), both ways."""

from __future__ import annotations

from typing import Any

from tiering.core.bank_time import epoch_ms
from tiering.core.kinds import NotificationKind, Priority
from tiering.core.teams import Team
from tiering.core.tiers import Tier
from tiering.notify.notification import NoticeText, Notification
from tiering.wire.codec import MANAGER_NOTIFICATION, AvroCodec


def notification_record(n: Notification) -> dict[str, object]:
    return {
        "notification_id": n.notification_id,
        "customer_id": n.customer_id,
        "tier": n.tier.name,
        "team": n.team.value,
        "manager_id": n.manager_id,
        "branch_id": n.branch_id,
        "kind": n.kind.value,
        "priority": n.priority.name,
        "title": n.title,
        "body": n.body,
        "actions": list(n.actions),
        "source_event_id": n.source_event_id,
        "created_at": n.created_at_ms,
        "texts": n.texts_json(),
        "risk_level": n.risk_level,
        "risk_assessed_on": n.risk_assessed_on,
        "risk_expired_on": n.risk_expired_on,
    }


def encode_notification(codec: AvroCodec, n: Notification) -> bytes:
    return codec.encode(MANAGER_NOTIFICATION, notification_record(n))


def notification_from_record(record: dict[str, Any]) -> Notification:
    """A decoded record (the schema's enums keep every field to known values)."""
    return Notification(
        notification_id=record["notification_id"],
        customer_id=record["customer_id"],
        tier=Tier[record["tier"]],
        team=Team(record["team"]),
        manager_id=record.get("manager_id"),
        branch_id=record.get("branch_id"),
        kind=NotificationKind(record.get("kind") or NotificationKind.OTHER),
        priority=Priority[record["priority"]],
        title=record["title"],
        body=record["body"],
        actions=tuple(record["actions"]),
        source_event_id=record["source_event_id"],
        created_at_ms=epoch_ms(record["created_at"]),
        texts={
            language: NoticeText(text["title"], text["body"], tuple(text["actions"]))
            for language, text in (record.get("texts") or {}).items()
        },
        risk_level=record.get("risk_level"),
        risk_assessed_on=record.get("risk_assessed_on"),
        risk_expired_on=record.get("risk_expired_on"),
    )


def decode_notification(codec: AvroCodec, data: bytes) -> Notification:
    """Raises :class:`~tiering.wire.codec.CodecError` for what is not a ManagerNotification."""
    _, record = codec.decode(data, expect=MANAGER_NOTIFICATION)
    return notification_from_record(record)
