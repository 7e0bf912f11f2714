"""Prometheus metrics (contract "Prometheus metrics"): seconds and CNY, small closed label
sets, no customer, account or manager ids. Each worker exports its own partitions' share;
``sum()`` over workers is the whole."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import (
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    Summary,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from tiering.core.policy import ACCOUNT_TYPES, Policy
from tiering.core.tiers import Tier

# The *_created series double the scrape for no use on dashboards.
disable_created_metrics()
log = logging.getLogger(__name__)

EVENTS = Counter(
    "tiering_events_total",
    "Input events handled, by outcome (processed, duplicate, dead_letter).",
    ["topic", "outcome"],
)
DEAD_LETTERS = Counter(
    "tiering_dead_letters_total",
    "Input events set aside to the dead-letter topic.",
    ["topic", "reason"],
)
EVENT_LAG = Histogram(
    "tiering_event_lag_seconds",
    "Processing time minus event time.",
    ["topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400),
)
INFLOW = Counter(
    "tiering_inflow_cny_total", "Credits posted (CNY), by the customer's tier.", ["tier"]
)
OUTFLOW = Counter(
    "tiering_outflow_cny_total", "Debits posted (CNY), by the customer's tier.", ["tier"]
)
TIER_CHANGES = Counter(
    "tiering_tier_changes_total",
    "Tier changes produced (from_tier NONE for an initial placement).",
    ["from_tier", "to_tier", "direction"],
)
CHURNED = Counter(
    "tiering_churned_customers_total",
    "Customers who left the bank (§7.3): deposit balance at zero for the policy's "
    "[churn] inactive_days, counted once per departure by the tier they left from.",
    ["tier"],
)
LEDGER_ANOMALIES = Counter(
    "tiering_ledger_anomalies_total",
    "Postings the ledger applied but that a deposit ledger does not expect, by kind: "
    "overdrawn (a debit left its account below zero; the account counts as zero toward the "
    "customer's deposit balance, POLICY §3).",
    ["kind"],
)
LEDGER_EXCLUDED = Counter(
    "tiering_ledger_excluded_total",
    "Postings on accounts whose type the policy leaves out of the deposit balance "
    "(POLICY §3; policy [accounts] counted), by account_type (LOAN, CREDIT, WEALTH, or "
    "DEPOSIT if the policy leaves it out). They change no balance and no tier.",
    ["account_type"],
)
FX_REVALUATIONS = Counter(
    "tiering_fx_revaluations_total",
    "Customers whose CNY deposit balance a new dated exchange rate changed, by currency "
    "(tiering import-rates; POLICY §3): each is revalued and their tier decided again.",
    ["currency"],
)
TIER_CHANGE_LATENCY = Histogram(
    "tiering_tier_change_latency_seconds",
    "From the trigger's event time to the tier change being produced.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
NOTIFICATIONS = Counter(
    "tiering_notifications_total",
    "Manager notifications: emitted, or suppressed by the cooldown.",
    ["kind", "team", "outcome"],
)
CONVERSIONS = Counter(
    "tiering_conversions_total",
    "Products bought within the conversion window after a notification suggested them (§7.4).",
    ["tier", "notification_kind"],
)
PURCHASES = Counter(
    "tiering_purchases_total",
    "Purchases of a product (§7.4 marketing completion): a DEPOSIT or TRANSFER_OUT carrying the "
    "product_code of a policy category, notified before or not, by the customer's tier.",
    ["tier", "category"],
)
PURCHASES_CNY = Counter(
    "tiering_purchases_cny_total",
    "Money paid into products by those purchases (CNY), by tier and category (§7.4).",
    ["tier", "category"],
)
PURCHASE_TARGET = Gauge(
    "tiering_purchase_target",
    "The policy's marketing target (§7.4): purchases per 30 days, by tier and category.",
    ["tier", "category"],
)
PURCHASE_TARGET_CNY = Gauge(
    "tiering_purchase_target_cny",
    "The policy's marketing target (§7.4): CNY paid into products per 30 days, by tier and "
    "category.",
    ["tier", "category"],
)
ONLINE_EVENTS = Counter(
    "tiering_online_events_total",
    "Online-banking events applied to customer profiles (§6).",
    ["event_type", "channel", "tier"],
)
PRODUCT_INTEREST = Counter(
    "tiering_product_interest_total",
    "Product-interest signals (§6: a customer kept looking at a product category), by the "
    "customer's tier and the category (one of the policy's [products]; any other is OTHER).",
    ["tier", "category"],
)
SATISFACTION = Histogram(
    "tiering_satisfaction_rating",
    "FEEDBACK ratings from online banking, 1 (worst) to 5 (best) (§7.1).",
    ["tier"],
    buckets=(1, 2, 3, 4, 5),
)
SINK_FLUSH = Histogram(
    "tiering_sink_flush_seconds",
    "Time to write one batch to PostgreSQL.",
    ["sink"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)
STATE_RESTORED = Counter(
    "tiering_state_restored_total",
    "Changelog records applied to this worker's tables while restoring them: all of them on a "
    "cold start, only the tail after its data directory's offsets on a restart, and the "
    "standby copies of other workers' partitions as they arrive.",
    ["table"],
)
STATE_RECOUNTED = Counter(
    "tiering_state_recounted_total",
    "Customers read from this worker's tables to count the tier totals and grace deadlines of "
    "its partitions again after a rebalance: none for a partition whose bookkeeping its "
    "database kept (a restart), all of a partition that was restored or copied from the "
    "changelog (a cold start, a takeover).",
    ["table"],
)
SINK_RETRIES = Counter(
    "tiering_sink_retries_total", "PostgreSQL writes retried after an error.", ["sink"]
)
DEPENDENCY_UP = Gauge(
    "tiering_dependency_up",
    "1 while an outside service (postgres, kafka) answers this process, 0 during an outage.",
    ["dependency"],
)

TierTotals = Callable[[], tuple[list[int], list[int]]]


class TierGauges(Collector):
    """``tiering_customers`` and ``tiering_balance_cny`` per tier, read at scrape time from
    the partitions this worker holds."""

    def __init__(
        self, totals: TierTotals, versions: Callable[[], Mapping[str, int]] | None = None
    ) -> None:
        self._totals = totals
        self._versions = versions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts, fen = self._totals()
        customers = GaugeMetricFamily(
            "tiering_customers",
            "Customers in each tier (this worker's partitions).",
            labels=["tier"],
        )
        balance = GaugeMetricFamily(
            "tiering_balance_cny", "Total deposits held by each tier, CNY.", labels=["tier"]
        )
        for tier in Tier:
            customers.add_metric([tier.name], counts[tier])
            balance.add_metric([tier.name], fen[tier] / 100)
        yield customers
        yield balance
        if self._versions is not None:
            versions = GaugeMetricFamily(
                "tiering_policy_partitions",
                "Partitions this worker holds on which each policy version is in force, at "
                "the partition's stream time (tiering policy publish).",
                labels=["version"],
            )
            for version, partitions in sorted(self._versions().items()):
                versions.add_metric([version], partitions)
            yield versions


_gauges: TierGauges | None = None


def register_tier_gauges(
    totals: TierTotals, versions: Callable[[], Mapping[str, int]] | None = None
) -> None:
    """Point the per-tier gauges (and the policy versions in force) at this process's ledger
    (once per process)."""
    global _gauges
    if _gauges is None:
        _gauges = TierGauges(totals, versions)
        REGISTRY.register(_gauges)
    else:
        _gauges._totals, _gauges._versions = totals, versions


DELIVERIES = Counter(
    "tiering_deliveries_total",
    "Manager notification deliveries by channel (postgres, wecom, dingtalk, webhook, email) "
    "and outcome (delivered, retried, failed); one per attempt.",
    ["channel", "outcome"],
)
DELIVERIES_WAITING = Gauge(
    "tiering_deliveries_waiting",
    "Delivery attempts waiting for their destination's rate limit (a robot's 20 a minute), "
    "by channel (wecom, dingtalk, webhook, email).",
    ["channel"],
)


def start_at_zero(topics: tuple[str, ...]) -> None:
    """Export the known label sets at 0 from the start, so that rate() and increase() also
    count each one's first increments (a series that appears at 5 reads as no change)."""
    for topic in topics:
        for outcome in ("processed", "duplicate", "dead_letter"):
            EVENTS.labels(topic, outcome)
    for tier in Tier:
        INFLOW.labels(tier.name)
        OUTFLOW.labels(tier.name)
        CHURNED.labels(tier.name)
    LEDGER_ANOMALIES.labels("overdrawn")
    for account_type in ACCOUNT_TYPES:
        LEDGER_EXCLUDED.labels(account_type)
    for channel in ("postgres", "wecom", "dingtalk", "webhook", "email"):
        for outcome in ("delivered", "retried", "failed"):
            DELIVERIES.labels(channel, outcome)
    for channel in ("wecom", "dingtalk", "webhook", "email"):
        DELIVERIES_WAITING.labels(channel)


