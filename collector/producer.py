"""Delivery to Kafka: an answer of 202 means the broker acknowledged every event.

The producer is behind a small interface so the HTTP layer can be tested with a
real broker and so a later transport (a different client) swaps in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import selectors
import socket
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.future import Future
from kafka.producer.transaction_manager import TransactionState
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

_READY = TransactionState.READY


class Record(NamedTuple):
    """One Kafka record to deliver (a NamedTuple: made per event, cheaper than a frozen
    dataclass)."""

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
        self._last_settler: _Settler | None = None
        self._append: _Appender | _Sending | None = None
        self._buffer = _Budget(MAX_BUFFERED_BYTES)
        self._driver: _LoopDriver | None = None
        self._partitions = _Partitions()

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
                self._driver = _LoopDriver.of(self._producer)
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

        Records go straight into the producer's buffer when every topic's metadata is
        known; the sender's callbacks then resolve one asyncio future. Anything that may
        block (first connection, a topic not seen yet) goes through a worker thread."""
        producer = self._producer
        routed = None if producer is None else self._route(producer, records)
        if routed is None:
            await asyncio.to_thread(self.deliver, records)
            return
        size = 0
        for r in records:
            size += len(r.value) + len(r.key)
        buffer = self._buffer
        if not buffer.reserve(size):
            log.warning("producer buffer full: %d bytes not yet acknowledged", buffer.used)
            raise DeliveryError("the producer's buffer is full (Kafka is not acknowledging)")
        loop = asyncio.get_running_loop()
        driver = self._driver
        if driver is not None and driver.loop is not loop:
            driver.want(loop)
        settler = self._settler(loop)
        request = _Request(loop.create_future(), len(records), size, buffer, settler.settle)
        # Past the deadline the client gets a 503; the records may still land later (a
        # retry then carries the same event_id, which the pipeline deduplicates).
        deadlines = settler.deadlines
        waiting = deadlines.add(request.done)
        send = self._appender(producer)
        appended = 0
        try:
            for r, (key, partition) in zip(records, routed, strict=True):
                future = send(r.topic, key, r.value, partition)
                appended += 1
                _add_callbacks(future, request.acked, request.failed)
            await request.done
        except KafkaError as exc:
            log.warning("kafka did not acknowledge: %r", exc)
            raise DeliveryError(str(exc) or type(exc).__name__) from exc
        finally:
            deadlines.done(waiting)
            if appended < len(records):  # those never reached kafka-python: never resolve
                buffer.resolved(request, len(records) - appended)

    def _route(self, producer: KafkaProducer,
               records: Sequence[Record]) -> list[tuple[bytes, int]] | None:
        """Each record's key bytes and partition (kafka-python's default for a keyed
        record), or None when a topic's metadata is not known yet."""
        cache = self._partitions
        routes = cache.routes_for(producer)
        routed = []
        for r in records:
            known = routes.get((r.topic, r.key))
            if known is None:
                partitions = cache.of(producer, r.topic)
                if partitions is None:
                    return None
                key = r.key.encode()
                known = (key, partitions[key_hash(key) % len(partitions)])
                if len(routes) >= _MAX_ROUTES:
                    routes.clear()
                routes[(r.topic, r.key)] = known
            routed.append(known)
        return routed

    def _appender(self, producer: KafkaProducer) -> _Appender | _Sending:
        appender = self._append
        if appender is None or appender.producer is not producer:
            appender = self._append = _Appender.of(producer)
            if isinstance(appender, _Appender) and self._driver is not None:
                appender._wakeup = self._driver.appended
        return appender

    def _settler(self, loop: asyncio.AbstractEventLoop) -> _Settler:
        last = self._last_settler  # the loop of nearly every call: no weak-dict lookup
        if last is not None and last.loop is loop:
            return last
        settler = self._settlers.get(loop)
        if settler is None:
            settler = self._settlers[loop] = _Settler(loop)
        self._last_settler = settler
        return settler

    def ready(self) -> bool:
        return any(_reachable(address) for address in self._bootstrap.split(","))

    def close(self) -> None:
        if self._driver is not None:
            self._driver.release()
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

    def resolved(self, request: _Request, records: int) -> None:
        """`records` of a request's records resolved; its size is released with the last."""
        with self._lock:
            request.unresolved -= records
            if request.unresolved == 0:
                self.used -= request.size


