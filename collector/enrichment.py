"""What the edge adds to a valid event: times, campaign, company domain, privacy, flags.

Pure functions of the event and what the request told us (`Edge`); no I/O.
"""

from __future__ import annotations

import ipaddress
import os
import re
import threading
import uuid
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Final, NamedTuple
from urllib.parse import parse_qs, urlsplit

from collector.limits import MAX_FUTURE
from schemas.events import Event, StoredEvent

# Lowercase substrings of user agents that are robots, crawlers or headless tools.
# Flagged, not dropped: analysts may want them, scoring rules skip them by flag.
_BOT_UA: Final = re.compile(
    r"bot|crawl|spider|slurp|headless|phantomjs|python-requests|curl/|wget|httpclient|"
    r"lighthouse|pingdom|uptimerobot|scanner|facebookexternalhit",
    re.IGNORECASE,
)
_UTM: Final = {"utm_source": "source", "utm_medium": "medium", "utm_campaign": "name",
               "utm_term": "term", "utm_content": "content"}
# A personal mailbox says nothing about the buyer's company.
FREE_MAIL: Final = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com",
    "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "proton.me",
    "protonmail.com", "yandex.ru", "mail.ru", "qq.com", "163.com",
})
# Corrections smaller than this are network latency, not a wrong clock: not flagged.
_SKEW_FLAG: Final = timedelta(seconds=60)


class Edge(NamedTuple):
    """What the request says about every event in it. (A NamedTuple: made once per request,
    and a frozen dataclass takes twice as long to make.)"""

    received_at: datetime
    client_ip: str | None = None
    user_agent: str | None = None
    truncate_ip: bool = True
    sent_at: datetime | None = None  # the client's clock when it sent the request
    body_bytes: int | None = None


def correct_clock(
    occurred: datetime | None, edge: Edge, sent_at: datetime | None
) -> tuple[datetime | None, list[str]]:
    """Segment's rule: occurred = received - (sent - occurred), i.e. the client clock's
    offset removed; then anything > 24 h ahead is clamped to the received time."""
    flags: list[str] = []
    if occurred is None:
        return None, flags
    sent = sent_at or edge.sent_at
    if sent is not None:
        corrected = edge.received_at - max(sent - occurred, timedelta(0))
        if abs(corrected - occurred) > _SKEW_FLAG:
            flags.append("clock_corrected")
        occurred = corrected
    if occurred - edge.received_at > MAX_FUTURE:
        occurred = edge.received_at
        flags.append("clock_clamped")
    return occurred, flags


def enrich(
    event: Event, edge: Edge, flags: list[str], occurred_at: datetime | None = None
) -> StoredEvent:
    """The stored form of a validated event (what StoredEvent.from_event builds, without
    validating a second time: this runs once per event on the hot path)."""
    return enrich_parts(
        event.event_id, event.type, event.anonymous_id, event.lead_id,
        occurred_at or event.occurred_at, event.properties,
        event.traits.model_dump(exclude_none=True) if event.traits else {},
        event.context.model_dump(exclude_none=True) if event.context else {}, edge, flags)


def enrich_parts(
    event_id: uuid.UUID | None, kind: str, anonymous_id: str | None, lead_id: str | None,
    occurred_at: datetime | None, properties: dict[str, Any], traits: dict[str, Any],
    context: dict[str, Any], edge: Edge, flags: list[str],
) -> StoredEvent:
    """`enrich` from a validated event's parts (its dicts as the models dump them, which
    enrichment may change: they must be the caller's own)."""
    flags = list(flags)
    if edge.user_agent and not context.get("user_agent"):
        context["user_agent"] = edge.user_agent
    ip = context.get("ip") if isinstance(context.get("ip"), str) else edge.client_ip
    if ip:
        kept = truncate_ip(ip) if edge.truncate_ip else ip
        if kept:
            context["ip"] = kept
        else:  # not an address: keep nothing rather than something unknown
            context.pop("ip", None)
    campaign = campaign_from_url(page_url(properties, context))
    if campaign:
        existing = context.get("campaign") if isinstance(context.get("campaign"), dict) else {}
        context["campaign"] = {**campaign, **existing}
    domain = company_domain(traits.get("email"))
    if domain and "company_domain" not in traits:
        traits["company_domain"] = domain
    if is_bot(context.get("user_agent")):
        flags.append("bot")
    return stored_event({
        "event_id": event_id or new_event_id(), "type": kind,
        "anonymous_id": anonymous_id, "lead_id": lead_id,
        "occurred_at": occurred_at or edge.received_at,
        "received_at": edge.received_at, "properties": properties, "traits": traits,
        "context": context, "flags": flags,
    })


