"""The sink process: consume, batch, insert, then commit offsets. Exactly once into ClickHouse.

Guarantees, and how:
- nothing lost: offsets are committed only after every table's insert of the batch succeeded,
  batch after batch in the order they were read;
- nothing doubled on a retry: each insert carries a token derived from the batch's offset
  ranges and the tables keep a deduplication window (verified on chDB);
- nothing doubled after a crash or a rebalance: on (re)assignment the sink asks ClickHouse
  which offsets past the committed one already landed, skips them, and reads on from the
  committed offset (sinks/recovery.py, sinks/rebalance.py).

Threads: this one owns the consumer and the batch being built (poll, pause, seek, commit);
the insert thread (sinks/inserter.py) inserts the previous batch meanwhile; kafka-python's IO
thread runs the rebalance callbacks, which only record what changed (sinks/rebalance.py).
While ClickHouse fails, the insert thread retries the same batch with capped exponential
backoff and this thread stops reading once its own batch is full (partitions paused; it keeps
polling, so it stays in the group).
"""

from __future__ import annotations

import gc
import logging
import queue
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from typing import Any, Final

from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from kafka.errors import CommitFailedError
from kafka.structs import OffsetAndMetadata, TopicPartition

from leadscore.settings import Settings
from sinks import fast_records
from sinks.batch import Batch
from sinks.clickhouse import connect, database_name
from sinks.inserter import Inserter, Job
from sinks.owner import OwnerLock
from sinks.query_server import QueryServer
from sinks.rebalance import Listener, Rebalances
from sinks.recovery import present_offsets
from sinks.rows import (
    DEAD_LETTERS_TABLE,
    message_row,
    stage_lines,
    stage_prefix,
    table_specs,
    topic_tables,
)
from sinks.schema import ensure_schema
from sinks.writer import write_batch

log = logging.getLogger("leadscore.sink")

