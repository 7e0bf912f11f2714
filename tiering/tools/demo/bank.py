"""A synthetic bank for ``tiering demo``: opening balances, then day-to-day postings and
online-banking behaviour, deterministic for a seed.

Balances follow a log-normal spread, as retail deposits do: most customers ORDINARY, a
fifth POTENTIAL, a few PREMIUM, a handful HIGH_END. Event time runs over the last 60 days, so
the 30-day downgrade grace plays out within one run, with the rhythm of
:mod:`tiering.tools.demo.rhythm`: salaries on the payroll days, rent and bills at month end,
quarterly interest, busy days and quiet nights. Now and then a large deposit or transfer out
moves a customer across a tier bound.

It behaves like a core system: it keeps every account's balance as its postings leave it, and a
debit larger than the balance is declined (never sent), so no account goes below zero.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tiering.core.bank_time import HOUR_MS, MINUTE_MS
from tiering.core.money import from_fen
from tiering.tools.demo.rhythm import (
    Payday,
    Rhythm,
    at,
    channel_at,
    china_time,
    days_between,
    last_day,
    month_end,
    payday_in,
)
from tiering.wire.topics import DEPOSIT_TRANSACTIONS, ONLINE_BEHAVIOR

#: the demo bank's branches: every customer banks at one, every team has managers at each
BRANCHES = {
    "BR001": "Beijing Xidan",
    "BR002": "Shanghai Lujiazui",
    "BR003": "Guangzhou Tianhe",
    "BR004": "Shenzhen Futian",
}
PRODUCTS = (
    "TIME_DEPOSIT_1Y",
    "INSTALLMENT_SAVINGS",
    "NOTICE_DEPOSIT",
    "LARGE_CD",
    "SHORT_TERM_WEALTH_90D",
)
CATEGORIES = ("SHORT_TERM_WEALTH", "TIME_DEPOSIT", "FUND", "LARGE_CD", "TREASURY_BOND")
BUSINESS_TYPES = ("TRANSFER", "BILL_PAYMENT", "WEALTH_PURCHASE", "STATEMENT")
CREDITS = frozenset({"DEPOSIT", "TRANSFER_IN", "INTEREST"})
#: demand deposits earn 0.10 % a year, settled each quarter on the 20th of its last month and
#: credited the next day (in basis points, a 360-day year, as Chinese banks count)
DEMAND_RATE_BP = 10
INTEREST_MONTHS = (3, 6, 9, 12)
#: the monthly SMS-alert fee, taken on the month's last day from the accounts that have alerts
SMS_FEE_FEN = 2_00


@dataclass(slots=True)
class _Customer:
    customer_id: str
    branch_id: str
    accounts: list[str]
    opening_fen: list[int]  #: each account's opening balance
    payday: Payday | None  #: None: no salary paid into this bank
    salary_fen: int
    sms_alerts: bool


@dataclass(order=True, slots=True)
class _Plan:
    """A posting the calendar or the customer intends; its amount is settled when its time
    comes, against the balance then (a debit may be declined)."""

    at_ms: int
    seq: int
    kind: str = field(compare=False)  #: salary, interest, fee, purchase, day
    customer: _Customer = field(compare=False)
    account: str | None = field(compare=False, default=None)  #: None: the customer picks
    fen: int = field(compare=False, default=0)
    product: str | None = field(compare=False, default=None)


class SyntheticBank:
    """Generates DepositTransaction and OnlineBehaviorEvent records; deterministic for a given
    seed (and span)."""

    def __init__(
        self, customers: int, run: str, start_ms: int, end_ms: int, seed: int | None = None
    ) -> None:
        self.rng = random.Random(seed)
        self.run = run
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.rhythm = Rhythm(start_ms, end_ms)
        self._txn = 0
        self.customers = [self._customer(i) for i in range(customers)]
        #: every account's balance as the postings made so far leave it, from the opening ones
        self.balances: dict[str, int] = {
            account: fen
            for c in self.customers
            for account, fen in zip(c.accounts, c.opening_fen, strict=True)
        }
        #: postings sent by kind (salary, interest, fee, purchase, day), and ``declined``:
        #: debits larger than the account's balance, not sent
        self.tally: Counter[str] = Counter()

    def _customer(self, i: int) -> _Customer:
        rng = self.rng
        # Median ~12,000 CNY with a long tail: ~20 % above 50k, ~2 % above 500k, a few above 3M.
        balance = int(min(rng.lognormvariate(9.4, 1.9), 8_000_000)) * 100
        n_accounts = 1 + (rng.random() < 0.4) + (rng.random() < 0.15)
        cid = f"{self.run}-{i:06d}"
        shares = [rng.randrange(1, 1000) for _ in range(n_accounts)]
        opening = [balance * s // sum(shares) for s in shares]
        opening[0] += balance - sum(opening)  # the payroll card holds the rounding
        salaried = rng.random() < 0.65
        return _Customer(
            customer_id=cid,
            branch_id=rng.choice(list(BRANCHES)),
            accounts=[f"{cid}-A{a}" for a in range(n_accounts)],
            opening_fen=opening,
            payday=rng.choice(list(Payday)) if salaried else None,
            # median ~8,000 CNY a month
            salary_fen=int(min(rng.lognormvariate(9.0, 0.5), 80_000)) * 100,
            sms_alerts=rng.random() < 0.3,
        )

    def _record(
        self,
        c: _Customer,
        account: str,
        txn_type: str,
        fen: int,
        at_ms: int,
        channel: str,
        product_code: str | None = None,
    ) -> dict[str, Any]:
        self._txn += 1
        if txn_type != "BALANCE_SNAPSHOT":  # the opening ones: where the balances start
            self.balances[account] += fen if txn_type in CREDITS else -fen
        return {
            "txn_id": f"{self.run}-T{self._txn:09d}",
            "customer_id": c.customer_id,
            "account_id": account,
            "txn_type": txn_type,
            "amount": from_fen(fen),
            "currency": "CNY",
            "channel": channel,
            "branch_id": c.branch_id,
            "product_code": product_code,
            "event_time": at_ms,
        }

    def risk_levels(self) -> dict[str, int]:
        """Known risk tolerance (1-5) for about seven customers in ten, mostly cautious."""
        return {
            c.customer_id: self.rng.choices((1, 2, 3, 4, 5), weights=(20, 35, 30, 10, 5))[0]
            for c in self.customers
            if self.rng.random() < 0.7
        }

    def opening_balances(self) -> Iterator[dict[str, Any]]:
        """Each account's BALANCE_SNAPSHOT at the start: what the feed's balances start from."""
        for c in self.customers:
            for account, fen in zip(c.accounts, c.opening_fen, strict=True):
                yield self._record(c, account, "BALANCE_SNAPSHOT", fen, self.start_ms, "AUTO")

    def feed(self, postings: int) -> list[tuple[str, dict[str, Any]]]:
        """Postings and online-banking events together, in event-time order: ``(topic,
        record)``. ``postings`` day-to-day postings are attempted (those declined are not
        sent), and the calendar adds salaries, interest and fees. About one customer in
        twenty-five keeps looking at one kind of product for a few days, and half of those buy
        it (or its companion) a few days later."""
        plans: list[_Plan] = []
        events = [(ONLINE_BEHAVIOR, r) for r in self._online(postings)]
        events += self._interest_stories(plans)
        self._calendar(plans)
        for at_ms in self.rhythm.times(self.rng, postings):
            plans.append(_Plan(at_ms, len(plans), "day", self.rng.choice(self.customers)))
        events += [(DEPOSIT_TRANSACTIONS, r) for r in self.postings(plans)]
        events.sort(key=lambda e: e[1]["event_time"])
        return events

    def _calendar(self, plans: list[_Plan]) -> None:
        """Salaries on each customer's payroll day at 08:00-10:00 (the employer's batch),
        each account's quarterly interest the day after settlement, the SMS fee on each
        month's last day."""
        rng = self.rng
        for day in days_between(self.start_ms, self.end_ms):
            interest_day = day.month in INTEREST_MONTHS and day.day == 21
            for c in self.customers:
                if c.payday is not None and payday_in(day, c.payday) == day:
                    when = at(day, 8) + rng.randrange(2 * HOUR_MS)
                    plans.append(_Plan(when, len(plans), "salary", c, c.accounts[0], c.salary_fen))
                if interest_day:  # the night's batch
                    for account in c.accounts:
                        when = at(day, 0, 30) + rng.randrange(HOUR_MS)
                        plans.append(_Plan(when, len(plans), "interest", c, account))
                if c.sms_alerts and last_day(day):
                    when = at(day, 23) + rng.randrange(30 * MINUTE_MS)
                    plans.append(_Plan(when, len(plans), "fee", c, c.accounts[0], SMS_FEE_FEN))

    def postings(self, plans: list[_Plan]) -> Iterator[dict[str, Any]]:
        """The plans in event-time order, each settled against the balances then."""
        for plan in sorted(p for p in plans if self.start_ms < p.at_ms < self.end_ms):
            record = self._settle(plan)
            if record is None:
                self.tally["declined"] += 1
            else:
                self.tally[plan.kind] += 1
                yield record

    def _settle(self, plan: _Plan) -> dict[str, Any] | None:
        c, when, account = plan.customer, plan.at_ms, plan.account or ""
        if plan.kind == "salary":
            return self._record(c, account, "TRANSFER_IN", plan.fen, when, "AUTO")
        if plan.kind == "purchase":
            return self._record(c, account, "DEPOSIT", plan.fen, when, "MOBILE", plan.product)
        if plan.kind == "interest":
            fen = self.balances[account] * DEMAND_RATE_BP * 90 // (10_000 * 360)
            return self._record(c, account, "INTEREST", fen, when, "AUTO") if fen > 0 else None
        if plan.kind == "fee":
            return self._debit(c, account, "FEE", plan.fen, when, "AUTO")
        return self._day_to_day(c, when)

    def _debit(
        self, c: _Customer, account: str, kind: str, fen: int, when: int, channel: str
    ) -> dict[str, Any] | None:
        """A debit, unless it is larger than the account holds: then declined, as the core
        would (None)."""
        if fen > self.balances[account]:
            return None
        return self._record(c, account, kind, fen, when, channel)

    def _day_to_day(self, c: _Customer, when: int) -> dict[str, Any] | None:
        rng = self.rng
        account = rng.choice(c.accounts)
        channel = channel_at(rng, when)
        roll = rng.random()
        if roll < 0.004:  # a windfall: a bonus, the sale of a flat, an inheritance
            size = rng.choices((60_000, 550_000, 3_200_000), weights=(70, 25, 5))[0]
            fen = size * 100 + rng.randrange(100_000_00)
            kind = "DEPOSIT" if channel == "COUNTER" else "TRANSFER_IN"
            return self._record(c, account, kind, fen, when, channel)
        total = sum(self.balances[a] for a in c.accounts)
        if roll < 0.008 and total > 100_000_00:  # moving money elsewhere
            account = max(c.accounts, key=lambda a: self.balances[a])
            fen = self.balances[account] * rng.randint(50, 95) // 100
            return self._debit(c, account, "TRANSFER_OUT", fen, when, channel)
        if roll < 0.30:  # money from family, cash paid in, refunds; now and then a product
            fen = rng.randrange(100_00, 12_000_00)
            if channel == "COUNTER" and rng.random() < 0.3:
                return self._record(c, account, "DEPOSIT", fen, when, channel, rng.choice(PRODUCTS))
            kind = "DEPOSIT" if channel in ("COUNTER", "ATM") else "TRANSFER_IN"
            return self._record(c, account, kind, fen, when, channel)
        if month_end(china_time(when).date()) and rng.random() < 0.3:  # rent, bills, card repayment
            fen = rng.randrange(1_500_00, 8_000_00)
            return self._debit(c, account, "TRANSFER_OUT", fen, when, channel)
        if channel in ("COUNTER", "ATM"):  # cash, in hundreds
            return self._debit(
                c, account, "WITHDRAWAL", rng.randrange(1, 30) * 100_00, when, channel
            )
        fen = rng.randrange(20_00, 5_000_00)  # paying for things
        return self._debit(c, account, "TRANSFER_OUT", fen, when, channel)

    # --- online banking ---------------------------------------------------------------------

    def _online(self, count: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        for at_ms in self.rhythm.times(rng, count):
            c = rng.choice(self.customers)
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
            yield self._online_record(c, kind, at_ms, **extra)

    def _interest_stories(self, plans: list[_Plan]) -> list[tuple[str, dict[str, Any]]]:
        """Customers who keep looking at one kind of product; half of them buy (a plan)."""
        rng = self.rng
        events: list[tuple[str, dict[str, Any]]] = []
        middle = self.start_ms + (self.end_ms - self.start_ms) // 2
        for c in self.customers:
            if rng.random() >= 0.04:
                continue
            category = rng.choices(CATEGORIES, weights=(40, 20, 15, 10, 15))[0]
            when = min(self.rhythm.time(rng), middle)
            for _ in range(rng.randint(3, 5)):
                when += rng.randrange(HOUR_MS, 36 * HOUR_MS)
                record = self._online_record(c, "PRODUCT_VIEW", when, product_category=category)
                events.append((ONLINE_BEHAVIOR, record))
            if rng.random() < 0.5:
                when += rng.randrange(1, 10) * 24 * HOUR_MS
                bought = rng.choice((category, "NOTICE_DEPOSIT"))
                fen = rng.randrange(10_000_00, 200_000_00)
                plans.append(_Plan(when, len(plans), "purchase", c, c.accounts[0], fen, bought))
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
