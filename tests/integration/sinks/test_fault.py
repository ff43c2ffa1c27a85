"""FAULT TEST: kill -9 the sink process while it writes, restart it, count exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from leadscore.settings import Settings
from schemas import topics as t
from sinks.owner import LOCK_NAME, read_owner
from tests.integration.sinks.factories import (
    exact_counts,
    scalar,
    send_json,
    stage_change,
    stored_event,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[3]
N_EVENTS = 30_000
N_CHANGES = 1_500
KILLS = 3


class SinkProcess:
    """`python -m sinks` with small, frequent batches so a kill lands inside one."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "LEADSCORE_VAR": str(self.settings.var_dir),
            "LEADSCORE_TOPIC_PREFIX": self.settings.topic_prefix,
            "LEADSCORE_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
            "LEADSCORE_SINK_QUERY_PORT": "0",
            "LEADSCORE_CLICKHOUSE_URL": "",
        }
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sinks", "--max-rows", "300", "--max-wait-s", "0.05"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        # Query only once *this* process serves: otherwise run_query would open chDB itself.
        wait_for(self._serving, timeout=60)

    def _serving(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"sink exited {self.proc.returncode}: {self.log_path.read_text()}")
        owner = read_owner(self.settings.var_dir / LOCK_NAME)
        return owner.get("pid") == self.proc.pid and bool(owner.get("port"))

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def terminate(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        return self.proc.returncode


@pytest.fixture
def sink_process(settings: Settings, topics: list[str], tmp_path: Path) -> Iterator[SinkProcess]:
    sink = SinkProcess(settings, tmp_path / "sink.log")
    yield sink
    if sink.proc is not None:
        sink.terminate()


def _produce_slowly(producer: KafkaProducer, prefix: str, done: threading.Event) -> None:
    """Traffic keeps arriving while the sink is killed and restarted."""
    for i in range(N_EVENTS):
        event = stored_event(i)
        send_json(producer, t.event_topic(event.type, prefix), event.key, event.model_dump_json())
        if i < N_CHANGES:
            change = stage_change(i)
            topic = prefix + t.LEAD_STAGE_CHANGES
            send_json(producer, topic, change.lead_id, change.model_dump_json())
        if i % 500 == 0:
            producer.flush()
    producer.flush()
    done.set()


def _events(settings: Settings) -> int:
    return int(scalar(settings, "SELECT count() FROM events") or 0)


def test_kill_9_mid_batch_then_restart_counts_exactly_once(
    settings: Settings, prefix: str, producer: KafkaProducer, sink_process: SinkProcess
) -> None:
    done = threading.Event()
    feeder = threading.Thread(target=_produce_slowly, args=(producer, prefix, done))
    feeder.start()
    sink_process.start()
    try:
        for kill in range(KILLS):
            # Kill while rows are flowing: the sink inserts 300 rows at a time, back to back,
            # so a kill lands inside an insert or between an insert and its commit.
            floor = N_EVENTS * (kill + 1) // (KILLS + 2)
            wait_for(lambda floor=floor: _events(settings) > floor, timeout=60, every=0.05)
            sink_process.kill9()
            sink_process.start()
    finally:
        feeder.join(120)
    assert done.is_set()
    wait_for(lambda: _events(settings) >= N_EVENTS, timeout=120)
    wait_for(lambda: int(scalar(settings, "SELECT count() FROM lead_stage_changes")) >= N_CHANGES)
    assert exact_counts(settings, "events", "event_id") == (N_EVENTS, N_EVENTS)
    assert exact_counts(settings, "lead_stage_changes", "change_id") == (N_CHANGES, N_CHANGES)
    assert int(scalar(settings, "SELECT count() FROM sink_dead_letters")) == 0
    assert sink_process.terminate() == 0
    log = sink_process.log_path.read_text()
    assert log.count("event=sink_started") == KILLS + 1
    print([line.split("event=recovered")[1] for line in log.splitlines() if "recovered" in line])
