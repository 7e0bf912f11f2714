"""Resume the stream partitions only after Faust has emptied its buffers at the end of a rebalance.

At the end of every rebalance (faust-streaming 0.15, ``Recovery.on_recovery_completed`` and
``Recovery._resume_streams``) Faust

1. resumes fetching the stream partitions (``consumer.resume_partitions``),
2. seeks them to their committed offsets and resets its read offsets (``perform_seek``, which
   waits on the broker), then
3. resumes flow control, which empties every stream buffer (``flow_control.resume()``).

While step 2 waits, the fetcher is already handing messages of the resumed partitions to the
streams and raising Faust's read offset past them; step 3 then throws those messages away, and
when they are fetched again Faust drops them as already read. They are never processed nor
acknowledged: the partition's committed offset stops there for good, or Faust's gap handling
commits past them, and their postings never reach the balances (seen here in 3 of 83 restarts of
a worker killed mid-stream; none in 61 with this fix).

The fix keeps the stream partitions paused through steps 2 and 3 and resumes them right after
the buffers are emptied, in the same synchronous call, so every message Faust hands over comes
from the committed offset with a read offset that agrees. Outside a rebalance nothing changes.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def resume_after_buffers_emptied(app: Any) -> None:
    """Wrap ``app.consumer.resume_partitions`` and ``app.flow_control.resume`` (once)."""
    consumer, flow_control = app.consumer, app.flow_control
    if getattr(consumer, "_tiering_resume_deferred", None) is not None:
        return
    resume_partitions = consumer.resume_partitions
    resume_flow = flow_control.resume
    deferred: set[Any] = set()
    consumer._tiering_resume_deferred = deferred

    def deferring_resume_partitions(tps: Any) -> None:
        if not app.rebalancing:
            resume_partitions(tps)
            return
        deferred.clear()
        deferred.update(tps)
        log.debug("resuming %d partitions once the stream buffers are emptied", len(deferred))

    def resume_then_partitions() -> None:
        resume_flow()  # empties the stream buffers
        if deferred:
            held = set(consumer.assignment())
            resume_partitions({tp for tp in deferred if tp in held})
            deferred.clear()

    consumer.resume_partitions = deferring_resume_partitions
    flow_control.resume = resume_then_partitions
