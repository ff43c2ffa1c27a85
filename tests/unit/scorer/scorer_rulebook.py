"""Rules texts and event builders shared by the scorer tests (a plain module, not a conftest)."""

from typing import Any

from scorer import ScoringEvent

T0 = 1_800_000_000.0  # a fixed event time: the scorer never reads the clock
DAY = 86_400.0
H = 14 * DAY

# Capped rules over page views (test_scorer_cap_windows, test_scorer_small_rows): caps whose
# CAP_LATENESS is a whole number of windows (1d: 2, 1h: 48, 2d: 1, 45s: 3840) and caps where
# it is not (36h, 5d, 7s), one with a partial last credit (4 credits a day), one negative.
CAPS = """
[[rule]]
id = "day"
event = "page_view"
points = 1
cap = { points = 3, per = "1d" }
[[rule]]
id = "day-partial"
event = "page_view"
points = 3
cap = { points = 10, per = "1d" }
[[rule]]
id = "long"
event = "page_view"
points = 2
cap = { points = 4, per = "36h" }
[[rule]]
id = "hour"
event = "page_view"
points = 1
cap = { points = 2, per = "1h" }
[[rule]]
id = "two-days"
event = "page_view"
points = -2
cap = { points = 5, per = "2d" }
[[rule]]
id = "five-days"
event = "page_view"
points = 1
cap = { points = 2, per = "5d" }
[[rule]]
id = "seconds"
event = "page_view"
points = 1
cap = { points = 1, per = "7s" }
[[rule]]
id = "minute"
event = "page_view"
points = 1
cap = { points = 2, per = "45s" }
"""

BASE = """
version = "v1"
[decay]
half_life = "14d"
[stages]
warm = 25
hot = 60
hysteresis = 5
"""

SPEC = (
    BASE
    + """
[[rule]]
id = "any-page"
event = "page_view"
points = 1
[[rule]]
id = "pricing"
event = "page_view"
where = { path = "/pricing*" }
points = 5
cap = { points = 10, per = "1d" }
[[rule]]
id = "long-read"
event = "page_view"
where = { dwell_ms = { gte = 30000 } }
points = 2
[[rule]]
id = "video-half"
event = "video_progress"
where = { percent = { gte = 50 } }
points = 3
once_per = ["video_id"]
[[rule]]
id = "careers"
event = "page_view"
where = { path = "/careers*" }
points = -10
[[rule]]
id = "form"
event = "form_submit"
points = 30
[[trigger]]
id = "dormant-customer-returns"
event = "*"
where_traits = { customer_status = "dormant" }
raise_to = "hot"
[[trigger]]
id = "busy-researcher"
event = "page_view"
count = 10
within = "30d"
where_traits = { email = { exists = true } }
raise_to = "hot"
[[fit]]
id = "decision-maker"
where_traits = { title = { in = ["CEO", "CTO", "VP*", "Head*", "Director*"] } }
points = 20
[[fit]]
id = "big-company"
where_traits = { employees = { gte = 500 } }
points = 25
[fit.grades]
A = 40
B = 20
C = 5
"""
)


def view(event_id: str, at: float, path: str = "/", **props: Any) -> ScoringEvent:
    return ScoringEvent(event_id, "page_view", at, {"url": f"https://acme.test{path}", **props})


def event(event_id: str, kind: str, at: float, **props: Any) -> ScoringEvent:
    return ScoringEvent(event_id, kind, at, props)


def identify(event_id: str, at: float, **traits: Any) -> ScoringEvent:
    return ScoringEvent(event_id, "identify", at, {}, traits)
