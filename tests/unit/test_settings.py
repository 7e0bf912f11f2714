"""The Kafka security settings are refused when incomplete or when they would be ignored: a
service never talks in clear while its operator believes it uses TLS or SASL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tiering.settings import Settings

USER = {"kafka_sasl_username": "tiering", "kafka_sasl_password": "pw"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"kafka_security_protocol": "SASL_SSL"},
            "TIERING_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs TIERING_KAFKA_SASL_USERNAME and "
            "TIERING_KAFKA_SASL_PASSWORD",
        ),
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "tiering"},
            "needs TIERING_KAFKA_SASL_USERNAME and TIERING_KAFKA_SASL_PASSWORD",
        ),
        (
            USER,
            "TIERING_KAFKA_SASL_USERNAME/PASSWORD are set but "
            "TIERING_KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not authenticate with SASL",
        ),
        (
            {"kafka_security_protocol": "SSL", **USER},
            "TIERING_KAFKA_SECURITY_PROTOCOL=SSL does not authenticate with SASL",
        ),
        (
            {
                "kafka_security_protocol": "SASL_PLAINTEXT",
                "kafka_sasl_mechanism": "PLAIN",
                **USER,
            },
            "SASL PLAIN over SASL_PLAINTEXT sends the Kafka password in clear",
        ),
        (
            {"kafka_ca_file": "CA"},
            "TIERING_KAFKA_CA_FILE set but TIERING_KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not "
            "use TLS",
        ),
        (
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_cert_file": "CA", **USER},
            "TIERING_KAFKA_CERT_FILE set but TIERING_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT",
        ),
        (
            {"kafka_security_protocol": "SSL", "kafka_key_file": "CA"},
            "TIERING_KAFKA_KEY_FILE/KEY_PASSWORD need TIERING_KAFKA_CERT_FILE",
        ),
        (
            {"kafka_security_protocol": "SSL", "kafka_key_password": "pw"},
            "TIERING_KAFKA_KEY_FILE/KEY_PASSWORD need TIERING_KAFKA_CERT_FILE",
        ),
    ],
)
def test_incomplete_or_ignored_kafka_security_is_refused(
    settings: dict[str, Any], message: str, tmp_path: Path
) -> None:
    (tmp_path / "CA").write_text("")
    values = {k: tmp_path / v if k.endswith("_file") else v for k, v in settings.items()}
    with pytest.raises(ValidationError, match=message):
        Settings(**values)


def test_a_tls_file_that_does_not_exist_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(kafka_security_protocol="SSL", kafka_ca_file=tmp_path / "missing.pem")
    assert [e["loc"] for e in refused.value.errors()] == [("kafka_ca_file",)]


def test_the_whole_of_a_valid_setup_is_accepted_and_its_secrets_never_shown(
    tmp_path: Path,
) -> None:
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("")
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="tiering",
        kafka_sasl_password="sasl-secret",
        kafka_ca_file=tmp_path / "ca.pem",
        kafka_cert_file=tmp_path / "client.pem",
        kafka_key_file=tmp_path / "client.key",
        kafka_key_password="key-secret",
        database_url="postgresql://tiering:db-secret@db:5432/tiering?sslmode=verify-full",
    )
    assert settings.kafka_sasl_password.get_secret_value() == "sasl-secret"
    shown = repr(settings) + str(settings)
    for secret in ("sasl-secret", "key-secret", "db-secret"):
        assert secret not in shown


def test_the_head_office_is_hq_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inbox's head office (issue 17.4): the directory's branch HQ, one variable away."""
    monkeypatch.delenv("TIERING_HEAD_OFFICE_BRANCH", raising=False)
    assert Settings().head_office_branch == "HQ"
    monkeypatch.setenv("TIERING_HEAD_OFFICE_BRANCH", "HO-01")
    assert Settings().head_office_branch == "HO-01"
    monkeypatch.setenv("TIERING_HEAD_OFFICE_BRANCH", "")
    with pytest.raises(ValidationError, match="head_office_branch"):
        Settings()
