"""Servers of the tests' own, beside the shared ones ``make up`` starts: a Kafka broker
(:class:`PrivateKafka`) and a PostgreSQL cluster (:class:`PrivatePostgres`) that fault tests
may stop, kill and start again, with TLS listeners whose certificates a test CA
(:class:`TestCA`) signs. The session fixtures ``private_kafka`` and ``private_postgres``
(tests/conftest.py) start them for the tests that ask."""

from tests.harness.private.kafka import PrivateKafka
from tests.harness.private.postgres import PrivatePostgres
from tests.harness.private.tls import KeyPair, TestCA

__all__ = ["KeyPair", "PrivateKafka", "PrivatePostgres", "TestCA"]
