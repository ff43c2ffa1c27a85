"""What the consumer-group rebalances did, handed from kafka-python's IO thread to the sink.

kafka-python 3 runs the rebalance-listener callbacks on its IO thread, while the sink's own
thread owns the consumer (pause, resume, seek, commit) and the batch. The callbacks therefore
only record what happened here, under a lock that is never held across a consumer call; the
sink's thread takes the record after each poll and does all the work itself, in order.

Each revocation starts a new epoch. Everything read before it (the batch being built, batches
queued or being inserted, inserted batches not yet committed) belongs to an older epoch and is
never committed: those offsets are read again from the committed position, and the recovery
scan skips the rows that landed anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import TopicPartition


@dataclass(frozen=True)
class Change:
    kind: Literal["revoked", "assigned"]
    partitions: frozenset[TopicPartition]


class Rebalances:
    """Thread-safe log of assignment changes plus the current epoch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changes: list[Change] = []
        self._epoch = 0

    @property
    def epoch(self) -> int:
        return self._epoch

    def revoked(self, partitions: set[TopicPartition]) -> int:
        with self._lock:
            self._epoch += 1
            self._changes.append(Change("revoked", frozenset(partitions)))
            return self._epoch

    def assigned(self, partitions: set[TopicPartition]) -> None:
        with self._lock:
            self._changes.append(Change("assigned", frozenset(partitions)))

    def take(self) -> tuple[int, list[Change]]:
        """The changes since the last call, oldest first, and the epoch after them."""
        with self._lock:
            changes, self._changes = self._changes, []
            return self._epoch, changes


class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Records the callbacks; on revocation it also lets a running insert finish (bounded),
    so whichever member gets the partitions next finds those rows in its recovery scan.
    `settle(epoch, timeout_s)` must not call into the consumer (it waits on the insert thread).
    """

    def __init__(
        self, rebalances: Rebalances, settle: Callable[[int, float], bool], settle_s: float
    ) -> None:
        self._rebalances = rebalances
        self._settle = settle
        self._settle_s = settle_s

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if not revoked:  # the first join revokes nothing
            return
        epoch = self._rebalances.revoked(set(revoked))
        self._settle(epoch, self._settle_s)

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._rebalances.assigned(set(assigned))
