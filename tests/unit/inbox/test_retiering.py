"""A POLICY_CHANGE notice's page, without a database: which notifications have one, how the
moves are counted per branch, the customers' pages, and what the page says in each language."""

from __future__ import annotations

import re

import pytest

from tiering.core.tiers import Tier
from tiering.i18n import Language
from tiering.inbox.language import environment
from tiering.inbox.queries import VISIBLE
from tiering.inbox.retiering import (
    CUSTOMERS,
    MOVES,
    Replaced,
    Retiering,
    branch_moves,
    page_of,
    policy_version,
)

ROWS = [
    {"branch_id": "B2", "previous_tier": "POTENTIAL", "new_tier": "ORDINARY", "customers": 7},
    {"branch_id": "B1", "previous_tier": "POTENTIAL", "new_tier": "ORDINARY", "customers": 40},
    {"branch_id": "B1", "previous_tier": "PREMIUM", "new_tier": "POTENTIAL", "customers": 3},
    {"branch_id": None, "previous_tier": "ORDINARY", "new_tier": "POTENTIAL", "customers": 1},
]


def test_only_a_policy_changes_notice_has_a_version() -> None:
    notice = {"kind": "POLICY_CHANGE", "source_event_id": "policy:2027.01-1"}
    assert policy_version(notice) == "2027.01-1"
    assert policy_version({**notice, "kind": "TIER_UPGRADE"}) is None
    # a source that is no policy change (a notice written before it named one) has no page
    assert policy_version({**notice, "source_event_id": "9f2c0a"}) is None
    assert policy_version({**notice, "source_event_id": "policy:"}) is None


def test_moves_are_counted_in_and_out_per_branch_head_office_first() -> None:
    branches = branch_moves(ROWS, Tier.POTENTIAL)
    assert [b.branch_id for b in branches] == [None, "B1", "B2"]
    head_office, b1, b2 = branches
    assert (head_office.joined, head_office.left) == (1, 0)
    assert (b1.joined, b1.left) == (3, 40)
    assert (b2.joined, b2.left) == (0, 7)
    # from the lowest tier up
    assert [(m.previous, m.new) for m in b1.moves] == [
        (Tier.POTENTIAL, Tier.ORDINARY),
        (Tier.PREMIUM, Tier.POTENTIAL),
    ]
    r = Retiering("2027.01-1", Tier.POTENTIAL, branches, (), 1)
    assert (r.joined, r.left, r.total) == (4, 47, 51)
    assert r.pages == 2


@pytest.mark.parametrize(
    ("query", "page"),
    [("", 1), ("2", 2), ("0", 1), ("-1", 1), ("x", 1), ("²", 1), ("99999999", 1)],
)
def test_the_page_asked_for(query: str, page: int) -> None:
    assert page_of({"customers": query}) == page


def test_the_reader_sees_only_customers_where_a_team_notice_would_be_theirs() -> None:
    for sql in (MOVES, CUSTOMERS):
        assert "m.team = $4" in sql
        assert "(c.previous_tier = $5 OR c.new_tier = $5)" in sql
        # the branch rule of VISIBLE, applied to the customer's branch
        assert (
            "(b.branch_id = m.branch_id\n       OR (m.branch_id = $2 AND (b.branch_id IS NULL"
            " OR m.team = 'PRIVATE_BANKING')))"
        ) in sql
        # the partial index of migration 014 applies
        assert "c.trigger_event_id LIKE 'policy:%'" in sql
    # a customer links only to a notification the reader passes VISIBLE for
    assert VISIBLE in CUSTOMERS


def page(language: Language, r: Retiering) -> str:
    html = environment(language).get_template("retiering.html").render(r=r)
    return re.sub(r"\s+", " ", html)


def retiering(page_number: int = 1) -> Retiering:
    customers = (
        Replaced("C-0001-7788", Tier.PREMIUM, Tier.POTENTIAL, "B1", "n-42"),
        Replaced("C-0002-9911", Tier.POTENTIAL, Tier.ORDINARY, "B1", None),
    )
    return Retiering(
        "2027.01-1", Tier.POTENTIAL, branch_moves(ROWS, Tier.POTENTIAL), customers, page_number
    )


def test_the_page_counts_the_moves_and_masks_the_customers() -> None:
    html = page("en", retiering())
    assert "Re-tiering under policy 2027.01-1" in html
    assert "No branch (head office)" in html
    assert (
        '<tr class="total"><th scope="row" colspan="3">Total</th>'
        '<td class="num">4</td><td class="num">47</td></tr>'
    ) in html
    assert (
        '<th scope="row" colspan="3">Branch B1</th> <td class="num">3</td> <td class="num">40</td>'
        in html
    )
    assert "Customers 1–2 of 51, by branch." in html
    # masked, and linked where the reader has a notification of the customer
    assert '<a href="/notifications/n-42">••••7788</a>' in html
    assert "••••9911" in html
    assert "C-0001" not in html
    assert "C-0002" not in html
    assert 'href="?customers=2" rel="next"' in html
    assert 'rel="prev"' not in html
    assert 'rel="prev"' in page("en", retiering(2))


def test_the_page_in_chinese() -> None:
    simplified = page("zh_Hans_CN", retiering())
    assert "政策 2027.01-1 下的层级调整" in simplified
    assert "无网点（总行）" in simplified
    assert "转入" in simplified
    assert "转出" in simplified
    assert "潜力客户" in simplified
    traditional = page("zh_Hant", retiering())
    assert "政策 2027.01-1 下的層級調整" in traditional
    assert "潛力客戶" in traditional


def test_nobody_at_the_readers_branches() -> None:
    html = page("en", Retiering("2027.01-1", Tier.POTENTIAL, (), (), 1))
    assert "None of the customers this change moved is at a branch you look after." in html
    assert "<table" not in html
