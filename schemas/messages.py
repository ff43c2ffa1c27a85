"""Output messages: what downstream systems (CRM, alerting, ClickHouse) subscribe to."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.event_types import Cause, Stage


class Contribution(BaseModel):
    rule_id: str
    points: float
    event_id: str | None = None


class LeadScore(BaseModel):
    """On `lead-scores` (compacted, keyed by lead): the latest score of a lead."""

    model_config = ConfigDict(extra="forbid")

    lead_id: str
    score: float = Field(description="decayed score as of `at`")
    stage: Stage
    at: str = Field(description="ISO-8601 UTC: the latest event time applied")
    rules_version: str
    fit_grade: str = "D"
    identified: bool = True
    event_id: str | None = None
    half_life_s: float | None = Field(
        default=None, description="the rules' half-life, to decay `score` from `at` to now"
    )
    contributions: list[Contribution] = Field(default_factory=list)


class StageChangeMessage(BaseModel):
    """On `lead-stage-changes`: a lead moved between cold, warm and hot."""

    model_config = ConfigDict(extra="forbid")

    lead_id: str
    from_stage: Stage
    to_stage: Stage
    score: float
    at: str = Field(description="ISO-8601 UTC: when the change happened (event or crossing time)")
    cause: Cause
    event_id: str | None = None
    rules_version: str
    change_id: str = Field(description="deterministic: drop repeats by this id")
    fit_grade: str = "D"
    identified: bool = True
    rule_id: str | None = None
    contributions: list[Contribution] = Field(default_factory=list)


class RejectedEvent(BaseModel):
    """On `events-rejected`: what the collector refused, and why."""

    model_config = ConfigDict(extra="forbid")

    received_at: str
    reason: str
    errors: list[dict[str, Any]] = Field(default_factory=list)
    index: int | None = None
    raw: str


class Outcome(BaseModel):
    """On `lead-outcomes`: what sales reported back from the CRM."""

    model_config = ConfigDict(extra="forbid")

    lead_id: str = Field(min_length=1, max_length=128)
    outcome: Literal["sql", "opportunity", "won", "lost"]
    amount: float | None = None
    at: str | None = None
    outcome_id: str | None = None
    traits: dict[str, Any] = Field(default_factory=dict)
