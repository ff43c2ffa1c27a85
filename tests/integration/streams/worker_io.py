"""Wire events for worker tests, and the pure scorer's reference answers."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from schemas.timestamps import format_epoch
from scorer import Rules, StageChange, advance, apply_event, new_state, rescore, score_at
from streams.conversion import scoring_event


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
