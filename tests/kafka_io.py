"""Reading topics in tests with a plain kafka-python consumer, waiting on conditions."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer


class TopicReader:
    """Reads a topic from the beginning; `until` polls until a condition holds."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.messages: list[tuple[str | None, Any]] = []
        self.arrived: list[float] = []  # wall-clock time each message was read
        self.stamps: list[float] = []  # each message's Kafka timestamp (s): when it was written
        self._consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
            consumer_timeout_ms=200,
            # Topics may be created after the reader: refresh metadata quickly.
            metadata_max_age_ms=500,
        )

    def poll(self) -> None:
        for records in self._consumer.poll(timeout_ms=200).values():
            for r in records:
                key = r.key.decode() if r.key is not None else None
                self.messages.append((key, json.loads(r.value)))
                self.arrived.append(time.time())
                self.stamps.append(r.timestamp / 1000)

    def until(self, condition: Callable[[list[Any]], bool], timeout: float = 60.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            values = [v for _, v in self.messages]
            if condition(values):
                return values
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met in {timeout} s; saw {values[-5:]!r}")

    def close(self) -> None:
        self._consumer.close()


def wait_for(condition: Callable[[], Any], timeout: float = 60.0, every: float = 0.2) -> Any:
    """Poll `condition` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s (last: {value!r})")
        time.sleep(every)


def produce(bootstrap: str, records: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Write (topic, key, value) records with acks=all and wait for every acknowledgement."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        futures = [
            producer.send(t, key=k.encode(), value=json.dumps(v).encode()) for t, k, v in records
        ]
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close()


def delete_topics(bootstrap: str, prefix: str) -> None:
    """Delete every topic whose name starts with `prefix` (best effort: a topic still
    being created or already gone is left to the next run)."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        doomed = [t for t in admin.list_topics() if t.startswith(prefix)]
        if doomed:
            admin.delete_topics(doomed)
    except KafkaError:
        pass
    finally:
        admin.close()
