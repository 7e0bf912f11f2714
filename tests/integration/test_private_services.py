"""The tests' own Kafka and PostgreSQL (tests/harness/private/): each answers on every listener,
and is found again on the same ports with the same data after a stop and after a crash."""

from __future__ import annotations

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.helpers import create_ssl_context

from tests.harness.private import PrivateKafka, PrivatePostgres
from tests.harness.private.process import port_open

TOPIC = "private-smoke"


async def read_all(broker: PrivateKafka, **client: object) -> list[bytes]:
    """Every value of the smoke topic's one partition, read to its end offset, through the
    listener and credentials in ``client`` (the PLAINTEXT listener by default)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=client.pop("bootstrap_servers", broker.bootstrap),
        enable_auto_commit=False,
        **client,  # type: ignore[arg-type]
    )
    await consumer.start()
    try:
        tp = TopicPartition(TOPIC, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        values: list[bytes] = []
        while await consumer.position(tp) < end:
            for batch in (await consumer.getmany(tp, timeout_ms=1000)).values():
                values.extend(r.value for r in batch if r.offset < end)
        return values
    finally:
        await consumer.stop()


async def test_private_kafka_answers_on_every_listener_and_restarts_on_its_data(
    private_kafka: PrivateKafka,
) -> None:
    broker = private_kafka
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(TOPIC, b"before")
    finally:
        await producer.stop()

    trusted = create_ssl_context(cafile=str(broker.ca_file))
    for mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        assert await read_all(
            broker,
            bootstrap_servers=broker.sasl_ssl_bootstrap,
            security_protocol="SASL_SSL",
            ssl_context=trusted,
            sasl_mechanism=mechanism,
            sasl_plain_username=broker.username,
            sasl_plain_password=broker.password,
        ) == [b"before"], mechanism
    mutual = create_ssl_context(
        cafile=str(broker.ca_file),
        certfile=str(broker.client_cert.cert_file),
        keyfile=str(broker.client_cert.key_file),
        password=broker.client_cert.key_password,
    )
    assert await read_all(
        broker, bootstrap_servers=broker.ssl_bootstrap, security_protocol="SSL",
        ssl_context=mutual,
    ) == [b"before"]  # fmt: skip

    where = (broker.bootstrap, broker.sasl_ssl_bootstrap, broker.ssl_bootstrap)
    broker.stop()
    assert not port_open(broker.plaintext_port)
    broker.start()
    assert (broker.bootstrap, broker.sasl_ssl_bootstrap, broker.ssl_bootstrap) == where
    assert await read_all(broker) == [b"before"]

    broker.kill()
    assert not port_open(broker.plaintext_port)
    broker.start()
    assert await read_all(broker) == [b"before"]


async def test_private_postgres_answers_in_clear_and_over_tls_and_restarts_on_its_data(
    private_postgres: PrivatePostgres,
) -> None:
    cluster = private_postgres
    conn = await asyncpg.connect(cluster.url)
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS smoke (n int)")
        await conn.execute("INSERT INTO smoke VALUES (1)")
        assert not await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        await conn.close()
    conn = await asyncpg.connect(cluster.tls_url)
    try:
        assert await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        await conn.close()

    port = cluster.port
    for mode in ("fast", "immediate"):
        cluster.stop(mode)  # type: ignore[arg-type]
        assert not port_open(port)
        cluster.start()
        assert cluster.port == port
        conn = await asyncpg.connect(cluster.tls_url)
        try:
            assert await conn.fetch("SELECT n FROM smoke") == [(1,)], mode
        finally:
            await conn.close()
