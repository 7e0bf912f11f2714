"""[basis] of the policy file: each mistake named, the example policy of deploy/ valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from tiering.core.policy import PolicyError
from tiering.core.policy_basis import Basis
from tiering.core.policy_file import default_policy_text, load_policy, parse_policy_text

EXAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "policies" / "adb-month.toml"


def with_basis(section: str) -> str:
    return default_policy_text() + "\n" + section


def test_the_packaged_policy_tiers_on_the_balance() -> None:
    assert load_policy().basis == Basis()
    assert not load_policy().basis.averaged


def test_the_example_policy_tiers_on_the_months_average_and_alerts_on_the_balance() -> None:
    basis = load_policy(EXAMPLE).basis
    assert (basis.upgrade, basis.downgrade, basis.alert, basis.window) == (
        "adb",
        "adb",
        "balance",
        "calendar_month",
    )


def test_a_rolling_window_names_its_days() -> None:
    text = with_basis('[basis]\ndowngrade = "adb"\n[basis.adb]\nwindow = "days"\ndays = 30\n')
    basis = parse_policy_text(text).basis
    assert (basis.upgrade, basis.downgrade, basis.window, basis.days) == (
        "balance",
        "adb",
        "days",
        30,
    )


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ('[basis]\nupgrade = "mean"\n', "basis.upgrade: 'mean' is neither"),
        ('[basis]\nupgrade = "adb"\n', "[basis.adb]: missing"),
        ('[basis]\nupgrade = "adb"\n[basis.adb]\nwindow = "days"\n', "basis.adb.days: missing"),
        (
            '[basis]\nupgrade = "adb"\n[basis.adb]\nwindow = "calendar_month"\ndays = 30\n',
            'basis.adb.days: only with window = "days"',
        ),
        ('[basis]\nupgrade = "adb"\n[basis.adb]\nwindow = "week"\n', "basis.adb.window: 'week'"),
        ('[basis]\nsideways = "adb"\n', "basis.sideways: unknown key"),
    ],
)
def test_each_mistake_is_named(section: str, problem: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy_text(with_basis(section))
    assert problem in str(raised.value)
