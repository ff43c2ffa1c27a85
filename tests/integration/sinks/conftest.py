"""Sink integration fixtures: the real broker, chDB in a tmp dir, a unique topic prefix."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from leadscore.settings import Settings
from sinks.clickhouse import connect
from sinks.owner import LOCK_NAME, read_owner
from sinks.rows import topic_tables
from sinks.runner import SinkConfig, run_sink
from tests.kafka_io import wait_for

PARTITIONS = 3  # more than one, so ranges and commits are per partition


@pytest.fixture
def prefix(topic_prefix: str) -> str:
    return topic_prefix


@pytest.fixture
def bootstrap(kafka_bootstrap: str) -> str:
    return kafka_bootstrap


@pytest.fixture
def settings(tmp_path: Path, prefix: str, bootstrap: str) -> Settings:
    return Settings(
        var=tmp_path / "var",
        topic_prefix=prefix,
        sink_query_port=0,
        kafka_bootstrap=bootstrap,
        clickhouse_url="",
    )


@pytest.fixture
def topics(prefix: str, bootstrap: str) -> Iterator[list[str]]:
    """Create the sink's topics up front (no wait for auto-creation); delete them after."""
    names = sorted(topic_tables(prefix))
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in names])
    try:
        yield names
    finally:
        try:
            admin.delete_topics(names)
        finally:
            admin.close()


@pytest.fixture
def producer(bootstrap: str) -> Iterator[KafkaProducer]:
    p = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=5,
        key_serializer=str.encode,
        value_serializer=str.encode,
    )
    yield p
    p.close()


class SinkThread:
    def __init__(self, settings: Settings, config: SinkConfig, client: Any = None) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(settings, config, client))

    def _run(self, settings: Settings, config: SinkConfig, client: Any) -> None:
        try:
            run_sink(settings, self.stop, config=config, client=client)
        except BaseException as exc:  # surfaced by the test through .join()
            self.error = exc

    def start(self) -> SinkThread:
        self._thread.start()
        return self

    def join(self, timeout_s: float = 60.0, *, stop: bool = True) -> None:
        """Stop (unless `stop` is False: wait for it to end by itself) and re-raise its error."""
        if stop:
            self.stop.set()
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "sink did not stop"
        error, self.error = self.error, None  # raised once, not again at teardown
        if error is not None:
            raise error


def _serving(owner: dict[str, Any], before: dict[str, Any]) -> bool:
    return bool(owner.get("port")) and owner != before


@pytest.fixture
def start_sink(settings: Settings, topics: list[str]) -> Iterator[Callable[..., SinkThread]]:
    started: list[SinkThread] = []

    def start(config: SinkConfig | None = None, client: Any = None) -> SinkThread:
        lock = settings.var_dir / LOCK_NAME
        before = read_owner(lock)
        sink = SinkThread(settings, config or SinkConfig(max_wait_s=0.2), client).start()
        started.append(sink)
        # Return once *this* sink serves queries: a query before that would open chDB
        # directly, in this process, beside the starting sink.
        wait_for(lambda: sink.error is not None or _serving(read_owner(lock), before))
        return sink

    yield start
    for sink in started:
        sink.stop.set()
    for sink in started:
        sink.join()


@pytest.fixture
def chdb_client(settings: Settings) -> Iterator[Any]:
    """A writable client on the test's chDB path, closed after the test: chDB allows one
    data path per process, so a client left open would block the next test's path."""
    client = connect(settings)
    yield client
    client.close()
