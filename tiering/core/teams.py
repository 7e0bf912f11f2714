"""Who looks after each tier (POLICY §4), and which team hears of a signal."""

from __future__ import annotations

import enum

from tiering.core.kinds import NotificationKind, SignalKind
from tiering.core.signals import Signal
from tiering.core.tiers import Direction, Tier


class Team(enum.StrEnum):
    """§4: the team that looks after each tier (ManagerNotification.team)."""

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


def route(signal: Signal) -> tuple[NotificationKind, Tier] | None:
    """§4: the notification kind and the tier whose team hears of ``signal``, or None.

    An upgrade goes to the new tier's team; a downgrade to the team of the tier the customer
    left (to win them back; the new tier's team hears of it too, :func:`handover`); an initial
    placement in PREMIUM or HIGH_END caused by a real posting counts as an upgrade. Signals go
    to the team of the customer's tier. A purchase is no one's news: it only completes a
    conversion (§7.4).
    """
    if signal.kind == SignalKind.PURCHASE:
        return None
    if signal.kind != SignalKind.TIER_CHANGE:
        return NotificationKind(signal.kind), signal.tier
    if signal.direction == Direction.UPGRADE:
        return NotificationKind.TIER_UPGRADE, signal.tier
    if signal.direction == Direction.DOWNGRADE and signal.previous_tier is not None:
        return NotificationKind.TIER_DOWNGRADE, signal.previous_tier
    if (
        signal.direction == Direction.INITIAL
        and signal.tier >= Tier.PREMIUM
        and not signal.by_snapshot
    ):
        return NotificationKind.TIER_UPGRADE, signal.tier
    return None


def handover(signal: Signal) -> Tier | None:
    """§4: on a downgrade, the tier whose team takes the customer over (the new tier's), told
    besides the team the customer left (:func:`route`); None for every other signal."""
    if (
        signal.kind == SignalKind.TIER_CHANGE
        and signal.direction == Direction.DOWNGRADE
        and signal.previous_tier is not None
    ):
        return signal.tier
    return None
