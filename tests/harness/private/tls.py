"""A test certificate authority and the certificates it signs, as PEM files, made with the
``cryptography`` package: the TLS material of the tests' own Kafka and PostgreSQL."""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: the names every test server certificate is valid for
LOOPBACK_NAMES = ("localhost", "127.0.0.1")

_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=True,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "deposit-tiering tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _alt_names(hosts: tuple[str, ...]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _key_pem(key: ec.EllipticCurvePrivateKey, password: str | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    # PKCS#8: the only private key format Kafka's PEM key stores read
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _write(path: Path, data: bytes, mode: int = 0o644) -> Path:
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, each in a PEM file."""

    cert_file: Path
    key_file: Path
    #: the password the key file is encrypted with; None: in clear
    key_password: str | None = None

    def combined_pem(self, path: Path) -> Path:
        """Key and certificate in one PEM file, as Kafka's PEM key store reads them."""
        return _write(path, self.key_file.read_bytes() + self.cert_file.read_bytes(), 0o600)


class TestCA:
    """A certificate authority of one test session: its certificate in ``ca_file``, and the
    server and client certificates it signs, written beside it in ``directory``."""

    __test__ = False  # not a pytest test class despite its name

    def __init__(self, directory: Path, name: str = "deposit-tiering test CA") -> None:
        self.directory = directory
        self.name = name
        directory.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        self.ca_file = _write(
            directory / "ca.pem", self._cert.public_bytes(serialization.Encoding.PEM)
        )

    def _issue(
        self,
        stem: str,
        common_name: str,
        usage: x509.ObjectIdentifier,
        hosts: tuple[str, ...],
        key_password: str | None,
    ) -> KeyPair:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_KEY_USAGE, critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if hosts:
            builder = builder.add_extension(_alt_names(hosts), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        cert_file = _write(
            self.directory / f"{stem}.crt", cert.public_bytes(serialization.Encoding.PEM)
        )
        key_file = _write(self.directory / f"{stem}.key", _key_pem(key, key_password), 0o600)
        return KeyPair(cert_file, key_file, key_password)

    def server(self, stem: str, hosts: tuple[str, ...] = LOOPBACK_NAMES) -> KeyPair:
        """A server certificate for ``hosts`` (DNS names or IP addresses), key in clear."""
        return self._issue(stem, hosts[0], ExtendedKeyUsageOID.SERVER_AUTH, hosts, None)

    def client(self, stem: str, common_name: str, key_password: str | None = None) -> KeyPair:
        """A client certificate for mutual TLS, its key encrypted with ``key_password``."""
        return self._issue(stem, common_name, ExtendedKeyUsageOID.CLIENT_AUTH, (), key_password)
