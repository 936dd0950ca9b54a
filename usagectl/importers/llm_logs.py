"""simonw/llm ``logs.db`` (FORMATS.md section 7): one event per logged model call.

Two generations of tables share one id space (ULIDs): the legacy ``responses`` table (llm <= 0.31,
read-only from 0.32) and the message store's ``turns`` (llm >= 0.32). Like ``llm logs``, the
events are the turns plus the legacy rows whose id is not a turn: a legacy row that is also a
turn is yielded as a copy of the turn, so it counts as a duplicate (never twice, never a reject).
Records are numbered turns first, then legacy responses, each in rowid order.

Tokens depend on the plugin that logged the call, told apart by the keys of ``token_details``:

* OpenAI (default plugin): ``input_tokens`` INCLUDES cached input
  (``prompt_tokens_details.cached_tokens`` for Chat Completions, ``input_tokens_details.cached_tokens``
  for the Responses API); ``output_tokens`` includes reasoning (``*_tokens_details.reasoning_tokens``).
* llm-anthropic: ``input_tokens`` EXCLUDES the cache; ``cache_read_input_tokens``,
  ``cache_creation_input_tokens`` and its ``cache_creation`` 5m/1h split; ``server_tool_use``.
* anything else (llm-gemini's ``thoughtsTokenCount`` ...): kept in ``extra`` as information only.

NULL ``input_tokens``/``output_tokens`` (rows logged before llm 0.19, plugins that report no usage)
are unknown usage, rejected with a reason, never read as zero. ``datetime_utc`` without an offset
(llm <= 0.19) is UTC. The prompt and response text are never read (privacy): rejected records keep
the row's metadata only.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from usagectl.errors import InputError
from usagectl.importers._values import _Bad, _clean, _int, _loads, _obj, _show, _text, _ts, anthropic_tier
from usagectl.models import Record

NULL_USAGE = "usage not recorded (input_tokens/output_tokens are NULL)"
_HEADER = b"SQLite format 3\x00"
# (table, conversation column, table of conversation names); prompts/responses are never selected
_LAYOUTS = (("turns", "thread_id", "threads"), ("responses", "conversation_id", "conversations"))
_COLUMNS = ("id", "model", "resolved_model", "duration_ms", "datetime_utc", "input_tokens", "output_tokens",
            "token_details")  # fmt: skip
# llm-anthropic's usage keys: llm drops zero values, so a call without cache may hold only its
# web searches (``server_tool_use``)
_ANTHROPIC_KEYS = ("cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation", "server_tool_use")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _connect(path: Path) -> sqlite3.Connection:
    try:
        with open(path, "rb") as fh:
            gzipped = fh.read(2) == b"\x1f\x8b"
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if gzipped:  # SQLite reads the file in place, pages at a time: it cannot go through gzip
        raise InputError(f"{path}: a gzip-compressed SQLite database: decompress it first (gunzip -k {path.name})")
    try:
        con = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    except (sqlite3.Error, ValueError) as exc:
        raise InputError(f"{path}: cannot open as SQLite: {exc}") from exc
    con.text_factory = lambda b: b.decode("utf-8", "replace")
    return con


def _tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}


# the columns every layout of llm's tables has had (m010 on): another app's ``responses`` table
# (a survey's, an HTTP cache's) is not read as llm's
_OWN_COLUMNS = frozenset(("id", "model", "datetime_utc"))


def _llm_tables(con: sqlite3.Connection, tables: set[str]) -> set[str]:
    """Which of ``turns`` and ``responses`` are llm's own: present, with llm's columns."""
    own = set()
    for table, _, _ in _LAYOUTS:
        if table in tables and _OWN_COLUMNS <= {r[1] for r in con.execute(f"PRAGMA table_info({_q(table)})")}:
            own.add(table)
    return own


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ulid_time(ulid: str) -> datetime | None:
    """The creation time a ULID encodes (its first 10 characters: milliseconds since the epoch)."""
    try:
        ms = 0
        for ch in ulid[:10].upper():
            ms = ms * 32 + _CROCKFORD.index(ch)
        return datetime.fromtimestamp(ms / 1000, UTC) if len(ulid) == 26 else None
    except (ValueError, OverflowError, OSError):
        return None


def _buckets(model: str, inp: int, out: int, details: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Exclusive token buckets by the convention of the plugin that wrote ``token_details``."""

    def num(where: dict[str, Any], key: str, path: str = "") -> int:
        return _int(where.get(key), f"token_details.{path}{key}") or 0

    fields: dict[str, Any] = {"input_tokens": inp, "output_tokens": out}
    if any(k in details for k in _ANTHROPIC_KEYS):  # llm-anthropic: input excludes the cache
        read, write = num(details, "cache_read_input_tokens"), num(details, "cache_creation_input_tokens")
        split = _obj(details.get("cache_creation"))
        w5 = num(split, "ephemeral_5m_input_tokens", "cache_creation.")
        w1 = num(split, "ephemeral_1h_input_tokens", "cache_creation.")
        if write == 0:
            write = w5 + w1
        if w5 + w1 != write:
            extra["cache_write_split"] = "5m/1h split not given: all cache writes counted as 5m"
            w5, w1 = write, 0
        tier = details.get("service_tier")
        fields.update(
            cache_read_tokens=read,
            cache_write_5m_tokens=w5,
            cache_write_1h_tokens=w1,
            web_search_requests=num(_obj(details.get("server_tool_use")), "web_search_requests", "server_tool_use."),
            # as logged (an unknown tier is unpriced with its name, never standard); fast mode too
            service_tier=anthropic_tier(tier, details.get("speed"), details.get("inference_geo")),
        )
        extra["usage_convention"] = "anthropic: input_tokens excludes the cache"
        return fields
    cached_in = _obj(details.get("prompt_tokens_details")) or _obj(details.get("input_tokens_details"))
    reasoning_in = _obj(details.get("completion_tokens_details")) or _obj(details.get("output_tokens_details"))
    if cached_in or reasoning_in:  # OpenAI: input includes cached, output includes reasoning
        cached = num(cached_in, "cached_tokens", "prompt_tokens_details.")
        if cached > inp:
            raise _Bad(f"token_details: cached_tokens ({cached}) exceed input_tokens ({inp})")
        reasoning = num(reasoning_in, "reasoning_tokens", "completion_tokens_details.")
        if reasoning > out:
            raise _Bad(f"token_details: reasoning_tokens ({reasoning}) exceed output_tokens ({out})")
        fields.update(input_tokens=inp - cached, cache_read_tokens=cached, reasoning_tokens=reasoning)
        extra["usage_convention"] = "openai: input_tokens includes cached input"
        return fields
    lowered = model.lower()
    if "claude" in lowered or lowered.startswith("anthropic/"):
        extra["usage_convention"] = "anthropic: no cache used"
        # llm drops zero values: a call without the cache can still say its tier, speed and geo
        if any(k in details for k in ("service_tier", "speed", "inference_geo")):
            fields["service_tier"] = anthropic_tier(
                details.get("service_tier"), details.get("speed"), details.get("inference_geo")
            )
    elif details:
        extra["usage_convention"] = "unknown plugin: token_details kept as information only"
    return fields


