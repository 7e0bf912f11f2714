"""The topics of a deployment: their names, and creating them when they are missing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from tiering.settings import Settings
from tiering.wire.kafka_clients import kafka_client_options, why_unreachable

log = logging.getLogger(__name__)

DEPOSIT_TRANSACTIONS = "deposit-transactions"
ONLINE_BEHAVIOR = "online-behavior"
TIER_CHANGES = "tier-changes"
MANAGER_NOTIFICATIONS = "manager-notifications"


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


CONTRACT_TOPICS = (
    DEPOSIT_TRANSACTIONS,
    ONLINE_BEHAVIOR,
    TIER_CHANGES,
    MANAGER_NOTIFICATIONS,
    dlq(DEPOSIT_TRANSACTIONS),
    dlq(ONLINE_BEHAVIOR),
    dlq(MANAGER_NOTIFICATIONS),  # notifications that no channel could deliver
)

#: topics between the service's own parts, named after TIERING_APP_ID like Faust's own
SIGNALS = "signals"
#: dated exchange rates (tiering import-rates), a copy of each on every partition
FX_RATES = "fx-rates"
#: the effective-dated policy versions (tiering policy publish), a copy of each on every
#: partition; compacted by version, so a worker reads every version ever published
POLICY_VERSIONS = "policy-versions"
INTERNAL_TOPICS = (SIGNALS, FX_RATES, POLICY_VERSIONS)
#: topics kept by key rather than by time: the latest record of each key, forever
COMPACTED_TOPICS = (POLICY_VERSIONS,)


def internal_topic(settings: Settings, name: str) -> str:
    return f"{settings.app_id}-{name}"


@dataclass(frozen=True, slots=True)
class DeploymentTopics:
    """The full names of the topics a worker reads and writes, in one deployment."""

    transactions: str
    behavior: str
    tier_changes: str
    notifications: str
    signals: str
    rates: str
    policies: str
    transactions_dlq: str
    behavior_dlq: str
    notifications_dlq: str

    @classmethod
    def of(cls, settings: Settings) -> DeploymentTopics:
        return cls(
            transactions=settings.topic(DEPOSIT_TRANSACTIONS),
            behavior=settings.topic(ONLINE_BEHAVIOR),
            tier_changes=settings.topic(TIER_CHANGES),
            notifications=settings.topic(MANAGER_NOTIFICATIONS),
            signals=internal_topic(settings, SIGNALS),
            rates=internal_topic(settings, FX_RATES),
            policies=internal_topic(settings, POLICY_VERSIONS),
            transactions_dlq=settings.topic(dlq(DEPOSIT_TRANSACTIONS)),
            behavior_dlq=settings.topic(dlq(ONLINE_BEHAVIOR)),
            notifications_dlq=settings.topic(dlq(MANAGER_NOTIFICATIONS)),
        )


def topic_label(settings: Settings, full_name: str) -> str:
    """The name a metric label gives a topic: its contract (or internal) name, without this
    deployment's prefix."""
    for name in INTERNAL_TOPICS:
        if full_name == internal_topic(settings, name):
            return name
    return full_name.removeprefix(settings.topic_prefix)


def all_topic_names(settings: Settings) -> set[str]:
    return {settings.topic(n) for n in CONTRACT_TOPICS} | {
        internal_topic(settings, n) for n in INTERNAL_TOPICS
    }


@asynccontextmanager
async def admin_client(settings: Settings) -> AsyncIterator[AIOKafkaAdminClient]:
    """An admin client, started; :class:`~tiering.wire.kafka_clients.KafkaUnreachableError`
    saying why when no broker lets it in (the first contact of every command with Kafka)."""
    admin = AIOKafkaAdminClient(**kafka_client_options(settings))
    try:
        await admin.start()
    except KafkaConnectionError:
        await admin.close()
        raise await why_unreachable(settings) from None
    try:
        yield admin
    finally:
        await admin.close()


async def ensure_topics(settings: Settings) -> list[str]:
    """Create the missing topics of this deployment with ``TIERING_TOPIC_PARTITIONS``
    partitions; return their names.

    Every topic is keyed by customer_id with the same partition count, so one customer's
    events and state meet on one partition. An existing topic with another count is reported,
    not changed.
    """
    async with admin_client(settings) as admin:
        wanted = all_topic_names(settings)
        present = wanted & set(await admin.list_topics())
        for topic in await admin.describe_topics(sorted(present)) if present else []:
            count = len(topic.get("partitions", ()))
            if count != settings.topic_partitions:
                log.warning(
                    "topic %s has %d partitions, not %d: keep every topic of this deployment "
                    "at one count so a customer's events meet on one partition",
                    topic["topic"],
                    count,
                    settings.topic_partitions,
                )
        missing = sorted(wanted - present)
        if not missing:
            return []
        compacted = {internal_topic(settings, n) for n in COMPACTED_TOPICS}
        response = await admin.create_topics(
            [
                NewTopic(
                    n,
                    settings.topic_partitions,
                    settings.topic_replication,
                    topic_configs={"cleanup.policy": "compact"} if n in compacted else None,
                )
                for n in missing
            ]
        )
    created = []
    for name, code, *rest in response.topic_errors:
        if code == 0:
            created.append(name)
        elif code != TopicAlreadyExistsError.errno:  # another worker was first: fine
            message = rest[0] if rest else ""
            raise RuntimeError(f"cannot create topic {name}: error {code} {message}")
    if created:
        log.info("created topics: %s", ", ".join(created))
    return created


async def partitions_of(settings: Settings, topic: str) -> list[int]:
    """The partition numbers of ``topic`` (full name), as the broker has them."""
    async with admin_client(settings) as admin:
        described = await admin.describe_topics([topic])
    return sorted(p["partition"] for t in described if t["topic"] == topic for p in t["partitions"])


async def delete_deployment_topics(settings: Settings) -> int:
    """Delete every topic of a throwaway deployment (tests, benchmarks): its contract topics and
    the internal ones named after its app id. Each partition costs the broker open files."""
    if not settings.topic_prefix:
        raise ValueError("refusing to delete the topics of a deployment without a topic prefix")
    async with admin_client(settings) as admin:
        mine = [
            t
            for t in await admin.list_topics()
            if t.startswith(settings.topic_prefix) or t.startswith(f"{settings.app_id}-")
        ]
        if mine:
            await admin.delete_topics(mine)
        return len(mine)
