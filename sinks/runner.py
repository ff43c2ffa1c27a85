"""The sink process: consume, batch, insert, then commit offsets. Exactly once into ClickHouse.

Guarantees, and how:
- nothing lost: offsets are committed only after every table's insert of the batch succeeded;
- nothing doubled on a retry: each insert carries a token derived from the batch's offset
  ranges and the tables keep a deduplication window (verified on chDB);
- nothing doubled after a crash: on (re)assignment the sink asks ClickHouse which offsets
  past the committed one already landed and skips them (sinks/recovery.py).
While ClickHouse fails the consumer is paused (it keeps polling, so it stays in the group) and
the same batch is retried with capped exponential backoff.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CommitFailedError
from kafka.structs import TopicPartition

from leadscore.settings import Settings
from sinks.batch import Batch
from sinks.clickhouse import connect, database_name
from sinks.owner import OwnerLock
from sinks.query_server import QueryServer
from sinks.recovery import present_offsets
from sinks.rows import DEAD_LETTERS_TABLE, message_row, stage_line, table_specs, topic_tables
from sinks.schema import ensure_schema
from sinks.writer import write_batch

log = logging.getLogger("leadscore.sink")


@dataclass(frozen=True)
class SinkConfig:
    # ClickHouse guidance: >= 1,000 rows per insert and about one insert per second per table.
    # Under load the 1 s timer fires first, so inserts stay near 1/s/table with big batches;
    # max_rows only caps memory when a backlog is read at full speed.
    max_rows: int = 100_000
    # When traffic is light a row waits at most this long: analysts see it within ~1 s.
    max_wait_s: float = 1.0
    # How long one poll may block; short enough to notice `stop` promptly.
    poll_ms: int = 200
    max_poll_records: int = 10_000
    # Retry backoff while ClickHouse fails: fast first retry, capped so recovery is noticed.
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 10.0
    # On stop, keep retrying the last batch this long; after that it is left uncommitted and
    # the next start re-reads it (nothing is lost, only delayed).
    shutdown_timeout_s: float = 30.0
    # LeadScore has no half-life field yet; each score row is stamped with this one
    # (deploy/rules.toml: half_life = "14d"). A `half_life_s` in the message wins.
    default_half_life_s: float = 14 * 24 * 3600.0
    group_id: str | None = None
    check_crcs: bool = False
    # Bigger fetches while catching up on a backlog (kafka-python's default is 1 MiB).
    max_partition_fetch_bytes: int = 4 * 1024 * 1024
    # How soon a killed sink's partitions move to its restarted self: the broker waits this
    # long for the dead member. 10 s is Kafka's floor-ish (group.min.session.timeout.ms 6 s)
    # with margin for a paused consumer. Static membership (instance_id) was tried and
    # dropped: a static leader rejoining with the same metadata keeps its old (possibly
    # empty) assignment, which left the sink idle when its topics were created late.
    session_timeout_ms: int = 10_000
    instance_id: str | None = None


class Sink:
    def __init__(self, settings: Settings, config: SinkConfig, client: Any = None) -> None:
        self._settings = settings
        self._config = config
        self._client = client if client is not None else connect(settings)
        self._db = database_name(settings)
        self._routes = topic_tables(settings.topic_prefix)
        self._specs = table_specs(config.default_half_life_s)
        self._batch = Batch()
        self._skip: dict[TopicPartition, set[int]] = {}
        self._pending_recovery: set[TopicPartition] = set()
        self._flushing = False
        self._abandoned = False
        self._consumer: KafkaConsumer | None = None
        self._prepared = False
        self.stats = {"rows": 0, "inserts": 0, "flushes": 0, "failures": 0, "skipped": 0}
        self.first_record_at: float | None = None  # monotonic; for throughput measurements

    @property
    def group_id(self) -> str:
        return self._config.group_id or f"{self._settings.topic_prefix}leadscore-sink"

    def prepare(self, stop: threading.Event) -> bool:
        """Create the database and tables (retrying while ClickHouse is down); False if stopped."""
        if not self._prepared:
            applied = self._retry(
                "ensure_schema", lambda: ensure_schema(self._client, self._db), stop
            )
            self._prepared = applied is not None
        return self._prepared

    def run(self, stop: threading.Event) -> None:
        if not self.prepare(stop):
            return
        consumer = self._consumer = KafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap,
            group_id=self.group_id,
            client_id=f"{self.group_id}-{threading.get_native_id()}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # skip records of aborted transactions, should a producer use them
            isolation_level="read_committed",
            # find topics created after start (they are auto-created by the first producer)
            metadata_max_age_ms=5_000,
            max_poll_records=self._config.max_poll_records,
            # kafka-python checks CRC32C in pure Python: two thirds of its fetch time here
            # (bench/bench_sink.py). The broker validates CRCs on produce and TCP guards the
            # wire; installing the `crc32c` C package would make this check cheap again.
            check_crcs=self._config.check_crcs,
            max_partition_fetch_bytes=self._config.max_partition_fetch_bytes,
            group_instance_id=self._config.instance_id,
            session_timeout_ms=self._config.session_timeout_ms,
            heartbeat_interval_ms=self._config.session_timeout_ms // 3,
        )
        # Learn every topic's partitions before joining, so the first assignment is complete
        # rather than empty and followed by a rebalance a metadata refresh later.
        for topic in self._routes:
            consumer.partitions_for_topic(topic)
        consumer.subscribe(topics=sorted(self._routes), listener=_Rebalance(self))
        cfg = self._config
        log.info(
            "event=sink_started group=%s topics=%d db=%s",
            self.group_id,
            len(self._routes),
            self._db,
        )
        try:
            while not stop.is_set():
                self._recover_pending(stop)
                polled = consumer.poll(timeout_ms=self._poll_timeout_ms(), max_records=self._room())
                for tp, records in polled.items():
                    for record in records:
                        self._add(tp, record)
                if self._batch.due(time.monotonic(), cfg.max_rows, cfg.max_wait_s):
                    self._flush(stop)
            self._flush(stop, final=True)
        finally:
            consumer.close(autocommit=False)
            log.info("event=sink_stopped %s", " ".join(f"{k}={v}" for k, v in self.stats.items()))

    def _room(self) -> int:
        """Read no more than fits in the batch, so max_rows bounds inserts and memory."""
        left = self._config.max_rows - self._batch.row_count
        return max(1, min(self._config.max_poll_records, left))

    def _poll_timeout_ms(self) -> int:
        if self._batch.started is None:
            return self._config.poll_ms
        left = self._batch.started + self._config.max_wait_s - time.monotonic()
        return max(0, min(self._config.poll_ms, int(left * 1000)))

    def _add(self, tp: TopicPartition, record: ConsumerRecord) -> None:
        now = time.monotonic()
        if self.first_record_at is None:
            self.first_record_at = now
        table = self._routes[tp.topic]
        skip = self._skip.get(tp)
        if skip and record.offset in skip:
            skip.discard(record.offset)
            self.stats["skipped"] += 1
            self._batch.add(table, None, tp, record.offset, now)
            return
        spec = self._specs[table]
        if spec.stage_table is not None:
            line = stage_line(record.value, tp.topic, tp.partition, record.offset)
            if line is not None:
                self._batch.add_line(table, line, tp, record, now)
                return
        target, row = message_row(spec, record)
        if target == DEAD_LETTERS_TABLE:
            log.warning("event=dead_letter topic=%s partition=%d offset=%d error=%r",
                        tp.topic, tp.partition, record.offset, row[2])  # fmt: skip
        self._batch.add(target, row, tp, record.offset, now)

    def _flush(self, stop: threading.Event, *, final: bool = False, once: bool = False) -> None:
        """Insert and commit the batch; on failure pause, back off and retry the same batch."""
        batch = self._batch
        if batch.empty:
            return
        self._flushing, self._abandoned = True, False
        delay, give_up_at = self._config.backoff_initial_s, None
        try:
            while not self._try_flush(batch):
                if once or self._abandoned:
                    reason = "rebalance" if self._abandoned else "revoked"
                    log.warning("event=batch_dropped reason=%s", reason)
                    break
                if stop.is_set() or final:
                    give_up_at = give_up_at or time.monotonic() + self._config.shutdown_timeout_s
                    if time.monotonic() >= give_up_at:
                        log.error("event=batch_left_uncommitted ranges=%d", len(batch.ranges))
                        break
                self._wait_paused(delay)
                delay = min(delay * 2, self._config.backoff_max_s)
        finally:
            self._flushing = False
            self._batch = Batch()
            self._resume_all()

    def _try_flush(self, batch: Batch) -> bool:
        assert self._consumer is not None
        started = time.monotonic()
        try:
            written = write_batch(self._client, self._db, batch, self._specs)
        except Exception as exc:  # noqa: BLE001 - any ClickHouse/transport failure is retried
            self.stats["failures"] += 1
            log.warning("event=insert_failed rows=%d error=%r", batch.row_count, str(exc)[:300])
            return False
        try:
            self._consumer.commit(offsets=batch.commit_offsets())
        except CommitFailedError as exc:
            # Rebalanced away: rows are in, and the next owner's recovery scan skips them.
            log.warning("event=commit_failed error=%r", str(exc)[:300])
            return True
        except Exception as exc:  # noqa: BLE001 - broker hiccup: retry; inserts dedup by token
            self.stats["failures"] += 1
            log.warning("event=commit_retry error=%r", str(exc)[:300])
            return False
        self.stats["rows"] += batch.row_count
        self.stats["inserts"] += len(written)
        self.stats["flushes"] += 1
        log.info(
            "event=flush rows=%d tables=%s partitions=%d ms=%.1f",
            batch.row_count,
            ",".join(f"{t}:{n}" for t, n in written.items()),
            len(batch.ranges),
            (time.monotonic() - started) * 1000,
        )
        return True

    def _wait_paused(self, seconds: float) -> None:
        """Wait without reading: paused partitions return nothing, and polling keeps the
        consumer in its group (and runs rebalance callbacks)."""
        assert self._consumer is not None
        assignment = self._consumer.assignment()
        if assignment:
            self._consumer.pause(*assignment)
        self._consumer.poll(timeout_ms=int(seconds * 1000))

    def _resume_all(self) -> None:
        assert self._consumer is not None
        paused = self._consumer.paused() - self._pending_recovery
        if paused:
            self._consumer.resume(*paused)

    def _recover_pending(self, stop: threading.Event) -> None:
        """Find offsets of the freshly assigned partitions that are already stored."""
        if not self._pending_recovery:
            return
        assert self._consumer is not None
        tps = set(self._pending_recovery)
        starts = {tp: self._consumer.committed(tp) or 0 for tp in tps}
        found = self._retry(
            "recovery_scan",
            lambda: present_offsets(self._client, self._db, self._routes, starts),
            stop,
        )
        if found is None:
            return
        self._skip.update(found)
        self._pending_recovery -= tps
        self._consumer.resume(*tps)
        in_doubt = sum(len(offsets) for offsets in found.values())
        log.info("event=recovered partitions=%d already_stored=%d", len(tps), in_doubt)

    def _retry(self, what: str, action: Any, stop: threading.Event) -> Any:
        delay = self._config.backoff_initial_s
        while True:
            try:
                return action()
            except Exception as exc:  # noqa: BLE001 - retried until it works or we stop
                self.stats["failures"] += 1
                log.warning("event=%s_failed error=%r", what, str(exc)[:300])
            if self._consumer is None:
                stop.wait(delay)
            else:
                self._wait_paused(delay)
            if stop.is_set():
                return None
            delay = min(delay * 2, self._config.backoff_max_s)

    # Rebalance callbacks (run inside poll)
    # Rebalance callbacks run on kafka-python's IO thread, where a blocking call (commit,
    # committed) fails ("Cannot block on net.run() from the IO thread"): they only change
    # local state. Dropping the batch is safe: its offsets are uncommitted, so they are read
    # again, and the recovery scan after the assignment skips whatever already landed.
    def partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if self._flushing:
            self._abandoned = True  # the retry loop drops its batch
        elif not self._batch.empty:
            log.info("event=batch_dropped reason=rebalance rows=%d", self._batch.row_count)
            self._batch = Batch()
        self._skip.clear()

    def partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        assert self._consumer is not None
        self._pending_recovery = set(assigned)
        if assigned:
            self._consumer.pause(*assigned)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._sink.partitions_revoked(set(revoked))

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._sink.partitions_assigned(set(assigned))


def run_sink(
    settings: Settings,
    stop: threading.Event | None = None,
    *,
    config: SinkConfig | None = None,
    client: Any = None,
) -> None:
    """Run until `stop` is set (or SIGINT/SIGTERM when no `stop` is given); flush and close.

    With embedded chDB this process owns the data path: it holds the owner lock under
    var_dir and answers read-only SQL on 127.0.0.1:settings.sink_query_port.
    """
    with ExitStack() as stack:
        if stop is None:
            stop = stack.enter_context(_stop_on_signals())
        lock = None
        if settings.embedded_clickhouse:
            lock = stack.enter_context(OwnerLock.acquire(settings.var_dir))
        if client is None:
            client = stack.enter_context(closing(connect(settings)))
        sink = Sink(settings, config or SinkConfig(), client)
        # Serve queries only once the tables exist, so a reader never sees a half-made schema.
        if lock is not None and sink.prepare(stop):
            server = stack.enter_context(QueryServer(settings, settings.sink_query_port))
            lock.publish(port=server.port)
        sink.run(stop)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
