"""`leadscore replay`: recompute scores from retained history under another rules file.

Reads every events-* topic from the beginning (or from `since`), resolves identity the way
the live worker does (an identify links an anonymous id to a lead; the anonymous history
counts for the lead with its original times), folds each profile's history through the
pure scorer in event-time order, adds the decay demotions due by `now`, and writes to
lead-scores-replay and lead-stage-changes-replay, tagged with the rules version. The live
topics are never touched.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from leadscore.settings import Settings
from schemas import topics
from scorer import Rules, Update, advance, rescore
from streams import commands
from streams.conversion import change_message, score_message, scoring_event

log = logging.getLogger("leadscore.replay")


@dataclass(frozen=True)
class ReplayResult:
    events: int
    profiles: int
    scores: int
    changes: int


def profiles_of(events: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Group a history by profile, as the identity agent would resolve it in the end."""
    history = list(events)
    linked: dict[str, str] = {}
    for event in history:
        anonymous, lead = event.get("anonymous_id"), event.get("lead_id")
        if anonymous and lead:
            linked.setdefault(anonymous, lead)  # the first link wins, as in the live table
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in history:
        anonymous, lead = event.get("anonymous_id"), event.get("lead_id")
        profile = lead or linked.get(anonymous or "") or commands.anonymous_profile(anonymous or "")
        grouped[profile].append(event)
    return grouped


def replay_messages(
    events: Iterable[dict[str, Any]], rules: Rules, now: float
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(topic base name, key, value) of every replayed output, profile by profile."""
    for profile, history in sorted(profiles_of(events).items()):
        identified = not commands.is_anonymous(profile)
        ordered = sorted((scoring_event(e) for e in history), key=lambda e: e.at)
        state, updates = rescore(ordered, rules)  # same stable order: one update per event
        for event, update in zip(ordered, updates, strict=True):
            yield from _outputs(profile, update, rules, identified, event.event_id)
        tail = advance(state, now, rules)
        if tail.changes:
            yield from _outputs(profile, tail, rules, identified, None)


def _outputs(
    profile: str, update: Update, rules: Rules, identified: bool, event_id: str | None
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    yield (
        topics.LEAD_SCORES_REPLAY,
        profile,
        score_message(profile, update, rules, identified, event_id),
    )
    for change in update.changes:
        yield (
            topics.LEAD_STAGE_CHANGES_REPLAY,
            profile,
            change_message(profile, change, update, rules.version, identified),
        )


def read_history(settings: Settings, since_ms: int | None) -> list[dict[str, Any]]:
    """Every retained event (from `since_ms` on), read without joining any consumer group."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        consumer_timeout_ms=2000,
    )
    try:
        partitions = [
            TopicPartition(t, p)
            for t in topics.all_event_topics(settings.topic_prefix)
            for p in (consumer.partitions_for_topic(t) or ())
        ]
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        if since_ms is None:
            consumer.seek_to_beginning(*partitions)
        else:
            found = consumer.offsets_for_times({tp: since_ms for tp in partitions})
            for tp in partitions:
                hit = found.get(tp)
                consumer.seek(tp, hit.offset if hit else ends[tp])
        events = []
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            for tp, records in consumer.poll(timeout_ms=500).items():
                events.extend(json.loads(r.value) for r in records if r.offset < ends[tp])
        return events
    finally:
        consumer.close()


def replay(
    settings: Settings, rules: Rules, now: float, since_ms: int | None = None
) -> ReplayResult:
    events = read_history(settings, since_ms)
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        linger_ms=20,
        key_serializer=str.encode,
        value_serializer=lambda v: json.dumps(v).encode(),
    )
    counts = {topics.LEAD_SCORES_REPLAY: 0, topics.LEAD_STAGE_CHANGES_REPLAY: 0}
    try:
        for base, key, value in replay_messages(events, rules, now):
            producer.send(settings.topic_prefix + base, key=key, value=value)
            counts[base] += 1
        producer.flush()
    finally:
        producer.close()
    profiles = len(profiles_of(events))
    log.info(
        "replayed %d events of %d profiles under rules %s", len(events), profiles, rules.version
    )
    return ReplayResult(
        len(events),
        profiles,
        counts[topics.LEAD_SCORES_REPLAY],
        counts[topics.LEAD_STAGE_CHANGES_REPLAY],
    )
