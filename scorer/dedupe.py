"""Applied event ids, remembered as short digests with their event day, pruned by event time."""

import base64
import hashlib

from scorer.limits import DEDUPE_DAYS, DEDUPE_IDS, DEDUPE_PRUNE_AT, DIGEST_BYTES

DAY = 86400.0


def digest(event_id: str) -> str:
    raw = hashlib.blake2b(event_id.encode(), digest_size=DIGEST_BYTES).digest()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def remember(seen: dict[str, int], key: str, at: float, latest: float) -> dict[str, int]:
    """A new map with `key` added; `latest` is the lead's latest event time."""
    updated = dict(seen)
    updated[key] = int(at // DAY)
    if len(updated) >= DEDUPE_PRUNE_AT:
        updated = _prune(updated, int(latest // DAY))
    return updated


def _prune(seen: dict[str, int], today: int) -> dict[str, int]:
    """Keep the newest DEDUPE_IDS ids plus every id of the last DEDUPE_DAYS days.

    Days are whole UTC days, so the day before the 7-day cut-off is kept as well: an id
    is never forgotten less than 7 days after its event time.
    """
    newest_first = sorted(seen.items(), key=lambda item: item[1], reverse=True)
    oldest_day_kept = today - DEDUPE_DAYS - 1
    return {
        key: day
        for rank, (key, day) in enumerate(newest_first)
        if rank < DEDUPE_IDS or day >= oldest_day_kept
    }


def union(a: dict[str, int], b: dict[str, int], latest: float) -> dict[str, int]:
    merged = {**b, **a}
    return _prune(merged, int(latest // DAY)) if len(merged) >= DEDUPE_PRUNE_AT else merged
