-- Events in [$start, $end) with their canonical model, their team mapping and their cost.
-- Cost = sum of bucket x per-token rate of the price period valid at ts, in the service tier
-- of the event and the context band decided on the request's total input (whole request,
-- cliff, not the excess). Provider buckets (requests <> 1: many, or a count the source lacks) take the base band,
-- unless the row says which band its requests were in (band_input, migration 008).
-- Unknown model, no valid period, unpriced tier, or web searches at a row without a per-call
-- rate (reports.web_priced / web_cost fill in the placeholders; no_web_price says so): cost IS NULL (never 0).
-- counted_requests: the event's requests, a row without a request count (an Anthropic usage
-- bucket, requests 0) as one: what unpriced_requests sums (store.grouped sums it per event too).
-- Needs the session tables model_map(model_raw, model, provider),
-- member_map(member, team, department, cost_center, valid_from, valid_to) and price_rates(...).
WITH ev AS ({mapped_events}
),
priced AS (
    SELECT
        ev.*,
        greatest(ev.requests, 1) AS counted_requests,
        CASE WHEN {web_priced} THEN r.rate_id END AS rate_id,
        r.long_context,
        ev.input_tokens * r.input_rate
            + ev.cache_read_tokens * r.cache_read_rate
            + ev.cache_write_5m_tokens * r.cache_write_5m_rate
            + ev.cache_write_1h_tokens * r.cache_write_1h_rate
            + ev.output_tokens * r.output_rate
            + {web_cost} AS cost,
        r.rate_id IS NOT NULL AND NOT {web_priced} AS no_web_price
    FROM ev
    LEFT JOIN price_rates r
        ON r.model = ev.cmodel
        AND r.service_tier = ev.service_tier
        AND (r.valid_from IS NULL OR ev.ts >= r.valid_from)
        AND (r.valid_to IS NULL OR ev.ts < r.valid_to)
        AND (r.min_input_exclusive = 0
             OR (CASE WHEN ev.requests <> 1 THEN coalesce(ev.band_input, 0) ELSE ev.total_input END) > r.min_input_exclusive)
        AND (r.max_input_inclusive IS NULL
             OR (CASE WHEN ev.requests <> 1 THEN coalesce(ev.band_input, 0) ELSE ev.total_input END) <= r.max_input_inclusive)
)
SELECT * FROM priced
