"""Wire events for worker tests, and the pure scorer's reference answers."""

from __future__ import annotations

import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from schemas.timestamps import format_epoch
from scorer import Rules, StageChange, advance, apply_event, new_state, rescore, score_at
from streams.conversion import epoch, scoring_event
from tests.kafka_io import TopicReader, produce
from tests.processes import stage_env

PATHS = ["/", "/product", "/pricing", "/pricing/enterprise", "/careers", "/blog"]


def worker_env(
    tmp_path: Path, bootstrap: str, prefix: str, rules: str, **extra: str
) -> dict[str, str]:
    """A worker's environment: `rules` (TOML) in tmp_path/rules.toml, its state in tmp_path/var."""
    path = tmp_path / "rules.toml"
    path.write_text(rules)
    return stage_env(tmp_path / "var", bootstrap, prefix, LEADSCORE_RULES=str(path), **extra)


def stored_event(
    kind: str,
    at: float,
    *,
    lead: str | None = None,
    anon: str | None = None,
    properties: dict[str, Any] | None = None,
    traits: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A StoredEvent as the collector writes it."""
    return {
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "anonymous_id": anon,
        "lead_id": lead,
        "occurred_at": format_epoch(at),
        "received_at": format_epoch(at),
        "properties": properties or {},
        "traits": traits or {},
        "context": {},
        "flags": [],
    }


def topic_record(prefix: str, event: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    topic = prefix + "events-" + event["type"].replace("_", "-")
    return topic, event["anonymous_id"] or event["lead_id"], event


def reference_scores(events: Iterable[dict[str, Any]], rules: Rules) -> dict[str, float]:
    """Per lead, the pure scorer's score at the lead's last event time."""
    by_lead: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_lead[e["lead_id"]].append(e)
    out = {}
    for lead, history in by_lead.items():
        state, _ = rescore([scoring_event(e) for e in history], rules)
        out[lead] = score_at(state, state.t_ref, rules)
    return out


def reference_changes(
    events: Iterable[dict[str, Any]], rules: Rules, until: float
) -> dict[str, list[Any]]:
    """Per lead, the stage changes of applying its events in the order given, then the decay
    demotions due by `until` (the worker's timers emit those on the wall clock)."""
    states: dict[str, Any] = defaultdict(new_state)
    changes: dict[str, list[Any]] = defaultdict(list)
    for e in events:
        update = apply_event(states[e["lead_id"]], scoring_event(e), rules)
        states[e["lead_id"]] = update.state
        changes[e["lead_id"]].extend(_change_key(c) for c in update.changes)
    for lead, state in states.items():
        changes[lead].extend(_change_key(c) for c in advance(state, until, rules).changes)
    return {lead: found for lead, found in changes.items() if found}


def _change_key(change: StageChange) -> tuple[str, str, float]:
    return (change.to_stage, change.cause, round(change.at, 3))


def wait_until_scoring(bootstrap: str, prefix: str) -> None:
    """The worker is live once it scores a probe event (start-up includes table recovery)."""
    probe = stored_event("page_view", time.time() - 3600, lead="probe", properties={"url": "/"})
    produce(bootstrap, [topic_record(prefix, probe)])
    scores = TopicReader(bootstrap, prefix + "lead-scores")
    scores.until(lambda vs: any(v["event_id"] == probe["event_id"] for v in vs), timeout=90)
    scores.close()


def page_views(
    leads: int, per_lead: int, start: float, seed: int = 1, spacing: float = 60.0
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    events = []
    for i in range(leads * per_lead):
        lead = f"lead-{rng.randrange(leads)}"
        url = "https://acme.test" + rng.choice(PATHS)
        events.append(
            stored_event(
                "page_view",
                start + i * spacing + rng.random() * spacing,
                lead=lead,
                properties={"url": url},
            )
        )
    return events


def latest_by_lead(messages: list[tuple[str | None, Any]]) -> dict[str, Any]:
    """The last event-caused score per lead (decay ticks also publish the decayed score)."""
    latest: dict[str, Any] = {}
    for _, value in messages:
        if value["event_id"]:
            latest[value["lead_id"]] = value
    return latest


def changes_by_lead(messages: list[tuple[str | None, Any]]) -> dict[str, list[Any]]:
    seen, out = set(), {}
    for _, c in messages:
        if c["change_id"] in seen:
            continue  # consumers drop repeats by change_id
        seen.add(c["change_id"])
        out.setdefault(c["lead_id"], []).append((c["to_stage"], c["cause"], epoch(c["at"])))
    return out


def same_changes(got: dict[str, list[Any]], want: dict[str, list[Any]]) -> bool:
    """Equal stages and causes; times equal to the millisecond the wire format carries."""

    def shape(d: dict[str, list[Any]]) -> dict[str, list[tuple[str, str]]]:
        return {lead: [(c[0], c[1]) for c in cs] for lead, cs in d.items()}

    assert shape(got) == shape(want)
    return all(
        abs(a[2] - b[2]) < 0.0015
        for lead in want
        for a, b in zip(got[lead], want[lead], strict=True)
    )
