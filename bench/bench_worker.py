"""Worker throughput and latency, each beside its baselines in the same run.

  .venv/bin/python bench/bench_worker.py [--events 20000]

1. events/s of the scoring worker (identity + scoring agents, default rules, memory store)
   beside (a) an empty Faust agent iterating the same topics with the same settings and
   (b) a raw aiokafka consume -> produce passthrough; all read the same backlog. The
   empty agent and the worker run in alternating pairs (--pairs, default 3), and the
   ratios are the medians of the pairs' (a noisy 2-core box moves single runs by ~10%).
2. end-to-end latency from the collector's 202 to the stage change on lead-stage-changes,
   p50 and p99, at half the worker's measured rate.
3. bytes per lead in the worker's table (the changelog's latest value per lead).
Needs the broker (deploy/kafka/broker.sh start).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import median, quantiles
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx2 as httpx  # noqa: E402
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # noqa: E402
from kafka import KafkaConsumer  # noqa: E402

from leadscore.settings import Settings  # noqa: E402
from leadscore.supervisor import Pipeline  # noqa: E402
from leadscore.topics import ensure_topics  # noqa: E402
from schemas import topics  # noqa: E402
from schemas.timestamps import format_epoch  # noqa: E402
from tests.kafka_io import TopicReader, delete_topics, produce, wait_for  # noqa: E402
from tests.processes import stage_env  # noqa: E402

BOOTSTRAP = os.environ.get("LEADSCORE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
PATHS = ["/", "/product", "/product/pipelines", "/pricing", "/blog/kafka", "/careers"]


def events(n: int, leads: int, devices: bool = False) -> list[dict[str, Any]]:
    """Page views of known leads; with `devices`, each lead browses on its own (already
    identified) device, so events are keyed by the device id and take the identity hop."""
    start = time.time() - 3_600
    return [
        {
            "event_id": str(uuid.uuid4()),
            "type": "page_view",
            "anonymous_id": f"device-{i % leads}" if devices else None,
            "lead_id": f"lead-{i % leads}",
            "occurred_at": format_epoch(start + i * 0.1),
            "received_at": format_epoch(start + i * 0.1),
            "properties": {
                "url": "https://acme.test" + PATHS[i % len(PATHS)],
                "dwell_ms": (i * 7919) % 60_000,
            },
            "traits": {},
            "context": {},
            "flags": [],
        }
        for i in range(n)
    ]


DEVICES = False  # --devices
PREFIXES: list[str] = []  # every run's topics, deleted at the end


class Pair(NamedTuple):
    empty: float  # events/s
    empty_cpu: float  # events per CPU second
    worker: float
    worker_cpu: float


def backlog(prefix: str, n: int) -> None:
    PREFIXES.append(prefix)
    settings = Settings(topic_prefix=prefix, kafka_bootstrap=BOOTSTRAP)
    ensure_topics(settings)
    batch = events(n, max(1, n // 10), DEVICES)
    produce(
        BOOTSTRAP,
        [(prefix + "events-page-view", e["anonymous_id"] or e["lead_id"], e) for e in batch],
    )


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def record_times(topic: str, n: int, pid: int, timeout: float = 600) -> tuple[float, float, float]:
    """Broker-side timestamps of the first and n-th message on `topic`, and the CPU seconds
    process `pid` used between seeing them (to within one 0.5 s poll)."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=BOOTSTRAP,
        auto_offset_reset="earliest",
        group_id=None,
        metadata_max_age_ms=500,
    )
    stamps: list[float] = []
    cpu_first = 0.0
    deadline = time.monotonic() + timeout
    while len(stamps) < n and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            if not stamps:
                cpu_first = process_cpu(pid)
            stamps.extend(r.timestamp / 1000 for r in records)
    cpu = process_cpu(pid) - cpu_first
    consumer.close()
    if len(stamps) < n:
        raise TimeoutError(f"only {len(stamps)} of {n} messages on {topic}")
    stamps.sort()
    return stamps[0], stamps[n - 1], cpu


