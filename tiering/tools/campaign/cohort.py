"""Who a campaign reaches (POLICY §6, §9), pure: the customers of its tiers whose interest in its
category, decayed to the campaign's time as the profile decays it, is at least its minimum; of
those, the ones whose risk tolerance in force admits every product of its combination. The
rest are counted by reason, never named. Each member becomes a CAMPAIGN signal with an id
that depends only on the campaign, the run and the customer, so a re-run sends the same ids."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from tiering.core.bank_time import CHINA_STANDARD_TIME, from_epoch_ms
from tiering.core.ids import deterministic_id
from tiering.core.kinds import SignalKind
from tiering.core.policy import Campaign, Policy
from tiering.core.signals import Signal
from tiering.core.tiers import Tier
from tiering.notify.context import Assessment
from tiering.notify.rules import assessment_in_force, within_tolerance
from tiering.profile.rules import decayed


class Exclusion(enum.StrEnum):
    """Why a customer of the cohort's tiers and interest is not told (§9)."""

    #: no assessment valid at the campaign's time, and the combination is above the lowest risk
    TOLERANCE_UNKNOWN = "tolerance_unknown"
    #: the assessment in force is below the riskiest product of the combination
    TOLERANCE_TOO_LOW = "tolerance_too_low"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A customer of the campaign's tiers with a score in its category, as PostgreSQL has
    them: the score as of their last event (``last_seen_ms``)."""

    customer_id: str
    tier: Tier
    score: float
    last_seen_ms: int
    #: the branch of their manager (the manager directory), else their own (the ledger's, from
    #: their postings), as the notifier routes them (§4); None without either
    branch_id: str | None = None
    assessments: tuple[Assessment, ...] = ()


@dataclass(slots=True)
class Cohort:
    """The customers told, and how many were left out and why."""

    members: list[Candidate] = field(default_factory=list)
    excluded: Counter[Exclusion] = field(default_factory=Counter)

    def sizes(self) -> Counter[tuple[Tier, str | None]]:
        """Members per (tier, branch)."""
        return Counter((m.tier, m.branch_id) for m in self.members)


def run_id(at_ms: int) -> str:
    """A campaign runs once per bank day: the day (China time) names the run, so a second
    run that day sends the same signal ids (and the notifier's cooldown holds them back)."""
    return from_epoch_ms(at_ms).astimezone(CHINA_STANDARD_TIME).date().isoformat()


def campaign_signal(campaign: Campaign, run: str, member: Candidate, at_ms: int) -> Signal:
    """§6: the CAMPAIGN signal for one member; the notifier tells the team of their tier."""
    return Signal(
        signal_id=deterministic_id("campaign", campaign.name, run, member.customer_id),
        kind=SignalKind.CAMPAIGN,
        customer_id=member.customer_id,
        tier=member.tier,
        event_time_ms=at_ms,
        balance_fen=0,
        branch_id=member.branch_id,
        detail=campaign.name,
    )


def select_cohort(
    candidates: Iterable[Candidate], campaign: Campaign, policy: Policy, at_ms: int
) -> Cohort:
    """The cohort of ``campaign`` at ``at_ms`` (event time: the campaign's start) among
    ``candidates``; a candidate outside its tiers or below its minimum score is no one's
    business here and is not counted."""
    cohort = Cohort()
    for candidate in candidates:
        if candidate.tier not in campaign.tiers:
            continue
        score = decayed(
            candidate.score, candidate.last_seen_ms, at_ms, policy.interest_half_life_ms
        )
        if Decimal(repr(score)) < campaign.min_interest:
            continue
        known = assessment_in_force(candidate.assessments, at_ms, policy.assessment_valid_months)
        if within_tolerance(policy, campaign.products, known.risk_level if known else None):
            cohort.members.append(candidate)
        elif known is None:
            cohort.excluded[Exclusion.TOLERANCE_UNKNOWN] += 1
        else:
            cohort.excluded[Exclusion.TOLERANCE_TOO_LOW] += 1
    return cohort
