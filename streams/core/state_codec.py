"""A customer's ledger state as compact bytes, for the Faust table and its changelog.

MessagePack, with times stored relative to the customer's clock so most numbers take a few
bytes. The first element is the format number; a reader refuses a format it does not know.
"""

from __future__ import annotations

from typing import Any

import msgpack

from streams.core.dedup import SeenIds
from streams.core.ledger import Account, CustomerState
from streams.core.notifier import NotifierState
from streams.core.profile import ProfileState
from streams.core.tiers import Tier

FORMAT = 1
_CHURN_RISK = 1
_NEAR_UPGRADE = 2


class StateFormatError(ValueError):
    """Stored state written by an unknown (newer) version of the service."""


def encode_state(state: CustomerState) -> bytes:
    clock = state.clock_ms
    accounts: list[Any] = []
    for account_id, account in state.accounts.items():
        accounts += (account_id, account.balance_fen, clock - account.last_event_ms)
    below: list[int] = []
    for rank, since in state.below_since.items():
        below += (rank, clock - since)
    peaks: list[int] = []
    for day, total in state.peaks:
        peaks += (day, total)
    seen: list[int] = []
    for fp, at in state.seen.ids.items():
        seen += (fp, clock - at)
    flags = (_CHURN_RISK if state.churn_risk else 0) | (_NEAR_UPGRADE if state.near_upgrade else 0)
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
        ],
        use_bin_type=True,
    )
    return packed


def decode_state(data: bytes) -> CustomerState:
    fields = msgpack.unpackb(data, raw=False)
    if fields[0] != FORMAT:
        raise StateFormatError(f"customer state format {fields[0]} is not known to this version")
    (_, partition, tier, clock, version, accounts, below, peaks, flags, seen, floor, branch) = (
        fields
    )
    return CustomerState(
        partition=partition,
        tier=None if tier < 0 else Tier(tier),
        accounts={
            accounts[i]: Account(accounts[i + 1], clock - accounts[i + 2])
            for i in range(0, len(accounts), 3)
        },
        clock_ms=clock,
        version=version,
        below_since={below[i]: clock - below[i + 1] for i in range(0, len(below), 2)},
        peaks=[(peaks[i], peaks[i + 1]) for i in range(0, len(peaks), 2)],
        churn_risk=bool(flags & _CHURN_RISK),
        near_upgrade=bool(flags & _NEAR_UPGRADE),
        seen=SeenIds({seen[i]: clock - seen[i + 1] for i in range(0, len(seen), 2)}, floor),
        branch_id=branch,
    )


def encode_notifier_state(state: NotifierState) -> bytes:
    last: list[Any] = []
    for kind, at in state.last_sent.items():
        last += (kind, at)
    suggested: list[Any] = []
    for category, kind, at in state.suggested:
        suggested += (category, kind, at)
    purchases: list[Any] = []
    for category, at in state.purchases:
        purchases += (category, at)
    packed: bytes = msgpack.packb([FORMAT, last, suggested, purchases], use_bin_type=True)
    return packed


def decode_notifier_state(data: bytes) -> NotifierState:
    fields = msgpack.unpackb(data, raw=False)
    if fields[0] != FORMAT:
        raise StateFormatError(f"notifier state format {fields[0]} is not known to this version")
    _, last, suggested, purchases = fields
    return NotifierState(
        last_sent={last[i]: last[i + 1] for i in range(0, len(last), 2)},
        suggested=[
            (suggested[i], suggested[i + 1], suggested[i + 2]) for i in range(0, len(suggested), 3)
        ],
        purchases=[(purchases[i], purchases[i + 1]) for i in range(0, len(purchases), 2)],
    )


def encode_profile_state(state: ProfileState) -> bytes:
    clock = state.clock_ms
    seen: list[int] = []
    for fp, at in state.seen.ids.items():
        seen += (fp, clock - at)
    logins: list[int] = []
    for day, n in state.logins:
        logins += (day, n)
    views = {c: [clock - t for t in times] for c, times in state.views.items()}
    interest = {c: [score, clock - at] for c, (score, at) in state.interest.items()}
    packed: bytes = msgpack.packb(
        [
            FORMAT,
            state.partition,
            clock,
            state.version,
            seen,
            state.seen.floor_ms,
            logins,
            state.channels,
            state.business,
            views,
            interest,
            state.ratings,
        ],
        use_bin_type=True,
    )
    return packed


def decode_profile_state(data: bytes) -> ProfileState:
    fields = msgpack.unpackb(data, raw=False, strict_map_key=False)
    if fields[0] != FORMAT:
        raise StateFormatError(f"profile state format {fields[0]} is not known to this version")
    (
        _,
        partition,
        clock,
        version,
        seen,
        floor,
        logins,
        channels,
        business,
        views,
        interest,
        ratings,
    ) = fields
    return ProfileState(
        partition=partition,
        clock_ms=clock,
        version=version,
        seen=SeenIds({seen[i]: clock - seen[i + 1] for i in range(0, len(seen), 2)}, floor),
        logins=[(logins[i], logins[i + 1]) for i in range(0, len(logins), 2)],
        channels=channels,
        business=business,
        views={c: [clock - t for t in times] for c, times in views.items()},
        interest={c: (score, clock - at) for c, (score, at) in interest.items()},
        ratings=ratings,
    )
