"""A policy re-tiering's grouped notice in the inbox, on the real PostgreSQL: the team at the
branch reads it, in their language, with the moves counted and no customer named; a manager of
another branch does not see it."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.inbox_harness import english_inbox
from tests.integration.test_inbox import listed, seed, sign_in
from tests.unit.ledger.test_policy_switch import RAISED, SWITCH
from tiering.core.tiers import Tier
from tiering.ledger.policy_switch import retiering_signals
from tiering.notify.retiering import retiering_notice

INSERT = """
INSERT INTO notifications (notification_id, customer_id, tier, team, manager_id, branch_id,
                           kind, priority, title, body, actions, source_event_id, created_at,
                           texts)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb)
"""


async def test_the_team_at_the_branch_reads_the_grouped_notice(deployment: Any) -> None:
    d = await deployment("pnotice")
    tokens = await seed(d, notes={})
    moves = {(Tier.POTENTIAL, Tier.ORDINARY, "BR1"): 40, (Tier.PREMIUM, Tier.POTENTIAL, "BR1"): 3}
    [notice] = [
        retiering_notice(s)
        for s in retiering_signals(RAISED, SWITCH, 0, moves)
        if s.tier is Tier.POTENTIAL
    ]
    n = notice
    assert n.customer_id == ""
    await d.fetch(
        INSERT,
        n.notification_id,
        n.customer_id,
        n.tier.name,
        n.team.value,
        n.manager_id,
        n.branch_id,
        n.kind.value,
        n.priority.name,
        n.title,
        n.body,
        list(n.actions),
        n.source_event_id,
        n.created_at,
        json.dumps(n.texts_json(), ensure_ascii=False),
    )
    async with english_inbox(d) as client:
        assert (await sign_in(client, tokens["MA"])).status == 303  # Alice, customer managers, BR1
        assert await listed(client) == [n.notification_id]
        page = await client.get(f"/notifications/{n.notification_id}")
        assert page.status == 200
        html = await page.text()
        assert "Policy 2027.01-1 re-tiered customers of Potential customer" in html
        assert "40 customers moved out of Potential customer" in html
        assert "Why this tier" not in html  # no one customer's explanation
        zh = await client.get(
            f"/notifications/{n.notification_id}", headers={"Accept-Language": "zh-CN"}
        )
        assert "3 位客户转入潜力客户" in await zh.text()
    async with english_inbox(d) as client:
        assert (await sign_in(client, tokens["MC"])).status == 303  # Carol, BR2
        assert await listed(client) == []
        assert (await client.get(f"/notifications/{n.notification_id}")).status == 404
