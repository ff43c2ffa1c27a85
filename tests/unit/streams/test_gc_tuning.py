"""The worker's GC settings: a young pass every YOUNG_THRESHOLD allocations, start-up frozen."""

import gc
from collections.abc import Iterator

import pytest

from streams.gc_tuning import YOUNG_THRESHOLD, tune_gc


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_gc")
def test_tune_gc_raises_the_young_threshold_and_keeps_the_older_ones() -> None:
    _, older, oldest = gc.get_threshold()
    tune_gc()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, older, oldest)


@pytest.mark.usefixtures("restored_gc")
def test_tune_gc_freezes_what_exists_at_start_up() -> None:
    gc.unfreeze()
    tune_gc()
    assert gc.get_freeze_count() > 1000
