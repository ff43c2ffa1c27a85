"""Structured request-error logs: one JSON object per line, one line per failed request."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

log = logging.getLogger("leadscore.collector.requests")


def log_request_error(**fields: Any) -> None:
    log.warning(json.dumps(fields, default=str, separators=(",", ":")))


def configure() -> None:
    """The message is the JSON line itself: no second format around it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
