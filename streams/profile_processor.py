"""Turns a batch of raw ``online-behavior`` messages into profile updates, product-interest
notices and dead letters (the shell around :mod:`streams.core.profile`); no I/O."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from streams.codec import ONLINE_BEHAVIOR_EVENT, AvroCodec
from streams.core.ledger import Outcome
from streams.core.notifier import PRODUCT_INTEREST, Notice
from streams.core.policy import DAY_MS, Policy
from streams.core.postings import BadInput
from streams.core.profile import (
    ProfileState,
    apply_event,
    event_from_record,
    interest_now,
    logins_within,
    views_within,
)
from streams.core.state_codec import decode_profile_state, encode_profile_state
from streams.core.tiers import Tier
from streams.ledger_processor import DeadLetter, Inbound, decode_key, set_aside
from streams.state import BatchStore

log = logging.getLogger(__name__)


class ProfileStore(BatchStore[ProfileState]):
    def __init__(self, read: Callable[[bytes], bytes | None]) -> None:
        super().__init__(read, encode_profile_state, decode_profile_state)


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """A row of ``customer_profiles``."""

    customer_id: str
    logins_7d: int
    logins_30d: int
    channels: dict[str, int]
    business_types: dict[str, int]
    views_7d: dict[str, int]
    interest: dict[str, float]
    last_ratings: list[int]
    last_seen_ms: int
    version: int


@dataclass(slots=True)
class ProfileOutput:
    dead_letters: list[DeadLetter] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    #: PRODUCT_INTEREST notices for the notifier
    interest: list[tuple[int, Notice]] = field(default_factory=list)
    profiles: dict[str, ProfileRow] = field(default_factory=dict)
    #: (event_type, channel, tier) → events, for tiering_online_events_total
    online: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    #: (tier, rating) of each FEEDBACK, for tiering_satisfaction_rating
    ratings: list[tuple[str, int]] = field(default_factory=list)
    lags_ms: list[int] = field(default_factory=list)


class ProfileProcessor:
    """Decode, check, apply; ``tier_of`` gives a customer's tier from the ledger (the ledger
    table of the same partition: the topics are co-partitioned)."""

    def __init__(
        self, policy: Policy, codec: AvroCodec, store: ProfileStore, tier_of: Callable[[str], Tier]
    ) -> None:
        self.policy = policy
        self.codec = codec
        self.store = store
        self.tier_of = tier_of

    def process(self, batch: Sequence[Inbound], now_ms: int) -> ProfileOutput:
        out = ProfileOutput()
        for message in batch:
            try:
                if message.value is None:
                    raise BadInput("empty_value", "the message has no value (a tombstone?)")
                _, record = self.codec.decode(message.value, expect=ONLINE_BEHAVIOR_EVENT)
                event = event_from_record(record, self.policy, decode_key(message))
                key = event.customer_id.encode()
                state, applied = apply_event(
                    self.store.get(key), event, self.policy, message.partition
                )
            except Exception as exc:  # bad input, or a bug that met this event: set it aside
                out.dead_letters.append(set_aside(message, exc))
                out.outcomes["dead_letter"] += 1
                continue
            out.outcomes[applied.outcome.value] += 1
            if applied.outcome is Outcome.DUPLICATE:
                continue
            self.store.put(key, state, message.partition)
            tier = self.tier_of(event.customer_id)
            out.online[event.event_type.value, event.channel, tier.name] += 1
            out.lags_ms.append(now_ms - event.event_time_ms)
            if event.rating is not None:
                out.ratings.append((tier.name, event.rating))
            if applied.interest is not None:
                out.interest.append(
                    (
                        message.partition,
                        Notice(
                            notice_id=f"interest:{event.event_id}",
                            kind=PRODUCT_INTEREST,
                            customer_id=event.customer_id,
                            tier=tier,
                            event_time_ms=event.event_time_ms,
                            balance_fen=0,
                            detail=applied.interest,
                        ),
                    )
                )
            out.profiles[event.customer_id] = self.row(event.customer_id, state)
        return out

    def row(self, customer_id: str, state: ProfileState) -> ProfileRow:
        return ProfileRow(
            customer_id=customer_id,
            logins_7d=logins_within(state, 7),
            logins_30d=logins_within(state, 30),
            channels=dict(state.channels),
            business_types=dict(state.business),
            views_7d=views_within(state, 7 * DAY_MS),
            interest=interest_now(state, self.policy.interest_half_life_ms),
            last_ratings=list(state.ratings),
            last_seen_ms=state.clock_ms,
            version=state.version,
        )
