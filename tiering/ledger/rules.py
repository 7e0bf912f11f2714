"""A customer's ledger and the tier decisions it drives (POLICY §3, §5, §7).

Pure: no I/O, no clock. Every decision is a function of the customer's postings, in the order
they arrive, and of the policy; time is event time. :func:`apply_posting` is the one way a
posting changes a customer; :func:`expire_due` is the periodic sweep's way to finish a
downgrade, or tell of idle funds (:mod:`tiering.ledger.idle`), when no posting comes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tiering.core.bad_input import BadInput
from tiering.core.bank_time import bank_day
from tiering.core.dedup import EventOutcome, fingerprint
from tiering.core.ids import deterministic_id
from tiering.core.kinds import SignalKind
from tiering.core.policy import Policy
from tiering.core.signals import Signal
from tiering.core.tiers import TIERS, Direction, Tier, classify
from tiering.ledger.departure import departure_deadline, expire_departure, track_departure
from tiering.ledger.idle import expire_idle, idle_deadline, track_idle
from tiering.ledger.postings import CREDITS, DEBITS, Posting, TxnType
from tiering.ledger.state import Account, CustomerState, deposit_fen


@dataclass(frozen=True, slots=True)
class TierDecision:
    """A customer's tier was set or changed (the TierChange record)."""

    change_id: str
    customer_id: str
    previous_tier: Tier | None
    new_tier: Tier
    direction: Direction
    balance_fen: int  #: total CNY over all accounts right after the trigger
    trigger_event_id: str  #: the posting's txn_id, or the grace-period expiry's id
    event_time_ms: int
    policy_version: str
    by_snapshot: bool = False  #: triggered by a BALANCE_SNAPSHOT, not a real posting
    branch_id: str | None = None  #: the customer's branch, from their postings


@dataclass(slots=True)
class Applied:
    """What one posting did."""

    outcome: EventOutcome
    changes: list[TierDecision] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    previous_total_fen: int = 0
    total_fen: int = 0  #: the deposit balance (§3): overdrawn accounts count as zero
    inflow_fen: int = 0  #: credits (snapshots are not flows)
    outflow_fen: int = 0  #: debits
    #: a debit left its account below zero (an overdraft the core allowed): the account keeps
    #: its balance, the customer's deposit balance counts it at zero (§3)
    overdrawn: bool = False
    #: the posting is on an account type the policy does not count toward the deposit balance
    #: (§3): applied to nothing, the customer's state untouched
    excluded: bool = False
    #: §7.3 the customer had left (balance at zero for the policy's days) before this posting:
    #: the tier they left from, counted once
    departed: Tier | None = None


def apply_posting(
    state: CustomerState | None, posting: Posting, policy: Policy, partition: int
) -> tuple[CustomerState, Applied]:
    """Apply one posting; raise :class:`BadInput` (state untouched) if it cannot be applied.

    Order: what fell due first (it happened at its deadline, before this posting), then the
    posting, then this posting's tier decision and signals, then its idle spell (§5).
    """
    if state is None:
        state = CustomerState(partition=partition)
    if posting.account_type not in policy.counted_account_types:
        # §3 tiers by deposit balance: a loan, a credit card, wealth holdings are not deposits
        total = state.total_fen
        return state, Applied(
            EventOutcome.PROCESSED, previous_total_fen=total, total_fen=total, excluded=True
        )
    fp = fingerprint(posting.txn_id)
    if state.seen.is_duplicate(fp, posting.event_time_ms):
        total = state.total_fen
        return state, Applied(EventOutcome.DUPLICATE, previous_total_fen=total, total_fen=total)
    account = state.accounts.get(posting.account_id)
    if (
        posting.txn_type is TxnType.BALANCE_SNAPSHOT
        and account is not None
        and posting.event_time_ms < account.last_event_ms
    ):
        raise BadInput(
            "stale_snapshot", "snapshot is older than postings already applied to the account"
        )

    now = max(state.clock_ms, posting.event_time_ms)
    applied = Applied(EventOutcome.PROCESSED)
    changes, signals = expire_due(state, posting.customer_id, now, policy)
    applied.changes.extend(changes)
    applied.signals.extend(signals)
    applied.departed = expire_departure(state, now, policy)

    previous_total, tier_before = state.total_fen, state.tier
    _record_peak(state, now, previous_total, policy)
    if account is None:
        account = state.accounts[posting.account_id] = Account(0, posting.event_time_ms)
    before = account.balance_fen
    if posting.txn_type is TxnType.BALANCE_SNAPSHOT:
        account.balance_fen = posting.amount_fen
    else:
        account.balance_fen += posting.signed_fen
        if posting.txn_type in CREDITS:
            applied.inflow_fen = posting.amount_fen
        elif posting.txn_type in DEBITS:
            applied.outflow_fen = posting.amount_fen
            applied.overdrawn = account.balance_fen < 0
    account.last_event_ms = max(account.last_event_ms, posting.event_time_ms)
    state.clock_ms = now
    state.version += 1
    if posting.branch_id:
        state.branch_id = posting.branch_id
    state.seen.remember(
        fp, posting.event_time_ms, now, policy.dedup_horizon_ms, policy.dedup_max_ids
    )

    # §3: each account counts toward the deposit balance at no less than zero
    total = state.total_fen = (
        previous_total + deposit_fen(account.balance_fen) - deposit_fen(before)
    )
    applied.previous_total_fen, applied.total_fen = previous_total, total
    _record_peak(state, now, total, policy)
    change = _decide_tier(state, posting, total, now, policy)
    if change is not None:
        applied.changes.append(change)
    if not _of_placement(state, posting):
        # the opening balances place the customer; they are no §5 moment for a manager
        applied.signals.extend(_signals(state, posting, total, policy))
    track_idle(state, posting, now, policy)
    track_departure(state, previous_total, tier_before, now)
    return state, applied


