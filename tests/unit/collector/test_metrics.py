"""Counts kept aside until /metrics is read: the same text as prometheus_client counting."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from collector.metrics import Labelled, Metrics, PendingHistogram

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


def _lines(registry: CollectorRegistry) -> list[str]:
    return [line for line in generate_latest(registry).decode().splitlines()
            if "_created" not in line]  # creation times differ between registries


def test_pending_counts_and_observations_render_as_prometheus_client_s() -> None:
    direct, pending = CollectorRegistry(), CollectorRegistry()
    counters = [Counter("c", "c", ["route", "status"], registry=r) for r in (direct, pending)]
    histograms = [Histogram("h", "h", buckets=BUCKETS, registry=r) for r in (direct, pending)]
    labelled = Labelled(counters[1], pending=True)
    kept = PendingHistogram(histograms[1])
    rng = random.Random(7)
    # bucket bounds exactly, values between and beyond them
    values = [*BUCKETS, 0.0, 7.0, *(rng.uniform(0, 6) for _ in range(500))]
    for round_ in range(3):
        for value in values:
            status = rng.choice(["202", "401", "503"])
            counters[0].labels("/v1/events", status).inc()
            labelled("/v1/events", status).inc()
            histograms[0].observe(value)
            kept.observe(value)
        labelled.flush()
        kept.flush()
        assert _lines(direct)[:-1] == _lines(pending)[:-1]  # all but the float sum
        assert abs(histograms[0]._sum.get() - histograms[1]._sum.get()) < 1e-9 * (round_ + 1)


def test_metrics_render_what_was_counted_since_the_last_render() -> None:
    metrics = Metrics()
    metrics.requests("/v1/events", "202").inc()
    metrics.accepted("page_view").inc(3)
    metrics.produce_latency.observe(0.004)
    text = metrics.render().decode()
    assert 'leadscore_collector_requests_total{route="/v1/events",status="202"} 1.0' in text
    assert 'leadscore_collector_events_accepted_total{type="page_view"} 3.0' in text
    assert 'leadscore_collector_produce_seconds_bucket{le="0.005"} 1.0' in text
    metrics.requests("/v1/events", "202").inc()
    text = metrics.render().decode()
    assert 'leadscore_collector_requests_total{route="/v1/events",status="202"} 2.0' in text
    assert 'leadscore_collector_events_accepted_total{type="page_view"} 3.0' in text
    assert "leadscore_collector_produce_seconds_count 1.0" in text
