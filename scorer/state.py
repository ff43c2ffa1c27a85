"""Per-lead scoring state and its compact JSON form (stored in a Faust table by streams/).

The decayed score is kept as (score_ref, t_ref): its value at t_ref, the latest event time
seen. Everything else is bookkeeping that makes the result independent of arrival order
(cap windows, once_per keys), remembers applied event ids, counts trigger events and keeps
per-rule sums for explanations. Every collection is bounded; see `limits.py`.

Callers treat a LeadState as immutable: the engine copies before it changes anything.
Three parts are shared between a lead's successive states as append-only logs, each state
seeing a prefix of its own length: the ids applied since the state was loaded or pruned
(dedupe.IdLog), the credits booked since the per-rule sums were last folded
(credits.CreditLog) and one counting trigger's in-order event times (CountLog). A step
appends in place only from a log's newest state and branches off a copy otherwise, so no
state's value ever changes; reading `seen`, `sums`, `sum_times`, `recent` or `counters`
assembles the whole (reading the sums folds the logged credits into the state's own new
dicts, a change of representation, not of value).

Sums: each rule's sum is held as two numbers, its value in `sums` and the time that value
is held at in `sum_times` (same keys). Thousands of states stay in memory in the stream
worker; dicts holding only atomic values (numbers, strings) are never tracked by CPython's
cyclic garbage collector, while a (value, at) tuple per rule would make it traverse them.
"""

from binascii import a2b_base64, b2a_base64
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from math import copysign, floor
from typing import Any, Final, cast

from scorer.credits import Contribution, CreditLog, credit
from scorer.decay import credit_rule, halved
from scorer.dedupe import IdLog, view
from scorer.limits import DIGEST_WIDTH, RECENT_CREDITS
from scorer.small_rows import NO_CLOSED as NO_CLOSED  # where it was defined before
from scorer.small_rows import SmallRow, flat
from scorer.untracked import untracked

try:  # a compile-time hint for mypyc (see credits.py); a no-op without mypy_extensions
    from mypy_extensions import mypyc_attr
except ImportError:  # pragma: no cover

    def mypyc_attr(*args: object, **kwargs: object) -> Any:  # type: ignore[misc]
        return lambda cls: cls


# Per capped rule: (last closed window index or None, {window index: credited times, sorted}).
CapWindows = tuple[int | None, dict[int, tuple[float, ...]]]
# The same, as the state holds it: one flat tuple of floats per capped rule,
#   (closed or -inf, window, n, time_1 .. time_n, window, n, time_1 .. time_n, ...),
# windows in the order the nested dict would hold them. A tuple of numbers is one object
# (untracked by the cyclic GC once it has seen it) where the nested form had a dict and
# two tuples per window; caps.windows_of / caps.flat_of convert.
CapRow = tuple[float, ...]
# A row as a state holds it by slot: the flat tuple, or the same windows in native fields
# while they are few (small_rows.py; `caps` reads either as the flat tuple).
HeldRow = CapRow | SmallRow


@mypyc_attr(acyclic=True)  # see credits.Contribution
class Folded:
    """The parts of a state that few steps read: its per-rule sums, their times and its
    recent credits as last folded, its once_per keys and its own counter times.

    One object for the five, replaced whole by a fold or a setter: copying a state for a
    step then increfs one object for them (a cold cache line), not five.
    """

    def __init__(
        self,
        sums: dict[str, float],
        times: dict[str, float],
        recent: tuple[Contribution, ...],
        once: dict[str, dict[str, float]],
        counters: dict[str, tuple[float, ...]],
    ) -> None:
        self.sums = sums
        self.times = times
        self.recent = recent
        self.once = once  # rule -> key hash -> at
        self.counters = counters  # trigger -> times, before a count log's (LeadState)


