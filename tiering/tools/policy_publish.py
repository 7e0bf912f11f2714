"""Publishing a policy version (``tiering policy publish``): checked, then sent as a copy to
every partition of the compacted policy topic, so the worker holding each partition of the
postings knows it and switches to it at its ``effective_from`` on that partition's event time
(:mod:`tiering.core.policy_versions`, :mod:`tiering.ledger.switching`).

A version is never changed once published: publishing the same file again changes nothing; a
different text under a published ``policy_version`` is refused, and so is a version that would
take effect at or before the newest one published (a replay must meet the versions in the
order of their moments).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tiering.core.bank_time import epoch_ms, from_epoch_ms
from tiering.core.policy import PolicyError
from tiering.core.policy_versions import PolicyConflict, PolicyVersions, PublishedVersion, published
from tiering.settings import Settings
from tiering.wire.codec import POLICY_VERSION, AvroCodec
from tiering.wire.kafka_clients import kafka_client_options
from tiering.wire.topics import DeploymentTopics, ensure_topics, partitions_of


@dataclass(frozen=True, slots=True)
class Publication:
    """What publishing did."""

    version: PublishedVersion
    #: sent now (False: it was published already, with the same text and moment)
    sent: bool
    #: the partitions it went to
    partitions: int
    #: its moment had passed by the wall clock: partitions whose event time is past it switch
    #: at once, dated at their own time, and decisions made before stand
    late: bool


async def published_versions(settings: Settings) -> list[PublishedVersion]:
    """Every version on the policy topic (its first partition's copies), oldest moment first."""
    topic = DeploymentTopics.of(settings).policies
    codec = AvroCodec()
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), enable_auto_commit=False, group_id=None
    )
    try:  # stopped even when it could not start (no broker answered)
        await consumer.start()
        if topic not in await consumer.topics():
            return []
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        found: dict[str, PublishedVersion] = {}
        while await consumer.position(tp) < end:
            for records in (await consumer.getmany(tp, timeout_ms=1000)).values():
                for r in records:
                    if r.value is None:
                        continue
                    _, record = codec.decode(r.value, expect=POLICY_VERSION)
                    found[record["version"]] = PublishedVersion(
                        record["version"], epoch_ms(record["effective_from"]), record["text"]
                    )
        return sorted(found.values(), key=lambda v: v.effective_from_ms)
    finally:
        await consumer.stop()


def check_publication(candidate: PublishedVersion, known: list[PublishedVersion]) -> bool:
    """Whether ``candidate`` is new (False: published already, the same); :class:`PolicyError`
    naming why it cannot be published after ``known``."""
    if candidate in known:
        return False
    newest = max((k.effective_from_ms for k in known), default=None)
    try:
        PolicyVersions.check_new(candidate, known, after_ms=newest)
    except PolicyConflict as exc:
        raise PolicyError(str(exc)) from None
    return True


async def publish_version(settings: Settings, text: str, dry_run: bool = False) -> Publication:
    """Check the policy file ``text`` and, unless ``dry_run``, send it to every partition of
    the policy topic; :class:`PolicyError` when it is not valid or not publishable."""
    version = published(text)
    await ensure_topics(settings)
    known = await published_versions(settings)
    new = check_publication(version, known)
    topic = DeploymentTopics.of(settings).policies
    partitions = await partitions_of(settings, topic)
    now_ms = time.time_ns() // 1_000_000
    late = version.effective_from_ms <= now_ms
    if dry_run or not new:
        return Publication(version, False, len(partitions), late)
    value = AvroCodec().encode(
        POLICY_VERSION,
        {
            "version": version.version,
            "effective_from": from_epoch_ms(version.effective_from_ms),
            "text": version.text,
            "published_at": from_epoch_ms(now_ms),
        },
    )
    producer = AIOKafkaProducer(
        **kafka_client_options(settings), acks="all", enable_idempotence=True, linger_ms=20
    )
    await producer.start()
    try:
        for p in partitions:
            await producer.send(topic, key=version.version.encode(), value=value, partition=p)
        await producer.flush()
    finally:
        await producer.stop()
    return Publication(version, True, len(partitions), late)
