"""An event the rules cannot apply, and why."""

from __future__ import annotations


class BadInput(ValueError):
    """``reason`` is the dead-letter reason (``dlq.reason``, ``tiering_dead_letters_total``);
    ``detail`` says what was wrong, never with customer data in it."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
