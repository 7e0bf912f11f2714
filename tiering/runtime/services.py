"""The worker's services besides its agents, started and stopped with the Faust app: the
outputs (PostgreSQL and the producer, which the agents wait for), the consumer-lag gauge, and
notification delivery when it runs in the same process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

import faust

from tiering.delivery.service import DeliveryService
from tiering.outages import dependency
from tiering.runtime.lag import Holding, LagMonitor
from tiering.runtime.producer import BatchProducer
from tiering.sinks.postgres.sink import PostgresSink
from tiering.wire.kafka_outages import UNREACHABLE

log = logging.getLogger(__name__)

#: seconds between consumer-lag measurements
LAG_INTERVAL = 10.0


class Outputs(faust.Service):
    """PostgreSQL and the output producer; ``ready`` is set once both are up."""

    def __init__(
        self, sink: PostgresSink, producer: BatchProducer, ready: asyncio.Event, **kwargs: Any
    ) -> None:
        self._sink, self._producer, self._ready = sink, producer, ready
        super().__init__(**kwargs)

    async def on_start(self) -> None:
        await self._sink.start()
        log.info("outputs: PostgreSQL pool open")
        await self._producer.start()
        log.info("outputs: producer started; ready")
        self._ready.set()

    async def on_stop(self) -> None:
        self._ready.clear()
        await self._producer.stop()
        await self._sink.stop()


class ConsumerLag(faust.Service):
    """Measures ``tiering_consumer_lag_messages`` every ``LAG_INTERVAL`` seconds, once the
    worker holds its partitions."""

    def __init__(
        self,
        monitor: LagMonitor,
        holdings: Callable[[], Iterable[Holding]],
        ready: Callable[[], bool],
        **kwargs: Any,
    ) -> None:
        self._monitor, self._holdings, self._is_ready = monitor, holdings, ready
        super().__init__(**kwargs)

    async def on_start(self) -> None:
        await self._monitor.start()

    async def on_stop(self) -> None:
        await self._monitor.stop()

    @faust.Service.timer(LAG_INTERVAL)
    async def _measure(self) -> None:
        # while Kafka is away a measurement would only wait out the request timeout (the
        # gauge keeps what it last measured; the outage shows on tiering_dependency_up)
        if not self._is_ready() or not dependency("kafka").up:
            return
        try:
            await self._monitor.measure(self._holdings())
        except UNREACHABLE:
            pass  # Kafka went away meanwhile: its outage lines tell it
        except Exception as exc:  # a metric must never stop the worker
            log.warning("consumer lag not measured: %s", type(exc).__name__)


class Delivery(faust.Service):
    """Notification delivery in the worker's process: its own consumer group, so tiering never
    waits for it."""

    def __init__(self, delivery: DeliveryService, **kwargs: Any) -> None:
        self._delivery = delivery
        super().__init__(**kwargs)

    async def on_start(self) -> None:
        await self._delivery.start()

    async def on_stop(self) -> None:
        await self._delivery.stop()
