"""A synthetic bank for ``tiering demo``: opening balances, then day-to-day postings and
online-banking behaviour.

Balances follow a log-normal spread, as retail deposits do: most customers ORDINARY, a
fifth POTENTIAL, a few PREMIUM, a handful HIGH_END. Postings are salaries, card spending,
transfers, interest and fees, with now and then a large deposit or withdrawal that moves a
customer across a tier bound. Event time runs over the last 60 days, so the 30-day
downgrade grace plays out within one run.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tiering.core.bank_time import DAY_MS, HOUR_MS
from tiering.core.money import from_fen
from tiering.wire.topics import DEPOSIT_TRANSACTIONS, ONLINE_BEHAVIOR

CHANNELS = ("COUNTER", "ATM", "MOBILE", "ONLINE", "AUTO")
PRODUCTS = (
    "TIME_DEPOSIT_1Y",
    "INSTALLMENT_SAVINGS",
    "NOTICE_DEPOSIT",
    "LARGE_CD",
    "SHORT_TERM_WEALTH_90D",
)
BRANCHES = tuple(f"BR{n:03d}" for n in range(1, 13))
CATEGORIES = ("SHORT_TERM_WEALTH", "TIME_DEPOSIT", "FUND", "LARGE_CD", "TREASURY_BOND")
BUSINESS_TYPES = ("TRANSFER", "BILL_PAYMENT", "WEALTH_PURCHASE", "STATEMENT")


@dataclass(slots=True)
class _Customer:
    customer_id: str
    accounts: list[str]
    balance_fen: int
    branch_id: str


class SyntheticBank:
    """Generates DepositTransaction records; deterministic for a given seed."""

    def __init__(
        self, customers: int, run: str, start_ms: int, end_ms: int, seed: int | None = None
    ) -> None:
        self.rng = random.Random(seed)
        self.run = run
        self.start_ms = start_ms
        self.end_ms = end_ms
        self._txn = 0
        self.customers = [self._customer(i) for i in range(customers)]

    def _customer(self, i: int) -> _Customer:
        rng = self.rng
        # Median ~12,000 CNY with a long tail: ~20 % above 50k, ~2 % above 500k, a few above 3M.
        balance = int(min(rng.lognormvariate(9.4, 1.9), 8_000_000) * 100)
        n_accounts = 1 + (rng.random() < 0.4) + (rng.random() < 0.15)
        cid = f"{self.run}-{i:06d}"
        return _Customer(
            cid, [f"{cid}-A{a}" for a in range(n_accounts)], balance, rng.choice(BRANCHES)
        )

    def _record(
        self, c: _Customer, account: str, txn_type: str, fen: int, at_ms: int, **extra: Any
    ) -> dict[str, Any]:
        self._txn += 1
        return {
            "txn_id": f"{self.run}-T{self._txn:09d}",
            "customer_id": c.customer_id,
            "account_id": account,
            "txn_type": txn_type,
            "amount": from_fen(fen),
            "currency": "CNY",
            "channel": extra.pop("channel", self.rng.choice(CHANNELS)),
            "branch_id": c.branch_id,
            "product_code": extra.pop("product_code", None),
            "event_time": at_ms,
        }

    def risk_levels(self) -> dict[str, int]:
        """Known risk tolerance (1-5) for about seven customers in ten, mostly cautious."""
        return {
            c.customer_id: self.rng.choices((1, 2, 3, 4, 5), weights=(20, 35, 30, 10, 5))[0]
            for c in self.customers
            if self.rng.random() < 0.7
        }

    def feed(self, postings: int) -> list[tuple[str, dict[str, Any]]]:
        """Postings and online-banking events together, in event-time order: ``(topic,
        record)``. About one customer in twenty-five keeps looking at one kind of product for
        a few days, and half of those buy it (or its companion) a few days later."""
        events = [(DEPOSIT_TRANSACTIONS, r) for r in self.postings(postings)]
        events += [(ONLINE_BEHAVIOR, r) for r in self._online(postings)]
        events += self._interest_stories()
        events.sort(key=lambda e: e[1]["event_time"])
        return events

    def _online(self, count: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        span = self.end_ms - self.start_ms
        for _ in range(count):
            c = rng.choice(self.customers)
            at = self.start_ms + rng.randrange(span)
            kind = rng.choices(
                ("LOGIN", "BUSINESS", "PRODUCT_VIEW", "FEEDBACK"), weights=(60, 22, 14, 4)
            )[0]
            extra: dict[str, Any] = {}
            if kind == "BUSINESS":
                extra["business_type"] = rng.choice(BUSINESS_TYPES)
            elif kind == "PRODUCT_VIEW":
                extra["product_category"] = rng.choice(CATEGORIES)
            elif kind == "FEEDBACK":
                extra["rating"] = rng.choices((1, 2, 3, 4, 5), weights=(3, 5, 15, 40, 37))[0]
            yield self._online_record(c, kind, at, **extra)

    def _interest_stories(self) -> list[tuple[str, dict[str, Any]]]:
        rng = self.rng
        events: list[tuple[str, dict[str, Any]]] = []
        span = self.end_ms - self.start_ms
        for c in self.customers:
            if rng.random() >= 0.04:
                continue
            category = rng.choices(CATEGORIES, weights=(40, 20, 15, 10, 15))[0]
            at = self.start_ms + rng.randrange(span // 2)
            for _ in range(rng.randint(3, 5)):
                at += rng.randrange(HOUR_MS, 36 * HOUR_MS)
                events.append(
                    (
                        ONLINE_BEHAVIOR,
                        self._online_record(c, "PRODUCT_VIEW", at, product_category=category),
                    )
                )
            if rng.random() < 0.5:
                at += rng.randrange(1, 10) * DAY_MS
                bought = rng.choice((category, "NOTICE_DEPOSIT"))
                fen = rng.randrange(10_000_00, 200_000_00)
                events.append(
                    (
                        DEPOSIT_TRANSACTIONS,
                        self._record(
                            c,
                            c.accounts[0],
                            "DEPOSIT",
                            fen,
                            at,
                            product_code=bought,
                            channel="MOBILE",
                        ),
                    )
                )
        return events

    def _online_record(self, c: _Customer, kind: str, at_ms: int, **extra: Any) -> dict[str, Any]:
        self._txn += 1
        return {
            "event_id": f"{self.run}-E{self._txn:09d}",
            "customer_id": c.customer_id,
            "event_type": kind,
            "channel": self.rng.choice(("MOBILE_APP", "MOBILE_APP", "WEB")),
            "product_code": None,
            "product_category": extra.get("product_category"),
            "business_type": extra.get("business_type"),
            "rating": extra.get("rating"),
            "comment": None,
            "event_time": at_ms,
        }

    def opening_balances(self) -> Iterator[dict[str, Any]]:
        for c in self.customers:
            shares = [self.rng.random() for _ in c.accounts]
            total = sum(shares)
            remaining = c.balance_fen
            for n, (account, share) in enumerate(zip(c.accounts, shares, strict=True)):
                fen = remaining if n == len(c.accounts) - 1 else int(c.balance_fen * share / total)
                remaining -= fen
                yield self._record(
                    c, account, "BALANCE_SNAPSHOT", fen, self.start_ms, channel="AUTO"
                )

    def postings(self, count: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        span = self.end_ms - self.start_ms
        for n in range(count):
            at = self.start_ms + 1 + span * n // max(count, 1)
            c = rng.choice(self.customers)
            account = rng.choice(c.accounts)
            roll = rng.random()
            if roll < 0.003:  # a windfall: a bonus, the sale of a flat, an inheritance
                size = rng.choices((60_000, 550_000, 3_200_000), weights=(70, 25, 5))[0]
                fen = size * 100 + rng.randrange(100_000_00)
                kind, extra = "DEPOSIT", {"channel": "COUNTER"}
            elif roll < 0.006 and c.balance_fen > 100_000_00:  # moving money elsewhere
                fen = int(c.balance_fen * rng.uniform(0.5, 0.95))
                kind, extra = "TRANSFER_OUT", {}
            elif roll < 0.35:  # salary, transfers from family
                fen = rng.randrange(1_000_00, 12_000_00)
                kind, extra = rng.choice(("DEPOSIT", "TRANSFER_IN")), {}
            elif roll < 0.85:  # spending, bills
                fen = min(rng.randrange(200_00, 9_000_00), max(c.balance_fen, 0))
                kind, extra = rng.choice(("WITHDRAWAL", "TRANSFER_OUT")), {}
            elif roll < 0.95:
                fen = max(c.balance_fen // 400, 1)
                kind, extra = "INTEREST", {"channel": "AUTO"}
            else:
                fen = rng.randrange(1_00, 50_00)
                kind, extra = "FEE", {"channel": "AUTO"}
            if fen <= 0:
                fen = 1_00
                kind = "DEPOSIT"
            if kind == "DEPOSIT" and rng.random() < 0.1:
                extra["product_code"] = rng.choice(PRODUCTS)
            c.balance_fen += fen if kind in ("DEPOSIT", "TRANSFER_IN", "INTEREST") else -fen
            yield self._record(c, account, kind, fen, at, **extra)
