"""Deterministic ids: the same cause always gives the same id, so a replay is recognisable
downstream and every sink can write idempotently."""

from __future__ import annotations

import hashlib
import uuid

_ID_NAMESPACE = uuid.UUID("6f1c3b5e-4a6d-5d0b-9b43-2d1f6c0a7e11")
_PREFIX = _ID_NAMESPACE.bytes


def deterministic_id(*parts: str) -> str:
    """The name-based UUID (version 5, RFC 4122) of ``parts`` joined by ``|``, as text.

    What ``str(uuid.uuid5(namespace, name))`` gives, without building a ``UUID`` object
    (1.3 µs instead of 3.5 µs here; a tier change and a signal each take one). SHA-1 is what
    version 5 is made of, not a safeguard.
    """
    name = _PREFIX + "|".join(parts).encode()
    digest = bytearray(hashlib.sha1(name, usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