# The empty containers of a state built without them (every new lead's), shared: a state's
# containers are replaced, never changed, so one empty dict serves every state, and the
# reads and increfs of a lead that keeps one empty (no traits, no loaded ids, ...) go to an
# object that stays in cache instead of one per lead.
_NO_TRAITS: Final[dict[str, Any]] = {}
_NO_IDS: Final[dict[int, str]] = {}
_NO_CAPS: Final[dict[str, CapRow]] = {}
_NO_KEYS: Final[dict[str, dict[str, float]]] = {}
_NO_TIMES: Final[dict[str, tuple[float, ...]]] = {}
_NO_FOLDED: Final = Folded({}, {}, (), _NO_KEYS, _NO_TIMES)


@mypyc_attr(acyclic=True)  # see credits.Contribution
class CountLog:
    """Times of one counting trigger's matching events, appended in time order (append-only).

    Shared by a lead's successive states like dedupe.IdLog: a state sees its first `n`
    entries after its `counters` entry for the trigger, and a step appends in place only from
    the log's newest state. Appending the event's time object touches nothing else; the
    tuple a state held before was rebuilt per event, increfing every held time (each in a
    cold cache line of its own event). `count` and `within` are the trigger's, kept so the
    view can be built without the rules.
    """

    def __init__(self, trigger_id: str, count: int, within: float) -> None:
        self.trigger_id = trigger_id
        self.count = count
        self.within = within
        # float objects, nondecreasing, each >= the base's last (untracked: see untracked.py)
        self.items: list[object] = untracked([])
        self.first = 0.0  # the value of items[0], once there is one (read without a float)


def count_view(base: tuple[float, ...], log: CountLog, n: int) -> tuple[float, ...]:
    """The trigger's times after `base` and the log's first `n` (n >= 1) in-order steps.

    Each in-order step kept the latest `count` times and dropped those at or before its
    own time minus `within`; both cuts only move forward with the time, so doing them once
    for the latest time keeps the same times as doing them step by step.
    """
    count = log.count
    if n >= count:
        # Only the latest `count` are read: the log's times are each >= the base's, and
        # every other one is the time object of an older event (a cold cache line each).
        recent = cast(tuple[float, ...], tuple(log.items[n - count : n]))
    else:
        kept: tuple[object, ...] = base
        recent = cast(tuple[float, ...], kept + tuple(log.items[:n]))[-count:]
    return recent[bisect_right(recent, recent[-1] - log.within) :]


