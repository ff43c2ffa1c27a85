"""Event times on the wire: ISO-8601 with a zone, or epoch milliseconds."""

from datetime import UTC, datetime
from typing import Any

# Epoch milliseconds beyond year 9999 or before 1970 are certainly a unit mistake.
_MAX_EPOCH_MS = 253_402_300_799_999


def parse_time(value: Any) -> datetime:
    """Parse an event time; naive ISO strings are refused (decay needs a real instant)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, bool):
        raise ValueError("must be an ISO-8601 time with a zone or epoch milliseconds")
    elif isinstance(value, int | float):
        if not 0 <= value <= _MAX_EPOCH_MS:
            raise ValueError("epoch milliseconds out of range")
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be an ISO-8601 time with a zone or epoch milliseconds") from None
    else:
        raise ValueError("must be an ISO-8601 time with a zone or epoch milliseconds")
    if parsed.tzinfo is None:
        raise ValueError("ISO-8601 time needs a zone, e.g. 2026-11-01T10:00:00Z")
    return parsed.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, the one format every output uses."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def format_epoch(seconds: float) -> str:
    """format_time(from_epoch(seconds)), in half the time: the worker writes one per output."""
    # A UTC datetime's isoformat always ends in "+00:00".
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
