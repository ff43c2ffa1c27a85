"""The Faust application: identity routing, scoring, decay timers.

Topology (see README):
  events-*  --(identity, keyed by anonymous id)-->  scoring-input  --(scoring, keyed
  by profile)-->  lead-scores, lead-stage-changes
Correctness comes from idempotent state (applied event ids in the scorer state,
deterministic change ids), not from Kafka transactions.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import faust
from mode import CrashingSupervisor

from leadscore.settings import Settings
from schemas import topics
from scorer import (
    LeadState,
    Rules,
    next_crossing,
    state_from_dict,
)
from streams import commands
from streams.conversion import decoded, outcome_traits
from streams.fetching import App
from streams.profile import SCORE, saved, step
from streams.routing import partition_of
from streams.schedule import CrossingSchedule
from streams.sending import Sender
from streams.state_cache import StateCache
from streams.tables import OutboxTable

log = logging.getLogger("leadscore.worker")

# How often due decay crossings are turned into ticks: well inside the 1 s promise.
TIMER_INTERVAL_S = 0.2


# A crossing already in the past when it is scheduled means we are reading a backlog (or
# historical events): wait this long for the lead's next queued event before demoting, so
# catching up gives the same stage changes as live processing would have.
PAST_DUE_GRACE_S = 2.0


def fire_time(due: float | None, now: float) -> float | None:
    """When the timer should act on a crossing due at `due` (see PAST_DUE_GRACE_S)."""
    if due is None:
        return None
    return due if due >= now else now + PAST_DUE_GRACE_S


@dataclass
class Pipeline:
    app: faust.App
    schedule: CrossingSchedule = field(default_factory=CrossingSchedule)


def faust_settings(settings: Settings, store: str | None = None) -> dict[str, Any]:
    """The Faust configuration of the worker (the benchmarks' empty agent uses it too)."""
    return dict(
        broker=f"kafka://{settings.kafka_bootstrap}",
        store=store or settings.worker_store,
        datadir=str(settings.var_dir / "worker"),
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        key_serializer="raw",
        value_serializer="json",
        producer_acks=-1,
        # Without linger every send is its own produce request (aiokafka's protocol is pure
        # Python, ~1 ms of CPU per response here). This linger now only batches the identity
        # table's writes: the worker's other writes linger in streams/outbox.py (also 50 ms).
        producer_linger=0.05,
        # aiokafka makes a send wait while its partition's batch is full and not yet drained
        # (one request in flight per broker), so 16 KiB batches (~13 table values) stalled
        # the agent; 256 KiB ones let it run on (+25% events/s, bench/RESULTS.md).
        producer_max_batch_size=262_144,
        # A killed worker's partitions move to the others after this long (Faust's default is
        # 60 s, too long for "sales hears within seconds"); heartbeats well inside it.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        # Start consuming soon after an assignment: the broker has no initial rebalance delay.
        stream_recovery_delay=1.0,
        # No standby replicas: a promoted standby has been seen to miss the last changelog
        # writes of a killed worker (an event's points lost). Recovery reads the changelog.
        table_standby_replicas=0,
    )


def create_app(settings: Settings, rules: Rules, store: str | None = None) -> Pipeline:
    prefix = settings.topic_prefix
    app = App(prefix + topics.WORKER_APP, **faust_settings(settings, store))
    pipeline = Pipeline(app)
    # Values arrive as bytes and are read with orjson here (streams/conversion.py `decoded`):
    # Faust's serializer registry cost ~7% of an event, and a value that is not a JSON
    # object is logged and skipped rather than handed to an agent.
    event_topics = app.topic(
        *topics.all_event_topics(prefix), key_type=bytes, value_serializer="raw"
    )
    scoring_input = app.topic(prefix + topics.SCORING_INPUT, key_type=bytes, value_serializer="raw")
    outcomes = app.topic(prefix + topics.LEAD_OUTCOMES, key_type=bytes, value_serializer="raw")
    scores_out, changes_out = prefix + topics.LEAD_SCORES, prefix + topics.LEAD_STAGE_CHANGES
    partitions = settings.partitions
    identity = app.Table(topics.IDENTITY_TABLE, default=None, partitions=partitions)
    profiles = app.tables.add(
        OutboxTable(
            app, name=topics.PROFILES_TABLE, default=None, partitions=partitions,
            beacon=app.tables.beacon,
        )
    )
    sender = Sender(app.outbox)
    states = StateCache()
    profiles.use_outbox(app.outbox, lambda profile, entry: saved(profile, entry, states))

    async def route(profile: str, command: dict[str, Any]) -> None:
        await sender.send(
            scoring_input.get_topic_name(),
            profile.encode(),
            command,
            partition_of(profile, partitions),
        )

    async def apply(profile: str, command: dict[str, Any]) -> None:
        """One command on one profile; the caller's current event is in its partition."""
        # The store itself: Table.get reads a present key twice and calls a sensor. Its
        # value may hold the LeadState itself, serialized at the next commit (tables.py).
        entry = profiles.data.get(profile)
        result = step(profile, entry, command, rules, time.time(), states, serialize=False)
        for kind, message in result.emit:
            await sender.send(
                scores_out if kind == SCORE else changes_out, profile.encode(), message
            )
        for target, forwarded in result.forward:
            await route(target, forwarded)
        if result.entry is not None:
            profiles[profile] = result.entry
        if result.reschedule:
            pipeline.schedule.set(profile, fire_time(result.crossing, time.time()))

    async def deliver(profile: str, command: dict[str, Any], partition: int) -> None:
        # When the profile lives in the partition being read (events of a lead without a
        # device id, of a device not yet identified), apply it here: the hop through
        # scoring-input would land in the same partition of this same worker, and costs a
        # send and a second Faust delivery. Otherwise the profile's own partition applies it.
        if partition_of(profile, partitions) == partition:
            await apply(profile, command)
        else:
            await route(profile, command)

    # A crash in an agent stops the worker (and `leadscore run`) instead of leaving a live
    # process with a dead agent; offsets of the failed event are not committed.
    @app.agent(event_topics, supervisor_strategy=CrashingSupervisor)
    async def resolve_identity(stream: faust.StreamT[bytes]) -> None:
        async for raw in stream:
            event = decoded(raw, "event")
            if event is None:
                continue
            partition = stream.current_event.message.partition  # type: ignore[union-attr]
            anonymous, lead = event.get("anonymous_id"), event.get("lead_id")
            if not anonymous:
                await deliver(lead, commands.event_command(event), partition)
                continue
            known = identity.get(anonymous)
            if lead and known != lead:
                identity[anonymous] = lead
                if known is None:
                    # In A's own partition: A's earlier events are applied first.
                    await deliver(
                        commands.anonymous_profile(anonymous), commands.merge_out(lead), partition
                    )
                known = lead
            profile = known or commands.anonymous_profile(anonymous)
            await deliver(profile, commands.event_command(event), partition)

    @app.agent(outcomes, supervisor_strategy=CrashingSupervisor)
    async def apply_outcomes(stream: faust.StreamT[bytes]) -> None:
        async for raw in stream:
            outcome = decoded(raw, "outcome")
            if outcome is None:
                continue
            try:
                traits, at = outcome_traits(outcome, time.time())
            except (KeyError, TypeError, ValueError) as exc:
                log.error("undecodable outcome skipped: %r", exc)
                continue
            await route(outcome["lead_id"], commands.traits(traits, at))

    @app.agent(scoring_input, supervisor_strategy=CrashingSupervisor)
    async def score(stream: faust.StreamT[bytes]) -> None:
        async for key, raw in stream.items():
            command = decoded(raw, "command")
            if command is None:
                continue
            await apply(key.decode() if isinstance(key, bytes) else str(key), command)

    rebuild = {"needed": True}

    @app.on_rebalance_complete.connect
    async def _on_rebalance(sender: object, **kwargs: Any) -> None:
        rebuild["needed"] = True

    @app.timer(interval=TIMER_INTERVAL_S)
    async def decay_timer() -> None:
        if rebuild["needed"] and app.tables.recovery.completed.is_set():
            rebuild["needed"] = False
            rebuild_schedule(pipeline, profiles, rules)
        for profile, due in pipeline.schedule.pop_due(time.time()):
            await route(profile, commands.tick(due))

    return pipeline


def rebuild_schedule(pipeline: Pipeline, profiles: Any, rules: Rules) -> None:
    """After a restart or rebalance: the schedule is derived from the table alone."""
    pipeline.schedule.clear()
    for profile, entry in profiles.items():
        state = entry.get("state") if entry else None
        if state is not None:
            if not isinstance(state, LeadState):
                state = state_from_dict(state)
            due = next_crossing(state, rules)
            pipeline.schedule.set(profile, fire_time(due, time.time()))
    log.info("decay schedule rebuilt: %d profiles due later", len(pipeline.schedule))


__all__ = ["Pipeline", "create_app", "faust_settings", "rebuild_schedule"]
