"""From the Kafka settings to the options of every client: aiokafka's and Faust's get the same
protocol, TLS context and credentials; the TLS files are checked and secrets never shown."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import faust
import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import SecretStr

from tests.harness.private.tls import TestCA
from tiering.settings import Settings
from tiering.wire.kafka_clients import (
    KafkaTLSError,
    faust_broker_credentials,
    kafka_client_options,
    why_unreachable,
)

PASSWORD = "s3cret-sasl-password"
KEY_PASSWORD = "s3cret-key-password"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


def without_bootstrap(options: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in options.items() if k != "bootstrap_servers"}


def test_plaintext_is_the_default_and_faust_gets_no_credentials() -> None:
    settings = Settings(kafka_bootstrap_servers="k1:9092, k2:9092")
    assert kafka_client_options(settings) == {
        "bootstrap_servers": ["k1:9092", "k2:9092"],
        "security_protocol": "PLAINTEXT",
    }
    assert faust_broker_credentials(settings) is None


def test_sasl_ssl_gives_aiokafka_and_faust_the_same_verified_context_and_credentials(
    ca: TestCA,
) -> None:
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="tiering",
        kafka_sasl_password=PASSWORD,
        kafka_ca_file=ca.ca_file,
    )
    options = kafka_client_options(settings)
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("organizationName", "deposit-tiering tests"),), (("commonName", ca.name),))
    ]
    assert without_bootstrap(options) == {
        "security_protocol": "SASL_SSL",
        "ssl_context": context,
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "tiering",
        "sasl_plain_password": PASSWORD,
    }
    # one context for every client of the process
    assert kafka_client_options(settings)["ssl_context"] is context
    # what Faust hands its own aiokafka clients is the same
    credentials = faust_broker_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert dict(credentials_to_aiokafka_auth(credentials)) == without_bootstrap(options)
    assert PASSWORD not in repr(options) + repr(credentials) + repr(settings)


def test_sasl_over_plaintext_has_no_tls_context() -> None:
    settings = Settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="tiering",
        kafka_sasl_password=PASSWORD,
    )
    options = kafka_client_options(settings)
    assert "ssl_context" not in options
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"  # the default mechanism
    credentials = faust_broker_credentials(settings)
    assert dict(credentials_to_aiokafka_auth(credentials)) == {
        **without_bootstrap(options),
        "ssl_context": None,
    }


def test_mutual_tls_loads_the_client_certificate_and_its_encrypted_key(ca: TestCA) -> None:
    client = ca.client("unit-client", "tiering", key_password=KEY_PASSWORD)
    settings = Settings(
        kafka_security_protocol="SSL",
        kafka_ca_file=ca.ca_file,
        kafka_cert_file=client.cert_file,
        kafka_key_file=client.key_file,
        kafka_key_password=KEY_PASSWORD,
    )
    options = kafka_client_options(settings)
    assert without_bootstrap(options) == {
        "security_protocol": "SSL",
        "ssl_context": options["ssl_context"],
    }
    credentials = faust_broker_credentials(settings)
    assert dict(credentials_to_aiokafka_auth(credentials)) == without_bootstrap(options)
    assert KEY_PASSWORD not in repr(settings)

    wrong = settings.model_copy(update={"kafka_key_password": SecretStr("not-" + KEY_PASSWORD)})
    with pytest.raises(KafkaTLSError, match="TIERING_KAFKA_KEY_PASSWORD") as refused:
        kafka_client_options(wrong)
    assert KEY_PASSWORD not in str(refused.value)


def test_a_ca_file_that_is_not_pem_is_named(tmp_path: Path) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("this is not a certificate\n")
    settings = Settings(kafka_security_protocol="SSL", kafka_ca_file=not_pem)
    with pytest.raises(KafkaTLSError, match="TIERING_KAFKA_CA_FILE"):
        kafka_client_options(settings)


async def test_a_broker_that_does_not_listen_is_named_with_the_reason() -> None:
    with socket.socket() as s:  # a port bound, never listened on: connections are refused
        s.bind(("127.0.0.1", 0))
        server = f"127.0.0.1:{s.getsockname()[1]}"
        error = await why_unreachable(Settings(kafka_bootstrap_servers=server))
    assert str(error) == (
        f"no Kafka broker let this client in (PLAINTEXT): {server} refused the connection: "
        "nothing listens there"
    )


async def test_a_broker_named_without_a_port_is_tried_on_kafkas_own() -> None:
    error = await why_unreachable(Settings(kafka_bootstrap_servers="127.0.0.1"))
    assert str(error).startswith("no Kafka broker let this client in (PLAINTEXT): 127.0.0.1 ")
