"""The profile's rows in PostgreSQL: ``customer_profiles``, written only forward by
``version`` (§6). Free-text feedback is never among them (§9)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from tiering.core.bank_time import DAY_MS, from_epoch_ms
from tiering.core.policy import Policy
from tiering.processing import Statement
from tiering.profile.rules import interest_now, logins_within, views_within
from tiering.profile.state import ProfileState


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """A row of ``customer_profiles``."""

    customer_id: str
    logins_7d: int
    logins_30d: int
    channels: dict[str, int]
    business_types: dict[str, int]
    views_7d: dict[str, int]
    interest: dict[str, float]
    last_ratings: list[int]
    last_seen_ms: int
    version: int


UPSERT_PROFILES = """
INSERT INTO customer_profiles (customer_id, logins_7d, logins_30d, channels, business_types,
                               views_7d, interest, last_ratings, last_seen, version, updated_at)
SELECT p.customer_id, p.logins_7d, p.logins_30d, p.channels::jsonb, p.business_types::jsonb,
       p.views_7d::jsonb, p.interest::jsonb,
       ARRAY(SELECT jsonb_array_elements_text(p.last_ratings::jsonb)::smallint),
       p.last_seen, p.version, now()
FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::text[], $9::timestamptz[], $10::bigint[])
     AS p(customer_id, logins_7d, logins_30d, channels, business_types, views_7d, interest,
          last_ratings, last_seen, version)
ON CONFLICT (customer_id) DO UPDATE
SET logins_7d = EXCLUDED.logins_7d, logins_30d = EXCLUDED.logins_30d,
    channels = EXCLUDED.channels, business_types = EXCLUDED.business_types,
    views_7d = EXCLUDED.views_7d, interest = EXCLUDED.interest,
    last_ratings = EXCLUDED.last_ratings, last_seen = EXCLUDED.last_seen,
    version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
WHERE customer_profiles.version < EXCLUDED.version
"""


def profile_row(customer_id: str, state: ProfileState, policy: Policy) -> ProfileRow:
    return ProfileRow(
        customer_id=customer_id,
        logins_7d=logins_within(state, 7),
        logins_30d=logins_within(state, 30),
        channels=dict(state.channels),
        business_types=dict(state.business),
        views_7d=views_within(state, 7 * DAY_MS),
        interest=interest_now(state, policy.interest_half_life_ms),
        last_ratings=list(state.ratings),
        last_seen_ms=state.clock_ms,
        version=state.version,
    )


def profile_rows(rows: Sequence[ProfileRow]) -> list[Statement]:
    """The statement that upserts a batch's profiles, never back to an older version."""
    if not rows:
        return []

    def js(value: object) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    columns = (
        [r.customer_id for r in rows],
        [r.logins_7d for r in rows],
        [r.logins_30d for r in rows],
        [js(r.channels) for r in rows],
        [js(r.business_types) for r in rows],
        [js(r.views_7d) for r in rows],
        [js(r.interest) for r in rows],
        [js(r.last_ratings) for r in rows],
        [from_epoch_ms(r.last_seen_ms) for r in rows],
        [r.version for r in rows],
    )
    return [Statement(UPSERT_PROFILES, columns)]
