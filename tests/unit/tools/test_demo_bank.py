"""The demo's synthetic bank behaves like one: no account is ever overdrawn (a debit larger than
the balance is declined, as a core system would), salaries arrive on the payroll days, days are
busier than nights and month end busier than mid-month, and a seed repeats a run."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

import pytest

from tiering.core.dedup import EventOutcome
from tiering.core.policy_file import load_policy
from tiering.ledger.postings import posting_from_record
from tiering.ledger.rules import apply_posting
from tiering.ledger.state import CustomerState
from tiering.tools.demo.bank import BRANCHES, SyntheticBank
from tiering.tools.demo.rhythm import (
    COUNTER_HOURS,
    Payday,
    at,
    china_time,
    is_payday,
    month_end,
    payday_in,
    working_day,
)
from tiering.wire.topics import DEPOSIT_TRANSACTIONS

#: 60 days of event time, China time: 2025-11-01 to 2025-12-30, two months' payroll days and
#: the December interest settlement
START = at(date(2025, 11, 1), 0)
END = at(date(2025, 12, 31), 0)
POLICY = load_policy()


def run(seed: int = 11, customers: int = 400, postings: int = 40_000) -> tuple[SyntheticBank, list]:
    bank = SyntheticBank(customers, "R", START, END, seed)
    openings = list(bank.opening_balances())
    feed = bank.feed(postings)
    return bank, openings + [r for topic, r in feed if topic == DEPOSIT_TRANSACTIONS]


@pytest.fixture(scope="module")
def long_run() -> tuple[SyntheticBank, list[dict[str, Any]]]:
    return run()


def day_of(record: dict[str, Any]) -> date:
    return china_time(record["event_time"]).date()


def test_payroll_days_follow_the_calendar() -> None:
    # November 2025: the 15th is a Saturday, the 30th a Sunday
    assert payday_in(date(2025, 11, 1), Payday.TENTH) == date(2025, 11, 10)
    assert payday_in(date(2025, 11, 1), Payday.FIFTEENTH) == date(2025, 11, 14)
    assert payday_in(date(2025, 11, 1), Payday.LAST_WORKING_DAY) == date(2025, 11, 28)
    assert payday_in(date(2025, 12, 1), Payday.LAST_WORKING_DAY) == date(2025, 12, 31)
    assert is_payday(date(2025, 11, 14))
    assert not is_payday(date(2025, 11, 15))
    assert month_end(date(2025, 11, 28))
    assert not month_end(date(2025, 11, 27))


def test_no_account_goes_below_zero_over_a_long_run(long_run) -> None:
    """Every posting, opening balances first, through the service's own ledger rules: not one
    overdraft, every account at zero or above after every posting, and the generator's idea of
    each balance is the ledger's."""
    bank, postings = long_run
    states: dict[str, CustomerState] = {}
    for record in postings:
        posting = posting_from_record(dict(record), POLICY, key=record["customer_id"])
        state, applied = apply_posting(states.get(posting.customer_id), posting, POLICY, 0)
        states[posting.customer_id] = state
        assert applied.outcome is EventOutcome.PROCESSED
        assert not applied.overdrawn, record
        assert state.accounts[posting.account_id].balance >= 0, record
    held = {a: acct.balance for s in states.values() for a, acct in s.accounts.items()}
    assert held == bank.balances
    # it did meet debits larger than the balance, and declined them
    assert bank.tally["declined"] > 0
    assert len(postings) == sum(len(c.accounts) for c in bank.customers) + sum(
        n for kind, n in bank.tally.items() if kind != "declined"
    )


def test_days_are_busier_than_nights(long_run) -> None:
    """What customers do themselves (not the bank's own AUTO postings): per hour, the branch
    hours see many times the postings of the small hours, and the counter is open only then."""
    _, postings = long_run
    by_hour = Counter(
        china_time(r["event_time"]).hour
        for r in postings
        if r["channel"] != "AUTO" and r["txn_type"] != "BALANCE_SNAPSHOT"
    )
    daytime = sum(by_hour[h] for h in COUNTER_HOURS) / len(COUNTER_HOURS)
    night = sum(by_hour[h] for h in range(0, 6)) / 6
    assert daytime > 10 * night > 0
    for r in postings:
        if r["channel"] == "COUNTER":
            moment = china_time(r["event_time"])
            assert working_day(moment.date())
            assert moment.hour in COUNTER_HOURS


def test_salaries_arrive_on_payroll_days(long_run) -> None:
    bank, postings = long_run
    salaries = [r for r in postings if r["txn_type"] == "TRANSFER_IN" and r["channel"] == "AUTO"]
    paydays = {day_of(r) for r in salaries}
    assert paydays == {
        date(2025, 11, 10),
        date(2025, 11, 14),
        date(2025, 11, 28),
        date(2025, 12, 10),
        date(2025, 12, 15),
    }
    assert all(8 <= china_time(r["event_time"]).hour < 10 for r in salaries)
    # every salaried customer is paid once a month on their day, onto their payroll card
    paid = Counter((r["customer_id"], day_of(r).month) for r in salaries)
    salaried = [c for c in bank.customers if c.payday is not None]
    assert 0 < len(salaried) < len(bank.customers)
    for c in salaried:
        expected_months = {
            m for m in (11, 12) if START < at(payday_in(date(2025, m, 1), c.payday), 10) < END
        }
        assert {m for (cid, m) in paid if cid == c.customer_id} == expected_months
        assert all(n == 1 for (cid, _), n in paid.items() if cid == c.customer_id)
    assert {r["account_id"] for r in salaries} <= {c.accounts[0] for c in salaried}
    # a salary day is busier than an ordinary working day
    per_day = Counter(day_of(r) for r in postings if r["channel"] != "AUTO")
    assert per_day[date(2025, 11, 10)] > per_day[date(2025, 11, 11)]


def test_month_end_is_busier_than_mid_month(long_run) -> None:
    _, postings = long_run
    debits: dict[bool, Counter[date]] = defaultdict(Counter)
    for r in postings:
        if r["txn_type"] in ("WITHDRAWAL", "TRANSFER_OUT") and working_day(day_of(r)):
            debits[month_end(day_of(r))][day_of(r)] += 1
    mean = {end: sum(days.values()) / len(days) for end, days in debits.items()}
    assert mean[True] > 1.2 * mean[False]


def test_interest_and_fees_follow_the_calendar(long_run) -> None:
    _, postings = long_run
    assert {day_of(r) for r in postings if r["txn_type"] == "INTEREST"} == {date(2025, 12, 21)}
    fee_days = {day_of(r) for r in postings if r["txn_type"] == "FEE"}
    assert fee_days == {date(2025, 11, 30)}  # December's last day is outside the run


def test_customers_bank_at_the_demo_branches(long_run) -> None:
    bank, postings = long_run
    assert {r["branch_id"] for r in postings} == set(BRANCHES)
    per_branch = Counter(c.branch_id for c in bank.customers)
    assert min(per_branch.values()) > len(bank.customers) // (2 * len(BRANCHES))


def test_a_seed_repeats_the_run_and_another_seed_does_not() -> None:
    _, first = run(seed=3, customers=50, postings=2_000)
    _, again = run(seed=3, customers=50, postings=2_000)
    _, other = run(seed=4, customers=50, postings=2_000)
    assert first == again
    assert first != other


def test_every_event_is_inside_the_span() -> None:
    bank = SyntheticBank(200, "S", START, END, seed=5)
    feed = bank.feed(5_000)
    times = [r["event_time"] for _, r in feed]
    assert times == sorted(times)
    assert times[0] > START
    assert times[-1] < END
