"""Segment-spec calls over HTTP land on our topics."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from collector.segment import event_id
from tests.kafka_io import TopicReader

BASIC = ("test-key", "")


def test_single_calls_map_and_land(
    make_client: Callable[..., TestClient], read_topic: Callable[[str], TopicReader]
) -> None:
    c = make_client()
    calls = [
        ("/v1/page", {"anonymousId": "a1", "messageId": "p-1",
                      "properties": {"url": "https://acme.test/pricing?utm_source=ads"}}),
        ("/v1/track", {"anonymousId": "a1", "messageId": "t-1", "event": "Video Content Playing",
                       "properties": {"asset_id": "demo", "position": 45, "total_length": 90}}),
        ("/v1/identify", {"anonymousId": "a1", "userId": "lead-9", "messageId": "i-1",
                          "traits": {"email": "kim@acme.test"}}),
        ("/v1/alias", {"previousId": "a2", "userId": "lead-9", "messageId": "al-1"}),
    ]
    for path, body in calls:
        r = c.post(path, json=body, auth=BASIC)
        assert r.status_code == 202, (path, r.text)
    pages = read_topic("events-page-view").until(lambda vs: len(vs) == 1)
    assert pages[0]["event_id"] == event_id("p-1")
    assert pages[0]["context"]["campaign"] == {"source": "ads"}
    video = read_topic("events-video-progress").until(lambda vs: len(vs) == 1)
    assert video[0]["properties"]["percent"] == 50.0
    identities = read_topic("events-identify").until(lambda vs: len(vs) == 2)
    assert {(v["anonymous_id"], v["lead_id"]) for v in identities} == {
        ("a1", "lead-9"), ("a2", "lead-9")}
    by_anon = {v["anonymous_id"]: v for v in identities}
    assert by_anon["a1"]["traits"]["company_domain"] == "acme.test"


def test_mixed_batch_with_partial_acceptance(
    make_client: Callable[..., TestClient], read_topic: Callable[[str], TopicReader]
) -> None:
    c = make_client(track_mapping={"Webinar Registered": "form_submit"})
    batch = [
        {"type": "track", "event": "Email Opened", "userId": "l1", "messageId": "e-1",
         "properties": {"campaign_id": "c1"}},
        {"type": "track", "event": "Webinar Registered", "userId": "l1", "messageId": "w-1"},
        {"type": "track", "event": "Toggled Dark Mode", "userId": "l1", "messageId": "x-1"},
        {"type": "track", "userId": "l1"},  # no event name
        {"type": "page_view", "anonymous_id": "a", "properties": {"url": "/"}},
    ]
    r = c.post("/v1/batch", json={"batch": batch, "sentAt": "2026-11-01T10:00:00Z"}, auth=BASIC)
    assert r.status_code == 202
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (4, 1)
    assert body["errors"] == [{"field": "event", "message": "a track call needs an event name",
                               "index": 3, "reason": "invalid"}]
    assert read_topic("events-email-open").until(lambda vs: len(vs) == 1)[0]["lead_id"] == "l1"
    assert read_topic("events-form-submit").until(lambda vs: len(vs) == 1)
    custom = read_topic("events-custom").until(lambda vs: len(vs) == 1)
    assert custom[0]["properties"]["name"] == "Toggled Dark Mode"
    rejected = read_topic("events-rejected").until(lambda vs: len(vs) == 1)
    assert rejected[0]["index"] == 3 and rejected[0]["reason"] == "invalid"
    assert '"userId":"l1"' in rejected[0]["raw"]
