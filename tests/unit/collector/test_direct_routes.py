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
