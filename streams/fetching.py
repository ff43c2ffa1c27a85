"""The worker's Faust app: a consumer that long-polls for at most FETCH_MAX_WAIT_MS,
rewinds partitions nobody has committed (streams/rewind.py) and delivers nothing while it
seeks, and a producer that writes the app's outbox (streams/outbox.py) before each commit.

Faust's aiokafka driver hard-codes `fetch_max_wait_ms=1500`. aiokafka keeps one fetch in
flight per broker, and leaves out of a new fetch any partition whose fetched records are
still waiting to be consumed after its prefetch backoff (100 ms). So when the agent is a
little behind, the next fetch holds only the idle partitions (the other event types,
outcomes, scoring-input) and the broker keeps it for the whole 1.5 s, while new events
for the busy partitions wait behind it. That was the ~1.5 s stall seen in the end-to-end
latency bench (bench/RESULTS.md, Worker). A short long-poll bounds that wait; an idle
worker then sends a few more empty fetches a second, which costs little.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any, Final

import aiokafka
import faust
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

from streams.outbox import Outbox, OutboxProducer
from streams.rewind import rewind_to_committed

# The longest an idle fetch holds the worker's one fetch slot.
FETCH_MAX_WAIT_MS: Final = 100


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer

    async def seek_to_committed(self) -> Mapping[TP, int]:
        # Faust's signature; a partition without a commit maps to None, as in aiokafka's.
        committed: Mapping[TP, int] = await self.call_thread(self._rewind)
        return committed

    async def _rewind(self) -> Mapping[Any, int | None]:
        return await rewind_to_committed(
            self._ensure_consumer(),
            self.app.conf.consumer_auto_offset_reset,
            self.consumer._is_changelog_tp,
        )


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def perform_seek(self) -> None:
        # Faust's recovery, having read the changelogs, resumes the stream partitions and
        # seeks them while the flow it turned on for the changelogs is still on, and then
        # resumes flow control, which empties every stream's queue. Records fetched during
        # the seek were emptied out with their read offsets past them: not scored until the
        # next rebalance, and lost once a later offset of the partition was committed. So
        # nothing is delivered while seeking; each caller resumes the flow afterwards (the
        # recovery) or was called with it stopped (Consumer.getmany).
        if self.flow_active:
            self.stop_flow()
            self.app.flow_control.suspend()
        await super().perform_seek()


class _Transport(driver.Transport):
    Consumer = _Consumer
    Producer = OutboxProducer


class App(faust.App):
    """faust.App with the bounded long-poll and the outbox; only for `kafka://` brokers."""

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.producer._ensure_producer, self.crash)


__all__ = ["FETCH_MAX_WAIT_MS", "App"]
