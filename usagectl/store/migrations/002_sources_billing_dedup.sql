-- 002: dedup accounting per batch, registered sources with sync state, billed cost lines.
ALTER TABLE import_batches ADD COLUMN dup_in_file BIGINT DEFAULT 0;   -- same identity twice in one file
ALTER TABLE import_batches ADD COLUMN dup_stored BIGINT DEFAULT 0;    -- identity already stored, kept as it was
ALTER TABLE import_batches ADD COLUMN replaced BIGINT DEFAULT 0;      -- stored rows replaced by this batch
ALTER TABLE import_batches ADD COLUMN dedup_rule VARCHAR;             -- keep-first | replace | max-usage
ALTER TABLE import_batches ADD COLUMN source_name VARCHAR;            -- registered source, when synced

CREATE TABLE sources (
    name      VARCHAR PRIMARY KEY,
    path      VARCHAR NOT NULL,
    format    VARCHAR NOT NULL,
    added_at  TIMESTAMPTZ NOT NULL
);

-- what a sync has read of each file of a source: append-only files resume at `offset`
CREATE TABLE source_files (
    source_name   VARCHAR NOT NULL,
    path          VARCHAR NOT NULL,
    size          BIGINT NOT NULL,
    mtime         TIMESTAMPTZ,
    "offset"      BIGINT NOT NULL,      -- bytes read so far (ends on a line boundary)
    lines         BIGINT NOT NULL,      -- lines read so far (for line numbers of later rejects)
    head_sha256   VARCHAR NOT NULL,     -- fingerprint of bytes [0, offset): a rewritten file is read again
    last_batch_id BIGINT,
    synced_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source_name, path)
);

-- provider cost reports: billed cost lines, NOT events (never summed with computed cost)
CREATE TABLE billed_costs (
    line_id        VARCHAR NOT NULL,    -- natural key of the line; a later fetch replaces it
    source         VARCHAR NOT NULL,    -- openai-costs | anthropic-cost
    provider       VARCHAR NOT NULL,
    start_ts       TIMESTAMPTZ NOT NULL,
    end_ts         TIMESTAMPTZ NOT NULL,
    model          VARCHAR,             -- canonical model id when it could be told
    model_raw      VARCHAR,
    line_item      VARCHAR,
    token_type     VARCHAR,
    service_tier   VARCHAR,
    context_window VARCHAR,
    workspace      VARCHAR,
    project        VARCHAR,
    api_key        VARCHAR,
    description    VARCHAR,
    amount_usd     DECIMAL(38, 12) NOT NULL,
    quantity       DECIMAL(38, 6),
    quantity_unit  VARCHAR,
    batch_id       BIGINT NOT NULL,
    extra          JSON
);
