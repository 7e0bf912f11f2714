"""Deterministic ids: the same cause always gives the same id, so a replay is recognisable
downstream and every sink can write idempotently."""

from __future__ import annotations

import uuid

_ID_NAMESPACE = uuid.UUID("6f1c3b5e-4a6d-5d0b-9b43-2d1f6c0a7e11")


def deterministic_id(*parts: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, "|".join(parts)))
