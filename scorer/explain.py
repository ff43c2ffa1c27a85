"""Why a lead has its score: the score at T broken down by rule, down to recent credits.

Each rule's value is its exactly decayed sum, so the rule values add up to the score.
The latest credits (see limits.RECENT_CREDITS) are listed one by one with their decayed
value; `earlier` is the rest of the rule's value, from credits no longer listed.
"""

from dataclasses import dataclass

from scorer.decay import value_at
from scorer.ledger import score_at
from scorer.rules import Rules
from scorer.state import LeadState


@dataclass(frozen=True, slots=True)
class CreditExplanation:
    event_id: str
    points: float  # as credited at `at`
    at: float
    value: float  # decayed to the explanation time
    displaced: bool


@dataclass(frozen=True, slots=True)
class RuleExplanation:
    rule_id: str  # a rule or trigger id
    value: float  # decayed to the explanation time
    credits: tuple[CreditExplanation, ...]
    earlier: float  # value of older credits not listed one by one


@dataclass(frozen=True, slots=True)
class Explanation:
    score: float
    at: float
    rules_version: str
    stage: str
    fit_grade: str
    fit_points: float
    rules: tuple[RuleExplanation, ...]  # largest absolute value first


def explain(state: LeadState, t: float, rules: Rules) -> Explanation:
    h = rules.half_life
    by_rule: list[RuleExplanation] = []
    for rule_id, value in state.sums.items():
        since = state.sum_times[rule_id]
        credits = tuple(
            CreditExplanation(
                c.event_id, c.points, c.at, value_at(c.points, c.at, t, h), c.displaced
            )
            for c in state.recent
            if c.rule_id == rule_id
        )
        total = value_at(value, since, t, h)
        by_rule.append(
            RuleExplanation(rule_id, total, credits, total - sum(c.value for c in credits))
        )
    by_rule.sort(key=lambda r: -abs(r.value))
    return Explanation(
        score=score_at(state, t, rules),
        at=t,
        rules_version=state.version,
        stage=state.stage,
        fit_grade=state.fit_grade,
        fit_points=state.fit_points,
        rules=tuple(by_rule),
    )
