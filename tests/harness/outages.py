"""What the outage tests read: a clock they move by hand, and the dependency gauge."""

from __future__ import annotations

from prometheus_client import REGISTRY


class Clock:
    """``time.monotonic`` for a :class:`~tiering.outages.Dependency`, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def gauge(label: str) -> float | None:
    """``tiering_dependency_up{dependency=label}`` in this process."""
    return REGISTRY.get_sample_value("tiering_dependency_up", {"dependency": label})
