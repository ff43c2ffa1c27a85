"""`where` conditions: equality, globs, comparisons, in, exists; `path` derived from `url`."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorer.engine import _holds, _Where
from scorer.matching import cached_path, compile_where, path_of

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


@pytest.mark.parametrize(("where", "props", "expected"), CASES)
def test_the_engine_decides_conditions_as_compiled(
    where: dict[str, Any], props: dict[str, Any], expected: bool
) -> None:
    """The engine's checks (native where it can, and answered once for no properties at
    all: a lead without traits) agree with compile_where."""
    held = _Where(where, compile_where(where))
    assert _holds(held, dict(props), None) is expected
    assert held.on_empty is compile_where(where)({})


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


URL_PARTS = st.sampled_from(
    [
        "https://",
        "http://",
        "//",
        "",
        "acme.test",
        ":8080",
        "/",
        "/a",
        "/pricing",
        "?",
        "#",
        "=",
        "&",
        "x",
        "://",
        "é",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(URL_PARTS, st.text(max_size=3)), max_size=8).map("".join))
def test_cached_path_is_path_of(url: str) -> None:
    for _ in range(2):  # the second call reads the cache
        assert cached_path(url) == path_of(url)
        assert type(cached_path(url)) is str


def test_cached_paths_come_out_the_same_from_the_cache_and_past_its_bound() -> None:
    urls = [f"https://acme.test/p{i % 700}?q={i}#f" if i % 3 else f"/p/{i}" for i in range(9_000)]
    for _ in range(2):  # the second round reads the cache (or refills it past its bound)
        for url in urls:
            assert cached_path(url) == path_of(url)


class _OddStr(str):
    """A str that hashes and compares like another: the cache must not answer for it."""

    def __hash__(self) -> int:
        return hash("https://acme.test/pricing")

    def __eq__(self, other: object) -> bool:
        return True

    __ne__ = str.__ne__


def test_a_str_subclass_is_not_answered_from_the_cache() -> None:
    assert cached_path("https://acme.test/pricing") == "/pricing"
    assert cached_path(_OddStr("https://acme.test/careers?x")) == "/careers"
