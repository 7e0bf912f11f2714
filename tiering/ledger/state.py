"""What the ledger remembers of a customer, and that memory as compact bytes for the state
store and its changelog.

MessagePack, with times stored relative to the customer's clock so most numbers take a few
bytes. The first element is the format number; a reader refuses a format it does not know.
Format 2 added the idle spell (§5 idle funds), format 3 the as-of time of the customer's opening
placement (§3), format 4 the spell at zero (§7.3 churn), format 5 the currency of a foreign
account (:mod:`tiering.ledger.fx`): a CNY account is stored as before, its balance in fen; a
foreign one as ``[currency, balance in its hundredths, CNY value in fen]``; format 6 the
balance history an average-balance basis needs (:mod:`tiering.ledger.average`). Formats 1 to 5
are still read (:func:`decode_state`): their accounts were kept in CNY (a foreign posting was
converted once at the policy's rate) up to format 4, so they read as CNY accounts of that
balance, and none kept a balance history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgpack

from tiering.core.dedup import SeenIds
from tiering.core.state_format import check_state_format
from tiering.core.tiers import TIERS, Tier

FORMAT = 6
#: the formats before: read, never written (1: no idle spell; 2: no opening placement; 3: no
#: spell at zero; 4: every account in CNY; 5: no balance history)
_FORMAT_1 = 1
_FORMAT_2 = 2
_FORMAT_3 = 3
_FORMAT_4 = 4
_FORMAT_5 = 5
_CHURN_RISK = 1
_NEAR_UPGRADE = 2
_IDLE_NOTIFIED = 4


@dataclass(slots=True)
class Account:
    #: in hundredths of the account's currency (fen for CNY), exact: the feed's decimal(18,2)
    balance: int
    last_event_ms: int  #: newest event time applied to this account
    currency: str = "CNY"
    #: the CNY value (fen) at the rate in force when last valued; the balance itself for CNY
    value_fen: int = 0

    def __post_init__(self) -> None:
        if self.currency == "CNY":
            self.value_fen = self.balance


@dataclass(slots=True)
class CustomerState:
    """Everything the rules remember about one customer."""

    partition: int  #: the Kafka partition the customer's events arrive on
    tier: Tier | None = None
    accounts: dict[str, Account] = field(default_factory=dict)
    clock_ms: int = 0  #: newest event time seen for the customer
    #: postings and expiries applied; orders the balance rows written to PostgreSQL
    version: int = 0
    #: tier rank → event time since which the total has stayed below that tier's lower bound
    below_since: dict[int, int] = field(default_factory=dict)
    #: (bank day, highest total held that day), newest last, totals strictly falling
    peaks: list[tuple[int, int]] = field(default_factory=list)
    churn_risk: bool = False
    near_upgrade: bool = False
    #: §5 idle funds: event time since which the deposit balance has stayed at the policy's
    #: idle minimum or more with no withdrawal or transfer out; None when below it
    idle_since: int | None = None
    #: this idle spell's IDLE_FUNDS signal was given (once per spell)
    idle_notified: bool = False
    #: the txn_ids applied, within the dedup bound
    seen: SeenIds = field(default_factory=SeenIds)
    branch_id: str | None = None
    #: the as-of time of the BALANCE_SNAPSHOT(s) that placed the customer (§3), while no
    #: upgrade or downgrade has followed: a further snapshot of that as-of is the same placement
    placement_as_of_ms: int | None = None
    #: §7.3 event time since which the deposit balance has been zero, after being above it;
    #: None while above zero, and once the departure is counted
    empty_since: int | None = None
    #: the tier the customer held when the balance reached zero: the tier they are lost from
    empty_tier: Tier | None = None
    #: ``[basis] adb`` (:mod:`tiering.ledger.average`): since when the customer's balance
    #: history is kept (their first event under a policy averaging it); None: not kept
    history_since: int | None = None
    #: (since, deposit balance) at each change still inside the average's window, oldest first;
    #: the last one is the balance now
    balance_history: list[tuple[int, int]] = field(default_factory=list)
    #: the customer's deposit balance (§3): the sum of the accounts' :func:`deposit_fen`, never
    #: negative; kept up to date by apply_posting (and set by decode_state; a state is never
    #: made with accounts otherwise)
    total_fen: int = field(init=False, default=0)


def deposit_fen(balance_fen: int) -> int:
    """What an account adds to its customer's deposit balance (存款余额, POLICY §3): its
    balance, but never less than zero. A personal deposit account cannot be overdrawn in China;
    when the core posts a debit beyond the balance (an overdraft facility), the account keeps
    its negative balance, but the debt is not a deposit and cancels none of the customer's
    other accounts."""
    return max(balance_fen, 0)


def deposit_total(balances: Iterable[int]) -> int:
    """The customer's deposit balance (§3) over their accounts' balances."""
    return sum(deposit_fen(b) for b in balances)


def encode_state(state: CustomerState) -> bytes:
    """The state as bytes for the state store and its changelog."""
    clock = state.clock_ms
    accounts: list[Any] = []
    for account_id, account in state.accounts.items():
        held: Any = account.balance
        if account.currency != "CNY":
            held = [account.currency, account.balance, account.value_fen]
        accounts += (account_id, held, clock - account.last_event_ms)
    below: list[int] = []
    for rank, since in state.below_since.items():
        below += (rank, clock - since)
    peaks: list[int] = []
    for day, total in state.peaks:
        peaks += (day, total)
    history: list[int] = []
    for since, total in state.balance_history:
        history += (clock - since, total)
    seen: list[int] = []
    for fp, at in state.seen.ids.items():
        seen += (fp, clock - at)
    flags = (
        (_CHURN_RISK if state.churn_risk else 0)
        | (_NEAR_UPGRADE if state.near_upgrade else 0)
        | (_IDLE_NOTIFIED if state.idle_notified else 0)
    )
    packed: bytes = msgpack.packb(
        [
            FORMAT,
            state.partition,
            -1 if state.tier is None else int(state.tier),
            clock,
            state.version,
            accounts,
            below,
            peaks,
            flags,
            seen,
            state.seen.floor_ms,
            state.branch_id,
            None if state.idle_since is None else clock - state.idle_since,
            None if state.placement_as_of_ms is None else clock - state.placement_as_of_ms,
            None if state.empty_since is None else clock - state.empty_since,
            -1 if state.empty_tier is None else int(state.empty_tier),
            None if state.history_since is None else clock - state.history_since,
            history,
        ],
        use_bin_type=True,
    )
    return packed


def _fields(data: bytes) -> list[Any]:
    """The stored fields in this format, an older state's with what it did not keep: a format-1
    state's idle spell counted from the customer's newest event, the earliest it can be known to
    have started (never too early a notice); no opening placement pending before format 3; no
    spell at zero before format 4 (when its balance reached zero is not known, and a departure
    counted at once for every customer already at zero would be a false spike: those left, if
    they did, before churn was counted this way)."""
    fields: list[Any] = msgpack.unpackb(data, raw=False)
    if fields and fields[0] == _FORMAT_1 and len(fields) == 12:
        fields = [_FORMAT_2, *fields[1:], 0]
    if fields and fields[0] == _FORMAT_2 and len(fields) == 13:
        fields = [_FORMAT_3, *fields[1:], None]
    if fields and fields[0] == _FORMAT_3 and len(fields) == 14:
        fields = [_FORMAT_4, *fields[1:], None, -1]
    if fields and fields[0] == _FORMAT_4 and len(fields) == 16:
        fields = [_FORMAT_5, *fields[1:]]  # every account CNY: stored the same way
    if fields and fields[0] == _FORMAT_5 and len(fields) == 16:
        return [FORMAT, *fields[1:], None, []]  # no balance history kept
    check_state_format(fields, FORMAT, "customer state")
    return fields


def decode_state(data: bytes) -> CustomerState:
    (
        _,
        partition,
        tier,
        clock,
        version,
        accounts,
        below,
        peaks,
        flags,
        seen,
        floor,
        branch,
        idle,
        placed,
        empty,
        empty_tier,
        history_since,
        history,
    ) = _fields(data)
    state = CustomerState(
        partition=partition,
        tier=None if tier < 0 else TIERS[tier],
        accounts={
            accounts[i]: _account(accounts[i + 1], clock - accounts[i + 2])
            for i in range(0, len(accounts), 3)
        },
        clock_ms=clock,
        version=version,
        below_since={below[i]: clock - below[i + 1] for i in range(0, len(below), 2)},
        peaks=[(peaks[i], peaks[i + 1]) for i in range(0, len(peaks), 2)],
        churn_risk=bool(flags & _CHURN_RISK),
        near_upgrade=bool(flags & _NEAR_UPGRADE),
        idle_since=None if idle is None else clock - idle,
        placement_as_of_ms=None if placed is None else clock - placed,
        idle_notified=bool(flags & _IDLE_NOTIFIED),
        seen=SeenIds({seen[i]: clock - seen[i + 1] for i in range(0, len(seen), 2)}, floor),
        branch_id=branch,
        empty_since=None if empty is None else clock - empty,
        empty_tier=None if empty_tier < 0 else TIERS[empty_tier],
        history_since=None if history_since is None else clock - history_since,
        balance_history=[(clock - history[i], history[i + 1]) for i in range(0, len(history), 2)],
    )
    state.total_fen = deposit_total(_value(held) for held in accounts[1::3])
    return state


def _account(held: Any, last_event_ms: int) -> Account:
    if isinstance(held, int):
        return Account(held, last_event_ms)
    currency, balance, value = held
    return Account(balance, last_event_ms, currency, value)


def _value(held: Any) -> int:
    """A stored account's CNY value: its balance for CNY, else the value kept with it."""
    return held if isinstance(held, int) else int(held[2])


