"""Shared fixtures: the real Kafka broker (started through deploy/kafka/broker.sh)."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kafka_io import delete_topics

ROOT = Path(__file__).resolve().parent.parent
BROKER = ROOT / "deploy" / "kafka" / "broker.sh"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real broker for the whole session; stopped at the end only if we started it."""
    external = os.environ.get("LEADSCORE_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    started = subprocess.run([BROKER, "status"], capture_output=True).returncode != 0
    if started:
        subprocess.run([BROKER, "start"], check=True)
    # broker.sh honours LEADSCORE_KAFKA_PORT too (a second checkout can test beside us).
    bootstrap = f"127.0.0.1:{os.environ.get('LEADSCORE_KAFKA_PORT', '9092')}"
    try:
        wait_for_group_coordinator(bootstrap)
        yield bootstrap
    finally:
        # The session's topics go at its end: a broker that kept every run's partitions ran
        # out of file handles. Not after each test: a test's lingering readers would
        # re-create deleted topics (auto-creation) while the next test starts.
        for prefix in USED_PREFIXES:
            delete_topics(bootstrap, prefix)
        if started:
            subprocess.run([BROKER, "stop"], check=True)


def wait_for_group_coordinator(bootstrap: str, timeout: float = 120.0) -> None:
    """A new broker accepts connections before it can serve consumer groups (it first
    creates __consumer_offsets); join a throwaway group once so no test pays for that."""
    from kafka import KafkaConsumer
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic("leadscore-test-readiness", 1, 1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    consumer = KafkaConsumer(
        "leadscore-test-readiness", bootstrap_servers=bootstrap, group_id="leadscore-test-readiness"
    )
    try:
        deadline = time.monotonic() + timeout
        while not consumer.assignment():
            if time.monotonic() > deadline:
                raise RuntimeError(f"broker at {bootstrap} serves no consumer group")
            consumer.poll(timeout_ms=500)
    finally:
        consumer.close()


USED_PREFIXES: list[str] = []


@pytest.fixture
def topic_prefix() -> str:
    """Every test gets its own topics, so tests never see each other's messages."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    USED_PREFIXES.append(prefix)
    return prefix
