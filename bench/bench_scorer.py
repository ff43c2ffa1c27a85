"""Scorer throughput and state size, measured in one run beside a decode-only baseline.

    python bench/bench_scorer.py [--events 300000] [--leads 2000]

The events are synthetic but shaped like production traffic: mostly page views (some on
pricing/product/careers pages, some long reads), email opens and clicks, video progress,
downloads, a few form submits and identifies, with UUID event ids and millisecond times,
spread over ~3 weeks per lead and arriving slightly out of order.
"""

import argparse
import gc
import json
import platform
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scorer import (  # noqa: E402
    LeadState,
    ScoringEvent,
    apply_event,
    load_rules,
    new_state,
    state_from_dict,
    state_to_dict,
)

RULES_PATH = Path(__file__).resolve().parents[1] / "deploy" / "rules.toml"
# Issue #3: applying events to in-memory states with the default rules, at least 200,000
# events/s on one core ("apply_event alone" below, beside the decode-only baseline).
TARGET_EVENTS_PER_S = 200_000
T0 = 1_795_000_000.0
PATHS = ["/", "/blog/post", "/product/engine", "/product/api", "/pricing", "/careers", "/docs"]


def _wire_event(rng: random.Random, lead: str, at: float) -> dict[str, Any]:
    kind = rng.choices(
        ["page_view", "email_open", "email_click", "video_progress", "download", "form_submit"],
        weights=[70, 10, 6, 8, 4, 2],
    )[0]
    props: dict[str, Any] = {}
    if kind == "page_view":
        props = {
            "url": "https://www.acme.test" + rng.choice(PATHS) + "?utm_source=news",
            "dwell_ms": rng.randint(500, 90_000),
            "referrer": "https://news.test/",
        }
    elif kind == "email_open":
        props = {"campaign_id": "c-17"} | ({"machine": True} if rng.random() < 0.3 else {})
    elif kind == "email_click":
        props = {"campaign_id": "c-17", "url": "https://www.acme.test/pricing"}
    elif kind == "video_progress":
        props = {"video_id": f"v{rng.randint(1, 5)}", "percent": rng.choice([25, 50, 75, 100])}
    elif kind == "download":
        props = {"asset_id": f"a{rng.randint(1, 4)}", "asset_type": "whitepaper"}
    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "lead_id": lead,
        "type": kind,
        "at": round(at, 3),
        "properties": props,
        "traits": {},
    }


