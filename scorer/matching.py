"""`where` / `where_traits` conditions: validated once, compiled to plain predicates.

A condition maps a property name to either a scalar (equality; a string containing `*`
is a glob) or a table of operators (`gte`, `gt`, `lte`, `lt`, `in`, `exists`), all of
which must hold. Matching is strict about types: `true` never equals 1, a number never
equals "1", and a comparison against a missing or non-numeric property is simply false.
Globs are case-sensitive and only `*` is special, because URLs legitimately contain `?`
and `[`.
"""

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

Predicate = Callable[[Mapping[str, Any]], bool]
Check = Callable[[Any], bool]

OPERATORS: Final = ("gte", "gt", "lte", "lt", "in", "exists")
_MISSING: Final = object()


# Exact types, not isinstance: bool is an int subclass, and this runs on every event.
_NUMBERS: Final = frozenset({int, float})


def _is_number(value: object) -> bool:
    return value.__class__ in _NUMBERS


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float)  # bool is an int subclass


def _glob(pattern: str) -> Callable[[str], object]:
    parts = (re.escape(part) for part in pattern.split("*"))
    return re.compile(".*".join(parts), re.DOTALL).fullmatch


def _equals(expected: Any) -> Check:
    if isinstance(expected, bool):
        return lambda v: v is expected
    if _is_number(expected):
        return lambda v: v.__class__ in _NUMBERS and v == expected
    if "*" in expected:
        head, _, tail = expected.partition("*")
        if tail == "":  # "/pricing*", the common form: a prefix test, no regex
            return lambda v: v.__class__ is str and v.startswith(head)
        if head == "" and "*" not in tail:  # "*@acme.com"
            return lambda v: v.__class__ is str and v.endswith(tail)
        match = _glob(expected)
        return lambda v: v.__class__ is str and match(v) is not None
    return lambda v: v.__class__ is str and v == expected


def _operator(op: str, arg: Any) -> Check:
    if op == "gte":
        return lambda v: v.__class__ in _NUMBERS and v >= arg
    if op == "gt":
        return lambda v: v.__class__ in _NUMBERS and v > arg
    if op == "lte":
        return lambda v: v.__class__ in _NUMBERS and v <= arg
    if op == "lt":
        return lambda v: v.__class__ in _NUMBERS and v < arg
    if op == "in":
        options = [_equals(item) for item in arg]
        return lambda v: any(option(v) for option in options)
    wanted = bool(arg)  # "exists"; None counts as absent (a cleared CRM field)
    return lambda v: (v is not _MISSING and v is not None) == wanted


def _check(condition: Any) -> Check:
    if not isinstance(condition, Mapping):
        return _equals(condition)  # never true for _MISSING
    checks = [_operator(op, arg) for op, arg in condition.items()]
    if len(checks) == 1:
        return checks[0]
    return lambda v: all(check(v) for check in checks)


def _fused(name: str, condition: Any) -> Predicate | None:
    """One-lookup predicates for the most common single conditions (no nested call)."""
    if isinstance(condition, str):
        head, star, tail = condition.partition("*")
        if not star:
            return lambda props: (v := props.get(name)).__class__ is str and v == condition
        if not tail:
            return lambda props: (v := props.get(name)).__class__ is str and v.startswith(head)
        return None
    if isinstance(condition, Mapping) and len(condition) == 1:
        ((op, arg),) = condition.items()
        if op == "gte":
            return lambda props: (v := props.get(name)).__class__ in _NUMBERS and v >= arg
        if op == "exists":
            wanted = bool(arg)
            return lambda props: (props.get(name) is not None) == wanted
    return None


def compile_where(where: Mapping[str, Any]) -> Predicate:
    """A predicate over a property mapping; `where` must have passed `where_problems`."""
    pairs = [(name, _check(condition)) for name, condition in where.items()]
    if not pairs:
        return lambda props: True
    if len(pairs) == 1:
        fused = _fused(*next(iter(where.items())))
        if fused is not None:
            return fused
        name, check = pairs[0]
        return lambda props: check(props.get(name, _MISSING))
    return lambda props: all(check(props.get(name, _MISSING)) for name, check in pairs)


def _operator_problem(op: str, arg: Any) -> str | None:
    if op not in OPERATORS:
        return f"unknown operator {op!r} (use {', '.join(OPERATORS)})"
    if op == "exists":
        return None if isinstance(arg, bool) else "'exists' takes true or false"
    if op == "in":
        if not isinstance(arg, list) or not arg or not all(_is_scalar(a) for a in arg):
            return "'in' takes a non-empty list of strings or numbers"
        return None
    return None if _is_number(arg) else f"{op!r} takes a number, not {arg!r}"


def where_problems(where: object) -> list[tuple[str, str]]:
    """(field suffix, message) for everything wrong in a `where` table."""
    if not isinstance(where, Mapping):
        return [("", 'must be a table such as { path = "/pricing*" }')]
    problems: list[tuple[str, str]] = []
    for name, condition in where.items():
        if _is_scalar(condition):
            continue
        if not isinstance(condition, Mapping):
            problems.append((f".{name}", "must be a string, number, boolean or operator table"))
            continue
        if not condition:
            problems.append((f".{name}", "empty operator table"))
        for op, arg in condition.items():
            message = _operator_problem(op, arg)
            if message is not None:
                problems.append((f".{name}.{op}", message))
    return problems


def path_of(url: str) -> str:
    """The path of an absolute or relative URL, without query or fragment.

    Hand-rolled instead of urllib.parse.urlsplit because it runs for every page view.
    """
    start = url.find("://")
    if start >= 0:
        slash = url.find("/", start + 3)
        if slash < 0:
            return "/"
        url = url[slash:]
    for mark in ("?", "#"):
        cut = url.find(mark)
        if cut >= 0:
            url = url[:cut]
    return url or "/"
