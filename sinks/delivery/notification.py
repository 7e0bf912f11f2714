"""A ManagerNotification as the delivery channels see it (schemas/avro/manager_notification)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

Priority = Literal["LOW", "NORMAL", "HIGH", "URGENT"]
#: the schema's Priority symbols, lowest first: a channel's min_priority compares by this order
PRIORITIES: tuple[Priority, ...] = ("LOW", "NORMAL", "HIGH", "URGENT")

Team = Literal["BRANCH_SERVICE", "CUSTOMER_MANAGER", "WEALTH_TEAM", "PRIVATE_BANKING"]
TEAMS: tuple[Team, ...] = ("BRANCH_SERVICE", "CUSTOMER_MANAGER", "WEALTH_TEAM", "PRIVATE_BANKING")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def priority_at_least(priority: str, minimum: str) -> bool:
    return PRIORITIES.index(priority) >= PRIORITIES.index(minimum)


@dataclass(frozen=True, slots=True)
class Notification:
    """One decoded record. ``repr`` shows only the id, kind and priority, so a notification
    that ends up in a log line or a traceback shows no customer data."""

    notification_id: str
    customer_id: str
    tier: str
    team: str
    manager_id: str | None
    branch_id: str | None
    kind: str
    priority: str
    title: str
    body: str  #: customer data in it is masked by the notifier
    actions: tuple[str, ...]
    source_event_id: str
    created_at: datetime

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Notification:
        created_at = record["created_at"]
        if isinstance(created_at, int):  # a writer schema without the logical type
            created_at = _EPOCH + timedelta(milliseconds=created_at)
        return cls(
            notification_id=record["notification_id"],
            customer_id=record["customer_id"],
            tier=record["tier"],
            team=record["team"],
            manager_id=record.get("manager_id"),
            branch_id=record.get("branch_id"),
            kind=record.get("kind") or "OTHER",
            priority=record["priority"],
            title=record["title"],
            body=record["body"],
            actions=tuple(record["actions"]),
            source_event_id=record["source_event_id"],
            created_at=created_at,
        )

    def at_least(self, minimum: str) -> bool:
        return priority_at_least(self.priority, minimum)

    def to_json(self) -> dict[str, Any]:
        """Every field, ``created_at`` in ISO 8601 (UTC, milliseconds)."""
        return {
            "notification_id": self.notification_id,
            "customer_id": self.customer_id,
            "tier": self.tier,
            "team": self.team,
            "manager_id": self.manager_id,
            "branch_id": self.branch_id,
            "kind": self.kind,
            "priority": self.priority,
            "title": self.title,
            "body": self.body,
            "actions": list(self.actions),
            "source_event_id": self.source_event_id,
            "created_at": self.created_at.astimezone(UTC).isoformat(timespec="milliseconds"),
        }

    def __repr__(self) -> str:
        return f"Notification({self.notification_id!r}, {self.kind}, {self.priority})"
