"""Rewind a consumer to its committed offsets, including partitions nobody has committed.

Faust drops a fetched batch when it arrives while the flow is stopped (a rebalance under
way, `Consumer.getmany`) and counts on `perform_seek` to read it again: it seeks every
partition back to its committed offset, and does so again when recovery completes. aiokafka's
`seek_to_committed` only moves partitions with a positive committed offset. A partition
that no worker has committed yet keeps the position its dropped batch reached, and those
events are never scored by this worker.

That is what a worker killed before its first commit leaves behind: its partitions move to
a survivor whose fetch, already in flight, returns them whole during the rebalance. The
two-worker fault test lost the killed worker's events that way (bench/RESULTS.md, session 8).
So such a partition goes back to where a new member would start it, by the consumer's
`auto_offset_reset` policy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import aiokafka
from aiokafka import TopicPartition

log = logging.getLogger("leadscore.worker")


async def rewind_to_committed(
    consumer: aiokafka.AIOKafkaConsumer,
    reset: str,
    skip: Callable[[TopicPartition], bool],
) -> Mapping[TopicPartition, int | None]:
    """Seek every assigned partition to its committed offset, or by `reset` without one.

    `skip` names partitions whose position is someone else's business (Faust's recovery
    seeks the changelog partitions, which are never committed). Returns the committed
    offsets, as `seek_to_committed` does.
    """
    committed: Mapping[TopicPartition, int | None] = await consumer.seek_to_committed()
    # Fetching the commits took a round trip per partition: a rebalance may have taken
    # some away since, and seeking one of those would raise.
    assigned = consumer.assignment()
    # An offset of 0 is left alone by aiokafka too; the beginning is the same place.
    uncommitted = [
        tp for tp, offset in committed.items() if not offset and tp in assigned and not skip(tp)
    ]
    if uncommitted:
        log.info("%d partitions without a committed offset sought by %r", len(uncommitted), reset)
        if reset == "earliest":
            await consumer.seek_to_beginning(*uncommitted)
        elif reset == "latest":
            await consumer.seek_to_end(*uncommitted)
    return committed


__all__ = ["rewind_to_committed"]
