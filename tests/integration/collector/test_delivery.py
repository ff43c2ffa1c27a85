"""KafkaDelivery's async path on the real broker: records appended straight to kafka-python's
accumulator arrive whole, keyed, in order, and anything send() would refuse is still refused."""

from __future__ import annotations

import asyncio
import json

import pytest

from collector.producer import DeliveryError, KafkaDelivery, Record, _Appender
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
