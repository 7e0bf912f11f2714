"""Policy versions through the ledger's batch processor: taken per partition, kept in the
table, and switched to on the partition's stream time, the same whatever the batches."""

from __future__ import annotations

from tests.unit.core.test_policy_versions import NEW_YEAR_MS, version_text
from tests.unit.ledger.test_processor import CODEC, POLICY, commit, encoded, message
from tiering.core.bank_time import DAY_MS, from_epoch_ms
from tiering.core.kinds import SignalKind
from tiering.core.policy_versions import published
from tiering.core.tiers import Direction, Tier
from tiering.ledger.processor import LedgerProcessor
from tiering.ledger.store import LedgerStore
from tiering.ledger.versions_table import VersionsInTable, policies_key
from tiering.settings import Settings
from tiering.wire.codec import POLICY_VERSION
from tiering.wire.inbound import Inbound
from tiering.wire.topics import DeploymentTopics

TOPICS = DeploymentTopics.of(Settings())
BEFORE = NEW_YEAR_MS - 5 * DAY_MS
CLOCK = NEW_YEAR_MS + 30 * DAY_MS
RAISED = version_text("2027.01-1", "2027-01-01T00:00:00")  # POTENTIAL from 100,000


def processor(table: dict[bytes, bytes] | None = None):
    table = {} if table is None else table
    store = LedgerStore(table.get, POLICY, lambda partition: list(table.items()))
    return LedgerProcessor(POLICY, CODEC, store, TOPICS), store, table


def version(text: str = RAISED, offset: int = 0, partition: int = 0) -> Inbound:
    v = published(text)
    record = {
        "version": v.version,
        "effective_from": from_epoch_ms(v.effective_from_ms),
        "text": v.text,
        "published_at": from_epoch_ms(BEFORE),
    }
    return Inbound(
        TOPICS.policies, partition, offset, v.version.encode(), CODEC.encode(POLICY_VERSION, record)
    )


def deposit(customer: str, amount: str, at: int, n: int) -> Inbound:
    value = encoded(txn_id=f"{customer}-{n}", customer_id=customer, amount=amount, event_time_ms=at)
    return message(value, key=customer.encode(), offset=n)


FEED = [
    deposit("C1", "70000.00", BEFORE, 1),  # POTENTIAL, ORDINARY from the new year
    deposit("C2", "120000.00", BEFORE, 2),  # POTENTIAL under both
    deposit("C3", "60000.00", BEFORE + DAY_MS, 3),
    deposit("C2", "1.00", NEW_YEAR_MS + 1, 4),  # the first posting of the new year
    deposit("C4", "70000.00", NEW_YEAR_MS + 2, 5),  # a new customer, placed by the new bounds
]


def run(batches: list[list[Inbound]]):
    proc, store, table = processor()
    outs = []
    for batch in batches:
        outs.append(proc.decide(batch, CLOCK))
        commit(store, table)
    return outs, table


def test_the_partition_switches_when_its_stream_time_reaches_the_moment() -> None:
    [first, second], table = run([[version(), *FEED[:3]], FEED[3:]])
    assert first.policies.outcomes == {"processed": 1}
    assert [c.customer_id for _, c in first.changes] == ["C1", "C2", "C3"]  # placements
    replaced = [c for _, c in second.changes if c.trigger_event_id == "policy:2027.01-1"]
    assert {(c.customer_id, c.previous_tier, c.new_tier) for c in replaced} == {
        ("C1", Tier.POTENTIAL, Tier.ORDINARY),
        ("C3", Tier.POTENTIAL, Tier.ORDINARY),
    }
    assert {(c.event_time_ms, c.direction, c.policy_version) for c in replaced} == {
        (NEW_YEAR_MS, Direction.DOWNGRADE, "2027.01-1")
    }
    # the new customer is placed by the version in force at their posting
    [(_, c4)] = [(p, c) for p, c in second.changes if c.customer_id == "C4"]
    assert (c4.new_tier, c4.policy_version) == (Tier.ORDINARY, "2027.01-1")
    assert second.balances["C1"].tier == "ORDINARY"
    # the teams hear of it grouped: no signal per customer re-placed, one per team
    kinds = [s.kind for _, s in second.signals]
    assert kinds.count(SignalKind.TIER_CHANGE) == 0
    grouped = [s for _, s in second.signals if s.kind == SignalKind.POLICY_CHANGE]
    assert {s.tier for s in grouped} == {Tier.ORDINARY, Tier.POTENTIAL}
    topics = [r.topic for r in processor()[0].records(second, CLOCK)]
    assert topics.count(TOPICS.tier_changes) == 3
    assert topics.count(TOPICS.signals) == 2
    assert policies_key(0) in table


