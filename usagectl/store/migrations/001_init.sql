-- 001: the canonical event store, import bookkeeping and rejects.
CREATE SEQUENCE import_batch_seq START 1;

CREATE TABLE import_batches (
    batch_id      BIGINT PRIMARY KEY,
    source        VARCHAR NOT NULL,          -- importer name: jsonl, csv, parquet, claude-code ...
    path          VARCHAR NOT NULL,          -- absolute path of the file read
    file_size     BIGINT,
    file_mtime    TIMESTAMPTZ,
    fingerprint   VARCHAR,                   -- sha256 of the file content
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    records       BIGINT NOT NULL DEFAULT 0, -- records read (good + rejected)
    imported      BIGINT NOT NULL DEFAULT 0,
    duplicates    BIGINT NOT NULL DEFAULT 0,
    rejected      BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE rejects (
    batch_id   BIGINT NOT NULL,
    file       VARCHAR NOT NULL,
    line       BIGINT,          -- 1-based line of the file (JSONL), when known
    record     BIGINT,          -- 1-based record number (CSV data row, Parquet row)
    reason     VARCHAR NOT NULL,
    raw        VARCHAR          -- the record's text as read
);

CREATE TABLE events (
    event_id              VARCHAR NOT NULL,
    ts                    TIMESTAMPTZ NOT NULL,
    source                VARCHAR NOT NULL,
    provider              VARCHAR,
    model                 VARCHAR,
    model_raw             VARCHAR,
    requests              BIGINT NOT NULL DEFAULT 1,
    input_tokens          BIGINT NOT NULL DEFAULT 0,
    cache_read_tokens     BIGINT NOT NULL DEFAULT 0,
    cache_write_5m_tokens BIGINT NOT NULL DEFAULT 0,
    cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens         BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens      BIGINT NOT NULL DEFAULT 0,
    web_search_requests   BIGINT NOT NULL DEFAULT 0,
    service_tier          VARCHAR NOT NULL DEFAULT 'standard',
    member                VARCHAR,
    team                  VARCHAR,
    department            VARCHAR,
    cost_center           VARCHAR,
    project               VARCHAR,
    workspace             VARCHAR,
    api_key               VARCHAR,
    feature               VARCHAR,
    tool                  VARCHAR,
    integration           VARCHAR,
    platform              VARCHAR,
    session_id            VARCHAR,
    chat_title            VARCHAR,
    message_id            VARCHAR,
    message_tokens        BIGINT,
    context_tokens        BIGINT,
    file_tokens           BIGINT,
    tool_output_tokens    BIGINT,
    latency_ms            BIGINT,
    status                VARCHAR,
    error_type            VARCHAR,
    file_id               VARCHAR,
    file_name             VARCHAR,
    file_bytes            BIGINT,
    reported_cost_usd     DECIMAL(38, 12),
    extra                 JSON,
    batch_id              BIGINT NOT NULL
);

CREATE TABLE meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);
