"""``online-behavior`` → customer profiles, product-interest signals and dead letters (POLICY §6,
§7.1). The shell around :mod:`tiering.profile.rules`; no I/O."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from tiering import metrics
from tiering.core.bank_time import refuse_future
from tiering.core.dedup import EventOutcome
from tiering.core.kinds import SignalKind
from tiering.core.policy import Policy
from tiering.core.signals import Signal
from tiering.core.tiers import Tier
from tiering.processing import (
    BatchContext,
    BatchStore,
    Decisions,
    InputTally,
    Outgoing,
    Statement,
    apply_each,
)
from tiering.profile.events import OnlineEvent, event_from_record
from tiering.profile.rows import ProfileRow, profile_row, profile_rows
from tiering.profile.rules import ProfileApplied, apply_event
from tiering.profile.state import ProfileState, decode_profile_state, encode_profile_state
from tiering.wire.codec import ONLINE_BEHAVIOR_EVENT, AvroCodec
from tiering.wire.inbound import DeadLetter, Inbound, decode_key, value_of
from tiering.wire.signals import encode_signal
from tiering.wire.topics import ONLINE_BEHAVIOR, DeploymentTopics


class ProfileStore(BatchStore[ProfileState]):
    def __init__(self, read: Callable[[bytes], bytes | None]) -> None:
        super().__init__(read, encode_profile_state, decode_profile_state)


@dataclass(slots=True)
class ProfileOutput(InputTally):
    #: PRODUCT_INTEREST signals for the notifier
    interest: list[tuple[int, Signal]] = field(default_factory=list)
    profiles: dict[str, ProfileRow] = field(default_factory=dict)
    #: (event_type, channel, tier) → events, for tiering_online_events_total
    online: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    #: (tier, category label) → PRODUCT_INTEREST signals, for tiering_product_interest_total
    interest_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (tier, branch, rating) of each FEEDBACK, for tiering_satisfaction_rating and its
    #: per-branch twin (§7.1)
    ratings: list[tuple[str, str | None, int]] = field(default_factory=list)


class ProfileProcessor:
    """Decode, check, apply; ``tier_of`` gives a customer's tier from the ledger (kept on the
    same partition: the topics are co-partitioned), ``branch_of`` their branch."""

    def __init__(
        self,
        policy: Policy,
        codec: AvroCodec,
        store: ProfileStore,
        tier_of: Callable[[str], Tier],
        topics: DeploymentTopics,
        branch_of: Callable[[str], str | None] = lambda _: None,
        policy_at: Callable[[int, int], Policy] | None = None,
    ) -> None:
        self.policy = policy
        #: the policy version in force on a partition at an event time (the ledger's versions)
        self.policy_at = policy_at or (lambda partition, at_ms: policy)
        self.codec = codec
        self.store = store
        self.tier_of = tier_of
        self.branch_of = branch_of
        self.topics = topics

    def lookup(self, batch: Sequence[Inbound]) -> Statement | None:
        return None

    def process(self, batch: Sequence[Inbound], context: BatchContext) -> Decisions:
        out = self.decide(batch, context.now_ms)
        records = [
            Outgoing(self.topics.signals, s.customer_id.encode(), encode_signal(s), p)
            for p, s in out.interest
        ]
        records += out.dead_letter_records(self.topics.behavior_dlq, context.now_ms)
        return Decisions(
            rows=profile_rows(list(out.profiles.values())),
            records=records,
            count=partial(count, out),
        )

    def decide(self, batch: Sequence[Inbound], now_ms: int) -> ProfileOutput:
        out = ProfileOutput()
        for message, result in apply_each(batch, partial(self._apply, now_ms=now_ms)):
            if isinstance(result, DeadLetter):
                out.set_aside(result)
            else:
                self._collect(message.partition, *result, now_ms, out)
        return out

    def _apply(
        self, message: Inbound, now_ms: int
    ) -> tuple[OnlineEvent, ProfileState, ProfileApplied]:
        _, record = self.codec.decode(value_of(message), expect=ONLINE_BEHAVIOR_EVENT)
        event = event_from_record(record, self.policy, decode_key(message))
        policy = self.policy_at(message.partition, event.event_time_ms)
        refuse_future(event.event_time_ms, now_ms, policy.max_event_time_lead_ms)
        state = self.store.get(event.customer_id.encode())
        return event, *apply_event(state, event, policy, message.partition)

    def _collect(
        self,
        partition: int,
        event: OnlineEvent,
        state: ProfileState,
        applied: ProfileApplied,
        now_ms: int,
        out: ProfileOutput,
    ) -> None:
        out.outcomes[applied.outcome] += 1
        if applied.outcome is EventOutcome.DUPLICATE:
            return
        self.store.put(event.customer_id.encode(), state, partition)
        tier = self.tier_of(event.customer_id)
        out.online[event.event_type.value, event.channel, tier.name] += 1
        out.lags_ms.append(now_ms - event.event_time_ms)
        if event.rating is not None:
            out.ratings.append((tier.name, self.branch_of(event.customer_id), event.rating))
        if applied.interest is not None:
            out.interest.append((partition, interest_signal(event, tier, applied.interest)))
            policy = self.policy_at(partition, event.event_time_ms)
            category = metrics.interest_category(applied.interest, policy)
            out.interest_counts[tier.name, category] += 1
        out.profiles[event.customer_id] = profile_row(event.customer_id, state, self.policy)


def interest_signal(event: OnlineEvent, tier: Tier, category: str) -> Signal:
    """§6: the customer keeps looking at ``category``."""
    return Signal(
        signal_id=f"interest:{event.event_id}",
        kind=SignalKind.PRODUCT_INTEREST,
        customer_id=event.customer_id,
        tier=tier,
        event_time_ms=event.event_time_ms,
        balance_fen=0,
        detail=category,
    )


def count(out: ProfileOutput) -> None:
    """What a stored batch of online events adds to the metrics."""
    out.count(ONLINE_BEHAVIOR)
    for (event_type, channel, tier), n in out.online.items():
        metrics.ONLINE_EVENTS.labels(event_type, channel, tier).inc(n)
    for (tier, category), n in out.interest_counts.items():
        metrics.PRODUCT_INTEREST.labels(tier, category).inc(n)
    for tier, branch, rating in out.ratings:
        metrics.SATISFACTION.labels(tier).observe(rating)
        metrics.BRANCH_SATISFACTION.labels(metrics.branch_label(branch)).observe(rating)
