"""Collector throughput beside its two ceilings, measured in one run on one machine.

    .venv/bin/python bench/bench_collector.py [--seconds 5] [--concurrency 32] [--pairs 3]
                                              [--visitors 1]

- raw:     kafka-python's producer alone, same settings as the collector (acks=all,
           idempotence, lz4, linger 5 ms, its sensors off): the ceiling for batched events/s.
- bare:    a FastAPI endpoint that parses JSON and answers 202, same uvicorn settings:
           the ceiling for single-event requests/s.
- single:  POST /v1/events, one event per request, against the real broker.
- batched: POST /v1/batch, 100 events per request.
- p99:     single-event latency under an open-loop load at 70% of the measured max.
- cpu:     each server's CPU time per request during its closed-loop run (Linux /proc);
           bare ÷ single of it is the single-event ratio without other processes' noise.

Single events are measured in `--pairs` alternating pairs (bare then collector, collector
then bare, ...; both servers up the whole time, the idle one costs next to nothing), and
the figures are medians over the pairs: the ratios are the medians of each pair's ratio.
On a shared machine one run of each, minutes apart in load, swung the ratio by ±0.1;
`--pairs 1` measures as the bench did before (one run each). Every event has one
anonymous id by default, so one key and one partition: the recorded figures are that.
`--visitors N` spreads the single events over N anonymous ids (N keys, hence the topic's
partitions, as many visitors would), for both servers alike; with idempotence each
partition keeps its own batch in flight, so a produce round carries several batches.

Servers run as subprocesses (one uvicorn worker each, as `leadscore collector` runs);
the load comes from a small asyncio HTTP/1.1 keep-alive client in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leadscore.supervisor import free_port  # noqa: E402

KEY = "bench-key"
BATCH = 100
EVENT = {"type": "page_view", "anonymous_id": "bench-anon",
         "properties": {"url": "https://acme.test/pricing?utm_source=bench", "dwell_ms": 4200},
         "context": {"user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"}}


def serve(kind: str, port: int, prefix: str, bootstrap: str, loop: str, http: str) -> None:
    from collector.app import create_app
    from collector.producer import KafkaDelivery

    if kind == "bare":
        app = FastAPI()

        @app.post("/v1/events")
        async def bare(request: Request) -> JSONResponse:
            json.loads(await request.body())
            return JSONResponse({"accepted": 1}, 202)
    else:
        app = create_app(KafkaDelivery(bootstrap), [KEY], prefix)
    # The same server settings for both, and the ones `leadscore collector` uses.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                proxy_headers=False, loop=loop, http=http)  # type: ignore[arg-type]


def start(kind: str, prefix: str, bootstrap: str, loop: str = "auto",
          http: str = "auto") -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port),
                             "--prefix", prefix, "--bootstrap", bootstrap,
                             "--loop", loop, "--http", http])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, run: Callable[[], float], seconds: float) -> tuple[float, float]:
    """A closed-loop rate, and the server's CPU microseconds per request during it."""
    before = cpu_seconds(pid)
    rate = run()
    return rate, 1e6 * (cpu_seconds(pid) - before) / max(1.0, rate * seconds)


