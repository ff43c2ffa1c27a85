"""The profile table's changelog through the outbox holds what Faust itself would write."""

from __future__ import annotations

from typing import Any

from aiokafka.structs import TopicPartition

from leadscore.settings import Settings
from scorer import load_rules
from streams.app import create_app
from streams.tables import OutboxTable


class Recorder:
    def __init__(self) -> None:
        self.added: list[tuple[TopicPartition, bytes, bytes]] = []

    def add(self, tp: TopicPartition, key: bytes, value: bytes) -> None:
        self.added.append((tp, key, value))

    def on_stored(self, topic: str, stored: Any) -> None:
        self.stored = stored


def test_a_table_write_is_the_changelog_message_faust_would_send() -> None:
    settings = Settings()
    app = create_app(settings, load_rules(settings.rules), "memory://").app
    table = next(t for t in app.tables.values() if isinstance(t, OutboxTable))
    recorder = Recorder()
    table.use_outbox(recorder)  # type: ignore[arg-type]
    table.partition_for_key = lambda key: 5  # type: ignore[method-assign]
    value = {"state": {"s": 1.5, "ids": ["a", "b"]}, "last_score": None, "recent": []}
    table["lead-7"] = value

    topic = table.changelog_topic
    [(tp, key, written)] = recorder.added
    assert tp == TopicPartition(topic.get_topic_name(), 5)
    assert key == topic.prepare_key("lead-7", table.key_serializer, None, {})[0]
    assert written == topic.prepare_value(value, table.value_serializer, None, {})[0]
    assert table["lead-7"] == value
