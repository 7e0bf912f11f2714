"""The worker's agents, as declarations: the topic each reads, the table that holds its
customers' state, the processor that decides. :mod:`tiering.runtime.app` wires them; each runs
its part of every batch (:mod:`tiering.runtime.intake`) through a
:class:`~tiering.runtime.checkpoint.Checkpoint`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tiering.core.policy import Policy
from tiering.core.tiers import Tier
from tiering.ledger.processor import LedgerProcessor
from tiering.ledger.state import stored_branch, stored_tier
from tiering.ledger.store import LedgerStore
from tiering.ledger.versions_table import VersionsInTable
from tiering.notify.processor import NotifierProcessor, NotifierStore
from tiering.processing import Processor
from tiering.profile.processor import ProfileProcessor, ProfileStore
from tiering.runtime.tables import StateTable
from tiering.wire.codec import AvroCodec
from tiering.wire.topics import DeploymentTopics


@dataclass(frozen=True, slots=True)
class Parts:
    """What the processors are made of."""

    policy: Policy
    codec: AvroCodec
    topics: DeploymentTopics
    tables: dict[str, StateTable]


@dataclass(frozen=True, slots=True)
class Agent:
    """One agent: ``reads`` names a topic of :class:`DeploymentTopics`; ``table`` the Faust
    table of its customers' states; ``processor`` makes its processor. ``also_reads``: topics
    co-partitioned with ``reads`` whose records come to the same processor in the same batch
    (the ledger's dated exchange rates and policy versions, a copy on every partition)."""

    name: str
    reads: str
    table: str
    processor: Callable[[Parts], Processor]
    also_reads: tuple[str, ...] = ()

    @property
    def topics(self) -> tuple[str, ...]:
        """Every topic of :class:`DeploymentTopics` the agent reads."""
        return (self.reads, *self.also_reads)


LEDGER_TABLE = "customer-ledger"
PROFILE_TABLE = "customer-profiles"
NOTIFIER_TABLE = "customer-notices"


def ledger(parts: Parts) -> LedgerProcessor:
    """§3, §5: postings → balances, tier changes, signals."""
    table = parts.tables[LEDGER_TABLE]
    store = LedgerStore(table.get, parts.policy, table.scan)
    return LedgerProcessor(parts.policy, parts.codec, store, parts.topics)


def profile(parts: Parts) -> ProfileProcessor:
    """§6: online behaviour → profiles, product interest. The customer's tier comes from the
    ledger's table, held by the same worker: the topics are co-partitioned."""
    ledger_table = parts.tables[LEDGER_TABLE]

    def tier_of(customer_id: str) -> Tier:
        return stored_tier(ledger_table.get(customer_id.encode()))

    def branch_of(customer_id: str) -> str | None:
        return stored_branch(ledger_table.get(customer_id.encode()))

    store = ProfileStore(parts.tables[PROFILE_TABLE].get)
    versions = VersionsInTable(ledger_table.get, parts.policy)
    return ProfileProcessor(
        parts.policy, parts.codec, store, tier_of, parts.topics, branch_of, versions.policy_at
    )


def notifier(parts: Parts) -> NotifierProcessor:
    """§4, §5: signals → manager notifications."""
    store = NotifierStore(parts.tables[NOTIFIER_TABLE].get)
    versions = VersionsInTable(parts.tables[LEDGER_TABLE].get, parts.policy)
    return NotifierProcessor(parts.policy, parts.codec, store, parts.topics, versions.policy_at)


AGENTS = (
    Agent(
        "ledger",
        reads="transactions",
        table=LEDGER_TABLE,
        processor=ledger,
        also_reads=("rates", "policies"),
    ),
    Agent("profile", reads="behavior", table=PROFILE_TABLE, processor=profile),
    Agent("notifier", reads="signals", table=NOTIFIER_TABLE, processor=notifier),
)
