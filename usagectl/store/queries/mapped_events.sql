-- Events in [$start, $end) with their canonical model, provider and team mapping (no cost):
-- the relation priced_events.sql prices, and what a query reads that needs no cost (the titles
-- and models of chats). Needs the session tables model_map(model_raw, model, provider) and
-- member_map(member, team, department, cost_center, valid_from, valid_to): the member's period
-- that holds the event's ts.
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
{member_join}
WHERE e.ts >= $start AND e.ts < $end
