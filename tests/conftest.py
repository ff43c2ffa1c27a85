"""Shared fixtures: the real Kafka broker (started through deploy/kafka/broker.sh)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

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
    try:
        # broker.sh honours LEADSCORE_KAFKA_PORT too (a second checkout can test beside us).
        yield f"127.0.0.1:{os.environ.get('LEADSCORE_KAFKA_PORT', '9092')}"
    finally:
        if started:
            subprocess.run([BROKER, "stop"], check=True)


@pytest.fixture
def topic_prefix() -> str:
    """Every test gets its own topics, so tests never see each other's messages."""
    return f"t{uuid.uuid4().hex[:10]}-"
