"""Wire JSON <-> scorer types, and scorer updates -> output messages."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import orjson

from schemas.timestamps import format_epoch
from scorer import Rules, ScoringEvent, StageChange, Update, change_id

log = logging.getLogger("leadscore.worker")


def decoded(raw: bytes | None, what: str) -> dict[str, Any] | None:
    """A message value as a JSON object; anything else is logged and skipped (None)."""
    try:
        value = orjson.loads(raw) if raw is not None else None
    except orjson.JSONDecodeError as exc:
        log.error("undecodable %s skipped: %s", what, exc)
        return None
    if not isinstance(value, dict):
        log.error("%s skipped: not a JSON object but %s", what, type(value).__name__)
        return None
    return value


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()  # Python 3.11 reads a "Z" itself


def scoring_event(stored: dict[str, Any]) -> ScoringEvent:
    return ScoringEvent(
        event_id=str(stored["event_id"]),
        type=stored["type"],
        at=epoch(stored["occurred_at"]),
        properties=stored.get("properties") or {},
        traits=stored.get("traits") or {},
    )


def _contributions(update: Update) -> list[dict[str, Any]]:
    return [
        {"rule_id": c.rule_id, "points": c.points, "event_id": c.event_id}
        for c in update.contributions
    ]


def score_message(
    profile: str, update: Update, rules: Rules, identified: bool, event_id: str | None
) -> dict[str, Any]:
    return {
        "lead_id": profile,
        "score": update.score,
        "stage": update.stage,
        "at": format_epoch(update.at),
        "rules_version": rules.version,
        "fit_grade": update.fit_grade,
        "identified": identified,
        "event_id": event_id,
        "half_life_s": rules.half_life,
        "contributions": _contributions(update),
    }


def change_message(
    profile: str, change: StageChange, update: Update, version: str, identified: bool
) -> dict[str, Any]:
    return {
        "lead_id": profile,
        "from_stage": change.from_stage,
        "to_stage": change.to_stage,
        "score": change.score,
        "at": format_epoch(change.at),
        "cause": change.cause,
        "event_id": change.event_id,
        "rules_version": version,
        "change_id": change_id(profile, change),
        "fit_grade": update.fit_grade,
        "identified": identified,
        "rule_id": change.rule_id,
        "contributions": _contributions(update),
    }


def outcome_traits(outcome: dict[str, Any], now: float) -> tuple[dict[str, Any], float]:
    """CRM feedback as lead traits, so rules can use them (`where_traits`).

    A won deal makes the lead a customer unless the CRM said otherwise; any traits the
    CRM sent (customer_status = "dormant", say) are taken as they are.
    """
    traits: dict[str, Any] = {"last_outcome": outcome["outcome"]}
    if outcome["outcome"] == "won":
        traits["customer_status"] = "customer"
    traits.update(outcome.get("traits") or {})
    at = epoch(outcome["at"]) if outcome.get("at") else now
    return traits, at
