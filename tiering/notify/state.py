"""What the notifier remembers of a customer, and that memory as compact bytes for the state
store and its changelog (MessagePack, a format number first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgpack

from tiering.core.state_format import check_state_format

FORMAT = 1


@dataclass(slots=True)
class NotifierState:
    """What the notifier remembers of one customer."""

    #: notification kind → event time of the last one sent (for the cooldown)
    last_sent: dict[str, int] = field(default_factory=dict)
    #: (product category, kind of the notification that offered it, event time), oldest first
    suggested: list[tuple[str, str, int]] = field(default_factory=list)
    #: (product category, event time) of purchases not yet matched to a suggestion
    purchases: list[tuple[str, int]] = field(default_factory=list)


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
    check_state_format(fields, FORMAT, "notifier state")
    _, last, suggested, purchases = fields
    return NotifierState(
        last_sent={last[i]: last[i + 1] for i in range(0, len(last), 2)},
        suggested=[
            (suggested[i], suggested[i + 1], suggested[i + 2]) for i in range(0, len(suggested), 3)
        ],
        purchases=[(purchases[i], purchases[i + 1]) for i in range(0, len(purchases), 2)],
    )
