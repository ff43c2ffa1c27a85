"""The async produce path without a broker: acks, failures and the answer deadline."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from kafka.cluster import ClusterMetadata
from kafka.future import Future
from kafka.partitioner.default import DefaultPartitioner

from collector import producer as producer_module
from collector.producer import DeliveryError, KafkaDelivery, Record, _partition


class FakeMetadata:
    def __init__(self, partitions: int) -> None:
        self.partitions = set(range(partitions))

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions

    def topics(self) -> set[str]:
        return {"t"}


class FakeProducer:
    """send() hands out kafka-python futures; the test decides when they resolve."""

    def __init__(self, partitions: int = 3) -> None:
        self._metadata = FakeMetadata(partitions)
        self.sent: list[tuple[str, bytes, bytes, int]] = []
        self.futures: list[Future] = []
        self.changed = threading.Condition()

    def send(self, topic: str, *, key: bytes, value: bytes, partition: int) -> Future:
        self.sent.append((topic, key, value, partition))
        future = Future()
        with self.changed:
            self.futures.append(future)
            self.changed.notify_all()
        return future

    def close(self, timeout: float) -> None:
        pass


def delivery_with(fake: FakeProducer) -> KafkaDelivery:
    delivery = KafkaDelivery("127.0.0.1:1")
    delivery._producer = fake  # type: ignore[assignment]
    return delivery


def resolve_on_thread(fake: FakeProducer, count: int, error: Exception | None = None) -> None:
    """As kafka-python's sender thread does, once `count` records were sent."""
    def run() -> None:
        with fake.changed:
            fake.changed.wait_for(lambda: len(fake.futures) >= count, timeout=5)
        for future in fake.futures:
            if error is None:
                future.success(None)
            else:
                future.failure(error)
    threading.Thread(target=run, daemon=True).start()


@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_partition_is_kafkas_default_for_keyed_records(partitions: int) -> None:
    fake = FakeProducer(partitions)
    default = DefaultPartitioner()
    cluster = ClusterMetadata()
    cluster.partitions_for_topic = fake._metadata.partitions_for_topic  # type: ignore[method-assign]
    cluster.available_partitions_for_topic = (  # type: ignore[method-assign]
        fake._metadata.available_partitions_for_topic)
    cluster.topics = fake._metadata.topics  # type: ignore[method-assign]
    for key in [b"anon-1", b"lead-42", "ü-id".encode(), b"x" * 128]:
        expected = default.partition("t", key, key, None, None, cluster)
        assert _partition(fake, "t", key) == expected  # type: ignore[arg-type]


def test_records_go_to_the_default_partition_as_metadata_changes() -> None:
    """The partitions kept per topic are asked again when kafka-python replaces its
    partition map (update_metadata makes a new one: here a topic that grew), and a topic
    not known is not routed (the request takes the blocking way)."""
    cluster = ClusterMetadata()
    fake = FakeProducer()
    fake._metadata = cluster  # type: ignore[assignment]
    delivery = delivery_with(fake)
    records = [Record("t", f"anon-{i}", b"{}") for i in range(40)]
    for partitions in (3, 3, 8):
        cluster._partitions = {"t": {p: object() for p in range(partitions)}}
        routed = delivery._route(fake, records)  # type: ignore[arg-type]
        assert routed is not None
        assert routed == [(r.key.encode(), _partition(fake, "t", r.key.encode()))  # type: ignore[arg-type]
                          for r in records]
        assert {p for _, p in routed} == set(range(partitions))
    assert delivery._route(fake, [Record("unknown", "k", b"{}")]) is None  # type: ignore[arg-type]


def test_answers_once_every_record_is_acked() -> None:
    fake = FakeProducer()
    delivery = delivery_with(fake)
    records = [Record("t", f"anon-{i}", b"{}") for i in range(5)]

    async def main() -> None:
        resolve_on_thread(fake, 5)
        await delivery.deliver_async(records)

    asyncio.run(main())
    assert [key for _, key, _, _ in fake.sent] == [f"anon-{i}".encode() for i in range(5)]


def test_a_failed_record_fails_the_request() -> None:
    from kafka.errors import KafkaConnectionError

    fake = FakeProducer()
    delivery = delivery_with(fake)

    async def main() -> None:
        resolve_on_thread(fake, 2, KafkaConnectionError("broker went away"))
        await delivery.deliver_async([Record("t", "a", b"{}"), Record("t", "b", b"{}")])

    with pytest.raises(DeliveryError, match="broker went away"):
        asyncio.run(main())


def test_no_ack_means_an_error_by_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(producer_module, "ACK_TIMEOUT_S", 0.2)
    fake = FakeProducer()
    delivery = delivery_with(fake)

    async def main() -> float:
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="no acknowledgement"):
            await delivery.deliver_async([Record("t", "a", b"{}")])
        return time.monotonic() - started

    assert asyncio.run(main()) < 2.0


