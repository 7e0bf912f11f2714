"""The report's product interest by tier and category (POLICY §6): how many customers of each
tier show interest in each product category now, from the profiles in PostgreSQL. A profile
keeps each category's score as of the customer's last event (views, halving every
``[interest] half_life_days``); here it is decayed on to the report's time, as ``tiering
campaign`` decays it to choose a cohort, and a customer counts with at least one view's worth."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from babel.numbers import format_decimal
from markupsafe import Markup

from tiering.core.policy import Product
from tiering.core.tiers import TIER_NAMES
from tiering.i18n import Language, format_count
from tiering.tools.report.labels import tier_label

#: a customer counts as interested with at least this score: one recent view's worth
MIN_SCORE = 1.0

#: (tier, category, customers, average score) with the score decayed to $1 (half-life $2
#: seconds); a customer with a profile and no posting yet is ORDINARY, as the profile counts them
INTEREST_BY_TIER = """
SELECT coalesce(b.tier, 'ORDINARY') AS tier, i.category, count(*), avg(i.score)
FROM customer_profiles p
LEFT JOIN customer_balances b ON b.customer_id = p.customer_id
CROSS JOIN LATERAL (
    SELECT e.key AS category,
           e.value::float8 * power(0.5, greatest(extract(epoch FROM $1 - p.last_seen), 0) / $2)
               AS score
    FROM jsonb_each_text(p.interest) AS e
) i
WHERE i.score >= $3
GROUP BY 1, 2
"""


@dataclass(frozen=True)
class InterestLine:
    tier: str
    category: str
    customers: int
    average_score: float


@dataclass(frozen=True)
class ProductInterest:
    """Customers with interest per tier and category, as of ``at``."""

    at: datetime
    half_life_days: int
    lines: list[InterestLine]
    #: the policy's product names, to show each category in the reader's language
    products: Mapping[str, Product]


def product_interest(
    rows: Iterable[tuple[str, str, int, float]],
    products: Mapping[str, Product],
    at: datetime,
    half_life_days: int,
) -> ProductInterest:
    """The query's rows in tier order, then the policy's order of categories (unknown ones
    last, by name)."""
    order = {c: n for n, c in enumerate(products)}
    lines = sorted(
        (InterestLine(t, c, n, float(s)) for t, c, n, s in rows),
        key=lambda x: (TIER_NAMES.index(x.tier), order.get(x.category, len(order)), x.category),
    )
    return ProductInterest(at, half_life_days, lines, products)


def interest_rows(figures: ProductInterest, language: Language) -> list[Sequence[str]]:
    def category(code: str) -> str:
        """The policy's name in ``language``; a category online banking names that the
        policy does not know, as it is (a code, like the page's other names)."""
        product = figures.products.get(code)
        return (
            product.in_language(language)
            if product is not None
            else Markup("<code>%s</code>") % code
        )

    return [
        (
            tier_label(line.tier, language),
            category(line.category),
            format_count(line.customers, language),
            format_decimal(line.average_score, "0.0", locale=language),
        )
        for line in figures.lines
    ]
