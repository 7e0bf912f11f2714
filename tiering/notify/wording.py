"""What a notification says (POLICY §5), in each language the service speaks (the gettext
domain ``notices``), with the customer masked (§9): named only by the last four characters of
their id, and no long run of digits (an account or phone number) in any text.

Tiers, teams and kinds are named as :mod:`tiering.i18n.terms` names them, amounts as the bank
writes yuan (``¥600,000.00``), the policy's actions and product names in the policy file's
text for that language. The same signal always reads the same: nothing here depends on the
clock or the process.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from tiering.core.bank_time import DAY_MS
from tiering.core.kinds import NotificationKind
from tiering.core.policy import Action, Policy
from tiering.core.signals import Signal
from tiering.core.tiers import Tier
from tiering.i18n import Language, format_money, translations
from tiering.i18n.terms import kind_name, tier_name


@dataclass(frozen=True, slots=True)
class Recommendation:
    """§5: the policy's actions kept for the customer, and the product categories to propose
    together (product interest), each within the customer's risk tolerance (§9)."""

    actions: tuple[Action, ...]
    combination: tuple[str, ...] = ()


def describe(
    kind: NotificationKind,
    n: Signal,
    policy: Policy,
    language: Language,
    handing_over: bool = False,
) -> tuple[str, str]:
    """Title and body in ``language``, the customer named only by the last four characters of
    the id (mask the result with :func:`mask_text` as well). ``handing_over``: a downgrade's
    hand-over to the new tier's team (§4), not the win-back to the team the customer left."""
    _ = translations(language, "notices").gettext
    facts: dict[str, object] = {
        "customer": mask_id(n.customer_id),
        "tier": tier_name(n.tier, language),
        "balance": format_money(n.balance_fen, language),
        "amount": format_money(n.amount_fen, language),
    }
    render = _handover if handing_over else _WORDING.get(kind)
    worded = render(_, n, policy, language, facts) if render is not None else None
    if worded is not None:
        return worded
    return (
        _("%(kind)s: customer %(customer)s") % {**facts, "kind": kind_name(kind, language)},
        _("Customer %(customer)s (%(tier)s); total deposits %(balance)s.") % facts,
    )


def action_lines(advice: Recommendation, policy: Policy, language: Language) -> tuple[str, ...]:
    """The §5 actions in ``language``, then the products to propose together, if any."""
    lines = [a.in_language(language) for a in advice.actions]
    if advice.combination:
        joiner = " + " if language == "en" else "＋"
        names = joiner.join(policy.products[c].in_language(language) for c in advice.combination)
        lines.append(
            translations(language, "notices").gettext("Propose: %(products)s") % {"products": names}
        )
    return tuple(lines)


def mask_id(identifier: str) -> str:
    """§9: only the last four characters of an id, phone or account number."""
    return "****" + identifier[-4:] if len(identifier) > 4 else "****"


_LONG_NUMBER = re.compile(r"\d{7,}")


def mask_text(text: str) -> str:
    """Defence in depth for free text: any run of seven or more digits (an account or phone
    number) keeps only its last four."""
    return _LONG_NUMBER.sub(lambda m: "****" + m.group(0)[-4:], text)


# --- each kind's wording ----------------------------------------------------------------------

Gettext = Callable[[str], str]
Facts = Mapping[str, object]


def _upgrade(_: Gettext, n: Signal, p: Policy, lang: Language, f: Facts) -> tuple[str, str]:
    title = _("Upgrade to %(tier)s: customer %(customer)s") % f
    if n.previous_tier is None:
        return title, _("Customer %(customer)s is now %(tier)s; total deposits %(balance)s.") % f
    previous = tier_name(n.previous_tier, lang)
    return title, _(
        "Customer %(customer)s moved from %(previous)s to %(tier)s; total deposits %(balance)s."
    ) % {**f, "previous": previous}


