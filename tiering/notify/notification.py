"""A ManagerNotification (schemas/avro/manager_notification.avsc): what the notifier decides and
what delivery sends, one model for both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from tiering.core.bank_time import from_epoch_ms
from tiering.core.kinds import NotificationKind, Priority
from tiering.core.teams import Team
from tiering.core.tiers import Tier
from tiering.i18n import Language


@dataclass(frozen=True, slots=True)
class NoticeText:
    """What a notification says in one language (ManagerNotification.texts), masked (§9)."""

    title: str
    body: str
    actions: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "body": self.body, "actions": list(self.actions)}


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
    #: the signal it answers; a POLICY_CHANGE: the policy change, ``policy:<version>``
    source_event_id: str
    created_at_ms: int  #: the event time of its cause
    #: the notification in each language the service speaks (records written before there
    #: were texts have none: :meth:`text` falls back to title, body and actions)
    texts: Mapping[str, NoticeText] = field(default_factory=dict, hash=False)
    #: §9 audit trail: the risk level the recommendations were kept within and the day it was
    #: assessed; None when the tolerance was unknown (no assessment valid at the event time:
    #: only the lowest-risk products), and in records written before version 3
    risk_level: int | None = None
    risk_assessed_on: date | None = None
    #: with the tolerance unknown because the newest assessment had expired at the event time:
    #: the day it was made (version 4); None when there was none, or when it was in force
    risk_expired_on: date | None = None

    @property
    def created_at(self) -> datetime:
        return from_epoch_ms(self.created_at_ms)

    def text(self, language: Language) -> NoticeText:
        """What a reader of ``language`` sees: its text, else title, body and actions."""
        found = self.texts.get(language)
        return found if found is not None else NoticeText(self.title, self.body, self.actions)

    def texts_json(self) -> dict[str, dict[str, Any]]:
        """``texts`` as JSON (``notifications.texts``, the JSON webhook): language →
        ``{"title", "body", "actions"}``."""
        return {language: text.to_json() for language, text in sorted(self.texts.items())}

    def at_least(self, minimum: Priority) -> bool:
        return self.priority >= minimum

    def to_json(self) -> dict[str, Any]:
        """Every field, names as the schema spells them, ``created_at`` in ISO 8601 (UTC,
        milliseconds), ``texts`` per language, ``risk_assessed_on`` and ``risk_expired_on`` as
        YYYY-MM-DD."""
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
            "texts": self.texts_json(),
            "risk_level": self.risk_level,
            "risk_assessed_on": _iso(self.risk_assessed_on),
            "risk_expired_on": _iso(self.risk_expired_on),
        }

    def __repr__(self) -> str:
        return f"Notification({self.notification_id!r}, {self.kind}, {self.priority.name})"


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None
