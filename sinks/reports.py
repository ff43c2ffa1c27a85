"""The analyst reports behind `leadscore report`: the shipped views, as plain-text tables."""

from __future__ import annotations

from typing import Final

from leadscore.settings import Settings
from sinks.query import QueryResult, run_query

# Rows per report on a terminal; the views hold everything for a real query.
REPORT_LIMIT: Final = 20

REPORTS: Final[tuple[tuple[str, str], ...]] = (
    ("Hot leads now (score decayed to this moment)", "SELECT * FROM hot_leads_now"),
    ("Stage funnel by day", "SELECT * FROM stage_funnel_daily ORDER BY day DESC"),
    (
        "Time from first touch to hot (hours)",
        "SELECT count() AS leads, round(avg(hours_to_hot), 1) AS mean, "
        "round(quantile(0.5)(hours_to_hot), 1) AS median, "
        "round(quantile(0.9)(hours_to_hot), 1) AS p90 FROM time_to_hot",
    ),
    ("Conversion by stage at hand-off", "SELECT * FROM conversion_by_handoff_stage"),
    ("Leads and conversions by first-touch channel", "SELECT * FROM channel_performance"),
    ("Content seen in the 7 days before turning hot", "SELECT * FROM content_before_hot"),
    ("Score distribution (decayed to now)", "SELECT * FROM score_distribution"),
)


def report(settings: Settings) -> list[tuple[str, QueryResult]]:
    """Every report, titled, at most REPORT_LIMIT rows each."""
    return [(title, run_query(settings, f"{sql} LIMIT {REPORT_LIMIT}")) for title, sql in REPORTS]


def format_table(result: QueryResult) -> str:
    """A plain-text table: header, rule, rows; numbers right-aligned."""
    if not result.columns:
        return "(no columns)"
    cells = [[_cell(v) for v in row] for row in result.rows]
    widths = [
        max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(result.columns)
    ]
    numeric = [_numeric([row[i] for row in result.rows]) for i in range(len(result.columns))]
    lines = [_line(result.columns, widths, numeric), "  ".join("-" * w for w in widths)]
    lines += [_line(row, widths, numeric) for row in cells]
    if not cells:
        lines.append("(no rows)")
    return "\n".join(lines)


def _numeric(values: list[object]) -> bool:
    """A column of numbers (NULLs aside) is right-aligned."""
    present = [v for v in values if v is not None]
    return bool(present) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in present
    )


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.0f}"
    return str(value)


def _line(values: list[str], widths: list[int], numeric: list[bool]) -> str:
    parts = [
        v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)
    ]
    return "  ".join(parts).rstrip()
