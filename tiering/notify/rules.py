"""Who hears of what, how urgently, and what they should do (POLICY §4, §5, §7.4, §9).

Pure: a :class:`~tiering.core.signals.Signal`, what the notifier remembers of the customer and
the customer's risk assessments go in; notifications
(:class:`~tiering.notify.notification.Notification`: one, two for a downgrade, or none) come
out, with the conversions they complete. Ids are deterministic and time is event time, so a
replay decides the same.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from tiering.core.bank_time import bank_day
from tiering.core.ids import deterministic_id
from tiering.core.kinds import NotificationKind, Priority, SignalKind
from tiering.core.policy import HANDOVER, Action, Policy
from tiering.core.signals import Signal
from tiering.core.teams import TEAM_OF, Team, handover, route
from tiering.core.tiers import Tier
from tiering.i18n import LANGUAGES
from tiering.notify import contract_wording, wording
from tiering.notify.context import Assessment, Assignment
from tiering.notify.notification import NoticeText, Notification
from tiering.notify.retiering import retiering_notice
from tiering.notify.state import NotifierState
from tiering.notify.wording import Recommendation, mask_text

#: what the customer is offered when their risk tolerance is unknown (§9)
LOWEST_RISK = 1
#: suggestions and purchases remembered per customer for conversions (each list)
MAX_REMEMBERED = 16


class NotificationOutcome(enum.StrEnum):
    """``tiering_notifications_total{outcome}``, and IGNORED for what concerns no one."""

    EMITTED = "emitted"
    SUPPRESSED = "suppressed"  #: the same kind for the customer within the cooldown
    IGNORED = "ignored"  #: nothing for a manager to do (e.g. an initial placement)


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: NotificationOutcome
    #: what is sent: one notification, or two for a downgrade (the win-back, then the hand-over)
    notifications: tuple[Notification, ...] = ()
    #: the kind and team of each notification the signal concerns, once routed (emitted or
    #: suppressed)
    routed: tuple[tuple[NotificationKind, Team], ...] = ()
    #: §7.4 marketing completion: (customer's tier, kind of the notification that suggested it)
    conversions: tuple[tuple[Tier, str], ...] = ()

    @property
    def notification(self) -> Notification | None:
        """The first notification: the only one, or a downgrade's win-back."""
        return self.notifications[0] if self.notifications else None


def priority(kind: NotificationKind, tier: Tier) -> Priority:
    """§5: a new HIGH_END customer is urgent; a new PREMIUM one, a large deposit, or churn
    risk among PREMIUM and HIGH_END customers is high. A campaign (§6) reaches a whole cohort
    at once: low, so that channels kept for what cannot wait are not flooded by it."""
    if kind == NotificationKind.TIER_UPGRADE:
        return {Tier.HIGH_END: Priority.URGENT, Tier.PREMIUM: Priority.HIGH}.get(
            tier, Priority.NORMAL
        )
    if kind == NotificationKind.LARGE_DEPOSIT:
        return Priority.HIGH
    if kind == NotificationKind.CHURN_RISK:
        return Priority.HIGH if tier >= Tier.PREMIUM else Priority.NORMAL
    if kind in (NotificationKind.NEAR_UPGRADE, NotificationKind.CAMPAIGN):
        return Priority.LOW
    return Priority.NORMAL


def assessment_in_force(
    assessments: Sequence[Assessment], event_time_ms: int, valid_months: int
) -> Assessment | None:
    """§9: the customer's known risk tolerance at ``event_time_ms`` (the event time of what a
    notification answers, never the clock): their newest assessment dated on or before that
    bank day, if it was made no more than ``valid_months`` calendar months before it (exactly
    that many months before still counts, a day more does not). None: unknown."""
    day = _bank_date(event_time_ms)
    made = [a for a in assessments if a.assessed_on <= day]
    if not made:
        return None
    newest = max(made, key=lambda a: a.assessed_on)
    return newest if newest.assessed_on >= _months_before(day, valid_months) else None


def expired_assessment(
    assessments: Sequence[Assessment], event_time_ms: int, valid_months: int
) -> date | None:
    """§9 audit trail: the day of the customer's newest assessment on or before the bank day of
    ``event_time_ms`` when it had expired there (:func:`assessment_in_force` found none in
    force because of it); None when there is none at all, or it is in force."""
    day = _bank_date(event_time_ms)
    made = [a.assessed_on for a in assessments if a.assessed_on <= day]
    if not made or assessment_in_force(assessments, event_time_ms, valid_months) is not None:
        return None
    return max(made)


def _bank_date(ms: int) -> date:
    return date(1970, 1, 1) + timedelta(days=bank_day(ms))


