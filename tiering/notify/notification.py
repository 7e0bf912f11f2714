"""A ManagerNotification (schemas/avro/manager_notification.avsc): what the notifier decides and
what delivery sends, one model for both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tiering.core.bank_time import from_epoch_ms
from tiering.core.kinds import NotificationKind, Priority
from tiering.core.teams import Team
from tiering.core.tiers import Tier


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification to a team, and to a manager where one is assigned. ``repr`` shows only
    the id, kind and priority, so a notification that ends up in a log line or a traceback
    shows no customer data."""

    notification_id: str
    customer_id: str
    tier: Tier
    team: Team
    manager_id: str | None
    branch_id: str | None
    kind: NotificationKind
    priority: Priority
    title: str
    body: str  #: customer data in it is masked by the notifier (§9)
    actions: tuple[str, ...]  #: §5, for the tier and the cause
    source_event_id: str  #: the signal it answers
    created_at_ms: int  #: the event time of its cause

    @property
    def created_at(self) -> datetime:
        return from_epoch_ms(self.created_at_ms)

    def at_least(self, minimum: Priority) -> bool:
        return self.priority >= minimum

    def to_json(self) -> dict[str, Any]:
        """Every field, names as the schema spells them, ``created_at`` in ISO 8601 (UTC,
        milliseconds)."""
        return {
            "notification_id": self.notification_id,
            "customer_id": self.customer_id,
            "tier": self.tier.name,
            "team": self.team.value,
            "manager_id": self.manager_id,
            "branch_id": self.branch_id,
            "kind": self.kind.value,
            "priority": self.priority.name,
            "title": self.title,
            "body": self.body,
            "actions": list(self.actions),
            "source_event_id": self.source_event_id,
            "created_at": self.created_at.astimezone(UTC).isoformat(timespec="milliseconds"),
        }

    def __repr__(self) -> str:
        return f"Notification({self.notification_id!r}, {self.kind}, {self.priority.name})"
