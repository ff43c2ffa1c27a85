"""The collector over HTTP with a real Kafka broker behind it."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from collector.app import create_app
from collector.producer import KafkaDelivery
from tests.kafka_io import TopicReader

KEY = {"X-Write-Key": "test-key"}


@pytest.fixture
def client(kafka_bootstrap: str, topic_prefix: str) -> Iterator[TestClient]:
    delivery = KafkaDelivery(kafka_bootstrap)
    with TestClient(create_app(delivery, ["test-key"], topic_prefix)) as c:
        yield c
    delivery.close()


def page_view(**extra: object) -> dict[str, object]:
    return {"type": "page_view", "anonymous_id": "anon-1",
            "properties": {"url": "https://acme.test/pricing", "dwell_ms": 4000}, **extra}


def test_accepted_events_are_on_their_topic(
    client: TestClient, kafka_bootstrap: str, topic_prefix: str
) -> None:
    event_id = str(uuid.uuid4())
    r = client.post("/v1/events", json=page_view(event_id=event_id), headers=KEY)
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 1}
    reader = TopicReader(kafka_bootstrap, topic_prefix + "events-page-view")
    values = reader.until(lambda vs: len(vs) >= 1)
    assert values[0]["event_id"] == event_id
    assert values[0]["properties"]["url"] == "https://acme.test/pricing"
    assert reader.messages[0][0] == "anon-1"
    reader.close()


def test_batch_goes_to_one_topic_per_type(
    client: TestClient, kafka_bootstrap: str, topic_prefix: str
) -> None:
    batch = [page_view(), {"type": "email_open", "lead_id": "l1",
                           "properties": {"campaign_id": "c1"}}]
    r = client.post("/v1/batch", json={"batch": batch, "writeKey": "test-key"})
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 2, "rejected": 0, "errors": []}
    opens = TopicReader(kafka_bootstrap, topic_prefix + "events-email-open")
    assert opens.until(lambda vs: len(vs) == 1)[0]["lead_id"] == "l1"
    opens.close()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, None),
        (json.dumps(page_view(score=99)).encode(), 422, "score"),
        (json.dumps({"type": "page_view", "anonymous_id": "a"}).encode(), 422, "properties"),
        (json.dumps({"type": "teleport", "anonymous_id": "a"}).encode(), 422, "type"),
    ],
)
def test_bad_input_is_refused_clearly_and_writes_nothing(
    client: TestClient, kafka_bootstrap: str, topic_prefix: str,
    body: bytes, status: int, field: str | None,
) -> None:
    r = client.post("/v1/events", content=body, headers={**KEY, "content-type": "application/json"})
    assert r.status_code == status
    assert r.json()["error"]
    if field:
        assert field in [e["field"] for e in r.json()["errors"]]
    # A later valid event is the first thing on the topic: nothing invalid got there.
    marker = str(uuid.uuid4())
    ok = client.post("/v1/events", json=page_view(event_id=marker), headers=KEY)
    assert ok.status_code == 202
    reader = TopicReader(kafka_bootstrap, topic_prefix + "events-page-view")
    assert reader.until(lambda vs: len(vs) >= 1)[0]["event_id"] == marker
    reader.close()


def test_a_batch_accepts_valid_events_and_reports_invalid_ones(
    client: TestClient, kafka_bootstrap: str, topic_prefix: str
) -> None:
    # Issue 4 changed this from all-or-nothing: received = accepted + rejected.
    r = client.post("/v1/batch", json={"batch": [page_view(), {"type": "page_view"}]}, headers=KEY)
    assert r.status_code == 202
    assert (r.json()["accepted"], r.json()["rejected"]) == (1, 1)
    assert r.json()["errors"][0]["index"] == 1
    rejected = TopicReader(kafka_bootstrap, topic_prefix + "events-rejected")
    assert rejected.until(lambda vs: len(vs) == 1)[0]["index"] == 1
    rejected.close()


def test_missing_or_unknown_write_key_is_401(client: TestClient) -> None:
    assert client.post("/v1/events", json=page_view()).status_code == 401
    assert client.post("/v1/events", json=page_view(),
                       headers={"X-Write-Key": "nope"}).status_code == 401
    assert client.post("/v1/events", json=page_view(), auth=("test-key", "")).status_code == 202


def test_oversized_body_is_413(client: TestClient) -> None:
    r = client.post("/v1/batch", content=b"x" * (512 * 1024 + 1), headers=KEY)
    assert r.status_code == 413


def test_health_ready_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/v1/events" in spec["paths"] and "/v1/batch" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_broker_down_is_503_with_retry_after_fast() -> None:
    # Nothing listens on this port: Kafka cannot acknowledge.
    delivery = KafkaDelivery("127.0.0.1:1")
    with TestClient(create_app(delivery, ["test-key"])) as c:
        started = time.monotonic()
        r = c.post("/v1/events", json=page_view(), headers=KEY)
        elapsed = time.monotonic() - started
        assert r.status_code == 503
        assert r.headers["Retry-After"]
        assert elapsed < 4.5
        assert c.get("/readyz").status_code == 503
    delivery.close()
