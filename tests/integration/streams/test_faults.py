"""Fault tests on the real broker: the worker is killed mid-stream, alone or beside another.

Afterwards the final scores equal the pure scorer's fold over the same events and, after
dropping repeats by change_id, the stage changes equal the reference sequence exactly.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from scorer import parse_rules
from tests.integration.streams.worker_io import (
    changes_by_lead,
    latest_by_lead,
    page_views,
    reference_changes,
    reference_scores,
    same_changes,
    topic_record,
    wait_until_scoring,
)
from tests.kafka_io import TopicReader, produce
from tests.processes import running_pipeline, stage_env

RULES = """
version = "fault-test"
[decay]
half_life = "7d"
[stages]
warm = 10
hot = 25
hysteresis = 3
[[rule]]
id = "any-page"
event = "page_view"
points = 1
[[rule]]
id = "pricing"
event = "page_view"
where = { path = "/pricing*" }
points = 4
cap = { points = 12, per = "1h" }
[[rule]]
id = "careers"
event = "page_view"
where = { path = "/careers*" }
points = -8
"""
EVENTS = 20_000
LEADS = 200


@pytest.fixture
def workload() -> list[dict[str, Any]]:
    # Recent events, so no decay crossing falls inside the test: only the events decide.
    return page_views(LEADS, EVENTS // LEADS, start=time.time() - 7_200, spacing=0.3)


def env_for(tmp_path: Path, name: str, bootstrap: str, prefix: str) -> dict[str, str]:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    return stage_env(tmp_path / name, bootstrap, prefix, LEADSCORE_RULES=str(rules))


def kill_when_busy(worker: Any, scores: TopicReader) -> None:
    """kill -9 once a quarter of the events are scored: mid-stream, mid-batch."""
    scores.until(lambda vs: len(vs) >= EVENTS // 4, timeout=120)
    worker.send_signal(signal.SIGKILL)
    worker.wait()


def assert_exact(
    events: list[dict[str, Any]], bootstrap: str, prefix: str, scores: TopicReader
) -> None:
    rules = parse_rules(RULES)
    last_id = {e["lead_id"]: e["event_id"] for e in events}

    def settled(_: object) -> bool:
        # After a crash the restarted worker re-emits earlier scores before it catches up,
        # so wait until each lead's latest score is its last event's (compacted-topic view).
        latest = latest_by_lead(scores.messages)
        return all(latest.get(lead, {}).get("event_id") == eid for lead, eid in last_id.items())

    scores.until(settled, timeout=240)
    latest = latest_by_lead(scores.messages)
    latest.pop("probe", None)
    expected = reference_scores(events, rules)
    assert set(latest) == set(expected)
    for lead, score in expected.items():
        assert latest[lead]["score"] == pytest.approx(score, rel=1e-9), lead
    reference = reference_changes(events, rules, until=time.time())
    changes = TopicReader(bootstrap, prefix + "lead-stage-changes")
    total = sum(map(len, reference.values()))
    changes.until(
        lambda _: sum(map(len, changes_by_lead(changes.messages).values())) >= total, timeout=60
    )
    got = changes_by_lead(changes.messages)
    got.pop("probe", None)
    assert same_changes(got, reference)
    changes.close()


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def test_worker_killed_mid_stream_and_restarted(
    tmp_path: Path,
    kafka_bootstrap: str,
    topic_prefix: str,
    workload: list[dict[str, Any]],
    stack: ExitStack,
) -> None:
    env = env_for(tmp_path, "var", kafka_bootstrap, topic_prefix)
    scores = TopicReader(kafka_bootstrap, topic_prefix + "lead-scores")
    with running_pipeline(env, ("worker",)) as first:
        wait_until_scoring(kafka_bootstrap, topic_prefix)
        produce(kafka_bootstrap, [topic_record(topic_prefix, e) for e in workload])
        kill_when_busy(first.children["worker"], scores)
    stack.enter_context(running_pipeline(env, ("worker",)))
    assert_exact(workload, kafka_bootstrap, topic_prefix, scores)
    scores.close()


def test_one_of_two_workers_killed_mid_stream(
    tmp_path: Path,
    kafka_bootstrap: str,
    topic_prefix: str,
    workload: list[dict[str, Any]],
    stack: ExitStack,
) -> None:
    scores = TopicReader(kafka_bootstrap, topic_prefix + "lead-scores")
    survivor = stack.enter_context(
        running_pipeline(env_for(tmp_path, "a", kafka_bootstrap, topic_prefix), ("worker",))
    )
    with running_pipeline(
        env_for(tmp_path, "b", kafka_bootstrap, topic_prefix), ("worker",)
    ) as victim:
        wait_until_scoring(kafka_bootstrap, topic_prefix)
        produce(kafka_bootstrap, [topic_record(topic_prefix, e) for e in workload])
        kill_when_busy(victim.children["worker"], scores)
    assert survivor.children["worker"].poll() is None
    assert_exact(workload, kafka_bootstrap, topic_prefix, scores)
    scores.close()