def test_the_same_input_makes_the_same_decisions_however_it_is_batched() -> None:
    whole, _ = run([[version(), *FEED]])
    one_by_one, _ = run([[version()], *([m] for m in FEED)])

    def decided(outs):
        return [
            (c.change_id, c.event_time_ms, c.policy_version) for o in outs for _, c in o.changes
        ]

    assert decided(whole) == decided(one_by_one)
    assert len(decided(whole)) == 6


def test_a_restarted_worker_keeps_the_versions_and_does_not_switch_twice() -> None:
    [_, _], table = run([[version(), *FEED[:3]], FEED[3:]])
    proc, store, _ = processor(table)
    store.hold({0})
    store.recount(table.items(), {0})
    again = proc.decide([version(offset=9), deposit("C1", "1.00", NEW_YEAR_MS + DAY_MS, 9)], CLOCK)
    assert again.policies.outcomes == {"duplicate": 1}
    assert [c.trigger_event_id for _, c in again.changes] == []


def test_a_contradicting_version_is_a_dead_letter_and_changes_nothing() -> None:
    proc, store, table = processor()
    proc.decide([version()], CLOCK)
    commit(store, table)
    other = version_text("2027.01-1", "2027-01-01T00:00:00", potential="90000.00")
    out = proc.decide([version(other, offset=1)], CLOCK)
    [letter] = out.policies.dead_letters
    assert letter.reason == "policy_conflict"
    assert store.policies(0).latest().lower_bounds_fen[0] == 10_000_000


def test_the_profile_and_the_notifier_read_the_versions_the_ledger_keeps() -> None:
    _, table = run([[version(), *FEED[:3]]])
    versions = VersionsInTable(table.get, POLICY)
    assert versions.policy_at(0, NEW_YEAR_MS - 1) is POLICY
    assert versions.policy_at(0, NEW_YEAR_MS).version == "2027.01-1"
    assert versions.policy_at(1, NEW_YEAR_MS) is POLICY  # a partition that has none


def test_a_shorter_grace_moves_the_deadline_the_sweep_keeps() -> None:
    shorter = version_text("2027.01-9", "2027-01-01T00:00:00", potential="50000.00").replace(
        "downgrade_grace_days = 30", "downgrade_grace_days = 10", 1
    )
    proc, store, table = processor()
    withdrawal = encoded(
        txn_id="C1-2",
        customer_id="C1",
        amount="30000.00",
        txn_type="WITHDRAWAL",
        event_time_ms=NEW_YEAR_MS - DAY_MS,
    )
    proc.decide([version(shorter), deposit("C1", "70000.00", BEFORE, 1)], CLOCK)
    commit(store, table)
    proc.decide([message(withdrawal, key=b"C1", offset=2)], CLOCK)  # 40,000: grace starts
    commit(store, table)
    proc.decide([deposit("C2", "1.00", NEW_YEAR_MS, 3)], CLOCK)  # the switch
    commit(store, table)
    # ten days after the grace began, not thirty: the sweep finds it then
    due = NEW_YEAR_MS - DAY_MS + 10 * DAY_MS
    out = proc.decide([deposit("C2", "1.00", due, 4)], CLOCK)
    [down] = [c for _, c in out.changes if c.customer_id == "C1"]
    assert (down.new_tier, down.event_time_ms, down.policy_version) == (
        Tier.ORDINARY,
        due,
        "2027.01-9",
    )
