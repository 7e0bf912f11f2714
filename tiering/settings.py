"""Configuration from the environment (contract "Configuration"); every default works with
``make up``."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, FilePath, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tiering.core.policy import Policy
from tiering.core.policy_file import load_policy
from tiering.i18n import DEFAULT_LANGUAGE, Language

DEFAULT_APP_ID = "deposit-tiering"

KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class Settings(BaseSettings):
    """``TIERING_*`` variables. Several deployments share one broker and one database by
    giving each its own ``app_id``, ``topic_prefix`` and ``web_port``."""

    model_config = SettingsConfigDict(env_prefix="TIERING_", frozen=True, extra="ignore")

    kafka_bootstrap_servers: str = Field("localhost:9092", min_length=1)
    #: how every Kafka client of the service talks to the brokers: in clear, over TLS, with
    #: SASL authentication (tiering/wire/kafka_clients.py turns these into client options)
    kafka_security_protocol: KafkaSecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: KafkaSaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    #: CA certificates (PEM) the brokers' certificates are checked against; empty: the
    #: system's. The broker's host name is always checked against its certificate.
    kafka_ca_file: FilePath | None = None
    #: a client certificate (PEM) for brokers that require one (mutual TLS), its private key
    #: (PEM; empty: in the certificate file) and the key's password if it is encrypted
    kafka_cert_file: FilePath | None = None
    kafka_key_file: FilePath | None = None
    kafka_key_password: SecretStr = SecretStr("")
    database_url: SecretStr = SecretStr("postgresql://postgres@localhost:5432/tiering")
    app_id: str = Field(DEFAULT_APP_ID, pattern=r"^[A-Za-z0-9._-]+$")
    topic_prefix: str = Field("", pattern=r"^[A-Za-z0-9._-]*$")
    web_port: int = Field(6066, ge=1, le=65535)
    #: where the worker's HTTP server listens; 0.0.0.0 in a container
    web_host: str = "127.0.0.1"
    topic_partitions: int = Field(8, ge=1, le=1000)
    #: replication factor of topics the service creates (1 on a single local broker)
    topic_replication: int = Field(1, ge=1, le=7)
    policy_file: Path | None = None
    #: Faust's local state directory (the worker's data dir)
    data_dir: Path = Path(".local/worker")
    #: where a worker keeps its customers' state: ``rocksdb`` on disk under ``data_dir`` (one
    #: database per partition; a restart replays only the changelog after what it holds), or
    #: ``memory`` (rebuilt from the whole changelog on every start)
    state_store: Literal["rocksdb", "memory"] = "rocksdb"
    #: a worker's stable name in its consumer group (Kafka static membership): started again
    #: under the same name, it gets its partitions back without waiting for the group to time
    #: the old process out; empty: a new member at each start. The pod name in a StatefulSet.
    instance_id: str = Field("", pattern=r"^[A-Za-z0-9._-]*$")
    #: warm copies each partition's tables keep on other workers (when there are that many)
    standby_replicas: int = Field(1, ge=0, le=5)
    #: input records a worker takes at most in one batch, across partitions: larger batches
    #: share a batch's fixed costs among more postings, smaller ones leave a smaller heap
    max_batch: int = Field(10_000, ge=100, le=100_000)

    #: PostgreSQL schema of this deployment's tables; empty: ``public`` for the default
    #: app id, else the app id (lower case, other characters as ``_``)
    database_schema: str = Field("", pattern=r"^[a-z_][a-z0-9_]*$|^$")

    #: the language people read when nothing else chooses one (a manager's preference in the
    #: directory, their browser's Accept-Language, a channel's own setting): zh_Hans_CN
    #: (Simplified Chinese), zh_Hant (Traditional) or en
    language: Language = DEFAULT_LANGUAGE

    #: the managers' inbox web page (tiering inbox)
    inbox_host: str = "127.0.0.1"
    inbox_port: int = Field(8080, ge=1, le=65535)
    #: key that signs inbox session cookies; empty: a random key per process
    inbox_secret: SecretStr = SecretStr("")
    #: the head office's ``branch_id`` in the manager directory: its managers see their team's
    #: notifications that have no branch, and its private bankers every branch's (§4)
    head_office_branch: str = Field("HQ", min_length=1)
    #: delivery channels (webhooks per team, SMTP) as TOML; empty: PostgreSQL inbox only
    channels_file: Path | None = None
    #: the Prometheus that scrapes the workers (tiering report reads KPIs from it)
    prometheus_url: str = Field("http://127.0.0.1:9090", pattern=r"^https?://")
    #: attempts per notification and channel before it is dead-lettered
    delivery_max_attempts: int = Field(5, ge=1, le=50)
    #: first retry delay; doubled per attempt, with jitter
    delivery_backoff_seconds: float = Field(1.0, gt=0, le=600)

    @field_validator(
        "policy_file",
        "channels_file",
        "kafka_ca_file",
        "kafka_cert_file",
        "kafka_key_file",
        mode="before",
    )
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _kafka_security_is_whole(self) -> Settings:
        """Refuse a Kafka security setting that would be ignored or could not work: credentials
        or TLS files that the protocol does not use would leave the service talking in clear
        while its operator believes otherwise."""
        protocol = self.kafka_security_protocol
        sasl = protocol.startswith("SASL_")
        tls = protocol.endswith("SSL")
        password = self.kafka_sasl_password.get_secret_value()
        if sasl and not (self.kafka_sasl_username and password):
            raise ValueError(
                f"TIERING_KAFKA_SECURITY_PROTOCOL={protocol} needs TIERING_KAFKA_SASL_USERNAME "
                "and TIERING_KAFKA_SASL_PASSWORD"
            )
        if not sasl and (self.kafka_sasl_username or password):
            raise ValueError(
                "TIERING_KAFKA_SASL_USERNAME/PASSWORD are set but "
                f"TIERING_KAFKA_SECURITY_PROTOCOL={protocol} does not authenticate with SASL: "
                "use SASL_SSL"
            )
        if sasl and not tls and self.kafka_sasl_mechanism == "PLAIN":
            raise ValueError(
                "SASL PLAIN over SASL_PLAINTEXT sends the Kafka password in clear: use "
                "TIERING_KAFKA_SECURITY_PROTOCOL=SASL_SSL or a SCRAM mechanism"
            )
        unused = [
            f"TIERING_KAFKA_{name}"
            for name, value in (
                ("CA_FILE", self.kafka_ca_file),
                ("CERT_FILE", self.kafka_cert_file),
                ("KEY_FILE", self.kafka_key_file),
                ("KEY_PASSWORD", self.kafka_key_password.get_secret_value()),
            )
            if value
        ]
        if not tls and unused:
            raise ValueError(
                f"{', '.join(unused)} set but TIERING_KAFKA_SECURITY_PROTOCOL={protocol} does "
                "not use TLS: use SSL or SASL_SSL"
            )
        if self.kafka_cert_file is None and (
            self.kafka_key_file or self.kafka_key_password.get_secret_value()
        ):
            raise ValueError(
                "TIERING_KAFKA_KEY_FILE/KEY_PASSWORD need TIERING_KAFKA_CERT_FILE, the client "
                "certificate of that key"
            )
        return self

    def topic(self, name: str) -> str:
        """The full name of one of the contract's topics in this deployment."""
        return f"{self.topic_prefix}{name}"

    @property
    def db_schema(self) -> str:
        if self.database_schema:
            return self.database_schema
        if self.app_id == DEFAULT_APP_ID:
            return "public"
        return re.sub(r"[^a-z0-9_]", "_", self.app_id.lower())

    @property
    def bootstrap_servers(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap_servers.split(",") if s.strip()]

    @cached_property
    def policy(self) -> Policy:
        return load_policy(self.policy_file)
