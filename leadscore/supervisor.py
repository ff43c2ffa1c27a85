"""`leadscore run`: the broker (unless external) and the three processes, stopped together.

Each stage runs in its own process: the Faust worker owns its event loop and
signals, uvicorn its own, and the sink owns the embedded chDB data path.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from leadscore.settings import PROJECT_ROOT, Settings
from leadscore.topics import ensure_topics

log = logging.getLogger("leadscore.run")

BROKER_SCRIPT = PROJECT_ROOT / "deploy" / "kafka" / "broker.sh"
STAGES = ("sink", "worker", "collector")
# Stages get this long to drain after SIGTERM before they are killed.
STOP_GRACE_S = 30.0


def broker(action: str, env: Mapping[str, str]) -> int:
    """Run broker.sh; `status` is asked quietly (its answer is the exit code)."""
    return subprocess.run(
        [str(BROKER_SCRIPT), action], env=dict(env), check=False, capture_output=action == "status"
    ).returncode


class Pipeline:
    """The three stages as child processes of this one."""

    def __init__(self, env: Mapping[str, str], stages: Sequence[str] = STAGES) -> None:
        self.env = dict(env)
        self.stages = stages
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        for stage in self.stages:
            self.children[stage] = subprocess.Popen(
                [sys.executable, "-m", "leadscore", stage], env=self.env
            )

    def wait_any(self, stop: threading.Event) -> str | None:
        """Block until `stop` is set or a stage exits; return the stage that died."""
        while not stop.wait(0.5):
            for name, child in self.children.items():
                if child.poll() is not None:
                    return name
        return None

    def stop(self) -> None:
        # Collector first (no new events), then the worker, the sink last (drains the rest).
        for name in reversed(self.stages):
            child = self.children.get(name)
            if child is None or child.poll() is not None:
                continue
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", name, STOP_GRACE_S)
                child.kill()
                child.wait()


def stage_env(settings: Settings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.setdefault("LEADSCORE_VAR", str(settings.var_dir))
    return env


class BrokerDidNotStart(RuntimeError):
    pass


@contextmanager
def local_broker(env: Mapping[str, str]) -> Iterator[None]:
    """The project's broker for the duration (none with LEADSCORE_KAFKA_BOOTSTRAP set);
    stopped afterwards only if this call started it."""
    started = broker("status", env) != 0 and "LEADSCORE_KAFKA_BOOTSTRAP" not in env
    if broker("start", env) != 0:
        raise BrokerDidNotStart("the Kafka broker did not start (see var/kafka/broker.log)")
    try:
        yield
    finally:
        if started:
            broker("stop", env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(settings: Settings, announce: bool = True) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    env = stage_env(settings)
    with local_broker(env):
        pipeline = Pipeline(env)
        try:
            ensure_topics(settings)
            pipeline.start()
            if announce:
                print(
                    f"leadscore: collector on http://{settings.collector_host}:"
                    f"{settings.collector_port} (POST /v1/events, /v1/batch; docs at /docs); "
                    f"ClickHouse at {settings.clickhouse}. Ctrl-C stops everything.",
                    flush=True,
                )
            died = pipeline.wait_any(stop)
            if died:
                print(f"leadscore: {died} exited; stopping the pipeline", file=sys.stderr)
            return 1 if died else 0
        finally:
            pipeline.stop()
