"""The policy versions a ledger partition keeps in its table (:mod:`tiering.core.policy_versions`):
under a key of their own per partition, with how far the partition has switched, so they move
with the partition and its changelog. The ledger's store reads and writes them; the profile, the
notifier and ``tiering policy simulate`` read them."""

from __future__ import annotations

from collections.abc import Callable

import msgpack

from tiering.core.policy import Policy
from tiering.core.policy_versions import PolicyVersions

#: keys of the ledger's table that are no customer's: they start with a zero byte (the
#: partition's policy versions here, its exchange rates and bookkeeping in ledger.store)
RESERVED = b"\x00"


def policies_key(partition: int) -> bytes:
    """The key of a partition's policy versions (and how far it switched) in the table."""
    return RESERVED + b"policy-versions:" + str(partition).encode()


def stored_versions(
    read: Callable[[bytes], bytes | None], partition: int, base: Policy
) -> PolicyVersions:
    """``partition``'s policy versions as the table keeps them (none: ``base`` alone)."""
    raw = read(policies_key(partition))
    return PolicyVersions.decode(None if raw is None else msgpack.unpackb(raw), base)


class VersionsInTable:
    """The policy versions the ledger keeps in its table, for the agents that read that table
    beside their own (the profile, the notifier: co-partitioned, held by the same worker), so
    they too apply the version in force at each event's time."""

    def __init__(self, read: Callable[[bytes], bytes | None], base: Policy) -> None:
        self._read = read
        self._base = base
        self._known: dict[int, tuple[bytes | None, PolicyVersions]] = {}

    def policy_at(self, partition: int, at_ms: int) -> Policy:
        raw = self._read(policies_key(partition))
        known = self._known.get(partition)
        if known is None or known[0] != raw:
            versions = stored_versions(lambda _: raw, partition, self._base)
            known = self._known[partition] = (raw, versions)
        return known[1].in_force(at_ms)
