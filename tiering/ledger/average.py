"""The average daily balance (日均余额, ``[basis] adb``): POLICY §3 tiers by deposit balance, and a
bank may choose to tier on its average over a window rather than on the balance of one moment,
so that a one-day deposit neither lifts a customer at once nor holds them up through the grace
period (:mod:`tiering.core.policy_basis`).

Exact, on event time: the average at a moment ``at`` is the integral of the customer's deposit
balance (:attr:`CustomerState.total_fen`, overdrawn accounts at zero) over the window
``[start, at)``, in fen·milliseconds, divided by the window's length in milliseconds and
rounded down to the fen. The window starts at

- ``calendar_month``: the first millisecond of ``at``'s calendar month, China time (the month
  to date, 本月日均, as the bank's statements show it);
- ``days``: ``at`` less the policy's days;

and never before the customer's history (their first event under an averaging policy), so an
opening balance counts from when it is known. A window of no length (the very first
millisecond of a month) averages to the balance of that moment.

An average moves with time alone, so the moment it reaches or leaves a bound is a deadline like
the §3 grace period's (:func:`average_due`); the partition's sweep decides it on stream time at
that millisecond. Pure: no I/O, no clock.
"""

from __future__ import annotations

import bisect
from datetime import date, timedelta

from tiering.core.bank_time import DAY_MS, bank_day, day_start_ms
from tiering.core.policy import Policy
from tiering.core.policy_basis import ADB, CALENDAR_MONTH
from tiering.core.tiers import TIERS, Tier
from tiering.ledger.state import CustomerState

#: the trigger of a decision at the moment an average reached or left a bound:
#: ``adb:<customer>:<moment>`` (an upgrade; a grace period started or ended changes no tier)
AVERAGE_PREFIX = "adb:"
_EPOCH = date(1970, 1, 1)


def month_start(at_ms: int) -> int:
    """The first millisecond of ``at_ms``'s calendar month, China time."""
    day = _EPOCH + timedelta(days=bank_day(at_ms))
    return day_start_ms((day.replace(day=1) - _EPOCH).days)


def next_month_start(at_ms: int) -> int:
    day = _EPOCH + timedelta(days=bank_day(at_ms))
    first = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return day_start_ms((first - _EPOCH).days)


def window_start(policy: Policy, at_ms: int) -> int:
    """Where the average's window at ``at_ms`` starts, before the customer's history clips it."""
    if policy.basis.window == CALENDAR_MONTH:
        return month_start(at_ms)
    return at_ms - policy.basis.days * DAY_MS


def track_balance(
    state: CustomerState,
    policy: Policy,
    now_ms: int,
    known_since: tuple[int, int] | None = None,
) -> None:
    """The customer's deposit balance is ``state.total_fen`` from ``now_ms`` on: keep it in the
    history while ``policy`` averages, and only what a window from now on can still reach. A
    policy that averages nothing keeps none.

    The history starts at the first event under an averaging policy; for a customer known
    before it (``known_since``: the moment of their previous event and the balance they held
    from then), at that earlier moment, so that a deposit made as the history starts counts
    for its own time only, not as the customer's whole average."""
    if not policy.basis.averaged:
        if state.history_since is not None:  # a version that averaged no longer in force
            state.history_since, state.balance_history = None, []
        return
    total, history = state.total_fen, state.balance_history
    if state.history_since is None or not history:
        if known_since is not None and known_since[0] < now_ms:
            state.history_since, state.balance_history = known_since[0], [known_since]
        else:
            state.history_since, state.balance_history = now_ms, []
        history = state.balance_history
    if not history:
        history.append((now_ms, total))
        return
    if history[-1][1] != total:
        if history[-1][0] == now_ms:
            history[-1] = (now_ms, total)
        else:
            history.append((now_ms, total))
    start = window_start(policy, now_ms)
    kept = 0
    while kept + 1 < len(history) and history[kept + 1][0] <= start:
        kept += 1
    del history[:kept]


def average_fen(state: CustomerState, policy: Policy, at_ms: int) -> int:
    """The average daily balance at ``at_ms`` (not before the customer's clock), in fen; the
    balance itself while no history is kept."""
    history = state.balance_history
    if state.history_since is None or not history:
        return state.total_fen
    start = max(window_start(policy, at_ms), state.history_since)
    if at_ms <= start:
        return _balance_at(history, at_ms)
    return _integral(history, start, at_ms) // (at_ms - start)


def average_window(state: CustomerState, policy: Policy, at_ms: int) -> int | None:
    """Where the window of :func:`average_fen` at ``at_ms`` starts; None while none is kept."""
    if state.history_since is None or not state.balance_history:
        return None
    return max(window_start(policy, at_ms), state.history_since)


