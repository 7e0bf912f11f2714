"""The tier policy as the rules use it (POLICY §3, §5, §6, §7): every number already checked and
converted, money in integer fen, ratios as ``Decimal``, durations in milliseconds of event time,
so the rules never see a float. ``tiering.core.policy_file`` reads and checks the TOML file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tiering.core.bank_time import DAY_MS
from tiering.core.kinds import NotificationKind
from tiering.core.policy_basis import Basis
from tiering.core.policy_kpis import DEFAULT_INACTIVE_DAYS, Targets
from tiering.core.tiers import Tier


class PolicyError(ValueError):
    """The policy file is not usable; the message names every problem found."""


class InLanguages:
    """A text of the policy kept in English (``en``), in the original's Traditional Chinese
    (``zh_hant``) and in Simplified Chinese (``zh_hans``), as the policy file gives them."""

    __slots__ = ()
    en: str
    zh_hant: str
    zh_hans: str

    def in_language(self, language: str) -> str:
        """The text in ``language``, spelled as :mod:`tiering.i18n` does (``zh_Hans_CN``,
        ``zh_Hant``, ``en``); English for any other."""
        if language == "zh_Hans_CN":
            return self.zh_hans
        if language == "zh_Hant":
            return self.zh_hant
        return self.en


@dataclass(frozen=True, slots=True)
class Product(InLanguages):
    """A product category (§5), its risk level, 1 (lowest) to 5, and its name."""

    risk: int
    en: str
    zh_hant: str
    zh_hans: str


#: the account types a posting may name (DepositTransaction.account_type; none means DEPOSIT)
ACCOUNT_TYPES = ("DEPOSIT", "LOAN", "CREDIT", "WEALTH")

#: §4, §5: the cause of the hand-over a downgrade sends the new tier's team (its kind stays
#: TIER_DOWNGRADE): what that team does for a customer arriving from a higher tier
HANDOVER = "HANDOVER"
#: the causes a notification can have (ManagerNotification.kind, and the hand-over), DEFAULT
#: for the rest
ACTION_CAUSES = ("DEFAULT", HANDOVER, *NotificationKind)


@dataclass(frozen=True, slots=True)
class Action(InLanguages):
    """One recommended action of §5, in three languages."""

    en: str
    zh_hant: str
    zh_hans: str
    #: the product categories it recommends: it is offered only within the customer's tolerance
    products: tuple[str, ...] = ()

    def __str__(self) -> str:
        """As ManagerNotification.actions has always carried it: English, then the
        original's Chinese."""
        return f"{self.en} / {self.zh_hant}"


