"""A partition's switches to the policy versions whose moment its stream time has reached
(:mod:`tiering.core.policy_versions`): every customer of the partition re-placed under the new
version (:func:`~tiering.ledger.policy_switch.switch_customer`), in the order of the versions.

The ledger's processor asks before each posting that would carry the partition's stream time
to a version's moment, and at its sweep, so a partition switches at the same event time on
any worker, and again the same way in a replay.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from tiering.core.bank_time import from_epoch_ms
from tiering.core.policy import Policy
from tiering.core.signals import Signal
from tiering.ledger.deadlines import next_deadline
from tiering.ledger.policy_switch import Switched, moves_of, retiering_signals, switch_customer
from tiering.ledger.state import CustomerState
from tiering.ledger.store import LedgerStore

log = logging.getLogger(__name__)


@dataclass(slots=True)
class CustomerSwitched:
    """One customer whose state a switch changed (to be stored and told)."""

    customer_id: str
    state: CustomerState
    switched: Switched
    policy: Policy  #: the version now in force


@dataclass(slots=True)
class PartitionSwitch:
    """One version taking over on one partition."""

    policy: Policy
    customers: list[CustomerSwitched]
    #: the grouped POLICY_CHANGE signals, one per team whose tier customers entered or left
    signals: list[Signal]


def switch_due(store: LedgerStore, partition: int, upto_ms: int) -> Iterator[PartitionSwitch]:
    """Switch ``partition`` to each version whose moment has come by ``upto_ms``; the states
    changed are put in ``store``."""
    versions = store.policies(partition)
    for new in versions.due(upto_ms):
        at = new.effective_from_ms
        assert at is not None  # published versions have it
        old = versions.in_force(at - 1)
        customers = []
        for key, state in store.customers(partition):
            customer_id = key.decode()
            due_before = next_deadline(state, old)
            done = switch_customer(state, customer_id, old, new, at)
            # stored again when it changed, or when what falls due for it did (another grace
            # length, idle or churn period, or bound an average crosses): the sweep's index
            if done.changed or next_deadline(state, new) != due_before:
                store.put(key, state)
                customers.append(CustomerSwitched(customer_id, state, done, new))
        versions.switched_ms = at
        store.policies_changed(partition)
        moved = moves_of([c for s in customers for c in s.switched.changes])
        log.info(
            "partition %d: policy %s in force from %s (event time), taking over from %s: "
            "%d customer(s) re-placed",
            partition,
            new.version,
            from_epoch_ms(at).isoformat(),
            old.version,
            sum(moved.values()),
        )
        yield PartitionSwitch(new, customers, retiering_signals(new, at, partition, moved))
