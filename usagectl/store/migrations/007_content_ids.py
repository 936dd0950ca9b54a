"""007: the ids of stored events that came without one are recomputed from all their content.

An event without an ``event_id`` is identified by a hash of its content (``'h:' || …``,
``validation._event_id_sql``). Until now that hash left out the team, department, cost center,
chat title, status, error type, files, reported cost and ``extra`` (which keeps the unknown
columns, such as a ``request_id``), so rows that differed only there were taken for copies of
each other and all but one were dropped. The hash now covers every column but ``source``.

A stored event keeps its identity only if its id is what an import computes today: without this
step, an export downloaded again (overlapping the stored days) would bring the same rows back
under the new ids and count them twice. The hash was computed over the validated row before the
import filled in ``model`` and ``provider`` from the price book, so each stored id is matched
against the old hash with those two as stored or empty (``_OLD_PARTS`` is the hash as it was),
and recomputed with the same two values. A stored id that no variant reproduces is left alone.
Old ids that differed stay different (the new hash covers more, not less).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

# the hash's text columns before this migration (validation._ID_PARTS of schema 6)
_OLD_PARTS = (
    "provider", "model_raw", "model", "service_tier", "member", "project", "workspace", "api_key",
    "feature", "tool", "integration", "platform", "session_id", "message_id",
)  # fmt: skip


def _old_id_sql(given: dict[str, str]) -> str:
    from usagectl.models import EVENT_COLUMNS
    from usagectl.store.validation import _q

    ints = [c for c, k in EVENT_COLUMNS if k == "int"]
    parts = (
        ["strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ')"]
        + [f"coalesce({given.get(c, _q(c))}, '')" for c in _OLD_PARTS]
        + [f"coalesce(\"{c}\"::VARCHAR, '')" for c in ints]
    )
    return "'h:' || left(sha256(concat_ws(chr(31), " + ", ".join(parts) + ")), 32)"


def apply(con: duckdb.DuckDBPyConnection) -> None:
    from usagectl.store.validation import _event_id_sql

    if con.execute("SELECT 1 FROM events WHERE starts_with(event_id, 'h:') LIMIT 1").fetchone() is None:
        return  # nothing to re-key (every new database)
    con.execute("SET TimeZone = 'UTC'")  # the hash spells ts in UTC (every connection is opened so)
    variants = [{}, {"model": "NULL"}, {"provider": "NULL"}, {"model": "NULL", "provider": "NULL"}]
    whens = " ".join(f"WHEN {_old_id_sql(v)} = event_id THEN {_event_id_sql(v)}" for v in variants)
    con.execute(f"UPDATE events SET event_id = CASE {whens} ELSE event_id END WHERE starts_with(event_id, 'h:')")
