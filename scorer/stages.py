"""Stages cold < warm < hot with hysteresis, so a score hovering at a threshold does not flap."""

from typing import Final

from schemas.event_types import STAGES
from scorer.rules import Rules

RANK: Final[dict[str, int]] = {stage: rank for rank, stage in enumerate(STAGES)}


def stage_for(score: float, previous: str, rules: Rules) -> str:
    """hot if score >= hot, or it was hot and score >= hot - h; else warm likewise; else cold."""
    h = rules.hysteresis
    if score >= rules.hot or (previous == "hot" and score >= rules.hot - h):
        return "hot"
    if score >= rules.warm or (previous != "cold" and score >= rules.warm - h):
        return "warm"
    return "cold"


def exit_threshold(stage: str, rules: Rules) -> float | None:
    """The score below which a lead leaves `stage` downwards; None for cold."""
    if stage == "hot":
        return rules.hot - rules.hysteresis
    if stage == "warm":
        return rules.warm - rules.hysteresis
    return None


def lower(stage: str) -> str:
    return STAGES[max(RANK[stage] - 1, 0)]


def higher_of(a: str, b: str) -> str:
    return a if RANK[a] >= RANK[b] else b
