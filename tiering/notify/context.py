"""What the bank's records say of a customer, as the notifier uses it: their manager (the
directory, ``tiering import-managers``) and their risk assessments (``tiering
import-risk-profiles``). ``lookup`` reads it for a batch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tiering.core.teams import Team


@dataclass(frozen=True, slots=True)
class Assignment:
    """From the manager directory: who looks after the customer."""

    manager_id: str
    team: Team
    branch_id: str


@dataclass(frozen=True, slots=True)
class Assessment:
    """One of the customer's risk assessments: their tolerance, 1 (lowest) to 5, and the day
    it was assessed. Which one counts, if any, is decided at the event time of each
    notification's cause (:func:`tiering.notify.rules.assessment_in_force`, §9)."""

    risk_level: int
    assessed_on: date


@dataclass(frozen=True, slots=True)
class CustomerContext:
    """A customer's manager and risk assessments, where the bank's records have them."""

    assignment: Assignment | None = None
    #: every assessment of the customer, newest first
    assessments: tuple[Assessment, ...] = ()
