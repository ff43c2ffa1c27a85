"""Applying events to a lead's state: the pure core the Faust agents call.

Purity: every function takes a state and returns an `Update` holding a *new* state; the
input state is never modified (the engine copies it and replaces, never mutates, the
containers it shares), so a caller may keep, retry or discard either freely.

Time is always a parameter (epoch seconds UTC, event time); the clock is never read.
The score is stored as (score_ref, t_ref): its value at t_ref, the latest event time
seen. A newer event first decays the score to its own time; a late one (at < t_ref) adds
its credit decayed to t_ref. Either way score(T) = sum of p_i * 2^(-(T - t_i)/H), so the
score does not depend on arrival order. An Update is reported as of t_ref after the
step: the event's own time unless it arrived late; stage changes caused by an event carry
the same `at`.

Stages: before an event newer than t_ref is scored, decay demotions due by its time are
applied (cause "decay", each at its exact crossing time), so hysteresis never keeps a
lead hot that had already cooled; then the event's stage change, if any, follows (cause
"event", or "trigger" when a trigger raised it). Update.changes lists them in order and
Update.change is the last one.

Triggers are evaluated as events arrive (they are the one order-dependent part): a
fired trigger raises the score to its stage's threshold at the event's time (a credit of
the difference, booked under the trigger id) and lifts the stage to at least that stage;
afterwards the score decays like any other. For a late event, "the score at its time"
is the current score projected back to it. Counting triggers count matching events in
the trailing `within` window ending at the event; only the latest `count` times are
kept, so a very late event may see fewer earlier events than a replay would.

Displaced credits: a late event that is earlier than credited events of a cap window,
or than the first event of a once_per key, takes over their credit. The Update lists
a positive contribution for the late event and a negative, `displaced` one at the time
of each withdrawn credit, so contributions always add up to the score change.

Identify events (and any event carrying traits) merge their traits into state.traits
before rules are matched, so `where_traits` and fit see them; fit is re-graded then.

Rules versions: a state remembers the version it was last computed under. When a step
sees a state stamped with another version it keeps the decayed sums as they are (past
credits are not re-priced: `rescore` the history for that), re-grades fit, stamps the
new version and half-life, and keeps cap, once_per and trigger bookkeeping only for ids
that still have a cap, once_per or count in the new rules. If a cap's `per` changed,
its old windows are read with the new length until they age out; rescore to be exact.
"""

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from math import copysign, floor
from typing import Any, Final, cast

from scorer import caps, once
from scorer.credits import FOLD_AT, Contribution, extend, has_room
from scorer.decay import halved
from scorer.dedupe import append, claimed, contains, digest, held, prune, unclaim
from scorer.events import ScoringEvent
from scorer.fit import evaluate
from scorer.ledger import demote, restamp, result, score_at, set_traits
from scorer.limits import CAP_LATENESS, DEDUPE_PRUNE_AT, MAX_CAP_WINDOWS
from scorer.matching import Check1, Predicate, cached_path, check, native_checks
from scorer.memo import Memo
from scorer.outputs import StageChange, Update
from scorer.rules import Rule, Rules, Trigger
from scorer.small_rows import NO_CLOSED, SMALL_TIMES, SMALL_WINDOWS, SmallRow, last_time, small_of
from scorer.small_rows import added as added_row
from scorer.small_rows import count as small_count
from scorer.small_rows import first as first_row
from scorer.small_rows import flat as flat_small
from scorer.small_rows import grown as grown_row
from scorer.small_rows import window as small_window
from scorer.stages import RANK, higher_of, stage_for
from scorer.state import CapRow, CountLog, HeldRow, LeadState, flat_of, windows_of

# Per rules object and event type, the rules and triggers that apply, unpacked once into
# native objects (attribute reads, no tuple unpacking or boxing per event).
_PLAIN: Final = 0
_CAPPED: Final = 1
_ONCE: Final = 2


class _Where:
    """A rule's or trigger's `where` and `where_traits`: native checks where they can be."""

    def __init__(self, where: Mapping[str, Any], matches: Predicate | None) -> None:
        native = native_checks(where) if where else ()
        # checks: all must hold (empty: no condition); general: the compiled predicate
        # when some condition has no native check (then checks is empty and unused).
        self.checks: Final[tuple[Check1, ...]] = () if native is None else native
        self.general: Final[Predicate | None] = matches if where and native is None else None
        self.always: Final = not where  # no condition: nothing to evaluate
        # Whether it holds for no properties at all: most leads have no traits (anonymous
        # visitors), and a trigger's where_traits is read on every event of its type.
        self.on_empty: Final = _evaluate(self, _NO_PROPS, None)


