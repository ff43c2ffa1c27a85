"""The ingest routes' direct way in: same answers, metrics and CORS as FastAPI's way."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.testclient import TestClient

from collector.app import create_app
from collector.config import CollectorConfig
from collector.producer import DeliveryError, Record

KEY = {"X-Write-Key": "k"}
PAGE = {"type": "page_view", "anonymous_id": "a", "properties": {"url": "https://acme.test/"}}


class Recording:
    def __init__(self, error: Exception | None = None) -> None:
        self.records: list[Record] = []
        self.error = error

    def deliver(self, records: Sequence[Record]) -> None:
        raise AssertionError("the async path is used")

    async def deliver_async(self, records: Sequence[Record]) -> None:
        if self.error is not None:
            raise self.error
        self.records.extend(records)

    def ready(self) -> bool:
        return True

    def close(self) -> None:
        pass


def test_single_event_answer_and_metrics() -> None:
    delivery = Recording()
    with TestClient(create_app(delivery, ["k"])) as c:
        r = c.post("/v1/events", json=PAGE, headers=KEY)
        assert (r.status_code, r.json()) == (202, {"accepted": 1})
        assert r.headers["content-type"] == "application/json"
        assert c.post("/v1/events", json=PAGE).status_code == 401
        assert c.post("/v1/track", json={"anonymousId": "a", "event": "Signed Up"},
                      headers=KEY).status_code == 202
        assert c.get("/v1/events").status_code == 405  # not POST: FastAPI's way
        metrics = c.get("/metrics").text
    assert len(delivery.records) == 2
    assert 'requests_total{route="/v1/events",status="202"} 1.0' in metrics
    assert 'requests_total{route="/v1/events",status="401"} 1.0' in metrics
    assert 'requests_total{route="/v1/track",status="202"} 1.0' in metrics
    assert 'requests_total{route="/v1/events",status="405"} 1.0' in metrics


def test_broker_errors_are_503_and_bugs_are_500() -> None:
    with TestClient(create_app(Recording(DeliveryError("down")), ["k"])) as c:
        r = c.post("/v1/events", json=PAGE, headers=KEY)
        assert r.status_code == 503 and r.headers["Retry-After"]
    with TestClient(create_app(Recording(RuntimeError("bug")), ["k"])) as c:
        r = c.post("/v1/batch", json={"batch": [PAGE]}, headers=KEY)
        assert (r.status_code, r.json()["error"]) == (500, "internal")
        assert 'requests_total{route="/v1/batch",status="500"} 1.0' in c.get("/metrics").text


def test_cors_headers_on_the_direct_way() -> None:
    config = CollectorConfig(cors_origins={"k": ["https://acme.test"]})
    with TestClient(create_app(Recording(), ["k"], config=config)) as c:
        ok = c.post("/v1/events", json=PAGE, headers={**KEY, "Origin": "https://acme.test"})
        assert ok.status_code == 202
        assert ok.headers["access-control-allow-origin"] == "https://acme.test"
        bad = c.post("/v1/events", json=PAGE, headers={**KEY, "Origin": "https://evil.test"})
        assert bad.status_code == 403 and "access-control-allow-origin" not in bad.headers


def test_an_event_too_deep_to_store_is_refused_not_a_500() -> None:
    """JSON nested past what JSON writers go (255 levels) parses and validates, but cannot
    be written to Kafka: it is refused like any invalid event, by index in a batch."""
    import json

    deep: object = []
    for _ in range(300):
        deep = [deep]
    event = {**PAGE, "properties": {"url": "https://acme.test/", "deep": deep}}
    delivery = Recording()
    with TestClient(create_app(delivery, ["k"])) as c:
        single = c.post("/v1/events", content=json.dumps(event), headers=KEY)
        batch = c.post("/v1/batch", json={"batch": [PAGE, event]}, headers=KEY)
    assert single.status_code == 422, single.text
    assert single.json()["errors"][0]["field"] == "(event)"
    assert batch.status_code == 202, batch.text
    assert batch.json()["accepted"] == 1 and batch.json()["rejected"] == 1
    assert batch.json()["errors"][0]["index"] == 1
    topics = [r.topic for r in delivery.records]
    assert topics == ["events-rejected", "events-page-view", "events-rejected"]


def test_kafka_values_are_written_once_at_intake_as_pydantic_writes_them() -> None:
    from collector.intake import parse_batch
    from schemas.events import StoredEvent

    delivery = Recording()
    with TestClient(create_app(delivery, ["k"])) as c:
        c.post("/v1/batch", json={"batch": [PAGE, {**PAGE, "lead_id": "l"}]}, headers=KEY)
    for record in delivery.records:
        event = StoredEvent.model_validate_json(record.value)
        assert record.value == event.model_dump_json().encode()
    from datetime import UTC, datetime

    intake = parse_batch([PAGE, PAGE], datetime.now(UTC))
    assert intake.values == [e.model_dump_json().encode() for e in intake.accepted]
