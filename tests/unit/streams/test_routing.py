"""A profile's scoring partition is the partition its own events are produced to."""

from __future__ import annotations

from kafka.partitioner.default import DefaultPartitioner

from streams.commands import anonymous_profile
from streams.routing import partition_of


class _Cluster:
    def __init__(self, partitions: int) -> None:
        self.all = set(range(partitions))

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self.all

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self.all


def producer_partition(key: str, partitions: int) -> int:
    """Where the collector's kafka-python producer puts an event with this key."""
    return DefaultPartitioner().partition("t", key, key.encode(), None, None, _Cluster(partitions))


def test_a_leads_profile_is_in_the_partition_of_its_lead_keyed_events() -> None:
    for i in range(200):
        assert partition_of(f"lead-{i}", 8) == producer_partition(f"lead-{i}", 8)


def test_an_anonymous_profile_is_placed_by_its_device_id_alone() -> None:
    for i in range(200):
        device = f"device-{i}"
        assert partition_of(anonymous_profile(device), 8) == producer_partition(device, 8)


def test_the_partition_count_is_honoured() -> None:
    assert {partition_of(f"lead-{i}", 3) for i in range(100)} == {0, 1, 2}
