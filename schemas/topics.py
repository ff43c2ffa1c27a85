"""Kafka topic names. Every name may carry a deployment prefix (LEADSCORE_TOPIC_PREFIX)."""

from typing import Final

from schemas.event_types import EVENT_TYPES

# One topic per event type, so consumers (and retention) can choose what they read.
EVENT_TOPICS: Final[dict[str, str]] = {t: "events-" + t.replace("_", "-") for t in EVENT_TYPES}

# Events every stage resolved to a scoring profile; keyed by profile id (see streams/).
SCORING_INPUT: Final = "scoring-input"
# Compacted: the latest score per lead is what a late subscriber needs.
LEAD_SCORES: Final = "lead-scores"
LEAD_STAGE_CHANGES: Final = "lead-stage-changes"
# Replay outputs never share a topic with the live ones.
LEAD_SCORES_REPLAY: Final = "lead-scores-replay"
LEAD_STAGE_CHANGES_REPLAY: Final = "lead-stage-changes-replay"
EVENTS_REJECTED: Final = "events-rejected"
LEAD_OUTCOMES: Final = "lead-outcomes"

# The stream worker's Faust app (its consumer group) and its tables. Faust names a table's
# changelog "<app>-<table>-changelog"; leadscore creates them before the worker starts, since
# a worker whose metadata did not list a changelog Faust had just created crashed on its
# first table write (PartitionsMismatch).
WORKER_APP: Final = "leadscore-worker"
IDENTITY_TABLE: Final = "identity"
PROFILES_TABLE: Final = "profiles"
WORKER_CHANGELOGS: Final[tuple[str, ...]] = tuple(
    f"{WORKER_APP}-{table}-changelog" for table in (IDENTITY_TABLE, PROFILES_TABLE)
)

COMPACTED: Final[frozenset[str]] = frozenset(
    {LEAD_SCORES, LEAD_SCORES_REPLAY, *WORKER_CHANGELOGS}
)


def topic_name(base: str, prefix: str = "") -> str:
    """The real topic name of `base` under a deployment prefix."""
    return prefix + base


def event_topic(event_type: str, prefix: str = "") -> str:
    """The topic an event of `event_type` is written to."""
    try:
        return prefix + EVENT_TOPICS[event_type]
    except KeyError:
        raise ValueError(f"unknown event type {event_type!r}") from None


def all_event_topics(prefix: str = "") -> list[str]:
    return [prefix + name for name in EVENT_TOPICS.values()]
