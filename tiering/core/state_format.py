"""Stored customer state carries its format number first; a reader refuses one it does not
know, rather than misread state that a newer version of the service wrote."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class StateFormatError(ValueError):
    """Stored state written by an unknown (newer) version of the service."""


def check_state_format(fields: Sequence[Any], known: int | tuple[int, ...], what: str) -> None:
    """Refuse stored state whose first element is not a format this version reads (the one it
    writes, or earlier ones it still reads)."""
    formats = (known,) if isinstance(known, int) else known
    if not fields or fields[0] not in formats:
        found = fields[0] if fields else None
        raise StateFormatError(f"{what} format {found} is not known to this version")
