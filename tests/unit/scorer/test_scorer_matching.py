"""`where` conditions: equality, globs, comparisons, in, exists; `path` derived from `url`."""

from typing import Any

import pytest

from scorer.matching import compile_where, path_of

CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"plan": "pro"}, {"plan": "pro"}, True),
    ({"plan": "pro"}, {"plan": "Pro"}, False),  # case-sensitive
    ({"plan": "pro"}, {}, False),
    ({"path": "/pricing*"}, {"path": "/pricing/enterprise"}, True),
    ({"path": "/pricing*"}, {"path": "/pricing"}, True),
    ({"path": "/pricing*"}, {"path": "/en/pricing"}, False),
    ({"path": "*/pricing"}, {"path": "/en/pricing"}, True),
    ({"path": "/a?b*"}, {"path": "/aXb"}, False),  # only * is special
    ({"path": "/a?b*"}, {"path": "/a?b=1"}, True),
    ({"percent": 50}, {"percent": 50.0}, True),
    ({"percent": 50}, {"percent": "50"}, False),  # strict types
    ({"machine": True}, {"machine": 1}, False),
    ({"machine": True}, {"machine": True}, True),
    ({"dwell_ms": {"gte": 30000}}, {"dwell_ms": 30000}, True),
    ({"dwell_ms": {"gte": 30000}}, {"dwell_ms": 29999}, False),
    ({"dwell_ms": {"gt": 30000}}, {"dwell_ms": 30000}, False),
    ({"dwell_ms": {"lte": 10}}, {"dwell_ms": 10}, True),
    ({"dwell_ms": {"lt": 10}}, {"dwell_ms": 10}, False),
    ({"dwell_ms": {"gte": 1}}, {"dwell_ms": "900"}, False),
    ({"dwell_ms": {"gte": 1}}, {"dwell_ms": True}, False),
    ({"dwell_ms": {"gte": 1}}, {}, False),
    ({"n": {"gte": 1, "lt": 5}}, {"n": 4}, True),
    ({"n": {"gte": 1, "lt": 5}}, {"n": 5}, False),
    ({"title": {"in": ["CEO", "VP*"]}}, {"title": "VP Sales"}, True),
    ({"title": {"in": ["CEO", "VP*"]}}, {"title": "CEO"}, True),
    ({"title": {"in": ["CEO", "VP*"]}}, {"title": "Intern"}, False),
    ({"title": {"in": ["CEO", "VP*"]}}, {}, False),
    ({"size": {"in": [10, 20]}}, {"size": 20}, True),
    ({"email": {"exists": True}}, {"email": "a@b.c"}, True),
    ({"email": {"exists": True}}, {"email": None}, False),
    ({"email": {"exists": True}}, {}, False),
    ({"machine": {"exists": False}}, {}, True),
    ({"machine": {"exists": False}}, {"machine": False}, False),
    ({"a": 1, "b": "x*"}, {"a": 1, "b": "xy"}, True),
    ({"a": 1, "b": "x*"}, {"a": 2, "b": "xy"}, False),
    ({}, {"anything": 1}, True),
]


@pytest.mark.parametrize(("where", "props", "expected"), CASES)
def test_conditions(where: dict[str, Any], props: dict[str, Any], expected: bool) -> None:
    assert compile_where(where)(props) is expected


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://acme.test/pricing?plan=pro#faq", "/pricing"),
        ("https://acme.test", "/"),
        ("https://acme.test/", "/"),
        ("/careers/jobs?x=1", "/careers/jobs"),
        ("http://acme.test:8080/a/b/", "/a/b/"),
        ("", "/"),
    ],
)
def test_path_of_url(url: str, path: str) -> None:
    assert path_of(url) == path
