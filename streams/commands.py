"""Messages on the internal `scoring-input` topic, keyed by profile id.

Everything that changes a profile's score passes through its partition, so one
agent owns each profile and the order per profile is the topic's order.
"""

from __future__ import annotations

from typing import Any, Final

EVENT: Final = "event"  # {"kind", "event": StoredEvent JSON}
MERGE_OUT: Final = "merge_out"  # {"kind", "into": lead}: sent to the anonymous profile
ABSORB: Final = "absorb"  # {"kind", "from": profile, "state": dict}: sent to the lead
TICK: Final = "tick"  # {"kind", "due": epoch s}: a decay crossing is due
TRAITS: Final = "traits"  # {"kind", "traits": {...}, "at": epoch s}: CRM outcomes

ANON_PREFIX: Final = "anon:"


def anonymous_profile(anonymous_id: str) -> str:
    return ANON_PREFIX + anonymous_id


def is_anonymous(profile: str) -> bool:
    return profile.startswith(ANON_PREFIX)


def event_command(event: dict[str, Any]) -> dict[str, Any]:
    return {"kind": EVENT, "event": event}


def merge_out(into: str) -> dict[str, Any]:
    return {"kind": MERGE_OUT, "into": into}


def absorb(source: str, state: dict[str, Any]) -> dict[str, Any]:
    return {"kind": ABSORB, "from": source, "state": state}


def tick(due: float) -> dict[str, Any]:
    return {"kind": TICK, "due": due}


def traits(values: dict[str, Any], at: float) -> dict[str, Any]:
    return {"kind": TRAITS, "traits": values, "at": at}