def basis_fen(state: CustomerState, policy: Policy, role: str, at_ms: int) -> int:
    """What §3 compares with the lower bounds for ``role`` (upgrade, downgrade, alert): the
    customer's deposit balance, or its average when the policy's ``[basis]`` says ``adb``."""
    if policy.basis.of(role) == ADB:
        return average_fen(state, policy, at_ms)
    return state.total_fen


def average_due(state: CustomerState, policy: Policy) -> int | None:
    """The first moment after the customer's clock at which an average the policy decides on
    reaches the next tier's bound (an upgrade), or leaves or regains the current tier's (a
    grace period starts or ends); None when none will, with nothing posted."""
    if state.tier is None or state.history_since is None or not state.balance_history:
        return None
    tier, after, moments = state.tier, state.clock_ms, []
    basis = policy.basis
    if basis.upgrade == ADB and tier < Tier.HIGH_END:
        bound = policy.lower_bound(TIERS[tier + 1])
        moments.append(first_moment(state, policy, bound, True, after))
    if basis.downgrade == ADB and tier > Tier.ORDINARY:
        # the bounds the average is below are the top ones, from the lowest such rank up to
        # the tier: watch it falling below the next one down, and climbing back over that rank's
        lowest = min((r for r in state.below_since if r <= tier), default=tier + 1)
        if lowest > Tier.POTENTIAL:
            bound = policy.lower_bound(TIERS[lowest - 1])
            moments.append(first_moment(state, policy, bound, False, after))
        if lowest <= tier:
            bound = policy.lower_bound(TIERS[lowest])
            moments.append(first_moment(state, policy, bound, True, after))
    found = [m for m in moments if m is not None]
    return min(found) if found else None


def first_moment(
    state: CustomerState, policy: Policy, bound: int, reaching: bool, after_ms: int
) -> int | None:
    """The first millisecond after ``after_ms`` at which the average is at least ``bound``
    (``reaching``) or below it, with the balance as it is now; None if never.

    Piece by piece: within a piece the integral and the window's length are linear in time
    (the balance now coming in, the window growing or a past balance leaving it), so where it
    crosses the bound is an integer inequality, solved exactly."""
    history, since = state.balance_history, state.history_since
    assert since is not None
    assert history
    now_balance, last_change = history[-1][1], history[-1][0]

    def holds(integral: int, length: int) -> bool:
        return (integral >= bound * length) if reaching else (integral < bound * length)

    sinces = [s for s, _ in history]
    t, integral = after_ms + 1, None
    for _ in range(len(history) + 4):
        start = max(window_start(policy, t), since)
        if t <= start:  # a window of no length: the balance itself, and so on from here
            return t if holds(now_balance, 1) else None
        length = t - start
        if integral is None:  # once; each piece then carries it on (linear within a piece)
            integral = _integral(history, start, t)
        if policy.basis.window == CALENDAR_MONTH:
            end: int | None = next_month_start(t)
            slope, grows = now_balance, 1
        elif t - policy.basis.days * DAY_MS < since:  # the window still grows from the start
            end, slope, grows = since + policy.basis.days * DAY_MS, now_balance, 1
        else:  # the window slides: a past balance leaves it as the balance now comes in
            after = bisect.bisect_right(sinces, start)
            leaving = history[max(after - 1, 0)][1]
            end = sinces[after] + policy.basis.days * DAY_MS if after < len(sinces) else None
            slope, grows = now_balance - leaving, 0
            if start >= last_change:
                return t if holds(integral, length) else None  # constant from here
        step = _first_step(integral - bound * length, slope - bound * grows, reaching)
        if step is not None and (end is None or t + step < end):
            return t + step
        if end is None:
            return None
        integral += slope * (end - t)
        t = end
    return None


def _first_step(gap: int, rate: int, reaching: bool) -> int | None:
    """The least ``d >= 0`` with ``gap + rate*d >= 0`` (``reaching``) or ``< 0``; None if
    none: the integral less the bound's share, ``gap``, moves by ``rate`` a millisecond."""
    if reaching:
        if gap >= 0:
            return 0
        return -(gap // rate) if rate > 0 else None  # ceil(-gap / rate)
    if gap < 0:
        return 0
    return gap // -rate + 1 if rate < 0 else None


def _balance_at(history: list[tuple[int, int]], at_ms: int) -> int:
    balance = history[0][1]
    for since, total in history:
        if since > at_ms:
            break
        balance = total
    return balance


def _integral(history: list[tuple[int, int]], start: int, end: int) -> int:
    """The balance integrated over ``[start, end)``, fen·ms."""
    total = 0
    for i, (since, balance) in enumerate(history):
        until = history[i + 1][0] if i + 1 < len(history) else end
        lo, hi = max(since, start), min(until, end)
        if hi > lo:
            total += balance * (hi - lo)
    return total