# Tests run workers at INFO (tests/processes.py); the benchmark measures the default.
PRODUCTION_LOGS = {"LEADSCORE_WORKER_LOG_LEVEL": "WARNING"}


def run_worker(n: int, tmp: Path) -> tuple[float, float, str]:
    """(events/s, events per CPU second, topic prefix)"""
    prefix = f"bw{uuid.uuid4().hex[:6]}-"
    backlog(prefix, n)
    env = stage_env(tmp / "worker", BOOTSTRAP, prefix, **PRODUCTION_LOGS)
    pipeline = Pipeline(env, ("worker",))
    pipeline.start()
    try:
        first, last, cpu = record_times(prefix + "lead-scores", n, pipeline.children["worker"].pid)
    finally:
        pipeline.stop()
    return (n - 1) / (last - first), (n - 1) / cpu, prefix


def run_empty_agent(n: int, tmp: Path) -> tuple[float, float]:
    """(events/s, events per CPU second)"""
    prefix = f"be{uuid.uuid4().hex[:6]}-"
    backlog(prefix, n)
    out = tmp / "empty.txt"
    env = stage_env(tmp / "empty", BOOTSTRAP, prefix, **PRODUCTION_LOGS)
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "faust_empty.py"), str(n), str(out)], env=env
    )
    try:
        wait_for(out.exists, timeout=600, every=0.1)
        first, last, cpu = map(float, out.read_text().split())
    finally:
        child.terminate()
        child.wait(30)
    return (n - 1) / (last - first), (n - 1) / cpu


async def passthrough(prefix: str, n: int) -> float:
    consumer = AIOKafkaConsumer(
        prefix + "events-page-view",
        bootstrap_servers=BOOTSTRAP,
        auto_offset_reset="earliest",
        group_id=None,
    )
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks=-1)
    await consumer.start()
    await producer.start()
    seen, first = 0, 0.0
    try:
        while seen < n:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for r in records:
                    if seen == 0:
                        first = time.time()
                    await producer.send(prefix + "passthrough", key=r.key, value=r.value)
                    seen += 1
        await producer.flush()
        return (n - 1) / (time.time() - first)
    finally:
        await consumer.stop()
        await producer.stop()


def run_passthrough(n: int) -> float:
    prefix = f"bp{uuid.uuid4().hex[:6]}-"
    backlog(prefix, n)
    return asyncio.run(passthrough(prefix, n))


# HTTP sender threads for the latency run (48 reached no more than 16: ~400 events/s, bounded
# by the collector sharing two cores with the worker, the broker and this process).
SENDERS = 16

LATENCY_RULES = """
version = "bench-latency"
[decay]
half_life = "14d"
[stages]
warm = 1
hot = 100
[[rule]]
id = "page"
event = "page_view"
points = 2
"""


class Latency(NamedTuple):
    p50: float
    p99: float
    sent: float  # events/s the senders reached
    # The longest time without a stage change while they were flowing: a stall in the
    # pipeline shows here even when the run is too short for it to reach the p99.
    worst_gap: float


