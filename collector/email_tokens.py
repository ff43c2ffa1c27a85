"""Signed, expiring email tracking tokens: `leadscore email-token ...` and the Python API.

A token is `base64url(payload JSON).base64url(HMAC-SHA256(secret, payload))`. The
payload names its kind ("o" open, "c" click) so an open token can never act as a
click, and a click token carries its target URL, so the redirect can only ever go
where the signer said (no open redirect).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from leadscore.settings import Settings
from schemas.timestamps import parse_time

Kind = Literal["open", "click"]
_KIND_CODE = {"open": "o", "click": "c"}
_CODE_KIND: dict[str, Kind] = {"o": "open", "c": "click"}
# A token in a URL must stay short enough for every mail client: ids are capped.
MAX_FIELD = 256


@dataclass(frozen=True, slots=True)
class EmailToken:
    kind: Kind
    lead_id: str
    campaign_id: str
    message_id: str
    sent_at: datetime
    expires_at: datetime
    url: str | None = None  # the click target; None for opens


class BadToken(Exception):
    """Malformed or tampered: nothing is recorded, and a click does not redirect."""


class ExpiredToken(Exception):
    """Authentic but past its expiry: nothing is recorded."""

    def __init__(self, token: EmailToken) -> None:
        super().__init__("token expired")
        self.token = token


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()


def make_token(
    secret: bytes, kind: Kind, lead_id: str, campaign_id: str, message_id: str,
    sent_at: datetime, ttl: timedelta, url: str | None = None,
) -> str:
    if kind == "click":
        if url is None or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise ValueError("a click token needs an absolute http(s) target url")
    for name, value in (("lead_id", lead_id), ("campaign_id", campaign_id),
                        ("message_id", message_id)):
        if not value or len(value) > MAX_FIELD:
            raise ValueError(f"{name} must be 1..{MAX_FIELD} characters")
    payload: dict[str, Any] = {
        "k": _KIND_CODE[kind], "l": lead_id, "c": campaign_id, "m": message_id,
        "s": int(sent_at.timestamp()), "e": int((sent_at + ttl).timestamp()),
    }
    if url is not None:
        payload["u"] = url
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_b64(_sign(secret, body.encode()))}"


def read_token(secret: bytes, token: str, kind: Kind, now: datetime) -> EmailToken:
    """The token's contents if authentic and of `kind`; BadToken or ExpiredToken otherwise."""
    body, dot, signature = token.partition(".")
    if not dot or len(token) > 4096:
        raise BadToken("malformed")
    try:
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        raise BadToken("malformed signature") from None
    if not hmac.compare_digest(given, _sign(secret, body.encode())):
        raise BadToken("bad signature")
    try:
        data = json.loads(_unb64(body))
        parsed = EmailToken(
            kind=_CODE_KIND[data["k"]], lead_id=str(data["l"]), campaign_id=str(data["c"]),
            message_id=str(data["m"]), sent_at=datetime.fromtimestamp(data["s"], UTC),
            expires_at=datetime.fromtimestamp(data["e"], UTC), url=data.get("u"),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BadToken(f"bad payload: {exc}") from None
    if parsed.kind != kind:
        raise BadToken(f"a {parsed.kind} token used as {kind}")
    if now >= parsed.expires_at:
        raise ExpiredToken(parsed)
    return parsed


def open_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/v1/o/{token}.gif"


def click_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/v1/c/{token}"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="leadscore email-token",
        description="Make a signed email open-pixel or click-redirect URL "
                    "(secret: LEADSCORE_SIGNING_SECRET).")
    p.add_argument("kind", choices=["open", "click"])
    p.add_argument("--lead", required=True, help="lead id the email was sent to")
    p.add_argument("--campaign", required=True)
    p.add_argument("--message", required=True, help="the email's message id")
    p.add_argument("--url", help="click target (required for click)")
    p.add_argument("--sent-at", help="ISO-8601 send time with zone (default: now)")
    p.add_argument("--ttl-days", type=int,
                   help="validity in days (default LEADSCORE_EMAIL_TOKEN_TTL_DAYS)")
    p.add_argument("--base-url",
                   help="collector public URL (default LEADSCORE_COLLECTOR_PUBLIC_URL)")
    p.add_argument("--token-only", action="store_true", help="print the token, not the URL")
    return p


def main(argv: list[str], settings: Settings) -> int:
    args = _parser().parse_args(argv)
    try:
        sent_at = parse_time(args.sent_at) if args.sent_at else datetime.now(UTC)
        token = make_token(
            settings.signing_secret.get_secret_value().encode(), args.kind, args.lead,
            args.campaign, args.message, sent_at,
            timedelta(days=args.ttl_days or settings.email_token_ttl_days), args.url,
        )
    except ValueError as exc:
        print(f"email-token: {exc}", file=sys.stderr)
        return 2
    base = args.base_url or settings.collector_public_url
    if args.token_only:
        print(token)
    else:
        print(open_url(base, token) if args.kind == "open" else click_url(base, token))
    return 0
