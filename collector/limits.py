"""Input limits at the edge. Each carries its reason: hostile input must stay cheap."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

# Segment's limits, which its clients already respect: 512 KiB a request, 32 KiB an
# event, 500 events a batch. Anything larger is a bug or an attack, not a visitor.
MAX_BODY_BYTES: Final = 512 * 1024
MAX_EVENT_BYTES: Final = 32 * 1024
MAX_BATCH_EVENTS: Final = 500
# An event time further ahead than this is a broken clock; it is clamped to the
# received time (and flagged) so decay arithmetic never sees the future.
MAX_FUTURE: Final = timedelta(hours=24)
# A rejected event's raw text is kept for debugging, but never more than one event's worth.
MAX_REJECTED_RAW_CHARS: Final = MAX_EVENT_BYTES
# How long a client should wait before retrying when Kafka did not acknowledge.
RETRY_AFTER_S: Final = 5
