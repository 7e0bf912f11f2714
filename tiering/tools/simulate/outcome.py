"""What a candidate policy version would do (pure): each customer's state re-placed under it
with :func:`~tiering.ledger.policy_switch.switch_customer`, as the workers will at its moment,
and the result counted: the moves between tiers, per branch and team, the notices the teams
would get, and each team's workload before and after.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tiering.core.kinds import NotificationKind
from tiering.core.policy import Policy
from tiering.core.policy_versions import PolicyVersions
from tiering.core.signals import Signal
from tiering.core.teams import TEAM_OF, Team, handover, route
from tiering.core.tiers import Tier
from tiering.ledger.policy_switch import Switched, moves_of, retiering_signals, switch_customer
from tiering.ledger.records import tier_change_signal
from tiering.ledger.state import CustomerState

#: a move: (tier before, tier after, branch or None)
Move = tuple[Tier, Tier, str | None]


@dataclass(slots=True)
class Simulation:
    """The counts of one simulation."""

    candidate: str  #: its policy_version
    at_ms: int  #: its effective_from
    customers: int = 0
    #: move → customers
    moves: Counter[Move] = field(default_factory=Counter)
    #: the grouped notices of the re-tiering: (team, branch or None) → notices
    notices: Counter[tuple[Team, str | None]] = field(default_factory=Counter)
    #: what falls due anyway, under the version in force, before the moment: (team, kind) →
    #: notifications
    due: Counter[tuple[Team, NotificationKind]] = field(default_factory=Counter)
    #: customers each team looks after: now, and under the candidate
    before: Counter[Team] = field(default_factory=Counter)
    after: Counter[Team] = field(default_factory=Counter)
    #: the version in force before the candidate's moment
    previous: str = ""

    @property
    def moved(self) -> int:
        return sum(self.moves.values())

    def moves_by_team(self) -> Counter[tuple[Team, Tier, Tier]]:
        """(team concerned, before, after) → customers: each move concerns the team of the
        tier left and the team of the tier entered."""
        teams: Counter[tuple[Team, Tier, Tier]] = Counter()
        for (a, b, _), n in self.moves.items():
            for tier in (a, b):
                teams[TEAM_OF[tier], a, b] += n
        return teams


def simulate(
    partitions: Iterable[tuple[int, Iterable[tuple[str, CustomerState]]]],
    versions: PolicyVersions,
    candidate: Policy,
    switched: Mapping[int, int | None] | None = None,
) -> Simulation:
    """Re-place every customer (``(partition, [(customer_id, state), ...])``, states the caller
    gives up: they are changed) under ``candidate`` at its ``effective_from``.

    ``switched``: per partition, the moment of the last version its customers were re-placed
    under (``PolicyVersions.switched_ms`` as the partition stores it; a partition not named:
    all of ``versions``). A version published but not yet switched to on a partition re-places
    its customers first, as the workers will before the candidate's moment: its own moves are
    not the candidate's and are not counted, what falls due before it is."""
    at = candidate.effective_from_ms
    if at is None:
        raise ValueError("a candidate version names its effective_from")
    old = versions.in_force(at - 1)
    out = Simulation(candidate.version, at, previous=old.version)
    for partition, customers in partitions:
        pending = _pending(versions, (switched or {}).get(partition), at)
        changes = []
        for customer_id, state in customers:
            if state.tier is None:
                continue
            out.customers += 1
            out.before[TEAM_OF[state.tier]] += 1
            for before, version, moment in pending:
                _fell_due(out, switch_customer(state, customer_id, before, version, moment))
            done = switch_customer(state, customer_id, old, candidate, at)
            assert state.tier is not None
            out.after[TEAM_OF[state.tier]] += 1
            _fell_due(out, done)
            if done.replacement is not None:
                changes.append(done.replacement)
        moves = moves_of(changes)
        out.moves.update(moves)
        for signal in retiering_signals(candidate, at, partition, moves):
            out.notices[TEAM_OF[signal.tier], signal.branch_id] += 1
    return out


def _pending(
    versions: PolicyVersions, switched_ms: int | None, at_ms: int
) -> list[tuple[Policy, Policy, int]]:
    """The versions a partition switched to up to ``switched_ms`` has yet to switch to before
    ``at_ms``, oldest first: (the version before it, it, its moment)."""
    partition = PolicyVersions(versions.base, versions.versions)
    partition.switched_ms = switched_ms
    pending = []
    for version in partition.due(at_ms - 1):
        moment = version.effective_from_ms
        assert moment is not None  # published versions have it
        pending.append((versions.in_force(moment - 1), version, moment))
    return pending


def _fell_due(out: Simulation, done: Switched) -> None:
    """What a switch decided besides its re-placement (what fell due before it), counted as the
    notifier would tell it."""
    for change in done.changes:
        if change is not done.replacement:
            _told(out, tier_change_signal(change))
    for signal in done.signals:
        _told(out, signal)


def _told(out: Simulation, signal: Signal) -> None:
    """A notification (two for a downgrade: the win-back and the hand-over, §4) the notifier
    would send for ``signal``, counted per team and kind."""
    routed = route(signal)
    if routed is None:
        return
    kind, tier = routed
    out.due[TEAM_OF[tier], kind] += 1
    taker = handover(signal)
    if taker is not None:
        out.due[TEAM_OF[taker], kind] += 1