class _Step:
    def __init__(self, rule: Rule, cap_ids: tuple[str, ...]) -> None:
        cap = rule.cap
        self.rule: Final = rule
        self.id: Final = rule.id
        # the rule's slot in a state's cap rows (LeadState.cap_slots), if capped
        self.slot: Final = cap_ids.index(rule.id) if cap is not None else -1
        self.points: Final = rule.points
        self.kind: Final = _CAPPED if cap is not None else _ONCE if rule.once_per else _PLAIN
        # how many events of a cap window can get credit
        self.limit: Final = caps.slots(rule.points, cap) if cap is not None else 0
        # its rows may be SmallRows (small_rows.py): it credits 1 to SMALL_TIMES a window
        self.small: Final = 0 < self.limit <= SMALL_TIMES
        self.per: Final = cap.per if cap is not None else 1.0
        # CAP_LATENESS in windows of `per`, when whole and `per` is whole (else NaN): the
        # oldest window kept is then `lag` windows before the event's (see _oldest)
        self.lag: Final = _lag(self.per)
        self.cap_points: Final = cap.points if cap is not None else 0.0
        self.where: Final = _Where(rule.where, rule.matches)
        self.traits: Final = _Where(rule.where_traits, rule.matches_traits)
        # Set by _Plan when every condition of `where` is on the path: this step's bit in the
        # plan's path memo (_path_bits), else 0.
        self.path_bit = 0


def _on_path_only(where: _Where) -> bool:
    checks = where.checks
    return where.general is None and len(checks) > 0 and all(c.is_path for c in checks)


class _TriggerStep:
    def __init__(self, trigger: Trigger) -> None:
        self.trigger: Final = trigger
        self.counting: Final = trigger.count > 1 and trigger.within is not None
        self.where: Final = _Where(trigger.where, trigger.matches)
        self.traits: Final = _Where(trigger.where_traits, trigger.matches_traits)


class _Plan:
    def __init__(
        self,
        event_type: str,
        steps: list[_Step],
        triggers: list[_TriggerStep],
        needs_path: bool,
        cap_ids: tuple[str, ...],
    ) -> None:
        self.event_type: Final = event_type
        self.steps: Final = steps
        self.triggers: Final = triggers
        self.needs_path: Final = needs_path  # the event type's conditions read `path`
        self.cap_ids: Final = cap_ids  # every capped rule's id, in the rules' order: slots
        bit = 1
        for step in steps:
            if _on_path_only(step.where):
                step.path_bit, bit = bit, bit << 1
        # url -> its path and which path-only steps' `where` holds for that path (their
        # path_bit set): a site's few pages come back in event after event, each costing a
        # path derivation and a check per step.
        self.urls: Final = Memo[_Page](4096)


class _Page:
    """A url's path (matching.path_of) and _path_bits of it (-1 if it is not an exact str)."""

    def __init__(self, path: Any, bits: int) -> None:
        self.path: Final = path
        self.bits: Final = bits


def _page(plan: _Plan, url: str) -> _Page:
    """What the plan's memo holds for `url` (an exact str)."""
    page = plan.urls.get(url)
    if page is None:
        path = cached_path(url)
        page = plan.urls.keep(url, _Page(path, _path_bits(plan, path) if type(path) is str else -1))
    return page


def _path_bits(plan: _Plan, path: str) -> int:
    """The path_bit of each of the plan's path-only steps whose `where` holds for `path`."""
    bits = 0
    for step in plan.steps:
        if step.path_bit and _holds(step.where, _NO_PROPS, path):
            bits |= step.path_bit
    return bits


_NO_PROPS: Final[dict[str, Any]] = {}


class _Plans:
    """A rules object's plans by event type. The first few are also listed, to be found by
    comparing types: an event's type is a str of its own (decoded with the event), whose
    hash a dict lookup computes first (~300 instructions where a few compares take ~50)."""

    def __init__(self) -> None:
        self.by_type: Final[dict[str, _Plan]] = {}
        self.first: Final[list[_Plan]] = []


_LISTED: Final = 8  # plans in _Plans.first
# A pure cache: the plans of the last rules object used, as one (rules, plans) pair that
# is replaced whole (threads see either pair), compared by identity and referenced, so
# the rules object's id cannot be reused while it is cached.
_CACHED: Final[list[tuple[Rules | None, _Plans]]] = [(None, _Plans())]


