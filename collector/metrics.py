"""Prometheus metrics, one registry per app (tests build many apps in one process)."""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Pending:
    """A counter's increments added up here, and handed to prometheus_client when the
    metrics are read (`flush`): its inc() validates and takes a lock on every call, for
    each request. Only for metrics that one thread (the event loop's) both counts and
    renders: every collector request and the /metrics route run there."""

    __slots__ = ("child", "count")

    def __init__(self, child: Any) -> None:
        self.child = child
        self.count = 0

    def inc(self, amount: int = 1) -> None:
        self.count += amount

    def flush(self) -> None:
        count, self.count = self.count, 0
        if count:
            self.child.inc(count)


class Labelled:
    """A labelled metric's children, looked up once per label values.

    prometheus_client's labels() validates and locks on every call, a visible part of a
    single event's cost; the label values here come from small closed sets (routes,
    statuses, event types, reasons), so the map stays small. `pending`: children count
    in a `Pending` until the metrics are read."""

    def __init__(self, metric: Counter, pending: bool = False) -> None:
        self.metric = metric
        self._children: dict[tuple[str, ...], Any] = {}
        self._pending = pending

    def __call__(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            child = self.metric.labels(*values)
            if self._pending:
                child = Pending(child)
            self._children[values] = child
        return child

    def flush(self) -> None:
        if self._pending:
            for child in list(self._children.values()):
                child.flush()


class PendingHistogram:
    """Histogram.observe, added up here and handed over when the metrics are read, as
    `Pending` does for counters (observe locks twice and walks the buckets in Python).
    Falls back to observe() itself if the histogram is not prometheus_client's shape."""

    def __init__(self, histogram: Histogram) -> None:
        self.histogram = histogram
        bounds = getattr(histogram, "_upper_bounds", None)
        buckets = getattr(histogram, "_buckets", None)
        total = getattr(histogram, "_sum", None)
        self._direct = not (isinstance(bounds, list) and isinstance(buckets, list)
                            and len(bounds) == len(buckets) and hasattr(total, "inc"))
        self._bounds = list(bounds or [])
        self._counts = [0] * len(self._bounds)
        self._sum = 0.0

    def observe(self, amount: float) -> None:
        if self._direct:
            self.histogram.observe(amount)
            return
        # The first bucket whose bound is >= amount, as Histogram.observe picks it.
        self._counts[bisect_left(self._bounds, amount)] += 1
        self._sum += amount

    def flush(self) -> None:
        if self._direct:
            return
        counts, self._counts = self._counts, [0] * len(self._bounds)
        total, self._sum = self._sum, 0.0
        if not any(counts):
            return
        histogram: Any = self.histogram
        histogram._sum.inc(total)
        for bucket, count in zip(histogram._buckets, counts, strict=True):
            if count:
                bucket.inc(count)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Labelled(Counter(
            "leadscore_collector_requests", "HTTP requests by route and status",
            ["route", "status"], registry=self.registry), pending=True)
        self.accepted = Labelled(Counter(
            "leadscore_collector_events_accepted", "Events acknowledged by Kafka, by type",
            ["type"], registry=self.registry), pending=True)
        self.rejected = Labelled(Counter(
            "leadscore_collector_events_rejected", "Events refused, by reason",
            ["reason"], registry=self.registry))
        self.dropped = Labelled(Counter(
            "leadscore_collector_events_dropped", "Events dropped at the edge (consent)",
            ["reason"], registry=self.registry))
        self.rate_limited = Labelled(Counter(
            "leadscore_collector_rate_limited", "Requests refused with 429, by bucket",
            ["scope"], registry=self.registry))
        self.produce_latency = PendingHistogram(Histogram(
            "leadscore_collector_produce_seconds", "Time from send to Kafka ack of a request",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry))

    def render(self) -> bytes:
        self.requests.flush()
        self.accepted.flush()
        self.produce_latency.flush()
        return generate_latest(self.registry)
