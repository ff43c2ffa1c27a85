"""Changes to a private copy of a lead's state, shared by the engine and merging.

Every function here mutates the LeadState it is given: callers pass a fresh copy
(LeadState.copy) and only replace, never mutate, the containers it shares.
"""

from collections.abc import Mapping
from typing import Any

from scorer.credits import Contribution
from scorer.decay import add_credit, credit_rule, crossing_time, halved, value_at
from scorer.fit import evaluate
from scorer.outputs import StageChange, Update
from scorer.rules import Rules
from scorer.stages import exit_threshold, lower
from scorer.state import LeadState


def score_at(state: LeadState, t: float, rules: Rules) -> float:
    """The decayed score at time `t`."""
    return value_at(state.score_ref, state.t_ref, t, rules.half_life)


def next_crossing(state: LeadState, rules: Rules) -> float | None:
    """When decay alone takes the lead out of its stage: t_ref + H * log2(S / theta).

    theta is the stage's exit threshold (threshold minus hysteresis). None for cold
    leads and scores that never reach it. The crossing instant belongs to the lower stage.
    """
    theta = exit_threshold(state.stage, rules)
    if theta is None:
        return None
    return crossing_time(state.score_ref, state.t_ref, theta, rules.half_life)


def demote(s: LeadState, until: float, rules: Rules) -> list[StageChange]:
    """Decay demotions of `s` (a private copy) up to `until`, each at its crossing time."""
    changes: list[StageChange] = []
    while (when := next_crossing(s, rules)) is not None and when <= until:
        to = lower(s.stage)
        score = score_at(s, when, rules)
        changes.append(StageChange(s.stage, to, score, when, "decay", None, None))
        s.stage = to
    return changes


# Sums of rules that a new rules version no longer has are folded into one entry, so the
# per-rule sums stay bounded across versions and still add up to the score.
RETIRED = "(retired rules)"


def _fold_retired(s: LeadState, rules: Rules) -> None:
    current = {r.id for r in rules.rules} | {t.id for t in rules.triggers}
    sums = {k: v for k, v in s.sums.items() if k in current}
    times = {k: v for k, v in s.sum_times.items() if k in current}
    for rule_id, value in s.sums.items():
        if rule_id not in current:
            since = s.sum_times[rule_id]
            old = sums.get(RETIRED)
            if old is None:
                sums[RETIRED], times[RETIRED] = value, since
            else:
                sums[RETIRED], times[RETIRED] = add_credit(
                    old, times[RETIRED], value, since, rules.half_life
                )
    s.sums, s.sum_times = sums, times


def restamp(s: LeadState, rules: Rules) -> None:
    """Stamp `rules`' version on s, keeping its sums (see the engine's docstring)."""
    folded = s.folded
    if (
        s.credit_log is None
        and s.count_log is None
        and not s.caps
        and not folded.sums
        and not folded.times
        and not folded.once
        and not folded.counters
    ):
        # Nothing to keep or drop (a new lead's state): what _restamp_held leaves, without
        # building the sets of rule ids and new empty containers (their values are equal).
        s.fit_points, s.fit_grade = evaluate(s.traits, rules)
        s.version = rules.version
        s.half_life = rules.half_life
        return
    _restamp_held(s, rules)


def _restamp_held(s: LeadState, rules: Rules) -> None:
    """restamp for a state that holds sums, cap windows, once_per keys or counter times."""
    _fold_retired(s, rules)
    capped = {r.id for r in rules.rules if r.cap is not None}
    keyed = {r.id for r in rules.rules if r.once_per}
    counted = {t.id for t in rules.triggers if t.count > 1}
    s.caps = {k: v for k, v in s.caps.items() if k in capped}
    s.once = {k: v for k, v in s.once.items() if k in keyed}
    s.counters = {k: v for k, v in s.counters.items() if k in counted}
    s.fit_points, s.fit_grade = evaluate(s.traits, rules)
    s.version = rules.version
    s.half_life = rules.half_life


def set_traits(s: LeadState, traits: Mapping[str, Any], rules: Rules) -> None:
    """Merge traits (a None value removes the trait) and re-grade fit."""
    merged = {**s.traits, **traits}
    s.traits = {k: v for k, v in merged.items() if v is not None}
    s.fit_points, s.fit_grade = evaluate(s.traits, rules)


def book(s: LeadState, added: list[Contribution], rules: Rules) -> None:
    """Add credits to the score and the per-rule sums; s.t_ref is already >= their times."""
    h, ref, score = rules.half_life, s.t_ref, s.score_ref
    sums, times = dict(s.sums), dict(s.sum_times)
    for c in added:
        points, at = c.points, c.at
        score += points if at == ref else points * halved((at - ref) / h)
        credit_rule(sums, times, c.rule_id, points, at, h)
    s.score_ref, s.sums, s.sum_times = score, sums, times


def result(
    s: LeadState, at: float, added: list[Contribution], changes: list[StageChange], rules: Rules
) -> Update:
    """The Update for a step that ends with state `s`, reported as of `at`."""
    last = changes[-1] if changes else None
    score = s.score_ref if at == s.t_ref else score_at(s, at, rules)
    return Update(s, score, s.stage, at, s.fit_grade, tuple(added), last, False, tuple(changes))