def export_marketing(policy: Policy) -> None:
    """§7.4: the policy's targets as gauges (every worker exports the same: ``max`` over
    workers, not ``sum``), and every tier's purchases of every category from 0."""
    for tier in Tier:
        targets = policy.purchase_targets.get(tier, {})
        for category in policy.products:
            PURCHASES.labels(tier.name, category)
            PURCHASES_CNY.labels(tier.name, category)
            target = targets.get(category)
            if target is not None:
                PURCHASE_TARGET.labels(tier.name, category).set(target.count)
                PURCHASE_TARGET_CNY.labels(tier.name, category).set(target.amount_fen / 100)


def interest_category(category: str, policy: Policy) -> str:
    """The ``category`` label: a category of the policy's [products], else OTHER (online
    banking may name categories the policy does not know; the label set stays bounded)."""
    return category if category in policy.products else "OTHER"


def export_interest(policy: Policy) -> None:
    """§6: every tier's interest in every category (and OTHER) from 0."""
    for tier in Tier:
        for category in (*policy.products, "OTHER"):
            PRODUCT_INTEREST.labels(tier.name, category)


# --- §7 per branch ------------------------------------------------------------------------------
# The customer's branch (their latest posting's branch_id) as a label: a bank has hundreds of
# branches, a bounded set Prometheus takes well (500 branches x 4 tiers is 2,000 series a
# metric). Customers are never a label. A feed sending more distinct branch ids than
# MAX_BRANCHES (a fault upstream: ids that are not branches) counts the rest as OTHER.

