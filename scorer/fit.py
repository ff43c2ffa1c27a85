"""Fit: explicit data (title, company size, ...) scored apart from behaviour, graded A-D."""

from collections.abc import Mapping
from typing import Any

from scorer.rules import Grades, Rules


def fit_points(traits: Mapping[str, Any], rules: Rules) -> float:
    return float(sum(f.points for f in rules.fit if f.matches_traits(traits)))


def grade(points: float, grades: Grades) -> str:
    """A, B or C at or above their thresholds; D below C."""
    if points >= grades.a:
        return "A"
    if points >= grades.b:
        return "B"
    if points >= grades.c:
        return "C"
    return "D"


def evaluate(traits: Mapping[str, Any], rules: Rules) -> tuple[float, str]:
    points = fit_points(traits, rules)
    return points, grade(points, rules.grades)
