"""The worker's outbox (streams/outbox.py): per-partition order, flushes, failures."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch
from aiokafka.structs import RecordMetadata, TopicPartition

from leadscore.partitioning import key_hash
from streams.outbox import Outbox


class FakeProducer:
    """aiokafka's batch interface, storing each submitted batch at the next offsets."""

    def __init__(self, batch_size: int = 16_384, fail: bool = False) -> None:
        self.batch_size, self.fail = batch_size, fail
        self.log: dict[tuple[str, int], list[tuple[bytes, bytes]]] = {}
        self.batches = 0
        self.client = self

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self.batch_size, 0, is_transactional=False)

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        self.batches += 1
        stored = self.log.setdefault((topic, partition), [])
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.fail:
            future.set_exception(RuntimeError("broker gone"))
            return future
        base = len(stored)
        stored.extend((r.key, r.value) for r in DefaultRecordBatch(batch._build()))
        future.set_result(RecordMetadata(topic, partition, None, base, -1, 0, -1))
        return future

    # the client's metadata, for messages without a partition
    async def _wait_on_metadata(self, topic: str) -> None:
        return None

    @property
    def cluster(self) -> Any:
        return type("Cluster", (), {"partitions_for_topic": lambda _, t: set(range(8))})()


def outbox_on(producer: FakeProducer, crashes: list[BaseException] | None = None) -> Outbox:
    async def crash(exc: BaseException) -> None:
        (crashes if crashes is not None else []).append(exc)

    return Outbox(lambda: producer, crash, linger=0.01)  # type: ignore[arg-type,return-value]


def test_messages_keep_their_order_per_partition_across_full_batches() -> None:
    producer = FakeProducer(batch_size=200)

    async def run() -> None:
        outbox = outbox_on(producer)
        for i in range(60):
            outbox.add(TopicPartition("t", i % 2), b"k", b"v%d" % i)
        await outbox.flush()

    asyncio.run(run())
    assert producer.batches > 2  # the small batches filled up
    assert [v for _, v in producer.log[("t", 0)]] == [b"v%d" % i for i in range(0, 60, 2)]
    assert [v for _, v in producer.log[("t", 1)]] == [b"v%d" % i for i in range(1, 60, 2)]


def test_the_linger_flushes_without_being_asked() -> None:
    producer = FakeProducer()

    async def run() -> None:
        outbox = outbox_on(producer)
        outbox.add(TopicPartition("t", 3), b"k", b"v")
        for _ in range(200):
            if producer.log:
                return
            await asyncio.sleep(0.01)

    asyncio.run(run())
    assert producer.log == {("t", 3): [(b"k", b"v")]}


def test_stored_batches_report_their_last_offset() -> None:
    producer = FakeProducer()
    seen: list[tuple[int, int]] = []

    async def run() -> None:
        outbox = outbox_on(producer)
        outbox.on_stored("changelog", lambda partition, offset: seen.append((partition, offset)))
        for value in (b"a", b"b", b"c"):
            outbox.add(TopicPartition("changelog", 5), b"k", value)
        outbox.add(TopicPartition("other", 5), b"k", b"x")
        await outbox.flush()
        outbox.add(TopicPartition("changelog", 5), b"k", b"d")
        await outbox.flush()
        await asyncio.sleep(0)

    asyncio.run(run())
    assert seen == [(5, 2), (5, 3)]


def test_a_failed_delivery_crashes_the_worker() -> None:
    crashes: list[BaseException] = []

    async def run() -> None:
        outbox = outbox_on(FakeProducer(fail=True), crashes)
        outbox.add(TopicPartition("t", 0), b"k", b"v")
        await outbox.flush()
        await asyncio.sleep(0.01)

    asyncio.run(run())
    assert [str(e) for e in crashes] == ["broker gone"]


def test_without_a_partition_kafkas_default_partitioner_places_the_key() -> None:
    producer = FakeProducer()

    async def run() -> None:
        outbox = outbox_on(producer)
        await outbox.put("scores", b"lead-7", b"v")
        await outbox.flush()

    asyncio.run(run())
    assert list(producer.log) == [("scores", key_hash(b"lead-7") % 8)]


def test_a_message_larger_than_a_batch_goes_in_a_batch_of_its_own() -> None:
    producer = FakeProducer(batch_size=100)

    async def run() -> None:
        outbox = outbox_on(producer)
        for value in (b"a", b"x" * 500, b"b"):
            outbox.add(TopicPartition("t", 0), b"k", value)
        await outbox.flush()

    asyncio.run(run())
    assert [v for _, v in producer.log[("t", 0)]] == [b"a", b"x" * 500, b"b"]
    assert producer.batches == 3


def test_what_waits_for_a_commit_is_added_before_the_commits_flush_and_not_by_the_linger() -> None:
    producer = FakeProducer()

    async def run() -> None:
        outbox = outbox_on(producer)
        outbox.on_commit(lambda: outbox.add(TopicPartition("changelog", 1), b"k", b"held"))
        outbox.add(TopicPartition("t", 0), b"k", b"v")
        for _ in range(200):  # the linger writes what was added, and only that
            if producer.log:
                break
            await asyncio.sleep(0.01)
        assert producer.log == {("t", 0): [(b"k", b"v")]}
        await outbox.flush_for_commit()

    asyncio.run(run())
    assert producer.log[("changelog", 1)] == [(b"k", b"held")]
