"""A scripted, realistic day of B2B website and email traffic, for the demo and benchmarks.

Personas follow the brief: researchers read product and pricing pages, watch the demo
video and download the white paper; some fill the contact form (and so identify);
newsletter readers open and click; casual visitors bounce; job seekers read careers.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

SITE = "https://www.acme-analytics.test"
PRODUCT_PAGES = ["/product", "/product/pipelines", "/product/integrations", "/product/security"]
BLOG_PAGES = ["/blog/what-is-lead-scoring", "/blog/kafka-at-scale", "/blog/q3-roadmap"]
TITLES = ["CTO", "VP Engineering", "Head of Data", "Data Engineer", "Student", "Director of IT"]
COMPANIES = ["Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises"]
UTM = [
    ("google", "cpc", "brand-q4"),
    ("linkedin", "paid-social", "cto-webinar"),
    ("newsletter", "email", "nov-digest"),
    (None, None, None),
]


@dataclass(frozen=True)
class Visitor:
    anonymous_id: str
    persona: str
    lead_id: str | None


def _page(
    v: Visitor, at: datetime, path: str, dwell_s: int, utm: tuple[Any, ...]
) -> dict[str, Any]:
    url = SITE + path
    if utm[0]:
        url += f"?utm_source={utm[0]}&utm_medium={utm[1]}&utm_campaign={utm[2]}"
    return {
        "event_id": str(uuid.uuid4()),
        "type": "page_view",
        "anonymous_id": v.anonymous_id,
        "occurred_at": at.isoformat(),
        "properties": {"url": url, "dwell_ms": dwell_s * 1000},
    }


def _event(
    v: Visitor, at: datetime, kind: str, properties: dict[str, Any], by_lead: bool = False
) -> dict[str, Any]:
    who = {"lead_id": v.lead_id} if by_lead else {"anonymous_id": v.anonymous_id}
    return {
        "event_id": str(uuid.uuid4()),
        "type": kind,
        **who,
        "occurred_at": at.isoformat(),
        "properties": properties,
    }


def _researcher(v: Visitor, rng: random.Random, t: datetime) -> list[dict[str, Any]]:
    utm = rng.choice(UTM)
    out = [_page(v, t, "/", rng.randint(5, 40), utm)]
    for _ in range(rng.randint(2, 5)):
        t += timedelta(seconds=rng.randint(30, 240))
        out.append(_page(v, t, rng.choice(PRODUCT_PAGES), rng.randint(10, 120), utm))
    for _ in range(rng.randint(1, 3)):
        t += timedelta(seconds=rng.randint(30, 300))
        out.append(_page(v, t, "/pricing", rng.randint(20, 90), utm))
    t += timedelta(seconds=rng.randint(30, 300))
    for percent in (10, 25, 50, 75, 100)[: rng.choice([3, 5, 5])]:
        out.append(_event(v, t, "video_progress", {"video_id": "product-tour", "percent": percent}))
        t += timedelta(seconds=20)
    if rng.random() < 0.7:
        out.append(
            _event(
                v, t, "download", {"asset_id": "wp-streaming-scoring", "asset_type": "whitepaper"}
            )
        )
    if v.lead_id:
        t += timedelta(seconds=rng.randint(60, 600))
        out.append(_event(v, t, "form_submit", {"form_id": "contact-sales"}))
        out.append(
            {
                "event_id": str(uuid.uuid4()),
                "type": "identify",
                "anonymous_id": v.anonymous_id,
                "lead_id": v.lead_id,
                "occurred_at": t.isoformat(),
                "traits": {
                    "email": f"{v.lead_id}@{rng.choice(COMPANIES).lower()}.test",
                    "title": rng.choice(TITLES),
                    "company": rng.choice(COMPANIES),
                },
            }
        )
        out.extend(_return_visit(v, rng, t + timedelta(minutes=rng.randint(60, 180))))
    return out


def _return_visit(v: Visitor, rng: random.Random, t: datetime) -> list[dict[str, Any]]:
    """Known leads come back: the second look at pricing is what makes a lead hot."""
    out = []
    for path in [*rng.sample(PRODUCT_PAGES, 3), "/pricing", "/pricing/enterprise"]:
        out.append(_page(v, t, path, rng.randint(15, 150), UTM[3]))
        t += timedelta(seconds=rng.randint(30, 200))
    for percent in (25, 50, 75, 100):
        out.append(
            _event(v, t, "video_progress", {"video_id": "customer-story", "percent": percent})
        )
        t += timedelta(seconds=30)
    out.append(_event(v, t, "download", {"asset_id": "roi-guide", "asset_type": "whitepaper"}))
    return out


def _reader(v: Visitor, rng: random.Random, t: datetime) -> list[dict[str, Any]]:
    out = [
        _event(
            v,
            t,
            "email_open",
            {"campaign_id": "nov-digest", "message_id": v.anonymous_id},
            by_lead=True,
        )
    ]
    if rng.random() < 0.6:
        t += timedelta(minutes=rng.randint(1, 30))
        out.append(
            _event(
                v,
                t,
                "email_click",
                {"campaign_id": "nov-digest", "url": SITE + "/blog/q3-roadmap"},
                by_lead=True,
            )
        )
        out.append(_page(v, t, rng.choice(BLOG_PAGES), rng.randint(20, 200), UTM[2]))
    return out


def _casual(v: Visitor, rng: random.Random, t: datetime) -> list[dict[str, Any]]:
    return [_page(v, t, rng.choice(BLOG_PAGES), rng.randint(3, 25), rng.choice(UTM))]


def _job_seeker(v: Visitor, rng: random.Random, t: datetime) -> list[dict[str, Any]]:
    return [
        _page(v, t, "/", 5, UTM[3]),
        _page(v, t + timedelta(seconds=30), "/careers", 90, UTM[3]),
        _page(v, t + timedelta(seconds=200), "/careers/backend-engineer", 120, UTM[3]),
    ]


PERSONAS = {
    "researcher": _researcher,
    "reader": _reader,
    "casual": _casual,
    "job-seeker": _job_seeker,
}
WEIGHTS = {"researcher": 0.35, "reader": 0.2, "casual": 0.3, "job-seeker": 0.15}


def day_of_traffic(visitors: int, end: datetime, seed: int = 7) -> list[dict[str, Any]]:
    """Events of `visitors` people over the 10 hours before `end`, in time order."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for i in range(visitors):
        persona = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        identified = persona == "reader" or (persona == "researcher" and rng.random() < 0.6)
        visitor = Visitor(
            f"anon-{seed}-{i:03d}", persona, f"lead-{seed}-{i:03d}" if identified else None
        )
        start = end - timedelta(hours=10) + timedelta(minutes=rng.randint(0, 480))
        events.extend(PERSONAS[persona](visitor, rng, start))
    events.sort(key=lambda e: e["occurred_at"])
    return events
