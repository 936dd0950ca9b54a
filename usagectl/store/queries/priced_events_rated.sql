-- The stored-cost relation (session view ``priced_events``) with ``rate_id``: the session's
-- price_rates row that priced the event, found again by equality on the stored identifiers of
-- the applied rate (model, service tier, period start, context band); NULL when unpriced.
SELECT
    p.*,
    r.rate_id
FROM priced_events p
LEFT JOIN price_rates r
    ON r.model = p.priced_model
    AND r.service_tier = p.service_tier
    AND r.min_input_exclusive = p.price_band
    AND r.valid_from IS NOT DISTINCT FROM p.price_from