@mypyc_attr(acyclic=True, free_list_len=1)  # see credits.Contribution
@dataclass(slots=True)
class LeadState:
    version: str = ""  # rules version this state was last computed under
    traits: dict[str, Any] = field(default_factory=dict)
    stage: str = "cold"
    score_ref: float = 0.0  # decayed score at t_ref
    t_ref: float = 0.0  # latest event time seen (epoch seconds UTC)
    fit_points: float = 0.0
    fit_grade: str = "D"
    # Per-rule sums and the latest credits: `sums`, `sum_times` and `recent` (properties) are
    # these as last folded, then the first `credited` entries of a credit log shared with the
    # lead's other states (see fold), so booking a credit copies neither dict nor tuple.
    # sums, times, recent, once_per keys, counters before the count log
    folded: Folded = field(default_factory=lambda: _NO_FOLDED)
    # Applied ids (dedupe.py): {week: digests} as loaded or last pruned, then the first
    # `logged` entries of a log shared with the lead's other states; `seen` is the whole.
    seen_base: dict[int, str] = field(default_factory=dict)
    # Cap windows (the `caps` property: rule -> flat windows, above), held one of two ways:
    # as that dict (`cap_ids` empty), or by slot, `cap_rows[i]` the row of rule `cap_ids[i]`
    # (None: no windows), where `cap_ids` is the engine's tuple of the rules' capped ids.
    # Slots let a step read a row by index and replace the rows as one small tuple, where
    # the dict cost a hashed lookup per capped rule and a new dict per step (cold lines).
    caps_held: dict[str, CapRow] = field(default_factory=dict)
    cap_ids: tuple[str, ...] = ()
    cap_rows: tuple[HeldRow | None, ...] = ()
    # Trigger -> times (`counters`, a property): `counters_base` (in folded), then for one
    # trigger the first `counted` entries of a count log shared with the lead's other states.
    half_life: float = 1.0  # of the rules it was computed under; lets sums be stored at t_ref
    id_log: IdLog | None = None
    logged: int = 0
    credit_log: CreditLog | None = None
    credited: int = 0
    count_log: CountLog | None = None
    counted: int = 0

    # Hand-written rather than generated: mypyc compiles only hand-written methods, and the
    # engine builds one LeadState per event. Same signature and defaults as generated.
    def __init__(
        self,
        version: str = "",
        traits: dict[str, Any] | None = None,
        stage: str = "cold",
        score_ref: float = 0.0,
        t_ref: float = 0.0,
        fit_points: float = 0.0,
        fit_grade: str = "D",
        sums: dict[str, float] | None = None,
        seen: dict[int, str] | None = None,
        caps: dict[str, CapRow] | None = None,
        once: dict[str, dict[str, float]] | None = None,
        counters: dict[str, tuple[float, ...]] | None = None,
        recent: tuple[Contribution, ...] = (),
        half_life: float = 1.0,
        sum_times: dict[str, float] | None = None,
        id_log: IdLog | None = None,
        logged: int = 0,
        credit_log: CreditLog | None = None,
        credited: int = 0,
        folded: Folded | None = None,  # instead of sums, recent, sum_times, once, counters
        count_log: CountLog | None = None,
        counted: int = 0,
        cap_ids: tuple[str, ...] = (),  # with cap_rows: caps by slot, instead of `caps`
        cap_rows: tuple[HeldRow | None, ...] = (),
    ) -> None:
        self.version = version
        self.traits = _NO_TRAITS if traits is None else traits
        self.stage = stage
        self.score_ref = score_ref
        self.t_ref = t_ref
        self.fit_points = fit_points
        self.fit_grade = fit_grade
        if folded is None:
            if sums is None and sum_times is None and not recent and not once and not counters:
                folded = _NO_FOLDED
            else:
                folded = Folded(
                    {} if sums is None else sums,
                    {} if sum_times is None else sum_times,
                    recent,
                    _NO_KEYS if once is None else once,
                    _NO_TIMES if counters is None else counters,
                )
        self.folded = folded
        self.seen_base = _NO_IDS if seen is None else seen
        self.caps_held = _NO_CAPS if caps is None else caps
        self.cap_ids = cap_ids
        self.cap_rows = cap_rows
        self.half_life = half_life
        self.id_log = id_log
        self.logged = logged
        self.credit_log = credit_log
        self.credited = credited
        self.count_log = count_log
        self.counted = counted

    def fold(self) -> None:
        """Fold the logged credits into new sums and recent credits (the value is unchanged).

        The same arithmetic, in the same order for each rule, as ledger.book applied per
        step, so the sums come out bit for bit as if each step had updated them itself.
        """
        log, n = self.credit_log, self.credited
        if log is None:
            return
        self.credit_log, self.credited = None, 0
        if n == 0:
            return
        h, items = log.half_life, log.items
        base = self.folded
        sums, times = dict(base.sums), dict(base.times)
        if n <= _FEW:  # e.g. a state loaded, applied to and saved: book's own step per credit
            for i in range(n):
                c = items[i]
                credit_rule(sums, times, c.rule_id, c.points, c.at, h)
        else:
            _fold_many(items, n, h, sums, times)
        if n >= RECENT_CREDITS:
            recent = tuple(items[n - RECENT_CREDITS : n])
        else:
            recent = base.recent + tuple(items[:n])
            if len(recent) > RECENT_CREDITS:
                recent = recent[-RECENT_CREDITS:]
        self.folded = Folded(sums, times, recent, base.once, base.counters)

    @property
    def sums(self) -> dict[str, float]:
        """Per rule: its sum, held at time sum_times[rule]."""
        self.fold()
        return self.folded.sums

    @sums.setter
    def sums(self, sums: dict[str, float]) -> None:
        self.fold()
        base = self.folded
        self.folded = Folded(sums, base.times, base.recent, base.once, base.counters)

    @property
    def sum_times(self) -> dict[str, float]:
        self.fold()
        return self.folded.times

    @sum_times.setter
    def sum_times(self, times: dict[str, float]) -> None:
        self.fold()
        base = self.folded
        self.folded = Folded(base.sums, times, base.recent, base.once, base.counters)

    @property
    def recent(self) -> tuple[Contribution, ...]:
        """The latest RECENT_CREDITS credits, oldest first."""
        self.fold()
        return self.folded.recent

    @recent.setter
    def recent(self, recent: tuple[Contribution, ...]) -> None:
        self.fold()
        base = self.folded
        self.folded = Folded(base.sums, base.times, recent, base.once, base.counters)

    @property
    def seen(self) -> dict[int, str]:
        """Every applied id as {week: digests} (dedupe.py).

        Once built (saving a state builds it), it becomes this state's own map and the log
        is let go: a state kept after it is saved (the worker's cache) holds 6 bytes per id
        again, not the logged ids themselves. The value is unchanged, like fold's.
        """
        if self.id_log is None or self.logged == 0:
            return self.seen_base
        whole = view(self.seen_base, self.id_log, self.logged)
        self.seen_base, self.id_log, self.logged = whole, None, 0
        return whole

    @seen.setter
    def seen(self, seen: dict[int, str]) -> None:
        self.seen_base, self.id_log, self.logged = seen, None, 0

    @property
    def caps(self) -> dict[str, CapRow]:
        """Per capped rule, its flat windows (CapRow). Held by slot, a new dict each read."""
        ids = self.cap_ids
        if not ids:
            return self.caps_held
        out: dict[str, CapRow] = {}
        for i, row in enumerate(self.cap_rows):
            if isinstance(row, SmallRow):
                out[ids[i]] = flat(row)
            elif row is not None:
                out[ids[i]] = row
        return out

    @caps.setter
    def caps(self, caps: dict[str, CapRow]) -> None:
        self.caps_held, self.cap_ids, self.cap_rows = caps, (), ()

    def cap_slots(self, ids: tuple[str, ...]) -> tuple[HeldRow | None, ...]:
        """The rows of `ids` by slot, holding the windows by slot from now on.

        Rules without a cap in `ids` (possible only if the rules changed under the same
        version) keep their rows in slots after those of `ids`.
        """
        if ids and self.cap_ids is ids:
            return self.cap_rows
        held = self.caps
        rows = [held.get(rule) for rule in ids]
        extra = [rule for rule in held if rule not in ids]
        if extra:
            rows += [held[rule] for rule in extra]
            ids = ids + tuple(extra)
        self.caps_held, self.cap_ids, self.cap_rows = _NO_CAPS, ids, tuple(rows)
        return self.cap_rows

    @property
    def once(self) -> dict[str, dict[str, float]]:
        """Per once_per rule: key hash -> the time it was credited at."""
        return self.folded.once

    @once.setter
    def once(self, once: dict[str, dict[str, float]]) -> None:
        base = self.folded
        self.folded = Folded(base.sums, base.times, base.recent, once, base.counters)

    @property
    def counters_base(self) -> dict[str, tuple[float, ...]]:
        """Counter times before the count log's (see counters)."""
        return self.folded.counters

    @counters_base.setter
    def counters_base(self, counters: dict[str, tuple[float, ...]]) -> None:
        base = self.folded
        self.folded = Folded(base.sums, base.times, base.recent, base.once, counters)

    @property
    def counters(self) -> dict[str, tuple[float, ...]]:
        """Per counting trigger, the times of its latest matching events, oldest first."""
        log, n = self.count_log, self.counted
        if log is None or n == 0:
            return self.counters_base
        whole = dict(self.counters_base)
        whole[log.trigger_id] = count_view(whole.get(log.trigger_id, ()), log, n)
        return whole

    @counters.setter
    def counters(self, counters: dict[str, tuple[float, ...]]) -> None:
        self.counters_base, self.count_log, self.counted = counters, None, 0

    def copy(self) -> "LeadState":
        """A shallow copy; the engine replaces (never mutates) the containers it changes."""
        return LeadState(
            self.version,
            self.traits,
            self.stage,
            self.score_ref,
            self.t_ref,
            self.fit_points,
            self.fit_grade,
            None,
            self.seen_base,
            self.caps_held,
            None,
            None,
            (),
            self.half_life,
            None,
            self.id_log,
            self.logged,
            self.credit_log,
            self.credited,
            self.folded,
            self.count_log,
            self.counted,
            self.cap_ids,
            self.cap_rows,
        )


