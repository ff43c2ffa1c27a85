"""Run the collector: uvicorn around create_app with a real Kafka producer."""

from __future__ import annotations

import logging

import uvicorn

from collector import request_log
from collector.app import create_app
from collector.config import CollectorConfig
from collector.producer import KafkaDelivery
from leadscore.settings import Settings

log = logging.getLogger("leadscore.collector")


def serve(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn handles both and drains requests)."""
    delivery = KafkaDelivery(settings.kafka_bootstrap)
    request_log.configure()
    app = create_app(delivery, settings.write_keys, settings.topic_prefix,
                     CollectorConfig.from_settings(settings))
    config = uvicorn.Config(
        app,
        host=settings.collector_host,
        port=settings.collector_port,
        log_level="warning",
        access_log=False,
        # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1; who is believed
        # is LEADSCORE_COLLECTOR_TRUSTED_PROXIES's decision alone (collector/proxies.py).
        proxy_headers=False,
    )
    try:
        uvicorn.Server(config).run()
    finally:
        delivery.close()
