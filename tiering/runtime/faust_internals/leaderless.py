"""An idempotent producer's batch waits for its partition's leader as long as it takes.

aiokafka 0.14 never gives up on a batch an idempotent producer has sent and must send again
("we never expire batches, but retry until we succeed", ``SendProduceReqHandler._can_retry``),
but its accumulator fails a batch whose partition has no known leader once it is older than
the request timeout (40 s), and by then it has given the batch its sequence numbers. A broker
stopped with a controlled shutdown leaves its partitions leaderless in the metadata the clients
last read, so after 40 s of the outage the worker's batch in hand failed with
``LeaderNotAvailableError`` and stopped the worker; and the producer, its sequence broken,
could not have sent the next one anyway. :func:`hold_batches_without_leader` gives every
idempotent producer's accumulator no such deadline: the batch waits, like one in flight.
"""

from __future__ import annotations

import math
from functools import wraps
from typing import Any

from aiokafka.producer.message_accumulator import MessageAccumulator

_MARK = "_tiering_holds_batches"


def hold_batches_without_leader(
    accumulator_class: type[MessageAccumulator] = MessageAccumulator,
) -> None:
    """Wrap ``accumulator_class.__init__`` (once): aiokafka's own class, for every producer
    of the process; a subclass of it in tests."""
    if accumulator_class.__dict__.get(_MARK, False):
        return
    setattr(accumulator_class, _MARK, True)
    init = accumulator_class.__init__

    @wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if self._txn_manager is not None:  # idempotent (or transactional): sequenced batches
            self._batch_ttl = math.inf

    accumulator_class.__init__ = __init__