def _event(table: str, row: dict[str, Any], titles: dict[str, str]) -> dict[str, Any]:
    event_id = _text(row["id"], "id")
    if event_id is None:
        raise _Bad("id: missing")
    if row["input_tokens"] is None or row["output_tokens"] is None:
        raise _Bad(NULL_USAGE)
    inp = _int(row["input_tokens"], "input_tokens") or 0
    out = _int(row["output_tokens"], "output_tokens") or 0
    details: Any = {}
    if row["token_details"] not in (None, ""):
        if not isinstance(row["token_details"], str):
            raise _Bad(f"token_details: not JSON text ({_show(row['token_details'])})")
        try:
            details = _loads(row["token_details"])
        except (ValueError, RecursionError):
            raise _Bad("token_details: not valid JSON") from None
        if not isinstance(details, dict):
            raise _Bad("token_details: not a JSON object")
    extra: dict[str, Any] = {"table": table}
    ts = _ts(row["datetime_utc"], "datetime_utc")
    if ts is None:
        ts = _ulid_time(event_id)
        if ts is None:
            raise _Bad("datetime_utc: missing (and the id is not a ULID)")
        extra["ts_from"] = "ULID id (datetime_utc missing)"
    model = _text(row["model"], "model")
    resolved = _text(row["resolved_model"], "resolved_model")
    if resolved and model and resolved != model:
        extra["model_alias"] = model
    fields = _buckets(resolved or model or "", inp, out, details, extra)
    if details:
        extra["token_details"] = details
    try:
        latency = _int(row["duration_ms"], "duration_ms")
    except _Bad as bad:
        latency, extra["duration_ms_ignored"] = None, str(bad)
    session = _text(row["session"], "conversation id")
    return {
        "event_id": "llm:" + event_id,
        "ts": ts,
        "source": "llm",
        "model_raw": resolved or model,
        "requests": 1,
        **fields,
        "session_id": session,
        "chat_title": titles.get(session) if session else None,
        "latency_ms": latency,
        "status": "success",
        "extra": extra,
    }