def _months_before(day: date, months: int) -> date:
    """The same day of the month ``months`` earlier (the month's last day if it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def decide(
    signal: Signal,
    state: NotifierState,
    policy: Policy,
    assignment: Assignment | None,
    assessments: Sequence[Assessment] = (),
) -> Decision:
    """The notifications for ``signal``, if any, and the conversions they complete; updates
    ``state``. ``assessments``: the customer's risk assessments; the one in force at the
    signal's event time (:func:`assessment_in_force`) bounds what is recommended, and each
    notification records it (§9).

    §4: a downgrade tells two teams, each in a notification of its own (kind TIER_DOWNGRADE):
    the team the customer left, to win them back, and the new tier's team, which takes them
    over (the hand-over, with the policy's HANDOVER actions of the new tier)."""
    if signal.kind == SignalKind.PURCHASE:
        return Decision(NotificationOutcome.IGNORED, conversions=_purchased(state, signal, policy))
    if signal.kind == SignalKind.POLICY_CHANGE:  # a team's grouped notice, no one customer's
        notice = retiering_notice(signal)
        return Decision(NotificationOutcome.EMITTED, (notice,), ((notice.kind, notice.team),))
    routed = route(signal)
    if routed is None:
        return Decision(NotificationOutcome.IGNORED)
    kind, team_tier = routed
    team = TEAM_OF[team_tier]
    valid_months = policy.assessment_valid_months
    known = assessment_in_force(assessments, signal.event_time_ms, valid_months)
    expired_on = expired_assessment(assessments, signal.event_time_ms, valid_months)
    tolerance = known.risk_level if known is not None else None
    if signal.kind == SignalKind.CAMPAIGN and not campaign_suitable(policy, signal, tolerance):
        return Decision(NotificationOutcome.IGNORED)
    if signal.kind != SignalKind.TIER_CHANGE:  # tier changes are never suppressed
        last = state.last_sent.get(kind)
        if last is not None and signal.event_time_ms - last < policy.notification_cooldown_ms:
            return Decision(NotificationOutcome.SUPPRESSED, routed=((kind, team),))
    state.last_sent[kind] = max(
        signal.event_time_ms, state.last_sent.get(kind, signal.event_time_ms)
    )
    audiences: list[tuple[Tier, str | None]] = [(team_tier, None)]
    taker = handover(signal)
    if taker is not None:
        audiences.append((taker, HANDOVER))
    notifications: list[Notification] = []
    conversions: list[tuple[Tier, str]] = []
    for tier, cause in audiences:
        advice, offered = recommend(policy, tier, cause or kind, tolerance, signal.detail)
        conversions += _suggested(state, offered, kind, signal, policy)
        notifications.append(
            _notification(signal, policy, assignment, kind, tier, cause, advice, known, expired_on)
        )
    return Decision(
        NotificationOutcome.EMITTED,
        tuple(notifications),
        tuple((n.kind, n.team) for n in notifications),
        tuple(conversions),
    )


def _notification(
    signal: Signal,
    policy: Policy,
    assignment: Assignment | None,
    kind: NotificationKind,
    team_tier: Tier,
    cause: str | None,
    advice: Recommendation,
    known: Assessment | None,
    expired_on: date | None,
) -> Notification:
    """The notification to ``team_tier``'s team; ``cause`` HANDOVER for a downgrade's
    hand-over, which has an id of its own (a second notification for the same signal).
    ``known``: the assessment its products were kept within (§9), recorded on it; else
    ``expired_on``, the day of the expired assessment that left the tolerance unknown."""
    team = TEAM_OF[team_tier]
    # The assigned manager hears of it when they belong to the team concerned; otherwise the
    # team's queue for the customer's branch does.
    manager_id = assignment.manager_id if assignment and assignment.team is team else None
    branch_id = assignment.branch_id if assignment else signal.branch_id
    handing_over = cause == HANDOVER
    title, body = contract_wording.describe(kind, signal, policy, handing_over)
    id_parts = (signal.signal_id, kind, HANDOVER) if handing_over else (signal.signal_id, kind)
    return Notification(
        notification_id=deterministic_id("notification", *id_parts),
        customer_id=signal.customer_id,
        tier=signal.tier,
        team=team,
        manager_id=manager_id,
        branch_id=branch_id,
        kind=kind,
        priority=priority(kind, team_tier),
        title=mask_text(title),
        body=mask_text(body),
        actions=contract_wording.action_lines(advice, policy),
        source_event_id=signal.signal_id,
        created_at_ms=signal.event_time_ms,
        texts=texts(kind, signal, policy, advice, handing_over),
        risk_level=known.risk_level if known is not None else None,
        risk_assessed_on=known.assessed_on if known is not None else None,
        risk_expired_on=expired_on,
    )


def texts(
    kind: NotificationKind,
    signal: Signal,
    policy: Policy,
    advice: Recommendation,
    handing_over: bool = False,
) -> dict[str, NoticeText]:
    """§5 in every language the service speaks, masked (§9): each reader gets their own."""
    out: dict[str, NoticeText] = {}
    for language in LANGUAGES:
        title, body = wording.describe(kind, signal, policy, language, handing_over)
        actions = wording.action_lines(advice, policy, language)
        out[language] = NoticeText(
            mask_text(title), mask_text(body), tuple(mask_text(a) for a in actions)
        )
    return out


def recommend(
    policy: Policy,
    tier: Tier,
    kind: str,
    tolerance: int | None,
    detail: str | None,
) -> tuple[Recommendation, tuple[str, ...]]:
    """§5 actions for ``tier``'s team and ``kind`` (or the cause HANDOVER), keeping only
    products within the customer's risk tolerance (§9; unknown: the lowest-risk products
    only); for product interest, the tier's combination for the category looked at
    (``detail``); for a campaign (§6, ``detail`` its name), the campaign's action and
    combination. Returns (what to recommend, categories offered)."""

    def allowed(category: str) -> bool:
        return within_tolerance(policy, (category,), tolerance)

    campaign = policy.campaigns.get(detail or "") if kind == NotificationKind.CAMPAIGN else None
    if campaign is not None and campaign.action is not None:
        listed: tuple[Action, ...] = (campaign.action,)
    else:
        # a campaign without its own action is worded like the interest it answers (§6)
        cause = NotificationKind.PRODUCT_INTEREST if kind == NotificationKind.CAMPAIGN else kind
        listed = policy.actions_for(tier, cause)
    kept = tuple(a for a in listed if all(allowed(p) for p in a.products))
    offered = [p for a in kept for p in a.products]
    combination: tuple[str, ...] = ()
    if kind == NotificationKind.PRODUCT_INTEREST and detail:
        combination = tuple(c for c in policy.combination(tier, detail) if allowed(c))
    elif campaign is not None:
        combination = tuple(c for c in campaign.products if allowed(c))
    offered += combination
    return Recommendation(kept, combination), tuple(dict.fromkeys(offered))


def campaign_suitable(policy: Policy, signal: Signal, tolerance: int | None) -> bool:
    """§6, §9: a campaign signal is told only while its campaign is in the policy and the
    customer's known risk tolerance (unknown: the lowest-risk products only) admits every
    product of its combination: the combination is pushed whole or not at all."""
    campaign = policy.campaigns.get(signal.detail or "")
    return campaign is not None and within_tolerance(policy, campaign.products, tolerance)


def within_tolerance(policy: Policy, products: Sequence[str], tolerance: int | None) -> bool:
    """§9: every one of ``products`` is a product of the policy within ``tolerance`` (None:
    unknown, the lowest-risk products only)."""
    limit = tolerance if tolerance is not None else LOWEST_RISK
    found = [policy.products.get(p) for p in products]
    return all(product is not None and product.risk <= limit for product in found)


def _suggested(
    state: NotifierState, offered: tuple[str, ...], kind: str, signal: Signal, policy: Policy
) -> tuple[tuple[Tier, str], ...]:
    """Remember what was offered; a purchase already seen just after it is a conversion."""
    at, window = signal.event_time_ms, policy.conversion_window_ms
    conversions = []
    for category in offered:
        bought = [p for p in state.purchases if p[0] == category and at <= p[1] <= at + window]
        if bought:
            state.purchases.remove(bought[0])
            conversions.append((signal.tier, kind))
        else:
            state.suggested.append((category, kind, at))
    _forget_old(state, at, window)
    return tuple(conversions)


def _purchased(
    state: NotifierState, signal: Signal, policy: Policy
) -> tuple[tuple[Tier, str], ...]:
    """§7.4: a purchase of a category offered within the conversion window before it counts
    once, for the latest such offer; in event time, whichever of the two arrives first."""
    category, at, window = signal.detail, signal.event_time_ms, policy.conversion_window_ms
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
    return ((signal.tier, latest[1]),)


def _forget_old(state: NotifierState, now: int, window: int) -> None:
    state.suggested = [s for s in state.suggested if s[2] >= now - window][-MAX_REMEMBERED:]
    state.purchases = [p for p in state.purchases if p[1] >= now - window][-MAX_REMEMBERED:]
