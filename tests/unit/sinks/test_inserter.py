"""The insert thread and the rebalance log, with a fake write: no broker, no ClickHouse."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import pytest
from kafka.structs import TopicPartition

from sinks.batch import Batch
from sinks.inserter import Inserter, Job
from sinks.rebalance import Change, Listener, Rebalances

TP = TopicPartition("t", 0)


def _batch(first: int, last: int) -> Batch:
    batch = Batch()
    for offset in range(first, last + 1):
        batch.add("events", ("r",), TP, offset, 0.0)
    return batch


class FakeWrite:
    """Records batches; fails while `failing` is set; blocks while `gate` is clear."""

    def __init__(self) -> None:
        self.written: list[tuple[int, int]] = []
        self.failing = False
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def __call__(self, batch: Batch) -> dict[str, int]:
        self.entered.set()
        self.gate.wait()
        if self.failing:
            raise ConnectionError("down (simulated)")
        self.written.append(batch.ranges[TP])
        return {"events": batch.row_count}


@pytest.fixture
def write() -> FakeWrite:
    return FakeWrite()


@pytest.fixture
def rebalances() -> Rebalances:
    return Rebalances()


@pytest.fixture
def inserter(write: FakeWrite, rebalances: Rebalances) -> Iterator[Inserter]:
    ins = Inserter(write, lambda: rebalances.epoch, backoff_initial_s=0.001, backoff_max_s=0.01)
    ins.start()
    yield ins
    write.gate.set()
    ins.close(timeout_s=5)


def _next(ins: Inserter) -> Job:
    return ins.done.get(timeout=5)


def test_batches_are_inserted_in_order_with_one_waiting_at_most(
    inserter: Inserter, write: FakeWrite
) -> None:
    write.gate.clear()
    assert inserter.offer(Job(_batch(0, 9), 0))
    assert write.entered.wait(5)  # the first is being inserted...
    assert inserter.offer(Job(_batch(10, 19), 0))  # ...one waits...
    assert not inserter.offer(Job(_batch(20, 29), 0))  # ...and there is no room for a third
    write.gate.set()
    assert [_next(inserter).written for _ in range(2)] == [{"events": 10}, {"events": 10}]
    assert write.written == [(0, 9), (10, 19)]
    assert inserter.idle()


def test_a_failing_insert_is_retried_until_it_lands(inserter: Inserter, write: FakeWrite) -> None:
    write.failing = True
    inserter.offer(Job(_batch(0, 4), 0))
    assert write.entered.wait(5)
    write.failing = False
    job = _next(inserter)
    assert job.written == {"events": 5} and job.failures >= 1


def test_a_revocation_drops_stale_batches_and_settles(
    inserter: Inserter, write: FakeWrite, rebalances: Rebalances
) -> None:
    write.failing = True  # the batch keeps failing, as while ClickHouse is down
    inserter.offer(Job(_batch(0, 4), 0))
    assert write.entered.wait(5)
    epoch = rebalances.revoked({TP})
    assert inserter.settle(epoch, timeout_s=5)  # the retry loop noticed and stopped
    job = _next(inserter)
    assert job.written is None and write.written == []
    # Batches of the new epoch are inserted as usual.
    write.failing = False
    inserter.offer(Job(_batch(0, 4), epoch))
    assert _next(inserter).written == {"events": 5}


def test_finish_inserts_the_last_batch_or_gives_up_in_time(
    inserter: Inserter, write: FakeWrite
) -> None:
    inserter.offer(Job(_batch(0, 4), 0))
    inserter.finish(Job(_batch(5, 9), 0), timeout_s=5)
    inserter.join(5)
    assert not inserter.alive
    assert [_next(inserter).written for _ in range(2)] == [{"events": 5}, {"events": 5}]

    down = FakeWrite()
    down.failing = True
    stuck = Inserter(down, lambda: 0, backoff_initial_s=0.001, backoff_max_s=0.01)
    stuck.start()
    stuck.offer(Job(_batch(0, 4), 0))
    stuck.finish(Job(_batch(5, 9), 0), timeout_s=0.2)
    stuck.join(5)
    # Both left uncommitted: the second must not land before the first.
    assert [_next(stuck).written for _ in range(2)] == [None, None]
    assert down.written == []


def test_a_crash_in_the_insert_reaches_the_consumer_thread(rebalances: Rebalances) -> None:
    class Crash(BaseException):
        pass

    def crash(batch: Batch) -> dict[str, int]:
        raise Crash

    ins = Inserter(crash, lambda: rebalances.epoch, backoff_initial_s=0.001, backoff_max_s=0.01)
    ins.start()
    ins.offer(Job(_batch(0, 1), 0))
    assert isinstance(_next(ins).error, Crash)
    ins.join(5)
    assert not ins.alive and not ins.offer(Job(_batch(2, 3), 0))
    with pytest.raises(queue.Empty):
        ins.done.get_nowait()


def test_the_listener_only_records_and_waits_for_the_running_insert(
    rebalances: Rebalances,
) -> None:
    settled: list[tuple[int, float]] = []

    def settle(epoch: int, timeout_s: float) -> bool:
        settled.append((epoch, timeout_s))
        return True

    listener = Listener(rebalances, settle, 3.0)
    listener.on_partitions_revoked(set())  # the first join revokes nothing: no new epoch
    listener.on_partitions_revoked({TP})
    listener.on_partitions_assigned({TP})
    assert settled == [(1, 3.0)]
    assert rebalances.take() == (
        1,
        [Change("revoked", frozenset({TP})), Change("assigned", frozenset({TP}))],
    )
    assert rebalances.take() == (1, [])
