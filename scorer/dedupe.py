"""Applied event ids, remembered as short digests bucketed by week of event time.

In memory: {week: digests concatenated}, each digest the first 6 bytes (48 bits) of an
8-byte BLAKE2b digest of the id, as 6 latin-1 characters. Stored, each week's digests
are one base64 string (8 characters per id; see state.py), so loading and saving cost
one conversion per week, and adding an id copies one string, not a set. A hit only
counts at a digest boundary.

A state holds its ids in two parts (state.py): `seen`, the map above as loaded or last
pruned, and the ids applied since, in an `IdLog` shared by the lead's successive states.
The log is append-only: a state sees its first `n` entries, and a step appends to it in
place only when that state is the log's newest (len == n), so no earlier state's view
changes; a step from an older state copies its view first. The log keeps the event ids
themselves, one dict entry each, and their weeks as runs; their digests are taken when the
whole map is needed (saving the state, merging, pruning). Adding an id then costs one dict
entry, with no copy of the week map or of a week's string and no hash of the id while the
state is only applied to. (A logged id is matched exactly, so a 48-bit digest collision between two
logged ids, ~4e-11 per lead, no longer counts as a repeat until the state is saved.)
"""

from hashlib import blake2b
from math import floor
from typing import Any, Final, cast

from scorer.limits import DEDUPE_BUCKET, DEDUPE_IDS, DEDUPE_PRUNE_AT, DIGEST_BYTES, ID_BYTES
from scorer.untracked import untracked

try:  # a compile-time hint for mypyc (see credits.py); a no-op without mypy_extensions
    from mypy_extensions import mypyc_attr
except ImportError:  # pragma: no cover

    def mypyc_attr(*args: object, **kwargs: object) -> Any:  # type: ignore[misc]
        return lambda cls: cls


Seen = dict[int, str]
_PRUNE_BYTES = DEDUPE_PRUNE_AT * ID_BYTES


# Copied, never updated: a copy skips the keyword parsing and parameter block of a new hasher.
_BLAKE2B: Final = blake2b(digest_size=DIGEST_BYTES)


def digest(event_id: str) -> str:
    """The first 6 bytes (48 bits) of an 8-byte BLAKE2b digest, as 6 latin-1 characters.

    (Stored as 8 base64 characters. A str, not bytes: str.find is a native operation
    when compiled, bytes.find a method call.)
    """
    hasher = _BLAKE2B.copy()
    hasher.update(event_id.encode())
    return hasher.digest()[:ID_BYTES].decode("latin-1")


