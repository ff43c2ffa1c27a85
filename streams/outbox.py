"""The worker's writes to Kafka, gathered into record batches per partition.

Every output, forwarded command and profile-table value used to be one `producer.send()`:
per message aiokafka ran its partitioner and accumulator and made a future, and Faust's
changelog path added its own buffer, future-message objects and sensors, about a quarter
of an event's cost (bench/RESULTS.md, Worker). Here a message is appended to an open
aiokafka record batch for its partition (compiled code), and the batches go to the
producer together: LINGER_S after the first message, and always before Faust commits
offsets, because the app's producer flush flushes the outbox first (streams/fetching.py).
So a message is never behind a committed offset, as with `send()`.

Order is kept per partition: batches of one partition are submitted in the order they
were filled, one after another. A delivery failure stops the worker, like a failed send.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from aiokafka import AIOKafkaProducer
from aiokafka.structs import TopicPartition
from faust.transport.drivers import aiokafka as driver

from leadscore.partitioning import key_hash

log = logging.getLogger("leadscore.worker")

# The worker's latency budget is 1 s; this is the producer linger it replaces.
LINGER_S: Final = 0.05
# Past this many buffered bytes an agent waits for a flush (bounds the outbox's memory).
MAX_BUFFERED: Final = 8 * 1024 * 1024

# Called with (partition, offset of the batch's last message) once a batch is stored.
Stored = Callable[[int, int], None]


@dataclass
class _Batch:
    tp: TopicPartition
    builder: Any  # aiokafka's BatchBuilder


class Outbox:
    def __init__(
        self,
        producer: Callable[[], AIOKafkaProducer],
        crash: Callable[[BaseException], Awaitable[None]],
        linger: float = LINGER_S,
    ) -> None:
        self._producer, self._crash, self._linger = producer, crash, linger
        self._open: dict[TopicPartition, _Batch] = {}
        self._full: list[_Batch] = []
        self._buffered = 0
        self._lock = asyncio.Lock()
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[None]] = set()
        self._stored: dict[str, Stored] = {}
        self._partitions: dict[str, int] = {}
        self._before_commit: list[Callable[[], None]] = []

    def on_commit(self, write: Callable[[], None]) -> None:
        """Call `write` (which adds messages) before each flush ahead of an offset commit."""
        self._before_commit.append(write)

    async def flush_for_commit(self) -> None:
        for write in self._before_commit:
            write()
        await self.flush()

    def on_stored(self, topic: str, stored: Stored) -> None:
        """Call `stored` for every batch of `topic` the broker has acknowledged."""
        self._stored[topic] = stored

    async def put(self, topic: str, key: bytes, value: bytes, partition: int | None = None) -> None:
        """Queue one message; without a partition, Kafka's default partitioner places it."""
        if partition is None:
            # Known counts without a coroutine: this runs for every score the worker writes.
            count = self._partitions.get(topic) or await self._partition_count(topic)
            partition = key_hash(key) % count
        self.add(TopicPartition(topic, partition), key, value)
        if self._buffered > MAX_BUFFERED:
            await self.flush()

    def add(self, tp: TopicPartition, key: bytes, value: bytes) -> None:
        batch = self._open.get(tp)
        if batch is None:
            batch = self._open[tp] = _Batch(tp, self._producer().create_batch())
        if batch.builder.append(timestamp=None, key=key, value=value) is None:
            self._full.append(batch)
            batch = self._open[tp] = _Batch(tp, self._producer().create_batch())
            # aiokafka takes any first message, whatever its size (the broker may refuse it).
            if batch.builder.append(timestamp=None, key=key, value=value) is None:
                raise RuntimeError(f"an empty batch refused a {len(value)} B message for {tp}")
            self._flush_soon(0.0)
        self._buffered += len(key) + len(value)
        if self._timer is None:
            self._flush_soon(self._linger)

    async def flush(self) -> None:
        """Hand every queued message to the producer (its own flush then waits for them)."""
        async with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            batches, self._full, self._open = [*self._full, *self._open.values()], [], {}
            self._buffered = 0
            chains: dict[TopicPartition, list[_Batch]] = {}
            for batch in batches:
                chains.setdefault(batch.tp, []).append(batch)
            await asyncio.gather(*(self._submit(chain) for chain in chains.values()))

    async def _submit(self, chain: list[_Batch]) -> None:
        producer = self._producer()
        for batch in chain:
            batch.builder.close()
            # Waits while the partition's previous batch is still in flight.
            future = await producer.send_batch(
                batch.builder, batch.tp.topic, partition=batch.tp.partition
            )
            future.add_done_callback(lambda done, batch=batch: self._delivered(batch, done))

    def _delivered(self, batch: _Batch, done: asyncio.Future[Any]) -> None:
        if done.cancelled():
            return
        error = done.exception()
        if error is not None:
            # The producer retries until its delivery timeout; past that the worker stops,
            # so the offsets of the events behind these messages are never committed.
            count = batch.builder.record_count()
            log.error("%d messages to %s could not be delivered: %r", count, batch.tp, error)
            asyncio.ensure_future(self._crash(error))
            return
        stored = self._stored.get(batch.tp.topic)
        if stored is not None:
            stored(batch.tp.partition, done.result().offset + batch.builder.record_count() - 1)

    def _flush_soon(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, self._start_flush)

    def _start_flush(self) -> None:
        self._timer = None
        task = asyncio.ensure_future(self._flush_or_crash())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _flush_or_crash(self) -> None:
        try:
            await self.flush()
        except Exception as exc:  # a broken producer: stop rather than lose messages
            log.error("the outbox could not be flushed: %r", exc)
            await self._crash(exc)

    async def _partition_count(self, topic: str) -> int:
        count = self._partitions.get(topic)
        if count is None:
            client = self._producer().client
            await client._wait_on_metadata(topic)
            count = self._partitions[topic] = len(client.cluster.partitions_for_topic(topic))
        return count


class OutboxProducer(driver.Producer):
    """Faust's producer, whose flush (before every offset commit) and stop flush the
    app's outbox first."""

    async def flush(self) -> None:
        await _outbox_of(self.app).flush_for_commit()
        await super().flush()

    async def on_stop(self) -> None:
        if self._producer is not None:
            await _outbox_of(self.app).flush_for_commit()
        await super().on_stop()


def _outbox_of(app: Any) -> Outbox:
    outbox: Outbox = app.outbox
    return outbox


__all__ = ["LINGER_S", "Outbox", "OutboxProducer"]
