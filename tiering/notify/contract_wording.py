"""ManagerNotification's own ``title``, ``body`` and ``actions`` (POLICY §5), worded as they
have been since the contract's first schema: English, with the tier's and the products' names
and each action also in the original's Traditional Chinese. Consumers that read only these
fields see no change; what each reader sees in their own language is ``texts``
(:mod:`tiering.notify.wording`). The customer is masked as there (§9).
"""

from __future__ import annotations

from decimal import Decimal

from tiering.core.bank_time import DAY_MS
from tiering.core.kinds import NotificationKind
from tiering.core.money import format_yuan
from tiering.core.policy import Campaign, Policy, Product
from tiering.core.signals import Signal
from tiering.core.tiers import TIER_NAMES_ZH
from tiering.notify.wording import Recommendation, mask_id


def describe(
    kind: NotificationKind, n: Signal, policy: Policy, handing_over: bool = False
) -> tuple[str, str]:
    """Title and body, with the customer named only by the last four characters of the id.
    ``handing_over``: a downgrade's hand-over to the new tier's team (§4)."""
    who = f"customer {mask_id(n.customer_id)}"
    tier = f"{n.tier.name} ({TIER_NAMES_ZH[n.tier]})"
    balance = f"{format_yuan(n.balance_fen)} CNY"
    if handing_over and n.previous_tier is not None:
        held = n.previous_tier
        return (
            f"Handed over from {held.name}, now {tier}: {who}",
            f"The {who} was {held.name} ({TIER_NAMES_ZH[held]}, from "
            f"{format_yuan(policy.lower_bound(held))} CNY) and stayed below that bound through "
            f"the grace period; now {tier}, total deposits {balance}. Your team takes them "
            "over; the team they left will try to win them back.",
        )
    if kind == NotificationKind.TIER_UPGRADE:
        was = f" from {n.previous_tier.name}" if n.previous_tier is not None else ""
        return (
            f"Upgrade to {tier}: {who}",
            f"The {who} moved{was} to {n.tier.name}; total deposits {balance}.",
        )
    if kind == NotificationKind.TIER_DOWNGRADE:
        left = n.previous_tier.name if n.previous_tier else "?"
        return (
            f"Moved down from {left} to {n.tier.name}: {who}",
            f"The {who} stayed below the {left} bound through the grace period and is now {tier}; "
            f"total deposits {balance}. Win them back.",
        )
    amount = f"{format_yuan(n.amount_fen)} CNY"
    if kind == NotificationKind.LARGE_DEPOSIT:
        return (
            f"Large deposit of {amount}: {who}",
            f"The {who} ({tier}) received {amount}; total deposits {balance}.",
        )
    if kind == NotificationKind.LARGE_WITHDRAWAL:
        return (
            f"Large withdrawal of {amount}: {who}",
            f"The {who} ({tier}) moved out {amount}; total deposits {balance}.",
        )
    if kind == NotificationKind.CHURN_RISK:
        # the policy's share and window, worded as before for the default (half, 30 days)
        ratio = policy.churn_drop_ratio
        share = "half" if ratio == Decimal("0.5") else f"{(ratio * 100).normalize():f}%"
        return (
            f"Churn risk: {who}",
            f"The {who} ({tier}) holds {balance}, {share} or less of the "
            f"{format_yuan(n.amount_fen)} CNY peak of the last {policy.churn_peak_window_days} "
            "days.",
        )
    if kind == NotificationKind.NEAR_UPGRADE:
        return (
            f"Close to the next tier: {who}",
            f"The {who} ({tier}) holds {balance}, within reach of {format_yuan(n.amount_fen)} CNY.",
        )
    if kind == NotificationKind.IDLE_FUNDS:
        return (
            f"Idle funds of {balance}: {who}",
            f"The {who} ({tier}) has held {balance} for {policy.idle_ms // DAY_MS} days with no "
            "withdrawal or transfer out.",
        )
    if kind == NotificationKind.PRODUCT_INTEREST:
        what = _bilingual(policy.products.get(n.detail or ""), n.detail or "a product")
        return (
            f"Interested in {what}: {who}",
            f"The {who} ({tier}) keeps looking at {what} in online banking.",
        )
    if kind == NotificationKind.CAMPAIGN:
        name = _bilingual(policy.campaigns.get(n.detail or ""), n.detail or "")
        return (
            f"Campaign {name}: {who}",
            f"The {who} ({tier}) is in the cohort of the campaign {name}: propose its combination.",
        )
    return (
        f"{kind.replace('_', ' ').capitalize()}: {who}",
        f"The {who} ({tier}); total deposits {balance}.",
    )


def action_lines(advice: Recommendation, policy: Policy) -> tuple[str, ...]:
    """Each action as ``English / 繁體中文``, then ``Propose: a + b / 推薦：甲＋乙``."""
    lines = [str(a) for a in advice.actions]
    if advice.combination:
        en = " + ".join(policy.products[c].en for c in advice.combination)
        zh = "＋".join(policy.products[c].zh_hant for c in advice.combination)
        lines.append(f"Propose: {en} / 推薦：{zh}")
    return tuple(lines)


def _bilingual(named: Product | Campaign | None, otherwise: str) -> str:
    """A product's or campaign's name as the contract writes it: English (Traditional)."""
    return f"{named.en} ({named.zh_hant})" if named is not None else otherwise
