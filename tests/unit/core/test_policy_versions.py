"""Effective-dated policy versions: the moment a policy file names, and the version in force at
each event time."""

from __future__ import annotations

import pytest

from tiering.core.bank_time import HOUR_MS
from tiering.core.policy import PolicyError
from tiering.core.policy_file import default_policy_text, load_policy, parse_policy_text
from tiering.core.policy_versions import (
    PolicyConflict,
    PolicyVersions,
    PublishedVersion,
    published,
)

BASE = load_policy()
#: 2027-01-01 00:00 in China is 2026-12-31 16:00 UTC
NEW_YEAR_MS = 1_798_732_800_000


def version_text(version: str, effective_from: str, potential: str = "100000.00") -> str:
    text = default_policy_text()
    text = text.replace('POTENTIAL = "50000.00"', f'POTENTIAL = "{potential}"', 1)
    text = text.replace(f'policy_version = "{BASE.version}"', f'policy_version = "{version}"', 1)
    return f"effective_from = {effective_from}\n{text}"


def test_the_packaged_policy_names_no_moment() -> None:
    assert BASE.effective_from_ms is None


@pytest.mark.parametrize(
    "written",
    [
        "2027-01-01T00:00:00",  # a TOML local date-time: China time
        "2027-01-01",  # a date alone: its midnight in China
        '"2027-01-01T00:00:00"',  # as a string
        "2027-01-01T00:00:00+08:00",
        "2026-12-31T16:00:00Z",
    ],
)
def test_effective_from_is_a_moment_in_china_time(written: str) -> None:
    policy = parse_policy_text(version_text("2027.01-1", written))
    assert policy.effective_from_ms == NEW_YEAR_MS


def test_an_effective_from_that_is_no_moment_is_named() -> None:
    with pytest.raises(PolicyError, match="effective_from: 'next year' is not a moment"):
        parse_policy_text(version_text("2027.01-1", '"next year"'))


def test_a_version_to_publish_must_name_its_moment() -> None:
    with pytest.raises(PolicyError, match="needs effective_from"):
        published(default_policy_text())


def test_each_event_time_gets_the_version_in_force_then() -> None:
    v1 = published(version_text("2027.01-1", "2027-01-01T00:00:00"))
    v2 = published(version_text("2027.02-1", "2027-02-01T00:00:00", potential="80000.00"))
    versions = PolicyVersions(BASE, [v2, v1])  # in any order
    assert versions.in_force(NEW_YEAR_MS - 1) is BASE
    assert versions.in_force(NEW_YEAR_MS).version == "2027.01-1"
    assert versions.in_force(v2.effective_from_ms - 1).version == "2027.01-1"
    assert versions.in_force(v2.effective_from_ms).lower_bounds_fen[0] == 8_000_000
    assert versions.latest().version == "2027.02-1"


def test_a_version_is_switched_to_once_its_moment_has_come() -> None:
    v1 = published(version_text("2027.01-1", "2027-01-01T00:00:00"))
    versions = PolicyVersions(BASE, [v1])
    assert versions.due(NEW_YEAR_MS - 1) == []
    assert [p.version for p in versions.due(NEW_YEAR_MS)] == ["2027.01-1"]
    versions.switched_ms = NEW_YEAR_MS
    assert versions.due(NEW_YEAR_MS + HOUR_MS) == []


def test_a_re_sent_version_is_known_and_a_contradicting_one_refused() -> None:
    v1 = published(version_text("2027.01-1", "2027-01-01T00:00:00"))
    versions = PolicyVersions(BASE, [v1])
    assert versions.add(v1) is False
    other_text = published(version_text("2027.01-1", "2027-01-01T00:00:00", "90000.00"))
    with pytest.raises(PolicyConflict, match="published already with another text"):
        versions.add(other_text)
    same_moment = published(version_text("2027.01-2", "2027-01-01T00:00:00"))
    with pytest.raises(PolicyConflict, match="same moment"):
        versions.add(same_moment)
    versions.switched_ms = NEW_YEAR_MS
    before = published(version_text("2026.12-9", "2026-12-31T00:00:00"))
    with pytest.raises(PolicyConflict, match="after the newest"):
        versions.add(before)
    assert [v.version for v in versions.versions] == ["2027.01-1"]


def test_versions_and_their_switch_survive_the_table() -> None:
    v1 = published(version_text("2027.01-1", "2027-01-01T00:00:00"))
    versions = PolicyVersions(BASE, [v1])
    versions.switched_ms = NEW_YEAR_MS
    again = PolicyVersions.decode(versions.encode(), BASE)
    assert (again.versions, again.switched_ms) == ((v1,), NEW_YEAR_MS)
    assert PolicyVersions.decode(None, BASE).versions == ()


def test_published_keeps_the_text_as_given() -> None:
    text = version_text("2027.01-1", "2027-01-01T00:00:00")
    assert published(text) == PublishedVersion("2027.01-1", NEW_YEAR_MS, text)