_FEW: Final = 4  # logged credits folded one by one; more go through _fold_many's slots


@mypyc_attr(acyclic=True)
class _Running:
    """One rule's running sum and the time it is held at, during _fold_many (native floats:
    no float object made and freed per credit, as a list of floats did)."""

    def __init__(self, rule_id: str, value: float, since: float) -> None:
        self.rule_id = rule_id
        self.value = value
        self.since = since


def _fold_many(
    items: list[Contribution], n: int, h: float, sums: dict[str, float], times: dict[str, float]
) -> None:
    """LeadState.fold for many credits: each rule's running sum and time in a slot, written
    back once per rule (the same arithmetic per rule, in the same order).

    The slots are a list searched by comparing rule ids: a log holds credits of a few
    rules, and each compare is a pointer or a length check where a dict lookup costs
    ~100 instructions per credit."""
    slots: list[_Running] = []
    for i in range(n):
        c = items[i]
        rule_id, points, at = c.rule_id, c.points, c.at
        slot: _Running | None = None
        for held_slot in slots:
            if held_slot.rule_id == rule_id:
                slot = held_slot
                break
        if slot is None:
            held = times.get(rule_id)
            if held is None:
                slots.append(_Running(rule_id, points, at))
                continue
            slot = _Running(rule_id, sums[rule_id], held)
            slots.append(slot)
        since = slot.since
        if at >= since:  # decay.add_credit, inline
            slot.value = slot.value * halved((since - at) / h) + points
            slot.since = at
        else:
            slot.value = slot.value + points * halved((at - since) / h)
    for slot in slots:
        sums[slot.rule_id] = slot.value
        times[slot.rule_id] = slot.since


