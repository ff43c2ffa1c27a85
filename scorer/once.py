"""once_per: a rule counts once per distinct tuple of named properties, at the earliest time.

Keys are short digests of the property values. When a late event carries an already
seen key with an earlier time, the credit moves to the earlier time (a positive credit
now, a negative `displaced` one for the old time), so the result ignores arrival order.
An event missing any of the named properties does not match the rule: it cannot be
told apart from others.
"""

from binascii import b2a_base64
from collections.abc import Mapping, Sequence
from hashlib import blake2b
from typing import Any, Final

from scorer.limits import HORIZON_HALF_LIVES, KEY_DIGEST_BYTES, MAX_ONCE_KEYS
from scorer.memo import Memo

_BLAKE2B: Final = blake2b(digest_size=KEY_DIGEST_BYTES)  # copied per key, never updated
_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")

Delta = tuple[float, float]


def key_of(properties: Mapping[str, Any], names: Sequence[str]) -> str | None:
    if len(names) == 1:  # the usual once_per, e.g. ["video_id"]: no list, generator or join
        value = properties.get(names[0])
        if value is None:
            return None
        # f"{type(v).__name__}:{v}" of an exact str, as below
        text = "str:" + value if type(value) is str else f"{type(value).__name__}:{value}"
    else:
        values = [properties.get(name) for name in names]
        if any(v is None for v in values):
            return None
        text = "\x1f".join(f"{type(v).__name__}:{v}" for v in values)
    key = _KEYS.get(text)
    return _KEYS.keep(text, _digest(text)) if key is None else key


# Digests by key text: a digest costs a hasher copy, BLAKE2b and base64 (~2.5k instructions).
_KEYS: Final = Memo[str](4096)


def _digest(text: str) -> str:
    hasher = _BLAKE2B.copy()
    hasher.update(text.encode())
    # base64.urlsafe_b64encode, without its Python-level wrapper
    return b2a_base64(hasher.digest(), newline=False).translate(_URLSAFE).decode("ascii")


def _prune(keys: dict[str, float], latest: float, half_life: float) -> dict[str, float]:
    horizon = latest - HORIZON_HALF_LIVES * half_life
    kept = {k: t for k, t in keys.items() if t >= horizon}
    if len(kept) > MAX_ONCE_KEYS:
        kept = dict(sorted(kept.items(), key=lambda item: item[1])[-MAX_ONCE_KEYS:])
    return kept


def credit(
    keys: Mapping[str, float], key: str, points: float, at: float, latest: float, half_life: float
) -> tuple[dict[str, float] | None, list[Delta]]:
    """(new keys or None if unchanged, credit changes) for an event with `key` at `at`."""
    previous = keys.get(key)
    if previous is not None and previous <= at:
        return None, []
    deltas = [(at, points)]
    if previous is not None:
        deltas.append((previous, -points))
    return _prune({**keys, key: at}, latest, half_life), deltas


def union(
    a: Mapping[str, float], b: Mapping[str, float], points: float, latest: float, half_life: float
) -> tuple[dict[str, float], list[Delta]]:
    merged = dict(a)
    deltas: list[Delta] = []
    for key, t in b.items():
        mine = merged.get(key)
        if mine is None:
            merged[key] = t
            continue
        deltas.append((max(mine, t), -points))  # both credited it; keep the earlier one
        merged[key] = min(mine, t)
    return _prune(merged, latest, half_life), deltas