class _Request:
    """One request's records in kafka-python's hands: its answer is settled when the last
    is acked or the first fails. Callbacks run one at a time (on the sender's thread, or
    on the loop when it drives)."""

    __slots__ = ("done", "pending", "unresolved", "size", "_buffer", "_settle")

    def __init__(self, done: asyncio.Future[None], records: int, size: int, buffer: _Budget,
                 settle: Callable[[asyncio.Future[None], BaseException | None], None]) -> None:
        self.done = done
        self.pending = records
        self.unresolved = records  # acked or failed by kafka-python, whatever we answered
        self.size = size
        self._buffer = buffer
        self._settle = settle

    # The budget is released before the answer is settled, so a request answered is one
    # whose bytes are no longer counted (the next request sees the room).
    def acked(self, _: object) -> None:
        self._buffer.resolved(self, 1)
        self.pending -= 1
        if self.pending == 0:
            self._settle(self.done, None)

    def failed(self, exc: BaseException) -> None:
        self._buffer.resolved(self, 1)
        self._settle(self.done, exc)


def _add_callbacks(future: Future, acked: Callable[[object], None],
                   failed: Callable[[BaseException], None]) -> None:
    """add_callback(acked).add_errback(failed), under one lock where kafka-python has the
    pair (3.x's `_add_cb_eb`)."""
    both = getattr(future, "_add_cb_eb", None)
    if both is None:
        future.add_callback(acked).add_errback(failed)
    else:
        both(acked, failed)


class _Partitions:
    """Each topic's sorted partitions as `_partition` reads them, kept while the producer's
    metadata is the same: ClusterMetadata replaces its partition map on every update, so
    the map (held here, so its identity cannot be reused) says when to ask again. Metadata
    without that map is asked every time."""

    def __init__(self) -> None:
        self._source: object = None
        self._topics: dict[str, list[int]] = {}
        # (topic, key) -> (key bytes, partition), for the same metadata as _topics
        self._routes: dict[tuple[str, str], tuple[bytes, int]] = {}

    def _check(self, producer: KafkaProducer) -> Any:
        metadata = getattr(producer, "_metadata", None)
        source = getattr(metadata, "_partitions", None)
        if source is not self._source:
            self._source, self._topics, self._routes = source, {}, {}
        return metadata

    def routes_for(self, producer: KafkaProducer) -> dict[tuple[str, str], tuple[bytes, int]]:
        """Records' routes known under the producer's current metadata (a new dict, not
        kept, for metadata without the partition map)."""
        self._check(producer)
        return self._routes if self._source is not None else {}

    def of(self, producer: KafkaProducer, topic: str) -> list[int] | None:
        metadata = self._check(producer)
        if metadata is None:
            return None
        source = self._source
        partitions = self._topics.get(topic)
        if partitions is None:
            found = metadata.partitions_for_topic(topic)
            if not found:
                return None
            partitions = sorted(found)
            if source is not None:
                self._topics[topic] = partitions
        return partitions


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
        sender_wakeup = producer._sender.wakeup
        self._wakeup: Callable[[TopicPartition, bool], None] = lambda *_: sender_wakeup()
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
        tp = TopicPartition(topic, partition)
        result = self._append(tp, None, key, value, [])
        future: Future = result[0]
        if result[1] or result[2]:  # batch full or new batch: as send(), wake the sender
            self._wakeup(tp, result[1])
        return future


class _Sending:
    def __init__(self, producer: KafkaProducer) -> None:
        self.producer = producer

    def __call__(self, topic: str, key: bytes, value: bytes, partition: int) -> Future:
        return self.producer.send(topic, key=key, value=value, partition=partition)


