"""Applied event ids, remembered as short digests with their event week, pruned by event time."""

import binascii
from hashlib import blake2b

from scorer.limits import DEDUPE_BUCKET, DEDUPE_IDS, DEDUPE_PRUNE_AT, DIGEST_BYTES, DIGEST_WIDTH


def digest(event_id: str) -> str:
    """11 base64 characters of an 8-byte BLAKE2b digest (the "=" padding is dropped)."""
    raw = blake2b(event_id.encode(), digest_size=DIGEST_BYTES).digest()
    return binascii.b2a_base64(raw, newline=False)[:DIGEST_WIDTH].decode("ascii")


def bucket(at: float) -> int:
    return int(at // DEDUPE_BUCKET)


def remember(seen: dict[str, int], key: str, at: float, latest: float) -> dict[str, int]:
    """A new map with `key` added; `latest` is the lead's latest event time."""
    updated = dict(seen)
    updated[key] = bucket(at)
    if len(updated) >= DEDUPE_PRUNE_AT:
        updated = _prune(updated, bucket(latest))
    return updated


def _prune(seen: dict[str, int], current: int) -> dict[str, int]:
    """Keep the newest DEDUPE_IDS ids plus every id of the current and previous week.

    Keeping whole weeks means an id is never forgotten less than 7 days after its event
    time, as measured against the lead's latest event.
    """
    newest_first = sorted(seen.items(), key=lambda item: item[1], reverse=True)
    return {
        key: week
        for rank, (key, week) in enumerate(newest_first)
        if rank < DEDUPE_IDS or week >= current - 1
    }


def union(a: dict[str, int], b: dict[str, int], latest: float) -> dict[str, int]:
    merged = {**b, **a}
    return _prune(merged, bucket(latest)) if len(merged) >= DEDUPE_PRUNE_AT else merged
