"""The outside services a process needs (PostgreSQL, Kafka), and whether they answer now.

An outage is told in a few lines, not one per retry: one when it begins (where, why, how often
the process tries again), one a minute while it lasts, one when it ends (how long, how many
retries). ``tiering_dependency_up{dependency}`` shows it to Prometheus, and the worker's
``/healthz`` names it (:func:`outages`). The process itself waits: it never exits because a
dependency is away.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tiering.metrics import DEPENDENCY_UP

log = logging.getLogger(__name__)

#: seconds between the lines that say an outage still lasts
SUMMARY_EVERY = 60.0
#: seconds between retries at most, unless a dependency says otherwise
DEFAULT_RETRY_EVERY = 5.0
#: seconds before the first retry, doubled at each further failure (:class:`Backoff`)
FIRST_RETRY = 0.1
#: characters of a failure's message kept in a reason (the first line of it)
REASON_CHARACTERS = 160


def reason_of(exc: BaseException) -> str:
    """What went wrong, in one short line: the exception's type and the first line of its
    message (never the arguments of a statement, never a URL's password)."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    message = message.removeprefix(f"{type(exc).__name__}: ")  # aiokafka's name themselves
    if len(message) > REASON_CHARACTERS:
        message = message[: REASON_CHARACTERS - 1] + "…"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


@dataclass
class Backoff:
    """How long to wait before the next attempt at a service that failed: ``FIRST_RETRY``
    after the first failure, doubled at each further one up to ``ceiling``, each wait drawn
    from the upper half of that (jitter: the clients of a process, and the processes of a
    deployment, do not all knock at the same moment when the service comes back)."""

    ceiling: float = DEFAULT_RETRY_EVERY
    failures: int = 0

    def next_wait(self, draw: Callable[[float, float], float] = random.uniform) -> float:
        """Count a failure; the seconds to wait before trying again."""
        self.failures += 1
        top = min(self.ceiling, FIRST_RETRY * 2 ** min(self.failures - 1, 16))
        return draw(top / 2, top)


@dataclass
class Dependency:
    """One outside service, as this process sees it: up until an attempt to use it fails,
    down until one succeeds again."""

    #: the ``dependency`` label of the gauge: ``postgres``, ``kafka``
    label: str
    #: how people call it and where it is: ``PostgreSQL at 10.0.0.5:5432``
    name: str
    #: seconds between retries at most (said in the first line)
    retry_every: float
    clock: Callable[[], float] = time.monotonic
    #: seconds a service with many clients must keep failing, with no success between and
    #: none just before, to be away: one client's straggling failure beside the others'
    #: successes (as a broker shuts down, or after it came back) is not an outage
    settle: float = 0.0
    #: the current outage's reason, or None while the dependency answers
    reason: str | None = None
    retries: int = 0
    _answered_at: float = float("-inf")
    #: the first failure since the last success, while it is not yet an outage
    _failing_since: float | None = None
    _down_since: float = 0.0
    _last_summary: float = 0.0
    _logger: logging.Logger = field(default=log, repr=False)

    def __post_init__(self) -> None:
        DEPENDENCY_UP.labels(self.label).set(1)

    @property
    def up(self) -> bool:
        return self.reason is None

    def down_for(self) -> float:
        """Seconds the current outage has lasted (0 while up)."""
        return 0.0 if self.up else self.clock() - self._down_since

    def failed(self, reason: str) -> None:
        """An attempt to use it failed for ``reason``; the caller retries."""
        now = self.clock()
        if self.up:
            if now - self._answered_at < self.settle:
                return
            if self._failing_since is None:
                self._failing_since = now
            if now - self._failing_since < self.settle:
                return
            self.reason, self.retries = reason, 0
            self._down_since, self._last_summary = self._failing_since, now
            DEPENDENCY_UP.labels(self.label).set(0)
            self._logger.error(
                "%s unreachable: %s; retrying every %g s", self.name, reason, self.retry_every
            )
            return
        self.reason = reason
        self.retries += 1
        if now - self._last_summary >= SUMMARY_EVERY:
            self._last_summary = now
            self._logger.warning(
                "%s still unreachable after %.0f s (%d retries): %s",
                self.name,
                now - self._down_since,
                self.retries,
                reason,
            )

    def answered(self) -> None:
        """An attempt to use it succeeded: an outage, if there was one, is over."""
        self._answered_at = self.clock()
        self._failing_since = None
        if self.up:
            return
        self._logger.warning(
            "%s reachable again after %.0f s (%d retries)",
            self.name,
            self.clock() - self._down_since,
            self.retries,
        )
        self.reason, self.retries = None, 0
        DEPENDENCY_UP.labels(self.label).set(1)


_dependencies: dict[str, Dependency] = {}


def dependency(
    label: str, name: str | None = None, retry_every: float = DEFAULT_RETRY_EVERY
) -> Dependency:
    """The process's one :class:`Dependency` for ``label``, made at the first ask; ``name``
    (where it is) is set by whoever knows it, such as the code that opens its connections."""
    found = _dependencies.get(label)
    if found is None:
        found = _dependencies[label] = Dependency(label, name or label, retry_every)
    elif name is not None:
        found.name = name
    return found


def outages() -> dict[str, str]:
    """What is away now, by label: ``{"postgres": "PostgreSQL at …: unreachable for 23 s: …"}``."""
    return {
        d.label: f"{d.name} unreachable for {d.down_for():.0f} s: {d.reason}"
        for d in _dependencies.values()
        if not d.up
    }