#: the branch labels one process exports at most
MAX_BRANCHES = 2000
BRANCH_INFLOW = Counter(
    "tiering_branch_inflow_cny_total",
    "Credits posted (CNY), by the customer's branch and tier (§7.2 per branch).",
    ["branch_id", "tier"],
)
BRANCH_OUTFLOW = Counter(
    "tiering_branch_outflow_cny_total",
    "Debits posted (CNY), by the customer's branch and tier (§7.2 per branch).",
    ["branch_id", "tier"],
)
BRANCH_CHURNED = Counter(
    "tiering_branch_churned_customers_total",
    "Customers who left the bank (§7.3, as tiering_churned_customers_total), by their branch "
    "and the tier they left from.",
    ["branch_id", "tier"],
)
BRANCH_PURCHASES = Counter(
    "tiering_branch_purchases_total",
    "Purchases of a product (§7.4, as tiering_purchases_total), by branch and tier.",
    ["branch_id", "tier"],
)
BRANCH_PURCHASES_CNY = Counter(
    "tiering_branch_purchases_cny_total",
    "Money paid into products by those purchases (CNY), by branch and tier.",
    ["branch_id", "tier"],
)
BRANCH_SATISFACTION = Summary(
    "tiering_branch_satisfaction_rating",
    "FEEDBACK ratings 1-5 (§7.1), by the customer's branch: _sum and _count.",
    ["branch_id"],
)


class BranchLabels:
    """``branch_id`` → its label: NONE for a customer with no branch yet, OTHER past
    :data:`MAX_BRANCHES` distinct ones (said once in the log, without the ids)."""

    def __init__(self, limit: int = MAX_BRANCHES) -> None:
        self.limit = limit
        self.known: set[str] = set()
        self.overflowed = False

    def __call__(self, branch_id: str | None) -> str:
        if not branch_id:
            return "NONE"
        if branch_id in self.known:
            return branch_id
        if len(self.known) >= self.limit:
            if not self.overflowed:
                self.overflowed = True
                log.warning(
                    "more than %d distinct branch_id values: the rest are counted as branch "
                    "OTHER in the per-branch metrics (docs/metrics.md, per branch)",
                    self.limit,
                )
            return "OTHER"
        self.known.add(branch_id)
        return branch_id


_branches = BranchLabels()
_started: set[str] = set()


def branch_label(branch_id: str | None) -> str:
    """The label of a customer's branch; a branch's series start at 0 the first time it is
    seen (each tier's), so its rules have a value before its first departure or purchase."""
    label = _branches(branch_id)
    if label not in _started:
        _started.add(label)
        for tier in Tier:
            for counter in (
                BRANCH_INFLOW,
                BRANCH_OUTFLOW,
                BRANCH_CHURNED,
                BRANCH_PURCHASES,
                BRANCH_PURCHASES_CNY,
            ):
                counter.labels(label, tier.name)
        BRANCH_SATISFACTION.labels(label)
    return label