def make_wire(n: int, leads: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    clocks = {f"lead-{i}": T0 + rng.uniform(0, 86_400) for i in range(leads)}
    out = []
    for _ in range(n):
        lead = f"lead-{rng.randrange(leads)}"
        clocks[lead] += rng.expovariate(1 / 36_000)  # ~10 h between events of one lead
        jitter = -rng.expovariate(1 / 600) if rng.random() < 0.1 else 0.0  # 10% late
        out.append(json.dumps(_wire_event(rng, lead, clocks[lead] + jitter)))
    return out


def frozen(wire: list[str]) -> list[str]:
    """`wire`, out of the cyclic collector's way: the input is the harness's own, and left
    as it is, every full pass in the measured loops visits each of its strings (a cache miss
    each: 15-25 ms a pass for 300k events here, charged to apply_event). The worker holds
    no such list, and freezes what it has at start-up (streams/gc_tuning.py); the bench
    does the same once its input is built. The collector's thresholds stay the defaults.
    """
    gc.collect()
    gc.freeze()
    return wire


def decode(line: str) -> tuple[str, ScoringEvent]:
    d = json.loads(line)
    return d["lead_id"], ScoringEvent(
        d["event_id"], d["type"], d["at"], d["properties"], d["traits"]
    )


def run_baseline(wire: list[str]) -> float:
    start = time.process_time()
    for line in wire:
        decode(line)
    return time.process_time() - start


def run_scoring(wire: list[str]) -> tuple[float, dict[str, LeadState]]:
    """Decode each wire event and apply it to its lead's in-memory state."""
    rules = load_rules(RULES_PATH)
    states: dict[str, LeadState] = {}
    start = time.process_time()
    for line in wire:
        lead, event = decode(line)
        states[lead] = apply_event(states.get(lead) or new_state(), event, rules).state
    return time.process_time() - start, states


def gc_seconds_in_scoring(wire: list[str]) -> tuple[float, float, int]:
    """(loop CPU seconds, CPU seconds inside the cyclic GC, collections) of one run_scoring.

    Timed with gc.callbacks, so it needs no second loop with the collector off, whose
    difference drowns in the noise of a shared machine.
    """
    spent: list[float] = []
    started = [0.0]

    def timer(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            spent.append(time.process_time() - started[0])

    gc.callbacks.append(timer)
    try:
        seconds = run_scoring(wire)[0]
    finally:
        gc.callbacks.remove(timer)
    return seconds, sum(spent), len(spent)


# Diagnostic: as many events per lead over this few leads, whose states then stay in cache.
# With 2,000 leads a lead's state is usually cold when its next event comes; the difference
# between the two is what memory (and whoever else shares it on the host) costs the apply.
WARM_LEADS = 100


def apply_in_cache(n: int, rounds: int) -> float:
    """Median CPU seconds of apply_event alone (paired rounds) for n events of WARM_LEADS."""
    wire = frozen(make_wire(n, WARM_LEADS))
    paired = sorted(run_scoring(wire)[0] - run_baseline(wire) for _ in range(rounds))
    return max(paired[len(paired) // 2], 1e-9)


def run_stored(wire: list[str]) -> float:
    """As the stream worker does it: state JSON in, apply, state JSON out."""
    rules = load_rules(RULES_PATH)
    table: dict[str, str] = {}
    start = time.process_time()
    for line in wire:
        lead, event = decode(line)
        stored = table.get(lead)
        state = state_from_dict(json.loads(stored)) if stored else new_state()
        table[lead] = json.dumps(state_to_dict(apply_event(state, event, rules).state))
    return time.process_time() - start


def typical_size(rules_path: Path = RULES_PATH) -> tuple[int, int]:
    """JSON bytes of a lead after 50 events, median and max over 200 synthetic leads."""
    rules = load_rules(rules_path)
    sizes = []
    for seed in range(200):
        state = new_state()
        for line in make_wire(50, 1, seed=seed):
            state = apply_event(state, decode(line)[1], rules).state
        sizes.append(len(json.dumps(state_to_dict(state))))
    sizes.sort()
    return sizes[len(sizes) // 2], sizes[-1]


def per_step_costs(wire: list[str]) -> dict[str, float]:
    """Microseconds of CPU per call of the pieces an event costs, same run (best of 5)."""
    import timeit

    from scorer.credits import credit
    from scorer.dedupe import digest
    from scorer.outputs import update

    rules = load_rules(RULES_PATH)
    state = new_state()
    for line in make_wire(30, 1, seed=5):
        state = apply_event(state, decode(line)[1], rules).state
    props = {"url": "https://www.acme.test/pricing?utm_source=news", "dwell_ms": 45_000}
    view = ScoringEvent(
        "0f8fad5b-d9cb-469f-a165-00000000000a", "page_view", state.t_ref + 60, props
    )
    click = ScoringEvent("0f8fad5b-d9cb-469f-a165-00000000000b", "email_click", state.t_ref, {})
    stored = state_to_dict(state)
    text = json.dumps(stored)
    names = {
        "decode one event (json.loads + ScoringEvent)": lambda: decode(wire[0]),
        "apply_event: pricing page view (3 capped rules, path, counting trigger)": lambda: (
            apply_event(state, view, rules)
        ),
        "apply_event: email click (one plain rule)": lambda: apply_event(state, click, rules),
        "event id digest (BLAKE2b, first 6 bytes)": lambda: digest(view.event_id),
        "LeadState.copy()": state.copy,
        "one Contribution": lambda: credit("pricing", 5.0, "e", 1.0, False),
        "one Update": lambda: update(state, 1.0, "hot", 1.0, "D", (), None, False, ()),
        "dict copy with one key replaced (10 keys)": lambda: {**stored, "s": 1.0},
        "state_to_dict (30-event lead)": lambda: state_to_dict(state),
        "state_from_dict (30-event lead)": lambda: state_from_dict(stored),
        "json.dumps of that state": lambda: json.dumps(stored),
        "json.loads of that state": lambda: json.loads(text),
    }
    return {
        name: min(timeit.repeat(fn, number=5_000, repeat=5)) / 5_000 * 1e6
        for name, fn in names.items()
    }


def _compiled() -> bool:
    from importlib.machinery import ExtensionFileLoader

    import scorer.engine

    spec = scorer.engine.__spec__
    return spec is not None and isinstance(spec.loader, ExtensionFileLoader)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--leads", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5, help="rounds (shared machines)")
    # CPU time of this process, not wall time: the bench runs on shared, loaded machines.
    args = parser.parse_args()
    n = args.events
    wire = frozen(make_wire(n, args.leads))
    # The two loops take turns, so each round's pair ran under the same load; the target line
    # uses the median of the rounds' differences, "best" the fastest of each loop (min - min).
    rounds = [(run_baseline(wire), run_scoring(wire)[0]) for _ in range(args.repeat)]
    baseline = min(b for b, _ in rounds)
    scoring = min(s for _, s in rounds)
    paired = sorted(s - b for b, s in rounds)
    apply_median = max(paired[len(paired) // 2], 1e-9)
    diag = min(args.repeat, 3)  # the diagnostic loops below: best of 3 as before
    gc.disable()  # diagnostic only: how much of the loop is the cyclic garbage collector
    try:
        scoring_no_gc = min(run_scoring(wire)[0] for _ in range(diag))
    finally:
        gc.enable()
    _, in_gc, collections = min(gc_seconds_in_scoring(wire) for _ in range(diag))
    # as many events per lead as the main loop's: the same histories, 20 times fewer leads
    warm_n = max(n * WARM_LEADS // args.leads, 1)
    warm = apply_in_cache(warm_n, diag)
    stored = min(run_stored(wire) for _ in range(diag))
    apply_only = max(scoring - baseline, 1e-9)
    median, largest = typical_size()
    interpreter = Path(sys.executable).resolve()
    print(
        f"python {platform.python_version()} {platform.machine()} ({interpreter}):"
        f" {n} events, {args.leads} leads,"
        f" scorer {'compiled (mypyc)' if _compiled() else 'pure Python'}"
    )
    print(f"decode only (json.loads -> ScoringEvent):   {n / baseline:>9,.0f} events/s")
    print(f"decode + apply_event (states in memory):    {n / scoring:>9,.0f} events/s")
    print(f"apply_event alone (difference of the two):  {n / apply_only:>9,.0f} events/s (best)")
    print(
        f"apply_event alone, median of {args.repeat} paired rounds: {n / apply_median:>9,.0f}"
        f" events/s ({', '.join(f'{d / n * 1e6:.2f}' for d in paired)} us/event)"
    )
    print(f"decode + state JSON load/apply/dump:        {n / stored:>9,.0f} events/s")
    no_gc = max(scoring_no_gc - baseline, 1e-9)
    print(f"apply_event alone, cyclic GC off (diag.):   {n / no_gc:>9,.0f} events/s")
    print(
        f"cyclic GC inside decode + apply_event:      {in_gc / n * 1e6:9.2f} us/event"
        f" ({collections} collections, fastest of {diag} loops)"
    )
    print(
        f"apply_event alone, {WARM_LEADS} leads (diag.):       {warm_n / warm:>9,.0f} events/s"
        f" ({warm / warm_n * 1e6:.2f} us/event; {warm_n:,} events, as many per lead: states"
        " that stay in cache)"
    )
    print(f"state JSON after 50 events: median {median} B, max {largest} B (200 leads)")
    print(f"apply_event alone / decode only: {baseline / apply_only:.2f}")
    rate = n / apply_median
    print(
        f"TARGET (issue #3): apply_event alone (median of paired rounds) {rate:,.0f} events/s"
        f" ({apply_median / n * 1e6:.1f} us/event) vs >= {TARGET_EVENTS_PER_S:,} events/s"
        f" ({1e6 / TARGET_EVENTS_PER_S:.1f} us/event), {args.leads} leads, default rules:"
        f" {'MET' if rate >= TARGET_EVENTS_PER_S else 'NOT MET'}"
    )
    print(f"apply_event alone: {apply_only / n * 1e6:.1f} us/event; per step (us, same run):")
    for name, micros in per_step_costs(wire).items():
        print(f"  {micros:6.2f}  {name}")


if __name__ == "__main__":
    main()