def test_many_concurrent_requests_all_answered() -> None:
    fake = FakeProducer()
    delivery = delivery_with(fake)

    async def main() -> None:
        resolve_on_thread(fake, 200)
        await asyncio.gather(*(delivery.deliver_async([Record("t", str(i), b"{}")])
                               for i in range(200)))

    asyncio.run(main())


def test_a_full_buffer_is_a_503_at_once_and_frees_as_kafka_resolves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """kafka-python 3 has no buffer_memory: unacknowledged bytes are bounded here."""
    monkeypatch.setattr(producer_module, "MAX_BUFFERED_BYTES", 100)
    fake = FakeProducer()
    delivery = delivery_with(fake)
    record = Record("t", "k", b"x" * 59)  # 60 bytes with its key

    async def main() -> None:
        first = asyncio.ensure_future(delivery.deliver_async([record]))
        while not fake.futures:  # the first request's record is in kafka-python's hands
            await asyncio.sleep(0)
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="buffer is full"):
            await delivery.deliver_async([record])
        assert time.monotonic() - started < 0.5  # no wait for the answer deadline
        assert len(fake.sent) == 1  # the refused request never reached the producer
        fake.futures[0].success(None)
        await first
        resolve_on_thread(fake, 2)
        await delivery.deliver_async([record])  # room again once the first was acked

    asyncio.run(main())
    assert delivery._buffer.used == 0


def test_failed_and_expired_records_free_the_buffer_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from kafka.errors import KafkaConnectionError

    monkeypatch.setattr(producer_module, "ACK_TIMEOUT_S", 0.1)
    fake = FakeProducer()
    delivery = delivery_with(fake)

    async def main() -> None:
        with pytest.raises(DeliveryError, match="no acknowledgement"):
            await delivery.deliver_async([Record("t", "a", b"{}"), Record("t", "b", b"{}")])
        assert delivery._buffer.used == 6  # answered 503, but still in kafka-python's hands
        fake.futures[0].success(None)
        fake.futures[1].failure(KafkaConnectionError("expired in the accumulator"))

    asyncio.run(main())
    assert delivery._buffer.used == 0


def test_records_that_never_reached_the_producer_free_their_share() -> None:
    from kafka.errors import MessageSizeTooLargeError

    fake = FakeProducer()
    calls = [0]
    original = fake.send

    def send(topic: str, *, key: bytes, value: bytes, partition: int) -> Future:
        calls[0] += 1
        if calls[0] == 2:
            raise MessageSizeTooLargeError("too large")
        return original(topic, key=key, value=value, partition=partition)

    fake.send = send  # type: ignore[method-assign]
    delivery = delivery_with(fake)

    async def main() -> None:
        with pytest.raises(DeliveryError, match="too large"):
            await delivery.deliver_async([Record("t", "a", b"{}"), Record("t", "b", b"{}"),
                                          Record("t", "c", b"{}")])
        fake.futures[0].success(None)

    asyncio.run(main())
    assert delivery._buffer.used == 0


def test_each_request_fails_by_its_own_deadline_and_answered_ones_never(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One timer keeps every request's deadline (`_Deadlines`): each unanswered request is
    failed within ACK_TIMEOUT_S of its own start and not much earlier, an answered one is
    never failed after it, and one with an earlier deadline than those queued (the
    timeout changed) does not wait for them."""
    monkeypatch.setattr(producer_module, "ACK_TIMEOUT_S", 0.4)
    fake = FakeProducer()
    delivery = delivery_with(fake)
    grain = min(producer_module._GRAIN, 0.4 / 4)

    async def unanswered(delay: float) -> float:
        await asyncio.sleep(delay)
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="no acknowledgement"):
            await delivery.deliver_async([Record("t", "a", b"{}")])
        return time.monotonic() - started

    async def answered() -> None:
        task = asyncio.ensure_future(delivery.deliver_async([Record("t", "b", b"{}")]))
        while not any(key == b"b" for _, key, _, _ in fake.sent):
            await asyncio.sleep(0)
        fake.futures[-1].success(None)
        await task  # answered at once; its deadline passes later with nothing to do

    async def main() -> tuple[list[float], float]:
        waits = asyncio.gather(*(unanswered(i * 0.003) for i in range(30)), answered())
        await asyncio.sleep(0.1)
        monkeypatch.setattr(producer_module, "ACK_TIMEOUT_S", 0.15)
        early = await unanswered(0)
        results = await waits
        await asyncio.sleep(0.45)  # past the answered request's deadline
        assert not delivery._settler(asyncio.get_running_loop()).deadlines._waiting
        return results[:-1], early

    waited, early = asyncio.run(main())
    assert all(0.4 - 2 * grain - 0.01 <= w <= 0.4 + 0.1 for w in waited), waited
    assert 0.15 - 2 * min(producer_module._GRAIN, 0.15 / 4) - 0.01 <= early <= 0.15 + 0.1, early
