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
PRODUCT_INTEREST = "PRODUCT_INTEREST"  #: from the profile: detail is the category looked at
PURCHASE = "PURCHASE"  #: from the ledger: a posting into a product; detail is its category
#: what the customer is offered when their risk tolerance is unknown (§9)
LOWEST_RISK = 1
#: suggestions and purchases remembered per customer for conversions (each list)
MAX_REMEMBERED = 16


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
    detail: str | None = None  #: PRODUCT_INTEREST, PURCHASE: the product category


@dataclass(frozen=True, slots=True)
class Assignment:
    """From the manager directory: who looks after the customer."""

    manager_id: str
    team: Team
    branch_id: str


@dataclass(frozen=True, slots=True)
class CustomerContext:
    """What the bank's records say of a customer: their manager and their risk tolerance."""

    assignment: Assignment | None = None
    risk_level: int | None = None  #: 1 (lowest) to 5, from tiering import-risk-profiles


@dataclass(slots=True)
class NotifierState:
    """What the notifier remembers of one customer."""

    #: notification kind → event time of the last one sent (for the cooldown)
    last_sent: dict[str, int] = field(default_factory=dict)
    #: (product category, kind of the notification that offered it, event time), oldest first
    suggested: list[tuple[str, str, int]] = field(default_factory=list)
    #: (product category, event time) of purchases not yet matched to a suggestion
    purchases: list[tuple[str, int]] = field(default_factory=list)


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


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    notification: Notification | None = None
    #: §7.4 marketing completion: (customer's tier, kind of the notification that suggested it)
    conversions: tuple[tuple[Tier, str], ...] = ()


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
    notice: Notice,
    state: NotifierState,
    policy: Policy,
    assignment: Assignment | None,
    tolerance: int | None = None,
) -> Decision:
    """The notification for ``notice``, if any, and the conversions it completes; updates
    ``state``. ``tolerance`` is the customer's known risk level (1-5), if any."""
    if notice.kind == PURCHASE:
        return Decision(Outcome.IGNORED, conversions=_purchased(state, notice, policy))
    routed = route(notice)
    if routed is None:
        return Decision(Outcome.IGNORED)
    kind, team_tier = routed
    team = TEAM_OF[team_tier]
    if notice.kind != TIER_CHANGE:  # tier changes are never suppressed
        last = state.last_sent.get(kind)
        if last is not None and notice.event_time_ms - last < policy.notification_cooldown_ms:
            return Decision(Outcome.SUPPRESSED)
    state.last_sent[kind] = max(
        notice.event_time_ms, state.last_sent.get(kind, notice.event_time_ms)
    )
    actions, offered = recommend(policy, team_tier, kind, tolerance, notice.detail)
    conversions = _suggested(state, offered, kind, notice, policy)

    # The assigned manager hears of it when they belong to the team concerned; otherwise the
    # team's queue for the customer's branch does.
    manager_id = assignment.manager_id if assignment and assignment.team is team else None
    branch_id = assignment.branch_id if assignment else notice.branch_id
    title, body = describe(kind, notice, policy)
    notification = Notification(
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
        actions=actions,
        source_event_id=notice.notice_id,
        created_at_ms=notice.event_time_ms,
    )
    return Decision(Outcome.EMITTED, notification, conversions)


def recommend(
    policy: Policy, tier: Tier, kind: str, tolerance: int | None, viewed: str | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """§5 actions for ``tier``'s team and ``kind``, keeping only products within the customer's
    risk tolerance (§9; unknown: the lowest-risk products only); for product interest, the
    tier's combination for the category looked at. Returns (action lines, categories offered)."""
    limit = tolerance if tolerance is not None else LOWEST_RISK

    def allowed(category: str) -> bool:
        product = policy.products.get(category)
        return product is not None and product.risk <= limit

    kept = [a for a in policy.actions_for(tier, kind) if all(allowed(p) for p in a.products)]
    lines = [str(a) for a in kept]
    offered = [p for a in kept for p in a.products]
    if kind == PRODUCT_INTEREST and viewed:
        combination = [c for c in policy.combination(tier, viewed) if allowed(c)]
        if combination:
            en = " + ".join(policy.products[c].en for c in combination)
            zh = "＋".join(policy.products[c].zh for c in combination)
            lines.append(f"Propose: {en} / 推薦：{zh}")
            offered += combination
    return tuple(lines), tuple(dict.fromkeys(offered))


def _suggested(
    state: NotifierState, offered: tuple[str, ...], kind: str, notice: Notice, policy: Policy
) -> tuple[tuple[Tier, str], ...]:
    """Remember what was offered; a purchase already seen just after it is a conversion."""
    at, window = notice.event_time_ms, policy.conversion_window_ms
    conversions = []
    for category in offered:
        bought = [p for p in state.purchases if p[0] == category and at <= p[1] <= at + window]
        if bought:
            state.purchases.remove(bought[0])
            conversions.append((notice.tier, kind))
        else:
            state.suggested.append((category, kind, at))
    _forget_old(state, at, window)
    return tuple(conversions)


def _purchased(
    state: NotifierState, notice: Notice, policy: Policy
) -> tuple[tuple[Tier, str], ...]:
    """§7.4: a purchase of a category offered within the conversion window before it counts
    once, for the latest such offer; in event time, whichever of the two arrives first."""
    category, at, window = notice.detail, notice.event_time_ms, policy.conversion_window_ms
    if category is None:
        return ()
    offers = [s for s in state.suggested if s[0] == category and s[2] <= at <= s[2] + window]
    _forget_old(state, at, window)
    if not offers:
        state.purchases.append((category, at))
        del state.purchases[:-MAX_REMEMBERED]
        return ()
    latest = max(offers, key=lambda s: s[2])
    state.suggested.remove(latest)
    return ((notice.tier, latest[1]),)


def _forget_old(state: NotifierState, now: int, window: int) -> None:
    state.suggested = [s for s in state.suggested if s[2] >= now - window][-MAX_REMEMBERED:]
    state.purchases = [p for p in state.purchases if p[1] >= now - window][-MAX_REMEMBERED:]


def describe(kind: str, n: Notice, policy: Policy) -> tuple[str, str]:
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
        product = policy.products.get(n.detail or "")
        what = f"{product.en} ({product.zh})" if product else (n.detail or "a product")
        return (
            f"Interested in {what}: {who}",
            f"The {who} ({tier}) keeps looking at {what} in online banking.",
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
