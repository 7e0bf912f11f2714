"""Why a customer is in their tier (issue 18, point 4), shaped from what PostgreSQL keeps, for
a supervisor or a complaint handler: the tier and its §3 bounds, the policy version that
decided it, the tier changes and what moved each, a pending downgrade and when it falls due.
The balance basis is the instant balance (the total of the deposit accounts, §3).

Pure: rows in, an :class:`Explanation` out; ``tiering explain`` and the inbox's detail page
each word it in their reader's language. The SQL is in :mod:`tiering.directory.explanations`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tiering.core.policy import Policy
from tiering.core.policy_versions import POLICY_SWITCH_PREFIX
from tiering.core.tiers import Direction, Tier
from tiering.ledger.average import AVERAGE_PREFIX
from tiering.ledger.fx import FX_RATE_PREFIX
from tiering.ledger.rules import GRACE_EXPIRY_PREFIX


class TriggerKind(enum.StrEnum):
    """What moved a customer from one tier to another."""

    POSTING = "POSTING"  #: a posting, by its txn_id
    GRACE_EXPIRY = "GRACE_EXPIRY"  #: §3: the grace period of a downgrade ended
    FX_RATE = "FX_RATE"  #: §3: a foreign account revalued at a new exchange rate
    POLICY_CHANGE = "POLICY_CHANGE"  #: a new policy version re-placed the customer
    AVERAGE = "AVERAGE"  #: §3 [basis] adb: the average daily balance reached a bound


@dataclass(frozen=True, slots=True)
class Trigger:
    kind: TriggerKind
    #: the posting's txn_id or the rate's id; None for a grace-period expiry (its id repeats
    #: the customer id and the deadline, which the change shows already)
    reference: str | None


def trigger_of(trigger_event_id: str) -> Trigger:
    """What a ``tier_changes.trigger_event_id`` names."""
    if trigger_event_id.startswith(GRACE_EXPIRY_PREFIX):
        return Trigger(TriggerKind.GRACE_EXPIRY, None)
    if trigger_event_id.startswith(FX_RATE_PREFIX):
        return Trigger(TriggerKind.FX_RATE, trigger_event_id.removeprefix(FX_RATE_PREFIX))
    if trigger_event_id.startswith(POLICY_SWITCH_PREFIX):
        version = trigger_event_id.removeprefix(POLICY_SWITCH_PREFIX)
        return Trigger(TriggerKind.POLICY_CHANGE, version)
    if trigger_event_id.startswith(AVERAGE_PREFIX):
        return Trigger(TriggerKind.AVERAGE, None)
    return Trigger(TriggerKind.POSTING, trigger_event_id)


@dataclass(frozen=True, slots=True)
class TierMove:
    """One row of ``tier_changes``."""

    event_time_ms: int
    previous_tier: Tier | None
    new_tier: Tier
    direction: Direction
    balance_fen: int  #: the total the decision was taken on
    trigger: Trigger
    policy_version: str


@dataclass(frozen=True, slots=True)
class NoticeLine:
    """One notification about the customer: what, to which team, when, acknowledged or not."""

    kind: str
    team: str
    created_at: datetime
    acknowledged: bool


@dataclass(frozen=True, slots=True)
class Explanation:
    customer_id: str
    tier: Tier
    balance_fen: int  #: the instant deposit balance, the §3 basis
    branch_id: str | None
    as_of_ms: int  #: event time of the newest posting applied
    lower_bound_fen: int  #: §3: the tier's lower bound, inclusive
    upper_bound_fen: int | None  #: the next tier's lower bound; None for HIGH_END
    #: §3: when the pending downgrade from the tier falls due, None when none is pending
    downgrade_due_ms: int | None
    moves: tuple[TierMove, ...]  #: newest first
    notices: tuple[NoticeLine, ...] = ()  #: newest first
    #: ``[basis] adb``: the average daily balance at ``as_of_ms`` and where its window began;
    #: None when the policy tiers on the balance alone
    average_fen: int | None = None
    average_since_ms: int | None = None

    @property
    def decided_by(self) -> str | None:
        """The policy version of the newest tier change: the one that placed the customer in
        their tier (None if the history kept shows none)."""
        return self.moves[0].policy_version if self.moves else None


def tier_bounds(tier: Tier, policy: Policy) -> tuple[int, int | None]:
    """§3: the tier's lower bound (inclusive) and the next tier's, in fen."""
    upper = None if tier is Tier.HIGH_END else policy.lower_bound(Tier(tier + 1))
    return policy.lower_bound(tier), upper


def move_from(row: Mapping[str, Any]) -> TierMove:
    """A ``tier_changes`` row as :data:`tiering.directory.explanations.CHANGES` reads it."""
    previous = row["previous_tier"]
    return TierMove(
        event_time_ms=int(row["event_time_ms"]),
        previous_tier=Tier[previous] if previous else None,
        new_tier=Tier[row["new_tier"]],
        direction=Direction(row["direction"]),
        balance_fen=int(row["balance_fen"]),
        trigger=trigger_of(row["trigger_event_id"]),
        policy_version=row["policy_version"],
    )


def explanation_from(
    balance: Mapping[str, Any],
    changes: Sequence[Mapping[str, Any]],
    policy: Policy,
    notices: Sequence[Mapping[str, Any]] = (),
) -> Explanation:
    """The explanation of a customer from their ``customer_balances`` row, their tier changes
    newest first, and their notifications newest first."""
    tier = Tier[balance["tier"]]
    lower, upper = tier_bounds(tier, policy)
    due = balance["downgrade_due_ms"]
    average, since = balance.get("average_fen"), balance.get("average_since_ms")
    return Explanation(
        customer_id=balance["customer_id"],
        tier=tier,
        balance_fen=int(balance["balance_fen"]),
        branch_id=balance["branch_id"],
        as_of_ms=int(balance["as_of_ms"]),
        lower_bound_fen=lower,
        upper_bound_fen=upper,
        downgrade_due_ms=None if due is None else int(due),
        moves=tuple(move_from(c) for c in changes),
        notices=tuple(
            NoticeLine(n["kind"], n["team"], n["created_at"], n["acknowledged_at"] is not None)
            for n in notices
        ),
        average_fen=None if average is None else int(average),
        average_since_ms=None if since is None else int(since),
    )