def _plans_for(rules: Rules) -> _Plans:
    cached = _CACHED[0]
    if cached[0] is rules:
        return cached[1]
    plans = _Plans()
    _CACHED[0] = (rules, plans)
    return plans


def _plan(plans: _Plans, event_type: str, rules: Rules) -> _Plan:
    for plan in plans.first:
        if plan.event_type == event_type:
            return plan
    found = plans.by_type.get(event_type)
    return _compile(rules, event_type, plans) if found is None else found


def _compile(rules: Rules, event_type: str, plans: _Plans) -> _Plan:
    rules_for = rules.rules_by_type.get(event_type) or rules.rules_by_type.get("*", ())
    triggers_for = rules.triggers_by_type.get(event_type) or rules.triggers_by_type.get("*", ())
    # One tuple object for all of a rules object's plans: states compare it by identity.
    first = plans.first
    cap_ids = first[0].cap_ids if first else _capped_ids(rules)
    plan = plans.by_type[event_type] = _Plan(
        event_type,
        [_Step(rule, cap_ids) for rule in rules_for],
        [_TriggerStep(trigger) for trigger in triggers_for],
        event_type in rules.path_types,
        cap_ids,
    )
    if len(first) < _LISTED:
        first.append(plan)
    return plan


def _capped_ids(rules: Rules) -> tuple[str, ...]:
    return tuple(rule.id for rule in rules.rules if rule.cap is not None)


def _holds(where: _Where, props: dict[str, Any], path: Any) -> bool:
    """Whether `where` holds; `path` is the path derived from `url` (None: read props)."""
    if path is None and not props:
        return where.on_empty
    return _evaluate(where, props, path)


def _evaluate(where: _Where, props: dict[str, Any], path: Any) -> bool:
    """_holds, read from the conditions themselves."""
    general = where.general
    if general is not None:
        return general(_full(props, path))
    for c in where.checks:
        if c.is_path and path is not None:
            value: Any = path
        else:
            # (a lead's traits are often none at all: an anonymous visitor's)
            value = props.get(c.name) if props else None
        if not check(c, value):
            return False
    return True


def _full(props: dict[str, Any], path: Any) -> Mapping[str, Any]:
    """The properties as compile_where's predicates and once_per keys see them."""
    return props if path is None else {**props, "path": path}


def _floor_div(t: float, per: float) -> float:
    """t // per (a whole number, as a float), without the fmod of float floor division.

    Exact for whole-second `per` and times below 2**52: the estimate is corrected by
    exact multiplications; anything else takes the floor division itself.
    """
    if per == float(int(per)) and per > 0.0 and -_EXACT < t < _EXACT:
        q = float(floor(t / per))
        if q * per > t:
            q -= 1.0
        elif (q + 1.0) * per <= t:
            q += 1.0
        return q
    return t // per


_EXACT: Final = 2.0**52
_NAN: Final = float("nan")  # equal to no cap length
# An event's time is finite when it lies between these, a native compare; math.isfinite,
# compiled, is a generic call of the module's function (a global lookup and a boxed
# float), ~300 instructions per event.
_INF: Final = float("inf")


def _lag(per: float) -> float:
    """CAP_LATENESS / per when `per` and the quotient are whole (_oldest's shortcut), or NaN."""
    if per > 0.0 and per == float(int(per)):
        lag = CAP_LATENESS / per
        if lag == float(int(lag)) and lag * per == CAP_LATENESS:
            return lag
    return _NAN


def _oldest(window: float, t: float, latest: float, per: float, lag: float) -> float:
    """The oldest cap window still kept: _floor_div(latest - CAP_LATENESS, per).

    For an event at the lead's latest time (the common case), with whole `per` and
    `lag` (_lag), that is window - lag, as `window` is _floor_div(t, per): for
    CAP_LATENESS <= t < 2**52, t - CAP_LATENESS is exact (a whole number off t, not
    above it) and the floor of its quotient is the floor of t's, less the whole lag.
    """
    if t == latest and lag == lag and CAP_LATENESS <= t < _EXACT:
        return window - lag
    return _floor_div(latest - CAP_LATENESS, per)


_NO_CAPS: Final[CapRow] = (NO_CLOSED,)  # a rule with no windows held yet

# The numbers a new cap row or trigger counter holds are shared objects where they can be:
# counts from _COUNTS, windows from _WINDOWS (a pure cache of boxed window indexes), the
# event's time boxed once per event. The values are the same; but a lead's rows then refer
# to a few objects that every lead uses (hot in cache) and to each time once, instead of a
# fresh float per element, each in its own cold cache line when the lead's next event
# comes and the row is walked and copied.
_COUNTS: Final[tuple[object, ...]] = tuple([float(i) for i in range(32)])
_ONE: Final = _COUNTS[1]
_WINDOWS: Final[dict[float, object]] = {}


