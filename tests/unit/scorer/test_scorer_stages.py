"""Stages with hysteresis, exact decay crossings, several demotions in one advance."""

import math

import pytest
from scorer_rulebook import BASE, T0, H, event

from scorer import advance, apply_event, new_state, next_crossing, parse_rules, rescore
from scorer.stages import stage_for

RULES = parse_rules(BASE)


@pytest.mark.parametrize(
    ("score", "previous", "expected"),
    [
        (60, "cold", "hot"),
        (59.9, "cold", "warm"),
        (55, "hot", "hot"),
        (54.9, "hot", "warm"),
        (25, "cold", "warm"),
        (24.9, "cold", "cold"),
        (20, "warm", "warm"),
        (20, "hot", "warm"),
        (19.9, "warm", "cold"),
        (19.9, "hot", "cold"),
        (57, "warm", "warm"),
    ],
)
def test_hysteresis(score: float, previous: str, expected: str) -> None:
    assert stage_for(score, previous, RULES) == expected


def points_rules(points: float) -> str:
    return BASE + f"[[rule]]\nid = 'p'\nevent = 'form_submit'\npoints = {points}\n"


def test_next_crossing_uses_the_exit_threshold() -> None:
    rules = parse_rules(points_rules(100))
    state = apply_event(new_state(), event("a", "form_submit", T0), rules).state
    assert next_crossing(state, rules) == pytest.approx(T0 + H * math.log2(100 / 55), rel=1e-15)
    cold = rescore([], rules)[0]
    assert next_crossing(cold, rules) is None


def test_advance_past_two_crossings_reports_both() -> None:
    rules = parse_rules(points_rules(100))
    state = apply_event(new_state(), event("a", "form_submit", T0), rules).state
    update = advance(state, T0 + 100 * H, rules)
    assert [(c.from_stage, c.to_stage, c.cause) for c in update.changes] == [
        ("hot", "warm", "decay"),
        ("warm", "cold", "decay"),
    ]
    assert update.change == update.changes[-1]
    assert [c.at for c in update.changes] == pytest.approx(
        [T0 + H * math.log2(100 / 55), T0 + H * math.log2(100 / 20)], rel=1e-15
    )
    assert [c.score for c in update.changes] == pytest.approx([55.0, 20.0], rel=1e-12)
    assert update.stage == "cold" and update.state.stage == "cold"
    assert update.score == pytest.approx(100 * 2.0**-100, rel=1e-12)
    assert advance(update.state, T0 + 200 * H, rules).changes == ()


def test_an_event_after_an_unadvanced_crossing_demotes_first() -> None:
    rules = parse_rules(points_rules(100))
    state = apply_event(new_state(), event("a", "form_submit", T0), rules).state
    later = T0 + H * math.log2(100 / 30)  # score 30 when the next event arrives
    update = apply_event(state, event("b", "form_submit", later), rules)
    assert [(c.from_stage, c.to_stage, c.cause) for c in update.changes] == [
        ("hot", "warm", "decay"),
        ("warm", "hot", "event"),
    ]
    assert update.score == pytest.approx(130.0, rel=1e-12)


def test_hysteresis_keeps_a_hot_lead_hot_above_hot_minus_h() -> None:
    rules = parse_rules(points_rules(60))
    state = apply_event(new_state(), event("a", "form_submit", T0), rules).state
    assert advance(state, T0 + H * math.log2(60 / 56), rules).change is None
