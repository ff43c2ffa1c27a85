"""schemathesis against the collector's own OpenAPI: no input, valid or hostile, gives a 5xx.

Bounded (25 examples per operation) so it runs well inside make test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from collector.app import create_app
from collector.config import CollectorConfig
from collector.producer import KafkaDelivery

KEY = {"X-Write-Key": "fuzz-key"}
# The producer connects on first use, after the kafka_bootstrap fixture ensured the broker.
# The same address the fixture yields (schemathesis needs the app at import time).
_bootstrap = os.environ.get("LEADSCORE_KAFKA_BOOTSTRAP") or (
    f"127.0.0.1:{os.environ.get('LEADSCORE_KAFKA_PORT', '9092')}"
)
_delivery = KafkaDelivery(_bootstrap)
_app = create_app(_delivery, ["fuzz-key"], f"fuzz{uuid.uuid4().hex[:8]}-", CollectorConfig())
schema = schemathesis.openapi.from_asgi("/openapi.json", _app)


@pytest.fixture(scope="module", autouse=True)
def _broker(kafka_bootstrap: str) -> Iterator[None]:
    yield
    _delivery.close()


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=KEY, checks=[not_a_server_error])
