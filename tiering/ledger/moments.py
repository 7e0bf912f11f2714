"""§5 moments worth a manager's attention that a posting brings (a large movement, a churn risk,
a customer near the next tier), and the daily peaks of the deposit balance that churn risk is
measured against (§7.3). Pure: no I/O, no clock."""

from __future__ import annotations

from tiering.core.bank_time import bank_day
from tiering.core.ids import deterministic_id
from tiering.core.kinds import SignalKind
from tiering.core.policy import Policy
from tiering.core.signals import Signal
from tiering.core.tiers import Tier, classify
from tiering.ledger.average import basis_fen
from tiering.ledger.postings import CREDITS, DEBITS, Posting
from tiering.ledger.state import CustomerState


def posting_signals(
    state: CustomerState, posting: Posting, total: int, policy: Policy
) -> list[Signal]:
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
        # on the alert's basis ([basis] alert): a customer tiered on their average hears of
        # a balance at (or near) the next tier's bound before the average gets there; on the
        # balance alone, one at the bound is in that tier already
        alert = basis_fen(state, policy, "alert", posting.event_time_ms)
        bound = policy.lower_bounds_fen[state.tier]
        num, den = policy.near_ratio
        near = alert * den >= bound * num
        if near and not state.near_upgrade:
            signal(SignalKind.NEAR_UPGRADE, bound)
    state.near_upgrade = near
    return signals


def record_peak(state: CustomerState, now_ms: int, total: int, policy: Policy) -> None:
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