def _count_box(n: int) -> object:
    return _COUNTS[n] if n < 32 else float(n)


# The latest windows boxed, by their last 4 bits (each box is its window's value): leads'
# events come around the same time, so a few consecutive windows serve nearly every event,
# and a float-keyed dict lookup hashes the float and compares through a generic call
# (~350 instructions).
_RECENT_WINDOWS: Final[list[object]] = [_NAN] * 16


def _window_box(window: float) -> object:
    slot = int(window) & 15
    recent = _RECENT_WINDOWS[slot]
    if cast(float, recent) == window:
        return recent
    box = _WINDOWS.get(window)
    if box is None:
        if len(_WINDOWS) >= 512:
            _WINDOWS.clear()
        box = window
        _WINDOWS[window] = box
    _RECENT_WINDOWS[slot] = box
    return box


def _capped(
    current: HeldRow | None,
    step: _Step,
    t: float,
    window: float,
    oldest: float,
    latest: float,
    eid: str,
    out: list[Contribution],
    t_box: object,
) -> HeldRow | None:
    """Credit a capped rule into `out`; the rule's new row, or None if unchanged.

    Rules that credit 1 to SMALL_TIMES events a window (step.small) hold SmallRows where
    they can (small_rows.py): _capped_small takes the in-order cases; anything else, and
    any other rule, goes through _capped_flat on the flat tuple, whose result is held
    small again when it fits.
    """
    small = step.small
    if small and (current is None or isinstance(current, SmallRow)):
        row = _capped_small(current, step, t, window, oldest, latest, eid, out)
        if row is not _UNHANDLED:
            return row
    flat_row = current if current is None or isinstance(current, tuple) else flat_small(current)
    updated = _capped_flat(flat_row, step, t, window, oldest, latest, eid, out, t_box)
    if updated is None or not small:
        return updated
    held = small_of(updated)
    return updated if held is None else held


# _capped_small's answer when the case is not one it takes (a row no step ever holds)
_UNHANDLED: Final = SmallRow(NO_CLOSED, 0)


def _capped_small(
    row: SmallRow | None,
    step: _Step,
    t: float,
    window: float,
    oldest: float,
    latest: float,
    eid: str,
    out: list[Contribution],
) -> SmallRow | None:
    """_capped_flat's in-order cases on a SmallRow (or none yet): a later event in the
    newest window, or the first event of a window after every held one. _UNHANDLED if the
    event is not one of them, or the result would not fit a SmallRow."""
    points, limit = step.points, step.limit
    if row is None:
        if window < oldest:
            return _UNHANDLED
        granted = copysign(min(abs(points), step.cap_points), points)
        out.append(Contribution(step.id, granted, eid, t, False))
        return first_row(window, t)
    closed, k = row.closed, row.k
    if not window > closed:
        return _UNHANDLED
    newest = small_window(row, k - 1)
    if window == newest:
        n = small_count(row, k - 1)
        # t == latest: at or after every time the lead holds (as in _capped_flat)
        if not (t == latest or t >= last_time(row, k - 1)):
            return _UNHANDLED
        if n >= limit:
            return None
        granted = copysign(min(abs(points), step.cap_points - n * abs(points)), points)
        out.append(Contribution(step.id, granted, eid, t, False))
        return grown_row(row, t)
    if not (window > newest and window >= oldest):
        return _UNHANDLED
    # drop the windows too old to matter (the first ones: windows increase); remember the
    # newest one dropped
    dropped = 0
    while dropped < k and small_window(row, dropped) < oldest:
        dropped += 1
    if dropped:
        closed = max(closed, small_window(row, dropped - 1))
    if k - dropped >= SMALL_WINDOWS:
        return _UNHANDLED
    granted = copysign(min(abs(points), step.cap_points), points)
    out.append(Contribution(step.id, granted, eid, t, False))
    return added_row(row, dropped, closed, window, t)


