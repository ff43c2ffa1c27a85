"""The worker's consumer must not long-poll for Faust's hard-coded 1.5 s (streams/fetching.py)."""

from __future__ import annotations

import asyncio

from leadscore.settings import Settings
from scorer import load_rules
from streams.app import create_app
from streams.fetching import FETCH_MAX_WAIT_MS


def test_the_worker_consumer_long_polls_briefly() -> None:
    settings = Settings()
    app = create_app(settings, load_rules(settings.rules), "memory://").app

    async def fetch_wait() -> int:
        # Built, not started: no broker is contacted.
        consumer = app.consumer._thread._create_worker_consumer(app.transport)
        try:
            return int(consumer._fetch_max_wait_ms)
        finally:
            await consumer.stop()

    assert FETCH_MAX_WAIT_MS <= 100
    assert asyncio.run(fetch_wait()) == FETCH_MAX_WAIT_MS
