"""The internal signals → ManagerNotifications on ``manager-notifications`` (POLICY §4, §5,
§7.4). The shell around :mod:`tiering.notify.rules`: it asks for the batch's customers'
context, decodes each signal, decides, and says what to produce and count; no I/O."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from tiering import metrics
from tiering.core.kinds import SignalKind
from tiering.core.policy import Policy
from tiering.notify.context import CustomerContext
from tiering.notify.lookup import context_lookup, contexts
from tiering.notify.notification import Notification
from tiering.notify.records import encode_notification
from tiering.notify.rules import decide
from tiering.notify.state import NotifierState, decode_notifier_state, encode_notifier_state
from tiering.processing import BatchContext, BatchStore, Decisions, Outgoing, Statement
from tiering.wire.codec import AvroCodec
from tiering.wire.inbound import Inbound
from tiering.wire.signals import SignalFormatError, decode_signal
from tiering.wire.topics import SIGNALS, DeploymentTopics

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
    def __init__(
        self,
        policy: Policy,
        codec: AvroCodec,
        store: NotifierStore,
        topics: DeploymentTopics,
        policy_at: Callable[[int, int], Policy] | None = None,
    ) -> None:
        self.policy = policy
        #: the policy version in force on a partition at an event time (the ledger's versions)
        self.policy_at = policy_at or (lambda partition, at_ms: policy)
        self.codec = codec
        self.store = store
        self.topics = topics

    def lookup(self, batch: Sequence[Inbound]) -> Statement | None:
        """The manager and risk assessments of the batch's customers (§4, §9)."""
        return context_lookup(batch)

    def process(self, batch: Sequence[Inbound], context: BatchContext) -> Decisions:
        out = self.decide(batch, contexts(context.found))
        records = [
            Outgoing(
                self.topics.notifications,
                n.customer_id.encode(),
                encode_notification(self.codec, n),
                p,
            )
            for p, n in out.notifications
        ]
        return Decisions(records=records, count=partial(count, out))

    def decide(
        self, batch: Sequence[Inbound], context: Mapping[str, CustomerContext]
    ) -> NotifierOutput:
        out = NotifierOutput()
        for message in batch:
            try:
                signal = decode_signal(message.value or b"")
            except SignalFormatError as exc:
                # Written by this service: a version mismatch, not a customer's bad input.
                log.error(
                    "unreadable signal at %s[%d]@%d: %s",
                    message.topic,
                    message.partition,
                    message.offset,
                    exc,
                )
                out.unreadable += 1
                continue
            key = signal.customer_id.encode()
            state = self.store.get(key) or NotifierState()
            known = context.get(signal.customer_id, CustomerContext())
            policy = self.policy_at(message.partition, signal.event_time_ms)
            decision = decide(signal, state, policy, known.assignment, known.assessments)
            # a purchase is remembered even when it matches no suggestion yet; a team's notice
            # (no customer) leaves no state
            remember = decision.notifications or decision.conversions
            if signal.customer_id and (remember or signal.kind == SignalKind.PURCHASE):
                self.store.put(key, state, message.partition)
            out.notifications += ((message.partition, n) for n in decision.notifications)
            for kind, team in decision.routed:
                out.outcomes[kind, team.value, decision.outcome.value] += 1
            for tier, suggested_by in decision.conversions:
                out.conversions[tier.name, suggested_by] += 1
        return out


def count(out: NotifierOutput) -> None:
    """What a stored batch of signals adds to the metrics."""
    for (kind, team, outcome), n in out.outcomes.items():
        metrics.NOTIFICATIONS.labels(kind, team, outcome).inc(n)
    for (tier, kind), n in out.conversions.items():
        metrics.CONVERSIONS.labels(tier, kind).inc(n)
    if out.unreadable:
        metrics.EVENTS.labels(SIGNALS, "dead_letter").inc(out.unreadable)
