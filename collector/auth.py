"""Write keys: X-Write-Key header, HTTP Basic username (Segment's way), or a body field."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable, Mapping


def key_from_headers(headers: Mapping[str, str]) -> str | None:
    key = headers.get("x-write-key")
    if key:
        return key
    auth = headers.get("authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None
    return None


def known_keys(valid: Iterable[str]) -> tuple[bytes, ...]:
    """The valid keys as `is_valid` compares them, encoded once."""
    return tuple(v.encode() for v in valid)


def is_valid(key: str | None, valid: Iterable[str | bytes]) -> bool:
    if not key:
        return False
    # Constant-time compare: a key is a credential. Every key is compared, a match or not.
    given = key.encode()
    found = False
    for v in valid:
        found |= hmac.compare_digest(given, v if isinstance(v, bytes) else v.encode())
    return found