def new_state() -> LeadState:
    return LeadState()


# The stored layout (a dict with short keys; empty parts are left out):
#   v version, st stage, s score_ref, t t_ref, h half_life, tr traits, fp fit points,
#   fg fit grade ("" for D), r per-rule sums as of t_ref,
#   i applied ids: [week, digests, week, digests, ...] (see dedupe.py),
#   w cap windows: {rule: [closed or null, window, [ms before t_ref, ...], window, ...]},
#   o once_per keys: {rule: {key: at}}, k trigger times: {trigger: [ms before t_ref, ...]},
#   x recent credits: [[event_id, at, (1 if displaced,) rule, points, rule, points...], ...]
# Times in cap windows and trigger counters are whole milliseconds before t_ref (9 digits
# instead of 17): they are only compared and ordered, and a credit withdrawn at a
# millisecond-rounded time is off by under 1e-9 of its points. Flat lists of numbers keep
# both the JSON and the conversion per element cheap. States written before this layout
# ("d" ids with 11-character digests, "c" windows keyed by strings) still load.


# round() called from compiled code is a generic call of the builtin (its __round__ looked up
# and bound on every call, and round(x, 9) formats and parses decimal digits): ~2-4k
# instructions, several per saved state. These give the same results natively.
_TWO52: Final = 2.0**52
_ROUND9_BELOW: Final = 2.0**52 / 1e9  # |v| * 1e9 and its integer part exact as doubles
_HALF_ULP: Final = 2.3e-16  # > 2**-53, the relative rounding error of a product


def _round_int(x: float) -> int:
    """round(x): the nearest integer, halves to even (exact: x - floor(x) is exact here)."""
    a = abs(x)
    if not a < _TWO52:
        return round(x)  # huge, infinite or NaN: round's own result or error
    f = floor(a)
    d = a - float(f)
    if d > 0.5 or (d == 0.5 and f & 1):
        f += 1
    return -f if x < 0.0 else f


