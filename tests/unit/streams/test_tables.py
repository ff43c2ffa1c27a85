"""The profile table's changelog through the outbox: what Faust itself would write, once
per key and commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from aiokafka.structs import TopicPartition

from leadscore.settings import Settings
from scorer import load_rules
from streams.app import create_app
from streams.tables import OutboxTable


class Recorder:
    """The outbox as the table sees it."""

    def __init__(self) -> None:
        self.added: list[tuple[TopicPartition, bytes, bytes]] = []
        self.before_commit: list[Callable[[], None]] = []

    def add(self, tp: TopicPartition, key: bytes, value: bytes) -> None:
        self.added.append((tp, key, value))

    def on_stored(self, topic: str, stored: Any) -> None:
        self.stored = stored

    def on_commit(self, write: Callable[[], None]) -> None:
        self.before_commit.append(write)

    def commit(self) -> None:
        for write in self.before_commit:
            write()


def table_with(recorder: Recorder, encode: Any = None) -> OutboxTable:
    settings = Settings()
    app = create_app(settings, load_rules(settings.rules), "memory://").app
    table = next(t for t in app.tables.values() if isinstance(t, OutboxTable))
    if encode is None:
        table.use_outbox(recorder)  # type: ignore[arg-type]
    else:
        table.use_outbox(recorder, encode)  # type: ignore[arg-type]
    table.partition_for_key = lambda key: 5  # type: ignore[method-assign]
    return table


def test_a_table_write_is_the_changelog_message_faust_would_send_at_the_commit() -> None:
    recorder = Recorder()
    table = table_with(recorder)
    value = {"state": {"s": 1.5, "ids": ["a", "b"]}, "last_score": None, "recent": []}
    table["lead-7"] = value
    assert table["lead-7"] == value
    assert recorder.added == []  # not before the commit

    recorder.commit()
    topic = table.changelog_topic
    [(tp, key, written)] = recorder.added
    assert tp == TopicPartition(topic.get_topic_name(), 5)
    assert key == topic.prepare_key("lead-7", table.key_serializer, None, {})[0]
    assert written == topic.prepare_value(value, table.value_serializer, None, {})[0]
    recorder.commit()
    assert len(recorder.added) == 1  # written once


def test_a_key_set_several_times_between_commits_is_written_once_with_its_latest_value() -> None:
    recorder = Recorder()
    table = table_with(recorder, lambda key, value: {"encoded": value[0]})
    for i in range(3):
        table["a"] = (i, object())  # not JSON: the memory store keeps it as it is
        table["b"] = (10 + i, object())
    assert table.data["a"][0] == 2
    recorder.commit()
    written = [(orjson.loads(k), orjson.loads(v)) for _, k, v in recorder.added]
    assert written == [("a", {"encoded": 2}), ("b", {"encoded": 12})]
    table["a"] = (3, None)
    recorder.commit()
    assert orjson.loads(recorder.added[-1][2]) == {"encoded": 3}
    assert len(recorder.added) == 3


def test_past_the_pending_limit_every_pending_key_is_written_at_once() -> None:
    recorder = Recorder()
    table = table_with(recorder)
    table.pending_keys = 2
    table["a"], table["b"] = 1, 2
    assert recorder.added == []
    table["c"] = 3
    assert [orjson.loads(k) for _, k, _ in recorder.added] == ["a", "b", "c"]
    recorder.commit()
    assert len(recorder.added) == 3
