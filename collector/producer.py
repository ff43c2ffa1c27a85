"""Delivery to Kafka: an answer of 202 means the broker acknowledged every event.

The producer is behind a small interface so the HTTP layer can be tested with a
real broker and so a later transport (a different client) swaps in one place.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.future import Future
from kafka.structs import TopicPartition

from leadscore.partitioning import key_hash

log = logging.getLogger(__name__)

# The HTTP answer must come within 3 s when the broker is down (503, never 202).
ACK_TIMEOUT_S = 3.0
# Keys and values handed to kafka-python and not yet acknowledged or failed by it. Its
# record accumulator has no bound of its own (kafka-python 3 has no buffer_memory): with
# the broker away, records stay there until their delivery timeout, so without this a
# flood of requests would grow memory. Past it, requests get a 503 at once.
MAX_BUFFERED_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    key: str
    value: bytes


class DeliveryError(Exception):
    """Kafka did not acknowledge every record in time; the client should retry."""


class Delivery(Protocol):
    def deliver(self, records: Sequence[Record]) -> None: ...
    def ready(self) -> bool: ...
    def close(self) -> None: ...


def _reachable(address: str, timeout: float = 1.0) -> bool:
    host, _, port = address.strip().rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


class KafkaDelivery:
    """kafka-python with acks=all and idempotence: no loss, no broker-side duplicates.

    The producer is made on first use, so the collector starts (and answers 503)
    while the broker is still away.
    """

    def __init__(self, bootstrap: str, client_id: str = "leadscore-collector") -> None:
        self._bootstrap = bootstrap
        self._client_id = client_id
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()
        # One per event loop (tests run several): acks cross from the sender thread here.
        self._settlers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Settler] = (
            weakref.WeakKeyDictionary())
        self._append: _Appender | _Sending | None = None
        self._buffer = _Budget(MAX_BUFFERED_BYTES)

    def _connect(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                self._producer = KafkaProducer(
                    bootstrap_servers=self._bootstrap,
                    client_id=self._client_id,
                    acks="all",
                    enable_idempotence=True,
                    compression_type="lz4",
                    # A few ms of linger lets concurrent requests share a produce call.
                    linger_ms=5,
                    # kafka-python's own sensors cost an eighth of its sender thread's time;
                    # nothing reads them (the collector's /metrics has its own).
                    metrics_enabled=False,
                    # Every wait is bounded by the answer time: 503 within 3 s, never a hang.
                    bootstrap_timeout_ms=int(ACK_TIMEOUT_S * 1000),
                    max_block_ms=int(ACK_TIMEOUT_S * 1000),
                    request_timeout_ms=int(ACK_TIMEOUT_S * 1000),
                    delivery_timeout_ms=int(ACK_TIMEOUT_S * 1000) + 1000,
                )
            return self._producer

    def deliver(self, records: Sequence[Record]) -> None:
        deadline = time.monotonic() + ACK_TIMEOUT_S
        try:
            producer = self._connect()
            futures = [producer.send(r.topic, key=r.key.encode(), value=r.value) for r in records]
            for future in futures:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
        except KafkaError as exc:
            log.warning("kafka did not acknowledge: %s", exc)
            raise DeliveryError(str(exc)) from exc

    async def deliver_async(self, records: Sequence[Record]) -> None:
        """The same guarantee as `deliver`, without a thread per request.

        send() only appends to the producer's buffer when the topic's metadata is known;
        the sender thread's callbacks then resolve one asyncio future. Anything that may
        block (first connection, a topic not seen yet) goes through a worker thread."""
        producer = self._producer
        if producer is None or not self._topics_known(producer, records):
            await asyncio.to_thread(self.deliver, records)
            return
        size = sum(len(r.value) + len(r.key) for r in records)
        buffer = self._buffer
        if not buffer.reserve(size):
            log.warning("producer buffer full: %d bytes not yet acknowledged", buffer.used)
            raise DeliveryError("the producer's buffer is full (Kafka is not acknowledging)")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        settle = self._settler(loop).settle
        pending = [len(records)]
        unresolved = [len(records)]  # acked or failed by kafka-python, whatever we answered

        # The budget is released before the answer is settled, so a request answered is
        # one whose bytes are no longer counted (the next request sees the room).
        def acked(_: object) -> None:
            buffer.resolved(unresolved, 1, size)
            pending[0] -= 1  # callbacks run one at a time on the sender thread
            if pending[0] == 0:
                settle(done, None)

        def failed(exc: BaseException) -> None:
            buffer.resolved(unresolved, 1, size)
            settle(done, exc)

        # Past the deadline the client gets a 503; the records may still land later (a
        # retry then carries the same event_id, which the pipeline deduplicates).
        timer = loop.call_later(ACK_TIMEOUT_S, _expire, done)
        send = self._appender(producer)
        appended = 0
        try:
            for r in records:
                key = r.key.encode()
                future = send(r.topic, key, r.value, _partition(producer, r.topic, key))
                appended += 1
                future.add_callback(acked).add_errback(failed)
            await done
        except KafkaError as exc:
            log.warning("kafka did not acknowledge: %r", exc)
            raise DeliveryError(str(exc) or type(exc).__name__) from exc
        finally:
            timer.cancel()
            if appended < len(records):  # those never reached kafka-python: never resolve
                buffer.resolved(unresolved, len(records) - appended, size)

    def _appender(self, producer: KafkaProducer) -> _Appender | _Sending:
        appender = self._append
        if appender is None or appender.producer is not producer:
            appender = self._append = _Appender.of(producer)
        return appender

    def _settler(self, loop: asyncio.AbstractEventLoop) -> _Settler:
        settler = self._settlers.get(loop)
        if settler is None:
            settler = self._settlers[loop] = _Settler(loop)
        return settler

    @staticmethod
    def _topics_known(producer: KafkaProducer, records: Sequence[Record]) -> bool:
        metadata = getattr(producer, "_metadata", None)
        if metadata is None:
            return False
        return all(metadata.partitions_for_topic(r.topic) for r in records)

    def ready(self) -> bool:
        return any(_reachable(address) for address in self._bootstrap.split(","))

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)


class _Budget:
    """Bytes in kafka-python's hands, reserved per request, released as records resolve
    (on the sender thread, or on the event loop for records that never got there)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def reserve(self, size: int) -> bool:
        with self._lock:
            if self.used + size > self.limit and self.used > 0:
                return False  # (a request larger than the limit alone still goes)
            self.used += size
            return True

    def resolved(self, unresolved: list[int], records: int, size: int) -> None:
        """`records` of a request's records resolved; its `size` is released with the last."""
        with self._lock:
            unresolved[0] -= records
            if unresolved[0] == 0:
                self.used -= size