def _round9(v: float) -> float:
    """round(v, 9), bit for bit: the double nearest the nearest multiple of 1e-9 to v.

    round(v, 9) is correctly rounded (dtoa): v's exact value rounded to 9 decimals, halves
    to even, then read back as the nearest double. r / 1e9 with the integer r exact is that
    same nearest double. The product p = |v| * 1e9 is within 2**-53 * p of the exact one, so
    unless p's fraction is that close to a half, the exact product rounds to the same r;
    if it is, round() decides.
    """
    a = abs(v)
    if a < _ROUND9_BELOW:
        p = a * 1e9
        f = float(floor(p))
        d = p - f  # exact
        if abs(d - 0.5) > p * _HALF_ULP:
            return copysign((f + 1.0 if d > 0.5 else f) / 1e9, v)
    return round(v, 9)


def _recent_to_list(recent: tuple[Contribution, ...]) -> list[list[Any]]:
    """Credits grouped per (event, time): [event_id, at, (1 if displaced,) rule, points, ...].

    Groups in the order they first appear. There are at most RECENT_CREDITS credits, so a
    group is found by comparing with each group's first credit (no tuple keys to hash), and
    usually it is the previous credit's group (an event's credits are booked together).
    """
    firsts: list[Contribution] = []
    rows: list[list[Any]] = []
    row: list[Any] = []
    last: Contribution | None = None
    for c in recent:
        eid, at, displaced = c.event_id, c.at, c.displaced
        if last is None or not (
            eid == last.event_id and at == last.at and displaced == last.displaced
        ):
            found = -1
            for j, first in enumerate(firsts):
                if eid == first.event_id and at == first.at and displaced == first.displaced:
                    found = j
                    break
            if found < 0:
                row = [eid, at, 1] if displaced else [eid, at]
                rows.append(row)
                firsts.append(c)
            else:
                row = rows[found]
        row.append(c.rule_id)
        row.append(c.points)
        last = c
    return rows


def _recent_from_list(rows: list[list[Any]]) -> tuple[Contribution, ...]:
    out = []
    for row in rows:
        eid, at = str(row[0]), float(row[1])
        displaced = row[2].__class__ is not str
        start = 3 if displaced else 2
        for i in range(start, len(row), 2):
            out.append(credit(str(row[i]), float(row[i + 1]), eid, at, displaced))
    return tuple(out)


def state_to_dict(s: LeadState) -> dict[str, Any]:
    """A JSON-serializable dict with short keys; empty parts are left out."""
    t_ref, h = s.t_ref, s.half_life
    out: dict[str, Any] = {"v": s.version, "st": s.stage, "s": s.score_ref, "t": t_ref, "h": h}
    if s.traits:
        out["tr"] = s.traits
    if s.fit_points:
        out["fp"] = s.fit_points
    if s.fit_grade != "D":
        out["fg"] = s.fit_grade
    if s.sums:
        # Per-rule sums are written as of t_ref, one number each, with nine decimals: they
        # only explain the score, which is kept exact.
        # (A rule credited at t_ref needs no decay: halved(0.0) is 1.0.)
        sums, at = s.sums, s.sum_times
        r: dict[str, float] = {}
        for rule, v in sums.items():
            since = at[rule]
            r[rule] = _round9(v if since == t_ref else v * halved((since - t_ref) / h))
        out["r"] = r
    seen = s.seen
    if seen:
        ids: list[Any] = []
        for week, joined in seen.items():
            ids.append(week)
            ids.append(b2a_base64(joined.encode("latin-1"), newline=False).decode("ascii"))
        out["i"] = ids
    caps = s.caps
    if caps:
        windows: dict[str, list[Any]] = {}
        for rule, flat in caps.items():
            closed, i, size = flat[0], 1, len(flat)
            row: list[Any] = [None if closed == NO_CLOSED else int(closed)]
            while i < size:
                end = i + 2 + int(flat[i + 1])
                ms: list[int] = []
                for j in range(i + 2, end):
                    ms.append(_round_int((t_ref - flat[j]) * 1000))
                row.append(int(flat[i]))
                row.append(ms)
                i = end
            windows[rule] = row
        out["w"] = windows
    if s.once:
        out["o"] = s.once
    counters = s.counters
    if counters:
        out["k"] = {
            trigger: [_round_int((t_ref - t) * 1000) for t in times]
            for trigger, times in counters.items()
        }
    if s.recent:
        out["x"] = _recent_to_list(s.recent)
    return out


