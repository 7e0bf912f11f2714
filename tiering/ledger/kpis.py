"""What a batch of postings adds to the §7 KPIs, per tier and per branch: deposit growth (§7.2:
credits and debits), churn (§7.3: departures, :mod:`tiering.ledger.departure`) and marketing
completion (§7.4: purchases, count and amount). Kept in fen while the batch is decided, counted
in CNY once the batch is stored (:meth:`KpiTally.count`).

The branch is the customer's (their latest posting's ``branch_id``); the metrics label it as
:func:`tiering.metrics.branch_label` does, within a bounded set."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tiering import metrics
from tiering.core.tiers import Tier

#: (tier, branch)
Where = tuple[Tier, str | None]


@dataclass(slots=True)
class KpiTally:
    inflow_fen: Counter[Where] = field(default_factory=Counter)
    outflow_fen: Counter[Where] = field(default_factory=Counter)
    #: §7.3 customers who left, by the tier they left from and their branch
    departed: Counter[Where] = field(default_factory=Counter)
    #: §7.4 purchases and the fen paid into products, by (tier, branch, category)
    purchases: Counter[tuple[Tier, str | None, str]] = field(default_factory=Counter)
    purchase_fen: Counter[tuple[Tier, str | None, str]] = field(default_factory=Counter)

    def flows(self, tier: Tier, branch: str | None, inflow_fen: int, outflow_fen: int) -> None:
        if inflow_fen:
            self.inflow_fen[tier, branch] += inflow_fen
        if outflow_fen:
            self.outflow_fen[tier, branch] += outflow_fen

    def purchase(self, tier: Tier, branch: str | None, category: str, fen: int) -> None:
        self.purchases[tier, branch, category] += 1
        self.purchase_fen[tier, branch, category] += fen

    def count(self) -> None:
        """Add the batch to the per-tier metrics of the contract and the per-branch ones."""
        m = metrics
        for (tier, branch), fen in self.inflow_fen.items():
            m.INFLOW.labels(tier.name).inc(fen / 100)
            m.BRANCH_INFLOW.labels(m.branch_label(branch), tier.name).inc(fen / 100)
        for (tier, branch), fen in self.outflow_fen.items():
            m.OUTFLOW.labels(tier.name).inc(fen / 100)
            m.BRANCH_OUTFLOW.labels(m.branch_label(branch), tier.name).inc(fen / 100)
        # §7.3: once per departure; a downgrade is a tier migration (tiering_tier_changes_total)
        for (tier, branch), n in self.departed.items():
            m.CHURNED.labels(tier.name).inc(n)
            m.BRANCH_CHURNED.labels(m.branch_label(branch), tier.name).inc(n)
        for (tier, branch, category), n in self.purchases.items():
            cny = self.purchase_fen[tier, branch, category] / 100
            m.PURCHASES.labels(tier.name, category).inc(n)
            m.PURCHASES_CNY.labels(tier.name, category).inc(cny)
            m.BRANCH_PURCHASES.labels(m.branch_label(branch), tier.name).inc(n)
            m.BRANCH_PURCHASES_CNY.labels(m.branch_label(branch), tier.name).inc(cny)