def run_latency(rate: float, count: int, tmp: Path, batch: int = 1) -> Latency:
    """Each event is a new lead turning warm: 202 -> change on lead-stage-changes.

    Senders post on a fixed schedule from a thread pool (one POST takes ~15 ms, so one
    thread cannot keep up). A change counts as there at its Kafka timestamp (the worker's
    send time), so the reader's own polling delay is not measured. With `batch` > 1 the
    events go in /v1/batch requests of that many, each timed from its request's 202: the
    HTTP senders reach ~400 single requests/s on this box, short of half the worker's rate.
    """
    prefix = f"bl{uuid.uuid4().hex[:6]}-"
    rules = tmp / "latency.toml"
    rules.write_text(LATENCY_RULES)
    PREFIXES.append(prefix)
    env = stage_env(
        tmp / "latency", BOOTSTRAP, prefix, LEADSCORE_RULES=str(rules), **PRODUCTION_LOGS
    )
    ensure_topics(Settings(topic_prefix=prefix, kafka_bootstrap=BOOTSTRAP))
    pipeline = Pipeline(env, ("worker", "collector"))
    pipeline.start()
    reader = TopicReader(BOOTSTRAP, prefix + "lead-stage-changes")
    accepted: dict[str, float] = {}
    try:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{env['LEADSCORE_COLLECTOR_PORT']}",
            headers={"X-Write-Key": "test-key"},
            limits=httpx.Limits(max_connections=SENDERS),
        )
        wait_for(lambda: _ready(client), timeout=60)
        _warm_up(client, reader)
        start = time.perf_counter()

        def send(first: int) -> None:
            leads = [f"lat-{i}" for i in range(first, min(count, first + batch))]
            time.sleep(max(0.0, start + first / rate - time.perf_counter()))
            events = [
                {"type": "page_view", "lead_id": lead, "properties": {"url": "/x"}}
                for lead in leads
            ]
            if batch == 1:
                response = client.post("/v1/events", json=events[0])
            else:
                response = client.post("/v1/batch", json={"batch": events})
            done = time.time()
            assert response.status_code == 202, response.text
            accepted.update(dict.fromkeys(leads, done))

        with ThreadPoolExecutor(SENDERS) as pool:
            list(pool.map(send, range(0, count, batch)))
        achieved = count / (time.perf_counter() - start)
        reader.until(
            lambda vs: len({v["lead_id"] for v in vs} & set(accepted)) >= count, timeout=120
        )
    finally:
        pipeline.stop()
    arrived: dict[str, float] = {}
    for (_, change), stamp in zip(reader.messages, reader.stamps, strict=True):
        if change["cause"] == "event":
            arrived.setdefault(change["lead_id"], stamp)
    latencies = sorted(arrived[lead] - accepted[lead] for lead in accepted)
    cuts = quantiles(latencies, n=100)
    times = sorted(arrived[lead] for lead in accepted)
    gap = max(b - a for a, b in itertools.pairwise(times))
    return Latency(cuts[49], cuts[98], achieved, gap)


