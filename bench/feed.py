"""The postings a benchmark feeds a worker: customers walked across the tier bounds by deposits
and withdrawals of everyday sizes, now and then a large one; every customer appears."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from tests.harness.records import T0


def postings(n: int, customers: int, seed: int = 1, start_ms: int = T0) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    balances = [0] * customers
    for i in range(n):
        c = i if i < customers else rng.randrange(customers)
        roll = rng.random()
        if i < customers or roll < 0.55:
            fen = rng.choice(
                (rng.randrange(100_00, 20_000_00), rng.randrange(1_000_00, 800_000_00))
            )
            kind = "DEPOSIT"
            balances[c] += fen
        else:
            fen = max(min(rng.randrange(100_00, 30_000_00), balances[c]), 1)
            kind = "WITHDRAWAL"
            balances[c] -= fen
        yield {
            "txn_id": f"B{seed}-{i}",
            "customer_id": f"C{c:07d}",
            "account_id": f"C{c:07d}-A1",
            "txn_type": kind,
            "amount": Decimal(fen).scaleb(-2),
            "currency": "CNY",
            "channel": "OTHER",
            "branch_id": None,
            "product_code": None,
            "event_time": start_ms + i * 10,
        }
