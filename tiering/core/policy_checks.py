"""The checks every part of the policy file goes through, each mistake kept with the key it
concerns so that all of them are reported at once (:mod:`tiering.core.policy_file`)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tiering.core.money import parse_yuan


class Collector:
    """Gathers every problem so the operator fixes the file in one go."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        #: entries that fall back to another language (not a problem: the file still loads)
        self.without_simplified: list[str] = []

    def unknown(self, where: str, table: Mapping[str, Any], known: set[str]) -> None:
        for key in sorted(set(table) - known):
            self.problems.append(f"{where}{key}: unknown key (known: {', '.join(sorted(known))})")

    def table(self, doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = doc.get(key)
        if value is None:
            self.problems.append(f"[{key}]: missing section")
            return {}
        if not isinstance(value, dict):
            self.problems.append(f"{key}: must be a [{key}] section")
            return {}
        return value

    def money(self, where: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.problems.append(f'{where}: write money as a string, e.g. "50000.00"')
            return 0
        try:
            fen = parse_yuan(value)
        except ValueError as exc:
            self.problems.append(f"{where}: {exc}")
            return 0
        if fen <= 0:
            self.problems.append(f"{where}: must be above zero, got {value}")
        return fen

    def ratio(self, where: str, value: Any) -> Decimal:
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            ratio = Decimal(str(value))
        except InvalidOperation:
            self.problems.append(f'{where}: {value!r} is not a number, e.g. "0.50"')
            return Decimal(0)
        if not (ratio.is_finite() and 0 < ratio < 1):
            self.problems.append(f"{where}: must be between 0 and 1, got {value}")
        return ratio

    def whole(self, where: str, value: Any, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.append(f"{where}: must be a whole number, got {value!r}")
            return minimum
        if value < minimum:
            self.problems.append(f"{where}: must be {minimum} or more, got {value}")
        return value
