-- 005: each event's computed cost, stored on write (``store/stored_cost.py``).
-- Valid only while meta 'pricing_fingerprint' equals the price book's fingerprint (plus the
-- version of the pricing SQL): a write command re-prices every event when it does not.
-- Rows imported before this migration have NULL here and no fingerprint: reports price them
-- on the fly until the next import, sync or `usagectl pricing reprice`.
ALTER TABLE events ADD COLUMN cost_usd DECIMAL(38, 12);   -- NULL: no price (never 0 for the unknown)
ALTER TABLE events ADD COLUMN priced_model VARCHAR;       -- the applied rate: canonical model id,
ALTER TABLE events ADD COLUMN price_from TIMESTAMPTZ;     -- start of its price period (NULL: open),
ALTER TABLE events ADD COLUMN price_band BIGINT;          -- context band: input above this (0 = base)