def _downgrade(
    _: Gettext, n: Signal, p: Policy, lang: Language, f: Facts
) -> tuple[str, str] | None:
    """§3: a downgrade comes after the grace period below the tier's lower bound."""
    if n.previous_tier is None:
        return None
    facts = {**f, "previous": tier_name(n.previous_tier, lang)}
    return (
        _("Moved down from %(previous)s to %(tier)s: customer %(customer)s") % facts,
        _(
            "Customer %(customer)s stayed below the threshold for %(previous)s throughout the "
            "%(days)s-day grace period and is now %(tier)s; total deposits %(balance)s. "
            "Win them back."
        )
        % {**facts, "days": p.downgrade_grace_ms // DAY_MS},
    )


def _handover(_: Gettext, n: Signal, p: Policy, lang: Language, f: Facts) -> tuple[str, str] | None:
    """§3, §4: the new tier's team takes over a customer a downgrade brought to it, told what
    the customer had: the tier they left and its threshold."""
    if n.previous_tier is None:
        return None
    facts = {
        **f,
        "previous": tier_name(n.previous_tier, lang),
        "threshold": format_money(p.lower_bound(n.previous_tier), lang),
        "days": p.downgrade_grace_ms // DAY_MS,
    }
    return (
        _("Handed over from %(previous)s, now %(tier)s: customer %(customer)s") % facts,
        _(
            "Customer %(customer)s was %(previous)s (from %(threshold)s) and stayed below that "
            "threshold throughout the %(days)s-day grace period; now %(tier)s with total "
            "deposits %(balance)s. Your team takes them over; the team they left will try to "
            "win them back."
        )
        % facts,
    )


def _large_deposit(_: Gettext, n: Signal, p: Policy, lang: Language, f: Facts) -> tuple[str, str]:
    return (
        _("Large deposit of %(amount)s: customer %(customer)s") % f,
        _("Customer %(customer)s (%(tier)s) received %(amount)s; total deposits %(balance)s.") % f,
    )


def _large_withdrawal(
    _: Gettext, n: Signal, p: Policy, lang: Language, f: Facts
) -> tuple[str, str]:
    return (
        _("Large withdrawal of %(amount)s: customer %(customer)s") % f,
        _("Customer %(customer)s (%(tier)s) moved out %(amount)s; total deposits %(balance)s.") % f,
    )


def _churn_risk(_: Gettext, n: Signal, p: Policy, lang: Language, f: Facts) -> tuple[str, str]:
    """§7.3: the total fell to the policy's share of its peak (the signal's amount)."""
    share = f"{(p.churn_drop_ratio * 100).quantize(Decimal(1)).normalize():f}%"
    return (
        _("Churn risk: customer %(customer)s") % f,
        _(
            "Customer %(customer)s (%(tier)s) holds %(balance)s, %(share)s or less of the "
            "%(peak)s peak of the last %(days)s days."
        )
        % {**f, "share": share, "peak": f["amount"], "days": p.churn_peak_window_days},
    )


def _near_upgrade(
    _: Gettext, n: Signal, p: Policy, lang: Language, f: Facts
) -> tuple[str, str] | None:
    """§5: within reach of the next tier's lower bound (the signal's amount)."""
    if n.tier is Tier.HIGH_END:
        return None
    facts = {**f, "next": tier_name(Tier(n.tier + 1), lang), "bound": f["amount"]}
    return (
        _("Close to the next tier: customer %(customer)s") % f,
        _(
            "Customer %(customer)s (%(tier)s) holds %(balance)s, close to %(bound)s, the "
            "threshold for %(next)s."
        )
        % facts,
    )


def _idle_funds(_: Gettext, n: Signal, p: Policy, lang: Language, f: Facts) -> tuple[str, str]:
    """§5 (the PREMIUM example): a large sum held with no withdrawal or transfer out for the
    policy's days (:mod:`tiering.ledger.idle`)."""
    return (
        _("Idle funds of %(balance)s: customer %(customer)s") % f,
        _(
            "Customer %(customer)s (%(tier)s) has held %(balance)s for %(days)s days with no "
            "withdrawal or transfer out."
        )
        % {**f, "days": p.idle_ms // DAY_MS},
    )


def _product_interest(
    _: Gettext, n: Signal, p: Policy, lang: Language, f: Facts
) -> tuple[str, str]:
    """§6: the customer keeps looking at a product category in online banking."""
    product = p.products.get(n.detail or "")
    facts = {**f, "product": product.in_language(lang) if product else _("a product")}
    return (
        _("Interested in %(product)s: customer %(customer)s") % facts,
        _("Customer %(customer)s (%(tier)s) keeps looking at %(product)s in online banking.")
        % facts,
    )


def _campaign(_: Gettext, n: Signal, p: Policy, lang: Language, f: Facts) -> tuple[str, str]:
    """§6: ``tiering campaign`` picked the customer for its combination, by their interest in
    a product category (the signal's detail names the campaign)."""
    campaign = p.campaigns.get(n.detail or "")
    if campaign is None:
        facts = {**f, "campaign": n.detail or "", "product": _("a product")}
    else:
        interest = p.products[campaign.interest].in_language(lang)
        facts = {**f, "campaign": campaign.in_language(lang), "product": interest}
    return (
        _("Campaign %(campaign)s: customer %(customer)s") % facts,
        _(
            "Customer %(customer)s (%(tier)s) has shown interest in %(product)s and is in the "
            "cohort of the campaign %(campaign)s: propose its combination."
        )
        % facts,
    )


_WORDING: dict[str, Callable[[Gettext, Signal, Policy, Language, Facts], tuple[str, str] | None]]
_WORDING = {
    NotificationKind.TIER_UPGRADE: _upgrade,
    NotificationKind.TIER_DOWNGRADE: _downgrade,
    NotificationKind.LARGE_DEPOSIT: _large_deposit,
    NotificationKind.LARGE_WITHDRAWAL: _large_withdrawal,
    NotificationKind.CHURN_RISK: _churn_risk,
    NotificationKind.NEAR_UPGRADE: _near_upgrade,
    NotificationKind.PRODUCT_INTEREST: _product_interest,
    NotificationKind.IDLE_FUNDS: _idle_funds,
    NotificationKind.CAMPAIGN: _campaign,
}
