"""Running leadscore's stages as real processes in tests, each with its own var dir."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from leadscore.settings import Settings
from leadscore.supervisor import Pipeline, free_port
from leadscore.topics import ensure_topics


def stage_env(var: Path, bootstrap: str, prefix: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADSCORE_")}
    env.update(
        LEADSCORE_VAR=str(var),
        LEADSCORE_KAFKA_BOOTSTRAP=bootstrap,
        LEADSCORE_TOPIC_PREFIX=prefix,
        LEADSCORE_COLLECTOR_PORT=str(free_port()),
        LEADSCORE_SINK_QUERY_PORT=str(free_port()),
        LEADSCORE_WORKER_STORE="memory://",
        # A failing test's captured output then shows each worker's rebalances and rewinds.
        LEADSCORE_WORKER_LOG_LEVEL="INFO",
        LEADSCORE_WRITE_KEYS="test-key",
    )
    env.update(extra)
    return env


def settings_for(env: dict[str, str]) -> Settings:
    """The Settings a stage process with `env` reads."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def running_pipeline(
    env: dict[str, str],
    stages: tuple[str, ...] = ("sink", "worker", "collector"),
) -> Iterator[Pipeline]:
    """The stages as child processes; stopped with SIGTERM (as `leadscore run` does)."""
    ensure_topics(settings_for(env))
    pipeline = Pipeline(env, stages)
    pipeline.start()
    try:
        yield pipeline
    finally:
        pipeline.stop()
        assert all(c.poll() is not None for c in pipeline.children.values())


def leadscore(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leadscore", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
