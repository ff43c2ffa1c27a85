"""Prometheus metrics, one registry per app (tests build many apps in one process)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Labelled:
    """A labelled metric's children, looked up once per label values.

    prometheus_client's labels() validates and locks on every call, a visible part of a
    single event's cost; the label values here come from small closed sets (routes,
    statuses, event types, reasons), so the map stays small."""

    def __init__(self, metric: Counter) -> None:
        self.metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self.metric.labels(*values)
        return child


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Labelled(Counter(
            "leadscore_collector_requests", "HTTP requests by route and status",
            ["route", "status"], registry=self.registry))
        self.accepted = Labelled(Counter(
            "leadscore_collector_events_accepted", "Events acknowledged by Kafka, by type",
            ["type"], registry=self.registry))
        self.rejected = Labelled(Counter(
            "leadscore_collector_events_rejected", "Events refused, by reason",
            ["reason"], registry=self.registry))
        self.dropped = Labelled(Counter(
            "leadscore_collector_events_dropped", "Events dropped at the edge (consent)",
            ["reason"], registry=self.registry))
        self.rate_limited = Labelled(Counter(
            "leadscore_collector_rate_limited", "Requests refused with 429, by bucket",
            ["scope"], registry=self.registry))
        self.produce_latency = Histogram(
            "leadscore_collector_produce_seconds", "Time from send to Kafka ack of a request",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
