"""A CORS allow-list per write key. The browser's check alone is not enough (a simple
request is still sent), so a disallowed origin is also refused server-side."""

from __future__ import annotations

from collections.abc import Mapping

ALLOW_HEADERS = "Content-Type, X-Write-Key, Authorization"
# Browsers cache a preflight answer this long, sparing a round trip per batch.
PREFLIGHT_MAX_AGE_S = "600"


class OriginPolicy:
    def __init__(self, origins_by_key: Mapping[str, list[str]]) -> None:
        self._by_key = {k: frozenset(v) for k, v in origins_by_key.items()}

    def allows(self, key: str | None, origin: str) -> bool:
        """A key without a list accepts any origin (write keys in a page are public anyway;
        the list is how a site keeps others from spending its quota)."""
        if key is None:
            return not self._by_key or any(self._fits(o, origin) for o in self._by_key.values())
        allowed = self._by_key.get(key)
        return allowed is None or self._fits(allowed, origin)

    @staticmethod
    def _fits(allowed: frozenset[str], origin: str) -> bool:
        return "*" in allowed or origin in allowed

    def headers(self, origin: str) -> dict[str, str]:
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin",
        }

    def preflight_headers(self, origin: str) -> dict[str, str]:
        return {
            **self.headers(origin),
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE_S,
        }
