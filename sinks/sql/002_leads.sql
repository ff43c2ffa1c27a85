-- Current state per lead and per anonymous profile, kept by materialized views on the sink's
-- tables. AggregatingMergeTree holding only idempotent aggregates (min, max, argMin, argMax,
-- groupUniqArray): a row seen twice changes nothing, so even a duplicate could not skew it.
-- Each view fills only its own columns; the others get an empty state, which merges neutrally.
-- Read through the `leads_current` view (002/003), which finalises the states.

CREATE TABLE IF NOT EXISTS {db}.leads
(
    lead_id          String,
    first_seen       AggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen        AggregateFunction(max, DateTime64(3, 'UTC')),
    -- (utm_source, utm_medium, utm_campaign, campaign_id) of the lead's earliest event
    first_touch      AggregateFunction(argMin, Tuple(String, String, String, String), DateTime64(3, 'UTC')),
    anonymous_ids    AggregateFunction(groupUniqArray, String),
    traits           AggregateFunction(argMax, String, DateTime64(3, 'UTC')),
    score            AggregateFunction(argMax, Float64, DateTime64(3, 'UTC')),
    stage            AggregateFunction(argMax, String, DateTime64(3, 'UTC')),
    fit_grade        AggregateFunction(argMax, String, DateTime64(3, 'UTC')),
    half_life_s      AggregateFunction(argMax, Float64, DateTime64(3, 'UTC')),
    score_at         AggregateFunction(max, DateTime64(3, 'UTC')),
    identified       AggregateFunction(max, UInt8),
    customer_status  AggregateFunction(argMax, String, DateTime64(3, 'UTC')),
    outcome_traits   AggregateFunction(argMax, String, DateTime64(3, 'UTC')),
    last_outcome_at  AggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
-- one row per lead after merges; point lookups and joins are by lead_id
ORDER BY lead_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.leads_from_events TO {db}.leads AS
SELECT
    lead_id,
    minState(occurred_at) AS first_seen,
    maxState(occurred_at) AS last_seen,
    argMinState((utm_source, utm_medium, utm_campaign, campaign_id), occurred_at) AS first_touch,
    groupUniqArrayStateIf(anonymous_id, anonymous_id != '') AS anonymous_ids,
    argMaxStateIf(traits, occurred_at, type = 'identify' AND traits NOT IN ('', '{}')) AS traits
FROM {db}.events
WHERE lead_id != ''
GROUP BY lead_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.leads_from_scores TO {db}.leads AS
SELECT
    lead_id,
    argMaxState(score, at) AS score,
    argMaxState(toString(stage), at) AS stage,
    argMaxState(toString(fit_grade), at) AS fit_grade,
    argMaxState(half_life_s, at) AS half_life_s,
    maxState(at) AS score_at,
    maxState(toUInt8(identified)) AS identified
FROM {db}.lead_scores
GROUP BY lead_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.leads_from_outcomes TO {db}.leads AS
SELECT
    lead_id,
    argMaxState(toString(outcome), at) AS customer_status,
    argMaxStateIf(traits, at, traits NOT IN ('', '{}')) AS outcome_traits,
    maxState(at) AS last_outcome_at
FROM {db}.outcomes
GROUP BY lead_id;

-- Anonymous history, so a lead's first touch can be the visit before it identified itself.
CREATE TABLE IF NOT EXISTS {db}.profiles
(
    anonymous_id  String,
    first_seen    AggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen     AggregateFunction(max, DateTime64(3, 'UTC')),
    first_touch   AggregateFunction(argMin, Tuple(String, String, String, String), DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY anonymous_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.profiles_from_events TO {db}.profiles AS
SELECT
    anonymous_id,
    minState(occurred_at) AS first_seen,
    maxState(occurred_at) AS last_seen,
    argMinState((utm_source, utm_medium, utm_campaign, campaign_id), occurred_at) AS first_touch
FROM {db}.events
WHERE anonymous_id != ''
GROUP BY anonymous_id;