def bucket(at: float) -> int:
    """int(at // DEDUPE_BUCKET), without the fmod of float floor division (see below)."""
    if -_EXACT < at < _EXACT:
        week = floor(at / DEDUPE_BUCKET)
        if week * DEDUPE_BUCKET > at:  # exact products: corrects the division's rounding
            return week - 1
        if (week + 1) * DEDUPE_BUCKET <= at:
            return week + 1
        return week
    return int(at // DEDUPE_BUCKET)


_EXACT: Final = 2.0**52  # whole weeks in seconds times a week count stay exact below this


def contains(seen: Seen, key: str) -> bool:
    for joined in seen.values():
        found = joined.find(key)
        while found >= 0:
            if found % ID_BYTES == 0:
                return True
            found = joined.find(key, found + 1)
    return False


def count(seen: Seen) -> int:
    return sum(map(len, seen.values())) // ID_BYTES


def ids(seen: Seen) -> set[str]:
    return {
        joined[i : i + ID_BYTES]
        for joined in seen.values()
        for i in range(0, len(joined), ID_BYTES)
    }


def remember(seen: Seen, key: str, at: float, latest: float) -> Seen:
    """A new map with `key` added; `latest` is the lead's latest event time."""
    week = bucket(at)
    updated = dict(seen)
    updated[week] = seen.get(week, "") + key
    held = 0
    for joined in updated.values():  # a plain loop: native when compiled, unlike sum(map(...))
        held += len(joined)
    if held >= _PRUNE_BYTES:
        updated = _prune(updated, bucket(latest))
    return updated


# The first key of every IdLog's dict, never an event id (not a str): a dict with a key
# that is not a str keeps each key's hash in its entry, so looking up a new id compares
# hashes in the table. With str keys only, CPython reads the hash from each key object it
# probes: an id of an earlier event, a cold cache line per probe. Position -1: before all.
_GENERAL: Final = 0


@mypyc_attr(acyclic=True)  # see credits.Contribution
class IdLog:
    """Event ids applied since a state's `seen` map, in order, with their weeks (append-only).

    One dict holds the ids: id -> position, in insertion order, which is position order
    (ids in a view are distinct). Weeks are kept as runs, [position, week, ...], a pair
    only where the week changes. So a step adds one dict entry, and the log holds no list
    per id for the cyclic GC to traverse (a dict of strings and ints is not tracked).
    """

    def __init__(self) -> None:
        # event id (not digest) -> its position, after one entry that is not an id (_GENERAL)
        self.at: dict[object, int] = {_GENERAL: -1}
        # [first position, week, ...]: the week of each position on (untracked.py)
        self.runs: list[int] = untracked([])
        # The last run's week, beside the list: a step reads it without touching the list (a
        # cold line of its own) unless the week changes. [week_from, week_to) are its times,
        # so an event in it needs no bucket() (empty until a week is known).
        self.week = 0
        self.has_week = False
        self.week_from = _INF
        self.week_to = -_INF
        self.known: dict[int, str] | None = None  # position -> digest, where already taken
        # The last whole map built (view): over which base, for how many entries. Read-only,
        # like every container of a state; the next view extends a copy of it.
        self.built: dict[int, str] | None = None
        self.built_base: dict[int, str] | None = None
        self.built_n = 0

    def key_digests(self) -> dict[int, str]:
        return {} if self.known is None else self.known


_INF: Final = float("inf")


def logged(log: IdLog | None, n: int, key: str) -> bool:
    """Whether the event id `key` is among the first `n` entries of `log`."""
    if log is None:
        return False
    i = log.at.get(key, n)
    return i < n


def claimed(log: IdLog | None, n: int, key: str) -> int:
    """For a state that sees the first `n` entries of `log`: -1 if the event id `key` is
    among them; else 1 if `key` was added in place as entry `n` (the state is the log's
    newest: one dict operation where logged() and append() take two), 0 if not added.

    An id added in place is the caller's to complete with append(..., added=True) or to
    take back with unclaim(); until then the log has no newest state.
    """
    if log is None:
        return 0
    if len(log.at) != n + 1:  # not the newest state of this log (_GENERAL is one more)
        return -1 if logged(log, n, key) else 0
    return -1 if log.at.setdefault(key, n) < n else 1


def unclaim(log: IdLog | None, key: str) -> None:
    """Take back an id that claimed() added."""
    if log is not None:
        del log.at[key]


def append(
    log: IdLog | None, n: int, key: str, at: float, known: str = "", added: bool = False
) -> IdLog:
    """The log holding the first `n` entries of `log` and then the event id `key` (new),
    of event time `at`. `known`: the id's digest if the caller already took it ("" if not);
    `added`: claimed() already added the id in place.
    """
    if added:
        assert log is not None
    elif log is None:
        log = IdLog()
    elif len(log.at) != n + 1:  # not the newest state of this log (_GENERAL is one more)
        log = _branch(log, n)
    if not added:
        log.at[key] = n
    if not log.week_from <= at < log.week_to:
        week = bucket(at)
        if not log.has_week or log.week != week:
            runs = log.runs
            runs.append(n)
            runs.append(week)
            log.week, log.has_week = week, True
        log.week_from, log.week_to = week * DEDUPE_BUCKET, (week + 1) * DEDUPE_BUCKET
    if known:
        if log.known is None:
            log.known = {}
        log.known[n] = known
    return log


def _branch(log: IdLog, n: int) -> IdLog:
    out = IdLog()
    at = out.at
    for key, i in log.at.items():  # position order (_GENERAL first, already in `at`)
        if i >= n:
            break
        at[key] = i
    runs, kept = log.runs, out.runs
    for r in range(0, len(runs), 2):
        if runs[r] >= n:
            break
        kept.append(runs[r])
        kept.append(runs[r + 1])
        out.week, out.has_week = runs[r + 1], True
    if log.known is not None:
        out.known = {i: d for i, d in log.known.items() if i < n}
    return out


def view(seen: Seen, log: IdLog | None, n: int) -> Seen:
    """The {week: digests} map of `seen` followed by the first `n` entries of `log`."""
    if log is None or n == 0:
        return seen
    built, start = log.built, 0
    if built is not None and log.built_base is seen and log.built_n <= n:
        if log.built_n == n:
            return built
        start = log.built_n
        out = dict(built)  # a state saved after each step digests only its new ids
    else:
        out = dict(seen)
    runs, known = log.runs, log.key_digests()
    r, size, week = 0, len(runs), 0
    for key, i in log.at.items():  # position order
        if i >= n:
            break
        if i < 0:  # _GENERAL
            continue
        while r < size and runs[r] <= i:
            week = runs[r + 1]
            r += 2
        if i < start:
            continue
        d = known.get(i) if known else None
        out[week] = out.get(week, "") + (digest(cast(str, key)) if d is None else d)
    log.built, log.built_base, log.built_n = out, seen, n
    return out


def held(seen: Seen, n: int) -> int:
    """How many ids `seen` and a log view of `n` entries hold together."""
    total = 0
    for joined in seen.values():  # a plain loop: native when compiled
        total += len(joined)
    return total // ID_BYTES + n


def prune(seen: Seen, latest: float) -> Seen:
    """`seen` as remember leaves it once DEDUPE_PRUNE_AT ids are held (see _prune)."""
    return _prune(seen, bucket(latest))


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
        if week < current - 1 and total + len(joined) // ID_BYTES > DEDUPE_IDS:
            room = max(DEDUPE_IDS - total, 0) * ID_BYTES
            if room:
                kept[week] = joined[len(joined) - room :]
            break
        kept[week] = joined
        total += len(joined) // ID_BYTES
    return dict(sorted(kept.items()))


def union(a: Seen, b: Seen, latest: float) -> Seen:
    merged = dict(a)
    for week, joined in b.items():
        mine = merged.get(week, "")
        extra = [
            joined[i : i + ID_BYTES]
            for i in range(0, len(joined), ID_BYTES)
            if not contains({0: mine}, joined[i : i + ID_BYTES])
        ]
        merged[week] = mine + "".join(extra)
    return _prune(merged, bucket(latest)) if count(merged) >= DEDUPE_PRUNE_AT else merged
