"""The webhook delivery ledger (``webhook_deliveries``, migration 003): all of its SQL.

One row per (idempotency key, webhook URL). ``status`` is ``delivered`` (never sent again),
``failed`` (sent again on the next run, with the body recorded at its last attempt, unless the
webhook's format changed or 7 days went by since the first: ``usagectl.services.notify``) or
``superseded`` (a lower budget threshold passed over by a higher one in the same period: never
sent). ``attempts`` counts HTTP attempts over all runs; ``last_error`` never holds the secret
(the caller scrubs it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

DELIVERED = "delivered"
FAILED = "failed"
SUPERSEDED = "superseded"
_COLUMNS = (
    "idempotency_key, webhook_url, event_type, payload_id, payload, status, attempts, last_status, last_error, "
    "created_at, updated_at, delivered_at"
)


@dataclass(frozen=True)
class LedgerRow:
    idempotency_key: str
    webhook_url: str
    event_type: str
    payload_id: str
    payload: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


def fetch(con: duckdb.DuckDBPyConnection, keys: Iterable[str], urls: Iterable[str]) -> dict[tuple[str, str], LedgerRow]:
    """The rows for these keys and URLs, by (key, url)."""
    key_list, url_list = sorted(set(keys)), sorted(set(urls))
    if not key_list or not url_list:
        return {}
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM webhook_deliveries "
        "WHERE list_contains($keys, idempotency_key) AND list_contains($urls, webhook_url)",
        {"keys": key_list, "urls": url_list},
    ).fetchall()
    out = {}
    for r in rows:
        row = LedgerRow(*r)
        out[(row.idempotency_key, row.webhook_url)] = row
    return out


def failed_since(con: duckdb.DuckDBPyConnection, urls: Iterable[str], since: datetime) -> list[LedgerRow]:
    """Failed rows for these URLs first recorded at or after ``since``, oldest first (retried each run)."""
    url_list = sorted(set(urls))
    if not url_list:
        return []
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM webhook_deliveries WHERE status = 'failed' AND list_contains($urls, webhook_url) "
        "AND created_at >= $since ORDER BY created_at, idempotency_key, webhook_url",
        {"urls": url_list, "since": since},
    ).fetchall()
    return [LedgerRow(*r) for r in rows]


def all_rows(con: duckdb.DuckDBPyConnection) -> list[LedgerRow]:
    """Every row, oldest first (for inspection and tests)."""
    rows = con.execute(f"SELECT {_COLUMNS} FROM webhook_deliveries ORDER BY created_at, idempotency_key").fetchall()
    return [LedgerRow(*r) for r in rows]


def record_attempt(
    con: duckdb.DuckDBPyConnection,
    *,
    key: str,
    url: str,
    event_type: str,
    payload_id: str,
    payload: str,
    ok: bool,
    status: int | None,
    error: str | None,
    now: datetime,
) -> None:
    """Count one HTTP attempt: insert the row on the first, else update it (``payload`` is the
    body of the latest attempt: a retry re-renders it after a format change or after 7 days;
    ``created_at`` stays the first attempt's). A row already ``delivered`` keeps that status (a
    later attempt cannot un-deliver it)."""
    con.execute(
        f"INSERT INTO webhook_deliveries ({_COLUMNS}) "
        "VALUES ($key, $url, $type, $pid, $payload, $status, 1, $http, $error, $now, $now, $delivered) "
        "ON CONFLICT (idempotency_key, webhook_url) DO UPDATE SET "
        "status = CASE WHEN webhook_deliveries.status = 'delivered' THEN 'delivered' ELSE EXCLUDED.status END, "
        "attempts = webhook_deliveries.attempts + 1, payload = EXCLUDED.payload, "
        "last_status = EXCLUDED.last_status, last_error = EXCLUDED.last_error, updated_at = EXCLUDED.updated_at, "
        "delivered_at = coalesce(webhook_deliveries.delivered_at, EXCLUDED.delivered_at)",
        {
            "key": key,
            "url": url,
            "type": event_type,
            "pid": payload_id,
            "payload": payload,
            "status": DELIVERED if ok else FAILED,
            "http": status,
            "error": error,
            "now": now,
            "delivered": now if ok else None,
        },
    )


def mark_superseded(
    con: duckdb.DuckDBPyConnection,
    *,
    key: str,
    url: str,
    event_type: str,
    payload_id: str,
    reason: str,
    now: datetime,
) -> None:
    """Record that ``key`` will never be sent to ``url`` (unless it was delivered already)."""
    con.execute(
        f"INSERT INTO webhook_deliveries ({_COLUMNS}) "
        "VALUES ($key, $url, $type, $pid, '', 'superseded', 0, NULL, $reason, $now, $now, NULL) "
        "ON CONFLICT (idempotency_key, webhook_url) DO UPDATE SET "
        "status = CASE WHEN webhook_deliveries.status = 'delivered' THEN 'delivered' ELSE 'superseded' END, "
        "last_error = CASE WHEN webhook_deliveries.status = 'delivered' THEN webhook_deliveries.last_error "
        "ELSE EXCLUDED.last_error END, updated_at = EXCLUDED.updated_at",
        {"key": key, "url": url, "type": event_type, "pid": payload_id, "reason": reason, "now": now},
    )
