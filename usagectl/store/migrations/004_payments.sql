-- 004: payments recorded against invoices (`usagectl payment add`).
CREATE SEQUENCE payment_seq START 1;

CREATE TABLE payments (
    payment_id  BIGINT PRIMARY KEY,
    paid_on     DATE NOT NULL,
    amount_usd  DECIMAL(38, 12) NOT NULL,
    note        VARCHAR,
    created_at  TIMESTAMPTZ NOT NULL
);
