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
from tiering.core.policy import Policy
from tiering.core.signals import Signal
from tiering.core.tiers import TIERS, Direction, Tier, classify
from tiering.ledger.average import AVERAGE_PREFIX, average_due, basis_fen, track_balance
from tiering.ledger.deadlines import earliest
from tiering.ledger.departure import expire_departure, track_departure
from tiering.ledger.fx import RateLookup, fallback, foreign_currencies, revalue, value_fen
from tiering.ledger.idle import expire_idle, idle_deadline, track_idle
from tiering.ledger.moments import posting_signals, record_peak
from tiering.ledger.postings import CREDITS, DEBITS, Posting, TxnType
from tiering.ledger.state import Account, CustomerState, deposit_fen

#: the trigger id of a §3 downgrade at the end of its grace period:
#: ``grace-expiry:<customer>:<tier left>:<deadline>`` (:func:`expire_grace`)
GRACE_EXPIRY_PREFIX = "grace-expiry:"


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
    state: CustomerState | None,
    posting: Posting,
    policy: Policy,
    partition: int,
    rates: RateLookup | None = None,
) -> tuple[CustomerState, Applied]:
    """Apply one posting; raise :class:`BadInput` (state untouched) if it cannot be applied.

    Order: what fell due first (it happened at its deadline, before this posting), then the
    customer's foreign accounts valued at the rates of the day (``rates``, by default the
    policy's: :mod:`tiering.ledger.fx`), then the posting, then this posting's tier decision and
    signals, then its idle spell (§5).
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
    snapshot = posting.txn_type is TxnType.BALANCE_SNAPSHOT
    if account is not None and account.currency != posting.currency and not snapshot:
        # an account is kept in one currency; the core restates it with a snapshot
        raise BadInput(
            "currency_mismatch",
            f"a {posting.currency} posting on an account kept in {account.currency} "
            "(a BALANCE_SNAPSHOT in the account's currency restates it)",
        )
    clock_before = state.clock_ms
    now = max(clock_before, posting.event_time_ms)
    lookup = rates or fallback(policy.rates)
    rate = lookup(posting.currency, bank_day(now))
    if rate is None:
        raise BadInput("unsupported_currency", f"no rate for currency {posting.currency!r}")

    due = expire_due(state, posting.customer_id, now, policy)
    applied = Applied(EventOutcome.PROCESSED, due.changes, due.signals, departed=due.departed)

    if foreign_currencies(state):
        revalue(state, now, lookup)  # the rates of the customer's day (tiering.ledger.fx)
    previous_total, tier_before = state.total_fen, state.tier
    record_peak(state, now, previous_total, policy)
    if account is None:
        account = Account(0, posting.event_time_ms, posting.currency)
        state.accounts[posting.account_id] = account
    before = deposit_fen(account.value_fen)
    if snapshot:
        account.balance, account.currency = posting.minor, posting.currency
    else:
        account.balance += posting.signed_minor
        if posting.txn_type in CREDITS:
            applied.inflow_fen = posting.amount_fen
        elif posting.txn_type in DEBITS:
            applied.outflow_fen = posting.amount_fen
            applied.overdrawn = account.balance < 0
    account.value_fen = value_fen(account.balance, account.currency, rate)
    account.last_event_ms = max(account.last_event_ms, posting.event_time_ms)
    state.clock_ms = now
    state.version += 1
    if posting.branch_id:
        state.branch_id = posting.branch_id
    state.seen.remember(
        fp, posting.event_time_ms, now, policy.dedup_horizon_ms, policy.dedup_max_ids
    )

    # §3: each account counts toward the deposit balance at no less than zero
    total = state.total_fen = previous_total + deposit_fen(account.value_fen) - before
    applied.previous_total_fen, applied.total_fen = previous_total, total
    # for an average-balance basis ([basis] adb); a customer known before it from their last event
    known = (clock_before, previous_total) if tier_before is not None else None
    track_balance(state, policy, now, known)
    record_peak(state, now, total, policy)
    change = _decide_tier(state, posting, total, now, policy)
    if change is not None:
        applied.changes.append(change)
    if not _of_placement(state, posting):
        # the opening balances place the customer; they are no §5 moment for a manager
        applied.signals.extend(posting_signals(state, posting, total, policy))
    track_idle(state, posting, now, policy)
    track_departure(state, previous_total, tier_before, now)
    return state, applied


@dataclass(slots=True)
class Due:
    """What fell due for a customer by a moment (:func:`expire_due`)."""

    changes: list[TierDecision]  #: §3 downgrades
    signals: list[Signal]  #: §5 idle funds
    departed: Tier | None  #: §7.3: the tier the customer left from, if they left


def expire_due(state: CustomerState, customer_id: str, now_ms: int, policy: Policy) -> Due:
    """Everything that fell due at or before ``now_ms``, in the order of its deadline: the §3
    downgrades, the moments an average the policy decides on reached or left a bound
    (:mod:`tiering.ledger.average`) and the §5 idle-funds signal, told with the tier the
    customer had by then (a downgrade due at the same moment first); and the §7.3 departure,
    which changes neither tier nor signals."""
    changes: list[TierDecision] = []
    signals: list[Signal] = []
    while True:
        # in the order of their moments; at the same one, a downgrade first
        idle = idle_deadline(state, policy)
        average = average_due(state, policy)
        moment = earliest(idle, average)
        if moment is None or moment > now_ms:
            changes += expire_grace(state, customer_id, now_ms, policy)
            break
        changes += expire_grace(state, customer_id, moment, policy)
        if moment == idle:
            signals += expire_idle(state, customer_id, moment, policy)
        if moment == average_due(state, policy):
            change = decide_average(state, customer_id, moment, policy)
            if change is not None:
                changes.append(change)
    return Due(changes, signals, expire_departure(state, now_ms, policy))


def decide_average(
    state: CustomerState, customer_id: str, at_ms: int, policy: Policy
) -> TierDecision | None:
    """§3 at the moment an average the policy decides on reached or left a bound
    (:func:`~tiering.ledger.average.average_due`): an upgrade, or a grace period started or
    ended, as for a posting at that moment."""
    trigger = f"{AVERAGE_PREFIX}{customer_id}:{at_ms}"
    change = decide_by_total(state, customer_id, at_ms, policy, trigger, at_ms)
    state.clock_ms = max(state.clock_ms, at_ms)
    state.version += 1
    return change


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
            record_change(
                state,
                customer_id,
                TIERS[new],
                Direction.DOWNGRADE,
                policy,
                trigger=f"{GRACE_EXPIRY_PREFIX}{customer_id}:{previous.name}:{deadline}",
                event_time_ms=deadline,
            )
        )
        state.clock_ms = max(state.clock_ms, deadline)
        state.version += 1
    return changes


def record_change(
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
    snapshot = posting.txn_type is TxnType.BALANCE_SNAPSHOT

    def change(new: Tier, direction: Direction) -> TierDecision:
        return record_change(
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
    return decide_by_total(
        state,
        posting.customer_id,
        now,
        policy,
        posting.txn_id,
        posting.event_time_ms,
        by_snapshot=snapshot,
    )


def decide_by_total(
    state: CustomerState,
    customer_id: str,
    now: int,
    policy: Policy,
    trigger: str,
    event_time_ms: int,
    by_snapshot: bool = False,
) -> TierDecision | None:
    """§3 for a placed customer whose total (``state.total_fen``) moved, or whose average did:
    upgrade at once; a basis below a lower bound starts (or keeps) that bound's grace period,
    one back above it ends it; with no grace, a downgrade at once."""
    assert state.tier is not None
    # §3 on the policy's basis: the balance, or its average ([basis], tiering.ledger.average)
    by_balance = classify(basis_fen(state, policy, "upgrade", now), policy.lower_bounds_fen)
    held = basis_fen(state, policy, "downgrade", now)
    bounds = policy.lower_bounds_fen

    def change(new: Tier, direction: Direction) -> TierDecision:
        return record_change(
            state, customer_id, new, direction, policy, trigger, event_time_ms, by_snapshot
        )

    if by_balance > state.tier:
        state.below_since.clear()
        return change(by_balance, Direction.UPGRADE)
    mark_below(state, held, policy, now)
    down = classify(held, bounds)
    if down < state.tier and policy.downgrade_grace_ms == 0:
        return change(down, Direction.DOWNGRADE)
    return None


def mark_below(state: CustomerState, amount_fen: int, policy: Policy, now: int) -> None:
    """§3: each bound up to the customer's tier that ``amount_fen`` (the downgrade's basis) is
    below keeps (or starts, at ``now``) its grace period; each it reaches ends its own."""
    assert state.tier is not None
    for rank in range(1, state.tier + 1):
        if amount_fen < policy.lower_bounds_fen[rank - 1]:
            state.below_since.setdefault(rank, now)
        else:
            state.below_since.pop(rank, None)
