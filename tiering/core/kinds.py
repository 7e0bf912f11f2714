"""The closed sets the outputs carry (POLICY §5): what a signal is about, what a notification
is about, and how urgent it is. Defined here once; every other place imports them."""

from __future__ import annotations

import enum


class SignalKind(enum.StrEnum):
    """What the ledger or the profile tells the notifier (the internal signals topic)."""

    TIER_CHANGE = "TIER_CHANGE"  #: a TierChange
    LARGE_DEPOSIT = "LARGE_DEPOSIT"  #: one posting of at least the policy's amount
    LARGE_WITHDRAWAL = "LARGE_WITHDRAWAL"
    CHURN_RISK = "CHURN_RISK"  #: the total fell to a share of its recent peak
    NEAR_UPGRADE = "NEAR_UPGRADE"  #: close to the next tier's bound
    IDLE_FUNDS = "IDLE_FUNDS"  #: a large sum held with no debit for long (§5 PREMIUM example)
    PRODUCT_INTEREST = "PRODUCT_INTEREST"  #: §6: keeps looking at a product category
    PURCHASE = "PURCHASE"  #: a posting into a product (§7.4 conversions)
    CAMPAIGN = "CAMPAIGN"  #: §6: ``tiering campaign`` picked the customer for a combination
    #: a new policy version re-placed customers into or out of a team's tier: one per team and
    #: partition, for no one customer (:mod:`tiering.ledger.policy_switch`)
    POLICY_CHANGE = "POLICY_CHANGE"


class NotificationKind(enum.StrEnum):
    """ManagerNotification.kind (schemas/avro/manager_notification.avsc)."""

    TIER_UPGRADE = "TIER_UPGRADE"
    TIER_DOWNGRADE = "TIER_DOWNGRADE"
    LARGE_DEPOSIT = "LARGE_DEPOSIT"
    LARGE_WITHDRAWAL = "LARGE_WITHDRAWAL"
    CHURN_RISK = "CHURN_RISK"
    PRODUCT_INTEREST = "PRODUCT_INTEREST"
    NEAR_UPGRADE = "NEAR_UPGRADE"
    IDLE_FUNDS = "IDLE_FUNDS"
    CAMPAIGN = "CAMPAIGN"  #: since ManagerNotification version 4
    #: since version 5: a policy version re-placed customers into or out of the team's tier
    POLICY_CHANGE = "POLICY_CHANGE"
    OTHER = "OTHER"


class Priority(enum.IntEnum):
    """ManagerNotification.priority, ordered: a channel's ``min_priority`` compares by it."""

    LOW = 0
    NORMAL = 1
    HIGH = 2
    URGENT = 3
