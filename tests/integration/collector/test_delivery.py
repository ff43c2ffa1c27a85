"""KafkaDelivery's async path on the real broker: records appended straight to kafka-python's
accumulator arrive whole, keyed, in order, and anything send() would refuse is still refused."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop

from collector.producer import DeliveryError, KafkaDelivery, Record, _Appender, _LoopDriver
from tests.kafka_io import TopicReader


def test_appended_records_arrive_keyed_and_in_order(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = topic_prefix + "delivery-append"
    delivery = KafkaDelivery(kafka_bootstrap)
    try:
        delivery.deliver([Record(topic, "warm", b'{"n": -1}')])  # learns the topic's metadata
        records = [Record(topic, f"anon-{i % 3}", json.dumps({"n": i}).encode())
                   for i in range(30)]

        async def main() -> None:
            await asyncio.gather(delivery.deliver_async(records[:10]),
                                 delivery.deliver_async(records[10:]))

        asyncio.run(main())
        assert isinstance(delivery._append, _Appender)  # the direct way, not send()
    finally:
        delivery.close()
    reader = TopicReader(kafka_bootstrap, topic)
    reader.until(lambda values: len(values) >= 31)
    reader.close()
    got = [(key, value["n"]) for key, value in reader.messages if key != "warm"]
    assert sorted(got, key=lambda kv: kv[1]) == [(f"anon-{i % 3}", i) for i in range(30)]
    for key in ("anon-0", "anon-1", "anon-2"):  # one key, one partition: its order kept
        ns = [n for k, n in got if k == key]
        assert ns == sorted(ns)


def test_a_record_over_the_request_limit_is_refused_as_send_refuses_it(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = topic_prefix + "delivery-too-large"
    delivery = KafkaDelivery(kafka_bootstrap)
    try:
        delivery.deliver([Record(topic, "warm", b"{}")])

        async def main() -> None:
            await delivery.deliver_async([Record(topic, "k", b"x" * (2 * 1024 * 1024))])

        with pytest.raises(DeliveryError, match="(?i)too ?large|max_request_size"):
            asyncio.run(main())
    finally:
        delivery.close()


def _value(n: int) -> bytes:
    return json.dumps({"n": n}).encode()


async def _until_driven(delivery: KafkaDelivery, topic: str, timeout: float = 5.0) -> int:
    """Requests until the event loop drives kafka-python's sender; how many were sent."""
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + timeout
    sent = 0
    while delivery._driver is not None and delivery._driver.loop is not loop:
        assert time.monotonic() < deadline, "the sender was never handed to the event loop"
        await delivery.deliver_async([Record(topic, "probe", _value(-2))])
        sent += 1
    return sent


