"""Sign-in links to the managers' inbox: a URL that signs one manager in when opened (the demo
prints one per team, so a newcomer goes from a tier change to the notification a manager sees).

A link carries a ticket, never the manager's token: ``base64url(json [manager id, token
fingerprint, expiry]) "." base64url(HMAC-SHA256)``, keyed from ``TIERING_INBOX_SECRET`` for
this use only (a session cookie is no ticket, nor the other way round). Whoever can make one can
already sign session cookies with that secret, so links add no power. A link works until it
expires (12 hours after it was made) or the manager is given a new token, whichever comes
first; it needs the secret the inbox runs with, and without a secret there are no links (the
inbox's random per-process key could sign none that it would accept).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from tiering.directory.tokens import UnknownManagerError, issue_token
from tiering.settings import Settings
from tiering.sinks.postgres.connection import connect

#: the inbox's route for links
LINK_PATH = "/signin/link"
#: how long a link works (a working day and some, as a session lasts)
LINK_SECONDS = 12 * 3600


class NoLinkSecretError(RuntimeError):
    """``TIERING_INBOX_SECRET`` is empty: no link could be checked by the inbox."""


@dataclass(frozen=True, slots=True)
class Ticket:
    manager_id: str
    token_fingerprint: str  #: of the manager's token hash when the link was made
    expires_at: int  #: epoch seconds


def token_fingerprint(token_hash: str) -> str:
    """A short fingerprint of a manager's stored token hash: a new token ends the links."""
    return hashlib.sha256(b"tiering-inbox-link-token:" + token_hash.encode()).hexdigest()[:16]


def _key(secret: str) -> bytes:
    if not secret:
        raise NoLinkSecretError("sign-in links need TIERING_INBOX_SECRET, the inbox's secret")
    return hashlib.sha256(b"tiering-inbox-link:" + secret.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(secret: str, payload: str) -> str:
    return _b64(hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest())


def make_ticket(secret: str, ticket: Ticket) -> str:
    body = json.dumps(
        [ticket.manager_id, ticket.token_fingerprint, ticket.expires_at], separators=(",", ":")
    )
    payload = _b64(body.encode())
    return f"{payload}.{_mac(secret, payload)}"


def read_ticket(secret: str, value: str | None, now: float | None = None) -> Ticket | None:
    """The ticket in ``value`` if its signature holds under ``secret`` and it has not expired;
    None otherwise, and always None without a secret."""
    if not secret or not value or value.count(".") != 1 or len(value) > 1000:
        return None
    payload, mac = value.split(".")
    if not hmac.compare_digest(mac.encode(), _mac(secret, payload).encode()):
        return None
    try:
        manager_id, fingerprint, expires_at = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
    except (ValueError, TypeError, binascii.Error):
        return None
    if not isinstance(manager_id, str) or not isinstance(expires_at, int):
        return None
    if (time.time() if now is None else now) >= expires_at:
        return None
    return Ticket(manager_id, str(fingerprint), expires_at)


def inbox_url(settings: Settings) -> str:
    """Where the inbox of these settings answers, for a person on this machine."""
    host = settings.inbox_host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (listening everywhere: this machine too)
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.inbox_port}"


async def sign_in_link(settings: Settings, manager_id: str, now: float | None = None) -> str:
    """A sign-in link for ``manager_id``. A manager without a token is given one (not shown:
    ``tiering managers token`` hands one over); one with a token keeps it, so links made
    before keep working."""
    secret = settings.inbox_secret.get_secret_value()
    _key(secret)  # no secret: fail before giving anyone a token
    conn = await connect(settings, "tiering", requires_table="managers")
    try:
        row = await conn.fetchrow(
            "SELECT token_hash FROM managers WHERE manager_id = $1", manager_id
        )
    finally:
        await conn.close()
    if row is None:
        raise UnknownManagerError(f"no manager {manager_id!r} in the directory")
    token_hash = row["token_hash"]
    if not token_hash:
        await issue_token(settings, manager_id)
        return await sign_in_link(settings, manager_id, now)
    expires = int(time.time() if now is None else now) + LINK_SECONDS
    ticket = make_ticket(secret, Ticket(manager_id, token_fingerprint(token_hash), expires))
    return f"{inbox_url(settings)}{LINK_PATH}?{urlencode({'ticket': ticket})}"
