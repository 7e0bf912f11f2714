"""Sign-in links' tickets: signed with the inbox's secret for this use only, refused when
tampered with, made with another secret, expired, or without a secret at all."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import SecretStr

from tiering.directory.links import (
    NoLinkSecretError,
    Ticket,
    inbox_url,
    make_ticket,
    read_ticket,
    token_fingerprint,
)
from tiering.inbox.sessions import Session, SessionSigner
from tiering.settings import Settings

SECRET = "the inbox's secret"
NOW = 1_800_000_000
TICKET = Ticket("M-1", token_fingerprint("ab" * 32), NOW + 60)


def test_a_ticket_reads_back_until_it_expires() -> None:
    value = make_ticket(SECRET, TICKET)
    assert read_ticket(SECRET, value, now=NOW) == TICKET
    assert read_ticket(SECRET, value, now=NOW + 59.999) == TICKET
    assert read_ticket(SECRET, value, now=NOW + 60) is None


def test_another_secret_or_a_changed_ticket_is_refused() -> None:
    value = make_ticket(SECRET, TICKET)
    assert read_ticket("another secret", value, now=NOW) is None
    payload, mac = value.split(".")
    other = base64.urlsafe_b64encode(
        json.dumps(["M-2", TICKET.token_fingerprint, TICKET.expires_at]).encode()
    ).decode()
    for bad in (f"{other.rstrip('=')}.{mac}", f"{payload}.{mac[:-2]}AA", payload, "", None):
        assert read_ticket(SECRET, bad, now=NOW) is None


def test_no_secret_no_links() -> None:
    with pytest.raises(NoLinkSecretError):
        make_ticket("", TICKET)
    assert read_ticket("", make_ticket(SECRET, TICKET), now=NOW) is None


def test_a_session_cookie_is_no_ticket() -> None:
    """Keyed for its use: a session cookie signed with the same secret does not sign in."""
    cookie = SessionSigner.from_secret(SECRET).sign(Session.new("M-1", "ab" * 32))
    assert read_ticket(SECRET, cookie, now=NOW) is None


def test_the_fingerprint_changes_with_the_token() -> None:
    assert token_fingerprint("ab" * 32) != token_fingerprint("cd" * 32)
    # no prefix of the stored hash travels in a link
    assert token_fingerprint("ab" * 32) not in "ab" * 32


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("0.0.0.0", "http://127.0.0.1:8080"),
        ("::1", "http://[::1]:8080"),
        ("inbox.bank.internal", "http://inbox.bank.internal:8080"),
    ],
)
def test_the_inbox_url(host: str, url: str) -> None:
    settings = Settings(inbox_host=host, inbox_port=8080, inbox_secret=SecretStr(SECRET))
    assert inbox_url(settings) == url