# Poll timeout while a due batch waits for the inserter: short, so it is handed over soon
# after the inserter has room, long enough not to spin.
_DUE_POLL_MS: Final = 10


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
    # How long a poll may block while a group join is under way (see Sink._rejoin_poll_ms):
    # long enough for a join to finish inside it.
    join_poll_ms: int = 1_000
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
    # CRC-32C of every fetched batch, in C (the `crc32c` package): ~0.1 us per record.
    check_crcs: bool = True
    # Decode records with aiokafka's Cython decoder (sinks/fast_records.py) instead of
    # kafka-python's pure Python: ~3 instead of ~9-10 us of CPU per ~650-byte event.
    native_records: bool = True
    # Move the objects alive at start (modules, clients) out of the cyclic GC's reach for the
    # run (gc.freeze), so its full collections, which the consumer thread's allocations
    # trigger every few ten thousand events, only walk what the sink made since.
    freeze_gc: bool = True
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
        self._client: Any = client if client is not None else connect(settings)
        # The insert thread and the recovery scan share the client, one call at a time.
        self._client_lock = threading.Lock()
        self._db = database_name(settings)
        self._routes = topic_tables(settings.topic_prefix)
        self._specs = table_specs(config.default_half_life_s)
        self._rebalances = Rebalances()
        self._inserter = Inserter(
            self._write,
            lambda: self._rebalances.epoch,
            backoff_initial_s=config.backoff_initial_s,
            backoff_max_s=config.backoff_max_s,
        )
        self._consumer: KafkaConsumer | None = None
        self._prepared = False
        # State below is the consumer thread's alone.
        self._epoch = 0  # the epoch of the batch being built (see sinks/rebalance.py)
        self._batch = Batch()
        self._owned: set[TopicPartition] = set()  # assigned and scanned: records are taken
        self._unscanned: set[TopicPartition] = set()  # assigned, recovery scan still due
        self._skip: dict[TopicPartition, set[int]] = {}  # offsets already stored
        self._scan_at = 0.0  # monotonic time of the next recovery scan attempt
        self._scan_delay = config.backoff_initial_s
        self._to_commit: dict[TopicPartition, OffsetAndMetadata] = {}  # inserted, not committed
        self._prefixes: dict[TopicPartition, bytes] = {}
        self.stats = {
            "rows": 0,
            "inserts": 0,
            "flushes": 0,
            "failures": 0,
            "skipped": 0,
            "insert_ms": 0,  # time the insert thread spent in successful inserts
        }
        self.first_record_at: float | None = None  # monotonic; for throughput measurements

    @property
    def group_id(self) -> str:
        return self._config.group_id or f"{self._settings.topic_prefix}leadscore-sink"

    def prepare(self, stop: threading.Event) -> bool:
        """Create the database and tables (retrying while ClickHouse is down); False if stopped."""
        delay = self._config.backoff_initial_s
        while not self._prepared:
            try:
                with self._client_lock:
                    ensure_schema(self._client, self._db)
                self._prepared = True
            except Exception as exc:  # noqa: BLE001 - retried until it works or we stop
                self.stats["failures"] += 1
                log.warning("event=ensure_schema_failed error=%r", str(exc)[:300])
                if stop.wait(delay):
                    return False
                delay = min(delay * 2, self._config.backoff_max_s)
        return True

    def run(self, stop: threading.Event) -> None:
        if not self.prepare(stop):
            return
        cfg = self._config
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
            max_poll_records=cfg.max_poll_records,
            # With the `crc32c` C package kafka-python checks each batch's CRC-32C cheaply
            # (its pure-Python fallback cost ~170 us per record: never run without it).
            check_crcs=cfg.check_crcs,
            max_partition_fetch_bytes=cfg.max_partition_fetch_bytes,
            group_instance_id=cfg.instance_id,
            session_timeout_ms=cfg.session_timeout_ms,
            heartbeat_interval_ms=cfg.session_timeout_ms // 3,
            # Eager rebalancing: every rebalance revokes all partitions (sinks/rebalance.py
            # drops everything read before it and re-reads from the committed offsets).
            partition_assignment_strategy=(RangePartitionAssignor, RoundRobinPartitionAssignor),
        )
        if cfg.native_records:
            fast_records.install(consumer)
        if cfg.check_crcs and not fast_records.crc32c_in_c():
            log.warning("event=slow_crc reason=crc32c_package_missing us_per_record=170")
        # A revocation waits this long for a running insert, so the partitions' next owner
        # sees its rows; well inside the session timeout (heartbeats wait meanwhile).
        settle_s = cfg.session_timeout_ms / 3000
        listener = Listener(self._rebalances, self._inserter.settle, settle_s)
        consumer.subscribe(topics=sorted(self._routes), listener=listener)
        # Learn every topic's partitions after subscribing and before joining: the metadata
        # then also updates the coordinator's snapshot of the subscribed topics, so the first
        # assignment is complete and not followed by a rebalance when the next metadata
        # refresh finds the snapshot changed (seen in every start before).
        for topic in self._routes:
            consumer.partitions_for_topic(topic)
        self._inserter.start()
        if cfg.freeze_gc:
            gc.collect()
            gc.freeze()
        log.info(
            "event=sink_started group=%s topics=%d db=%s",
            self.group_id,
            len(self._routes),
            self._db,
        )
        try:
            polled: dict[TopicPartition, list[ConsumerRecord]] = {}
            while not stop.is_set():
                self._apply_rebalances()
                # Records of partitions not scanned yet are put back; the scan then rewinds
                # those partitions to their committed offsets.
                self._take(polled)
                self._scan(stop)
                self._commit_done()
                self._hand_over()
                self._reconcile_paused()
                polled = consumer.poll(timeout_ms=self._poll_timeout_ms(), max_records=self._room())
            self._apply_rebalances()
            self._take(polled)
            self._finish()
        finally:
            if cfg.freeze_gc:
                gc.unfreeze()  # back to ordinary collection (also for other sinks here)
            self._inserter.close(timeout_s=5.0)
            consumer.close(autocommit=False)
            log.info("event=sink_stopped %s", " ".join(f"{k}={v}" for k, v in self.stats.items()))

    # Reading

    def _room(self) -> int:
        """Read no more than fits in the batch, so max_rows bounds inserts and memory."""
        left = self._config.max_rows - self._batch.row_count
        return max(1, min(self._config.max_poll_records, left))

    def _full(self) -> bool:
        return self._batch.row_count >= self._config.max_rows

    def _poll_timeout_ms(self) -> int:
        cfg = self._config
        timeout = cfg.poll_ms
        if self._batch.started is not None:
            left = self._batch.started + cfg.max_wait_s - time.monotonic()
            # Due but the inserter is busy: look again soon, without spinning.
            timeout = max(_DUE_POLL_MS, min(timeout, int(left * 1000)))
        if not self._inserter.idle() or self._to_commit:
            timeout = min(timeout, _DUE_POLL_MS * 5)  # commit soon after an insert lands
        return max(timeout, self._rejoin_poll_ms())

    def _rejoin_poll_ms(self) -> int:
        """kafka-python 3.0.12 loses a group join that ends after poll() returned: the next
        poll re-awaits the join only while `need_rejoin()` holds, and the leader's own
        assignment step clears that condition (its metadata snapshot is taken). The member
        then stays in the group with every partition pending revocation, fetching nothing,
        forever (the restart stall of the kill -9 fault test). While a join is under way,
        poll long enough for it to finish, and if it finished outside poll, ask for a fresh
        join (one more rebalance) instead of waiting for one that never comes."""
        assert self._consumer is not None
        coordinator = getattr(self._consumer, "_coordinator", None)
        if not getattr(coordinator, "rejoining", False):
            return 0
        assert coordinator is not None
        if not coordinator.need_rejoin():
            log.info("event=rejoin reason=join_finished_outside_poll")
            coordinator.request_rejoin()
        return self._config.join_poll_ms

    def _take(self, polled: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Add polled records to the batch. Records that cannot be taken now (partition not
        scanned yet, batch full) are put back: the partition is rewound to the first of them."""
        if not polled:
            return
        assert self._consumer is not None
        now = time.monotonic()
        if self.first_record_at is None:
            self.first_record_at = now
        for tp, records in polled.items():
            if not records:
                continue
            if tp not in self._owned or self._full():
                if tp in self._consumer.assignment():
                    self._consumer.seek(tp, records[0].offset)
                continue
            self._add(tp, records, now)

    def _add(self, tp: TopicPartition, records: list[ConsumerRecord], now: float) -> None:
        batch = self._batch
        batch.cover(tp, records[0].offset, records[-1].offset, now)
        skip = self._skip.get(tp)
        if skip:
            kept = [r for r in records if r.offset not in skip]
            if len(kept) < len(records):
                self.stats["skipped"] += len(records) - len(kept)
                skip.difference_update(r.offset for r in records)
                if not skip:
                    del self._skip[tp]
            records = kept
        table = self._routes[tp.topic]
        spec = self._specs[table]
        if spec.stage_table is not None:
            prefix = self._prefixes.get(tp)
            if prefix is None:
                prefix = self._prefixes[tp] = stage_prefix(tp.topic, tp.partition)
            lines, sources, records = stage_lines(prefix, tp, records)
            if lines:
                batch.add_lines(table, lines, sources)
        for record in records:
            target, row = message_row(spec, record)
            if target == DEAD_LETTERS_TABLE:
                log.warning("event=dead_letter topic=%s partition=%d offset=%d error=%r",
                            tp.topic, tp.partition, record.offset, row[2])  # fmt: skip
            batch.add_row(target, row)

    def _reconcile_paused(self) -> None:
        """Make the consumer's paused set what this thread wants, whatever happened since:
        partitions not scanned yet stay paused, and all of them while the batch is full.
        (A new assignment arrives unpaused; records read anyway are put back by `_take`.)"""
        assert self._consumer is not None
        assigned = self._consumer.assignment()
        want = set(assigned) if self._full() else assigned - self._owned
        have = self._consumer.paused() & assigned
        if want - have:
            self._consumer.pause(*(want - have))
        if have - want:
            self._consumer.resume(*(have - want))

    # Rebalances and recovery

    def _apply_rebalances(self) -> None:
        epoch, changes = self._rebalances.take()
        for change in changes:
            if change.kind == "revoked":
                if not self._batch.empty:
                    log.info("event=batch_dropped reason=rebalance rows=%d", self._batch.row_count)
                    self._batch = Batch()
                # Inserted but not committed: the next owner's scan finds those rows.
                self._to_commit.clear()
                self._owned -= change.partitions
                self._unscanned -= change.partitions
                for tp in change.partitions:
                    self._skip.pop(tp, None)
            else:
                self._owned -= change.partitions
                self._unscanned |= change.partitions
                self._scan_at, self._scan_delay = 0.0, self._config.backoff_initial_s
        self._epoch = epoch

    def _scan(self, stop: threading.Event) -> None:
        """Find offsets of the freshly assigned partitions that are already stored."""
        if not self._unscanned or time.monotonic() < self._scan_at or stop.is_set():
            return
        # Inserts of older epochs may still be landing: scan once they are done.
        if not self._inserter.settle(self._epoch, 0.0):
            return
        assert self._consumer is not None
        tps = set(self._unscanned)
        try:
            starts = {tp: self._consumer.committed(tp) or 0 for tp in tps}
            with self._client_lock:
                found = present_offsets(self._client, self._db, self._routes, starts)
        except Exception as exc:  # noqa: BLE001 - retried with backoff; partitions stay paused
            self.stats["failures"] += 1
            log.warning("event=recovery_scan_failed error=%r", str(exc)[:300])
            self._scan_at = time.monotonic() + self._scan_delay
            self._scan_delay = min(self._scan_delay * 2, self._config.backoff_max_s)
            return
        self._skip.update({tp: offsets for tp, offsets in found.items() if offsets})
        # Read on from the committed offset. kafka-python keeps the position of a partition
        # assigned again, which may be past rows of a batch dropped at the revocation.
        for tp in tps:
            self._consumer.seek(tp, starts[tp])
        self._unscanned -= tps
        self._owned |= tps
        in_doubt = sum(len(offsets) for offsets in found.values())
        log.info("event=recovered partitions=%d already_stored=%d", len(tps), in_doubt)

    # Inserting and committing

    def _write(self, batch: Batch) -> dict[str, int]:
        """Runs on the insert thread."""
        with self._client_lock:
            return write_batch(self._client, self._db, batch, self._specs)

    def _hand_over(self) -> None:
        cfg = self._config
        if not self._batch.due(time.monotonic(), cfg.max_rows, cfg.max_wait_s):
            return
        if self._inserter.offer(Job(self._batch, self._epoch)):
            self._batch = Batch()

    def _commit_done(self, wait_s: float = 0.0) -> None:
        """Commit the offsets of the batches the inserter finished, in order."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                job = self._inserter.done.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.stats["failures"] += job.failures
            if job.error is not None:
                raise job.error
            if job.written is None:
                continue  # dropped or given up: read again
            if job.epoch != self._epoch:
                log.info("event=commit_skipped reason=rebalance rows=%d", job.batch.row_count)
                continue
            self._to_commit.update(job.batch.commit_offsets())
            self.stats["rows"] += job.batch.row_count
            self.stats["inserts"] += len(job.written)
            self.stats["flushes"] += 1
            self.stats["insert_ms"] += round(job.seconds * 1000)
            log.info(
                "event=flush rows=%d tables=%s partitions=%d ms=%.1f",
                job.batch.row_count,
                ",".join(f"{t}:{n}" for t, n in job.written.items()),
                len(job.batch.ranges),
                job.seconds * 1000,
            )
            deadline = time.monotonic()  # waited for one: take the rest without waiting
        if self._to_commit:
            self._commit()

    def _commit(self) -> None:
        assert self._consumer is not None
        try:
            self._consumer.commit(offsets=dict(self._to_commit))
        except CommitFailedError as exc:
            # Rebalanced away: rows are in, and the next owner's recovery scan skips them.
            log.warning("event=commit_failed error=%r", str(exc)[:300])
        except Exception as exc:  # noqa: BLE001 - broker hiccup: the next round commits again
            self.stats["failures"] += 1
            log.warning("event=commit_retry error=%r", str(exc)[:300])
            return
        self._to_commit.clear()

    def _finish(self) -> None:
        """On stop: insert what was read (retrying for at most shutdown_timeout_s) and commit."""
        last = None if self._batch.empty else Job(self._batch, self._epoch)
        self._batch = Batch()
        self._inserter.finish(last, self._config.shutdown_timeout_s)
        while self._inserter.alive:
            self._commit_done(wait_s=0.2)
        self._commit_done()


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
