"""Sink throughput beside a direct clickhouse-connect insert of the same rows, in one run.

    .venv/bin/python bench/bench_sink.py [--events 200000] [--rate 20000 --seconds 10]
        [--rounds 3] [--also native_records=false]

- direct:  the rows (already built) inserted with client.insert in chunks of the sink's
           max_rows, into a fresh table of the same DDL in the same chDB: the reference.
- backlog: the same events as JSON on Kafka topics (3 partitions per topic), then the sink
           started; rows/s from its first poll until every row is inserted and committed.
           Includes consuming, JSON decoding, row building, inserting and committing.
- consume: the sink's consumer alone, no processing (its ceiling); and the same with
           kafka-python's own pure-Python record decoding ("stock").
- rounds:  direct, consume-only and backlog are measured --rounds times, interleaved; the
           ratio is best sink / best direct, with the per-round ratios beside it. CPU time
           per row (the whole process: chDB runs in it) is printed beside each, steadier than
           rows/s on a shared machine. --also runs a second sink per round with changed
           SinkConfig fields, alternating which goes first.
- load:    a producer sends events at --rate for --seconds while the sink runs; reports
           INSERT queries per second per table (ClickHouse advice: about one).

Uses the real broker on 127.0.0.1:9092 with a unique topic prefix, chDB in a temp dir.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kafka import KafkaConsumer, KafkaProducer  # noqa: E402
from kafka.admin import KafkaAdminClient, NewTopic  # noqa: E402

from leadscore.settings import Settings  # noqa: E402
from schemas.topics import event_topic  # noqa: E402
from sinks import fast_records  # noqa: E402
from sinks.clickhouse import connect  # noqa: E402
from sinks.rows import EVENTS, topic_tables  # noqa: E402
from sinks.runner import Sink, SinkConfig  # noqa: E402
from sinks.schema import ensure_schema  # noqa: E402

BOOTSTRAP = "127.0.0.1:9092"
KINDS = ["page_view"] * 7 + ["email_open", "video_progress", "download"]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


class Round(NamedTuple):
    direct: float
    sink: float
    consume: float
    stock: float  # consume-only with kafka-python's own record decoding
    also: float  # the --also sink, 0 without one


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


def direct_rows_per_s(
    settings: Settings, values: list[str], chunk: int, db: str
) -> tuple[float, float]:
    """(rows/s, CPU us per row of this process, chDB included: it runs in-process)."""
    client = connect(settings)
    try:
        ensure_schema(client, db)
        rows = [EVENTS.to_row(json.loads(v)) + ("t", 0, i) for i, v in enumerate(values)]
        columns = EVENTS.all_columns
        started, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(rows), chunk):
            block = rows[start : start + chunk]
            client.insert("events", block, column_names=list(columns), database=db)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        return len(rows) / elapsed, cpu / len(rows) * 1e6
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


def consume_only_rows_per_s(names: list[str], rows: int, config: SinkConfig) -> tuple[float, float]:
    """The sink's consumer alone (kafka-python with the sink's fetch, CRC and record decoding
    settings), no processing: the sink's ceiling. (rows/s, CPU us per row of this process)."""
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
    if config.native_records:
        fast_records.install(consumer)
    seen, first, cpu = 0, None, 0.0
    while seen < rows:
        polled = consumer.poll(timeout_ms=500)
        if polled and first is None:
            first, cpu = time.monotonic(), time.process_time()
        seen += sum(len(records) for records in polled.values())
    elapsed, cpu = time.monotonic() - first if first else 0.0, time.process_time() - cpu
    consumer.close()
    assert first is not None
    return rows / elapsed, cpu / rows * 1e6


def run_sink_until(
    sink: Sink, rows: int, stop: threading.Event, timeout_s: float = 600
) -> tuple[float, float, float, threading.Thread]:
    """Start the sink in a thread. Returns rows/s from its first record read to the commit of
    the last row (i.e. without the consumer's group join), the process's CPU us per row over
    that time (sink threads and the in-process chDB; sampled every 5 ms), seconds from start,
    the thread."""
    started = time.monotonic()
    thread = threading.Thread(target=sink.run, args=(stop,), daemon=True)
    thread.start()
    cpu_first = None
    while sink.stats["rows"] < rows:
        if time.monotonic() - started > timeout_s:
            raise SystemExit(f"sink stalled at {sink.stats['rows']} rows")
        if cpu_first is None and sink.first_record_at is not None:
            cpu_first = time.process_time()
        time.sleep(0.005)
    end, cpu = time.monotonic(), time.process_time() - (cpu_first or 0.0)
    assert sink.first_record_at is not None
    return rows / (end - sink.first_record_at), cpu / rows * 1e6, end - started, thread


