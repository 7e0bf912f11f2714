"""Signed session cookies: the cookie itself holds the session, so the inbox keeps no session
table and several inbox processes sharing ``TIERING_INBOX_SECRET`` accept each other's cookies.

A value is ``base64url(json payload) "." base64url(HMAC-SHA256(key, payload))``; it is signed,
not encrypted, so it holds nothing secret: the manager id, the form (CSRF) token, a fingerprint
of the manager's token hash (issuing a new token ends the old sessions) and when it was issued.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "tiering_inbox"
#: how long a session lasts after sign-in (a working day and some)
MAX_AGE = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    """``manager_id`` None: not signed in yet (the sign-in form still needs a CSRF token)."""

    manager_id: str | None
    csrf: str
    token_fingerprint: str
    issued_at: int

    @classmethod
    def new(cls, manager_id: str | None = None, token_hash: str = "") -> Session:
        """A fresh session with a new CSRF token (a new one at each sign-in and sign-out, so
        a token seen before signing in is worth nothing after)."""
        return cls(manager_id, secrets.token_urlsafe(24), fingerprint(token_hash), int(time.time()))

    def csrf_ok(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf.encode())


def fingerprint(token_hash: str) -> str:
    """A short fingerprint of a manager's stored token hash ("" for none)."""
    return token_hash[:16] if token_hash else ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Signs and verifies session cookies with one HMAC key."""

    def __init__(self, key: bytes, max_age: int = MAX_AGE) -> None:
        if len(key) < 16:
            raise ValueError("the session key must have at least 16 bytes")
        self._key = key
        self.max_age = max_age

    @classmethod
    def from_secret(cls, secret: str) -> SessionSigner:
        """``TIERING_INBOX_SECRET``, or a random key when empty (sessions then end when the
        process does). The secret is hashed so that any length of it makes a full key."""
        if not secret:
            return cls(secrets.token_bytes(32))
        return cls(hashlib.sha256(b"tiering-inbox-session:" + secret.encode()).digest())

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def sign(self, session: Session) -> str:
        body = json.dumps(
            [session.manager_id, session.csrf, session.token_fingerprint, session.issued_at],
            separators=(",", ":"),
        )
        payload = _b64(body.encode())
        return f"{payload}.{self._mac(payload)}"

    def verify(self, value: str | None, now: float | None = None) -> Session | None:
        """The session in ``value`` if its signature holds and it has not expired, else None."""
        if not value or value.count(".") != 1:
            return None
        payload, mac = value.split(".")
        if not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            return None
        try:
            manager_id, csrf, token_fingerprint, issued_at = json.loads(_unb64(payload))
        except (ValueError, TypeError, binascii.Error):
            return None
        now = time.time() if now is None else now
        if not isinstance(issued_at, int) or not isinstance(manager_id, str | None):
            return None
        if issued_at > now + 60 or now >= issued_at + self.max_age:  # 60 s: clock skew
            return None
        return Session(manager_id, str(csrf), str(token_fingerprint), issued_at)
