"""Issue 17.6, auditable suitability (§9), on the real Kafka and PostgreSQL: risk assessments
imported with their dates keep their history (the same file twice changes nothing; no
assessment is overwritten); the worker keeps each recommendation within the customer's newest
assessment while it is valid at the event time, treats an expired one as unknown, and every
notification, on the topic and in the notifications table, says which level and date it used."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.harness.records import CODEC, T0, posting
from tests.harness.waiting import wait_for
from tiering.directory.risk_profiles import import_risk_profiles
from tiering.wire.codec import MANAGER_NOTIFICATION

# T0 is 2025-11-25 on the bank's calendar (China time)
HISTORY = (
    "customer_id,risk_level,assessed_on\n"
    "C00011111,3,2024-06-01\n"  # an older assessment: history, no longer current
    "C00011111,5,2025-10-01\n"  # the newest: it bounds C1's recommendations
    "C00022222,5,2024-11-24\n"  # twelve months and a day before T0: expired, unknown
    "C00033333,5,2024-11-25\n"  # exactly twelve months before T0: still valid
)
SCARCE = "Offer scarce investments (private equity, offshore funds)"  # risk 5 products


async def test_assessments_keep_their_history_and_bound_each_notification(
    deployment, tmp_path: Path
) -> None:
    d = await deployment("suitable")
    file = tmp_path / "risk.csv"
    file.write_text(HISTORY, encoding="utf-8")
    assert await import_risk_profiles(d.settings, file) == (4, [])
    assert await import_risk_profiles(d.settings, file) == (4, [])  # again: changes nothing
    stored = (
        "SELECT customer_id, risk_level, assessed_on, imported_at FROM customer_risk_assessments"
    )
    before = sorted(tuple(r) for r in await d.fetch(stored))
    assert [r[:3] for r in before] == [
        ("C00011111", 3, date(2024, 6, 1)),
        ("C00011111", 5, date(2025, 10, 1)),
        ("C00022222", 5, date(2024, 11, 24)),
        ("C00033333", 5, date(2024, 11, 25)),
    ]
    # An assessment is never overwritten: another level for the same day is refused, by line.
    contradiction = tmp_path / "contradiction.csv"
    contradiction.write_text(
        "customer_id,risk_level,assessed_on\nC00011111,1,2025-10-01\n", encoding="utf-8"
    )
    loaded, rejected = await import_risk_profiles(d.settings, contradiction)
    assert loaded == 0
    assert [(r.line, r.reason) for r in rejected] == [
        (
            2,
            "another risk_level for the customer's assessment of 2025-10-01: the database "
            "has 5 (an assessment is never overwritten)",
        )
    ]
    assert sorted(tuple(r) for r in await d.fetch(stored)) == before
    current = await d.fetch(
        "SELECT risk_level, assessed_on FROM customer_risk_profiles WHERE customer_id = $1",
        "C00011111",
    )
    assert [tuple(r) for r in current] == [(5, date(2025, 10, 1))]

    d.start_worker(tmp_path)
    await d.wait_healthy()
    # Each is placed straight in HIGH_END by a real posting: private banking's upgrade, whose
    # scarce investments (risk 5) are named only within a known tolerance of 5.
    customers = ("C00011111", "C00022222", "C00033333", "C00044444")  # C4: never assessed
    await d.produce(
        [posting(f"T{i}", c, "3000000.00", event_time_ms=T0) for i, c in enumerate(customers)]
    )

    def upgrades(records: list) -> dict[str, dict]:
        notes = [CODEC.decode(r.value, expect=MANAGER_NOTIFICATION)[1] for r in records]
        return {n["customer_id"]: n for n in notes if n["kind"] == "TIER_UPGRADE"}

    await d.read_until("manager-notifications", until=lambda rs: len(upgrades(rs)) == 4)
    await d.wait_settled()
    notes = upgrades(await d.read_to_end("manager-notifications"))
    trail = ("risk_level", "risk_assessed_on", "risk_expired_on")
    used = {c: tuple(n[f] for f in trail) for c, n in notes.items()}
    assert used == {
        "C00011111": (5, date(2025, 10, 1), None),
        "C00022222": (None, None, date(2024, 11, 24)),  # expired: unknown, and said so
        "C00033333": (5, date(2024, 11, 25), None),
        "C00044444": (None, None, None),  # never assessed
    }
    named = {c: any(a.startswith(SCARCE) for a in n["actions"]) for c, n in notes.items()}
    assert named == {"C00011111": True, "C00022222": False, "C00033333": True, "C00044444": False}

    # The notifications table keeps the same audit trail, once per notification.
    async def rows() -> list | None:
        found = await d.fetch(
            "SELECT customer_id, risk_level, risk_assessed_on, risk_expired_on FROM notifications "
            "WHERE kind = 'TIER_UPGRADE'"
        )
        return found if len(found) == 4 else None

    found = await wait_for(rows, 30, "the four upgrades in the notifications table")
    assert {r["customer_id"]: tuple(r[f] for f in trail) for r in found} == used
