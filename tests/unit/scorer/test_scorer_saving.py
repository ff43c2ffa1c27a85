"""state_to_dict's native shortcuts give exactly what the builtins they replace gave."""

import math
import random

from hypothesis import given
from hypothesis import strategies as st

from scorer.credits import Contribution, credit
from scorer.state import _recent_to_list, _round9, _round_int


def _same(a: float, b: float) -> bool:
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def _values(rng: random.Random, n: int) -> list[float]:
    """Sums and millisecond offsets, and values at or a few ulps from a rounding half."""
    out = [0.0, -0.0, 1e-12, -1e-12, 5e-10, 1.5e-9, 2.5e-9, -2.5e-9, 1e300, -1e300, 2.0**52 / 1e9]
    for _ in range(n):
        k = rng.random()
        if k < 0.2:
            v = rng.uniform(-100.0, 100.0)
        elif k < 0.4:
            v = rng.uniform(-1e6, 1e6)
        elif k < 0.6:  # a 9-decimal half, then a few ulps off it
            v = (rng.randrange(-(10**15), 10**15) + 0.5) / 1e9
            v += rng.choice([0, 1, -1, 2, -2]) * math.ulp(v) * rng.randrange(0, 100)
        elif k < 0.7:
            v = rng.randrange(-(10**15), 10**15) / 1e9
        elif k < 0.8:
            v = rng.uniform(-1.0, 1.0) * 10 ** rng.uniform(-15.0, 20.0)
        else:  # a whole-millisecond half, then an ulp off it
            r = rng.randrange(-(2**52), 2**52)
            v = (r + 0.5) / 1000 + rng.choice([0, 1, -1]) * math.ulp(r / 1000)
        out.append(v)
    return out


def test_round9_and_round_int_match_round_bit_for_bit() -> None:
    for v in _values(random.Random(3), 200_000):
        assert _same(_round9(v), round(v, 9)), v
        x = v * 1000
        if math.isfinite(x):
            assert _round_int(x) == round(x), x
    assert _same(_round9(math.inf), round(math.inf, 9))
    assert math.isnan(_round9(math.nan))


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_round9_matches_round_on_any_float(v: float) -> None:
    assert _same(_round9(v), round(v, 9))
    assert _round_int(v) == round(v)


def _old_recent_to_list(recent: tuple[Contribution, ...]) -> list[list[object]]:
    """The grouping as it was written before (a dict keyed by (event, time, displaced))."""
    groups: dict[tuple[str, float, bool], list[object]] = {}
    for c in recent:
        row = groups.get((c.event_id, c.at, c.displaced))
        if row is None:
            row = groups[c.event_id, c.at, c.displaced] = (
                [c.event_id, c.at, 1] if c.displaced else [c.event_id, c.at]
            )
        row += (c.rule_id, c.points)
    return list(groups.values())


def test_recent_credits_group_as_before_in_any_order() -> None:
    rng = random.Random(5)
    for _ in range(20_000):
        credits = tuple(
            credit(
                rng.choice(["a", "b", "c"]),
                rng.choice([1.0, -2.0, 3.5]),
                rng.choice(["e1", "e2", "e3"]),
                rng.choice([10.0, 11.0, 12.5]),
                rng.random() < 0.3,
            )
            for _ in range(rng.randrange(0, 9))
        )
        assert _recent_to_list(credits) == _old_recent_to_list(credits)
