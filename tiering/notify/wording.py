"""What a notification says (POLICY §5), with the customer masked (§9): named only by the last
four characters of their id, and no long run of digits (an account or phone number) in any
text."""

from __future__ import annotations

import re

from tiering.core.kinds import NotificationKind
from tiering.core.money import format_yuan
from tiering.core.policy import Policy
from tiering.core.signals import Signal
from tiering.core.tiers import TIER_NAMES_ZH


def describe(kind: NotificationKind, n: Signal, policy: Policy) -> tuple[str, str]:
    """Title and body, with the customer named only by the last four characters of the id."""
    who = f"customer {mask_id(n.customer_id)}"
    tier = f"{n.tier.name} ({TIER_NAMES_ZH[n.tier]})"
    balance = f"{format_yuan(n.balance_fen)} CNY"
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
        return (
            f"Churn risk: {who}",
            f"The {who} ({tier}) holds {balance}, half or less of the "
            f"{format_yuan(n.amount_fen)} CNY peak of the last 30 days.",
        )
    if kind == NotificationKind.NEAR_UPGRADE:
        return (
            f"Close to the next tier: {who}",
            f"The {who} ({tier}) holds {balance}, within reach of {format_yuan(n.amount_fen)} CNY.",
        )
    if kind == NotificationKind.PRODUCT_INTEREST:
        product = policy.products.get(n.detail or "")
        what = f"{product.en} ({product.zh_hant})" if product else (n.detail or "a product")
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
