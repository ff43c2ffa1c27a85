"""Who owns the embedded chDB data path: an flock'd file under var_dir holding pid and port.

chDB allows one process per data path. The kernel drops an flock when its process dies,
even by kill -9, so "lock held" means "owner alive" with no stale-pid guessing.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

LOCK_NAME: Final = "sink.lock"


class OwnerBusy(RuntimeError):
    """Another process holds the chDB data path."""


@dataclass
class OwnerLock:
    path: Path
    handle: IO[str]

    @classmethod
    @contextmanager
    def acquire(cls, var_dir: Path, timeout_s: float = 10.0) -> Iterator[OwnerLock]:
        """Hold the data path for the life of the block; waits out a brief direct reader."""
        var_dir.mkdir(parents=True, exist_ok=True)
        path = var_dir / LOCK_NAME
        handle = path.open("a+", encoding="utf-8")
        try:
            _lock_within(handle, timeout_s, path)
            lock = cls(path, handle)
            lock.publish(port=None)
            try:
                yield lock
            finally:
                handle.truncate(0)  # no stale port for the next reader (kill -9 skips this)
        finally:
            handle.close()  # closing releases the flock

    def publish(self, port: int | None) -> None:
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(json.dumps({"pid": os.getpid(), "port": port}))
        self.handle.flush()


def _lock_within(handle: IO[str], timeout_s: float, path: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise OwnerBusy(f"{path} is held by another process ({read_owner(path)})") from None
            time.sleep(0.05)


def read_owner(path: Path) -> dict[str, int | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextmanager
def owner_or_lock(var_dir: Path) -> Iterator[dict[str, int | None] | None]:
    """Yield the live owner's record, or None while *we* hold the lock (no owner running)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / LOCK_NAME
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield read_owner(path)
            return
        yield None  # closing the file at the end of `with` releases the lock