def expire_due(
    state: CustomerState, customer_id: str, now_ms: int, policy: Policy
) -> tuple[list[TierDecision], list[Signal]]:
    """Everything that fell due at or before ``now_ms``, in the order of its deadline: the §3
    downgrades and the §5 idle-funds signal, told with the tier the customer had by then (a
    downgrade due at the same moment first)."""
    idle = idle_deadline(state, policy)
    if idle is None or idle > now_ms:
        return expire_grace(state, customer_id, now_ms, policy), []
    changes = expire_grace(state, customer_id, idle, policy)
    signals = expire_idle(state, customer_id, now_ms, policy)
    return changes + expire_grace(state, customer_id, now_ms, policy), signals


def _of_placement(state: CustomerState, posting: Posting) -> bool:
    """§3: a BALANCE_SNAPSHOT dated at the as-of time of the snapshots that placed the customer
    is part of that one placement (opening balances of several accounts), not a change."""
    return (
        posting.txn_type is TxnType.BALANCE_SNAPSHOT
        and state.placement_as_of_ms == posting.event_time_ms
    )


def change_id(customer_id: str, trigger: str, previous: Tier | None, new: Tier) -> str:
    """The TierChange's deterministic id: the same decision always gets the same id."""
    return deterministic_id(
        "tier-change", customer_id, trigger, previous.name if previous else "NONE", new.name
    )


def expire_grace(
    state: CustomerState, customer_id: str, now_ms: int, policy: Policy
) -> list[TierDecision]:
    """§3 downgrades whose grace period ended at or before ``now_ms``, one per deadline.

    Each downgrade is dated at its deadline and named after it, so it is the same decision
    whether the customer's next posting or the partition's sweep finds it.
    """
    changes: list[TierDecision] = []
    grace = policy.downgrade_grace_ms
    while state.tier is not None and state.tier > Tier.ORDINARY:
        since = state.below_since.get(state.tier)
        if since is None or since + grace > now_ms:
            break
        deadline = since + grace
        previous = state.tier
        new = previous - 1
        # Lower bounds left at the same moment expire together: one change, not several.
        while new > Tier.ORDINARY and state.below_since.get(new) == since:
            new -= 1
        changes.append(
            _change(
                state,
                customer_id,
                TIERS[new],
                Direction.DOWNGRADE,
                policy,
                trigger=f"grace-expiry:{customer_id}:{previous.name}:{deadline}",
                event_time_ms=deadline,
            )
        )
        state.clock_ms = max(state.clock_ms, deadline)
        state.version += 1
    return changes


def next_deadline(state: CustomerState, policy: Policy) -> int | None:
    """When this customer's pending downgrade, idle-funds signal or departure (§7.3) falls due,
    whichever comes first, if one is pending."""
    since = None if state.tier is None else state.below_since.get(state.tier)
    return earliest(
        grace_deadline(state.tier, since, policy),
        idle_deadline(state, policy),
        departure_deadline(state, policy),
    )


def earliest(*deadlines: int | None) -> int | None:
    pending = [d for d in deadlines if d is not None]
    return min(pending) if pending else None


def grace_deadline(tier: Tier | None, below_tier_since: int | None, policy: Policy) -> int | None:
    """§3: a customer of ``tier`` whose total has stayed below its lower bound since
    ``below_tier_since`` is downgraded once the grace period has passed, if nothing lifts it."""
    if tier is None or tier is Tier.ORDINARY or below_tier_since is None:
        return None
    return below_tier_since + policy.downgrade_grace_ms


