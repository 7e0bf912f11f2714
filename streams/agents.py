"""The agents: thin shells that take a batch, let a processor decide, and write the outcome
in the order :class:`streams.app.TieringApp` guarantees."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import faust

from streams import metrics, topics
from streams.app import Outgoing
from streams.core.notifier import route
from streams.core.tiers import Tier
from streams.ledger_processor import (
    BatchOutput,
    DeadLetter,
    LedgerProcessor,
    direction_label,
    encode_tier_change,
)
from streams.notices import encode_notice, from_signal, from_tier_change
from streams.notifier_processor import NotifierOutput, NotifierProcessor, encode_notification
from streams.profile_processor import ProfileOutput, ProfileProcessor

if TYPE_CHECKING:
    from streams.app import TieringApp

log = logging.getLogger(__name__)


def dead_letters(topic: faust.TopicT, letters: list[DeadLetter], now_ms: int) -> list[Outgoing]:
    """Bad input to its dead-letter topic: the original key and bytes, headers saying why."""
    for letter in letters:
        source = letter.source
        log.warning(
            "dead letter: %s[%d]@%d reason=%s",
            source.topic,
            source.partition,
            source.offset,
            letter.reason,
        )
    return [
        Outgoing(topic, d.source.key, d.source.value, d.source.partition, d.headers(now_ms))
        for d in letters
    ]


class LedgerAgent:
    """``deposit-transactions`` → balances, TierChanges, notices, dead letters (§3, §5)."""

    def __init__(self, tiering: TieringApp, processor: LedgerProcessor) -> None:
        self.tiering = tiering
        self.processor = processor

    async def run(self, stream: faust.StreamT) -> None:
        t = self.tiering
        async for batch in t.run_batches(stream):
            now_ms = int(time.time() * 1000)
            out = self.processor.process(batch, now_ms)
            rows = t.sink.write(list(out.balances.values()), [c for _, c in out.changes], now_ms)
            await t.finish_batch(
                self.processor.store, t.ledger_table, self._outgoing(out, now_ms), rows
            )
            self._count(out, now_ms)

    def _outgoing(self, out: BatchOutput, now_ms: int) -> list[Outgoing]:
        t = self.tiering
        records = [
            Outgoing(
                t.tier_changes, c.customer_id.encode(), encode_tier_change(t.codec, c, now_ms), p
            )
            for p, c in out.changes
        ]
        # The notifier hears of the tier changes it routes (not the initial placements it
        # ignores: every new customer, every opening balance) and of every signal.
        notices = [(p, from_tier_change(c)) for p, c in out.changes]
        records += [
            Outgoing(t.signals, n.customer_id.encode(), encode_notice(n), p)
            for p, n in notices
            if route(n) is not None
        ]
        records += [
            Outgoing(t.signals, s.customer_id.encode(), encode_notice(from_signal(s)), p)
            for p, s in out.signals
        ]
        records += [
            Outgoing(t.signals, n.customer_id.encode(), encode_notice(n), p)
            for p, n in out.purchases
        ]
        records += dead_letters(t.transactions_dlq, out.dead_letters, now_ms)
        return records

    def _count(self, out: BatchOutput, now_ms: int) -> None:
        topic = topics.DEPOSIT_TRANSACTIONS
        for outcome, n in out.outcomes.items():
            metrics.EVENTS.labels(topic, outcome).inc(n)
        for letter in out.dead_letters:
            metrics.DEAD_LETTERS.labels(topic, letter.reason).inc()
        lag = metrics.EVENT_LAG.labels(topic)
        for ms in out.lags_ms:
            lag.observe(ms / 1000)
        for tier, fen in out.inflow_fen.items():
            if fen:
                metrics.INFLOW.labels(tier.name).inc(fen / 100)
        for tier, fen in out.outflow_fen.items():
            if fen:
                metrics.OUTFLOW.labels(tier.name).inc(fen / 100)
        for _, change in out.changes:
            metrics.TIER_CHANGES.labels(*direction_label(change)).inc()
            metrics.TIER_CHANGE_LATENCY.observe(max(now_ms - change.event_time_ms, 0) / 1000)
            if change.previous_tier is not None and change.new_tier < change.previous_tier:
                metrics.CHURNED.labels(change.previous_tier.name).inc()
        for tier, n in out.emptied.items():
            metrics.CHURNED.labels(Tier(tier).name).inc(n)


class NotifierAgent:
    """Notices → ManagerNotifications on ``manager-notifications`` (§4, §5)."""

    def __init__(self, tiering: TieringApp, processor: NotifierProcessor) -> None:
        self.tiering = tiering
        self.processor = processor

    async def run(self, stream: faust.StreamT) -> None:
        t = self.tiering
        async for batch in t.run_batches(stream):
            customers = sorted({m.key.decode() for m in batch if m.key})
            context = await t.sink.customer_context(customers)
            out = self.processor.process(batch, context)
            records = [
                Outgoing(
                    t.notifications, n.customer_id.encode(), encode_notification(t.codec, n), p
                )
                for p, n in out.notifications
            ]
            await t.finish_batch(self.processor.store, t.notifier_table, records)
            self._count(out)

    def _count(self, out: NotifierOutput) -> None:
        for (kind, team, outcome), n in out.outcomes.items():
            metrics.NOTIFICATIONS.labels(kind, team, outcome).inc(n)
        for (tier, kind), n in out.conversions.items():
            metrics.CONVERSIONS.labels(tier, kind).inc(n)
        if out.unreadable:
            metrics.EVENTS.labels(topics.SIGNALS, "dead_letter").inc(out.unreadable)


class ProfileAgent:
    """``online-behavior`` → customer profiles, product-interest notices, dead letters (§6)."""

    def __init__(self, tiering: TieringApp, processor: ProfileProcessor) -> None:
        self.tiering = tiering
        self.processor = processor

    async def run(self, stream: faust.StreamT) -> None:
        t = self.tiering
        async for batch in t.run_batches(stream):
            now_ms = int(time.time() * 1000)
            out = self.processor.process(batch, now_ms)
            records = [
                Outgoing(t.signals, n.customer_id.encode(), encode_notice(n), p)
                for p, n in out.interest
            ]
            records += dead_letters(t.behavior_dlq, out.dead_letters, now_ms)
            rows = t.sink.write_profiles(list(out.profiles.values()))
            await t.finish_batch(self.processor.store, t.profile_table, records, rows)
            self._count(out)

    def _count(self, out: ProfileOutput) -> None:
        topic = topics.ONLINE_BEHAVIOR
        for outcome, n in out.outcomes.items():
            metrics.EVENTS.labels(topic, outcome).inc(n)
        for letter in out.dead_letters:
            metrics.DEAD_LETTERS.labels(topic, letter.reason).inc()
        lag = metrics.EVENT_LAG.labels(topic)
        for ms in out.lags_ms:
            lag.observe(ms / 1000)
        for (event_type, channel, tier), n in out.online.items():
            metrics.ONLINE_EVENTS.labels(event_type, channel, tier).inc(n)
        for tier, rating in out.ratings:
            metrics.SATISFACTION.labels(tier).observe(rating)
