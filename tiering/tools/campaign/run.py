"""``tiering campaign NAME``: choose the cohort (PostgreSQL), send one CAMPAIGN signal per
member to the internal signals topic, keyed by the customer (their partition, where the
notifier keeps their cooldowns), and record the run. The notifier then tells each customer's
team, once: the signals' ids depend on the campaign, the day and the customer, and a customer
told within the cooldown is not told again (§5). A dry run chooses, records and sends nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from tiering.core.bank_time import from_epoch_ms
from tiering.core.policy import Campaign
from tiering.settings import Settings
from tiering.sinks.postgres.connection import connect
from tiering.tools.campaign.cohort import Cohort, campaign_signal, run_id, select_cohort
from tiering.tools.campaign.sources import read_candidates, record_run
from tiering.wire.kafka_clients import kafka_client_options
from tiering.wire.signals import encode_signal
from tiering.wire.topics import DeploymentTopics, ensure_topics

log = logging.getLogger(__name__)

#: the progress callback hears (signals sent, cohort size) this often
PROGRESS_EVERY = 500


@dataclass(frozen=True, slots=True)
class CampaignRun:
    """What a run chose and did."""

    campaign: Campaign
    run: str  #: the bank day it ran for
    started_ms: int  #: its event time
    dry_run: bool
    cohort: Cohort
    sent: int


async def run_campaign(
    settings: Settings,
    campaign: Campaign,
    dry_run: bool,
    progress: Callable[[int, int], None] = lambda _sent, _total: None,
) -> CampaignRun:
    """Choose ``campaign``'s cohort now and, unless ``dry_run``, send its signals."""
    started_ms = time.time_ns() // 1_000_000  # the campaign's start is its event time
    run = run_id(started_ms)
    policy = settings.policy
    conn = await connect(settings, "tiering-campaign", requires_table="campaign_runs")
    try:
        candidates = await read_candidates(conn, campaign)
        cohort = select_cohort(candidates, campaign, policy, started_ms)
        sent = 0 if dry_run else await _send(settings, campaign, run, cohort, started_ms, progress)
        await record_run(
            conn, campaign, run, from_epoch_ms(started_ms), dry_run, policy.version, cohort
        )
    finally:
        await conn.close()
    log.info(
        "campaign %s run %s%s: cohort %d, excluded %s, signals sent %d",
        campaign.name,
        run,
        " (dry run)" if dry_run else "",
        len(cohort.members),
        dict(cohort.excluded) or "none",
        sent,
    )
    return CampaignRun(campaign, run, started_ms, dry_run, cohort, sent)


async def _send(
    settings: Settings,
    campaign: Campaign,
    run: str,
    cohort: Cohort,
    at_ms: int,
    progress: Callable[[int, int], None],
) -> int:
    """One signal per member, keyed by the customer id: the default partitioner puts it on
    the customer's partition, as the bank's feeds keyed the same way are."""
    await ensure_topics(settings)
    topic = DeploymentTopics.of(settings).signals
    producer = AIOKafkaProducer(
        **kafka_client_options(settings), acks="all", enable_idempotence=True, linger_ms=20
    )
    await producer.start()
    total = len(cohort.members)
    try:
        for n, member in enumerate(cohort.members, 1):
            signal = campaign_signal(campaign, run, member, at_ms)
            await producer.send(topic, key=member.customer_id.encode(), value=encode_signal(signal))
            if n % PROGRESS_EVERY == 0:
                progress(n, total)
        await producer.flush()
    finally:
        await producer.stop()
    progress(total, total)
    return total
