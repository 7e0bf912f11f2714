"""How every Kafka client of the service reaches the brokers: the one place that turns the
``TIERING_KAFKA_*`` settings into the options of an aiokafka client (bootstrap servers,
security protocol, TLS context, SASL credentials) and into Faust's ``broker_credentials``.

Every producer, consumer and admin client is made with :func:`kafka_client_options`, and the
Faust app with :func:`faust_broker_credentials`, so a broker that needs TLS or SASL is reached
the same way by the worker, delivery, the tools and the tests."""

from __future__ import annotations

import asyncio
import ssl
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiokafka.conn import create_conn
from aiokafka.errors import (
    KafkaConnectionError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.helpers import create_ssl_context

from tiering.settings import Settings

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT

#: the option that holds the SASL password: never shown by :class:`KafkaClientOptions`
_SECRET_OPTIONS = frozenset({"sasl_plain_password"})


class KafkaTLSError(ValueError):
    """The TLS files of the Kafka settings cannot be used (unreadable, not PEM, wrong key
    password): the message names the setting, never a secret."""


class KafkaUnreachableError(ConnectionError):
    """No broker of ``TIERING_KAFKA_BOOTSTRAP_SERVERS`` let a client in: the message says why
    for each (nothing listening, a certificate not trusted, credentials refused), never a
    secret."""


class KafkaClientOptions(dict[str, Any]):
    """Keyword arguments for an aiokafka producer, consumer or admin client. A dict, so
    ``AIOKafkaProducer(**options, acks="all")`` takes it; its repr hides the SASL password."""

    def __repr__(self) -> str:
        shown = {k: ("**********" if k in _SECRET_OPTIONS else v) for k, v in self.items()}
        return f"{type(self).__name__}({shown!r})"

    __str__ = __repr__


@lru_cache(maxsize=8)
def _ssl_context(
    ca_file: Path | None, cert_file: Path | None, key_file: Path | None, key_password: str
) -> ssl.SSLContext:
    """One TLS context per set of files, shared by every client of the process: the broker's
    certificate is checked against ``ca_file`` (the system's CAs when None) and its host name
    against the certificate; ``cert_file``/``key_file`` are presented to brokers that ask for a
    client certificate."""
    try:
        context = create_ssl_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise KafkaTLSError(
            f"TIERING_KAFKA_CA_FILE: cannot load CA certificates ({_reason(exc)})"
        ) from None
    if cert_file is not None:
        try:
            # a callable even without a password: OpenSSL would otherwise prompt on the
            # terminal for an encrypted key
            context.load_cert_chain(cert_file, key_file, password=lambda: key_password)
        except (OSError, ssl.SSLError) as exc:
            raise KafkaTLSError(
                "TIERING_KAFKA_CERT_FILE/KEY_FILE: cannot load the client certificate and key "
                f"({_reason(exc)}; is TIERING_KAFKA_KEY_PASSWORD right?)"
            ) from None
    return context


def _reason(exc: OSError | ssl.SSLError) -> str:
    """OpenSSL's or the system's reason, without the contents of any file."""
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason)
    return exc.strerror or type(exc).__name__


