"""Fit over traits, graded A-D; identify events and update_traits carry traits."""

import pytest
from scorer_rulebook import BASE, SPEC, T0, identify

from scorer import apply_event, new_state, parse_rules, update_traits
from scorer.fit import grade

RULES = parse_rules(SPEC)


@pytest.mark.parametrize(
    ("points", "expected"), [(40, "A"), (39.9, "B"), (20, "B"), (5, "C"), (4.9, "D"), (-3, "D")]
)
def test_grades(points: float, expected: str) -> None:
    assert grade(points, RULES.grades) == expected


def test_identify_traits_are_merged_and_fit_regraded() -> None:
    update = apply_event(new_state(), identify("i1", T0, title="VP Marketing"), RULES)
    assert update.state.traits == {"title": "VP Marketing"}
    assert (update.fit_grade, update.state.fit_points) == ("B", 20.0)
    update = apply_event(update.state, identify("i2", T0 + 1, employees=1200), RULES)
    assert update.state.traits == {"title": "VP Marketing", "employees": 1200}
    assert update.fit_grade == "A"


def test_identify_events_score_when_rules_match() -> None:
    rules = parse_rules(BASE + "[[rule]]\nid = 'known'\nevent = 'identify'\npoints = 4\n")
    assert apply_event(new_state(), identify("i", T0, email="x@y.z"), rules).score == 4.0


def test_update_traits_regrades_and_none_removes() -> None:
    state = update_traits(new_state(), {"title": "CEO", "employees": 900}, T0, RULES).state
    assert state.fit_grade == "A"
    update = update_traits(state, {"employees": None}, T0, RULES)
    assert update.state.traits == {"title": "CEO"} and update.fit_grade == "B"
    assert update.contributions == () and update.score == 0.0


def test_titles_are_matched_case_sensitively() -> None:
    assert update_traits(new_state(), {"title": "vp sales"}, T0, RULES).fit_grade == "D"
