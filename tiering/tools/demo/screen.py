"""What ``tiering demo`` shows: progress bars, each tier change and each urgent notification as
it comes, and a table of the bank's tiers and the notifications each team received."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

from rich.console import Console, Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from tiering.core.kinds import NotificationKind, Priority
from tiering.core.teams import TEAM_OF
from tiering.core.tiers import Direction, Tier


class Screen:
    """The demo's live view and what it has counted."""

    def __init__(self, console: Console, customers: int, opening: set[str], feed: int) -> None:
        self.console = console
        self.customers = customers
        #: the opening balances' txn_ids: a customer with several accounts is placed once by
        #: all of them (§3); a corrected placement (INITIAL from a tier) is no news either
        self.opening = opening
        #: customer → tier, as the tier changes tell
        self.tiers: dict[str, str] = {}
        self.all_placed = asyncio.Event()
        self.changes: Counter[str] = Counter()
        self.teams: Counter[str] = Counter()
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        self.opening_task = self.progress.add_task("opening balances", total=len(opening))
        self.feed_task = self.progress.add_task("postings and online events", total=feed)
        self._seen_task = self.progress.add_task("tier changes seen", total=None)

    def view(self) -> Group:
        return Group(self.progress, self.summary())

    def summary(self) -> Table:
        table = Table(title="The bank right now", expand=False)
        table.add_column("tier")
        table.add_column("customers", justify="right")
        table.add_column("team (§4)")
        table.add_column("notifications", justify="right")
        tiers = Counter(self.tiers.values())
        for tier in Tier:
            team = TEAM_OF[tier].value
            table.add_row(tier.name, f"{tiers[tier.name]:,}", team, f"{self.teams[team]:,}")
        table.caption = "  ".join(f"{k.lower()}: {v:,}" for k, v in sorted(self.changes.items()))
        return table

    def show_change(self, change: dict[str, Any]) -> None:
        """A TierChange record: counted, and printed unless it places the customer (the first
        posting, or an opening balance)."""
        self.tiers[change["customer_id"]] = change["new_tier"]
        if len(self.tiers) == self.customers:
            self.all_placed.set()
        opening = change["trigger_event_id"] in self.opening
        placed = change["direction"] == Direction.INITIAL and change["previous_tier"] is None
        if placed or not opening:
            self.changes[change["direction"]] += 1
        self.progress.advance(self._seen_task)
        if not opening and change["direction"] != Direction.INITIAL:
            arrow = "[green]▲" if change["direction"] == Direction.UPGRADE else "[red]▼"
            self.console.print(
                f"{arrow}[/] customer …{change['customer_id'][-4:]}  "
                f"{change['previous_tier'] or '-':>9} → {change['new_tier']:<9} "
                f"balance {Decimal(change['balance']):>16,.2f} CNY"
            )

    def show_notification(self, note: dict[str, Any]) -> None:
        """A ManagerNotification record: counted per team, printed when urgent or interesting."""
        self.teams[note["team"]] += 1
        urgent = Priority[note["priority"]] >= Priority.HIGH
        if urgent or note["kind"] == NotificationKind.PRODUCT_INTEREST:
            colour = "red" if note["priority"] == Priority.URGENT.name else "yellow"
            self.console.print(
                f"  [{colour}]✉ {note['priority']:<6}[/] {note['team']:<16} {note['title']}"
            )
