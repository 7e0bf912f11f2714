"""What a campaign reads and writes in PostgreSQL: its candidates (customers of its tiers with
a score in its category, their manager's branch, else their own, and their risk assessments,
read as the notifier reads them) and the record of each run (``campaign_runs``, the §9 audit
trail)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from tiering.core.bank_time import epoch_ms
from tiering.core.policy import Campaign
from tiering.core.tiers import Tier
from tiering.notify.lookup import CONTEXT_OF_CUSTOMERS, contexts
from tiering.tools.campaign.cohort import Candidate, Cohort

#: customers now in the tiers $1 with a score of at least $3 in the category $2 as of their last
#: event (a score only decays after it: below the minimum then is below it now); a customer with
#: a profile and no posting yet is ORDINARY, as the profile counts them
CANDIDATES = """
SELECT p.customer_id, coalesce(b.tier, 'ORDINARY') AS tier,
       (p.interest ->> $2)::float8 AS score, p.last_seen, b.branch_id
FROM customer_profiles p
LEFT JOIN customer_balances b ON b.customer_id = p.customer_id
WHERE coalesce(b.tier, 'ORDINARY') = ANY($1::text[])
  AND p.interest ? $2 AND (p.interest ->> $2)::float8 >= $3
ORDER BY p.customer_id
"""
#: customers whose manager and assessments are read at once
CONTEXT_CHUNK = 10_000

RECORD_RUN = """
INSERT INTO campaign_runs (campaign, run_id, started_at, finished_at, dry_run, policy_version,
                           tiers, interest, min_interest, products, cohort, excluded)
VALUES ($1, $2, $3, now(), $4, $5, $6, $7, $8, $9, $10, $11::jsonb)
"""


async def read_candidates(conn: asyncpg.Connection, campaign: Campaign) -> list[Candidate]:
    """The customers of ``campaign``'s tiers who have shown enough interest in its category
    (before it decays to now: :func:`~tiering.tools.campaign.cohort.select_cohort` decides)."""
    rows = await conn.fetch(
        CANDIDATES,
        [t.name for t in campaign.tiers],
        campaign.interest,
        float(campaign.min_interest),
    )
    found = {}
    for start in range(0, len(rows), CONTEXT_CHUNK):
        ids = [r["customer_id"] for r in rows[start : start + CONTEXT_CHUNK]]
        found.update(contexts(await conn.fetch(CONTEXT_OF_CUSTOMERS, ids)))
    candidates = []
    for r in rows:
        context = found.get(r["customer_id"])
        assignment = context.assignment if context else None
        candidates.append(
            Candidate(
                customer_id=r["customer_id"],
                tier=Tier[r["tier"]],
                score=r["score"],
                last_seen_ms=epoch_ms(r["last_seen"]),
                branch_id=assignment.branch_id if assignment else r["branch_id"],
                assessments=context.assessments if context else (),
            )
        )
    return candidates


async def record_run(
    conn: asyncpg.Connection,
    campaign: Campaign,
    run: str,
    started_at: datetime,
    dry_run: bool,
    policy_version: str,
    cohort: Cohort,
) -> None:
    """§9: what the run chose and left out, by count (no customer named)."""
    excluded = json.dumps({reason.value: n for reason, n in sorted(cohort.excluded.items())})
    tiers: Sequence[str] = [t.name for t in campaign.tiers]
    await conn.execute(
        RECORD_RUN,
        campaign.name,
        run,
        started_at,
        dry_run,
        policy_version,
        tiers,
        campaign.interest,
        campaign.min_interest,
        list(campaign.products),
        len(cohort.members),
        excluded,
    )
