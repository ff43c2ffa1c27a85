"""Rules files (TOML) to `Rules`, reporting every problem with the id and field it concerns."""

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from schemas.event_types import EVENT_TYPES
from scorer.durations import parse_duration
from scorer.matching import compile_where, where_problems
from scorer.problems import Problem, RulesError
from scorer.rules import Cap, FitRule, Grades, Rule, Rules, Trigger

TOP_KEYS: Final = frozenset({"version", "decay", "stages", "rule", "trigger", "fit"})
RULE_KEYS: Final = frozenset({"id", "event", "points", "where", "where_traits", "cap", "once_per"})
TRIGGER_KEYS: Final = frozenset(
    {"id", "event", "where", "where_traits", "count", "within", "raise_to"}
)
FIT_KEYS: Final = frozenset({"id", "where_traits", "points", "grades"})
RAISE_STAGES: Final = ("warm", "hot")


class _Report:
    """Collects problems for one table of the file (a rule, a trigger, a section)."""

    def __init__(self, problems: list[Problem], kind: str, rule_id: str | None, prefix: str):
        self.problems, self.kind, self.rule_id, self.prefix = problems, kind, rule_id, prefix

    def add(self, field: str, message: str) -> None:
        self.problems.append(
            Problem(self.rule_id, (self.prefix + field).rstrip("."), message, self.kind)
        )

    def unknown_keys(self, table: Mapping[str, Any], allowed: frozenset[str]) -> None:
        for key in sorted(set(table) - allowed):
            self.add(key, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def number(self, table: Mapping[str, Any], key: str, default: float | None = None) -> float:
        value = table.get(key, default)
        if value is None:
            self.add(key, "missing")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            self.add(key, f"must be a number, not {value!r}")
        else:
            return float(value)
        return 0.0

    def duration(self, table: Mapping[str, Any], key: str, required: bool = True) -> float | None:
        value = table.get(key)
        if value is None:
            if required:
                self.add(key, "missing")
            return None
        try:
            seconds = parse_duration(value) if isinstance(value, str) else None
        except ValueError as error:
            self.add(key, str(error))
            return None
        if seconds is None or seconds <= 0:
            self.add(key, f'must be a positive duration such as "14d", not {value!r}')
            return None
        return seconds

    def where(self, table: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = table.get(key, {})
        found = where_problems(value)
        for suffix, message in found:
            self.add(key + suffix, message)
        return {} if found or not isinstance(value, Mapping) else value

    def event(self, table: Mapping[str, Any]) -> str:
        value = table.get("event")
        if value is None:
            self.add("event", 'missing (an event type or "*")')
        elif value != "*" and value not in EVENT_TYPES:
            self.add("event", f"unknown event type {value!r} (known: {', '.join(EVENT_TYPES)}, *)")
        else:
            return str(value)
        return "*"


def _identify(
    problems: list[Problem], kind: str, index: int, table: object, seen: set[str]
) -> _Report | None:
    position = f"{kind}[{index}]."
    if not isinstance(table, Mapping):
        problems.append(Problem(None, position[:-1], "must be a table", kind))
        return None
    rule_id = table.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        problems.append(Problem(None, position + "id", "missing or not a string", kind))
        return _Report(problems, kind, None, position)
    report = _Report(problems, kind, rule_id, "")
    if rule_id in seen:
        report.add("id", "duplicate id (ids are unique across rules, triggers and fit)")
    seen.add(rule_id)
    return report


def _predicate(where: Mapping[str, Any]) -> Any:
    return compile_where(where) if where else None


def _cap(report: _Report, table: Mapping[str, Any]) -> Cap | None:
    value = table.get("cap")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        report.add("cap", 'must be a table such as { points = 10, per = "1d" }')
        return None
    cap_report = _Report(report.problems, report.kind, report.rule_id, report.prefix + "cap.")
    cap_report.unknown_keys(value, frozenset({"points", "per"}))
    points = cap_report.number(value, "points")
    per = cap_report.duration(value, "per")
    if "points" in value and points <= 0:
        cap_report.add("points", "must be positive (it bounds the absolute points per window)")
    return Cap(points, per) if per is not None and points > 0 else None


def _once_per(report: _Report, table: Mapping[str, Any]) -> tuple[str, ...]:
    value = table.get("once_per", [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        report.add("once_per", 'must be a list of property names such as ["video_id"]')
        return ()
    if value and "cap" in table:
        report.add("once_per", "cannot be combined with cap in one rule")
    return tuple(value)


def _rule(report: _Report, table: Mapping[str, Any]) -> Rule:
    report.unknown_keys(table, RULE_KEYS)
    where = report.where(table, "where")
    where_traits = report.where(table, "where_traits")
    return Rule(
        id=str(table.get("id")),
        event=report.event(table),
        points=report.number(table, "points"),
        where=where,
        where_traits=where_traits,
        cap=_cap(report, table),
        once_per=_once_per(report, table),
        matches=compile_where(where),
        matches_traits=_predicate(where_traits),
    )


def _trigger(report: _Report, table: Mapping[str, Any]) -> Trigger:
    report.unknown_keys(table, TRIGGER_KEYS)
    where, where_traits = report.where(table, "where"), report.where(table, "where_traits")
    count = table.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        report.add("count", f"must be a whole number of events >= 1, not {count!r}")
        count = 1
    within = report.duration(table, "within", required=count > 1)
    raise_to = table.get("raise_to")
    if raise_to not in RAISE_STAGES:
        report.add("raise_to", f"must be one of {', '.join(RAISE_STAGES)}, not {raise_to!r}")
    return Trigger(
        id=str(table.get("id")),
        event=report.event(table),
        where=where,
        where_traits=where_traits,
        count=count,
        within=within,
        raise_to=str(raise_to),
        matches=compile_where(where),
        matches_traits=_predicate(where_traits),
    )


def _fit(report: _Report, table: Mapping[str, Any]) -> FitRule:
    report.unknown_keys(table, FIT_KEYS)
    if "where_traits" not in table:
        report.add("where_traits", "missing")
    where_traits = report.where(table, "where_traits")
    return FitRule(
        id=str(table.get("id")),
        where_traits=where_traits,
        points=report.number(table, "points"),
        matches_traits=compile_where(where_traits),
    )


def _grades(problems: list[Problem], value: object) -> Grades:
    report = _Report(problems, "fit", None, "fit.grades.")
    if not isinstance(value, Mapping):
        report.add("", "must be a table such as { A = 40, B = 20, C = 5 }")
        return Grades()
    report.unknown_keys(value, frozenset({"A", "B", "C"}))
    default = Grades()
    grades = Grades(
        report.number(value, "A", default.a),
        report.number(value, "B", default.b),
        report.number(value, "C", default.c),
    )
    if not grades.a >= grades.b >= grades.c:
        report.add("", "grades must satisfy A >= B >= C")
    return grades


def _stages(problems: list[Problem], doc: Mapping[str, Any]) -> tuple[float, float, float]:
    report = _Report(problems, "rule", None, "stages.")
    table = doc.get("stages")
    if not isinstance(table, Mapping):
        report.add("", "missing [stages] table with warm, hot and hysteresis")
        return 25.0, 60.0, 0.0
    report.unknown_keys(table, frozenset({"warm", "hot", "hysteresis"}))
    warm, hot = report.number(table, "warm"), report.number(table, "hot")
    hysteresis = report.number(table, "hysteresis", 0.0)
    if warm >= hot:
        report.add("warm", f"warm ({warm:g}) must be below hot ({hot:g})")
    if warm <= 0:
        report.add("warm", "must be positive so that decay always ends in cold")
    if hysteresis < 0:
        report.add("hysteresis", f"must not be negative, not {hysteresis:g}")
    elif hysteresis >= warm > 0:
        report.add("hysteresis", "must be below warm, or a warm lead would never cool down")
    return warm, hot, hysteresis


def _header(problems: list[Problem], doc: Mapping[str, Any]) -> tuple[str, float]:
    report = _Report(problems, "rule", None, "")
    report.unknown_keys(doc, TOP_KEYS)
    version = doc.get("version")
    if not isinstance(version, str) or not version:
        problem = "missing" if version is None else f"must be a non-empty string, not {version!r}"
        report.add("version", f'{problem} (stamped on every output, e.g. "2026-11-01")')
        version = ""
    decay = doc.get("decay")
    if not isinstance(decay, Mapping):
        report.add("decay", "missing [decay] table with half_life")
        return version, 1.0
    decay_report = _Report(problems, "rule", None, "decay.")
    decay_report.unknown_keys(decay, frozenset({"half_life"}))
    return version, decay_report.duration(decay, "half_life") or 1.0


def _array(problems: list[Problem], doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if key == "fit" and isinstance(value, Mapping) and set(value) == {"grades"}:
        return []  # only [fit.grades], no [[fit]] rules
    if not isinstance(value, list):
        problems.append(Problem(None, key, f"must be an array of tables: [[{key}]]", key))
        return []
    return value


def _fit_section(
    problems: list[Problem], doc: Mapping[str, Any], seen: set[str]
) -> tuple[tuple[FitRule, ...], Grades]:
    fits: list[FitRule] = []
    grade_tables: list[object] = []
    value = doc.get("fit")
    if isinstance(value, Mapping) and "grades" in value:
        grade_tables.append(value["grades"])
    for index, table in enumerate(_array(problems, doc, "fit")):
        report = _identify(problems, "fit", index, table, seen)
        if report is not None:
            # TOML nests [fit.grades] inside the [[fit]] table that precedes it.
            if "grades" in table:
                grade_tables.append(table["grades"])
            fits.append(_fit(report, table))
    if len(grade_tables) > 1:
        problems.append(Problem(None, "fit.grades", "defined more than once", "fit"))
    grades = _grades(problems, grade_tables[0]) if grade_tables else Grades()
    return tuple(fits), grades


def _dispatch(items: tuple[Any, ...]) -> dict[str, tuple[Any, ...]]:
    """Per event type, the items that apply to it in file order ("*" applies to all).

    Key "*" holds the items for types the schemas do not know (yet): only "*" ones.
    """
    return {
        event_type: tuple(item for item in items if item.event in ("*", event_type))
        for event_type in (*EVENT_TYPES, "*")
    }


def _build(doc: Mapping[str, Any]) -> tuple[Rules, list[Problem]]:
    problems: list[Problem] = []
    version, half_life = _header(problems, doc)
    warm, hot, hysteresis = _stages(problems, doc)
    seen: set[str] = set()
    rules, triggers = [], []
    for index, table in enumerate(_array(problems, doc, "rule")):
        report = _identify(problems, "rule", index, table, seen)
        if report is not None:
            rules.append(_rule(report, table))
    for index, table in enumerate(_array(problems, doc, "trigger")):
        report = _identify(problems, "trigger", index, table, seen)
        if report is not None:
            triggers.append(_trigger(report, table))
    fits, grades = _fit_section(problems, doc, seen)
    conditions: list[Rule | Trigger] = [*rules, *triggers]
    path_types = {
        t for t in EVENT_TYPES for c in conditions if c.event in ("*", t) and "path" in c.where
    }
    result = Rules(
        version=version,
        half_life=half_life,
        warm=warm,
        hot=hot,
        hysteresis=hysteresis,
        rules=tuple(rules),
        triggers=tuple(triggers),
        fit=fits,
        grades=grades,
        rules_by_type=_dispatch(tuple(rules)),
        triggers_by_type=_dispatch(tuple(triggers)),
        path_types=frozenset(path_types),
    )
    return result, problems


def _parse(text: str) -> tuple[Rules | None, list[Problem]]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return None, [Problem(None, "(file)", f"not valid TOML: {error}")]
    return _build(doc)


def check_rules(text: str) -> list[Problem]:
    """Every problem in a rules file; an empty list means it is valid."""
    return _parse(text)[1]


def parse_rules(text: str) -> Rules:
    """The rules in `text`; raises RulesError listing every problem."""
    rules, problems = _parse(text)
    if problems or rules is None:
        raise RulesError(problems)
    return rules


def load_rules(path: str | Path) -> Rules:
    """The rules in the file at `path` (UTF-8 TOML)."""
    return parse_rules(Path(path).read_text(encoding="utf-8"))
