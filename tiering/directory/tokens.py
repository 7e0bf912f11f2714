"""The managers' inbox sign-in tokens (``tiering managers token``): issued here, checked by the
inbox; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets

from tiering.settings import Settings
from tiering.sinks.postgres.connection import connect


class UnknownManagerError(LookupError):
    """No manager with that id in the directory."""


def hash_token(token: str) -> str:
    """SHA-256 hex of a sign-in token: what ``managers.token_hash`` holds.

    A plain fast hash is enough here, unlike for passwords: the tokens are 256 random bits
    (``secrets.token_urlsafe(32)``), so there is no dictionary to try and no salt or slow
    key-derivation function would add anything against guessing; the hash only keeps a read of
    the table from handing out working tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(settings: Settings, manager_id: str) -> str:
    """A new random sign-in token for ``manager_id``; only its hash is stored. The previous
    token stops working, and the inbox ends the sessions it opened."""
    token = secrets.token_urlsafe(32)
    conn = await connect(settings, "tiering", requires_table="managers")
    try:
        done = await conn.fetchval(
            "UPDATE managers SET token_hash = $2, updated_at = now() WHERE manager_id = $1"
            " RETURNING true",
            manager_id,
            hash_token(token),
        )
    finally:
        await conn.close()
    if not done:
        raise UnknownManagerError(f"no manager {manager_id!r} in the directory")
    return token
