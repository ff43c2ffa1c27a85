"""Imported at start-up by a worker whose PYTHONPATH holds this directory (test_recovery_seek).

Slows two steps, as a busy broker can: each send of an output waits SLOW_SEND_S (the
agents then fall behind the records fetched for them, which wait in their streams'
queues), and each rewind to the committed offsets takes SLOW_SEEK_S longer (records are
then always fetched while it runs). Replaced in their modules before streams.app and
streams.fetching import them by name.
"""

import asyncio
from typing import Any

import streams.rewind
import streams.sending

SLOW_SEND_S = 0.001
SLOW_SEEK_S = 0.2
_rewind = streams.rewind.rewind_to_committed
_send = streams.sending.Sender.send


async def _slow_rewind(*args: Any, **kwargs: Any) -> Any:
    committed = await _rewind(*args, **kwargs)
    await asyncio.sleep(SLOW_SEEK_S)
    return committed


async def _slow_send(*args: Any, **kwargs: Any) -> None:
    await asyncio.sleep(SLOW_SEND_S)
    await _send(*args, **kwargs)


streams.rewind.rewind_to_committed = _slow_rewind
streams.sending.Sender.send = _slow_send  # type: ignore[method-assign]
