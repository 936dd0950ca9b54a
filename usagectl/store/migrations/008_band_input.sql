-- 008: the per-request input that decides the long-context band of a row of many requests, when
-- the row itself says which band its requests were in. A provider bucket sums many requests, so
-- its summed input says nothing about any one of them and it is priced on the base band; but an
-- Anthropic usage row grouped by context_window "200k-1M" holds only requests over 200,000 input
-- tokens, which bill at the long-context rates. Such a row gets band_input = 200,001 (the least
-- input of any of its requests); NULL everywhere else (a single request is decided on its own
-- input). Not a canonical column: it is derived on insert from `extra` (store.ingest), so a
-- canonical export that keeps `extra` brings it back on import.
ALTER TABLE events ADD COLUMN IF NOT EXISTS band_input BIGINT;
UPDATE events SET band_input = 200001
WHERE requests <> 1 AND json_extract_string(extra, '$.context_window') = '200k-1M';
