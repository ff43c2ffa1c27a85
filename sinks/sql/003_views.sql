-- Analyst views. CREATE OR REPLACE: when this file changes, ensure_schema re-applies it.
-- Documented with examples in docs/analytics.md. Scores are decayed to the present with the
-- half-life stored on each score row: score * 2^(-(now - at) / half_life_s).

-- Identity: every anonymous id a lead has been seen with (from events carrying both ids).
CREATE OR REPLACE VIEW {db}.lead_identities AS
SELECT lead_id, arrayJoin(groupUniqArrayMerge(anonymous_ids)) AS anonymous_id
FROM {db}.leads
GROUP BY lead_id;

-- Current state per lead. First touch is the earliest event of the lead *or* of any anonymous
-- id it was seen with, so the visit before the form fill counts as the source.
CREATE OR REPLACE VIEW {db}.leads_current AS
WITH
    own AS
    (
        SELECT
            lead_id,
            nullIf(minMerge(first_seen), toDateTime64(0, 3, 'UTC')) AS own_first_seen,
            nullIf(maxMerge(last_seen), toDateTime64(0, 3, 'UTC')) AS own_last_seen,
            argMinMerge(first_touch) AS own_touch,
            argMaxMerge(traits) AS traits,
            argMaxMerge(score) AS score,
            argMaxMerge(stage) AS stage,
            argMaxMerge(fit_grade) AS fit_grade,
            argMaxMerge(half_life_s) AS half_life_s,
            maxMerge(score_at) AS score_at,
            maxMerge(identified) AS identified,
            argMaxMerge(customer_status) AS customer_status,
            argMaxMerge(outcome_traits) AS outcome_traits,
            nullIf(maxMerge(last_outcome_at), toDateTime64(0, 3, 'UTC')) AS last_outcome_at
        FROM {db}.leads
        GROUP BY lead_id
    ),
    anon AS
    (
        SELECT
            ids.lead_id AS lead_id,
            min(p.first_seen) AS anon_first_seen,
            max(p.last_seen) AS anon_last_seen,
            argMin(p.first_touch, p.first_seen) AS anon_touch
        FROM {db}.lead_identities AS ids
        INNER JOIN
        (
            SELECT anonymous_id, minMerge(first_seen) AS first_seen,
                   maxMerge(last_seen) AS last_seen, argMinMerge(first_touch) AS first_touch
            FROM {db}.profiles
            GROUP BY anonymous_id
        ) AS p ON p.anonymous_id = ids.anonymous_id
        GROUP BY ids.lead_id
    )
SELECT
    own.lead_id AS lead_id,
    own.stage AS stage,
    own.score AS score,
    own.score_at AS score_at,
    own.half_life_s AS half_life_s,
    if(own.half_life_s > 0,
       own.score * pow(2, -(dateDiff('millisecond', own.score_at, now64(3)) / 1000.0) / own.half_life_s),
       own.score) AS score_now,
    own.fit_grade AS fit_grade,
    own.identified = 1 AS identified,
    own.traits AS traits,
    own.customer_status AS customer_status,
    own.outcome_traits AS outcome_traits,
    own.last_outcome_at AS last_outcome_at,
    anon.lead_id != '' AND (own.own_first_seen IS NULL OR anon.anon_first_seen < own.own_first_seen) AS touched_anonymously,
    if(touched_anonymously, anon.anon_first_seen, own.own_first_seen) AS first_seen,
    greatest(own.own_last_seen, if(anon.lead_id != '', anon.anon_last_seen, own.own_last_seen)) AS last_seen,
    if(touched_anonymously, anon.anon_touch, own.own_touch) AS first_touch,
    if(first_seen IS NULL OR tupleElement(first_touch, 1) = '', '(direct)', tupleElement(first_touch, 1)) AS first_touch_source,
    tupleElement(first_touch, 2) AS first_touch_medium,
    tupleElement(first_touch, 3) AS first_touch_campaign,
    tupleElement(first_touch, 4) AS first_touch_campaign_id
FROM own
LEFT JOIN anon ON anon.lead_id = own.lead_id
SETTINGS join_use_nulls = 0;

-- Hot leads now: the latest stage is hot; sorted by the score decayed to this moment.
CREATE OR REPLACE VIEW {db}.hot_leads_now AS
SELECT lead_id, round(score_now, 2) AS score_now, round(score, 2) AS score_at_last_update,
       score_at, fit_grade, first_touch_source, customer_status
FROM {db}.leads_current
WHERE stage = 'hot'
ORDER BY score_now DESC;

-- Stage changes: one row per change_id (a re-emitted change counts once, merged or not).
CREATE OR REPLACE VIEW {db}.stage_changes_unique AS
SELECT change_id, any(lead_id) AS lead_id, any(from_stage) AS from_stage,
       any(to_stage) AS to_stage, any(score) AS score, any(at) AS at, any(cause) AS cause,
       any(rules_version) AS rules_version, any(fit_grade) AS fit_grade,
       any(identified) AS identified
FROM {db}.lead_stage_changes
GROUP BY change_id;

