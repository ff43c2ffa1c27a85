"""From accepted events and rejections to Kafka records, delivered in one acknowledged send."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from fastapi.concurrency import run_in_threadpool

from collector.encoding import event_json
from collector.intake import Rejection
from collector.limits import MAX_REJECTED_RAW_CHARS
from collector.metrics import Metrics
from collector.producer import Delivery, Record
from schemas.event_types import EVENT_TYPES
from schemas.events import StoredEvent
from schemas.messages import Outcome, RejectedEvent
from schemas.timestamps import format_time
from schemas.topics import EVENTS_REJECTED, LEAD_OUTCOMES, event_topic, topic_name

# events-rejected is keyed by whatever id the raw event had, else this.
_UNKNOWN_KEY = "unknown"


class Dispatcher:
    def __init__(self, delivery: Delivery, topic_prefix: str, metrics: Metrics) -> None:
        self._delivery = delivery
        self._prefix = topic_prefix
        self._metrics = metrics
        # Each event type's topic under the prefix (intake only passes known types).
        self._topics = {kind: event_topic(kind, topic_prefix) for kind in EVENT_TYPES}
        # The producer's own coroutine, when it has one (KafkaDelivery does).
        self._deliver_async = getattr(delivery, "deliver_async", None)

    async def send(
        self, events: Sequence[StoredEvent], rejections: Sequence[Rejection] = (),
        received_at: datetime | None = None, values: Sequence[bytes] | None = None,
    ) -> None:
        """Raises DeliveryError unless Kafka acknowledged every record. `values`: the
        events' Kafka values when intake has written them already (`Intake.values`)."""
        if values is None:
            records = [self.event_record(e) for e in events]
        else:
            topics = self._topics
            records = [Record(topics[e.type], e.key, value)
                       for e, value in zip(events, values, strict=True)]
        if rejections:
            assert received_at is not None  # noqa: S101 - a caller bug, not input
            records += [self.rejection_record(r, received_at) for r in rejections]
        await self._deliver(records)
        if len(events) == 1:  # a single-event request
            self._metrics.accepted(events[0].type).inc()
        elif events:
            for kind, n in _counts(e.type for e in events).items():  # one inc per type
                self._metrics.accepted(kind).inc(n)
        if rejections:
            for reason, n in _counts(r.reason for r in rejections).items():
                self._metrics.rejected(reason).inc(n)

    async def send_outcome(self, outcome: Outcome) -> None:
        await self._deliver([Record(topic_name(LEAD_OUTCOMES, self._prefix), outcome.lead_id,
                                    outcome.model_dump_json().encode())])

    async def _deliver(self, records: list[Record]) -> None:
        if not records:
            return
        started = time.perf_counter()
        deliver_async = self._deliver_async
        if deliver_async is not None:
            await deliver_async(records)
        else:  # a Delivery with only the blocking call: keep it off the event loop
            await run_in_threadpool(self._delivery.deliver, records)
        self._metrics.produce_latency.observe(time.perf_counter() - started)

    def event_record(self, event: StoredEvent) -> Record:
        return Record(event_topic(event.type, self._prefix), event.key, event_json(event))

    def rejection_record(self, rejection: Rejection, received_at: datetime) -> Record:
        message = RejectedEvent(
            received_at=format_time(received_at),
            reason=rejection.reason,
            errors=[e.as_json() for e in rejection.errors],
            index=rejection.index,
            raw=_raw_text(rejection.raw),
        )
        return Record(topic_name(EVENTS_REJECTED, self._prefix), _raw_key(rejection.raw),
                      message.model_dump_json().encode())


def _counts(labels: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}  # not collections.Counter: its set-up costs more here
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return counts


def _raw_text(raw: Any) -> str:
    try:
        text = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        text = repr(raw)
    return text[:MAX_REJECTED_RAW_CHARS]


def _raw_key(raw: Any) -> str:
    if isinstance(raw, dict):
        for name in ("anonymous_id", "anonymousId", "lead_id", "userId"):
            value = raw.get(name)
            if isinstance(value, str) and 0 < len(value) <= 128:
                return value
    return _UNKNOWN_KEY
