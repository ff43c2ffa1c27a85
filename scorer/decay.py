"""Exponential decay with a half-life: a credit of p at time t is worth p * 2^(-(T - t)/H) at T."""

import math


def halved(x: float) -> float:
    """2**x: what is left of a value after -x half-lives (x <= 0 decays it).

    math.pow(2.0, x), not math.exp2(x): mypyc compiles math.pow to C's pow(), where exp2 is
    a call into the math module (boxing the argument and the result), and every decay in
    the engine goes through here. Both are glibc's correctly rounded-in-nearly-all-cases
    functions; they differ in the last bit for about 0.1% of arguments. Every path that
    must agree bit for bit (booking a credit, folding the log) uses this one function.
    """
    return math.pow(2.0, x)


def factor(elapsed: float, half_life: float) -> float:
    """How much of a value survives `elapsed` seconds (negative elapsed grows it)."""
    return halved(-elapsed / half_life)


def value_at(value: float, since: float, t: float, half_life: float) -> float:
    """`value` held at time `since`, seen at time `t`."""
    return value * halved((since - t) / half_life)


def add_credit(
    value: float, since: float, points: float, at: float, half_life: float
) -> tuple[float, float]:
    """(value, reference time) after adding `points` credited at `at`.

    The reference time only moves forward, so a late credit is decayed to it instead
    of the sum being decayed backwards; that keeps sums independent of arrival order.
    """
    if at >= since:
        return value * halved((since - at) / half_life) + points, at
    return value + points * halved((at - since) / half_life), since


def credit_rule(
    sums: dict[str, float], times: dict[str, float], rule_id: str, points: float, at: float,
    half_life: float,
) -> None:
    """add_credit on a rule's entry in per-rule sums and their reference times, in place."""
    since = times.get(rule_id)
    if since is None:
        sums[rule_id] = points
        times[rule_id] = at
    elif at >= since:
        sums[rule_id] = sums[rule_id] * halved((since - at) / half_life) + points
        times[rule_id] = at
    else:
        sums[rule_id] = sums[rule_id] + points * halved((at - since) / half_life)


def crossing_time(value: float, since: float, threshold: float, half_life: float) -> float | None:
    """When `value` (held at `since`) decays down to `threshold`: since + H * log2(value/threshold).

    None when it never does (threshold <= 0 or value <= 0, i.e. nothing left to decay
    through a positive threshold). A value already at or below it crosses at `since`.
    """
    if threshold <= 0 or value <= 0:
        return None
    if value <= threshold:
        return since
    return since + half_life * math.log2(value / threshold)
