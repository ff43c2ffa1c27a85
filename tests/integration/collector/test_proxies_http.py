"""X-Forwarded-For over HTTP: believed from a trusted proxy, ignored from anyone else."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient

from collector.app import create_app
from collector.config import CollectorConfig, RateLimit
from collector.producer import KafkaDelivery
from tests.kafka_io import TopicReader

KEY = {"X-Write-Key": "test-key"}
PAGE = {"type": "page_view", "anonymous_id": "a", "properties": {"url": "https://acme.test/"}}


@pytest.fixture
def client_from(kafka_bootstrap: str, topic_prefix: str) -> Iterator[Callable[[str], TestClient]]:
    """A collector trusting 10.0.0.0/8, one request in the IP bucket; clients by peer address."""
    with ExitStack() as stack:
        delivery = KafkaDelivery(kafka_bootstrap)
        stack.callback(delivery.close)
        app = create_app(delivery, ["test-key"], topic_prefix, CollectorConfig(
            trusted_proxies=("10.0.0.0/8",), ip_limit=RateLimit(0.01, 1)))

        def make(peer: str) -> TestClient:
            return stack.enter_context(TestClient(app, client=(peer, 40000)))
        yield make


def test_untrusted_peer_cannot_dodge_the_ip_limit(client_from: Callable[[str], TestClient]) -> None:
    c = client_from("203.0.113.5")
    first = c.post("/v1/events", json=PAGE, headers={**KEY, "X-Forwarded-For": "198.51.100.1"})
    assert first.status_code == 202
    # A new address in the header each time would be a new bucket if it were believed.
    second = c.post("/v1/events", json=PAGE, headers={**KEY, "X-Forwarded-For": "198.51.100.2"})
    assert second.status_code == 429


def test_trusted_proxy_forwards_distinct_clients(client_from: Callable[[str], TestClient]) -> None:
    proxy = client_from("10.0.0.7")
    for client in ("198.51.100.1", "198.51.100.2"):
        r = proxy.post("/v1/events", json=PAGE, headers={**KEY, "X-Forwarded-For": client})
        assert r.status_code == 202, r.text
    again = proxy.post("/v1/events", json=PAGE,
                       headers={**KEY, "X-Forwarded-For": "6.6.6.6, 198.51.100.1"})
    assert again.status_code == 429  # the client's own "6.6.6.6" changes nothing


def test_stored_ip_is_the_forwarded_client_truncated(
    client_from: Callable[[str], TestClient], kafka_bootstrap: str, topic_prefix: str
) -> None:
    spoofer = client_from("203.0.113.5")
    spoofer.post("/v1/events", json={**PAGE, "anonymous_id": "spoof"},
                 headers={**KEY, "X-Forwarded-For": "198.51.100.77"})
    proxy = client_from("10.0.0.7")
    proxy.post("/v1/events", json={**PAGE, "anonymous_id": "proxied"},
               headers={**KEY, "X-Forwarded-For": "198.51.100.77",
                        "User-Agent": "Googlebot/2.1"})
    reader = TopicReader(kafka_bootstrap, topic_prefix + "events-page-view")
    try:
        values = {v["anonymous_id"]: v for v in reader.until(lambda vs: len(vs) >= 2)}
    finally:
        reader.close()
    assert values["spoof"]["context"]["ip"] == "203.0.113.0"
    assert values["proxied"]["context"]["ip"] == "198.51.100.0"
    assert "bot" in values["proxied"]["flags"]
