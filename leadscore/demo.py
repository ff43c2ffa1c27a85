"""`leadscore demo`: the whole pipeline on a scripted day of traffic, then a report. Finite."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx

from leadscore.settings import Settings
from leadscore.supervisor import Pipeline, free_port, local_broker, stage_env
from leadscore.topics import ensure_topics
from leadscore.traffic import day_of_traffic
from sinks.query import QueryError, run_query
from sinks.reports import format_table

# The demo's own space: its topics and tables never mix with `make run`'s.
DEMO_VAR = "demo"
BATCH = 100
LANDING_TIMEOUT_S = 120.0


def _demo_env(settings: Settings) -> tuple[dict[str, str], Settings]:
    var = settings.var_dir / DEMO_VAR
    shutil.rmtree(var, ignore_errors=True)
    env = stage_env(settings)
    env.update(
        LEADSCORE_VAR=str(var),
        LEADSCORE_TOPIC_PREFIX=f"demo{int(time.time())}-",
        LEADSCORE_COLLECTOR_PORT=str(free_port()),
        LEADSCORE_SINK_QUERY_PORT=str(free_port()),
        LEADSCORE_CLICKHOUSE_URL="" if settings.embedded_clickhouse else settings.clickhouse,
    )
    # Explicit values win over the environment; everything else is read as usual.
    demo = Settings(
        var=var,
        topic_prefix=env["LEADSCORE_TOPIC_PREFIX"],
        collector_port=int(env["LEADSCORE_COLLECTOR_PORT"]),
        sink_query_port=int(env["LEADSCORE_SINK_QUERY_PORT"]),
    )
    return env, demo


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"demo: {what} did not happen in {timeout:.0f} s")
        time.sleep(0.25)


def _scalar(settings: Settings, sql: str) -> int:
    try:
        return int(run_query(settings, sql).rows[0][0])
    except QueryError:
        return -1


def _send(client: httpx.Client, events: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    for i in range(0, len(events), BATCH):
        response = client.post("/v1/batch", json={"batch": events[i : i + BATCH]})
        if response.status_code != 202:
            raise RuntimeError(f"collector answered {response.status_code}: {response.text}")
    return time.perf_counter() - started


def run_demo(settings: Settings, visitors: int = 40, seed: int = 7) -> int:
    with local_broker(stage_env(settings)):
        env, demo = _demo_env(settings)
        pipeline = Pipeline(env)
        try:
            ensure_topics(demo)
            pipeline.start()
            return _play(demo, visitors, seed)
        finally:
            pipeline.stop()


def _play(demo: Settings, visitors: int, seed: int) -> int:
    events = day_of_traffic(visitors, datetime.now(UTC), seed)
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{demo.collector_port}",
        headers={"X-Write-Key": demo.write_keys[0]},
        timeout=10,
    )

    def ready() -> bool:
        try:
            return client.get("/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    _wait(ready, 60, "the collector becoming ready")
    print(
        f"demo: sending {len(events)} events of {visitors} visitors through "
        f"http://127.0.0.1:{demo.collector_port}/v1/batch ...",
        flush=True,
    )
    first = time.perf_counter()
    send_s = _send(client, events)
    n = len(events)
    _wait(
        lambda: _scalar(demo, "SELECT count() FROM leadscore.events") >= n,
        LANDING_TIMEOUT_S,
        "all events landing in ClickHouse",
    )
    _wait(
        lambda: (
            _scalar(
                demo, "SELECT uniqExact(event_id) FROM leadscore.lead_scores WHERE event_id != ''"
            )
            >= n
        ),
        LANDING_TIMEOUT_S,
        "every event being scored",
    )
    landed_s = time.perf_counter() - first
    client.close()
    _report(demo)
    print(
        f"throughput: collector accepted {n} events in {send_s:.2f} s "
        f"({n / send_s:.0f} events/s); all scored and in ClickHouse after {landed_s:.2f} s "
        f"({n / landed_s:.0f} events/s end to end)"
    )
    return 0


# Current stage per profile; anonymous profiles that identified were merged into their lead.
CURRENT = """
WITH merged AS (SELECT DISTINCT concat('anon:', anonymous_id) AS p FROM leadscore.events
                WHERE type = 'identify' AND lead_id != '' AND anonymous_id != '')
SELECT lead_id, argMax(stage, (at, _offset)) AS stage, argMax(score, (at, _offset)) AS score,
       argMax(fit_grade, (at, _offset)) AS fit
FROM leadscore.lead_scores WHERE lead_id NOT IN (SELECT p FROM merged)
GROUP BY lead_id
"""


def _report(demo: Settings) -> None:
    by_stage = run_query(
        demo,
        f"SELECT stage, count() AS leads, round(avg(score), 1) AS avg_score "
        f"FROM ({CURRENT}) GROUP BY stage ORDER BY leads DESC",
    )
    print("\nLeads by stage")
    print(format_table(by_stage))
    hot = run_query(
        demo,
        f"""
        SELECT c.lead_id AS lead, concat(any(cur.fit), ' / hot') AS grade,
               round(any(cur.score), 1) AS score_now, min(c.at) AS hot_since,
               any(c.cause) AS cause,
               arrayStringConcat(arraySlice(groupUniqArrayArray(
                   arrayMap(x -> x.1, c.contributions)), 1, 4), ', ') AS last_rules
        FROM leadscore.lead_stage_changes AS c
        INNER JOIN ({CURRENT}) AS cur ON cur.lead_id = c.lead_id
        WHERE c.to_stage = 'hot' AND cur.stage = 'hot'
        GROUP BY c.lead_id ORDER BY score_now DESC LIMIT 10""",
    )
    print("\nTop hot leads, and what made them hot")
    print(format_table(hot))
    why = run_query(
        demo,
        f"""
        SELECT c.rule_id AS rule, round(sum(c.points), 1) AS points, count() AS credits
        FROM leadscore.lead_scores ARRAY JOIN contributions AS c
        WHERE lead_id IN (SELECT lead_id FROM ({CURRENT}) WHERE stage = 'hot')
        GROUP BY rule ORDER BY points DESC""",
    )
    print("\nPoints of hot leads by rule")
    print(format_table(why))
