"""A time-ordered schedule of decay crossings, so no timer ever scans all leads."""

from __future__ import annotations

import heapq


class CrossingSchedule:
    """Min-heap of (due, profile). Stale entries are harmless: a due profile is
    re-checked against its real state, which reschedules it if needed."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._due)

    def set(self, profile: str, due: float | None) -> None:
        if due is None:
            self._due.pop(profile, None)
            return
        if self._due.get(profile) == due:
            return
        self._due[profile] = due
        heapq.heappush(self._heap, (due, profile))
        if len(self._heap) > 2 * len(self._due) + 1_024:
            # Every event of a lead can move its crossing, and a stale entry would otherwise
            # stay until its time came: weeks, with a 14-day half-life.
            self._heap = [(when, key) for key, when in self._due.items()]
            heapq.heapify(self._heap)

    def pop_due(self, now: float) -> list[tuple[str, float]]:
        ready = []
        while self._heap and self._heap[0][0] <= now:
            due, profile = heapq.heappop(self._heap)
            if self._due.get(profile) == due:
                del self._due[profile]
                ready.append((profile, due))
        return ready

    def clear(self) -> None:
        self._heap.clear()
        self._due.clear()
