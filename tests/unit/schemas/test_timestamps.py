"""format_epoch's arithmetic gives exactly the format every output uses."""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from schemas import timestamps
from schemas.timestamps import format_epoch, format_time, from_epoch, parse_time


@given(st.floats(min_value=-2_000_000_000, max_value=253_402_300_799))
@example(1_795_046_399.9995)  # rounds up into the next second's milliseconds
@example(1_795_046_399.9999996)  # microseconds round up into the next second
@example(1_795_046_400.0005)
@example(0.0)
@example(-1.5)  # before the epoch: the fraction rounds towards the past second
def test_format_epoch_is_format_time_of_from_epoch(seconds: float) -> None:
    assert format_epoch(seconds) == format_time(from_epoch(seconds))


def test_format_epoch_writes_milliseconds_and_a_z() -> None:
    assert format_epoch(1_795_046_400.5) == "2026-11-19T00:00:00.500Z"


def test_format_epoch_keeps_a_bounded_number_of_days() -> None:
    for day in range(12_000):
        format_epoch(day * 86_400.0)
    assert len(timestamps._DAYS) <= 10_000
    assert format_epoch(11_999 * 86_400.0) == format_time(from_epoch(11_999 * 86_400.0))


@given(
    st.floats(min_value=-2_000_000_000, max_value=253_402_300_700),
    st.lists(st.floats(min_value=-2.0, max_value=2.0), min_size=1, max_size=20),
)
def test_times_close_together_are_written_as_format_time_writes_each(
    start: float, steps: list[float]
) -> None:
    """format_epoch reuses the last whole second's text; a run of nearby times (in one
    second, across seconds, days and the epoch) is written as each would be alone."""
    at = start
    for step in steps:
        at += step
        assert format_epoch(at) == format_time(from_epoch(at))


@pytest.mark.parametrize("text", ["0001-01-01T00:01:01+02:00", "9999-12-31T23:59:59-01:00"])
def test_a_zoned_time_outside_the_utc_years_is_a_clear_error(text: str) -> None:
    # Found by the collector's OpenAPI fuzz test: astimezone overflowed into a 500.
    with pytest.raises(ValueError, match="time out of range"):
        parse_time(text)