def kafka_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of the settings (None when the protocol does not use TLS)."""
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    return _ssl_context(
        settings.kafka_ca_file,
        settings.kafka_cert_file,
        settings.kafka_key_file,
        settings.kafka_key_password.get_secret_value(),
    )


def kafka_client_options(settings: Settings) -> KafkaClientOptions:
    """The options every aiokafka client of the service is made with: where the brokers are
    and how to talk to them. A new dict each call (callers may add to it)."""
    protocol = settings.kafka_security_protocol
    options = KafkaClientOptions(
        bootstrap_servers=settings.bootstrap_servers, security_protocol=protocol
    )
    context = kafka_ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if protocol.startswith("SASL_"):
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password.get_secret_value(),
        )
    return options


def faust_broker_credentials(settings: Settings) -> CredentialsT | None:
    """Faust's ``broker_credentials`` for the same settings (None: PLAINTEXT); Faust hands
    them to the aiokafka clients it makes as the same options as :func:`kafka_client_options`."""
    import faust  # here: the tools and delivery use this module without Faust

    options = kafka_client_options(settings)
    protocol = options["security_protocol"]
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return faust.SSLCredentials(options["ssl_context"])
    # SASL_SSL when given a TLS context, SASL_PLAINTEXT otherwise
    return faust.SASLCredentials(
        username=options["sasl_plain_username"],
        password=options["sasl_plain_password"],
        ssl_context=options.get("ssl_context"),
        mechanism=options["sasl_mechanism"],
    )


#: how long :func:`why_unreachable` gives each broker to answer
PROBE_TIMEOUT_MS = 10_000


def _refusal(exc: BaseException, settings: Settings) -> str:
    """What a failed connection to a broker says to an operator, naming the settings to check."""
    if isinstance(exc, SaslAuthenticationFailed):
        return (
            f"refused the credentials of user {settings.kafka_sasl_username!r} "
            f"({settings.kafka_sasl_mechanism}): check TIERING_KAFKA_SASL_USERNAME and "
            "TIERING_KAFKA_SASL_PASSWORD"
        )
    if isinstance(exc, UnsupportedSaslMechanismError):
        return (
            f"does not accept SASL {settings.kafka_sasl_mechanism}: check "
            "TIERING_KAFKA_SASL_MECHANISM"
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"has a TLS certificate this client does not trust ({exc.verify_message}): check "
            "TIERING_KAFKA_CA_FILE, and that the bootstrap host is a name in the certificate"
        )
    if isinstance(exc, ssl.SSLError):
        return (
            f"failed the TLS handshake ({exc.reason or exc}): check "
            "TIERING_KAFKA_SECURITY_PROTOCOL against the listener, and TIERING_KAFKA_CERT_FILE if "
            "the broker wants a client certificate"
        )
    if isinstance(exc, ConnectionRefusedError):
        return "refused the connection: nothing listens there"
    if isinstance(exc, ConnectionResetError | KafkaConnectionError):
        return (
            "closed the connection: check TIERING_KAFKA_SECURITY_PROTOCOL against the "
            "listener, and TIERING_KAFKA_CERT_FILE if it wants a client certificate"
        )
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return (
            f"did not answer in {PROBE_TIMEOUT_MS // 1000} s: check "
            "TIERING_KAFKA_SECURITY_PROTOCOL against the listener"
        )
    return f"{type(exc).__name__}: {exc}"


async def why_unreachable(settings: Settings) -> KafkaUnreachableError:
    """Connect to each bootstrap broker as the service's clients do, and say why each one
    failed: for the one line a command ends with when Kafka does not let it in (aiokafka
    itself only says it was "unable to bootstrap")."""
    options = kafka_client_options(settings)
    reasons = []
    for server in settings.bootstrap_servers:
        host, colon, port = server.rpartition(":")
        if not colon or not port.isdigit():  # no port: Kafka's own
            host, port = server, "9092"
        try:
            conn = await create_conn(
                host.strip("[]"),
                int(port),
                request_timeout_ms=PROBE_TIMEOUT_MS,
                ssl_context=options.get("ssl_context"),
                security_protocol=options["security_protocol"],
                sasl_mechanism=options.get("sasl_mechanism"),
                sasl_plain_username=options.get("sasl_plain_username"),
                sasl_plain_password=options.get("sasl_plain_password"),
            )
        except Exception as exc:
            reasons.append(f"{server} {_refusal(exc, settings)}")
        else:
            conn.close()
            reasons.append(f"{server} let a connection in, but the client could not start")
    return KafkaUnreachableError(
        f"no Kafka broker let this client in ({settings.kafka_security_protocol}): "
        + "; ".join(reasons)
    )