def _change(
    state: CustomerState,
    customer_id: str,
    new: Tier,
    direction: Direction,
    policy: Policy,
    trigger: str,
    event_time_ms: int,
    by_snapshot: bool = False,
) -> TierDecision:
    previous = state.tier
    state.tier = new
    if direction is not Direction.INITIAL:
        state.placement_as_of_ms = None  # the placement is over once the tier really moves
    for rank in [r for r in state.below_since if r > new]:
        del state.below_since[rank]
    return TierDecision(
        change_id=change_id(customer_id, trigger, previous, new),
        customer_id=customer_id,
        previous_tier=previous,
        new_tier=new,
        direction=direction,
        balance_fen=state.total_fen,
        trigger_event_id=trigger,
        event_time_ms=event_time_ms,
        policy_version=policy.version,
        by_snapshot=by_snapshot,
        branch_id=state.branch_id,
    )


def _decide_tier(
    state: CustomerState, posting: Posting, total: int, now: int, policy: Policy
) -> TierDecision | None:
    """§3: initial placement, immediate upgrade, downgrade only after the grace period."""
    by_balance = classify(total, policy.lower_bounds_fen)
    bounds = policy.lower_bounds_fen
    snapshot = posting.txn_type is TxnType.BALANCE_SNAPSHOT

    def change(new: Tier, direction: Direction) -> TierDecision:
        return _change(
            state,
            posting.customer_id,
            new,
            direction,
            policy,
            trigger=posting.txn_id,
            event_time_ms=posting.event_time_ms,
            by_snapshot=snapshot,
        )

    if state.tier is None:
        if snapshot:
            state.placement_as_of_ms = posting.event_time_ms
        return change(by_balance, Direction.INITIAL)
    if _of_placement(state, posting):
        # §3, one placement per as-of: a further account's opening balance re-places the
        # customer by the whole opening total (INITIAL again, from the tier so far, and
        # notifying no one); the batch turns the re-placements into one INITIAL
        # (tiering.ledger.placements)
        state.below_since.clear()
        return change(by_balance, Direction.INITIAL) if by_balance != state.tier else None
    if by_balance > state.tier:
        state.below_since.clear()
        return change(by_balance, Direction.UPGRADE)
    for rank in range(1, state.tier + 1):
        if total < bounds[rank - 1]:
            state.below_since.setdefault(rank, now)
        else:
            state.below_since.pop(rank, None)
    if by_balance < state.tier and policy.downgrade_grace_ms == 0:
        return change(by_balance, Direction.DOWNGRADE)
    return None


def _signals(state: CustomerState, posting: Posting, total: int, policy: Policy) -> list[Signal]:
    """§5 moments worth a manager's attention, each once per crossing."""
    assert state.tier is not None
    signals: list[Signal] = []

    def signal(kind: SignalKind, amount_fen: int) -> None:
        signals.append(
            Signal(
                signal_id=deterministic_id(
                    "signal", kind.value, posting.customer_id, posting.txn_id
                ),
                kind=kind,
                customer_id=posting.customer_id,
                tier=state.tier,  # type: ignore[arg-type]
                balance_fen=total,
                amount_fen=amount_fen,
                event_time_ms=posting.event_time_ms,
                branch_id=state.branch_id,
            )
        )

    if posting.txn_type in CREDITS and posting.amount_fen >= policy.large_deposit_fen:
        signal(SignalKind.LARGE_DEPOSIT, posting.amount_fen)
    if posting.txn_type in DEBITS and posting.amount_fen >= policy.large_withdrawal_fen:
        signal(SignalKind.LARGE_WITHDRAWAL, posting.amount_fen)

    peak = state.peaks[0][1] if state.peaks else 0
    num, den = policy.churn_ratio
    at_risk = (
        classify(peak, policy.lower_bounds_fen) >= policy.churn_min_tier
        and max(total, 0) * den <= peak * num
    )
    if at_risk and not state.churn_risk:
        signal(SignalKind.CHURN_RISK, peak)
    state.churn_risk = at_risk

    near = False
    if state.tier < Tier.HIGH_END:
        bound = policy.lower_bounds_fen[state.tier]
        num, den = policy.near_ratio
        near = total < bound and total * den >= bound * num
        if near and not state.near_upgrade:
            signal(SignalKind.NEAR_UPGRADE, bound)
    state.near_upgrade = near
    return signals


def _record_peak(state: CustomerState, now_ms: int, total: int, policy: Policy) -> None:
    """Keep the highest total of each bank day in the churn window, as a falling staircase."""
    day = bank_day(now_ms)
    total = max(total, 0)
    peaks = state.peaks
    while peaks and peaks[-1][1] <= total:
        peaks.pop()
    if not peaks or peaks[-1][0] != day:
        peaks.append((day, total))
    oldest = day - policy.churn_peak_window_days
    while peaks and peaks[0][0] < oldest:
        peaks.pop(0)
