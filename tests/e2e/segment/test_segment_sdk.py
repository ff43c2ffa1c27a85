"""Segment's official Python SDK, pointed at a live collector: events land on our topics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from segment.analytics import Client

from collector.segment import event_id
from tests.e2e.snippet.live_collector import WRITE_KEY, LiveCollector
from tests.kafka_io import TopicReader

pytestmark = pytest.mark.e2e


@pytest.fixture
def collector(kafka_bootstrap: str, topic_prefix: str) -> Iterator[LiveCollector]:
    live = LiveCollector(kafka_bootstrap, topic_prefix)
    live.start()
    yield live
    live.close()


def test_segment_python_sdk_reaches_kafka(
    collector: LiveCollector, kafka_bootstrap: str, topic_prefix: str
) -> None:
    errors: list[Exception] = []
    client = Client(WRITE_KEY, host=collector.url, sync_mode=True, gzip=True,
                    on_error=lambda e, _batch: errors.append(e))
    when = datetime(2026, 11, 1, 10, tzinfo=UTC)
    client.page(anonymous_id="sdk-anon", name="Pricing", timestamp=when,
                properties={"url": "https://acme.test/pricing?utm_medium=cpc"})
    client.track(anonymous_id="sdk-anon", event="Video Content Completed",
                 properties={"asset_id": "intro"}, timestamp=when)
    _, tracked = client.track(user_id="lead-3", event="Asset Downloaded",
                              properties={"asset_id": "pricing-guide"}, timestamp=when)
    client.identify(user_id="lead-3", anonymous_id="sdk-anon",
                    traits={"email": "ana@acme.test", "title": "VP"})
    client.alias(previous_id="other-device", user_id="lead-3")
    # sync_mode sends each call at once (shutdown() would fail: no consumer threads).
    assert errors == []

    def one(base: str, count: int = 1) -> list[dict[str, object]]:
        reader = TopicReader(kafka_bootstrap, topic_prefix + base)
        try:
            return reader.until(lambda vs: len(vs) >= count)
        finally:
            reader.close()

    page = one("events-page-view")[0]
    assert page["anonymous_id"] == "sdk-anon"
    assert page["context"]["campaign"] == {"medium": "cpc"}
    assert page["context"]["library"]["name"] == "analytics-python"
    assert one("events-video-progress")[0]["properties"]["percent"] == 100.0
    download = one("events-download")[0]
    assert download["lead_id"] == "lead-3"
    assert download["event_id"] == event_id(tracked["messageId"])
    links = {(i["anonymous_id"], i["lead_id"]) for i in one("events-identify", 2)}
    assert links == {("sdk-anon", "lead-3"), ("other-device", "lead-3")}