def flat_of(windows: CapWindows) -> CapRow:
    """The flat tuple the state holds for a rule's (closed, {window: times})."""
    closed, held = windows
    out: list[float] = [NO_CLOSED if closed is None else float(closed)]
    for w, times in held.items():
        out.append(float(w))
        out.append(float(len(times)))
        out.extend(times)
    return tuple(out)


def windows_of(flat: CapRow) -> CapWindows:
    """The (closed, {window: times}) a flat cap tuple stands for."""
    closed = flat[0]
    held: dict[int, tuple[float, ...]] = {}
    i, size = 1, len(flat)
    while i < size:
        n = int(flat[i + 1])
        held[int(flat[i])] = flat[i + 2 : i + 2 + n]
        i += 2 + n
    return (None if closed == NO_CLOSED else int(closed)), held


def _windows(t_ref: float, rows: Mapping[str, list[Any]]) -> dict[str, CapRow]:
    caps: dict[str, CapRow] = {}
    for rule, row in rows.items():
        closed = row[0]
        flat: list[float] = [NO_CLOSED if closed is None else float(int(closed))]
        for i in range(1, len(row), 2):
            times = row[i + 1]
            flat.append(float(int(row[i])))
            flat.append(float(len(times)))
            flat.extend([t_ref - ms / 1000 for ms in times])
        caps[rule] = tuple(flat)
    return caps


def _legacy_windows(t_ref: float, rows: Mapping[str, Any]) -> dict[str, CapRow]:
    """Cap windows as written before the flat layout: {rule: [closed, {"w": [ms, ...]}]}."""
    return {
        rule: flat_of(
            (
                closed,
                {
                    int(w): tuple(t_ref - ms / 1000 for ms in ms_list)
                    for w, ms_list in held.items()
                },
            )
        )
        for rule, (closed, held) in rows.items()
    }


def _ids(text: object) -> str:
    """A week's digests from their stored base64 (8 characters, 6 bytes each)."""
    if not isinstance(text, str) or len(text) % DIGEST_WIDTH:
        raise ValueError(f"not a string of {DIGEST_WIDTH}-character digests: {text!r}")
    return a2b_base64(text, strict_mode=True).decode("latin-1")


def _legacy_ids(weeks: Mapping[str, str]) -> dict[int, str]:
    """Applied ids as written before 8-character digests: 11 characters each, truncated."""
    return {
        int(week): _ids("".join(joined[i : i + DIGEST_WIDTH] for i in range(0, len(joined), 11)))
        for week, joined in weeks.items()
    }


def state_from_dict(d: Mapping[str, Any]) -> LeadState:
    """The inverse of state_to_dict; raises ValueError on anything it did not write."""
    try:
        t_ref = float(d["t"])
        ids = d.get("i")
        seen = (
            {int(ids[i]): _ids(ids[i + 1]) for i in range(0, len(ids), 2)}
            if ids is not None
            else _legacy_ids(d.get("d", {}))
        )
        windows = d.get("w")
        caps = (
            _windows(t_ref, windows)
            if windows is not None
            else _legacy_windows(t_ref, d.get("c", {}))
        )
        traits = d.get("tr")
        sums = {rule: float(v) for rule, v in d.get("r", {}).items()}
        return LeadState(
            str(d["v"]),
            dict(traits) if traits else {},
            str(d["st"]),
            float(d["s"]),
            t_ref,
            float(d.get("fp", 0.0)),
            str(d.get("fg") or "D"),
            sums,
            seen,
            caps,
            {rule: dict(keys) for rule, keys in d.get("o", {}).items()},
            {
                trigger: tuple([t_ref - ms / 1000 for ms in offsets])
                for trigger, offsets in d.get("k", {}).items()
            },
            _recent_from_list(d.get("x") or []),
            float(d["h"]),
            dict.fromkeys(sums, t_ref),
        )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        raise ValueError(f"not a leadscore state: {error!r}") from error
