"""Who hears of what, how urgently, and what they should do (POLICY §4, §5, §9).

Pure: a :class:`Notice` (a tier change or a signal) and what the notifier remembers of the
customer go in; a :class:`Notification` (or nothing) comes out. Ids are deterministic and
time is event time, so a replay decides the same.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from streams.core.ledger import deterministic_id
from streams.core.money import format_yuan
from streams.core.policy import Policy
from streams.core.tiers import Tier


class Team(enum.Enum):
    """§4: the team that looks after each tier."""

    BRANCH_SERVICE = "BRANCH_SERVICE"  #: tellers with the lobby manager
    CUSTOMER_MANAGER = "CUSTOMER_MANAGER"  #: branch customer managers
    WEALTH_TEAM = "WEALTH_TEAM"  #: senior customer managers with wealth experts
    PRIVATE_BANKING = "PRIVATE_BANKING"  #: head-office private banking with branch management


TEAM_OF = {
    Tier.ORDINARY: Team.BRANCH_SERVICE,
    Tier.POTENTIAL: Team.CUSTOMER_MANAGER,
    Tier.PREMIUM: Team.WEALTH_TEAM,
    Tier.HIGH_END: Team.PRIVATE_BANKING,
}

TIER_NAMES_ZH = {
    Tier.ORDINARY: "普通客戶",
    Tier.POTENTIAL: "潛力客戶",
    Tier.PREMIUM: "優質客戶",
    Tier.HIGH_END: "高端客戶",
}


class Priority(enum.IntEnum):
    LOW = 0
    NORMAL = 1
    HIGH = 2
    URGENT = 3


TIER_CHANGE = "TIER_CHANGE"  #: the notice kind of a TierChange; signals keep their own kind


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the ledger or the profile decided about a customer."""

    notice_id: str  #: the change_id or signal_id: the cause
    kind: str  #: TIER_CHANGE or a signal kind (LARGE_DEPOSIT, CHURN_RISK, ...)
    customer_id: str
    tier: Tier  #: the customer's tier now
    event_time_ms: int
    balance_fen: int
    branch_id: str | None = None  #: the customer's branch, from their postings
    previous_tier: Tier | None = None  #: TIER_CHANGE
    direction: str | None = None  #: TIER_CHANGE: INITIAL, UPGRADE or DOWNGRADE
    by_snapshot: bool = False  #: TIER_CHANGE caused by a BALANCE_SNAPSHOT
    amount_fen: int = (
        0  #: the posting's amount; the peak for CHURN_RISK; the bound for NEAR_UPGRADE
    )
    detail: str | None = None  #: PRODUCT_INTEREST: the product category


@dataclass(frozen=True, slots=True)
class Assignment:
    """From the manager directory: who looks after the customer."""

    manager_id: str
    team: Team
    branch_id: str


@dataclass(slots=True)
class NotifierState:
    """What the notifier remembers of one customer."""

    #: notification kind → event time of the last one sent (for the cooldown)
    last_sent: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notification:
    """A ManagerNotification (manager_notification.avsc)."""

    notification_id: str
    customer_id: str
    tier: Tier
    team: Team
    manager_id: str | None
    branch_id: str | None
    kind: str
    priority: Priority
    title: str
    body: str
    actions: tuple[str, ...]
    source_event_id: str
    created_at_ms: int


class Outcome(enum.Enum):
    EMITTED = "emitted"
    SUPPRESSED = "suppressed"  #: the same kind for the customer within the cooldown
    IGNORED = "ignored"  #: nothing for a manager to do (e.g. an initial placement)


def route(notice: Notice) -> tuple[str, Tier] | None:
    """§4: the notification kind and the tier whose team hears of it, or None.

    An upgrade goes to the new tier's team; a downgrade to the team of the tier the customer
    left (to win them back); an initial placement in PREMIUM or HIGH_END caused by a real
    posting counts as an upgrade. Signals go to the team of the customer's tier.
    """
    if notice.kind != TIER_CHANGE:
        return notice.kind, notice.tier
    if notice.direction == "UPGRADE":
        return "TIER_UPGRADE", notice.tier
    if notice.direction == "DOWNGRADE" and notice.previous_tier is not None:
        return "TIER_DOWNGRADE", notice.previous_tier
    if notice.direction == "INITIAL" and notice.tier >= Tier.PREMIUM and not notice.by_snapshot:
        return "TIER_UPGRADE", notice.tier
    return None


