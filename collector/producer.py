"""Delivery to Kafka: an answer of 202 means the broker acknowledged every event.

The producer is behind a small interface so the HTTP layer can be tested with a
real broker and so a later transport (a different client) swaps in one place.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError

log = logging.getLogger(__name__)

# The HTTP answer must come within 3 s when the broker is down (503, never 202).
ACK_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    key: str
    value: bytes


class DeliveryError(Exception):
    """Kafka did not acknowledge every record in time; the client should retry."""


class Delivery(Protocol):
    def deliver(self, records: Sequence[Record]) -> None: ...
    def ready(self) -> bool: ...
    def close(self) -> None: ...


class KafkaDelivery:
    """kafka-python with acks=all and idempotence: no loss, no broker-side duplicates."""

    def __init__(self, bootstrap: str, client_id: str = "leadscore-collector") -> None:
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            compression_type="lz4",
            # A few ms of linger lets concurrent requests share a produce call.
            linger_ms=5,
            # send() blocks for metadata when the broker is away: bound it by the answer time.
            max_block_ms=int(ACK_TIMEOUT_S * 1000),
            request_timeout_ms=int(ACK_TIMEOUT_S * 1000),
            delivery_timeout_ms=int(ACK_TIMEOUT_S * 1000) + 1000,
            # Bounded buffer: the collector keeps no unbounded queue of its own.
            buffer_memory=32 * 1024 * 1024,
            key_serializer=str.encode,
        )

    def deliver(self, records: Sequence[Record]) -> None:
        deadline = time.monotonic() + ACK_TIMEOUT_S
        try:
            futures = [self._producer.send(r.topic, key=r.key, value=r.value) for r in records]
            for future in futures:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
        except KafkaError as exc:
            log.warning("kafka did not acknowledge: %s", exc)
            raise DeliveryError(str(exc)) from exc

    def ready(self) -> bool:
        return bool(self._producer.bootstrap_connected())

    def close(self) -> None:
        self._producer.close(timeout=5)
