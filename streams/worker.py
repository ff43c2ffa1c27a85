"""Run the scoring worker: a Faust worker around streams.app (SIGINT/SIGTERM stop it)."""

from __future__ import annotations

import faust

from leadscore.settings import Settings
from leadscore.topics import ensure_topics
from scorer import load_rules
from streams.app import create_app
from streams.gc_tuning import tune_gc


def run_worker(settings: Settings) -> None:
    rules = load_rules(settings.rules)
    # Outputs go straight to the producer (streams/sending.py): Faust declares none of them.
    ensure_topics(settings)
    (settings.var_dir / "worker").mkdir(parents=True, exist_ok=True)
    pipeline = create_app(settings, rules)
    worker = faust.Worker(pipeline.app, loglevel=settings.worker_log_level, quiet=True)
    # The start-up spinner writes terminal escapes into logs and `leadscore run`'s output.
    worker.spinner = None
    tune_gc()
    worker.execute_from_commandline()
