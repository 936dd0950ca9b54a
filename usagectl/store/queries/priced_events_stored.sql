-- Events with their canonical model, their team mapping and their STORED cost (events.cost_usd,
-- written by ``stored_cost`` with priced_events.sql under the price book of meta
-- 'pricing_fingerprint'): the same columns as priced_events.sql without the range join.
-- No ``rate_id`` here: that session-local id costs a join on every row, and only the queries
-- that group by the applied rate need it: they read ``priced_events_rated.sql`` instead.
WITH ev AS (
    SELECT
        e.*,
        coalesce(mm.model, e.model, e.model_raw) AS cmodel,
        coalesce(e.provider, mm.provider) AS cprovider,
        coalesce(e.team, mem.team) AS cteam,
        coalesce(e.department, mem.department) AS cdepartment,
        coalesce(e.cost_center, mem.cost_center) AS ccost_center,
        e.input_tokens + e.cache_read_tokens + e.cache_write_5m_tokens + e.cache_write_1h_tokens AS total_input,
        e.input_tokens + e.cache_read_tokens + e.cache_write_5m_tokens + e.cache_write_1h_tokens
            + e.output_tokens AS total_tokens
    FROM events e
    LEFT JOIN model_map mm ON mm.model_raw = coalesce(e.model_raw, e.model)
    LEFT JOIN member_map mem ON mem.member = e.member
)
SELECT
    ev.*,
    ev.price_band > 0 AS long_context,
    ev.cost_usd AS cost
FROM ev
