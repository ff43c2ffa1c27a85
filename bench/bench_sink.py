"""Sink throughput beside a direct clickhouse-connect insert of the same rows, in one run.

    .venv/bin/python bench/bench_sink.py [--events 200000] [--rate 20000 --seconds 10]
        [--rounds 3]

- direct:  the rows (already built) inserted with client.insert in chunks of the sink's
           max_rows, into a fresh table of the same DDL in the same chDB: the reference.
- backlog: the same events as JSON on Kafka topics (3 partitions per topic), then the sink
           started; rows/s from its first poll until every row is inserted and committed.
           Includes consuming, JSON decoding, row building, inserting and committing.
- rounds:  direct, consume-only and backlog are measured --rounds times, interleaved; the
           ratio is best sink / best direct, with the per-round ratios beside it.
- load:    a producer sends events at --rate for --seconds while the sink runs; reports
           INSERT queries per second per table (ClickHouse advice: about one).

Uses the real broker on 127.0.0.1:9092 with a unique topic prefix, chDB in a temp dir.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kafka import KafkaConsumer, KafkaProducer  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402

from leadscore.settings import Settings  # noqa: E402
from schemas.topics import event_topic  # noqa: E402
from sinks.clickhouse import connect  # noqa: E402
from sinks.rows import EVENTS, topic_tables  # noqa: E402
from sinks.runner import Sink, SinkConfig  # noqa: E402
from sinks.schema import ensure_schema  # noqa: E402

BOOTSTRAP = "127.0.0.1:9092"
KINDS = ["page_view"] * 7 + ["email_open", "video_progress", "download"]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def event_json(i: int) -> tuple[str, str, str]:
    """(topic base type, key, value) of a realistic stored event."""
    kind = KINDS[i % len(KINDS)]
    props: dict[str, Any] = {
        "page_view": {
            "url": f"https://acme.test/p/{i % 50}?utm_source=google&utm_medium=cpc",
            "dwell_ms": 1000 + i % 9000,
            "title": "Pricing",
        },
        "email_open": {"campaign_id": "nov", "message_id": f"m{i}"},
        "video_progress": {"video_id": "demo", "percent": float(i % 100)},
        "download": {"asset_id": "whitepaper", "asset_type": "pdf"},
    }[kind]
    at = (T0 + timedelta(seconds=i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    value = {
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "anonymous_id": f"anon-{i % 5000}",
        "lead_id": f"lead-{i % 2000}" if i % 3 else None,
        "occurred_at": at,
        "received_at": at,
        "properties": props,
        "traits": {},
        "flags": [],
        "context": {
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
            "ip": "203.0.113.9",
            "page": {"url": props.get("url", ""), "referrer": "https://google.com/"},
        },
    }
    return kind, f"anon-{i % 5000}", json.dumps(value)


def direct_rows_per_s(settings: Settings, values: list[str], chunk: int, db: str) -> float:
    client = connect(settings)
    try:
        ensure_schema(client, db)
        rows = [EVENTS.to_row(json.loads(v)) + ("t", 0, i) for i, v in enumerate(values)]
        columns = EVENTS.all_columns
        started = time.perf_counter()
        for start in range(0, len(rows), chunk):
            block = rows[start : start + chunk]
            client.insert("events", block, column_names=list(columns), database=db)
        return len(rows) / (time.perf_counter() - started)
    finally:
        client.close()


def produce(prefix: str, items: list[tuple[str, str, str]], rate: float | None = None) -> None:
    producer = KafkaProducer(
        bootstrap_servers=BOOTSTRAP,
        linger_ms=20,
        batch_size=256_000,
        compression_type="lz4",
        acks=1,
    )
    started = time.perf_counter()
    for n, (kind, key, value) in enumerate(items):
        producer.send(event_topic(kind, prefix), key=key.encode(), value=value.encode())
        if rate and n % 1000 == 0:
            ahead = n / rate - (time.perf_counter() - started)
            if ahead > 0:
                time.sleep(ahead)
    producer.flush()
    producer.close()


def consume_only_rows_per_s(names: list[str], rows: int, config: SinkConfig) -> float:
    """kafka-python alone, the sink's fetch settings, no processing: the sink's ceiling."""
    consumer = KafkaConsumer(
        *names,
        bootstrap_servers=BOOTSTRAP,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        check_crcs=config.check_crcs,
        max_poll_records=config.max_poll_records,
        max_partition_fetch_bytes=config.max_partition_fetch_bytes,
    )
    seen, first = 0, None
    while seen < rows:
        polled = consumer.poll(timeout_ms=500)
        if polled and first is None:
            first = time.monotonic()
        seen += sum(len(records) for records in polled.values())
    consumer.close()
    assert first is not None
    return rows / (time.monotonic() - first)


def run_sink_until(
    sink: Sink, rows: int, stop: threading.Event, timeout_s: float = 600
) -> tuple[float, float, threading.Thread]:
    """Start the sink in a thread. Returns rows/s from its first record read to the commit of
    the last row (i.e. without the consumer's group join), seconds from start, the thread."""
    started = time.monotonic()
    thread = threading.Thread(target=sink.run, args=(stop,), daemon=True)
    thread.start()
    while sink.stats["rows"] < rows:
        if time.monotonic() - started > timeout_s:
            raise SystemExit(f"sink stalled at {sink.stats['rows']} rows")
        time.sleep(0.005)
    end = time.monotonic()
    assert sink.first_record_at is not None
    return rows / (end - sink.first_record_at), end - started, thread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=20_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    var = Path(tempfile.mkdtemp(prefix="bench-sink-"))
    settings = Settings(var=var, topic_prefix=prefix, kafka_bootstrap=BOOTSTRAP, clickhouse_url="")
    config = SinkConfig()  # the defaults `leadscore sink` runs with
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    names = sorted({event_topic(k, prefix) for k in KINDS})
    # Every topic the sink reads exists before it joins, as in a deployment: a topic
    # auto-created by the sink's own metadata request would rebalance the group mid-run.
    all_topics = sorted(topic_tables(prefix))
    admin.create_topics([NewTopic(n, 3, 1) for n in all_topics])
    try:
        items = [event_json(i) for i in range(args.events)]
        values = [v for _, _, v in items]
        produce(prefix, items)
        # Rounds interleave the three measurements, so a burst of load on this shared machine
        # hits all of them alike. Each sink round reads the same topics with a fresh group into
        # a fresh database (a fresh one matters: the same offset ranges make the same dedup
        # tokens, and ClickHouse would drop the inserts as repeats).
        rounds: list[tuple[float, float, float, float]] = []
        sink, stop, thread = None, threading.Event(), None
        for n in range(args.rounds):
            direct = direct_rows_per_s(settings, values, config.max_rows, f"d{n}")
            consume = consume_only_rows_per_s(names, args.events, config)
            if sink is not None:
                stop.set()
                assert thread is not None
                thread.join(60)
            round_settings = settings.model_copy(update={"clickhouse_database": f"s{n}"})
            sink = Sink(round_settings, replace(config, group_id=f"{prefix}bench-{n}"))
            stop = threading.Event()
            backlog, seconds, thread = run_sink_until(sink, args.events, stop)
            busy = sink.stats["insert_ms"] / 1000 / (args.events / backlog)
            rounds.append((direct, backlog, consume, busy))
            print(
                f"round {n + 1}: direct {direct:9,.0f}  sink {backlog:9,.0f}  "
                f"consume-only {consume:9,.0f} rows/s  ratio {backlog / direct:.2f}  "
                f"(sink: {seconds:.1f} s incl. group join, {sink.stats['inserts']} inserts, "
                f"insert thread busy {busy:.0%})"
            )
        assert sink is not None and thread is not None
        best_direct = max(r[0] for r in rounds)
        best_sink = max(r[1] for r in rounds)
        best_consume = max(r[2] for r in rounds)
        ratios = sorted(r[1] / r[0] for r in rounds)
        print(
            f"direct insert : {best_direct:12,.0f} rows/s  best of {args.rounds} "
            f"({args.events:,} rows, chunks of {config.max_rows:,})"
        )
        print(
            f"sink (backlog): {best_sink:12,.0f} rows/s  best of {args.rounds}, first record "
            "read -> last commit"
        )
        per_round = ", ".join(f"{r:.2f}" for r in ratios)
        median = ratios[len(ratios) // 2]
        print(
            f"ratio         : {best_sink / best_direct:12.2f}  best/best; per round, sorted: "
            f"{per_round} (median {median:.2f})"
        )
        print(
            f"consume only  : {best_consume:12,.0f} rows/s  (kafka-python, no processing: the "
            f"ceiling for any kafka-python sink; {best_consume / best_direct:.2f} of direct)"
        )

        live = int(args.rate * args.seconds)
        before = dict(sink.stats)
        started = time.perf_counter()
        produce(prefix, [event_json(args.events + i) for i in range(live)], rate=args.rate)
        while sink.stats["rows"] < args.events + live:
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        inserts = sink.stats["inserts"] - before["inserts"]
        print(
            f"load          : {live / elapsed:12,.0f} events/s offered for {elapsed:.1f} s; "
            f"{inserts} inserts = {inserts / elapsed:.2f} inserts/s into 1 table, "
            f"{live / max(inserts, 1):,.0f} rows per insert"
        )
        stop.set()
        thread.join(60)
    finally:
        admin.delete_topics(all_topics)
        admin.close()


if __name__ == "__main__":
    main()
