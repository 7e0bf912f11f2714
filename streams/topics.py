"""The contract's topics, and creating them when they are missing."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.settings import Settings

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
INTERNAL_TOPICS = (SIGNALS,)


def internal_topic(settings: Settings, name: str) -> str:
    return f"{settings.app_id}-{name}"


def all_topic_names(settings: Settings) -> set[str]:
    return {settings.topic(n) for n in CONTRACT_TOPICS} | {
        internal_topic(settings, n) for n in INTERNAL_TOPICS
    }


async def ensure_topics(settings: Settings) -> list[str]:
    """Create the missing topics of this deployment with ``TIERING_TOPIC_PARTITIONS``
    partitions; return their names.

    Every topic is keyed by customer_id with the same partition count, so one customer's
    events and state meet on one partition. An existing topic with another count is reported,
    not changed.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
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
        response = await admin.create_topics(
            [NewTopic(n, settings.topic_partitions, settings.topic_replication) for n in missing]
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
    finally:
        await admin.close()


async def partitions_of(settings: Settings, topic: str) -> list[int]:
    """The partition numbers of ``topic`` (full name), as the broker has them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for t in described if t["topic"] == topic for p in t["partitions"])


async def delete_deployment_topics(settings: Settings) -> int:
    """Delete every topic of a throwaway deployment (tests, benchmarks): its contract topics and
    the internal ones named after its app id. Each partition costs the broker open files."""
    if not settings.topic_prefix:
        raise ValueError("refusing to delete the topics of a deployment without a topic prefix")
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        mine = [
            t
            for t in await admin.list_topics()
            if t.startswith(settings.topic_prefix) or t.startswith(f"{settings.app_id}-")
        ]
        if mine:
            await admin.delete_topics(mine)
        return len(mine)
    finally:
        await admin.close()
