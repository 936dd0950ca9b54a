-- 009: provider usage rows a file brought that gave way on arrival to a stored fetch of another
-- shape (a partial hour beside a day already stored). They are rejects of their file, with their
-- line, as before; this table also keeps each one as the record it was (canonical fields, JSON),
-- keyed by its batch and record number, so that a later import that replaces what it gave way to
-- can weigh it again and bring it back (store.billing). A row whose reject is gone (its file was
-- read again) is no longer weighed.
CREATE TABLE IF NOT EXISTS set_aside (
    batch_id BIGINT NOT NULL,
    record   BIGINT NOT NULL,
    raw      VARCHAR NOT NULL
);
