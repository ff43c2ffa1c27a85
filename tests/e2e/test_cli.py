"""The CLI as a user runs it: `leadscore run` serves and stops cleanly; schemas export."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx2 as httpx

from tests.kafka_io import wait_for
from tests.processes import leadscore, settings_for, stage_env


def test_run_serves_and_stops_everything_on_ctrl_c(
    tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    # With LEADSCORE_KAFKA_BOOTSTRAP set, `run` uses that broker and starts none.
    env = stage_env(tmp_path / "var", kafka_bootstrap, topic_prefix)
    settings = settings_for(env)
    run = subprocess.Popen(
        [sys.executable, "-m", "leadscore", "run"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert run.stdout is not None
        banner = run.stdout.readline()
        assert f"http://127.0.0.1:{settings.collector_port}" in banner

        def ready() -> bool:
            try:
                return (
                    httpx.get(f"http://127.0.0.1:{settings.collector_port}/readyz").status_code
                    == 200
                )
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=60)
        children = subprocess.run(
            ["pgrep", "-P", str(run.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) == 3  # sink, worker, collector
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=90) == 0
        for pid in children:
            assert subprocess.run(["kill", "-0", pid], capture_output=True).returncode != 0
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()


def test_schemas_export_writes_a_json_schema_per_contract(tmp_path: Path) -> None:
    result = leadscore("schemas", "export", str(tmp_path / "out"), env={"PATH": "/usr/bin"})
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "event.schema.json" in written and "lead-stage-change.schema.json" in written
    change = json.loads((tmp_path / "out" / "lead-stage-change.schema.json").read_text())
    assert {"lead_id", "from_stage", "to_stage", "cause", "change_id"} <= set(change["properties"])
