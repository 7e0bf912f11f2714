"""``deposit-transactions`` → balances, tier changes, signals and dead letters (POLICY §3, §5).

The shell around :mod:`tiering.ledger.rules`: it decodes each posting, applies it, sweeps the
downgrades that fell due, and says what to write, produce and count; it does no I/O itself.
It also reads the partition's copy of the dated exchange rates (the internal rates topic,
co-partitioned with the postings): a batch's rates are taken before its postings, and the
sweep revalues the holders of a currency once its new rate is in force on the partition's
stream time (:mod:`tiering.ledger.fx`, :mod:`tiering.ledger.revaluation`).
The batch cycle (:mod:`tiering.runtime.checkpoint`) does, in its order.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from tiering import metrics
from tiering.core.bank_time import epoch_ms, refuse_future
from tiering.core.dedup import EventOutcome
from tiering.core.kinds import SignalKind
from tiering.core.policy import Policy
from tiering.core.policy_versions import POLICY_SWITCH_PREFIX
from tiering.core.signals import Signal
from tiering.core.teams import route
from tiering.ledger.dated_inputs import take_policy, take_rate
from tiering.ledger.fx import rate_trigger
from tiering.ledger.kpis import KpiTally
from tiering.ledger.placements import coalesce_placements
from tiering.ledger.postings import Posting, TxnType, posting_from_record
from tiering.ledger.records import encode_tier_change, tier_change_signal
from tiering.ledger.revaluation import revalue_holder
from tiering.ledger.rows import BalanceRow, balance_row, ledger_rows
from tiering.ledger.rules import Applied, TierDecision, apply_posting, expire_due
from tiering.ledger.state import CustomerState
from tiering.ledger.store import LedgerStore
from tiering.ledger.switching import switch_due
from tiering.processing import (
    BatchContext,
    Decisions,
    InputTally,
    Outgoing,
    Statement,
    apply_each,
)
from tiering.wire.codec import DEPOSIT_TRANSACTION, AvroCodec
from tiering.wire.inbound import DeadLetter, Inbound, decode_key, value_of
from tiering.wire.signals import encode_signal
from tiering.wire.topics import DEPOSIT_TRANSACTIONS, FX_RATES, POLICY_VERSIONS, DeploymentTopics

log = logging.getLogger(__name__)
#: seconds between two log lines about overdrawn accounts: a feed that overdraws on every
#: batch says so once a minute, with the count, not once per batch
OVERDRAWN_LOG_EVERY = 60.0


@dataclass(slots=True)
class OverdraftReport:
    """The overdrafts seen since the last line about them, said at most once a minute."""

    unsaid: int = 0
    last_said: float = float("-inf")

    def add(self, overdrawn: list[tuple[str, int, int]], now: float) -> None:
        self.unsaid += len(overdrawn)
        if now - self.last_said < OVERDRAWN_LOG_EVERY:
            return
        # where to find one, never whose it is
        topic, partition, offset = overdrawn[-1]
        log.warning(
            "%d posting(s) left an account below zero since the last report, the latest at "
            "%s[%d]@%d; each account counts toward its customer's deposit balance at no less "
            'than zero (POLICY §3); tiering_ledger_anomalies_total{kind="overdrawn"} counts them',
            self.unsaid,
            topic,
            partition,
            offset,
        )
        self.unsaid, self.last_said = 0, now


_overdrafts = OverdraftReport()

#: §7.4 the postings that buy the product their product_code names: money paid in for it
#: (DEPOSIT), or paid out of a deposit account into it (TRANSFER_OUT). Not a TRANSFER_IN (money
#: arriving from a product: a redemption, a maturity, or the receiving leg of a transfer whose
#: paying leg is the purchase), a WITHDRAWAL (cash taken away), INTEREST, a FEE or a snapshot.
PURCHASES = frozenset({TxnType.DEPOSIT, TxnType.TRANSFER_OUT})


@dataclass(slots=True)
class LedgerOutput(InputTally):
    """What one batch of postings decided, each with the partition it belongs on."""

    changes: list[tuple[int, TierDecision]] = field(default_factory=list)
    #: §5 signals, and postings into a product for the notifier's conversions (§7.4)
    signals: list[tuple[int, Signal]] = field(default_factory=list)
    balances: dict[str, BalanceRow] = field(default_factory=dict)
    #: §7.2-§7.4 growth, departures and purchases, per tier and branch
    kpis: KpiTally = field(default_factory=KpiTally)
    #: (topic, partition, offset) of each posting that left its account below zero (§3)
    overdrawn: list[tuple[str, int, int]] = field(default_factory=list)
    #: account type → postings on accounts the policy leaves out of the deposit balance (§3)
    excluded: Counter[str] = field(default_factory=Counter)
    #: the dated rates of the batch, as the input topic counts them (their dead letters go to
    #: the ledger's dead-letter topic with the rest, headers naming the rates topic)
    rates: InputTally = field(default_factory=InputTally)
    #: the policy versions of the batch, likewise
    policies: InputTally = field(default_factory=InputTally)
    #: currency → customers whose CNY value a new rate changed
    revalued: Counter[str] = field(default_factory=Counter)


class LedgerProcessor:
    """Decode, check, apply; collect what the batch decided."""

    def __init__(
        self, policy: Policy, codec: AvroCodec, store: LedgerStore, topics: DeploymentTopics
    ) -> None:
        self.policy = policy
        self.codec = codec
        self.store = store
        self.topics = topics

    def lookup(self, batch: Sequence[Inbound]) -> Statement | None:
        return None

    def process(self, batch: Sequence[Inbound], context: BatchContext) -> Decisions:
        out = self.decide(batch, context.now_ms)
        return Decisions(
            rows=ledger_rows(
                list(out.balances.values()), [c for _, c in out.changes], context.now_ms
            ),
            records=self.records(out, context.now_ms),
            count=partial(count, out, context.now_ms),
        )

    def decide(self, batch: Sequence[Inbound], now_ms: int) -> LedgerOutput:
        out = LedgerOutput()
        rates = [m for m in batch if m.topic == self.topics.rates]
        for _, taken in apply_each(rates, partial(take_rate, self.codec, self.store)):
            if isinstance(taken, DeadLetter):
                out.rates.set_aside(taken)
            else:
                out.rates.outcomes[taken] += 1
        policies = [m for m in batch if m.topic == self.topics.policies]
        for _, taken in apply_each(policies, partial(take_policy, self.codec, self.store)):
            if isinstance(taken, DeadLetter):
                out.policies.set_aside(taken)
            else:
                out.policies.outcomes[taken] += 1
        inputs = (self.topics.rates, self.topics.policies)
        postings = [m for m in batch if m.topic not in inputs] if rates or policies else batch
        for message, read in apply_each(postings, partial(self._read, now_ms=now_ms)):
            if isinstance(read, DeadLetter):
                out.set_aside(read)
                continue
            # a version whose moment this posting reaches takes over first (on stream time)
            self._switch(message.partition, read.event_time_ms, out)
            for _, result in apply_each([message], partial(self._apply, posting=read)):
                if isinstance(result, DeadLetter):
                    out.set_aside(result)
                    continue
                state, applied = result
                self._collect(message.partition, read, state, applied, now_ms, out)
                if applied.overdrawn:
                    out.overdrawn.append((message.topic, message.partition, message.offset))
        for partition in sorted({m.partition for m in batch}):
            self._sweep(partition, out)
        out.changes = coalesce_placements(out.changes)
        return out

    def _read(self, message: Inbound, now_ms: int) -> Posting:
        _, record = self.codec.decode(value_of(message), expect=DEPOSIT_TRANSACTION, plain=True)
        rates = self.store.rates(message.partition).rate
        policy = self.store.policies(message.partition).in_force(epoch_ms(record["event_time"]))
        posting = posting_from_record(record, policy, decode_key(message), rates)
        refuse_future(posting.event_time_ms, now_ms, policy.max_event_time_lead_ms)
        return posting

    def _apply(self, message: Inbound, posting: Posting) -> tuple[CustomerState, Applied]:
        """§3 under the version in force at the customer's moment: the posting's event time,
        or the customer's own time if later."""
        before = self.store.get(posting.customer_id.encode())
        at = max(posting.event_time_ms, 0 if before is None else before.clock_ms)
        policy = self.store.policies(message.partition).in_force(at)
        rates = self.store.rates(message.partition).rate
        return apply_posting(before, posting, policy, message.partition, rates)

    def _switch(self, partition: int, upto_ms: int, out: LedgerOutput) -> None:
        """Every version whose moment ``upto_ms`` reaches on ``partition`` takes over: its
        customers re-placed (:mod:`tiering.ledger.switching`)."""
        for switch in switch_due(self.store, partition, upto_ms):
            for c in switch.customers:
                done = c.switched
                out.changes.extend((partition, change) for change in done.changes)
                out.signals.extend((partition, s) for s in done.signals)
                if done.departed is not None:
                    out.kpis.departed[done.departed, c.state.branch_id] += 1
                out.balances[c.customer_id] = balance_row(c.customer_id, c.state, c.policy)
            out.signals.extend((partition, s) for s in switch.signals)

    def _collect(
        self,
        partition: int,
        posting: Posting,
        state: CustomerState,
        applied: Applied,
        now_ms: int,
        out: LedgerOutput,
    ) -> None:
        out.outcomes[applied.outcome] += 1
        if applied.excluded:
            out.excluded[posting.account_type] += 1
            return
        if applied.outcome is EventOutcome.DUPLICATE:
            return
        assert state.tier is not None
        self.store.put(posting.customer_id.encode(), state)
        self.store.advance(partition, posting.event_time_ms)
        out.lags_ms.append(now_ms - posting.event_time_ms)
        out.changes.extend((partition, c) for c in applied.changes)
        out.signals.extend((partition, s) for s in applied.signals)
        out.kpis.flows(state.tier, state.branch_id, applied.inflow_fen, applied.outflow_fen)
        if applied.departed is not None:
            out.kpis.departed[applied.departed, state.branch_id] += 1
        policy = self.store.policies(partition).in_force(state.clock_ms)
        out.balances[posting.customer_id] = balance_row(posting.customer_id, state, policy)
        if posting.product_code:
            purchase = self._purchase(posting, state, applied, policy)
            if purchase is not None:
                out.signals.append((partition, purchase))
                assert purchase.detail is not None
                kpis = out.kpis
                kpis.purchase(purchase.tier, state.branch_id, purchase.detail, posting.amount_fen)

    def _purchase(
        self, posting: Posting, state: CustomerState, applied: Applied, policy: Policy
    ) -> Signal | None:
        """§7.4: a purchase (:data:`PURCHASES`) of a product category, counted for marketing
        completion and sent to the notifier to match with what it suggested."""
        if posting.txn_type not in PURCHASES:
            return None
        category = policy.category_of(posting.product_code or "")
        if category is None:
            return None
        assert state.tier is not None
        return Signal(
            signal_id=posting.txn_id,
            kind=SignalKind.PURCHASE,
            customer_id=posting.customer_id,
            tier=state.tier,
            event_time_ms=posting.event_time_ms,
            balance_fen=applied.total_fen,
            branch_id=state.branch_id,
            amount_fen=posting.amount_fen,
            detail=category,
        )

    def _sweep(self, partition: int, out: LedgerOutput) -> None:
        """§3 downgrades, §5 idle funds and §7.3 departures that fell due by the partition's
        stream time, for customers who have not posted since."""
        now = self.store.stream_time.get(partition)
        if now is None:
            return
        self._switch(partition, now, out)
        policy = self.store.policy_of(partition)
        for key in self.store.due(partition, now):
            state = self.store.get(key)
            if state is None:
                continue
            customer_id = key.decode()
            due = expire_due(state, customer_id, now, policy)
            if due.departed is not None:
                out.kpis.departed[due.departed, state.branch_id] += 1
            self.store.put(key, state)
            out.changes.extend((partition, c) for c in due.changes)
            out.signals.extend((partition, s) for s in due.signals)
            if due.changes:
                out.balances[customer_id] = balance_row(customer_id, state, policy)
        self._revalue(partition, now, policy, out)

    def _revalue(self, partition: int, now: int, policy: Policy, out: LedgerOutput) -> None:
        """The holders of each currency whose new rate is in force by the partition's stream
        time, revalued and their tier decided (§3), in the order of the rates' days."""
        rates = self.store.rates(partition)
        due = rates.due(now)
        if not due:
            return
        self.store.rates_changed(partition)  # what is pending of them changed
        for currency, day, rate in due:
            trigger = rate_trigger(currency, day, rate)
            for key in self.store.holding(partition, currency):
                state = self.store.get(key)
                if state is None:
                    continue
                customer_id = key.decode()
                done = revalue_holder(
                    state, customer_id, currency, day, trigger, rates.rate, policy
                )
                if not done.changed:
                    continue
                out.revalued[currency] += 1
                self.store.put(key, state)
                out.changes.extend((partition, c) for c in done.changes)
                out.signals.extend((partition, s) for s in done.signals)
                if done.departed is not None:
                    out.kpis.departed[done.departed, state.branch_id] += 1
                out.balances[customer_id] = balance_row(customer_id, state, policy)

    def records(self, out: LedgerOutput, now_ms: int) -> list[Outgoing]:
        """TierChanges; signals for the notifier: the tier changes it routes (not the initial
        placements it ignores: every new customer, every opening balance) and every other
        signal; dead letters."""
        t = self.topics
        records = [
            Outgoing(
                t.tier_changes,
                c.customer_id.encode(),
                encode_tier_change(self.codec, c, now_ms),
                p,
            )
            for p, c in out.changes
        ]
        # a policy switch's re-placements are told per team, grouped (policy_switch)
        signals = [
            (p, tier_change_signal(c))
            for p, c in out.changes
            if not c.trigger_event_id.startswith(POLICY_SWITCH_PREFIX)
        ]
        signals = [(p, s) for p, s in signals if route(s) is not None] + out.signals
        records += [
            Outgoing(t.signals, s.customer_id.encode(), encode_signal(s), p) for p, s in signals
        ]
        records += out.dead_letter_records(t.transactions_dlq, now_ms)
        records += out.rates.dead_letter_records(t.transactions_dlq, now_ms)
        records += out.policies.dead_letter_records(t.transactions_dlq, now_ms)
        return records


def count(out: LedgerOutput, now_ms: int) -> None:
    """What a stored batch of postings adds to the metrics (contract "Prometheus metrics")."""
    out.count(DEPOSIT_TRANSACTIONS)
    if out.rates.outcomes:
        out.rates.count(FX_RATES)
    if out.policies.outcomes:
        out.policies.count(POLICY_VERSIONS)
    for currency, n in out.revalued.items():
        metrics.FX_REVALUATIONS.labels(currency).inc(n)
    for account_type, n in out.excluded.items():
        metrics.LEDGER_EXCLUDED.labels(account_type).inc(n)
    for _, change in out.changes:
        metrics.TIER_CHANGES.labels(*direction_label(change)).inc()
        metrics.TIER_CHANGE_LATENCY.observe(max(now_ms - change.event_time_ms, 0) / 1000)
    out.kpis.count()
    if out.overdrawn:
        metrics.LEDGER_ANOMALIES.labels("overdrawn").inc(len(out.overdrawn))
        _overdrafts.add(out.overdrawn, time.monotonic())


def direction_label(change: TierDecision) -> tuple[str, str, str]:
    return (
        change.previous_tier.name if change.previous_tier is not None else "NONE",
        change.new_tier.name,
        change.direction.value,
    )
