"""Every table's changelog is among the topics leadscore creates before the worker starts.

A worker whose metadata did not yet list a changelog Faust had just created crashed on its
first table write (PartitionsMismatch), so the names must match Faust's own."""

from __future__ import annotations

from leadscore.settings import Settings
from leadscore.topics import wanted_topics
from scorer import load_rules
from streams.app import create_app


def test_the_worker_changelogs_are_created_up_front_compacted() -> None:
    settings = Settings(topic_prefix="t1-", partitions=8)
    app = create_app(settings, load_rules(settings.rules), "memory://").app
    changelogs = {table.changelog_topic.get_topic_name() for table in app.tables.values()}
    wanted = {t.name: t for t in wanted_topics(settings)}

    assert changelogs == {"t1-leadscore-worker-identity-changelog",
                          "t1-leadscore-worker-profiles-changelog"}
    for name in changelogs:
        assert wanted[name].num_partitions == 8
        assert wanted[name].topic_configs == {"cleanup.policy": "compact"}