@dataclass(frozen=True, slots=True)
class Standing:
    """What the ledger's bookkeeping needs of a stored customer state, read without building
    the whole state (a recount reads millions)."""

    partition: int
    tier: Tier | None
    total_fen: int  #: the deposit balance (§3), as CustomerState.total_fen
    clock_ms: int
    #: event time since which the total has stayed below the current tier's lower bound
    below_tier_since: int | None
    #: the open idle spell's start, if its IDLE_FUNDS signal is still to come (§5)
    idle_since: int | None = None
    #: since when the balance has been at zero, if the departure is still to be counted (§7.3)
    empty_since: int | None = None
    #: the currencies other than CNY of the customer's accounts (tiering.ledger.fx)
    currencies: frozenset[str] = frozenset()


def decode_standing(data: bytes) -> Standing:
    fields = _fields(data)
    partition, tier, clock, accounts, below = fields[1], fields[2], fields[3], fields[5], fields[6]
    since = None
    for i in range(0, len(below), 2):
        if below[i] == tier:
            since = clock - below[i + 1]
    idle = None if fields[12] is None or fields[8] & _IDLE_NOTIFIED else clock - fields[12]
    empty = None if fields[14] is None else clock - fields[14]
    held = accounts[1::3]
    return Standing(
        partition,
        None if tier < 0 else Tier(tier),
        deposit_total(_value(h) for h in held),
        clock,
        since,
        idle,
        empty,
        frozenset(h[0] for h in held if not isinstance(h, int)),
    )


def stored_branch(data: bytes | None) -> str | None:
    """The branch in a stored customer state (their latest posting's), if any (§7 per branch)."""
    if data is None:
        return None
    branch: str | None = _fields(data)[11]
    return branch


def stored_tier(data: bytes | None) -> Tier:
    """The tier in a stored customer state; a customer with no posting yet holds nothing, which
    §3 places in ORDINARY."""
    tier = decode_standing(data).tier if data is not None else None
    return tier if tier is not None else Tier.ORDINARY