_STORED_FIELDS: Final = frozenset(StoredEvent.model_fields)


def stored_event(values: dict[str, Any]) -> StoredEvent:
    """StoredEvent.model_construct(**values) for values naming every field, in field order.

    model_construct walks each field for aliases and defaults, a sixth of a batched
    event's cost; StoredEvent has neither aliases, a post-init nor private attributes,
    so setting what model_construct sets is the same object (test_enrichment checks)."""
    event = StoredEvent.__new__(StoredEvent)
    object.__setattr__(event, "__dict__", values)
    object.__setattr__(event, "__pydantic_fields_set__", set(_STORED_FIELDS))
    object.__setattr__(event, "__pydantic_extra__", None)
    object.__setattr__(event, "__pydantic_private__", None)
    return event


class _EventIds:
    """Random (version 4) UUIDs from the OS's random source, 256 at a time.

    uuid.uuid4() makes one getrandom call per id, which lets go of the GIL: with the
    Kafka producer's thread waiting for it, every event then also waited for that thread."""

    _BATCH = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._at = 0

    def __call__(self) -> uuid.UUID:
        with self._lock:
            at = self._at
            if at >= len(self._pool):
                self._pool, at = os.urandom(16 * self._BATCH), 0
            self._at = at + 16
            return v4_uuid(self._pool[at:at + 16])


_V4_CLEAR: Final = ~((0xF000 << 64) | (0xC000 << 48))  # version and variant bits
_V4_SET: Final = (4 << 76) | (0x8000 << 48)  # version 4, RFC 4122 variant
_SAFE_UNKNOWN: Final = uuid.SafeUUID.unknown


def v4_uuid(random16: bytes) -> uuid.UUID:
    """uuid.UUID(bytes=random16, version=4), without UUID.__init__'s argument handling
    (a third of the cost); test_enrichment checks they are equal."""
    made = object.__new__(uuid.UUID)
    object.__setattr__(made, "int", (int.from_bytes(random16, "big") & _V4_CLEAR) | _V4_SET)
    object.__setattr__(made, "is_safe", _SAFE_UNKNOWN)
    return made


new_event_id = _EventIds()


@lru_cache(maxsize=4096)  # the same few IPs and agents repeat within a batch and a burst
def truncate_ip(ip: str) -> str:
    """/24 for IPv4, /48 for IPv6: enough for geography, not enough for a person."""
    parts = ip.strip().split(".")
    octets = len(parts) == 4 and all(p.isascii() and p.isdigit() and len(p) <= 3 for p in parts)
    if octets and all(int(p) < 256 for p in parts):
        return ".".join(parts[:3]) + ".0"  # the common case, without ipaddress's cost
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ""  # not an address: keep nothing rather than something unknown
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def page_url(properties: dict[str, Any], context: dict[str, Any]) -> str | None:
    page = context.get("page")
    for candidate in (properties.get("url"), page.get("url") if isinstance(page, dict) else None):
        if isinstance(candidate, str):
            return candidate
    return None


def campaign_from_url(url: str | None) -> dict[str, str]:
    return dict(_campaign(url)) if url else {}


@lru_cache(maxsize=4096)
def _campaign(url: str) -> tuple[tuple[str, str], ...]:
    query = parse_qs(urlsplit(url).query)
    return tuple((name, query[param][0]) for param, name in _UTM.items() if query.get(param))


def company_domain(email: Any) -> str | None:
    if not isinstance(email, str) or email.count("@") != 1:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower().rstrip(".")
    if "." not in domain or domain in FREE_MAIL:
        return None
    return domain


def is_bot(user_agent: Any) -> bool:
    return isinstance(user_agent, str) and _is_bot(user_agent)


@lru_cache(maxsize=4096)
def _is_bot(user_agent: str) -> bool:
    return bool(_BOT_UA.search(user_agent))
