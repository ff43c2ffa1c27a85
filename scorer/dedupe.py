"""Applied event ids, remembered as short digests bucketed by week of event time.

The in-memory form is the stored form: {week: digests concatenated}, so loading and
saving a state costs nothing per id, and adding one copies a string, not a set. Digests
have a fixed width; a hit only counts at a digest boundary.
"""

from binascii import b2a_base64
from hashlib import blake2b
from typing import Final

from scorer.limits import DEDUPE_BUCKET, DEDUPE_IDS, DEDUPE_PRUNE_AT, DIGEST_BYTES, DIGEST_WIDTH

Seen = dict[int, str]
_PRUNE_CHARS = DEDUPE_PRUNE_AT * DIGEST_WIDTH


# Copied, never updated: a copy skips the keyword parsing and parameter block of a new hasher.
_BLAKE2B: Final = blake2b(digest_size=DIGEST_BYTES)


def digest(event_id: str) -> str:
    """The first 8 base64 characters (48 bits) of an 8-byte BLAKE2b digest."""
    hasher = _BLAKE2B.copy()
    hasher.update(event_id.encode())
    return b2a_base64(hasher.digest())[:DIGEST_WIDTH].decode("ascii")


def bucket(at: float) -> int:
    return int(at // DEDUPE_BUCKET)


def contains(seen: Seen, key: str) -> bool:
    for joined in seen.values():
        found = joined.find(key)
        while found >= 0:
            if found % DIGEST_WIDTH == 0:
                return True
            found = joined.find(key, found + 1)
    return False


def count(seen: Seen) -> int:
    return sum(map(len, seen.values())) // DIGEST_WIDTH


def ids(seen: Seen) -> set[str]:
    return {
        joined[i : i + DIGEST_WIDTH]
        for joined in seen.values()
        for i in range(0, len(joined), DIGEST_WIDTH)
    }


def remember(seen: Seen, key: str, at: float, latest: float) -> Seen:
    """A new map with `key` added; `latest` is the lead's latest event time."""
    week = int(at // DEDUPE_BUCKET)
    updated = dict(seen)
    updated[week] = seen.get(week, "") + key
    held = 0
    for joined in updated.values():  # a plain loop: native when compiled, unlike sum(map(...))
        held += len(joined)
    if held >= _PRUNE_CHARS:
        updated = _prune(updated, bucket(latest))
    return updated


def _prune(seen: Seen, current: int) -> Seen:
    """Keep at least the newest DEDUPE_IDS ids and every id of the current and last week.

    Whole weeks are kept, so an id is never forgotten less than 7 days after its event
    time (measured against the lead's latest event). Older weeks go oldest first, and
    the oldest one kept loses its earliest-applied ids, down to DEDUPE_IDS in total.
    """
    kept: Seen = {}
    total = 0
    for week in sorted(seen, reverse=True):
        joined = seen[week]
        if week < current - 1 and total + len(joined) // DIGEST_WIDTH > DEDUPE_IDS:
            room = max(DEDUPE_IDS - total, 0) * DIGEST_WIDTH
            if room:
                kept[week] = joined[len(joined) - room :]
            break
        kept[week] = joined
        total += len(joined) // DIGEST_WIDTH
    return dict(sorted(kept.items()))


def union(a: Seen, b: Seen, latest: float) -> Seen:
    merged = dict(a)
    for week, joined in b.items():
        mine = merged.get(week, "")
        extra = [
            joined[i : i + DIGEST_WIDTH]
            for i in range(0, len(joined), DIGEST_WIDTH)
            if not contains({0: mine}, joined[i : i + DIGEST_WIDTH])
        ]
        merged[week] = mine + "".join(extra)
    return _prune(merged, bucket(latest)) if count(merged) >= DEDUPE_PRUNE_AT else merged
