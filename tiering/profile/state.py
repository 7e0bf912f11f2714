"""What the profile remembers of a customer, and that memory as compact bytes for the state
store and its changelog (MessagePack, times relative to the customer's clock, a format number
first)."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgpack

from tiering.core.dedup import SeenIds
from tiering.core.state_format import check_state_format

FORMAT = 1


@dataclass(slots=True)
class ProfileState:
    """What the profile remembers of one customer."""

    partition: int
    clock_ms: int = 0  #: newest event time seen (last seen)
    version: int = 0  #: events applied; orders the rows written to PostgreSQL
    seen: SeenIds = field(default_factory=SeenIds)
    #: (bank day, logins that day), oldest first, the last LOGIN_DAYS days
    logins: list[tuple[int, int]] = field(default_factory=list)
    channels: dict[str, int] = field(default_factory=dict)
    business: dict[str, int] = field(default_factory=dict)
    #: category → the times of its last MAX_VIEWS views, oldest first
    views: dict[str, list[int]] = field(default_factory=dict)
    #: category → (interest score, event time it was last updated)
    interest: dict[str, tuple[float, int]] = field(default_factory=dict)
    ratings: list[int] = field(default_factory=list)


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
    check_state_format(fields, FORMAT, "profile state")
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