class _Send(Protocol):
    def __call__(self, topic: str, key: bytes, value: bytes, partition: int) -> Future: ...


class _Appender:
    """`producer.send(topic, key=, value=, partition=)` for a topic whose metadata is known,
    straight into kafka-python's record accumulator.

    send() does that append too, after work this path never needs: serializer calls,
    header checks, a metadata check done once per request here, a size estimate (records
    are far below `max_request_size`: 32 KiB events, rejected raw text cut to 32 K
    characters) and a debug log whose arguments it formats with str(producer) on every
    call. That was about a quarter of send()'s cost. Sequence numbers (idempotence) are
    given when the sender drains a batch, so they are the same either way.

    Used only when the producer has the accumulator kafka-python 3 has; otherwise `of`
    returns send() itself."""

    def __init__(self, producer: KafkaProducer) -> None:
        self.producer = producer
        self._append = producer._accumulator.append
        self._wakeup = producer._sender.wakeup
        self._limit = int(producer.config["max_request_size"]) - _RECORD_OVERHEAD

    @classmethod
    def of(cls, producer: KafkaProducer) -> _Appender | _Sending:
        accumulator = getattr(producer, "_accumulator", None)
        try:
            parameters = inspect.signature(accumulator.append).parameters  # type: ignore[union-attr]
        except (AttributeError, TypeError, ValueError):
            return _Sending(producer)
        expected = ["tp", "timestamp_ms", "key", "value", "headers"]
        if (list(parameters)[:5] != expected or getattr(producer, "_sender", None) is None
                or getattr(producer, "_transaction_manager", None) is None
                or producer._transaction_manager.is_transactional()):
            return _Sending(producer)
        return cls(producer)

    def __call__(self, topic: str, key: bytes, value: bytes, partition: int) -> Future:
        if len(key) + len(value) > self._limit or self.producer._closed:
            # send() raises the error that belongs to it (record too large, closed)
            return self.producer.send(topic, key=key, value=value, partition=partition)
        result = self._append(TopicPartition(topic, partition), None, key, value, [])
        future: Future = result[0]
        if result[1] or result[2]:  # batch full or new batch: as send(), wake the sender
            self._wakeup()
        return future


class _Sending:
    def __init__(self, producer: KafkaProducer) -> None:
        self.producer = producer

    def __call__(self, topic: str, key: bytes, value: bytes, partition: int) -> Future:
        return self.producer.send(topic, key=key, value=value, partition=partition)


# A record batch's header and one record's own framing, with room to spare.
_RECORD_OVERHEAD = 1024


class _Settler:
    """Hands acks from the producer's sender thread to one event loop.

    A wake-up of the loop (call_soon_threadsafe: a Handle and a write to its self-pipe)
    per acked record cost more than the rest of the ack; a produce response acks many
    records at once, so the sender thread queues them and wakes the loop once."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._ready: deque[tuple[asyncio.Future[None], BaseException | None]] = deque()
        self._scheduled = False

    def settle(self, future: asyncio.Future[None], exc: BaseException | None) -> None:
        """Called on the sender thread (or any thread)."""
        self._ready.append((future, exc))
        if not self._scheduled:
            self._scheduled = True
            try:
                self._loop.call_soon_threadsafe(self._drain)
            except RuntimeError:  # the loop is closed: nobody waits for these any more
                self._ready.clear()

    def _drain(self) -> None:
        # Cleared before draining: an ack queued from now on schedules its own drain.
        self._scheduled = False
        ready = self._ready
        while ready:
            _settle(*ready.popleft())


def _partition(producer: KafkaProducer, topic: str, key: bytes) -> int:
    """kafka-python's (and Java's) default choice for a keyed record, with the hash cached."""
    partitions = sorted(producer._metadata.partitions_for_topic(topic))
    return int(partitions[key_hash(key) % len(partitions)])


def _expire(future: asyncio.Future[None]) -> None:
    _settle(future, KafkaTimeoutError(f"no acknowledgement within {ACK_TIMEOUT_S:g} s"))


def _settle(future: asyncio.Future[None], exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(exc if isinstance(exc, KafkaError) else KafkaError(str(exc)))
