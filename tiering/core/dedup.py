"""Re-sent events are recognised by their id, within a bounded memory (DESIGN "Guarantees").

Per customer, the ids of the events applied whose event time is within ``horizon_ms`` of the
customer's newest one are remembered, at most ``max_ids`` of them, as 64-bit fingerprints.
Past that bound a re-send cannot be told from a new event: one at or before the newest
forgotten event time is refused (``outside_dedup_window``) rather than risk counting it twice.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field

from tiering.core.bad_input import BadInput


class EventOutcome(enum.StrEnum):
    """What applying an input event did (``tiering_events_total{outcome}``; the third outcome,
    ``dead_letter``, is an event that could not be applied at all)."""

    PROCESSED = "processed"
    DUPLICATE = "duplicate"


def fingerprint(event_id: str) -> int:
    """64 bits of the id: enough to tell one customer's events apart, small to keep."""
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "little")


@dataclass(slots=True)
class SeenIds:
    #: fingerprint → event time, for events newer than ``floor_ms``
    ids: dict[int, int] = field(default_factory=dict)
    #: the newest event time among forgotten ids: older events cannot be checked
    floor_ms: int = 0

    def is_duplicate(self, fp: int, event_time_ms: int) -> bool:
        """True for a re-send; raises :class:`BadInput` when it cannot be told."""
        if fp in self.ids:
            return True
        if event_time_ms <= self.floor_ms:
            raise BadInput(
                "outside_dedup_window",
                "the event is older than the ids this customer's dedup memory still holds",
            )
        return False

    def remember(
        self, fp: int, event_time_ms: int, clock_ms: int, horizon_ms: int, max_ids: int
    ) -> None:
        """Remember an applied event; forget the oldest past the horizon or the count."""
        ids = self.ids
        ids[fp] = event_time_ms
        horizon = clock_ms - horizon_ms
        if len(ids) > max_ids or min(ids.values()) < horizon:
            keep = sorted(ids.items(), key=lambda item: item[1])
            while keep and (len(keep) > max_ids or keep[0][1] < horizon):
                _, forgotten = keep.pop(0)
                self.floor_ms = max(self.floor_ms, forgotten)
            self.ids = dict(keep)
