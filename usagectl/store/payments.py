"""Payments recorded against invoices (table ``payments``, migration 004)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from usagectl.store.tables import rows_as_dicts

if TYPE_CHECKING:
    import duckdb

_COLUMNS = "payment_id, paid_on, amount_usd, note, created_at"


def add(con: duckdb.DuckDBPyConnection, paid_on: date, amount: Decimal, note: str | None, created_at: datetime) -> int:
    """Store one payment; the amount travels as text so DECIMAL(38,12) receives it exactly."""
    row = con.execute(
        "INSERT INTO payments (payment_id, paid_on, amount_usd, note, created_at) "
        "VALUES (nextval('payment_seq'), $paid_on, CAST($amount AS DECIMAL(38, 12)), $note, $created_at) "
        "RETURNING payment_id",
        {"paid_on": paid_on, "amount": format(amount, "f"), "note": note, "created_at": created_at},
    ).fetchone()
    assert row is not None
    return int(row[0])


def identical(con: duckdb.DuckDBPyConnection, paid_on: date, amount: Decimal, note: str | None) -> list[int]:
    """The ids of the payments already stored with this date, amount and note (no note matching
    no note), oldest first: the same payment recorded twice is a re-run script or a double paste
    more often than two real payments, so the caller warns (QA: the balance counted it twice)."""
    cur = con.execute(
        "SELECT payment_id FROM payments WHERE paid_on = $paid_on AND amount_usd = CAST($amount AS DECIMAL(38, 12)) "
        "AND note IS NOT DISTINCT FROM $note ORDER BY payment_id",
        {"paid_on": paid_on, "amount": format(amount, "f"), "note": note},
    )
    return [int(r[0]) for r in cur.fetchall()]


def listing(
    con: duckdb.DuckDBPyConnection, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """Payments with ``since <= paid_on <= until`` (either bound optional), oldest first."""
    clauses, params = [], {}
    if since is not None:
        clauses.append("paid_on >= $since")
        params["since"] = since
    if until is not None:
        clauses.append("paid_on <= $until")
        params["until"] = until
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    cur = con.execute(f"SELECT {_COLUMNS} FROM payments{where} ORDER BY paid_on, payment_id", params)
    return rows_as_dicts(cur)


def remove(con: duckdb.DuckDBPyConnection, payment_id: int) -> dict[str, Any] | None:
    """Delete one payment; returns it as it was, or None when there is no such id."""
    cur = con.execute(f"DELETE FROM payments WHERE payment_id = $id RETURNING {_COLUMNS}", {"id": payment_id})
    rows = rows_as_dicts(cur)
    return rows[0] if rows else None
