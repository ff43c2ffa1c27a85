"""`leadscore replay` re-scores retained history under new rules into the replay topics only."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scorer import parse_rules
from tests.integration.streams.worker_io import page_views, reference_scores, topic_record
from tests.kafka_io import TopicReader, produce
from tests.processes import leadscore, stage_env

NEW_RULES = """
version = "2026-12-01-webinar-boost"
[decay]
half_life = "10d"
[stages]
warm = 5
hot = 9
[[rule]]
id = "any-page"
event = "page_view"
points = 2
"""


def test_replay_writes_only_replay_topics_with_the_new_version(
    tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    events = page_views(leads=5, per_lead=6, start=time.time() - 3_600)
    produce(kafka_bootstrap, [topic_record(topic_prefix, e) for e in events])
    rules_file = tmp_path / "new.toml"
    rules_file.write_text(NEW_RULES)
    env = stage_env(tmp_path / "var", kafka_bootstrap, topic_prefix)

    result = leadscore("replay", "--rules", str(rules_file), env=env)
    assert result.returncode == 0, result.stderr
    assert f"replayed {len(events)} events of 5 profiles" in result.stdout

    replayed = TopicReader(kafka_bootstrap, topic_prefix + "lead-scores-replay")
    values = replayed.until(lambda vs: len(vs) >= len(events), timeout=30)
    assert {v["rules_version"] for v in values} == {"2026-12-01-webinar-boost"}
    latest = {v["lead_id"]: v["score"] for v in values}
    expected = reference_scores(events, parse_rules(NEW_RULES))
    assert latest == pytest.approx(expected, rel=1e-9)
    changes = TopicReader(kafka_bootstrap, topic_prefix + "lead-stage-changes-replay")
    assert changes.until(lambda vs: any(v["to_stage"] == "hot" for v in vs), timeout=30)
    # The live outputs are untouched.
    live = TopicReader(kafka_bootstrap, topic_prefix + "lead-scores")
    live.poll()
    live.poll()
    assert live.messages == []
    for reader in (replayed, changes, live):
        reader.close()


def test_replay_refuses_a_broken_rules_file(
    tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(NEW_RULES.replace('half_life = "10d"', 'half_life = "ten days"'))
    result = leadscore(
        "replay",
        "--rules",
        str(broken),
        env=stage_env(tmp_path / "var", kafka_bootstrap, topic_prefix),
    )
    assert result.returncode == 1
    assert "half_life" in result.stderr
