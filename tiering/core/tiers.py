"""The bank's four tiers and how a balance places a customer in one (POLICY §3)."""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Sequence


class Tier(enum.IntEnum):
    """§3 tiers, ordered: a higher value is a higher tier."""

    ORDINARY = 0  #: 普通客戶, below 50,000
    POTENTIAL = 1  #: 潛力客戶, 50,000 up to 500,000
    PREMIUM = 2  #: 優質客戶, 500,000 up to 3,000,000
    HIGH_END = 3  #: 高端客戶, 3,000,000 and above

    @classmethod
    def parse(cls, name: str) -> Tier:
        try:
            return cls[name]
        except KeyError:
            raise ValueError(
                f"unknown tier {name!r}; tiers are {', '.join(t.name for t in cls)}"
            ) from None


TIERS = tuple(Tier)  #: by rank: TIERS[0] is ORDINARY
TIER_NAMES = tuple(t.name for t in Tier)

#: §3 as the original names them
TIER_NAMES_ZH = {
    Tier.ORDINARY: "普通客戶",
    Tier.POTENTIAL: "潛力客戶",
    Tier.PREMIUM: "優質客戶",
    Tier.HIGH_END: "高端客戶",
}


class Direction(enum.StrEnum):
    """How a TierChange moved the customer (the schema's TierDirection)."""

    INITIAL = "INITIAL"
    UPGRADE = "UPGRADE"
    DOWNGRADE = "DOWNGRADE"


def classify(total_fen: int, lower_bounds_fen: Sequence[int]) -> Tier:
    """§3: the highest tier whose lower bound (inclusive) the total reaches.

    ``lower_bounds_fen`` holds the lower bounds of POTENTIAL, PREMIUM and HIGH_END, ascending.
    A negative total counts as zero.
    """
    return TIERS[bisect_right(lower_bounds_fen, total_fen)]