def _capped_flat(
    current: CapRow | None,
    step: _Step,
    t: float,
    window: float,
    oldest: float,
    latest: float,
    eid: str,
    out: list[Contribution],
    t_box: object,
) -> CapRow | None:
    """_capped on the flat tuple: the rule's new flat windows, or None if unchanged.

    The in-order cases (a later event in a window already held, or the first event of
    a window after all held ones) are handled here on the flat tuple (state.CapRow);
    anything else by caps.credit on the nested form.
    """
    points, limit = step.points, step.limit
    # window: _floor_div(t, per), a whole number, as a float like the flat tuple's windows;
    # oldest: _oldest(...), the oldest window still kept after this event
    row = current if current is not None else _NO_CAPS
    items: tuple[object, ...] = row  # the same tuple, read without unboxing its numbers
    closed = row[0]
    if window > closed:
        size = len(row)
        i, found, held = 1, -1, 0
        newest = earliest = window  # of the held windows and this one, in one pass
        while i < size:
            w = row[i]
            if w == window:
                found = i
                break
            if w > newest:
                newest = w
            elif w < earliest:
                earliest = w
            held += 1
            i += 2 + int(row[i + 1])
        if found >= 0:
            n = int(row[found + 1])
            end = found + 2 + n
            # t == latest: the event is at or after every time the lead holds, so after
            # the window's last credit, without reading that time (a cold float object)
            if n and (t == latest or t >= row[end - 1]):
                if n >= limit:
                    return None
                granted = copysign(min(abs(points), step.cap_points - n * abs(points)), points)
                out.append(Contribution(step.id, granted, eid, t, False))
                count = _count_box(n + 1)
                if end == size and n <= 2:
                    # The row's last window (usually the newest) grows: its new tail as one
                    # tuple of fixed length, not the whole row through a list.
                    first_t = items[found + 2]
                    if n == 1:
                        if found == 1:
                            return cast(CapRow, (items[0], items[1], count, first_t, t_box))
                        grown_tail = (items[found], count, first_t, t_box)
                        return cast(CapRow, items[:found] + grown_tail)
                    second_t = items[found + 3]
                    if found == 1:
                        return cast(CapRow, (items[0], items[1], count, first_t, second_t, t_box))
                    grown_tail2 = (items[found], count, first_t, second_t, t_box)
                    return cast(CapRow, items[:found] + grown_tail2)
                grown: list[object] = list(items)
                grown[found + 1] = count
                grown.insert(end, t_box)
                return cast(CapRow, tuple(grown))
        elif limit:
            if newest == window and window >= oldest:  # no held window is later than this one
                if earliest >= oldest:
                    kept = cast(CapRow, items + (_window_box(window), _ONE, t_box))
                    held += 1
                else:  # drop windows too old to matter; remember the newest one dropped
                    # Usually the kept windows are the row's tail (windows are appended in
                    # time order): then one slice keeps them, without unboxing their times.
                    i, held, first, tail = 1, 0, size, True
                    closed_box = items[0]
                    while i < size:
                        w, n = row[i], int(row[i + 1])
                        if w >= oldest:
                            if first == size:
                                first = i
                            held += 1
                        else:
                            if first < size:
                                tail = False  # a dropped window after a kept one
                            if w > closed:
                                closed, closed_box = w, items[i]
                        i += 2 + n
                    w_box = _window_box(window)
                    if first == size:  # every held window dropped: one tuple, no slices
                        kept = cast(CapRow, (closed_box, w_box, _ONE, t_box))
                    elif tail and size - first == 3:  # one kept window with one time
                        kept = cast(
                            CapRow,
                            (
                                closed_box,
                                items[first],
                                items[first + 1],
                                items[first + 2],
                                w_box,
                                _ONE,
                                t_box,
                            ),
                        )
                    elif tail:
                        kept = cast(CapRow, (closed_box,) + items[first:] + (w_box, _ONE, t_box))
                    else:
                        parts: list[object] = [closed_box]
                        i = 1
                        while i < size:
                            w, n = row[i], int(row[i + 1])
                            if w >= oldest:
                                parts.extend(items[i : i + 2 + n])
                            i += 2 + n
                        parts.extend((w_box, _ONE, t_box))
                        kept = cast(CapRow, tuple(parts))
                    held += 1
                if held <= MAX_CAP_WINDOWS:
                    granted = copysign(min(abs(points), step.cap_points), points)
                    out.append(Contribution(step.id, granted, eid, t, False))
                    return kept
    cap = step.rule.cap
    assert cap is not None
    updated, deltas = caps.credit(
        None if current is None else windows_of(current), points, cap, t, latest
    )
    for when, delta in deltas:
        out.append(Contribution(step.id, delta, eid, when, when != t))
    return flat_of(updated) if deltas and updated is not None else None