# Routes remembered per metadata version: a visitor's records share a key; a flood of
# new keys starts the map over rather than growing it.
_MAX_ROUTES = 65_536

# A record batch's header and one record's own framing, with room to spare.
_RECORD_OVERHEAD = 1024


class _Settler:
    """Hands acks from the producer's sender (its thread, or the loop itself) to one loop.

    A wake-up of the loop (call_soon_threadsafe: a Handle and a write to its self-pipe)
    per acked record cost more than the rest of the ack; a produce response acks many
    records at once, so the sender thread queues them and wakes the loop once. When the
    loop drives the sender, an ack settles its request's future at once (that schedules
    the waiting task; nothing runs inside the sender's step)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = self._loop = loop
        self._thread = threading.get_ident()  # made on the loop's thread (deliver_async)
        self._ready: deque[tuple[asyncio.Future[None], BaseException | None]] = deque()
        self._scheduled = False
        self.deadlines = _Deadlines(loop)

    def settle(self, future: asyncio.Future[None], exc: BaseException | None) -> None:
        """Called on the sender thread, or on the loop's own."""
        if threading.get_ident() == self._thread:  # the loop drives the sender
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                _settle(future, exc)
            return
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


class _Deadlines:
    """Each request's answer deadline on one loop, with one timer for all of them.

    A `call_later` and a `cancel` per request cost more than they seem on uvloop: each
    allocates, starts, stops and closes a libuv timer. Every request waits the same
    ACK_TIMEOUT_S, so deadlines arrive in order and a queue holds them; one timer runs at
    most every `_GRAIN` s and fails the requests whose time is up and still wait. A
    request is failed between ACK_TIMEOUT_S - 2 x _GRAIN and ACK_TIMEOUT_S after it
    started, as soon as the loop runs: the answer still comes within ACK_TIMEOUT_S.
    The queue holds numbers, not futures (a future kept alive for seconds after its
    answer made the cyclic GC run ten times as often); a request that ends says `done`.
    A deadline earlier than the last one queued (ACK_TIMEOUT_S changed, as tests do)
    gets its own timer."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._dues: deque[float] = deque()
        self._numbers: deque[int] = deque()
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._last = 0
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None

    def add(self, future: asyncio.Future[None]) -> int:
        """Fail `future` at its deadline unless `done` comes first; its number for `done`."""
        timeout = ACK_TIMEOUT_S
        grain = min(_GRAIN, timeout / 4)
        loop = self._loop
        due = loop.time() + timeout - 2 * grain
        dues = self._dues
        number = self._last = self._last + 1
        self._waiting[number] = future
        if dues and due < dues[-1]:
            loop.call_at(due + grain, self._expire_one, number)
            return number
        dues.append(due)
        self._numbers.append(number)
        if self._timer is None:
            self._timer = loop.call_at(due + grain, self._expire, grain)
        return number

    def done(self, number: int) -> None:
        self._waiting.pop(number, None)

    def _expire_one(self, number: int) -> None:
        future = self._waiting.pop(number, None)
        if future is not None:
            _expire(future)

    def _expire(self, grain: float) -> None:
        self._timer = None
        loop = self._loop
        dues, numbers, waiting = self._dues, self._numbers, self._waiting
        now = loop.time()
        while dues:
            due = dues[0]
            if due > now:
                # Not before `grain` from now: under load the head changes every request.
                self._timer = loop.call_at(due + grain, self._expire, grain)
                return
            dues.popleft()
            future = waiting.pop(numbers.popleft(), None)
            if future is not None:
                _expire(future)


# How late past its queued deadline a request may be failed (see _Deadlines).
_GRAIN = 0.05


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


def _quiet_misses(selector: object) -> None:
    """kafka-python's selector asks `get_key` for a socket before registering it, and the
    socket is not registered each time a response has been read (it waits for the next
    one): the stdlib's get_key then formats the socket into its KeyError, twice, with a
    getsockname and a getpeername each time: ~28 us per produce round, for a message
    nobody reads (kafka-python catches the KeyError). This selector's get_key raises the
    same KeyError without formatting it; its other answers are the stdlib's."""
    fd_to_key = getattr(selector, "_fd_to_key", None)
    lookup = getattr(selector, "_fileobj_lookup", None)
    get_map = getattr(selector, "get_map", None)
    if not isinstance(fd_to_key, dict) or lookup is None or get_map is None:
        return

    def get_key(fileobj: object) -> selectors.SelectorKey:
        if get_map() is None:
            raise RuntimeError("Selector is closed")
        key: selectors.SelectorKey | None = fd_to_key.get(lookup(fileobj))
        if key is None:
            raise KeyError(fileobj)
        return key

    selector.get_key = get_key  # type: ignore[attr-defined]