@dataclass(frozen=True, slots=True)
class Campaign(InLanguages):
    """§6 (the policy's example: potential customers showing rising interest in short-term
    products get a matching combination): who a campaign is for and what it proposes. The
    texts name the combination; ``action``, if given, is what the team should do."""

    name: str  #: its key in ``[campaigns]``, upper case: it goes into signal and notice ids
    tiers: tuple[Tier, ...]
    #: the product category whose interest score selects the cohort...
    interest: str
    #: ...at or above this score (the profile's decayed score, §6)
    min_interest: Decimal
    #: the combination's product categories; all must be within the customer's tolerance (§9)
    products: tuple[str, ...]
    en: str
    zh_hant: str
    zh_hans: str
    action: Action | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """Every number the rules use, already checked."""

    version: str
    #: lower bounds of POTENTIAL, PREMIUM, HIGH_END in fen, strictly ascending (§3)
    lower_bounds_fen: tuple[int, int, int]
    downgrade_grace_ms: int
    large_deposit_fen: int
    large_withdrawal_fen: int
    churn_drop_ratio: Decimal
    churn_peak_window_days: int
    churn_min_tier: Tier
    near_upgrade_ratio: Decimal
    dedup_horizon_ms: int
    dedup_max_ids: int
    #: CNY per unit of each accepted currency
    rates: Mapping[str, Decimal]
    #: §5: per tier, per cause, what the tier's team should do
    actions: Mapping[Tier, Mapping[str, tuple[Action, ...]]]
    notification_cooldown_ms: int
    #: §5, §9: product category → its risk level and names
    products: Mapping[str, Product]
    #: §5: per tier, viewed category (or DEFAULT) → the companions to propose with it
    combinations: Mapping[Tier, Mapping[str, tuple[str, ...]]]
    interest_views: int
    interest_window_ms: int
    interest_half_life_ms: int
    conversion_window_ms: int
    #: an event time further ahead of the worker's clock than this is refused
    #: (``event_time_in_future``): it would move stream time, and with it the §3 grace sweep
    max_event_time_lead_ms: int
    #: §5 idle funds: a PREMIUM or HIGH_END customer holding at least this deposit balance...
    idle_min_balance_fen: int
    #: ...with no debit of their own for this long is told to their team, once per idle spell
    idle_ms: int
    #: entries of [products] and [actions] without a Simplified Chinese text (``zh_Hans``),
    #: which show the Traditional one instead (``tiering policy check`` lists them)
    without_simplified: tuple[str, ...] = ()
    #: §3 tiers by deposit balance: the account types whose postings count toward it; a
    #: posting on another type (a loan, a credit card, wealth holdings) is left out of it
    counted_account_types: frozenset[str] = frozenset({"DEPOSIT"})
    #: §9: a risk assessment counts for this many calendar months after its date, judged at
    #: the event time of what a notification answers; older, the customer's tolerance is unknown
    assessment_valid_months: int = 12
    #: §7.3 a customer whose deposit balance has stayed at zero this long has left the bank
    departure_ms: int = DEFAULT_INACTIVE_DAYS * DAY_MS
    #: §7.4 marketing targets per tier and product category, per 30 days
    purchase_targets: Targets = field(default_factory=dict)
    #: §6 campaigns by name (``tiering campaign NAME``)
    campaigns: Mapping[str, Campaign] = field(default_factory=dict)
    #: the moment (event time) this version takes over from the one before it; None for the
    #: policy a worker starts with (``TIERING_POLICY_FILE``), in force until the first
    #: published version (:mod:`tiering.core.policy_versions`)
    effective_from_ms: int | None = None
    #: §3 what upgrades, downgrades and the near-upgrade alert compare with the bounds: the
    #: balance, or its average daily balance over a window (``[basis]``)
    basis: Basis = field(default_factory=Basis)

    def category_of(self, product_code: str) -> str | None:
        """The product category a posting's product_code belongs to: the longest category
        name the code starts with."""
        matches = [c for c in self.products if product_code.upper().startswith(c)]
        return max(matches, key=len) if matches else None

    def combination(self, tier: Tier, viewed: str) -> tuple[str, ...]:
        """§5: what to propose to a ``tier`` customer who keeps looking at ``viewed``."""
        by_category = self.combinations.get(tier, {})
        companions = by_category.get(viewed, by_category.get("DEFAULT", ()))
        return tuple(dict.fromkeys((viewed, *companions)))

    def actions_for(self, tier: Tier, cause: str) -> tuple[Action, ...]:
        """§5 actions for ``tier``'s team and ``cause``; the tier's DEFAULT list otherwise."""
        by_cause = self.actions.get(tier, {})
        return by_cause.get(cause) or by_cause.get("DEFAULT", ())

    @property
    def churn_ratio(self) -> tuple[int, int]:
        """``churn_drop_ratio`` as (numerator, denominator): integer comparisons, no Decimal."""
        return _RATIOS.setdefault(self.churn_drop_ratio, self.churn_drop_ratio.as_integer_ratio())

    @property
    def near_ratio(self) -> tuple[int, int]:
        return _RATIOS.setdefault(
            self.near_upgrade_ratio, self.near_upgrade_ratio.as_integer_ratio()
        )

    def lower_bound(self, tier: Tier) -> int:
        """The inclusive lower bound of ``tier`` in fen (0 for ORDINARY)."""
        return 0 if tier is Tier.ORDINARY else self.lower_bounds_fen[tier - 1]


_RATIOS: dict[Decimal, tuple[int, int]] = {}
