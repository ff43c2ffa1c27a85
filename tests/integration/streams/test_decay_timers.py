"""Decay demotions are emitted at their exact crossing times, on the wall clock."""

from __future__ import annotations

import math
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.integration.streams.worker_io import stored_event, topic_record, wait_until_scoring
from tests.kafka_io import TopicReader, produce
from tests.processes import running_pipeline, stage_env

RULES = """
version = "decay-test"
[decay]
half_life = "{half_life}s"
[stages]
warm = 5
hot = 10
hysteresis = 1
[[rule]]
id = "page"
event = "page_view"
points = 4
"""


def env_for(tmp_path: Path, bootstrap: str, prefix: str, half_life: int) -> dict[str, str]:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES.format(half_life=half_life))
    return stage_env(tmp_path / "var", bootstrap, prefix, LEADSCORE_RULES=str(rules))


def heat_up(bootstrap: str, prefix: str, lead: str, views: int = 3) -> float:
    """Page views now (4 points each; 3 make a lead hot). Returns the event time."""
    t = time.time()
    events = [
        stored_event("page_view", t, lead=lead, properties={"url": "/p"}) for _ in range(views)
    ]
    produce(bootstrap, [topic_record(prefix, e) for e in events])
    return t


def crossing(t: float, half_life: float, score: float, theta: float) -> float:
    return t + half_life * math.log2(score / theta)


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def decays(reader: TopicReader) -> list[tuple[dict[str, Any], float]]:
    return [
        (v, arrived)
        for (_, v), arrived in zip(reader.messages, reader.arrived, strict=True)
        if v["cause"] == "decay"
    ]


def assert_on_time(
    found: list[tuple[dict[str, Any], float]], expected: list[tuple[str, float]]
) -> None:
    assert [v["to_stage"] for v, _ in found] == [stage for stage, _ in expected]
    for (message, arrived), (_, due) in zip(found, expected, strict=True):
        assert abs(epoch(message["at"]) - due) < 0.002  # `at` is the exact crossing time
        assert arrived - due < 1.0  # announced within a second of the wall clock
        assert arrived >= due - 0.05  # and never early


def test_hot_lead_cools_at_its_crossing_times(
    tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    env = env_for(tmp_path, kafka_bootstrap, topic_prefix, half_life=3)
    changes = TopicReader(kafka_bootstrap, topic_prefix + "lead-stage-changes")
    with running_pipeline(env, ("worker",)):
        wait_until_scoring(kafka_bootstrap, topic_prefix)
        t = heat_up(kafka_bootstrap, topic_prefix, "lead-d")
        changes.until(lambda vs: any(v["to_stage"] == "cold" for v in vs), timeout=60)
    expected = [("warm", crossing(t, 3, 12, 9)), ("cold", crossing(t, 3, 12, 4))]
    assert_on_time(decays(changes), expected)
    changes.close()


def test_crossings_still_fire_after_the_worker_restarts(
    tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    # 20 points and a 15 s half-life: the first crossing comes ~17 s later, after the
    # restart is over even on a busy machine.
    env = env_for(tmp_path, kafka_bootstrap, topic_prefix, half_life=15)
    changes = TopicReader(kafka_bootstrap, topic_prefix + "lead-stage-changes")
    with running_pipeline(env, ("worker",)):
        wait_until_scoring(kafka_bootstrap, topic_prefix)
        t = heat_up(kafka_bootstrap, topic_prefix, "lead-r", views=5)
        changes.until(lambda vs: any(v["to_stage"] == "hot" for v in vs), timeout=60)
    # Stopped (SIGTERM) and started again: the schedule is rebuilt from the recovered table.
    with running_pipeline(env, ("worker",)):
        changes.until(lambda vs: any(v["to_stage"] == "cold" for v in vs), timeout=90)
    expected = [("warm", crossing(t, 15, 20, 9)), ("cold", crossing(t, 15, 20, 4))]
    assert_on_time(decays(changes), expected)
    changes.close()
