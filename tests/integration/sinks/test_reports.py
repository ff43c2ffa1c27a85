"""A small scripted history through Kafka and the sink; the views answer the analyst questions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kafka import KafkaProducer

from leadscore.settings import Settings
from schemas import topics as t
from schemas.events import StoredEvent
from schemas.messages import LeadScore, Outcome
from sinks.query import run_query
from sinks.reports import format_table, report
from tests.integration.sinks.factories import (
    send_events,
    send_json,
    stage_change,
    stored_event,
    wait_count,
)

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _events() -> list[StoredEvent]:
    google = {"campaign": {"source": "google", "medium": "cpc", "name": "fall"}}
    return [
        # Lead A: anonymous visits from Google, identifies, downloads, turns hot.
        stored_event(
            1,
            "page_view",
            anonymous_id="anon-a",
            lead_id=None,
            occurred_at=T0,
            properties={"url": "https://ex.com/pricing"},
            context=google,
        ),
        stored_event(
            2,
            "video_progress",
            anonymous_id="anon-a",
            lead_id=None,
            occurred_at=T0 + DAY,
            context={},
        ),
        stored_event(
            3,
            "identify",
            anonymous_id="anon-a",
            lead_id="a",
            occurred_at=T0 + 2 * DAY,
            properties={},
            traits={"title": "CTO"},
            context={},
        ),
        stored_event(
            4, "download", anonymous_id="anon-a", lead_id="a", occurred_at=T0 + 3 * DAY, context={}
        ),
        # Lead B: clicks a newsletter, gets warm, is lost. Lead C: a direct visit.
        stored_event(
            5,
            "email_click",
            anonymous_id=None,
            lead_id="b",
            occurred_at=T0,
            properties={"campaign_id": "nov"},
            context={"campaign": {"source": "newsletter", "medium": "email"}},
        ),
        stored_event(
            6,
            "page_view",
            anonymous_id=None,
            lead_id="c",
            occurred_at=T0 + DAY,
            properties={"url": "/careers"},
            context={},
        ),
    ]


def _scores() -> list[LeadScore]:
    def score(lead: str, value: float, stage: str, at: datetime) -> LeadScore:
        return LeadScore(lead_id=lead, score=value, stage=stage, at=_iso(at), rules_version="v1")

    return [
        score("a", 6, "warm", T0 + 2 * DAY),
        score("a", 13, "hot", T0 + 3 * DAY),
        score("b", 4, "warm", T0),
        score("c", 1, "cold", T0 + DAY),
    ]


def _changes() -> list[Any]:
    return [
        stage_change(1, lead_id="a", from_stage="cold", to_stage="warm", at=_iso(T0 + 2 * DAY)),
        stage_change(2, lead_id="a", from_stage="warm", to_stage="hot", at=_iso(T0 + 3 * DAY)),
        stage_change(3, lead_id="b", from_stage="cold", to_stage="warm", at=_iso(T0)),
    ]


def _outcomes() -> list[Outcome]:
    return [
        Outcome(lead_id="a", outcome="sql", at=_iso(T0 + 4 * DAY), outcome_id="o1"),
        Outcome(
            lead_id="a",
            outcome="won",
            amount=5000,
            at=_iso(T0 + 10 * DAY),
            outcome_id="o2",
            traits={"customer_status": "customer"},
        ),
        Outcome(lead_id="b", outcome="sql", at=_iso(T0 + DAY), outcome_id="o3"),
        Outcome(lead_id="b", outcome="lost", at=_iso(T0 + 5 * DAY), outcome_id="o4"),
    ]


@pytest.fixture
def history(
    settings: Settings, prefix: str, producer: KafkaProducer, start_sink: Callable[..., Any]
) -> Settings:
    send_events(producer, prefix, _events())
    for s in _scores():
        send_json(producer, prefix + t.LEAD_SCORES, s.lead_id, s.model_dump_json())
    for c in _changes():
        send_json(producer, prefix + t.LEAD_STAGE_CHANGES, c.lead_id, c.model_dump_json())
    for o in _outcomes():
        send_json(producer, prefix + t.LEAD_OUTCOMES, o.lead_id, o.model_dump_json())
    rejected = {"received_at": _iso(T0), "reason": "invalid", "raw": "{}", "errors": []}
    send_json(producer, prefix + t.EVENTS_REJECTED, "", rejected)
    producer.flush()
    start_sink()
    for table, n in [
        ("events", 6),
        ("lead_scores", 4),
        ("lead_stage_changes", 3),
        ("outcomes", 4),
        ("events_rejected", 1),
    ]:
        wait_count(settings, table, n)
    return settings


def _rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    return run_query(settings, sql).rows


def test_leads_current_merges_identity_scores_and_crm_feedback(history: Settings) -> None:
    rows = _rows(
        history,
        "SELECT lead_id, stage, score, first_seen, first_touch_source, "
        "first_touch_campaign, customer_status, traits, outcome_traits "
        "FROM leads_current ORDER BY lead_id",
    )
    assert rows == [
        (
            "a",
            "hot",
            13.0,
            _iso(T0),
            "google",
            "fall",
            "won",
            '{"title":"CTO"}',
            '{"customer_status":"customer"}',
        ),
        ("b", "warm", 4.0, _iso(T0), "newsletter", "", "lost", "", ""),
        ("c", "cold", 1.0, _iso(T0 + DAY), "(direct)", "", "", "", ""),
    ]


def test_views_answer_the_analyst_questions(history: Settings) -> None:
    hot = _rows(history, "SELECT lead_id, score_now < score_at_last_update FROM hot_leads_now")
    assert hot == [("a", True)]  # decayed: 13 points weeks ago are worth less now
    assert _rows(history, "SELECT lead_id, hours_to_hot FROM time_to_hot") == [("a", 72.0)]
    assert _rows(
        history,
        "SELECT stage_at_handoff, leads, won, conversion_rate, revenue "
        "FROM conversion_by_handoff_stage",
    ) == [("warm", 1, 0, 0.0, 0.0), ("hot", 1, 1, 1.0, 5000.0)]
    channels = _rows(
        history, "SELECT source, leads, became_hot, won FROM channel_performance ORDER BY source"
    )
    assert channels == [("(direct)", 1, 0, 0), ("google", 1, 1, 1), ("newsletter", 1, 0, 0)]
    content = _rows(history, "SELECT content, hot_leads FROM content_before_hot ORDER BY content")
    assert content == [("download:whitepaper", 1), ("page:/pricing", 1), ("video:demo", 1)]
    funnel = _rows(history, "SELECT day, to_stage, leads, promotions FROM stage_funnel_daily")
    assert funnel == [
        ("2026-11-01", "warm", 1, 1),
        ("2026-11-03", "warm", 1, 1),
        ("2026-11-04", "hot", 1, 1),
    ]


def test_report_and_table(history: Settings) -> None:
    sections = report(history)
    assert len(sections) == 7
    text = "\n\n".join(f"{title}\n{format_table(result)}" for title, result in sections)
    assert "Hot leads now" in text and "google" in text
    hot_table = format_table(sections[0][1]).splitlines()
    assert hot_table[0].startswith("lead_id") and set(hot_table[1]) <= {"-", " "}
