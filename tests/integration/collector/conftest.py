"""A collector app over the real broker, configurable per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient

from collector.app import create_app
from collector.config import CollectorConfig
from collector.producer import KafkaDelivery
from tests.kafka_io import TopicReader

SECRET = b"integration-secret"


@pytest.fixture
def make_client(
    kafka_bootstrap: str, topic_prefix: str
) -> Iterator[Callable[..., TestClient]]:
    with ExitStack() as stack:
        def make(**config: object) -> TestClient:
            delivery = KafkaDelivery(kafka_bootstrap)
            stack.callback(delivery.close)
            app = create_app(delivery, ["test-key"], topic_prefix,
                             CollectorConfig(signing_secret=SECRET, **config))  # type: ignore[arg-type]
            return stack.enter_context(TestClient(app))
        yield make


@pytest.fixture
def read_topic(
    kafka_bootstrap: str, topic_prefix: str
) -> Iterator[Callable[[str], TopicReader]]:
    readers: list[TopicReader] = []

    def read(base: str) -> TopicReader:
        reader = TopicReader(kafka_bootstrap, topic_prefix + base)
        readers.append(reader)
        return reader
    yield read
    for reader in readers:
        reader.close()