def request_bytes(path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: bench\r\nX-Write-Key: {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return status


async def closed_loop(port: int, path: str, body: bytes | list[bytes], seconds: float,
                      conc: int) -> float:
    """Requests/s with `conc` connections each sending as fast as answers come (several
    bodies: each request sends the next one)."""
    raws = [request_bytes(path, b) for b in ([body] if isinstance(body, bytes) else body)]
    sent = 0
    done = 0
    stop = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done, sent
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.monotonic() < stop:
            sent += 1
            status = await _one(reader, writer, raws[sent % len(raws)])
            assert status == 202, status  # noqa: S101 - a bench that counts failures lies
            done += 1
        writer.close()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return done / (time.monotonic() - started)


async def open_loop(port: int, path: str, bodies: list[bytes], rate: float, seconds: float,
                    conc: int) -> list[float]:
    """Latencies of requests started on a fixed schedule (not when the last one returned)."""
    raws = [request_bytes(path, body) for body in bodies]
    queue: asyncio.Queue[float] = asyncio.Queue()
    latencies: list[float] = []
    sent = 0

    async def worker() -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (due := await queue.get()) >= 0:
            sent += 1
            await _one(reader, writer, raws[sent % len(raws)])
            latencies.append(time.monotonic() - due)  # includes queueing: coordinated omission
        writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(conc)]
    start_at = time.monotonic()
    for i in range(int(rate * seconds)):
        due = start_at + i / rate
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        queue.put_nowait(due)
    for _ in workers:
        queue.put_nowait(-1.0)
    await asyncio.gather(*workers)
    return latencies


def raw_producer(bootstrap: str, prefix: str, seconds: float) -> float:
    from datetime import UTC, datetime

    from kafka import KafkaProducer

    from collector.enrichment import Edge
    from collector.intake import parse_event

    value = parse_event(EVENT, datetime.now(UTC), edge=Edge(datetime.now(UTC))).model_dump_json()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                             compression_type="lz4", linger_ms=5, metrics_enabled=False)
    topic = prefix + "events-page-view"
    producer.send(topic, key=b"warm", value=value.encode()).get(timeout=30)
    sent, stop = 0, time.monotonic() + seconds
    started = time.monotonic()
    while time.monotonic() < stop:
        futures = [producer.send(topic, key=b"bench-anon", value=value.encode())
                   for _ in range(BATCH)]
        for f in futures:
            f.get(timeout=30)
        sent += BATCH
    rate = sent / (time.monotonic() - started)
    producer.close()
    return rate


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--bootstrap", default=os.environ.get("LEADSCORE_KAFKA_BOOTSTRAP",
                                                        "127.0.0.1:9092"))
    p.add_argument("--serve")
    p.add_argument("--port", type=int)
    p.add_argument("--prefix", default="")
    # uvicorn's choices; "auto" takes uvloop and httptools when installed, as production.
    p.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    p.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"])
    p.add_argument("--pairs", type=int, default=3,
                   help="alternating bare/collector single-event runs; medians are reported")
    p.add_argument("--visitors", type=int, default=1,
                   help="anonymous ids the single events come from (1: one key, as recorded)")
    args = p.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.prefix, args.bootstrap, args.loop, args.http)
        return 0

    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    single = json.dumps(EVENT).encode()
    singles = [json.dumps({**EVENT, "anonymous_id": f"bench-visitor-{i}"}).encode()
               for i in range(args.visitors)] if args.visitors > 1 else [single]
    batch = json.dumps({"batch": [EVENT] * BATCH}).encode()
    secs, conc = args.seconds, args.concurrency
    results: dict[str, float] = {}
    results["raw_events_s"] = raw_producer(args.bootstrap, prefix, secs)
    servers: list[subprocess.Popen[bytes]] = []
    pairs: list[tuple[float, float, float, float]] = []  # bare rate, cpu; single rate, cpu
    try:
        bare, bare_port = start("bare", prefix, args.bootstrap, args.loop, args.http)
        servers.append(bare)
        coll, port = start("collector", prefix, args.bootstrap, args.loop, args.http)
        servers.append(coll)
        for warm in (bare_port, port):
            asyncio.run(closed_loop(warm, "/v1/events", singles, 1, conc))

        def single_run(server: subprocess.Popen[bytes], at: int) -> tuple[float, float]:
            return measured(server.pid, lambda: asyncio.run(
                closed_loop(at, "/v1/events", singles, secs, conc)), secs)

        for i in range(max(1, args.pairs)):
            if i % 2 == 0:
                b, c = single_run(bare, bare_port), single_run(coll, port)
            else:
                c, b = single_run(coll, port), single_run(bare, bare_port)
            pairs.append((*b, *c))
        results["bare_req_s"] = statistics.median(p[0] for p in pairs)
        results["bare_cpu_us_per_req"] = statistics.median(p[1] for p in pairs)
        results["single_req_s"] = statistics.median(p[2] for p in pairs)
        results["single_cpu_us_per_req"] = statistics.median(p[3] for p in pairs)
        results["batch_events_s"] = BATCH * asyncio.run(
            closed_loop(port, "/v1/batch", batch, secs, max(2, conc // 8)))
        rate = 0.7 * results["single_req_s"]
        lat = sorted(asyncio.run(open_loop(port, "/v1/events", singles, rate, secs, conc)))
        results["p50_ms_at_70pct"] = 1000 * lat[len(lat) // 2]
        results["p99_ms_at_70pct"] = 1000 * lat[int(len(lat) * 0.99)]
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait()
    results["batch_vs_raw"] = results["batch_events_s"] / results["raw_events_s"]
    results["single_vs_bare"] = statistics.median(p[2] / p[0] for p in pairs)
    # The same ratio from the servers' CPU per request: steadier on a shared machine,
    # where the rates swing with other processes' load. Each pair's ratio, then the median.
    cpu_ratios = [p[1] / p[3] for p in pairs if p[3]]
    if cpu_ratios:
        results["single_vs_bare_cpu"] = statistics.median(cpu_ratios)
    out: dict[str, object] = {k: round(v, 3) for k, v in results.items()}
    out["pairs_cpu_us_bare_single"] = [[round(p[1], 1), round(p[3], 1)] for p in pairs]
    out["visitors"] = args.visitors
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