def test_the_event_loop_drives_the_sender_then_its_thread_again_once_the_loop_ends(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = topic_prefix + "delivery-loop-driven"
    delivery = KafkaDelivery(kafka_bootstrap)
    probes = 0
    try:
        delivery.deliver([Record(topic, "warm", b'{"n": -1}')])
        assert delivery._driver is not None  # kafka-python 3's shape: the loop may drive

        async def main() -> None:
            nonlocal probes
            probes = await _until_driven(delivery, topic)
            sender_thread = delivery._producer._sender  # type: ignore[union-attr]
            assert sender_thread.is_alive()  # parked, not gone: it takes over when needed
            await asyncio.gather(*(delivery.deliver_async([Record(topic, f"k{i % 4}", _value(i))])
                                   for i in range(200)))

        asyncio.run(main())
        # That loop is closed: kafka-python's thread drives again, for a blocking caller too.
        delivery.deliver([Record(topic, "after", b'{"n": 1000}')])
        assert delivery._driver.loop is None
        asyncio.run(main())  # and a new loop takes over again
    finally:
        delivery.close()
    reader = TopicReader(kafka_bootstrap, topic)
    reader.until(lambda values: len([k for k, _ in reader.messages if k != "probe"]) >= 402)
    reader.close()
    got = sorted(value["n"] for key, value in reader.messages if key not in ("probe", "warm"))
    assert got == sorted([*range(200), *range(200), 1000])


def test_a_lost_broker_connection_is_remade_and_requests_still_answered(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """The connection drops while the event loop drives: reconnecting goes back to
    kafka-python's thread (it may block), and the loop takes over again after."""
    topic = topic_prefix + "delivery-reconnect"
    delivery = KafkaDelivery(kafka_bootstrap)
    try:
        delivery.deliver([Record(topic, "warm", b'{"n": -1}')])

        async def main() -> None:
            await _until_driven(delivery, topic)
            manager = delivery._producer._sender._client._manager  # type: ignore[union-attr]
            for round_ in range(3):
                dropped = list(manager._conns.values())
                assert dropped
                for conn in dropped:
                    conn.transport._sock.shutdown(socket.SHUT_RDWR)  # as a broker going away
                started = time.monotonic()
                base = 1000 * round_
                results = await asyncio.gather(
                    *(delivery.deliver_async([Record(topic, f"k{i % 4}", _value(base + i))])
                      for i in range(50)), return_exceptions=True)
                # Idempotent retries after the reconnect: every request acknowledged in time.
                assert [r for r in results if r is not None] == []
                assert time.monotonic() - started < 3.5
                await _until_driven(delivery, topic)
                assert not set(map(id, manager._conns.values())) & set(map(id, dropped))

        asyncio.run(main())
    finally:
        delivery.close()
    reader = TopicReader(kafka_bootstrap, topic)
    reader.until(lambda values: len({v["n"] for _, v in reader.messages}) >= 151)
    reader.close()
    got = {value["n"] for key, value in reader.messages if key not in ("probe", "warm")}
    assert got == {1000 * r + i for r in range(3) for i in range(50)}


# uvloop is the collector's loop (uvicorn picks it): its call_later returns a plain Handle,
# with no when(), for a delay that rounds to 0 ms.
@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_while_the_loop_drives_no_request_waits_for_a_step_that_never_comes(
    kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch,
    run: Callable[[Coroutine[Any, Any, None]], None],
) -> None:
    """The loop steps kafka-python's sender only when a step can do something: a new batch
    on a partition that is not muted waits for its linger, a full batch goes at once, an
    append to a muted partition (its previous batch in flight) waits for the response
    that unmutes it, and a request made in a step is written in that step. A step missed
    leaves records waiting for a timer: ~1 s (the longest a step waits) or the 3 s answer
    deadline (503s). So: one request at a time, bursts, closed-loop clients and full
    batches, each answered far within that, and in fewer steps than a step per wake-up
    took (5 per lone request)."""
    steps = [0]
    step = _LoopDriver._step

    def counted(driver: _LoopDriver) -> None:
        steps[0] += 1
        step(driver)

    monkeypatch.setattr(_LoopDriver, "_step", counted)
    topic = topic_prefix + "delivery-steps"
    delivery = KafkaDelivery(kafka_bootstrap)
    sent: list[int] = []

    async def timed(key: str, n: int, value: bytes | None = None) -> float:
        started = time.monotonic()
        await delivery.deliver_async([Record(topic, key, value or _value(n))])
        sent.append(n)
        return time.monotonic() - started

    try:
        delivery.deliver([Record(topic, "warm", b'{"n": -1}')])

        async def main() -> None:
            loop = asyncio.get_running_loop()
            await _until_driven(delivery, topic)
            steps[0] = 0
            alone = [await timed("alone", i) for i in range(30)]
            assert max(alone) < 0.5  # ~10 ms: linger and a round trip
            assert steps[0] <= 3 * 30  # a step sends and writes, one reads the answer
            for wave in range(10):
                burst = await asyncio.gather(*(timed("burst", 1000 + 100 * wave + i)
                                               for i in range(40)))
                assert max(burst) < 0.5

            async def client(c: int) -> list[float]:
                return [await timed(f"client-{c % 4}", 3000 + 100 * c + j) for j in range(20)]

            clients = await asyncio.gather(*(client(c) for c in range(16)))
            assert max(max(times) for times in clients) < 0.5
            big = b'{"pad": "' + b"x" * 6000 + b'", "n": %d}'  # a 16 KiB batch holds two
            full = await asyncio.gather(*(timed("full", 5000 + i, big % (5000 + i))
                                          for i in range(20)))
            assert max(full) < 0.5
            assert delivery._driver is not None and delivery._driver.loop is loop

        run(main())
    finally:
        delivery.close()
    reader = TopicReader(kafka_bootstrap, topic)
    reader.until(lambda values: len({v["n"] for _, v in reader.messages}) >= len(sent) + 1)
    reader.close()
    assert {v["n"] for k, v in reader.messages if k not in ("probe", "warm")} == set(sent)


def test_a_new_batch_while_a_step_is_due_within_a_millisecond_under_uvloop(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """A step that ends due again in under ~0.5 ms leaves uvloop's plain Handle (no when())
    as the pending timer; a request that then makes a new batch was answered with a 500
    (AttributeError in the collector's `make bench` run). It must be delivered, promptly."""
    topic = topic_prefix + "delivery-uvloop-timer"
    delivery = KafkaDelivery(kafka_bootstrap)
    try:
        delivery.deliver([Record(topic, "warm", b'{"n": -1}')])

        async def main() -> None:
            loop = asyncio.get_running_loop()
            await _until_driven(delivery, topic)
            await asyncio.sleep(0.05)  # the probe's batch answered: its partition unmuted
            driver = delivery._driver
            assert driver is not None
            if driver._timer is not None:
                driver._timer.cancel()
            driver._later(loop, 0.0001)  # as _step schedules a step due in 0.1 ms
            assert not hasattr(driver._timer, "when")  # uvloop's call_soon-like Handle
            started = time.monotonic()
            await delivery.deliver_async([Record(topic, "after", _value(7))])
            assert time.monotonic() - started < 0.5

        uvloop.run(main())
    finally:
        delivery.close()
