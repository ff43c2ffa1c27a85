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

from scorer.memo import Memo

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
    begin = 0
    if start >= 0:
        begin = url.find("/", start + 3)
        if begin < 0:
            return "/"
    # one slice: up to the query or, without one, the fragment (as cutting "?" then "#")
    end = url.find("?", begin)
    if end < 0:
        end = url.find("#", begin)
        if end < 0:
            end = len(url)
    else:
        fragment = url.find("#", begin, end)
        if fragment >= 0:
            end = fragment
    if end <= begin:
        return "/"
    return url[begin:end] if begin or end < len(url) else url


# Paths by url text: path_of costs three or four str.find calls and a slice (~1.1k
# instructions), a lookup ~0.3k.
_PATHS: Final = Memo[str](4096)


def cached_path(url: str) -> str:
    """path_of(url), from the memo when the url was seen lately (exact str only)."""
    if type(url) is not str:
        return path_of(url)
    path = _PATHS.get(url)
    return _PATHS.keep(url, path_of(url)) if path is None else path


# Native checks for the common single conditions, evaluated by the engine without calling a
# predicate object (a generic Python call per rule). Each mirrors a predicate above exactly;
# a `where` with any other condition keeps its compiled predicate (native_checks: None).
EQ_STR: Final = 0  # "text": v is a str equal to it
PREFIX: Final = 1  # "text*": v is a str starting with it
GTE: Final = 2  # { gte = n }, likewise GT, LTE, LT: v is an int or float (not bool)
GT: Final = 3
LTE: Final = 4
LT: Final = 5
EXISTS: Final = 6  # { exists = b }: (v is not None) == b


class Check1:
    """One native check of one property (see native_checks)."""

    def __init__(self, name: str, op: int, text: str, arg: object, wanted: bool) -> None:
        self.name: Final = name
        self.op: Final = op
        self.text: Final = text
        self.arg: Final = arg
        self.wanted: Final = wanted
        self.is_path: Final = name == "path"  # the engine passes the derived path for it


def _checks_of(name: str, condition: Any) -> list[Check1] | None:
    if condition.__class__ is str:
        head, star, tail = condition.partition("*")
        if not star:
            return [Check1(name, EQ_STR, condition, None, False)]
        if not tail:
            return [Check1(name, PREFIX, head, None, False)]
        return None
    if not isinstance(condition, Mapping) or not condition:
        return None
    out: list[Check1] = []
    for op, arg in condition.items():
        if op == "exists" and isinstance(arg, bool):
            out.append(Check1(name, EXISTS, "", None, arg))
        elif op in ("gte", "gt", "lte", "lt") and _is_number(arg):
            code = {"gte": GTE, "gt": GT, "lte": LTE, "lt": LT}[op]
            out.append(Check1(name, code, "", arg, False))
        else:
            return None
    return out


def native_checks(where: Mapping[str, Any]) -> tuple[Check1, ...] | None:
    """`where` as native checks that all must hold, or None if it needs its predicate.

    A missing property reads as None, which fails every check but `exists = false`, as
    in compile_where (where a missing property is never a str or a number either).
    """
    out: list[Check1] = []
    for name, condition in where.items():
        checks = _checks_of(name, condition)
        if checks is None:
            return None
        out.extend(checks)
    return tuple(out)


def check(c: Check1, v: Any) -> bool:
    """One native check against the property's value (None if missing)."""
    op = c.op
    if op == EQ_STR:
        return type(v) is str and v == c.text
    if op == PREFIX:
        return type(v) is str and v.startswith(c.text)
    if op == EXISTS:
        return (v is not None) == c.wanted
    if type(v) is not int and type(v) is not float:
        return False
    arg: Any = c.arg
    if op == GTE:
        return bool(v >= arg)
    if op == GT:
        return bool(v > arg)
    if op == LTE:
        return bool(v <= arg)
    return bool(v < arg)


def holds(checks: tuple[Check1, ...], props: dict[str, Any]) -> bool:
    for c in checks:
        if not check(c, props.get(c.name)):
            return False
    return True
