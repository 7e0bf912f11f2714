"""A POLICY_CHANGE notice's page (README "The policy lifecycle"): the re-tiering in full, where
the reader looks after the notice's tier.

The notice itself counts one part of the change (one branch, one partition). Its page reads the
re-placements from ``tier_changes`` (trigger ``policy:<version>``, the notice's
``source_event_id``) that moved customers into or out of the notice's tier, at every branch the
reader's team looks after there: the reader's own branch; at head office the customers with no
branch, and in private banking every branch's. That is where a team notification for the
customer would pass ``VISIBLE`` (``queries``), so nobody reads more customers here than their
notifications show them. The branch is the customer's branch now (``customer_balances``).

The moves are counted per branch, from tier to tier; the customers are listed by masked id, a
page at a time, each linking to their newest notification the reader may see (which says why
they are in their tier).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from tiering.core.kinds import NotificationKind
from tiering.core.policy_versions import POLICY_SWITCH_PREFIX
from tiering.core.tiers import Tier
from tiering.inbox.queries import VISIBLE

#: customers listed a page at a time
CUSTOMERS_PAGE = 50

#: ``c``: a re-placement, ``b``: its customer's balance row (their branch now), ``m``: the
#: signed-in manager (``$1``); ``$2`` the head office, ``$3`` the trigger, ``$4`` the notice's
#: team, ``$5`` its tier. The trigger's LIKE lets PostgreSQL use the partial index of
#: migration 014.
_REPLACED = """
FROM tier_changes c
JOIN managers m ON m.manager_id = $1
LEFT JOIN customer_balances b ON b.customer_id = c.customer_id
WHERE c.trigger_event_id = $3 AND c.trigger_event_id LIKE 'policy:%'
  AND (c.previous_tier = $5 OR c.new_tier = $5)
  AND m.team = $4
  AND (b.branch_id = m.branch_id
       OR (m.branch_id = $2 AND (b.branch_id IS NULL OR m.team = 'PRIVATE_BANKING')))
"""

#: → per branch, tier before and after: how many customers
MOVES = f"""
SELECT b.branch_id, c.previous_tier, c.new_tier, count(*) AS customers {_REPLACED}
GROUP BY b.branch_id, c.previous_tier, c.new_tier
"""

#: ``$6`` how many, ``$7`` after how many → one page of the customers, by branch and id, each
#: with their newest notification the manager may see (``n`` in ``VISIBLE``), if any
CUSTOMERS = f"""
SELECT c.customer_id, c.previous_tier, c.new_tier, b.branch_id,
       (SELECT n.notification_id FROM notifications n
        WHERE n.customer_id = c.customer_id AND {VISIBLE}
        ORDER BY n.created_at DESC, n.notification_id DESC LIMIT 1) AS notification_id
{_REPLACED}
ORDER BY b.branch_id NULLS FIRST, c.customer_id
LIMIT $6 OFFSET $7
"""


@dataclass(frozen=True, slots=True)
class Move:
    """Customers moved from one tier to another at one branch."""

    previous: Tier
    new: Tier
    customers: int


@dataclass(frozen=True, slots=True)
class BranchMoves:
    """The moves at one branch (None: customers with no branch, head office's)."""

    branch_id: str | None
    moves: tuple[Move, ...]
    joined: int  #: moved into the notice's tier
    left: int  #: moved out of it


@dataclass(frozen=True, slots=True)
class Replaced:
    """One customer the change moved (the page masks the id)."""

    customer_id: str
    previous: Tier
    new: Tier
    branch_id: str | None
    #: their newest notification the reader may see, if any
    notification_id: str | None


@dataclass(frozen=True, slots=True)
class Retiering:
    """What a POLICY_CHANGE notice's page shows."""

    version: str
    tier: Tier
    branches: tuple[BranchMoves, ...]
    customers: tuple[Replaced, ...]  #: this page of them
    page: int  #: from 1

    @property
    def joined(self) -> int:
        return sum(b.joined for b in self.branches)

    @property
    def left(self) -> int:
        return sum(b.left for b in self.branches)

    @property
    def total(self) -> int:
        """Customers moved, in or out (each once: a move is into or out of the tier)."""
        return self.joined + self.left

    @property
    def first(self) -> int:
        """The position of the page's first customer, from 1."""
        return (self.page - 1) * CUSTOMERS_PAGE + 1

    @property
    def last(self) -> int:
        return self.first + len(self.customers) - 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // CUSTOMERS_PAGE))


def policy_version(notification: Mapping[str, Any]) -> str | None:
    """The version of a POLICY_CHANGE notice (from its source, ``policy:<version>``); None for
    any other notification."""
    source = notification["source_event_id"]
    if notification["kind"] != NotificationKind.POLICY_CHANGE or not isinstance(source, str):
        return None
    if not source.startswith(POLICY_SWITCH_PREFIX):
        return None
    return source.removeprefix(POLICY_SWITCH_PREFIX) or None


def page_of(query: Mapping[str, str]) -> int:
    """The customers' page asked for (``?customers=N``); anything else is the first."""
    raw = query.get("customers", "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 7 and int(raw) else 1


def branch_moves(rows: Iterable[Mapping[str, Any]], tier: Tier) -> tuple[BranchMoves, ...]:
    """The counted rows of :data:`MOVES`, per branch (head office's first, then by id), each
    branch's moves from the lowest tier up."""
    by_branch: dict[str | None, list[Move]] = {}
    for r in rows:
        move = Move(Tier[r["previous_tier"]], Tier[r["new_tier"]], int(r["customers"]))
        by_branch.setdefault(r["branch_id"], []).append(move)
    return tuple(
        BranchMoves(
            branch,
            tuple(sorted(moves, key=lambda m: (m.previous, m.new))),
            sum(m.customers for m in moves if m.new == tier),
            sum(m.customers for m in moves if m.previous == tier),
        )
        for branch, moves in sorted(by_branch.items(), key=_head_office_first)
    )


def _head_office_first(item: tuple[str | None, object]) -> tuple[bool, str]:
    return item[0] is not None, item[0] or ""


async def read_retiering(
    pool: asyncpg.Pool,
    manager_id: str,
    head_office: str,
    notification: Mapping[str, Any],
    page: int,
) -> Retiering | None:
    """The re-tiering of a POLICY_CHANGE ``notification`` the manager has passed ``VISIBLE``
    for, with the ``page``-th page of its customers (the last, if there are fewer); None for
    any other notification."""
    version = policy_version(notification)
    if version is None:
        return None
    tier = Tier[notification["tier"]]
    args = (manager_id, head_office, notification["source_event_id"], notification["team"])
    moves = branch_moves(await pool.fetch(MOVES, *args, tier.name), tier)
    page = min(page, Retiering(version, tier, moves, (), 1).pages)
    rows = await pool.fetch(
        CUSTOMERS, *args, tier.name, CUSTOMERS_PAGE, (page - 1) * CUSTOMERS_PAGE
    )
    customers = tuple(
        Replaced(
            r["customer_id"],
            Tier[r["previous_tier"]],
            Tier[r["new_tier"]],
            r["branch_id"],
            r["notification_id"],
        )
        for r in rows
    )
    return Retiering(version, tier, moves, customers, page)