class _LoopDriver:
    """Runs kafka-python's sender on the collector's event loop while all is well, and on
    its own thread otherwise.

    Per single-event request the sender thread cost more than its own Python: the loop
    thread and the sender thread take the GIL from each other several times per produce
    round. On the loop, a sender step (drain, build and write the produce request, read
    and complete the responses) runs when the producer's selector has something ready
    (its epoll descriptor, watched with add_reader) or when the sender's next deadline
    (linger, request timeouts, metadata refresh) comes.

    Only the steady state runs on the loop: producer id known, no transactional request
    pending, every connection up. Everything that can block (connecting, DNS, the producer
    id request, back-off sleeps) happens on kafka-python's thread, which parks while the
    loop drives: the loop hands over as soon as a step sees anything else, and takes over
    again when a request asks for it and the thread finds the state steady. One lock,
    held for every step on either side, keeps them from ever polling at once."""

    def __init__(self, producer: KafkaProducer) -> None:
        sender = producer._sender
        self._sender = sender
        self._client = sender._client
        self._net = self._client._net
        self._manager = self._client._manager
        self._metadata = sender._metadata
        self._tm = producer._transaction_manager
        self._muted: set[TopicPartition] = producer._accumulator.muted
        self._linger = producer.config["linger_ms"] / 1000
        self._selector_fd = self._net._selector.fileno()
        _quiet_misses(self._net._selector)
        self._lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None  # driving, when not None
        self._wanted: asyncio.AbstractEventLoop | None = None
        self._handback = threading.Event()
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self._soon = False  # _timer is a call_soon
        # When a call_later _timer is due (loop time): uvloop hands back a plain Handle,
        # without when(), for a delay that rounds to 0 ms.
        self._timer_at = 0.0
        self._run_once = sender.run_once
        sender.run_once = self._thread_step  # Sender.run calls self.run_once() each turn

    @classmethod
    def of(cls, producer: KafkaProducer) -> _LoopDriver | None:
        try:
            driver = cls(producer)
        except AttributeError:  # not the kafka-python 3 shape: its thread does it all
            return None
        return driver

    # -- either thread

    def _steady(self) -> bool:
        sender, tm = self._sender, self._tm
        if not sender._running or sender._force_close or tm is None:
            return False
        if (tm._current_state != _READY or not tm.has_producer_id()
                or tm.has_in_flight_transactional_request() or tm._pending_requests):
            return False
        return self._connected()

    def _connected(self) -> bool:
        return all(conn.connected for conn in list(self._manager._conns.values()))

    # -- kafka-python's thread

    def _thread_step(self) -> None:
        loop = self.loop
        if loop is not None:
            self._handback.clear()
            if self.loop is loop and loop.is_running():
                self._handback.wait(0.05)
                return
            self.loop = None  # that loop stopped: drive here again
        with self._lock:
            self._run_once()
        wanted = self._wanted
        if wanted is not None and self._sender._running:
            self._wanted = None
            if wanted.is_running() and self._steady():
                self.loop = wanted
                try:
                    wanted.call_soon_threadsafe(self._attach, wanted)
                except RuntimeError:  # closed meanwhile
                    self.loop = None

    # -- the event loop

    def want(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called on `loop`: drive from it once the thread finds the state steady."""
        current = self.loop
        if self._wanted is not loop and (current is None or not current.is_running()):
            self._wanted = loop
            self._sender.wakeup()

    def appended(self, tp: TopicPartition, full: bool) -> None:
        """The sender's wakeup, as send() does after an append that made a batch or filled
        one. When this loop drives, a step when the batch can be sent; else the thread's
        wakeup (a write to the selector's wakeup socket).

        - The partition is muted (idempotence keeps one batch in flight per partition):
          no step. Nothing of it can go before that batch's response, failure or timeout
          unmutes it, and each of those comes in a step, which then drains (`_step` polls
          first). Under load most new batches are made while their partition is muted.
        - A full batch: a step now.
        - A new batch: a step when its linger is over (a step now would find nothing to
          send and set that timer itself), unless one comes sooner anyway.
        Each step that could not send cost ~100 us: the poll and the drain."""
        loop = self.loop
        if loop is not None and asyncio._get_running_loop() is loop:
            if tp in self._muted:
                return
            timer = self._timer
            if full:
                if timer is None or not self._soon:
                    if timer is not None:
                        timer.cancel()
                    self._timer = loop.call_soon(self._step)
                    self._soon = True
            elif timer is None or (not self._soon
                                   and self._timer_at > loop.time() + self._linger):
                if timer is not None:
                    timer.cancel()
                self._later(loop, self._linger)
            return
        self._sender.wakeup()

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.loop is not loop:
            return
        loop.add_reader(self._selector_fd, self._step)
        self._step()

    def _detach(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.remove_reader(self._selector_fd)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.loop is loop:
            self.loop = None
        self._handback.set()

    def _step(self) -> None:
        loop = asyncio.get_running_loop()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._soon = False
        if self.loop is not loop:
            loop.remove_reader(self._selector_fd)
            return
        if not self._lock.acquire(blocking=False):
            self._later(loop, 0.001)
            return
        try:
            if not self._steady():
                self._detach(loop)
                return
            sender = self._sender
            while sender._topics_to_add:
                self._metadata.add_topic(sender._topics_to_add.pop())
            # Responses first (they unmute their partitions), then what is ready to send.
            poll = self._client.poll
            poll(timeout_ms=0)
            if not self._steady():
                self._detach(loop)
                return
            timeout_ms = sender._send_producer_data()
            if not self._connected():  # a connection to make: on the thread
                self._detach(loop)
                return
            if self._net._ready:
                # A request went to its transport, whose write task waits for a poll to
                # start it (it asks for the socket to be writable) and one more to write
                # (the socket nearly always is): both now, not in two more steps.
                poll(timeout_ms=0)
                poll(timeout_ms=0)
                if not self._steady():
                    self._detach(loop)
                    return
                # Those polls may have read a response too: send what it unmuted.
                timeout_ms = sender._send_producer_data()
        except Exception:
            log.exception("kafka producer step failed on the event loop; back to its thread")
            self._detach(loop)
            return
        finally:
            self._lock.release()
        net = self._net
        delay = timeout_ms / 1000
        if net._ready:
            delay = 0.0
        else:
            scheduled = net._next_scheduled_timeout(time.monotonic())
            if scheduled is not None and scheduled < delay:
                delay = scheduled
        if delay <= 0:
            self._timer = loop.call_soon(self._step)
            self._soon = True
        else:
            self._later(loop, min(delay, 1.0))

    def _later(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        self._timer_at = loop.time() + delay
        self._timer = loop.call_later(delay, self._step)

    def release(self) -> None:
        """Back to kafka-python's thread (close() calls it first, so the thread flushes;
        any thread). Once kafka-python's sender stops running, no loop takes it again."""
        self._wanted = None
        loop = self.loop
        self.loop = None
        self._handback.set()
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._remove_reader, loop)

    def _remove_reader(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.loop is not loop:
            loop.remove_reader(self._selector_fd)
