"""011: Claude Code event ids whose message or request id holds ``:`` or ``%`` (or is ``r`` or ``h``).

A Claude Code event is keyed ``claude-code:<message.id>:<requestId>`` (``claude-code:r:<requestId>``
for a message without an id). The two ids were joined as they were, so ``msg_A:x`` + ``req_B`` and
``msg_A`` + ``x:req_B`` made one key, and so did message ``r`` + request ``x`` and a message without
an id of request ``x``: one of two requests was dropped as a copy (QA). Such ids are now
percent-encoded in the key (``importers.claude_code.id_part``; the usual ``msg_…``/``req_…`` ids are
not touched). Without this step a stored event of such ids would come back under its new key from
a copied or resumed session and be counted twice.

Only keys an import made the old way are rewritten (the key is the old join of the event's own
``message_id`` and ``extra.requestId``); a key the pair does not give is left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

_REQ = "json_extract_string(extra, '$.requestId')"
# a cheap first look: keys with a third ":" or a "%", or of a message or request id "r" or "h"
_MAYBE = (
    "starts_with(event_id, 'claude-code:') AND (strpos(event_id, '%') > 0 "
    "OR length(event_id) - length(replace(event_id, ':', '')) >= 3 OR message_id IN ('r', 'h') "
    "OR event_id IN ('claude-code:r:r', 'claude-code:r:h'))"
)


def _needs(col: str) -> str:
    return f"coalesce(strpos({col}, ':') > 0 OR strpos({col}, '%') > 0 OR {col} IN ('r', 'h'), false)"


def apply(con: duckdb.DuckDBPyConnection) -> None:
    from usagectl.store.stagers.claude_code import _id_part

    if con.execute(f"SELECT 1 FROM events WHERE {_MAYBE} LIMIT 1").fetchone() is None:
        return  # nothing to re-key (nearly every database)
    mid, req = "message_id", _REQ
    with_mid = f"nullif({mid}, '') IS NOT NULL"
    old = (
        f"CASE WHEN {with_mid} THEN 'claude-code:' || {mid} || ':' || coalesce({req}, '') "
        f"ELSE 'claude-code:r:' || {req} END"
    )
    new = (
        f"CASE WHEN {with_mid} THEN 'claude-code:' || {_id_part(mid)} || ':' || coalesce({_id_part(req)}, '') "
        f"ELSE 'claude-code:r:' || {_id_part(req)} END"
    )
    con.execute(
        f"UPDATE events SET event_id = {new} WHERE {_MAYBE} AND event_id = {old} AND ({_needs(mid)} OR {_needs(req)})"
    )