def _rows(con: sqlite3.Connection, table: str, session_col: str) -> Iterator[dict[str, Any]]:
    present = {r[1] for r in con.execute(f"PRAGMA table_info({_q(table)})")}
    cols = [f"{_q(c)} AS {_q(c)}" if c in present else f"NULL AS {_q(c)}" for c in _COLUMNS]
    session = f"{_q(session_col)} AS session" if session_col in present else "NULL AS session"
    sql = f"SELECT rowid AS rowid, {', '.join(cols)}, {session} FROM {_q(table)} ORDER BY rowid"
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    for values in cursor:
        yield dict(zip(names, values))


def _titles(con: sqlite3.Connection, tables: set[str]) -> dict[str, str]:
    titles: dict[str, str] = {}
    for _, _, names_table in _LAYOUTS:
        if names_table in tables:
            present = {r[1] for r in con.execute(f"PRAGMA table_info({_q(names_table)})")}
            if {"id", "name"} <= present:
                for key, name in con.execute(f'SELECT "id", "name" FROM {_q(names_table)}'):
                    if isinstance(key, str) and isinstance(name, str) and name.strip():
                        titles.setdefault(key, name.strip())
    return titles


def _raw(table: str, row: dict[str, Any]) -> str:
    values = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in row.items()}
    return _clean(json.dumps({"table": table, **values}, default=str, ensure_ascii=False))


def _read(path: Path, con: sqlite3.Connection) -> Iterator[Record]:
    found = _tables(con)
    tables = (found - {"turns", "responses"}) | _llm_tables(con, found)
    if "turns" not in tables and "responses" not in tables:
        named = sorted({"turns", "responses"} & found)
        if named:
            which = f"{named[0]} table has" if len(named) == 1 else f"{named[0]} and {named[1]} tables have"
            raise InputError(f"{path}: its {which} no id, model and datetime_utc columns: not an llm logs.db")
        raise InputError(f"{path}: no responses or turns table: not an llm logs.db")
    titles = _titles(con, tables)
    shadowed: set[str] = set()
    if {"turns", "responses"} <= tables:
        shadowed = {r[0] for r in con.execute('SELECT r."id" FROM responses r JOIN turns t ON t."id" = r."id"')}
    turn_fields: dict[str, dict[str, Any]] = {}
    rec = 0
    for table, session_col, _ in _LAYOUTS:
        if table not in tables:
            continue
        for row in _rows(con, table, session_col):
            rec += 1
            key = row["id"]
            if table == "responses" and key in turn_fields:  # the turn is the copy llm logs shows
                yield Record(rec, None, fields=dict(turn_fields[key]))
                continue
            try:
                fields = _event(table, row, titles)
            except _Bad as bad:
                # a database has no lines: the reason names the table and row (records are
                # numbered across both tables, turns first)
                where = f"{table} row {row['rowid']}: "
                yield Record(rec, None, problem=where + _clean(str(bad)), raw=_raw(table, row))
                continue
            if table == "turns" and key in shadowed:
                turn_fields[key] = fields
            yield Record(rec, None, fields=fields)


class _LlmLogsImporter:
    name = "llm"
    description = "simonw/llm logs.db (SQLite; legacy responses and llm 0.32 turns tables)"
    conflict = "keep"
    sniff_order = 20
    resumable = False  # a database, not an append-only log: sync reads it whole when it changed
    magic = _HEADER  # any other SQLite file is read (and refused) here under --format auto, never as CSV

    def sniff(self, path: Path, head: bytes) -> bool:
        if not head.startswith(_HEADER):
            return False
        try:
            con = _connect(path)
            try:
                return bool(_llm_tables(con, _tables(con)))
            finally:
                con.close()
        except Exception:
            return False

    def files(self, root: Path) -> list[Path]:
        return sorted(p for p in root.rglob("logs.db") if p.is_file())

    def read(self, path: Path) -> Iterator[Record]:
        con = _connect(path)
        try:
            yield from _read(path, con)
        except sqlite3.Error as exc:
            raise InputError(f"{path}: cannot read the SQLite database: {_clean(str(exc))[:200]}") from exc
        finally:
            con.close()


IMPORTER = _LlmLogsImporter()
