"""Real HTTP servers in threads for browser and SDK tests: the collector (stoppable and
restartable on the same port, to play an outage) and a static test site."""

from __future__ import annotations

import threading
import time

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp

from collector.app import create_app
from collector.config import CollectorConfig
from collector.producer import KafkaDelivery
from leadscore.supervisor import free_port

WRITE_KEY = "e2e-key"


class ThreadServer:
    """uvicorn in a thread; start() returns once it listens, stop() once it has closed."""

    def __init__(self, app: ASGIApp, port: int) -> None:
        self.app, self.port = app, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
            self._server = self._thread = None


class LiveCollector(ThreadServer):
    def __init__(self, bootstrap: str, topic_prefix: str, config: CollectorConfig | None = None,
                 port: int | None = None) -> None:
        self.delivery = KafkaDelivery(bootstrap)
        app: FastAPI = create_app(self.delivery, [WRITE_KEY], topic_prefix, config)
        super().__init__(app, port or free_port())

    def close(self) -> None:
        self.stop()
        self.delivery.close()
