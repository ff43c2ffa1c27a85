"""format_epoch's shortcut gives exactly the format every output uses."""

from hypothesis import example, given
from hypothesis import strategies as st

from schemas.timestamps import format_epoch, format_time, from_epoch


@given(st.floats(min_value=0, max_value=253_402_300_799))
@example(1_795_046_399.9995)  # rounds up into the next second's milliseconds
@example(1_795_046_399.9999996)  # microseconds round up into the next second
@example(1_795_046_400.0005)
@example(0.0)
def test_format_epoch_is_format_time_of_from_epoch(seconds: float) -> None:
    assert format_epoch(seconds) == format_time(from_epoch(seconds))


def test_format_epoch_writes_milliseconds_and_a_z() -> None:
    assert format_epoch(1_795_046_400.5) == "2026-11-19T00:00:00.500Z"