def _once(
    s: LeadState,
    rule: Rule,
    props: Mapping[str, Any],
    t: float,
    h: float,
    eid: str,
    out: list[Contribution],
) -> None:
    key = once.key_of(props, rule.once_per)
    if key is None:
        return
    keys, deltas = once.credit(s.once.get(rule.id, {}), key, rule.points, t, s.t_ref, h)
    if keys is not None:
        s.once = {**s.once, rule.id: keys}
    for when, points in deltas:
        out.append(Contribution(rule.id, points, eid, when, when != t))


def _counted(s: LeadState, trigger: Trigger, t: float, t_box: object, ordered: bool) -> bool:
    """Record a matching event for a counting trigger; True if the count is reached.

    `ordered`: t is at or after the lead's latest time before this event, so after every
    logged time. An in-order event is appended to the state's count log (state.CountLog)
    when the log is this trigger's and the state is its newest; else _counted_held.
    """
    count, within, log, n = trigger.count, trigger.within, s.count_log, s.counted
    assert within is not None
    if log is None:
        log, n = CountLog(trigger.id, count, within), 0
    elif not (
        log.trigger_id == trigger.id
        and len(log.items) == n
        and log.count == count
        and log.within == within
        and n < _COUNT_FOLD_AT
    ):
        if log.trigger_id != trigger.id:
            return _counted_held(s, trigger, t)
        s.counters = s.counters  # fold the log into the state's own dict (same value)
        log, n = CountLog(trigger.id, count, within), 0
    items = log.items
    # The state's own times before the log's, read only when needed (a cold dict).
    base: tuple[float, ...] = () if n else s.counters_base.get(trigger.id, ())
    if not ordered or not n:  # (logged times are event times, never after t_ref)
        last = cast(float, items[n - 1]) if n else base[-1] if base else None
        if last is not None and t < last:
            s.counters = s.counters
            return _counted_held(s, trigger, t)
    # the count-th latest time, counting this one: `before` earlier ones back
    before = count - 1
    if n >= before:
        if before:
            # The log's times are nondecreasing, so its first (a native field; the count-th
            # latest is a float object of an earlier event, a cold cache line) bounds the
            # count-th latest from below: usually that already decides it.
            cut = t - within
            reached = log.first > cut or cast(float, items[n - before]) > cut
        else:
            reached = True
    else:
        if n:
            base = s.counters_base.get(trigger.id, ())
        i = len(base) - (before - n)
        reached = i >= 0 and base[i] > t - within
    if not n:
        log.first = t
    items.append(t_box)
    s.count_log, s.counted = log, n + 1
    return reached


# A count log is folded into the state's dict once it holds this many times, so it stays
# small (a state only ever needs the latest `count` of them). A fold reads only those
# (state.count_view), but a new log costs ~8k instructions (its list untracked through
# ctypes among them): at 64 rather than 32, 0.9% fewer per event over the bench's traffic.
_COUNT_FOLD_AT: Final = 64


def _counted_held(s: LeadState, trigger: Trigger, t: float) -> bool:
    """_counted on the state's dict of times (late events, other triggers than the log's)."""
    count, within, before = trigger.count, trigger.within, s.counters_base.get(trigger.id, ())
    assert within is not None
    times = tuple(sorted((*before, t)))
    reached = bisect_right(times, t) - bisect_right(times, t - within) >= count
    recent = times[-count:]
    cutoff = times[-1] - within  # older times can never count again
    s.counters_base = {**s.counters_base, trigger.id: recent[bisect_right(recent, cutoff) :]}
    return reached


def _tipping_rule(added: list[Contribution], up: bool) -> str | None:
    """The rule of the largest credit in the direction of the change (the first on ties)."""
    best: Contribution | None = None
    for c in added:
        if (c.points > 0) == up and (best is None or abs(c.points) > abs(best.points)):
            best = c
    return None if best is None else best.rule_id


def _remember(s: LeadState, eid: str, key: str, at: float, added: bool) -> None:
    """Add a new event id (digest `key` if taken) to s's applied ids (base + log);
    `added`: dedupe.claimed() has added it to s's log in place."""
    n = s.logged
    s.id_log = append(s.id_log, n, eid, at, key, added)
    s.logged = n + 1
    if (s.seen_base or n + 1 >= DEDUPE_PRUNE_AT) and held(s.seen_base, n + 1) >= DEDUPE_PRUNE_AT:
        s.seen = prune(s.seen, s.t_ref)


def _credited(score: float, ref: float, added: list[Contribution], h: float) -> float:
    """The score at `ref` after `added` (times <= ref): ledger.book's score arithmetic."""
    for c in added:
        at, points = c.at, c.points
        score += points if at == ref else points * halved((at - ref) / h)
    return score


