"""An empty Faust agent over the events topics, with the worker's own Faust and GC settings.

Faust's ceiling for the worker benchmark: it only iterates. It writes the wall-clock
and process CPU times of its first and N-th message to a file and keeps running until
stopped.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import faust

from leadscore.settings import Settings
from schemas import topics
from streams.app import faust_settings
from streams.fetching import App
from streams.gc_tuning import tune_gc


def main() -> None:
    expected, out = int(sys.argv[1]), Path(sys.argv[2])
    settings = Settings()
    (settings.var_dir / "worker").mkdir(parents=True, exist_ok=True)
    app = App(f"{settings.topic_prefix}empty-agent", **faust_settings(settings, "memory://"))
    source = app.topic(*topics.all_event_topics(settings.topic_prefix), key_type=bytes)
    seen = {"n": 0, "first": 0.0, "cpu": 0.0}

    @app.agent(source)
    async def empty(stream: faust.StreamT[Any]) -> None:
        async for _ in stream:
            seen["n"] += 1
            if seen["n"] == 1:
                seen["first"], seen["cpu"] = time.time(), time.process_time()
            if seen["n"] == expected:
                cpu = time.process_time() - seen["cpu"]
                out.write_text(f"{seen['first']} {time.time()} {cpu}\n")

    worker = faust.Worker(app, loglevel="WARNING", quiet=True)
    worker.spinner = None
    tune_gc()  # the worker's process settings too
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