def priority(kind: str, tier: Tier) -> Priority:
    """§5: a new HIGH_END customer is urgent; a new PREMIUM one, a large deposit, or churn
    risk among PREMIUM and HIGH_END customers is high."""
    if kind == "TIER_UPGRADE":
        return {Tier.HIGH_END: Priority.URGENT, Tier.PREMIUM: Priority.HIGH}.get(
            tier, Priority.NORMAL
        )
    if kind == "LARGE_DEPOSIT":
        return Priority.HIGH
    if kind == "CHURN_RISK":
        return Priority.HIGH if tier >= Tier.PREMIUM else Priority.NORMAL
    if kind == "NEAR_UPGRADE":
        return Priority.LOW
    return Priority.NORMAL


def decide(
    notice: Notice, state: NotifierState, policy: Policy, assignment: Assignment | None
) -> tuple[Outcome, Notification | None]:
    """The notification for ``notice``, if any; updates ``state`` when one is sent."""
    routed = route(notice)
    if routed is None:
        return Outcome.IGNORED, None
    kind, team_tier = routed
    team = TEAM_OF[team_tier]
    if notice.kind != TIER_CHANGE:  # tier changes are never suppressed
        last = state.last_sent.get(kind)
        if last is not None and notice.event_time_ms - last < policy.notification_cooldown_ms:
            return Outcome.SUPPRESSED, None
    state.last_sent[kind] = max(
        notice.event_time_ms, state.last_sent.get(kind, notice.event_time_ms)
    )

    # The assigned manager hears of it when they belong to the team concerned; otherwise the
    # team's queue for the customer's branch does.
    manager_id = assignment.manager_id if assignment and assignment.team is team else None
    branch_id = assignment.branch_id if assignment else notice.branch_id
    title, body = describe(kind, notice)
    return Outcome.EMITTED, Notification(
        notification_id=deterministic_id("notification", notice.notice_id, kind),
        customer_id=notice.customer_id,
        tier=notice.tier,
        team=team,
        manager_id=manager_id,
        branch_id=branch_id,
        kind=kind,
        priority=priority(kind, team_tier),
        title=mask_text(title),
        body=mask_text(body),
        actions=tuple(str(a) for a in policy.actions_for(team_tier, kind)),
        source_event_id=notice.notice_id,
        created_at_ms=notice.event_time_ms,
    )


def describe(kind: str, n: Notice) -> tuple[str, str]:
    """Title and body, with the customer named only by the last four characters of the id."""
    who = f"customer {mask_id(n.customer_id)}"
    tier = f"{n.tier.name} ({TIER_NAMES_ZH[n.tier]})"
    balance = f"{format_yuan(n.balance_fen)} CNY"
    if kind == "TIER_UPGRADE":
        was = f" from {n.previous_tier.name}" if n.previous_tier is not None else ""
        return (
            f"Upgrade to {tier}: {who}",
            f"The {who} moved{was} to {n.tier.name}; total deposits {balance}.",
        )
    if kind == "TIER_DOWNGRADE":
        left = n.previous_tier.name if n.previous_tier else "?"
        return (
            f"Moved down from {left} to {n.tier.name}: {who}",
            f"The {who} stayed below the {left} bound through the grace period and is now {tier}; "
            f"total deposits {balance}. Win them back.",
        )
    amount = f"{format_yuan(n.amount_fen)} CNY"
    if kind == "LARGE_DEPOSIT":
        return (
            f"Large deposit of {amount}: {who}",
            f"The {who} ({tier}) received {amount}; total deposits {balance}.",
        )
    if kind == "LARGE_WITHDRAWAL":
        return (
            f"Large withdrawal of {amount}: {who}",
            f"The {who} ({tier}) moved out {amount}; total deposits {balance}.",
        )
    if kind == "CHURN_RISK":
        return (
            f"Churn risk: {who}",
            f"The {who} ({tier}) holds {balance}, half or less of the "
            f"{format_yuan(n.amount_fen)} CNY peak of the last 30 days.",
        )
    if kind == "NEAR_UPGRADE":
        return (
            f"Close to the next tier: {who}",
            f"The {who} ({tier}) holds {balance}, within reach of {format_yuan(n.amount_fen)} CNY.",
        )
    if kind == "PRODUCT_INTEREST":
        return (
            f"Interested in {n.detail or 'a product'}: {who}",
            f"The {who} ({tier}) keeps looking at {n.detail or 'a product'} in online banking.",
        )
    return (
        f"{kind.replace('_', ' ').capitalize()}: {who}",
        f"The {who} ({tier}); total deposits {balance}.",
    )


def mask_id(identifier: str) -> str:
    """§9: only the last four characters of an id, phone or account number."""
    return "****" + identifier[-4:] if len(identifier) > 4 else "****"


_LONG_NUMBER = re.compile(r"\d{7,}")


def mask_text(text: str) -> str:
    """Defence in depth for free text: any run of seven or more digits (an account or phone
    number) keeps only its last four."""
    return _LONG_NUMBER.sub(lambda m: "****" + m.group(0)[-4:], text)
