"""The walking skeleton: HTTP in, stage changes on Kafka and rows in ClickHouse out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx

from sinks.query import run_query
from tests.kafka_io import TopicReader, wait_for
from tests.processes import running_pipeline, settings_for, stage_env

RULES = """
version = "e2e-1"
[decay]
half_life = "14d"
[stages]
warm = 5
hot = 12
hysteresis = 1
[[rule]]
id = "any-page"
event = "page_view"
points = 1
[[rule]]
id = "pricing"
event = "page_view"
where = { path = "/pricing*" }
points = 5
"""


def test_events_become_stage_changes_and_rows(
    tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    env = stage_env(tmp_path / "var", kafka_bootstrap, topic_prefix, LEADSCORE_RULES=str(rules))
    settings = settings_for(env)
    base = f"http://127.0.0.1:{settings.collector_port}"
    start = datetime.now(UTC) - timedelta(minutes=10)
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "type": "page_view",
            "anonymous_id": "visitor-1",
            "occurred_at": (start + timedelta(seconds=i)).isoformat(),
            "properties": {"url": f"https://acme.test/pricing?p={i}", "dwell_ms": 20_000},
        }
        for i in range(2)
    ]
    identify = {
        "type": "identify",
        "anonymous_id": "visitor-1",
        "lead_id": "lead-42",
        "occurred_at": (start + timedelta(seconds=5)).isoformat(),
        "traits": {"email": "ann@acme.test", "title": "CTO"},
    }
    with running_pipeline(env):
        client = httpx.Client(base_url=base, headers={"X-Write-Key": "test-key"})
        wait_for(lambda: _ready(client), timeout=60)
        assert client.post("/v1/batch", json={"batch": events}).status_code == 202
        assert client.post("/v1/events", json=identify).status_code == 202
        later = {
            "type": "page_view",
            "lead_id": "lead-42",
            "occurred_at": (start + timedelta(seconds=9)).isoformat(),
            "properties": {"url": "https://acme.test/pricing/enterprise"},
        }
        assert client.post("/v1/events", json=later).status_code == 202

        changes = TopicReader(kafka_bootstrap, topic_prefix + "lead-stage-changes")
        seen = changes.until(lambda vs: any(v["to_stage"] == "hot" for v in vs), timeout=90)
        hot = next(v for v in seen if v["to_stage"] == "hot")
        # 2 anonymous pricing views (12 points) were merged into lead-42 on identify.
        assert hot["lead_id"] in ("lead-42", "anon:visitor-1")
        assert hot["rules_version"] == "e2e-1" and hot["change_id"]
        assert hot["cause"] in ("event", "merge")
        changes.close()

        wait_for(lambda: _count(settings, "events") >= 4, timeout=60)
        assert _count(settings, "events") == 4
        wait_for(lambda: _count(settings, "lead_stage_changes") >= 1, timeout=60)
        rows = run_query(settings, "SELECT lead_id, to_stage FROM leadscore.lead_stage_changes")
        assert ("lead-42", "hot") in rows.rows or ("anon:visitor-1", "hot") in rows.rows
        client.close()


def _ready(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz").status_code == 200
    except httpx.HTTPError:
        return False


def _count(settings: object, table: str) -> int:
    result = run_query(settings, f"SELECT count() FROM leadscore.{table}")  # type: ignore[arg-type]
    return int(result.rows[0][0])
