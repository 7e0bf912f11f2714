"""What the bank's records say of a customer, as the notifier uses it: their manager (the
directory, ``tiering import-managers``) and their risk tolerance (``tiering
import-risk-profiles``). ``lookup`` reads it for a batch."""

from __future__ import annotations

from dataclasses import dataclass

from tiering.core.teams import Team


@dataclass(frozen=True, slots=True)
class Assignment:
    """From the manager directory: who looks after the customer."""

    manager_id: str
    team: Team
    branch_id: str


@dataclass(frozen=True, slots=True)
class CustomerContext:
    """A customer's manager and risk tolerance, where the bank's records have them."""

    assignment: Assignment | None = None
    risk_level: int | None = None  #: 1 (lowest) to 5
