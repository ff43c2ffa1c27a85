"""Rules files: the full language parses; every problem is reported with its id and field."""

from pathlib import Path

import pytest
from scorer_rulebook import BASE, SPEC

from scorer import Problem, RulesError, check_rules, load_rules, parse_rules
from scorer.durations import parse_duration

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "rules.toml"


def messages(text: str) -> list[str]:
    return [str(p) for p in check_rules(text)]


def test_the_spec_example_parses() -> None:
    rules = parse_rules(SPEC)
    assert (rules.version, rules.half_life, rules.warm, rules.hot, rules.hysteresis) == (
        "v1",
        14 * 86400.0,
        25.0,
        60.0,
        5.0,
    )
    pricing = next(r for r in rules.rules if r.id == "pricing")
    assert pricing.cap is not None and (pricing.cap.points, pricing.cap.per) == (10.0, 86400.0)
    assert next(r for r in rules.rules if r.id == "video-half").once_per == ("video_id",)
    busy = next(t for t in rules.triggers if t.id == "busy-researcher")
    assert (busy.count, busy.within, busy.raise_to) == (10, 30 * 86400.0, "hot")
    assert [f.id for f in rules.fit] == ["decision-maker", "big-company"]
    assert (rules.grades.a, rules.grades.b, rules.grades.c) == (40.0, 20.0, 5.0)
    assert [r.id for r in rules.rules_by_type["page_view"]] == [
        "any-page",
        "pricing",
        "long-read",
        "careers",
    ]
    assert [t.id for t in rules.triggers_by_type["email_open"]] == ["dormant-customer-returns"]


def test_the_shipped_default_rules_are_valid() -> None:
    assert check_rules(DEPLOY.read_text(encoding="utf-8")) == []
    rules = load_rules(DEPLOY)
    assert (rules.half_life, rules.warm, rules.hot, rules.hysteresis) == (
        14 * 86400.0,
        25.0,
        60.0,
        5.0,
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("45s", 45.0), ("15m", 900.0), ("36h", 129600.0), ("14d", 1209600.0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["1x", "14", "d", "1.5d", "1d12h", " 1d", "-1d"])
def test_malformed_durations(text: str) -> None:
    with pytest.raises(ValueError, match="use 45s, 15m, 36h, 14d"):
        parse_duration(text)


def test_problem_message_names_rule_and_field() -> None:
    text = SPEC.replace('per = "1d"', 'per = "1x"')
    assert messages(text) == [
        "rule 'pricing': field 'cap.per': malformed duration '1x' (use 45s, 15m, 36h, 14d)"
    ]
    problem = Problem("pricing", "cap.per", "malformed duration '1x' (use 45s, 15m, 36h, 14d)")
    assert str(problem) == messages(text)[0]


BROKEN = """
version = "v2"
colour = "blue"
[decay]
half_life = "2w"
[stages]
warm = 70
hot = 60
hysteresis = -1
[[rule]]
id = "a"
event = "page_vue"
points = "five"
[[rule]]
id = "a"
event = "page_view"
points = 1
where = { path = { like = "/x*" }, dwell_ms = ["a"], n = { gte = "x" }, m = { in = [] } }
once_per = "video_id"
bogus = 1
[[rule]]
event = "download"
points = 1
[[trigger]]
id = "t"
event = "*"
count = 3
raise_to = "lukewarm"
[[fit]]
id = "f"
points = 1
[fit.grades]
A = 1
B = 2
D = 0
"""


def test_every_problem_is_reported_at_once() -> None:
    found = messages(BROKEN)
    expected = [
        "field 'colour': unknown key",
        "field 'decay.half_life': malformed duration '2w'",
        "field 'stages.warm': warm (70) must be below hot (60)",
        "field 'stages.hysteresis': must not be negative, not -1",
        "rule 'a': field 'event': unknown event type 'page_vue'",
        "rule 'a': field 'points': must be a number, not 'five'",
        "rule 'a': field 'id': duplicate id",
        "rule 'a': field 'where.path.like': unknown operator 'like'",
        "rule 'a': field 'where.dwell_ms': must be a string, number, boolean or operator table",
        "rule 'a': field 'where.n.gte': 'gte' takes a number",
        "rule 'a': field 'where.m.in': 'in' takes a non-empty list",
        "rule 'a': field 'once_per': must be a list of property names",
        "rule 'a': field 'bogus': unknown key",
        "field 'rule[2].id': missing or not a string",
        "trigger 't': field 'within': missing",
        "trigger 't': field 'raise_to': must be one of warm, hot, not 'lukewarm'",
        "fit 'f': field 'where_traits': missing",
        "field 'fit.grades.D': unknown key",
        "field 'fit.grades': grades must satisfy A >= B >= C",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in found), (start, found)
    with pytest.raises(RulesError) as raised:
        parse_rules(BROKEN)
    assert [str(p) for p in raised.value.problems] == found


def test_missing_version_and_sections() -> None:
    found = messages("[[rule]]\nid = 'x'\nevent = 'custom'\npoints = 1\n")
    assert any(line.startswith("field 'version': missing") for line in found)
    assert any(line.startswith("field 'decay': missing") for line in found)
    assert any(line.startswith("field 'stages': missing [stages]") for line in found)


def test_warm_equal_to_hot_and_hysteresis_too_large() -> None:
    text = BASE.replace("warm = 25", "warm = 60").replace("hysteresis = 5", "hysteresis = 61")
    found = messages(text)
    assert any("warm (60) must be below hot (60)" in line for line in found)
    assert any("hysteresis" in line and "below warm" in line for line in found)


def test_bad_where_types_and_cap_tables() -> None:
    text = BASE + (
        "[[rule]]\nid = 'r'\nevent = 'page_view'\npoints = 1\n"
        "where = 'pricing'\ncap = { points = 0, per = '1d', every = 2 }\n"
        "[[trigger]]\nid = 'r2'\nevent = 'email_open'\nraise_to = 'hot'\n"
        "where_traits = { plan = { exists = 'yes' } }\ncount = 0\n"
    )
    found = messages(text)
    for start in [
        "rule 'r': field 'where': must be a table",
        "rule 'r': field 'cap.every': unknown key",
        "rule 'r': field 'cap.points': must be positive",
        "trigger 'r2': field 'where_traits.plan.exists': 'exists' takes true or false",
        "trigger 'r2': field 'count': must be a whole number of events >= 1",
    ]:
        assert any(line.startswith(start) for line in found), (start, found)


def test_ids_are_unique_across_rules_triggers_and_fit() -> None:
    text = SPEC.replace('id = "decision-maker"', 'id = "pricing"')
    assert messages(text) == [
        "fit 'pricing': field 'id': duplicate id (ids are unique across rules, triggers and fit)"
    ]


def test_invalid_toml_is_one_problem() -> None:
    found = messages("version = ")
    assert len(found) == 1 and found[0].startswith("field '(file)': not valid TOML")


def test_grades_without_fit_rules_and_defaults() -> None:
    rules = parse_rules(BASE + "[fit.grades]\nA = 10\nB = 5\nC = 1\n")
    assert rules.fit == () and rules.grades.a == 10.0
    assert parse_rules(BASE).grades.c == 5.0


def test_version_must_be_a_string() -> None:
    found = messages(BASE.replace('version = "v1"', "version = 2026"))
    assert found == [
        "field 'version': must be a non-empty string, not 2026 "
        '(stamped on every output, e.g. "2026-11-01")'
    ]