-- Funnel by day: leads entering each stage per day, promotions and demotions apart.
CREATE OR REPLACE VIEW {db}.stage_funnel_daily AS
SELECT toDate(at) AS day, to_stage,
       uniqExact(lead_id) AS leads,
       countIf(indexOf(['cold', 'warm', 'hot'], to_stage) > indexOf(['cold', 'warm', 'hot'], from_stage)) AS promotions,
       countIf(indexOf(['cold', 'warm', 'hot'], to_stage) < indexOf(['cold', 'warm', 'hot'], from_stage)) AS demotions
FROM {db}.stage_changes_unique
GROUP BY day, to_stage
ORDER BY day, indexOf(['cold', 'warm', 'hot'], to_stage);

-- First time each lead became hot.
CREATE OR REPLACE VIEW {db}.lead_first_hot AS
SELECT lead_id, min(at) AS hot_at
FROM {db}.stage_changes_unique
WHERE to_stage = 'hot'
GROUP BY lead_id;

-- Time from first touch (anonymous history included) to first hot, per lead.
CREATE OR REPLACE VIEW {db}.time_to_hot AS
SELECT h.lead_id AS lead_id, l.first_seen AS first_seen, h.hot_at AS hot_at,
       dateDiff('second', l.first_seen, h.hot_at) / 3600.0 AS hours_to_hot,
       l.first_touch_source AS first_touch_source
FROM {db}.lead_first_hot AS h
INNER JOIN {db}.leads_current AS l ON l.lead_id = h.lead_id
WHERE l.first_seen IS NOT NULL;

-- Conversion by the stage a lead was in when sales got it (its first CRM outcome).
CREATE OR REPLACE VIEW {db}.conversion_by_handoff_stage AS
WITH handoff AS
(
    SELECT lead_id, min(at) AS handoff_at, max(outcome = 'won') AS is_won,
           sumIf(ifNull(amount, 0), outcome = 'won') AS revenue
    FROM {db}.outcomes
    GROUP BY lead_id
)
SELECT stage_at_handoff, count() AS leads, sum(is_won) AS won,
       round(sum(is_won) / count(), 3) AS conversion_rate, sum(lead_revenue) AS revenue
FROM
(
    SELECT h.lead_id AS lead_id, h.is_won AS is_won, h.revenue AS lead_revenue,
           if(countIf(c.at <= h.handoff_at) = 0, 'cold',
              argMaxIf(c.to_stage, c.at, c.at <= h.handoff_at)) AS stage_at_handoff
    FROM handoff AS h
    LEFT JOIN {db}.stage_changes_unique AS c ON c.lead_id = h.lead_id
    GROUP BY h.lead_id, h.is_won, h.revenue
)
GROUP BY stage_at_handoff
ORDER BY indexOf(['cold', 'warm', 'hot'], stage_at_handoff);

-- Leads, hot leads and conversions by first-touch channel and campaign.
CREATE OR REPLACE VIEW {db}.channel_performance AS
SELECT l.first_touch_source AS source, l.first_touch_medium AS medium,
       l.first_touch_campaign AS campaign,
       count() AS leads,
       countIf(h.lead_id != '') AS became_hot,
       countIf(l.customer_status = 'won') AS won,
       round(countIf(l.customer_status = 'won') / count(), 3) AS conversion_rate
FROM {db}.leads_current AS l
LEFT JOIN {db}.lead_first_hot AS h ON h.lead_id = l.lead_id
WHERE l.identified
GROUP BY source, medium, campaign
ORDER BY leads DESC, source;

-- What a lead saw: its own events plus its anonymous history, with a content label.
CREATE OR REPLACE VIEW {db}.lead_content AS
SELECT lead_id, occurred_at, type,
       multiIf(type = 'download', concat('download:', asset_id),
               type = 'video_progress', concat('video:', video_id),
               type = 'page_view', concat('page:', path),
               type = 'email_click', concat('email:', campaign_id),
               type = 'form_submit', concat('form:', JSONExtractString(properties, 'form_id')),
               '') AS content
FROM
(
    SELECT lead_id, occurred_at, type, asset_id, video_id, path, campaign_id, properties
    FROM {db}.events WHERE lead_id != ''
    UNION ALL
    SELECT i.lead_id, e.occurred_at, e.type, e.asset_id, e.video_id, e.path, e.campaign_id, e.properties
    FROM {db}.events AS e
    INNER JOIN {db}.lead_identities AS i ON i.anonymous_id = e.anonymous_id
    WHERE e.lead_id = ''
)
WHERE content != '';

-- Content most often seen in the 7 days before a lead first turned hot.
CREATE OR REPLACE VIEW {db}.content_before_hot AS
SELECT c.content AS content, uniqExact(c.lead_id) AS hot_leads, count() AS views
FROM {db}.lead_content AS c
INNER JOIN {db}.lead_first_hot AS h ON h.lead_id = c.lead_id
WHERE c.occurred_at <= h.hot_at AND c.occurred_at >= h.hot_at - INTERVAL 7 DAY
GROUP BY content
ORDER BY hot_leads DESC, views DESC, content;

-- Distribution of current (decayed) scores, in buckets of 5 points, by stage.
CREATE OR REPLACE VIEW {db}.score_distribution AS
SELECT toInt64(floor(score_now / 5) * 5) AS bucket_from, stage, count() AS leads
FROM {db}.leads_current
WHERE score_at > toDateTime64(0, 3, 'UTC')
GROUP BY bucket_from, stage
ORDER BY bucket_from, indexOf(['cold', 'warm', 'hot'], stage);
