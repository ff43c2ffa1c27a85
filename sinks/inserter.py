"""The insert thread: inserts one batch while the consumer thread reads the next.

The consumer thread hands over a batch when it is due (row count or age) and there is room:
one batch waiting here and one being inserted at most, so memory stays bounded (the consumer
stops reading once its own batch is full too). Batches are inserted in the order handed over,
each retried with capped exponential backoff until it lands, so finished jobs come back in
order and the consumer thread commits their offsets in order. A batch whose epoch is stale (a
rebalance revoked its partitions) is dropped: its offsets are read again and the recovery
scan skips whatever landed. Inserts release the GIL (chDB and HTTP both do), so they overlap
with kafka-python's record decoding on the other core.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sinks.batch import Batch

log = logging.getLogger("leadscore.sink")


@dataclass(eq=False)
class Job:
    batch: Batch
    epoch: int
    # Filled by the insert thread: rows per table once inserted; None if dropped or given up.
    written: dict[str, int] | None = None
    seconds: float = 0.0
    error: BaseException | None = None  # a BaseException from the insert (a crash): re-raised
    failures: int = field(default=0)


class Inserter:
    def __init__(
        self,
        write: Callable[[Batch], dict[str, int]],
        epoch: Callable[[], int],
        *,
        backoff_initial_s: float,
        backoff_max_s: float,
    ) -> None:
        self._write = write
        self._epoch = epoch
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        # One job waiting beside the one being inserted: enough to keep this thread busy.
        self._todo: queue.Queue[Job | None] = queue.Queue(maxsize=1)
        self.done: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._outstanding: list[Job] = []  # handed over, not yet in `done`
        self._wake = threading.Event()  # ends a backoff wait early (revocation, shutdown)
        self._give_up_at: float | None = None
        self._given_up = False
        self._thread = threading.Thread(target=self._run, name="sink-insert", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def offer(self, job: Job) -> bool:
        """Hand over `job` if there is room; False (and nothing changes) otherwise."""
        with self._cond:
            if self._todo.full() or not self.alive:
                return False
            self._outstanding.append(job)
            self._todo.put_nowait(job)
            return True

    def settle(self, epoch: int, timeout_s: float) -> bool:
        """Wait until no job older than `epoch` is waiting or being inserted."""
        self._wake.set()  # a stale job in backoff stops retrying at once
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while any(job.epoch < epoch for job in self._outstanding):
                left = deadline - time.monotonic()
                if left <= 0 or not self.alive:
                    return False
                self._cond.wait(left)
            return True

    def idle(self) -> bool:
        with self._cond:
            return not self._outstanding

    def finish(self, last: Job | None, timeout_s: float) -> None:
        """Stop after the jobs handed over (and `last`) are done, retrying failures for at
        most `timeout_s`; what is still failing then is left uncommitted (read again later)."""
        self._give_up_at = time.monotonic() + timeout_s
        self._wake.set()
        for item in ([last] if last is not None else []) + [None]:
            while self.alive:
                with self._cond:
                    if not self._todo.full():
                        if item is not None:
                            self._outstanding.append(item)
                        self._todo.put_nowait(item)
                        break
                    self._cond.wait(0.1)

    def close(self, timeout_s: float) -> None:
        """Stop now: jobs not yet inserted are dropped (their offsets were never committed)."""
        self._give_up_at = time.monotonic()
        self._given_up = True
        self._wake.set()
        while self.alive:
            try:
                self._todo.put_nowait(None)
                break
            except queue.Full:
                with self._cond:
                    self._cond.wait(0.05)
        self._thread.join(timeout_s)

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            job = self._todo.get()
            with self._cond:
                self._cond.notify_all()  # room in the queue
            if job is None:
                return
            try:
                self._insert(job)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread
                job.written, job.error = None, exc
            with self._cond:
                self._outstanding.remove(job)
                self.done.put(job)
                self._cond.notify_all()
            if job.error is not None:
                return

    def _insert(self, job: Job) -> None:
        delay = self._backoff_initial_s
        while True:
            self._wake.clear()  # before the checks: a wake-up after them ends the wait below
            if job.epoch != self._epoch():
                log.warning("event=batch_dropped reason=rebalance rows=%d", job.batch.row_count)
                return
            if self._given_up:
                return  # a batch before this one was given up: its offsets come first
            started = time.monotonic()
            try:
                job.written = self._write(job.batch)
                job.seconds = time.monotonic() - started
                return
            except Exception as exc:  # noqa: BLE001 - any ClickHouse/transport failure is retried
                job.failures += 1
                log.warning(
                    "event=insert_failed rows=%d error=%r", job.batch.row_count, str(exc)[:300]
                )
            if self._give_up_at is not None and time.monotonic() >= self._give_up_at:
                self._given_up = True
                log.error("event=batch_left_uncommitted ranges=%d", len(job.batch.ranges))
                return
            wait = delay
            if self._give_up_at is not None:
                wait = min(wait, max(0.0, self._give_up_at - time.monotonic()))
            self._wake.wait(wait)
            delay = min(delay * 2, self._backoff_max_s)
