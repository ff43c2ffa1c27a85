"""Hostile input, consent, outcomes, rate limits, CORS and metrics over HTTP."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from collector.config import RateLimit
from tests.kafka_io import TopicReader

KEY = {"X-Write-Key": "test-key"}


def page(anon: str = "a", **extra: object) -> dict[str, object]:
    return {"type": "page_view", "anonymous_id": anon, "properties": {"url": "/p"}, **extra}


def test_limits(make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    assert c.post("/v1/batch", json={"batch": [page()] * 501}, headers=KEY).status_code == 413
    big = page(context={"blob": "x" * 33_000})
    r = c.post("/v1/events", json=big, headers=KEY)
    assert r.status_code == 413 and r.json()["errors"][0]["field"] == "(event)"
    r = c.post("/v1/batch", json={"batch": [big, page()]}, headers=KEY)
    assert (r.json()["accepted"], r.json()["rejected"]) == (1, 1)
    assert r.json()["errors"][0]["reason"] == "too_large"
    bomb = gzip.compress(b"[" + b" " * (600 * 1024) + b"]")
    r = c.post("/v1/batch", content=bomb,
               headers={**KEY, "content-encoding": "gzip", "content-type": "application/json"})
    assert r.status_code == 413
    zipped = gzip.compress(json.dumps({"batch": [page()]}).encode())
    r = c.post("/v1/batch", content=zipped,
               headers={**KEY, "content-encoding": "gzip", "content-type": "application/json"})
    assert r.status_code == 202 and r.json()["accepted"] == 1


def test_single_invalid_event_is_422_and_on_events_rejected(
    make_client: Callable[..., TestClient], read_topic: Callable[[str], TopicReader]
) -> None:
    r = make_client().post("/v1/events", json=page(score=1), headers=KEY)
    assert r.status_code == 422
    rejected = read_topic("events-rejected").until(lambda vs: len(vs) == 1)
    assert rejected[0]["errors"][0]["field"] == "score" and rejected[0]["index"] is None


def test_consent_false_is_never_stored(
    make_client: Callable[..., TestClient], read_topic: Callable[[str], TopicReader]
) -> None:
    c = make_client()
    r = c.post("/v1/batch", json={"batch": [page("no", context={"consent": False}), page("yes")]},
               headers=KEY)
    assert r.json() == {"accepted": 2, "dropped": 1, "rejected": 0, "errors": []}
    values = read_topic("events-page-view").until(lambda vs: len(vs) >= 1)
    assert [v["anonymous_id"] for v in values] == ["yes"]
    assert 'leadscore_collector_events_dropped_total{reason="consent"} 1.0' in c.get(
        "/metrics").text


def test_ip_is_truncated_before_kafka(
    make_client: Callable[..., TestClient], read_topic: Callable[[str], TopicReader]
) -> None:
    c = make_client()
    c.post("/v1/events", json=page(context={"ip": "203.0.113.200"}), headers=KEY)
    assert read_topic("events-page-view").until(
        lambda vs: len(vs) == 1)[0]["context"]["ip"] == "203.0.113.0"


def test_outcomes(
    make_client: Callable[..., TestClient], read_topic: Callable[[str], TopicReader]
) -> None:
    c = make_client()
    r = c.post("/v1/outcomes", json={"lead_id": "l7", "outcome": "won", "amount": 1200.0,
                                     "at": "2026-11-02T10:00:00Z"}, headers=KEY)
    assert r.status_code == 202, r.text
    reader = read_topic("lead-outcomes")
    assert reader.until(lambda vs: len(vs) == 1)[0]["outcome"] == "won"
    assert reader.messages[0][0] == "l7"
    r = c.post("/v1/outcomes", json={"lead_id": "l7", "outcome": "maybe"}, headers=KEY)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "outcome"
    assert c.post("/v1/outcomes", json={"lead_id": "l7", "outcome": "won"}).status_code == 401


def test_rate_limits_per_key_and_ip(make_client: Callable[..., TestClient]) -> None:
    c = make_client(key_limit=RateLimit(0.5, 2))
    statuses = [c.post("/v1/events", json=page(), headers=KEY).status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    r = c.post("/v1/events", json=page(), headers=KEY)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    by_ip = make_client(ip_limit=RateLimit(0.5, 1))
    assert by_ip.post("/v1/events", json=page(), headers=KEY).status_code == 202
    assert by_ip.post("/v1/events", json=page(), headers=KEY).status_code == 429
    assert 'leadscore_collector_rate_limited_total{scope="ip"} 1.0' in by_ip.get("/metrics").text


def test_cors_allow_list_per_key(make_client: Callable[..., TestClient]) -> None:
    c = make_client(cors_origins={"test-key": ["https://acme.test"]})
    ok = {"Origin": "https://acme.test"}
    pre = c.options("/v1/batch?writeKey=test-key",
                    headers={**ok, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "https://acme.test"
    r = c.post("/v1/events?writeKey=test-key", json=page(), headers=ok)
    assert r.status_code == 202
    assert r.headers["access-control-allow-origin"] == "https://acme.test"
    evil = {"Origin": "https://evil.test"}
    assert c.options("/v1/batch?writeKey=test-key", headers={
        **evil, "Access-Control-Request-Method": "POST"}).status_code == 403
    r = c.post("/v1/events?writeKey=test-key", json=page(), headers=evil)
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers


def test_metrics_count_requests_events_and_latency(make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    c.post("/v1/batch", json={"batch": [page(), {"type": "page_view"}]}, headers=KEY)
    text = c.get("/metrics").text
    assert 'leadscore_collector_requests_total{route="/v1/batch",status="202"} 1.0' in text
    assert 'leadscore_collector_events_accepted_total{type="page_view"} 1.0' in text
    assert 'leadscore_collector_events_rejected_total{reason="invalid"} 1.0' in text
    assert "leadscore_collector_produce_seconds_bucket" in text


def test_snippet_is_served_cacheable(make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    r = c.get("/v1/snippet.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "max-age" in r.headers["cache-control"]
    again = c.get("/v1/snippet.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