def _ready(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz").status_code == 200
    except httpx.HTTPError:
        return False


def _warm_up(client: httpx.Client, reader: TopicReader) -> None:
    """Until changes follow events within 0.2 s five times in a row. For its first seconds
    a new worker's scoring agent answered ~2 s late (consumer warm-up), which would
    measure start-up, not the pipeline."""
    fast, deadline = 0, time.monotonic() + 120
    while fast < 5:
        if time.monotonic() > deadline:
            raise TimeoutError("the pipeline did not settle in 120 s")
        lead = f"warm-{uuid.uuid4().hex[:8]}"
        client.post(
            "/v1/events", json={"type": "page_view", "lead_id": lead, "properties": {"url": "/x"}}
        )
        sent = time.time()
        reader.until(lambda vs, lead=lead: any(v["lead_id"] == lead for v in vs), timeout=60)
        at = next(
            t
            for (_, v), t in zip(reader.messages, reader.stamps, strict=True)
            if v["lead_id"] == lead
        )
        fast = fast + 1 if at - sent < 0.2 else 0
        time.sleep(0.25)


def table_bytes_per_lead(prefix: str) -> float:
    """Mean size of the latest value per lead in the worker's profiles changelog."""
    topic = f"{prefix}{topics.WORKER_APP}-{topics.PROFILES_TABLE}-changelog"
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=BOOTSTRAP,
        auto_offset_reset="earliest",
        group_id=None,
        consumer_timeout_ms=3000,
    )
    latest = {r.key: len(r.value) for r in consumer if r.value is not None}
    consumer.close()
    return sum(latest.values()) / max(1, len(latest))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--latency-events", type=int, default=600)
    parser.add_argument(
        "--latency-batch", type=int, default=5, metavar="N", help="latency events per request"
    )
    parser.add_argument(
        "--latency-only", type=float, metavar="RATE", help="only the latency part, at this rate"
    )
    parser.add_argument("--throughput-only", action="store_true")
    parser.add_argument(
        "--pairs", type=int, default=3, help="alternating empty-agent/worker runs (medians)"
    )
    parser.add_argument(
        "--devices", action="store_true", help="events from identified devices (identity hop)"
    )
    args = parser.parse_args()
    global DEVICES
    DEVICES = args.devices
    n = args.events
    if args.latency_only:
        with tempfile.TemporaryDirectory() as tmp_name:
            lat = run_latency(
                args.latency_only, args.latency_events, Path(tmp_name), args.latency_batch
            )
        print(
            f"{lat.sent:.0f} events/s sent: p50 {lat.p50 * 1000:.0f} ms, "
            f"p99 {lat.p99 * 1000:.0f} ms, longest gap {lat.worst_gap * 1000:.0f} ms"
        )
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        raw = run_passthrough(n)
        source = "identified devices" if DEVICES else "leads"
        print(f"events: {n} page views of {n // 10} {source}, backlog read from the start")
        print(f"raw aiokafka passthrough : {raw:9.0f} events/s")
        pairs = []
        for i in range(args.pairs):
            # Alternating, so each ratio compares runs of the same minute on a noisy box.
            (tmp / str(i)).mkdir()
            empty, empty_cpu = run_empty_agent(n, tmp / str(i))
            worker, worker_cpu, prefix = run_worker(n, tmp / str(i))
            pairs.append(Pair(empty, empty_cpu, worker, worker_cpu))
            print(
                f"pair {i + 1}: empty agent {empty:6.0f} events/s, {empty_cpu:6.0f} per CPU s; "
                f"worker {worker:6.0f} events/s, {worker_cpu:6.0f} per CPU s; "
                f"ratio {worker / empty:.2f} wall, {worker_cpu / empty_cpu:.2f} CPU",
                flush=True,
            )
        empty, empty_cpu, worker, worker_cpu = (
            median(getattr(p, f) for p in pairs) for f in Pair._fields
        )
        print(f"empty Faust agent        : {empty:9.0f} events/s, {empty_cpu:9.0f} per CPU second")
        print(
            f"leadscore worker         : {worker:9.0f} events/s, {worker_cpu:9.0f} per CPU second"
        )
        print(
            f"worker / empty agent     : {median(p.worker / p.empty for p in pairs):.2f} by wall"
            f" clock, {median(p.worker_cpu / p.empty_cpu for p in pairs):.2f} by CPU (medians"
            f" of {len(pairs)} pairs); worker / raw {worker / raw:.3f}"
        )
        if args.throughput_only:
            return
        per_lead = table_bytes_per_lead(prefix)
        print(f"table value per lead     : {per_lead:9.0f} bytes (changelog, 10 events a lead)")
        lat = run_latency(worker / 2, args.latency_events, tmp, args.latency_batch)
        print(
            f"end to end at {lat.sent:.0f} events/s sent (target: half the worker's rate): "
            f"202 -> stage change p50 {lat.p50 * 1000:.0f} ms, p99 {lat.p99 * 1000:.0f} ms, "
            f"longest gap between changes {lat.worst_gap * 1000:.0f} ms"
        )
    print(
        json.dumps(
            {
                "raw": raw,
                "pairs": [p._asdict() for p in pairs],
                "empty": empty,
                "empty_per_cpu_s": empty_cpu,
                "worker": worker,
                "worker_per_cpu_s": worker_cpu,
                "p50_s": lat.p50,
                "p99_s": lat.p99,
                "longest_gap_s": lat.worst_gap,
                "bytes_per_lead": per_lead,
            }
        )
    )


if __name__ == "__main__":
    try:
        main()
    finally:
        for used in PREFIXES:
            delete_topics(BOOTSTRAP, used)
