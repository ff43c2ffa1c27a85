"""The decay schedule: due profiles in time order, and no growth from moved crossings."""

from __future__ import annotations

from streams.schedule import CrossingSchedule


def test_due_profiles_come_out_in_time_order_once_at_their_latest_time() -> None:
    schedule = CrossingSchedule()
    schedule.set("a", 30.0)
    schedule.set("b", 10.0)
    schedule.set("a", 20.0)  # moved: its 30.0 entry is stale
    schedule.set("c", 50.0)
    schedule.set("c", None)  # no crossing ahead any more
    assert schedule.pop_due(25.0) == [("b", 10.0), ("a", 20.0)]
    assert schedule.pop_due(100.0) == [] and len(schedule) == 0


def test_moving_crossings_does_not_grow_the_heap_without_bound() -> None:
    schedule = CrossingSchedule()
    for n in range(100_000):
        schedule.set(f"lead-{n % 10}", 1e9 + n)  # far ahead: nothing falls due meanwhile
    assert len(schedule) == 10
    assert len(schedule._heap) <= 2 * 10 + 1_025
    assert sorted(p for p, _ in schedule.pop_due(2e9)) == [f"lead-{n}" for n in range(10)]
