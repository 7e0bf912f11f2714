"""Inbox session cookies: only this key's untampered, unexpired cookies are accepted."""

from __future__ import annotations

import base64
import time

import pytest

from tiering.inbox.sessions import Session, SessionSigner, fingerprint

KEY = b"k" * 32


def test_a_signed_session_comes_back_as_it_was() -> None:
    signer = SessionSigner(KEY)
    session = Session.new("M1", "ab" * 32)
    assert signer.verify(signer.sign(session)) == session
    assert session.token_fingerprint == fingerprint("ab" * 32) == "ab" * 8
    anonymous = Session.new()
    assert signer.verify(signer.sign(anonymous)) == anonymous
    assert anonymous.manager_id is None


def test_each_session_has_its_own_csrf_token() -> None:
    a, b = Session.new("M1"), Session.new("M1")
    assert a.csrf != b.csrf
    assert len(a.csrf) >= 32
    assert a.csrf_ok(a.csrf)
    assert not a.csrf_ok(b.csrf)
    assert not a.csrf_ok("")
    assert not a.csrf_ok(None)


def test_a_tampered_cookie_is_refused() -> None:
    signer = SessionSigner(KEY)
    value = signer.sign(Session.new("M1"))
    payload, mac = value.split(".")
    forged = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).replace(b"M1", b"M2")
    forged_payload = base64.urlsafe_b64encode(forged).rstrip(b"=").decode()
    assert signer.verify(f"{forged_payload}.{mac}") is None
    assert signer.verify(value[:-2] + ("AA" if not value.endswith("AA") else "BB")) is None


def test_another_key_does_not_verify() -> None:
    value = SessionSigner(KEY).sign(Session.new("M1"))
    assert SessionSigner(b"x" * 32).verify(value) is None
    assert SessionSigner.from_secret("").verify(value) is None  # a random key per process
    a, b = SessionSigner.from_secret("shared"), SessionSigner.from_secret("shared")
    assert b.verify(a.sign(Session.new("M1"))) is not None  # processes sharing the secret


def test_an_expired_or_future_session_is_refused() -> None:
    signer = SessionSigner(KEY, max_age=3600)
    value = signer.sign(Session.new("M1"))
    now = time.time()
    assert signer.verify(value, now=now + 3000) is not None
    assert signer.verify(value, now=now + 3601) is None
    assert signer.verify(value, now=now - 600) is None  # issued "in the future"


@pytest.mark.parametrize("garbage", [None, "", "abc", "a.b.c", "....", "e30.", "%%%.%%%"])
def test_garbage_is_refused(garbage: str | None) -> None:
    assert SessionSigner(KEY).verify(garbage) is None


def test_a_signed_payload_of_the_wrong_shape_is_refused() -> None:
    signer = SessionSigner(KEY)
    payload = base64.urlsafe_b64encode(b'{"m": "M1"}').rstrip(b"=").decode()
    assert signer.verify(f"{payload}.{signer._mac(payload)}") is None


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        SessionSigner(b"short")
