"""Deterministic ids are name-based UUIDs (version 5) of their parts: the ids already written to
Kafka and PostgreSQL stay the same whatever computes them."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from tiering.core.ids import deterministic_id

NAMESPACE = uuid.UUID("6f1c3b5e-4a6d-5d0b-9b43-2d1f6c0a7e11")


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_an_id_is_the_uuid5_of_its_parts_joined(parts: list[str]) -> None:
    assert deterministic_id(*parts) == str(uuid.uuid5(NAMESPACE, "|".join(parts)))


def test_a_known_id_does_not_change() -> None:
    # a TierChange id as the service has always written it
    assert (
        deterministic_id("tier-change", "C0000001", "B1-0", "NONE", "ORDINARY")
        == "1864221b-4dda-5896-b0a6-e91d04a07f52"
    )
