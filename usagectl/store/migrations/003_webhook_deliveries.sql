-- 003: the webhook delivery ledger: each alert is delivered once per idempotency key.
CREATE TABLE webhook_deliveries (
    idempotency_key VARCHAR NOT NULL,   -- event type + scope + period + threshold (+ webhook url)
    webhook_url     VARCHAR NOT NULL,
    event_type      VARCHAR NOT NULL,   -- budget.threshold | usage.daily_summary | usage.anomaly | invoice.monthly
    payload_id      VARCHAR NOT NULL,   -- the `id` inside the payload (stable across retries)
    payload         VARCHAR NOT NULL,   -- the JSON body sent (or to be sent)
    status          VARCHAR NOT NULL,   -- delivered | failed
    attempts        INTEGER NOT NULL,   -- HTTP attempts made so far, over all runs
    last_status     INTEGER,            -- last HTTP status code, NULL on network error / timeout
    last_error      VARCHAR,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ,
    PRIMARY KEY (idempotency_key, webhook_url)
);