def parse_overrides(text: str) -> dict[str, Any]:
    """`native_records=false,max_rows=50000` -> SinkConfig fields (bool, int, float, str)."""
    fields = {f.name: f for f in dataclasses.fields(SinkConfig)}
    out: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        name, _, raw = item.partition("=")
        if name not in fields:
            raise SystemExit(f"--also: SinkConfig has no field {name!r}")
        kind = type(getattr(SinkConfig(), name))
        if kind is bool:
            out[name] = raw.lower() in ("1", "true", "yes", "on")
        elif kind in (int, float):
            out[name] = kind(raw)
        else:
            out[name] = raw
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=20_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--also",
        default="",
        help="a second sink in every round with these SinkConfig fields changed, e.g. "
        "native_records=false: compares a change within the same minutes",
    )
    args = parser.parse_args()
    also = parse_overrides(args.also)
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
        rounds: list[Round] = []
        sink, stop, thread = None, threading.Event(), None
        for n in range(args.rounds):
            direct, direct_cpu = direct_rows_per_s(settings, values, config.max_rows, f"d{n}")
            consume, consume_cpu = consume_only_rows_per_s(names, args.events, config)
            stock, stock_cpu = consume_only_rows_per_s(
                names, args.events, replace(config, native_records=False)
            )
            variants = [("", config)] + ([("b", replace(config, **also))] if also else [])
            # Alternate which sink goes first, so neither always follows the direct insert.
            if n % 2:
                variants.reverse()
            sinks: dict[str, tuple[float, float]] = {}
            for tag, variant in variants:
                if sink is not None:
                    stop.set()
                    assert thread is not None
                    thread.join(60)
                db = f"s{n}{tag}"
                round_settings = settings.model_copy(update={"clickhouse_database": db})
                sink = Sink(round_settings, replace(variant, group_id=f"{prefix}bench-{db}"))
                stop = threading.Event()
                rate, cpu, seconds, thread = run_sink_until(sink, args.events, stop)
                sinks[tag] = (rate, cpu)
                busy = sink.stats["insert_ms"] / 1000 / (args.events / rate)
                print(
                    f"round {n + 1}{tag or ' '}: direct {direct:9,.0f}  sink {rate:9,.0f}  "
                    f"consume-only {consume:9,.0f} (stock {stock:9,.0f}) rows/s  "
                    f"ratio {rate / direct:.2f}  CPU us/row: direct {direct_cpu:.1f} "
                    f"sink {cpu:.1f} consume {consume_cpu:.1f} (stock {stock_cpu:.1f})  "
                    f"(sink: {seconds:.1f} s incl. group join, {sink.stats['inserts']} inserts, "
                    f"insert thread busy {busy:.0%})",
                    flush=True,
                )
            rounds.append(Round(direct, sinks[""][0], consume, stock, sinks.get("b", (0.0,))[0]))
        assert sink is not None and thread is not None
        best_direct = max(r.direct for r in rounds)
        best_sink = max(r.sink for r in rounds)
        best_consume = max(r.consume for r in rounds)
        best_stock = max(r.stock for r in rounds)
        ratios = sorted(r.sink / r.direct for r in rounds)
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
        if also:
            b_ratios = sorted(r.also / r.direct for r in rounds)
            print(
                f"sink ({args.also}): {max(r.also for r in rounds) / best_direct:.2f} best/best; "
                f"per round, sorted: {', '.join(f'{r:.2f}' for r in b_ratios)} "
                f"(median {b_ratios[len(b_ratios) // 2]:.2f})"
            )
        print(
            f"consume only  : {best_consume:12,.0f} rows/s  (the sink's consumer, no processing: "
            f"its ceiling; {best_consume / best_direct:.2f} of direct); stock kafka-python "
            f"decoding {best_stock:,.0f} ({best_stock / best_direct:.2f} of direct)"
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