def _log_credits(s: LeadState, added: list[Contribution], h: float) -> None:
    """Book `added` into the per-rule sums and recent credits through s's credit log."""
    log = s.credit_log
    if log is not None and log.half_life != h:
        s.fold()  # entries are folded with the half-life they were booked under
        log = None
    n = s.credited
    s.credit_log = extend(log, n, added, h)
    s.credited = n + len(added)
    if s.credited >= FOLD_AT:
        s.fold()


def _duplicate(state: LeadState) -> Update:
    return Update(state, state.score_ref, state.stage, state.t_ref, state.fit_grade, (), None, True)


def _touch(state: LeadState) -> int:
    """Read, side by side, the parts of a lead's state that a step goes on to reach.

    With many leads, a lead's state is out of the CPU's caches when its next event comes,
    and a step reaches each part through a chain of pointers: state -> credit log -> its
    list -> the slot to fill; state -> count log -> its list; state -> cap rows -> each row;
    state -> id log -> its dict. Followed one chain at a time, as the step needs them, each
    link is a cache miss waited for in turn; read here in one go, the misses of different
    chains are in flight together. The result, a count that is never negative, is only
    checked, so that the compiler keeps these reads.
    """
    n = state.logged
    credit_log = state.credit_log
    count_log = state.count_log
    id_log = state.id_log
    rows = state.cap_rows
    if credit_log is not None:
        n += len(credit_log.items)
    if count_log is not None:
        n += len(count_log.items)
    if id_log is not None:
        n += len(id_log.at)
    for row in rows:
        if isinstance(row, SmallRow):
            n += row.k
        elif row is not None:
            n += len(row)
    if credit_log is not None and has_room(credit_log):
        n += 1
    return n


def apply_event(state: LeadState, event: ScoringEvent, rules: Rules) -> Update:
    """The lead's state after `event`. A repeated event_id changes nothing (duplicate=True)."""
    if _touch(state) < 0:
        raise AssertionError("a negative length")
    eid = event.event_id
    claim = claimed(state.id_log, state.logged, eid)
    if claim < 0:
        return _duplicate(state)
    key = ""  # the id's digest, taken only to look among loaded ids (else when saved)
    if state.seen_base:
        key = digest(eid)
        if contains(state.seen_base, key):
            if claim:
                unclaim(state.id_log, eid)
            return _duplicate(state)
    t = event.at
    if not -_INF < t < _INF:  # NaN or infinite (NaN compares false)
        if claim:
            unclaim(state.id_log, eid)
        raise ValueError(f"event {event.event_id!r} has no usable time: {t!r}")
    cached = _CACHED[0]
    plan = _plan(cached[1] if cached[0] is rules else _plans_for(rules), event.type, rules)
    s = state.copy()
    if s.version != rules.version:
        restamp(s, rules)
    h = rules.half_life
    changes: list[StageChange] | None = None
    ordered = t >= s.t_ref  # at or after every time the state holds
    if t > s.t_ref:  # decay to the event's time first, so credits at t add at face value
        decayed = s.score_ref * halved((s.t_ref - t) / h)
        if s.stage != "cold":
            entry = rules.hot if s.stage == "hot" else rules.warm
            theta = entry - rules.hysteresis
            if not decayed > theta * _NO_CROSSING:  # possibly crossed: the exact test
                changes = demote(s, t, rules)
        s.score_ref, s.t_ref = decayed, t
    if event.traits:
        set_traits(s, event.traits, rules)
    raw = event.properties
    props: dict[str, Any] = raw if isinstance(raw, dict) else dict(raw)
    # `path`, derived from `url` for the types whose conditions read it (see _full).
    path: Any = None
    bits = -1  # _path_bits of the derived path, when there is one and it is an exact str
    if plan.needs_path and "path" not in props:
        url = props.get("url")
        if type(url) is str:
            page = _page(plan, url)
            path, bits = page.path, page.bits
        elif isinstance(url, str):
            path = cached_path(url)
    traits, latest = s.traits, s.t_ref
    t_box: object = t  # the event's time as one float object (see _COUNTS)
    added: list[Contribution] = []
    rows: tuple[HeldRow | None, ...] | None = None  # s's cap rows by slot, once needed
    changed: list[HeldRow | None] | None = None
    # the cap window of t for the last `per` seen (none yet), and the oldest one kept
    per, window, oldest = _NAN, 0.0, 0.0
    for step in plan.steps:
        if step.path_bit and bits >= 0:
            if not bits & step.path_bit:
                continue
        elif not step.where.always and not _holds(step.where, props, path):
            continue
        if not step.traits.always and not _holds(step.traits, traits, None):
            continue
        kind = step.kind
        if kind == _PLAIN:
            added.append(Contribution(step.id, step.points, eid, t, False))
        elif kind == _CAPPED:
            if step.per != per:  # the default rules' caps share one window length
                per = step.per
                window = _floor_div(t, per)
                oldest = _oldest(window, t, latest, per, step.lag)
            if rows is None:
                rows = s.cap_slots(plan.cap_ids)
            slot = step.slot
            windows = _capped(rows[slot], step, t, window, oldest, latest, eid, added, t_box)
            if windows is not None:
                if changed is None:
                    changed = list(rows)
                changed[slot] = windows
        else:
            _once(s, step.rule, _full(props, path), t, h, eid, added)
    if changed is not None:
        s.cap_rows = tuple(changed)
    if added:
        s.score_ref = _credited(s.score_ref, s.t_ref, added, h)
    fired: Trigger | None = None
    for tstep in plan.triggers:
        if not tstep.where.always and not _holds(tstep.where, props, path):
            continue
        trigger = tstep.trigger
        if tstep.counting and not _counted(s, trigger, t, t_box, ordered):
            continue
        if not tstep.traits.always and not _holds(tstep.traits, s.traits, None):
            continue
        if fired is None or RANK[trigger.raise_to] > RANK[fired.raise_to]:
            fired = trigger
    if fired is not None:
        boost = rules.threshold(fired.raise_to) - score_at(s, t, rules)
        if boost > 0:
            boosts = [Contribution(fired.id, boost, eid, t, False)]
            s.score_ref = _credited(s.score_ref, s.t_ref, boosts, h)
            added += boosts
    _remember(s, eid, key, t, claim > 0)
    contributions = tuple(added)
    if contributions:
        _log_credits(s, added, h)
    stage = stage_for(s.score_ref, s.stage, rules)
    if fired is not None:
        stage = higher_of(stage, fired.raise_to)
    if stage != s.stage:
        up = RANK[stage] > RANK[s.stage]
        by_trigger = fired is not None and up and stage == fired.raise_to
        cause, tipping = ("trigger", fired.id) if by_trigger and fired else ("event", None)
        tipping = tipping or _tipping_rule(added, up)
        change = StageChange(s.stage, stage, s.score_ref, s.t_ref, cause, eid, tipping)
        changes = [change] if changes is None else [*changes, change]
        s.stage = stage
    done = tuple(changes) if changes else ()
    last = done[-1] if done else None
    return Update(s, s.score_ref, s.stage, s.t_ref, s.fit_grade, contributions, last, False, done)


