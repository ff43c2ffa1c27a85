-- leadscore tables. Applied in order by sinks.schema.ensure_schema; every statement is
-- idempotent (IF NOT EXISTS) so a crash half-way through a file is repaired by the next start.
-- `{db}` is replaced by the configured database name.
--
-- Every table the sink writes carries _topic/_partition/_offset: the Kafka coordinates of the
-- row. They make exactly-once checkable (one row per offset) and let the sink find, after a
-- crash, which offsets of an uncommitted range already landed (see sinks/recovery.py).
-- non_replicated_deduplication_window keeps the hashes of the last 1000 insert blocks, so a
-- retried insert with the same insert_deduplication_token is dropped (verified on chDB 26.9).
-- Strings are '' rather than NULL when absent: ClickHouse guidance (Nullable costs a column).

CREATE DATABASE IF NOT EXISTS {db};

-- Every accepted event. Ordered by lead then time: the analyst queries are per-lead timelines
-- ("what did this lead see before turning hot"), and per type/day scans still prune by month.
-- Monthly partitions: the usual ClickHouse advice for time series; retention drops whole months.
CREATE TABLE IF NOT EXISTS {db}.events
(
    event_id      UUID,
    type          LowCardinality(String),
    lead_id       String,
    anonymous_id  String,
    occurred_at   DateTime64(3, 'UTC'),
    received_at   DateTime64(3, 'UTC'),
    url           String,
    path          String,
    referrer      String,
    utm_source    LowCardinality(String),
    utm_medium    LowCardinality(String),
    utm_campaign  String,
    campaign_id   String,
    asset_id      String,
    video_id      String,
    -- NULL, not 0, when the event has no such measure: 0% watched is a real value.
    percent       Nullable(Float32),
    dwell_ms      Nullable(UInt64),
    flags         Array(LowCardinality(String)),
    properties    String,  -- raw JSON, for keys sites add themselves
    traits        String,  -- raw JSON (identify events)
    context       String,  -- raw JSON
    _topic        LowCardinality(String),
    _partition    UInt32,
    _offset       UInt64,
    _inserted_at  DateTime64(3, 'UTC') DEFAULT now64(3),
    -- recent offsets live in recent parts: the minmax index makes the recovery scan cheap.
    INDEX offset_minmax _offset TYPE minmax GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (lead_id, anonymous_id, occurred_at)
SETTINGS non_replicated_deduplication_window = 1000;

-- Every score update with the rule contributions that produced it. Ordered by lead and time:
-- "latest score per lead" (argMax) and a lead's score history are the reads.
CREATE TABLE IF NOT EXISTS {db}.lead_scores
(
    lead_id        String,
    score          Float64,
    stage          LowCardinality(String),
    at             DateTime64(3, 'UTC'),
    rules_version  LowCardinality(String),
    fit_grade      LowCardinality(String),
    identified     Bool,
    event_id       String,
    -- seconds for the score to halve; the reports decay `score` from `at` to now() with it.
    half_life_s    Float64,
    contributions  Array(Tuple(rule_id String, points Float64, event_id String)),
    _topic         LowCardinality(String),
    _partition     UInt32,
    _offset        UInt64,
    _inserted_at   DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX offset_minmax _offset TYPE minmax GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (lead_id, at)
SETTINGS non_replicated_deduplication_window = 1000;

-- Stage changes. ReplacingMergeTree on change_id as a second line of defence: the upstream id is
-- deterministic, so a re-emitted change (worker replay after a crash) collapses on merge / FINAL.
-- Ordered by day then lead: the funnel-by-day and hand-off reports scan by time.
CREATE TABLE IF NOT EXISTS {db}.lead_stage_changes
(
    change_id      String,
    lead_id        String,
    from_stage     LowCardinality(String),
    to_stage       LowCardinality(String),
    score          Float64,
    at             DateTime64(3, 'UTC'),
    cause          LowCardinality(String),
    event_id       String,
    rules_version  LowCardinality(String),
    fit_grade      LowCardinality(String),
    identified     Bool,
    rule_id        String,
    contributions  Array(Tuple(rule_id String, points Float64, event_id String)),
    _topic         LowCardinality(String),
    _partition     UInt32,
    _offset        UInt64,
    _inserted_at   DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX offset_minmax _offset TYPE minmax GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (toDate(at), lead_id, change_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- CRM feedback (lead-outcomes). Ordered by lead then time: joined to leads and stage changes.
CREATE TABLE IF NOT EXISTS {db}.outcomes
(
    outcome_id   String,
    lead_id      String,
    outcome      LowCardinality(String),
    amount       Nullable(Float64),
    at           DateTime64(3, 'UTC'),
    traits       String,  -- raw JSON
    _topic       LowCardinality(String),
    _partition   UInt32,
    _offset      UInt64,
    _inserted_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX offset_minmax _offset TYPE minmax GRANULARITY 4
)
ENGINE = MergeTree
ORDER BY (lead_id, at)
SETTINGS non_replicated_deduplication_window = 1000;

-- What the collector refused, and why. Small and read by time ("what broke today").
CREATE TABLE IF NOT EXISTS {db}.events_rejected
(
    received_at  DateTime64(3, 'UTC'),
    reason       LowCardinality(String),
    errors       String,  -- raw JSON list
    idx          Nullable(Int32),
    raw          String,
    _topic       LowCardinality(String),
    _partition   UInt32,
    _offset      UInt64,
    _inserted_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX offset_minmax _offset TYPE minmax GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(received_at)
ORDER BY received_at
TTL toDateTime(received_at) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- Messages the sink could not decode (not JSON, missing fields). Kept, not dropped, so every
-- offset is accounted for and nothing blocks the partition behind one bad message.
CREATE TABLE IF NOT EXISTS {db}.sink_dead_letters
(
    key          String,
    value        String,
    error        String,
    _topic       LowCardinality(String),
    _partition   UInt32,
    _offset      UInt64,
    _inserted_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX offset_minmax _offset TYPE minmax GRANULARITY 4
)
ENGINE = MergeTree
ORDER BY (_topic, _partition, _offset)
SETTINGS non_replicated_deduplication_window = 1000;
