"""The event types leadscore knows. Each has its own Kafka topic (see topics.py)."""

from typing import Final, Literal

EventType = Literal[
    "page_view",
    "video_progress",
    "download",
    "email_open",
    "email_click",
    "form_submit",
    "identify",
    "custom",
]

EVENT_TYPES: Final[tuple[str, ...]] = (
    "page_view",
    "video_progress",
    "download",
    "email_open",
    "email_click",
    "form_submit",
    "identify",
    "custom",
)

# Stages, coldest first. Order matters: a promotion moves right.
Stage = Literal["cold", "warm", "hot"]
STAGES: Final[tuple[str, ...]] = ("cold", "warm", "hot")

Cause = Literal["event", "decay", "merge", "trigger"]
CAUSES: Final[tuple[str, ...]] = ("event", "decay", "merge", "trigger")
