-- Fast path for the high-volume events topics: the sink sends the Kafka values unparsed, as
-- JSONEachRow, into a Null-engine table; this view parses them in ClickHouse (C++) into
-- `events`. Python does no JSON work per event, so the sink keeps up with a direct insert
-- (bench/bench_sink.py). The derivations match sinks/rows.py:event_row, which is the fallback
-- for a batch ClickHouse refuses (the sink then finds the bad message and dead-letters it).
-- Dedup tokens pass through: deduplicate_blocks_in_dependent_materialized_views=1 on insert.

-- Null: nothing is stored here, the view below is the only consumer.
CREATE TABLE IF NOT EXISTS {db}.events_stage
(
    event_id      String,
    type          String,
    lead_id       Nullable(String),
    anonymous_id  Nullable(String),
    occurred_at   String,
    received_at   String,
    properties    String,
    traits        String,
    context       String,
    flags         Array(String),
    _topic        String,
    _partition    UInt32,
    _offset       UInt64
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.events_from_stage TO {db}.events AS
WITH
    JSONExtractRaw(context, 'campaign') AS campaign,
    JSONExtractRaw(context, 'page') AS page,
    if(JSONExtractString(properties, 'url') != '', JSONExtractString(properties, 'url'), JSONExtractString(page, 'url')) AS the_url
SELECT
    toUUID(event_id) AS event_id,
    type,
    ifNull(lead_id, '') AS lead_id,
    ifNull(anonymous_id, '') AS anonymous_id,
    parseDateTime64BestEffort(occurred_at, 3, 'UTC') AS occurred_at,
    parseDateTime64BestEffort(received_at, 3, 'UTC') AS received_at,
    the_url AS url,
    multiIf(JSONExtractString(properties, 'path') != '', JSONExtractString(properties, 'path'),
            JSONExtractString(page, 'path') != '', JSONExtractString(page, 'path'),
            path(the_url)) AS path,
    if(JSONExtractString(properties, 'referrer') != '', JSONExtractString(properties, 'referrer'), JSONExtractString(page, 'referrer')) AS referrer,
    if(JSONExtractString(campaign, 'source') != '', JSONExtractString(campaign, 'source'), decodeURLFormComponent(extractURLParameter(the_url, 'utm_source'))) AS utm_source,
    if(JSONExtractString(campaign, 'medium') != '', JSONExtractString(campaign, 'medium'), decodeURLFormComponent(extractURLParameter(the_url, 'utm_medium'))) AS utm_medium,
    if(JSONExtractString(campaign, 'name') != '', JSONExtractString(campaign, 'name'), decodeURLFormComponent(extractURLParameter(the_url, 'utm_campaign'))) AS utm_campaign,
    JSONExtractString(properties, 'campaign_id') AS campaign_id,
    JSONExtractString(properties, 'asset_id') AS asset_id,
    JSONExtractString(properties, 'video_id') AS video_id,
    if(JSONType(properties, 'percent') IN ('Int64', 'UInt64', 'Double'), toFloat32(JSONExtractFloat(properties, 'percent')), NULL) AS percent,
    if(JSONType(properties, 'dwell_ms') IN ('Int64', 'UInt64', 'Double'), toUInt64(JSONExtractFloat(properties, 'dwell_ms')), NULL) AS dwell_ms,
    flags,
    if(properties = '', '{}', properties) AS properties,
    if(traits = '', '{}', traits) AS traits,
    if(context = '', '{}', context) AS context,
    _topic, _partition, _offset
FROM {db}.events_stage;
