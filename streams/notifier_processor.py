"""Turns a batch of notices into ManagerNotifications (the shell around
:mod:`streams.core.notifier`): decode, look up what the notifier remembers, decide."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from streams.codec import MANAGER_NOTIFICATION, AvroCodec
from streams.core.notifier import (
    PURCHASE,
    TEAM_OF,
    CustomerContext,
    Notification,
    NotifierState,
    Outcome,
    decide,
    route,
)
from streams.core.policy import Policy
from streams.core.state_codec import decode_notifier_state, encode_notifier_state
from streams.ledger_processor import Inbound
from streams.notices import NoticeFormatError, decode_notice
from streams.state import BatchStore

log = logging.getLogger(__name__)


class NotifierStore(BatchStore[NotifierState]):
    def __init__(self, read: Callable[[bytes], bytes | None]) -> None:
        super().__init__(read, encode_notifier_state, decode_notifier_state)


@dataclass(slots=True)
class NotifierOutput:
    notifications: list[tuple[int, Notification]] = field(default_factory=list)
    #: (kind, team, outcome) → count, for tiering_notifications_total
    outcomes: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    #: (tier, notification kind) → count, for tiering_conversions_total
    conversions: Counter[tuple[str, str]] = field(default_factory=Counter)
    unreadable: int = 0


class NotifierProcessor:
    def __init__(self, policy: Policy, store: NotifierStore) -> None:
        self.policy = policy
        self.store = store

    def process(
        self, batch: Sequence[Inbound], context: Mapping[str, CustomerContext]
    ) -> NotifierOutput:
        out = NotifierOutput()
        for message in batch:
            try:
                notice = decode_notice(message.value or b"")
            except NoticeFormatError as exc:
                # Written by this service: a version mismatch, not a customer's bad input.
                log.error(
                    "unreadable notice at %s[%d]@%d: %s",
                    message.topic,
                    message.partition,
                    message.offset,
                    exc,
                )
                out.unreadable += 1
                continue
            key = notice.customer_id.encode()
            state = self.store.get(key) or NotifierState()
            known = context.get(notice.customer_id, CustomerContext())
            decision = decide(notice, state, self.policy, known.assignment, known.risk_level)
            notification = decision.notification
            if notification is not None or decision.conversions or notice.kind == PURCHASE:
                self.store.put(key, state, message.partition)
            if notification is not None:
                out.notifications.append((message.partition, notification))
                out.outcomes[
                    notification.kind, notification.team.value, decision.outcome.value
                ] += 1
            elif decision.outcome is Outcome.SUPPRESSED:
                kind, tier = route(notice) or (notice.kind, notice.tier)
                out.outcomes[kind, TEAM_OF[tier].value, decision.outcome.value] += 1
            for tier, kind in decision.conversions:
                out.conversions[tier.name, kind] += 1
        return out


def notification_record(n: Notification) -> dict[str, object]:
    return {
        "notification_id": n.notification_id,
        "customer_id": n.customer_id,
        "tier": n.tier.name,
        "team": n.team.value,
        "manager_id": n.manager_id,
        "branch_id": n.branch_id,
        "kind": n.kind,
        "priority": n.priority.name,
        "title": n.title,
        "body": n.body,
        "actions": list(n.actions),
        "source_event_id": n.source_event_id,
        "created_at": n.created_at_ms,
    }


def encode_notification(codec: AvroCodec, n: Notification) -> bytes:
    return codec.encode(MANAGER_NOTIFICATION, notification_record(n))