# Demotions are only looked for when the decayed score is not clearly above the exit
# threshold; the margin covers rounding differences between halved() and the exact crossing.
_NO_CROSSING: Final = 1.0 + 1e-9


def update_traits(state: LeadState, traits: Mapping[str, Any], at: float, rules: Rules) -> Update:
    """Merge CRM outcomes or identify traits (None removes one) and re-grade fit.

    Traits do not score and do not fire triggers (those need an event); decay
    demotions due by `at` are applied. The Update is as of max(at, t_ref).
    """
    s = state.copy()
    if s.version != rules.version:
        restamp(s, rules)
    when = max(at, s.t_ref)
    changes = demote(s, when, rules)
    set_traits(s, traits, rules)
    return result(s, when, [], changes, rules)


def advance(state: LeadState, now: float, rules: Rules) -> Update:
    """Apply decay demotions due by `now` (the stream layer calls it at next_crossing).

    Each change carries its exact crossing time and cause "decay"; if several stages
    are crossed by `now`, `changes` lists them all in order and `change` is the last.
    The stored (score_ref, t_ref) is unchanged: decay needs no bookkeeping.
    """
    s = state.copy()
    if s.version != rules.version:
        restamp(s, rules)
    changes = demote(s, now, rules)
    return result(s, now, [], changes, rules)


def rescore(events: Iterable[ScoringEvent], rules: Rules) -> tuple[LeadState, list[Update]]:
    """Recompute a lead from its history under `rules`, in event-time order.

    Sorting is stable, so events with equal times keep their given order. Scores do
    not depend on the order anyway; triggers and stage changes do, and event-time order
    is what live processing would have seen without delays.
    """
    state = LeadState(version=rules.version, half_life=rules.half_life)
    state.fit_points, state.fit_grade = evaluate(state.traits, rules)
    updates: list[Update] = []
    for event in sorted(events, key=lambda e: e.at):
        update = apply_event(state, event, rules)
        updates.append(update)
        state = update.state
    return state, updates
