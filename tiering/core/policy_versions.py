"""Effective-dated policy versions: the policy a worker starts with (``TIERING_POLICY_FILE``)
and every version published since (``tiering policy publish``), each in force from its
``effective_from`` until the next one's. To each event the rules apply the version in force at
the event's time, so every worker switches at the same event time, without a restart, and a
replay makes the same decisions.

Pure: the versions come in as their TOML text (as the policy topic carries them) and are read
once per text.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tiering.core.policy import Policy, PolicyError
from tiering.core.policy_file import parse_policy_text

#: the trigger of the re-placements at a version's switch, ``policy:<policy_version>``
#: (``tier_changes.trigger_event_id``), and the source of the teams' POLICY_CHANGE notices of it
POLICY_SWITCH_PREFIX = "policy:"

#: the layout of :meth:`PolicyVersions.encode`: [format, switched until, [[version,
#: effective_from, text], ...]]
_FORMAT = 1


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    """One version as published: its name, its moment and the policy file's text."""

    version: str
    effective_from_ms: int
    text: str


@lru_cache(maxsize=64)
def read_version(text: str) -> Policy:
    """A published version's text as a checked policy (read once per text, whichever
    partitions carry it)."""
    return parse_policy_text(text, "published policy version")


def published(text: str) -> PublishedVersion:
    """``text`` as a version to publish; :class:`PolicyError` when it is not a valid policy or
    says no ``effective_from``."""
    policy = read_version(text)
    if policy.effective_from_ms is None:
        raise PolicyError(
            f"policy {policy.version}: a published version needs effective_from, the moment "
            "it takes over (e.g. effective_from = 2027-01-01T00:00:00, China time)"
        )
    return PublishedVersion(policy.version, policy.effective_from_ms, text)


class PolicyConflict(ValueError):
    """A version that contradicts one already known: the same name with another text, or
    another version at the same moment."""


class PolicyVersions:
    """The versions one partition knows, by their moment, and how far it has switched."""

    def __init__(self, base: Policy, versions: Iterable[PublishedVersion] = ()) -> None:
        self.base = base
        self._versions: list[PublishedVersion] = []
        self._moments: list[int] = []
        #: the moment of the newest version this partition's customers were re-placed under
        #: (:mod:`tiering.ledger.policy_switch`); None before the first
        self.switched_ms: int | None = None
        for version in versions:
            self.add(version)

    def __len__(self) -> int:
        return len(self._versions)

    @property
    def versions(self) -> tuple[PublishedVersion, ...]:
        return tuple(self._versions)

    def add(self, version: PublishedVersion) -> bool:
        """Take a published version; False when it is known already (a re-send).
        :class:`PolicyConflict` when it contradicts one known."""
        if version in self._versions:
            return False
        self.check_new(version, self._versions, after_ms=self.switched_ms)
        i = bisect.bisect(self._moments, version.effective_from_ms)
        self._versions.insert(i, version)
        self._moments.insert(i, version.effective_from_ms)
        return True

    @staticmethod
    def check_new(
        version: PublishedVersion, known: Iterable[PublishedVersion], after_ms: int | None
    ) -> None:
        """:class:`PolicyConflict` when ``version`` contradicts one ``known``, or would take
        effect at or before ``after_ms`` (a moment already passed by a switch, or the newest
        published)."""
        for k in known:
            if k.version == version.version:
                raise PolicyConflict(
                    f"version {version.version} was published already with another text or "
                    "moment; publish a change under a new policy_version"
                )
            if k.effective_from_ms == version.effective_from_ms:
                raise PolicyConflict(
                    f"version {k.version} takes effect at the same moment as "
                    f"{version.version}; give each version its own effective_from"
                )
        if after_ms is not None and version.effective_from_ms <= after_ms:
            raise PolicyConflict(
                f"version {version.version} would take effect at or before a version already "
                "published or in force; a new version takes effect after the newest one"
            )

    def in_force(self, at_ms: int) -> Policy:
        """The policy in force at event time ``at_ms``."""
        i = bisect.bisect_right(self._moments, at_ms)
        return self.base if i == 0 else read_version(self._versions[i - 1].text)

    def latest(self) -> Policy:
        """The newest version (the base when none was published)."""
        return read_version(self._versions[-1].text) if self._versions else self.base

    def due(self, upto_ms: int) -> list[Policy]:
        """The versions whose moment has come by ``upto_ms`` and whose switch is not done yet,
        oldest first."""
        after = self.switched_ms
        return [
            read_version(v.text)
            for v in self._versions
            if v.effective_from_ms <= upto_ms and (after is None or v.effective_from_ms > after)
        ]

    def encode(self) -> list[Any]:
        return [
            _FORMAT,
            self.switched_ms,
            [[v.version, v.effective_from_ms, v.text] for v in self._versions],
        ]

    @classmethod
    def decode(cls, fields: list[Any] | None, base: Policy) -> PolicyVersions:
        if fields is None:
            return cls(base)
        if fields[0] != _FORMAT:
            raise ValueError(f"policy versions of format {fields[0]} are not known here")
        versions = cls(base, (PublishedVersion(v, t, text) for v, t, text in fields[2]))
        versions.switched_ms = fields[1]
        return versions
