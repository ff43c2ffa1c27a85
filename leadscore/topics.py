"""Create leadscore's Kafka topics up front, so compaction and partitions are right."""

from __future__ import annotations

import logging

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from leadscore.settings import Settings
from schemas import topics

log = logging.getLogger("leadscore.topics")


def wanted_topics(settings: Settings) -> list[NewTopic]:
    names = [
        *topics.EVENT_TOPICS.values(),
        topics.SCORING_INPUT,
        topics.LEAD_SCORES,
        topics.LEAD_STAGE_CHANGES,
        topics.LEAD_SCORES_REPLAY,
        topics.LEAD_STAGE_CHANGES_REPLAY,
        topics.EVENTS_REJECTED,
        topics.LEAD_OUTCOMES,
        *topics.WORKER_CHANGELOGS,
    ]
    result = []
    for name in names:
        config = {"cleanup.policy": "compact"} if name in topics.COMPACTED else {}
        result.append(
            NewTopic(settings.topic_prefix + name, settings.partitions, 1, topic_configs=config)
        )
    return result


def ensure_topics(settings: Settings) -> None:
    admin = KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, client_id="leadscore-admin"
    )
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted_topics(settings) if t.name not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process won the race; the topics exist either way
            log.info("created topics: %s", ", ".join(t.name for t in missing))
    finally:
        admin.close()
