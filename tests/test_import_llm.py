"""simonw/llm logs.db importer: a fixture database built here from the documented schema
(docs/logging.md of llm 0.32: legacy ``responses`` + ``conversations``, new ``turns`` + ``threads``),
hand-worked totals, every trap of FORMATS.md section 7, privacy, idempotence, fuzzing.

Rates (PRICING.md, USD per 1M tokens): gpt-4o-mini 0.15 / out 0.60 / read 0.075; gpt-5 1.25 / 10 /
0.125; o4-mini 1.10 / 4.40 / 0.275; claude-sonnet-4-5 3 / 15 / read 0.30 / write 5m 3.75 / 1h 6,
web search $10 per 1k; claude-haiku-4-5 1 / 5; gemini-2.5-flash 0.30 / 2.50.

| rec | row | day (UTC) | trap | input | read | 5m | 1h | output (reasoning) | cost (micro-$) |
|---|---|---|---|---|---|---|---|---|---|
| 1 | T1 gpt-5 (Responses API) | 11-03 | input 3000 includes cached 2048 -> 952; reasoning 896 inside 1400 | 952 | 2048 | | | 1400 (896) | 1190+256+14000 = 15446 |
| 2 | T2 anthropic/claude-haiku-4-5 | 11-03 | 23:59:59.999+00:00; no cache option: no token_details | 850 | | | | 120 | 850+600 = 1450 |
| 3 | T3 o4-mini (Chat) | 11-04 | 00:00:00.000001; 4200 - 3072 cached = 1128; reasoning 1664 of 2300 | 1128 | 3072 | | | 2300 (1664) | 1240.8+844.8+10120 = 12205.6 |
| 4 | T4 local model | - | NULL usage: REJECTED | | | | | | |
| 5 | T5 anthropic/claude-sonnet-4-5 | 11-04 | input 300 excludes read 40000 + write 2000 (5m); 2 web searches | 300 | 40000 | 2000 | | 900 | 900+12000+7500+13500+20000 = 53900 |
| 6 | L1 gpt-4o-mini (llm 0.18) | - | NULL usage: REJECTED | | | | | | |
| 7 | L2 gpt-4o-mini (llm 0.19) | 2024-12-01 | naive 23:59:59.861204 is UTC; 1624 - 1024 cached | 600 | 1024 | | | 388 | 90+76.8+232.8 = 399.6 |
| 8 | L3 anthropic/claude-sonnet-4-5 | 11-02 | 1h cache write 4096 | 2100 | 12288 | | 4096 | 733 | 6300+3686.4+24576+10995 = 45557.4 |
| 9 | L4 = T1's id, NULL usage | - | legacy copy of a turn: a duplicate, not a reject | | | | | | |
| 10 | L5 gemini-flash-latest -> gemini-2.5-flash | 11-03 | unknown plugin keys (thoughtsTokenCount) kept as information | 5000 | | | | 1200 | 1500+3000 = 4500 |
"""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import query, run, run_json
from usagectl.errors import InputError
from usagectl.importers import registry
from usagectl.importers.llm_logs import IMPORTER, NULL_USAGE
from usagectl.models import EVENT_COLUMN_NAMES, EVENT_COLUMNS, Record

INTS = [c for c, kind in EVENT_COLUMNS if kind == "int"]
SCHEMA = """
CREATE TABLE "conversations" ("id" TEXT PRIMARY KEY, "name" TEXT, "model" TEXT);
CREATE TABLE "schemas" ("id" TEXT PRIMARY KEY, "content" TEXT);
CREATE TABLE "responses" ("id" TEXT PRIMARY KEY, "model" TEXT, "prompt" TEXT, "system" TEXT, "prompt_json" TEXT,
  "options_json" TEXT, "response" TEXT, "response_json" TEXT,
  "conversation_id" TEXT REFERENCES "conversations"("id"), "duration_ms" INTEGER, "datetime_utc" TEXT,
  "input_tokens" INTEGER, "output_tokens" INTEGER, "token_details" TEXT,
  "schema_id" TEXT REFERENCES "schemas"("id"), "resolved_model" TEXT, "reasoning" TEXT);
CREATE TABLE "messages" ("hash" TEXT PRIMARY KEY, "parent_hash" TEXT REFERENCES "messages"("hash"), "role" TEXT,
  "provider_metadata" TEXT);
CREATE TABLE "parts" ("id" INTEGER PRIMARY KEY, "message_hash" TEXT REFERENCES "messages"("hash"),
  "position" INTEGER, "type" TEXT, "tool_name" TEXT, "text" TEXT, "payload" TEXT);
CREATE TABLE "threads" ("id" TEXT PRIMARY KEY, "name" TEXT, "tip_message_hash" TEXT REFERENCES "messages"("hash"),
  "forked_from" TEXT REFERENCES "threads"("id"), "datetime_utc" TEXT);
CREATE TABLE "turns" ("id" TEXT PRIMARY KEY, "thread_id" TEXT REFERENCES "threads"("id"),
  "parent_message_hash" TEXT REFERENCES "messages"("hash"), "tip_message_hash" TEXT REFERENCES "messages"("hash"),
  "model" TEXT, "resolved_model" TEXT, "options_json" TEXT, "schema_id" TEXT REFERENCES "schemas"("id"),
  "input_tokens" INTEGER, "output_tokens" INTEGER, "token_details" TEXT, "duration_ms" INTEGER,
  "datetime_utc" TEXT);
"""
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PROMPT, REPLY = "Suggest a name for a pet pelican", "How about Percy? Pelicans suit a dignified name."
SECRET = "Write a haiku about our Postgres password hunter2"


def ulid(when: datetime, tail: str) -> str:
    """A ULID: 48-bit milliseconds since the epoch (10 characters) + 16 characters."""
    ms, out = int(when.timestamp() * 1000), ""
    for _ in range(10):
        ms, digit = divmod(ms, 32)
        out = CROCKFORD[digit] + out
    return (out + tail).lower()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


T1 = ulid(at("2025-11-03T08:01:12.402"), "PJ5V7X9Z1B3D5F7H")
T6 = ulid(at("2025-11-04T10:00:00"), "Q2W4E6R8T0Y2V4J6")
C1 = ulid(at("2024-07-18T15:46:10"), "C0NV0000000000A1")
C2 = ulid(at("2025-11-02T21:13:40"), "C0NV0000000000B2")
TH1 = ulid(at("2025-11-03T08:01:10.113"), "THREAD0000000001")
OPENAI_CHAT = (
    '{"prompt_tokens_details": {"cached_tokens": 3072}, "completion_tokens_details": {"reasoning_tokens": 1664}}'
)
ANTHROPIC_5M = json.dumps({
    "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 40000, "service_tier": "standard",
    "cache_creation": {"ephemeral_5m_input_tokens": 2000, "ephemeral_1h_input_tokens": 0},
    "server_tool_use": {"web_search_requests": 2},
})  # fmt: skip
ANTHROPIC_1H = json.dumps({
    "cache_creation_input_tokens": 4096, "cache_read_input_tokens": 12288, "service_tier": "standard",
    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 4096},
})  # fmt: skip
GEMINI = '{"candidatesTokenCount": 400, "thoughtsTokenCount": 800, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 5000}]}'
RESPONSES_API = '{"input_tokens_details": {"cached_tokens": 2048}, "output_tokens_details": {"reasoning_tokens": 896}}'

# (id, thread_id, model, resolved_model, input, output, token_details, duration_ms, datetime_utc)
TURNS = [
    (T1, TH1, "gpt-5", None, 3000, 1400, RESPONSES_API, 31450, "2025-11-03T08:01:12.402115+00:00"),
    (ulid(at("2025-11-03T23:59:59.999"), "7K2M4N6P8Q0R2S4T"), TH1, "anthropic/claude-haiku-4-5", None, 850, 120,
     None, 2210, "2025-11-03T23:59:59.999000+00:00"),
    (ulid(at("2025-11-04T00:00:00"), "8M3N5P7Q9R1S3T5V"), None, "o4-mini", None, 4200, 2300, OPENAI_CHAT, 15020,
     "2025-11-04T00:00:00.000001+00:00"),
    (ulid(at("2025-11-04T08:00:00"), "9N4P6Q8R0S2T4V6W"), TH1, "mlx-community/Llama-3.2-3B-Instruct-4bit", None,
     None, None, None, 5100, "2025-11-04T08:00:00.000000+00:00"),
    (ulid(at("2025-11-04T09:30:00.250"), "AP5Q7R9S1T3V5W7X"), TH1, "anthropic/claude-sonnet-4-5", None, 300, 900,
     ANTHROPIC_5M, 48800, "2025-11-04T09:30:00.250000+00:00"),
]  # fmt: skip
# (id, model, prompt, response, conversation_id, duration_ms, datetime_utc, input, output, token_details, resolved)
RESPONSES = [
    (ulid(at("2024-07-18T15:46:17.203"), "B1C3D5E7F9G1H3J5"), "gpt-4o-mini", SECRET, "Rows rest in the heap",
     C1, 1830, "2024-07-18T15:46:17.203946", None, None, None, None),
    (ulid(at("2024-12-01T23:59:59.861"), "C2D4E6F8G0H2J4K6"), "gpt-4o-mini", "Refactor this", "Here is a plan",
     C1, 2350, "2024-12-01T23:59:59.861204", 1624, 388, '{"prompt_tokens_details": {"cached_tokens": 1024}}', None),
    (ulid(at("2025-11-02T21:14:03.118"), "D3E5F7G9H1J3K5M7"), "anthropic/claude-sonnet-4-5", "Summarise these notes",
     "Three decisions", C2, 18250, "2025-11-02T21:14:03.118240+00:00", 2100, 733, ANTHROPIC_1H, None),
    (T1, "gpt-5", PROMPT, REPLY, None, 31450, "2025-11-03T08:01:12.402115+00:00", None, None, None, None),
    (ulid(at("2025-11-03T12:00:00"), "E4F6G8H0J2K4M6N8"), "gemini-flash-latest", "Explain ULIDs", "A ULID is",
     None, 9120, "2025-11-03T12:00:00.000000+00:00", 5000, 1200, GEMINI, "gemini-2.5-flash"),
]  # fmt: skip


def make_logs_db(path: Path, *, extra_turn: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.executescript(SCHEMA)
    con.executemany('INSERT INTO conversations VALUES (?, ?, ?)', [
        (C1, "Refactor the billing module", "gpt-4o-mini"), (C2, "Summarise meeting notes", "anthropic/claude-sonnet-4-5"),
    ])  # fmt: skip
    con.execute(
        "INSERT INTO messages VALUES ('b2:d6b0', NULL, 'user', NULL), ('b2:0f2c', 'b2:d6b0', 'assistant', NULL)"
    )
    con.execute("INSERT INTO parts (message_hash, position, type, text) VALUES ('b2:d6b0', 0, 'text', ?), "
                "('b2:0f2c', 0, 'text', ?)", [PROMPT, REPLY])  # fmt: skip
    con.execute("INSERT INTO threads VALUES (?, 'Pelican names', 'b2:0f2c', NULL, '2025-11-03T08:01:10.113000+00:00')",
                [TH1])  # fmt: skip
    turns = TURNS + ([(T6, None, "gpt-4o-mini", None, 500, 50, None, 840, None)] if extra_turn else [])
    con.executemany(
        "INSERT INTO turns (id, thread_id, model, resolved_model, input_tokens, output_tokens, token_details, "
        "duration_ms, datetime_utc, parent_message_hash, tip_message_hash) VALUES (?,?,?,?,?,?,?,?,?,'b2:d6b0','b2:0f2c')",
        turns,
    )
    con.executemany(
        "INSERT INTO responses (id, model, prompt, response, conversation_id, duration_ms, datetime_utc, "
        "input_tokens, output_tokens, token_details, resolved_model) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        RESPONSES,
    )
    con.commit()
    con.close()
    return path


def _report(db: Path, kind: str, since: str, until: str) -> Any:
    return run_json("report", *kind.split(), "--since", since, "--until", until, "--tz", "UTC", "--db", str(db))


def _tokens(row: dict[str, Any]) -> tuple[int, ...]:
    keys = ("requests", "input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens")
    return tuple(row[k] for k in (*keys, "output_tokens", "reasoning_tokens"))


def _row(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    return next(r for r in rows if r[key] == value)


def test_totals_per_day_and_model(tmp_path: Path, db_path: Path) -> None:
    logs = make_logs_db(tmp_path / "logs.db")
    out = run_json("import", str(logs), "--format", "llm", "--db", str(db_path))
    # 10 records: 7 events, T4 and L1 rejected (NULL usage), L4 a duplicate of T1
    assert (out["records"], out["imported"], out["duplicates"], out["rejected"]) == (10, 7, 1, 2)
    daily = _report(db_path, "daily", "2025-11-02", "2025-11-04")["rows"]
    d2 = _row(daily, "date", "2025-11-02")  # L3
    assert _tokens(d2) == (1, 2100, 12288, 0, 4096, 733, 0)
    assert d2["cost_usd"] == 0.045557  # 45557.4 micro-$
    d3 = _row(daily, "date", "2025-11-03")  # T1 L5 T2: input 952+5000+850, output 1400+1200+120
    assert _tokens(d3) == (3, 6802, 2048, 0, 0, 2720, 896)
    assert d3["cost_usd"] == 0.021396  # 15446+4500+1450
    d4 = _row(daily, "date", "2025-11-04")  # T3 T5: input 1128+300, read 3072+40000, output 2300+900
    assert _tokens(d4) == (2, 1428, 43072, 2000, 0, 3200, 1664)
    assert d4["cost_usd"] == 0.066106  # 12205.6+53900 = 66105.6
    old = _report(db_path, "daily", "2024-12-01", "2024-12-02")["rows"]  # L2, naive 23:59:59.861204 UTC
    assert _tokens(_row(old, "date", "2024-12-01")) == (1, 600, 1024, 0, 0, 388, 0)
    assert _row(old, "date", "2024-12-02")["requests"] == 0
    models = _report(db_path, "by model", "2024-12-01", "2025-11-04")
    assert models["totals"]["cost_usd"] == 0.133459  # 399.6+45557.4+21396+66105.6 = 133458.6
    sonnet = _row(models["rows"], "model", "claude-sonnet-4-5")  # L3 + T5
    assert _tokens(sonnet) == (2, 2400, 52288, 2000, 4096, 1633, 0)
    assert sonnet["cost_usd"] == 0.099457  # 45557.4 + 53900
    assert _row(models["rows"], "model", "gpt-4o-mini")["cost_usd"] == 0.0004  # 399.6
    assert _tokens(_row(models["rows"], "model", "gpt-5")) == (1, 952, 2048, 0, 0, 1400, 896)
    assert _row(models["rows"], "model", "gemini-2.5-flash")["cost_usd"] == 0.0045  # via resolved_model
    assert _row(models["rows"], "model", "claude-haiku-4-5")["cost_usd"] == 0.00145
    assert _row(models["rows"], "model", "o4-mini")["cost_usd"] == 0.012206  # 12205.6


def test_rows_map_sessions_titles_and_plugin_details(tmp_path: Path, db_path: Path) -> None:
    run_json("import", str(make_logs_db(tmp_path / "logs.db")), "--format", "llm", "--db", str(db_path))
    got = {r[0]: r[1:] for r in query(
        db_path, "SELECT event_id, ts, model_raw, session_id, chat_title, latency_ms, web_search_requests, "
        "service_tier, extra FROM events")}  # fmt: skip
    assert len(got) == 7 and all(k.startswith("llm:") for k in got)
    t1 = got["llm:" + T1]
    assert t1[:6] == (at("2025-11-03T08:01:12.402115"), "gpt-5", TH1, "Pelican names", 31450, 0)
    assert json.loads(t1[7])["table"] == "turns"  # the turn, not its legacy copy
    l2 = got["llm:" + RESPONSES[1][0]]
    assert l2[:5] == (at("2024-12-01T23:59:59.861204"), "gpt-4o-mini", C1, "Refactor the billing module", 2350)
    t5 = got["llm:" + TURNS[4][0]]
    assert (t5[5], t5[6]) == (2, "standard")
    l5 = got["llm:" + RESPONSES[4][0]]
    assert (l5[1], l5[2]) == ("gemini-2.5-flash", None)
    extra = json.loads(l5[7])
    assert extra["model_alias"] == "gemini-flash-latest" and extra["token_details"]["thoughtsTokenCount"] == 800
    assert extra["usage_convention"].startswith("unknown plugin")


def test_null_usage_is_rejected_with_a_reason_and_no_prompt_text(tmp_path: Path, db_path: Path) -> None:
    logs = make_logs_db(tmp_path / "logs.db")
    run_json("import", str(logs), "--format", "llm", "--db", str(db_path))
    rows = query(db_path, "SELECT file, line, record, reason, raw FROM rejects ORDER BY record")
    assert [r[:4] for r in rows] == [
        (str(logs.resolve()), None, 4, "turns row 4: " + NULL_USAGE),  # T4: turns are records 1-5
        (str(logs.resolve()), None, 6, "responses row 1: " + NULL_USAGE),  # L1: legacy responses are records 6-10
    ]
    raw = json.loads(rows[1][4])
    assert (raw["table"], raw["id"], raw["input_tokens"], raw["datetime_utc"]) == (
        "responses", RESPONSES[0][0], None, "2024-07-18T15:46:17.203946",
    )  # fmt: skip
    # privacy: no prompt or response text anywhere in the database
    dump = json.dumps(query(db_path, "SELECT * FROM events") + query(db_path, "SELECT * FROM rejects"), default=str)
    for text in (SECRET, PROMPT, REPLY, "Rows rest in the heap", "Three decisions", "hunter2"):
        assert text not in dump


def test_reimport_and_a_grown_copy_add_only_new_turns(tmp_path: Path, db_path: Path) -> None:
    logs = make_logs_db(tmp_path / "a" / "logs.db")
    run_json("import", str(logs), "--format", "llm", "--db", str(db_path))
    assert run_json("import", str(logs), "--format", "llm", "--db", str(db_path))["per_file"][0]["unchanged"]
    grown = make_logs_db(tmp_path / "b" / "logs.db", extra_turn=True)
    out = run_json("import", str(grown), "--format", "llm", "--db", str(db_path))
    # T6 new; 7 stored events + L4 (a copy of T1) are duplicates; T4 and L1 rejected again
    assert (out["records"], out["imported"], out["duplicates"], out["rejected"]) == (11, 1, 8, 2)
    # T6 has no datetime_utc: its ULID id says 2025-11-04T10:00:00Z
    ts, extra = query(db_path, f"SELECT ts, extra FROM events WHERE event_id = 'llm:{T6}'")[0]
    assert ts == at("2025-11-04T10:00:00") and json.loads(extra)["ts_from"].startswith("ULID")
    d4 = _row(_report(db_path, "daily", "2025-11-04", "2025-11-04")["rows"], "date", "2025-11-04")
    assert d4["cost_usd"] == 0.066211  # 66105.6 + T6 500x0.15 + 50x0.60 = 75+30 -> 66210.6


def test_directory_auto_format_and_legacy_only_databases(tmp_path: Path, db_path: Path) -> None:
    home = tmp_path / "home" / ".config" / "io.datasette.llm"
    logs = make_logs_db(home / "logs.db")
    assert registry.sniff(logs) == "llm"
    assert IMPORTER.files(tmp_path / "home") == [logs]
    out = run_json("import", str(tmp_path / "home"), "--format", "llm", "--db", str(db_path))
    assert out["imported"] == 7
    assert run_json("import", str(logs), "--db", str(tmp_path / "auto.duckdb"))["per_file"][0]["format"] == "llm"
    # llm 0.18 (migration m010 only: no token columns, no resolved_model): every row is unknown usage
    old = tmp_path / "old" / "logs.db"
    old.parent.mkdir()
    con = sqlite3.connect(old)
    con.executescript(
        'CREATE TABLE "conversations" ("id" TEXT PRIMARY KEY, "name" TEXT, "model" TEXT);'
        'CREATE TABLE "responses" ("id" TEXT PRIMARY KEY, "model" TEXT, "prompt" TEXT, "system" TEXT, '
        '"prompt_json" TEXT, "options_json" TEXT, "response" TEXT, "response_json" TEXT, "conversation_id" TEXT, '
        '"duration_ms" INTEGER, "datetime_utc" TEXT);'
    )
    con.execute("INSERT INTO responses (id, model, prompt, datetime_utc) VALUES ('01h82n0q9crqtnzmf13gkyxawg', "
                "'gpt-3.5-turbo', 'hi', '2023-08-17T20:53:58.133285')")  # fmt: skip
    con.commit()
    con.close()
    out = run_json("import", str(old), "--db", str(db_path))
    assert (out["per_file"][0]["format"], out["records"], out["rejected"]) == ("llm", 1, 1)


def test_files_that_are_not_llm_logs_fail_alone_with_a_reason(tmp_path: Path, db_path: Path) -> None:
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    con.commit()
    con.close()
    assert registry.sniff(other) is None
    result = run("import", str(other), "--format", "llm", "--db", str(db_path), expect=4)
    assert "no responses or turns table" in result.stderr
    junk = tmp_path / "logs.db"
    junk.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)
    result = run("import", str(junk), "--format", "llm", "--db", str(db_path), expect=4)
    assert str(junk) in result.stderr


def test_auto_gives_a_sqlite_file_that_is_no_llm_logs_db_the_llm_error_never_csv(tmp_path: Path) -> None:
    """QA: under --format auto another app's SQLite database, a logs.db cut short and a file of
    the 16-byte SQLite header alone were read as CSV (exit 0, NUL bytes echoed in a warning, junk
    rejects, or a silent 0). The header says SQLite: auto gives each the one-line error of
    --format llm, exit 4, and stores nothing."""
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE foo (x)")
    con.commit()
    con.close()
    full = tmp_path / "full.db"
    con = sqlite3.connect(full)
    con.execute("CREATE TABLE responses (id TEXT PRIMARY KEY, model TEXT, prompt TEXT, system TEXT, "
                "prompt_json TEXT, options_json TEXT, response TEXT, response_json TEXT, conversation_id TEXT, "
                "duration_ms INTEGER, datetime_utc TEXT, input_tokens INTEGER, output_tokens INTEGER, "
                "token_details TEXT)")  # fmt: skip
    for i in range(50):
        con.execute("INSERT INTO responses (id, model, datetime_utc, input_tokens, output_tokens) VALUES "
                    "(?, 'gpt-4o-mini', '2025-11-03T08:00:00+00:00', 100, 10)", [f"01K{i:023d}"])  # fmt: skip
    con.commit()
    con.close()
    cut = tmp_path / "cut.db"
    cut.write_bytes(full.read_bytes()[:5000])
    magic = tmp_path / "magic.db"
    magic.write_bytes(b"SQLite format 3\x00" + bytes(50))
    expected = {
        other: "no responses or turns table: not an llm logs.db",
        cut: "cannot read the SQLite database: database disk image is malformed",
        magic: "cannot read the SQLite database: file is not a database",
    }
    for path, problem in expected.items():
        errors = []
        for fmt in ("llm", "auto"):
            db = tmp_path / f"{path.stem}-{fmt}.duckdb"
            result = run("import", str(path), "--format", fmt, "--db", str(db), expect=4)
            errors.append(result.stderr.strip().splitlines()[-1])
            assert query(db, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM rejects)") == [(0, 0)]
            assert "warning" not in result.stderr and "\x00" not in result.stderr
        assert errors[0] == errors[1] == f"usagectl: error: 1 file could not be read: {path}: {problem}"
    assert registry.sniff(other) is None and registry.detect(other) == "llm"
    # named as a text format, the same database is refused whole (exit 4), as what it is; before,
    # litellm quoted its header bytes and jsonl stored slices of its pages as rejects
    for fmt in ("csv", "jsonl", "litellm"):
        result = run("import", str(other), "--format", fmt, "--db", str(tmp_path / f"{fmt}.duckdb"), expect=4)
        assert f"{other}: a SQLite database, not {fmt} text (an llm logs.db is read with --format llm" in result.stderr
        assert query(tmp_path / f"{fmt}.duckdb", "SELECT count(*) FROM rejects") == [(0,)]


# ---------------------------------------------------------------- fuzzing


def _check(records: list[Record]) -> None:
    for rec in records:
        if rec.problem is not None:
            assert rec.problem.encode("utf-8") and (rec.raw is None or rec.raw.encode("utf-8"))
            continue
        f = rec.fields
        assert set(f) <= set(EVENT_COLUMN_NAMES)
        assert isinstance(f["event_id"], str) and f["event_id"].startswith("llm:")
        assert isinstance(f["ts"], datetime) and f["ts"].tzinfo is not None
        for c in INTS:
            assert f.get(c) is None or (type(f[c]) is int and 0 <= f[c] < 2**63), (c, f.get(c))
        assert (f.get("reasoning_tokens") or 0) <= (f.get("output_tokens") or 0)
        json.dumps(f["extra"], default=str, allow_nan=False).encode("utf-8")
        for v in f.values():
            assert not isinstance(v, str) or v.encode("utf-8")


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        return str(value)  # SQLite integers are 64-bit: a huge number arrives as text
    return value


SQL_JUNK = st.one_of(
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.binary(max_size=10),
    st.sampled_from(["", "12.5", "2025-13-45T99:00", "{", "[]", '{"prompt_tokens_details": {"cached_tokens": 9e99}}',
                     '{"cache_creation": {"ephemeral_1h_input_tokens": -1}}', '{"cache_read_input_tokens": "x"}']),
)  # fmt: skip
COLUMNS = ("id", "model", "resolved_model", "input_tokens", "output_tokens", "token_details", "duration_ms",
           "datetime_utc", "thread_id")  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.integers(0, 4), st.sampled_from(COLUMNS), SQL_JUNK), max_size=10),
       data=st.binary(max_size=500))  # fmt: skip
def test_fuzz_wrong_types_huge_numbers_and_random_bytes(tmp_path: Path, changes: list[Any], data: bytes) -> None:
    logs = tmp_path / "fuzz.db"
    logs.unlink(missing_ok=True)
    make_logs_db(logs)
    con = sqlite3.connect(logs)
    for i, column, value in changes:
        table, col = ("turns", column) if i % 2 == 0 else ("responses", column.replace("thread_id", "conversation_id"))
        con.execute(f'UPDATE OR IGNORE {table} SET "{col}" = ? WHERE rowid = ?', [_sqlite_value(value), i + 1])
    con.commit()
    con.close()
    _check(list(IMPORTER.read(logs)))
    noise = tmp_path / "noise.db"
    noise.write_bytes(data)
    try:
        _check(list(IMPORTER.read(noise)))
    except InputError:
        pass  # not a database: a named error, never a crash


def test_fuzz_end_to_end_import_of_damaged_databases_exits_0_or_4(tmp_path: Path, db_path: Path) -> None:
    source = make_logs_db(tmp_path / "src" / "logs.db").read_bytes()
    rng = random.Random(20251104)
    for n in range(6):
        blob = bytearray(source)
        for _ in range(rng.randrange(1, 200)):
            blob[rng.randrange(100, len(blob))] = rng.randrange(256)
        path = tmp_path / f"damaged{n}.db"
        path.write_bytes(bytes(blob[: rng.randrange(len(blob) // 2, len(blob) + 1)]))
        result = run("import", str(path), "--format", "llm", "--db", str(db_path), expect=None)
        assert result.exit_code in (0, 4), (result.exit_code, result.exception, result.stderr)


def test_auto_format_finds_a_logs_db_inside_a_directory(tmp_path: Path, db_path: Path) -> None:
    """`import DIR` (auto) lists the files each format knows how to find, not only *.jsonl/*.csv."""
    root = tmp_path / "mixed"
    (root / "llm").mkdir(parents=True)
    make_logs_db(root / "llm" / "logs.db")
    out = run_json("import", str(root), "--db", str(db_path))
    assert [f["format"] for f in out["per_file"]] == ["llm"]
    assert out["imported"] > 0


def test_sync_sees_turns_that_a_writer_still_holds_in_the_wal(tmp_path: Path, db_path: Path) -> None:
    """llm keeps logs.db open in WAL mode: a new turn sits in logs.db-wal, the main file's size
    and mtime unchanged until a checkpoint. The sync's change check counts the -wal too."""
    logs = make_logs_db(tmp_path / "llm" / "logs.db")
    setup = sqlite3.connect(logs)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.close()
    run("source", "add", str(logs), "--name", "llm", "--db", str(db_path))
    run_json("sync", "--db", str(db_path))
    before = logs.stat()
    writer = sqlite3.connect(logs)  # held open: no checkpoint into logs.db
    try:
        writer.execute(
            "INSERT INTO turns (id, thread_id, model, resolved_model, input_tokens, output_tokens, token_details, "
            "duration_ms, datetime_utc, parent_message_hash, tip_message_hash) "
            "VALUES (?, NULL, 'gpt-4o-mini', NULL, 500, 50, NULL, 840, '2025-11-04T10:00:00+00:00', 'b2:d6b0', 'b2:0f2c')",
            [T6],
        )
        writer.commit()
        assert (logs.stat().st_size, logs.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
        assert (logs.parent / "logs.db-wal").stat().st_size > 0
        doc = run_json("sync", "--db", str(db_path))
        src = next(s for s in doc["sources"] if s["name"] == "llm")
        assert (src["read"], src["imported"]) == (1, 1)
        # the new turn as written: 500 input, 50 output
        assert query(db_path, f"SELECT input_tokens, output_tokens FROM events WHERE event_id LIKE '%{T6}%'") == [
            (500, 50)
        ]
    finally:
        writer.close()


def test_web_searches_of_a_call_without_cache_are_kept() -> None:
    """llm drops zero values from ``token_details``: an llm-anthropic call with web searches and no
    prompt cache logs only ``server_tool_use`` and ``service_tier``. Its 3 searches are kept (at
    $10 per 1k: $0.03 beside 2,000 x $3/M + 500 x $15/M = $0.0135), input as logged."""
    from usagectl.importers.llm_logs import _buckets

    extra: dict[str, Any] = {}
    details = {"server_tool_use": {"web_search_requests": 3}, "service_tier": "standard"}
    fields = _buckets("anthropic/claude-sonnet-4-5", 2000, 500, details, extra)
    assert fields == {
        "input_tokens": 2000, "output_tokens": 500, "cache_read_tokens": 0, "cache_write_5m_tokens": 0,
        "cache_write_1h_tokens": 0, "web_search_requests": 3, "service_tier": "standard",
    }  # fmt: skip
    assert extra == {"usage_convention": "anthropic: input_tokens excludes the cache"}


def test_llms_own_folder_imports_logs_db_and_never_reads_its_keys(tmp_path: Path, db_path: Path) -> None:
    """llm keeps ``keys.json`` (its API keys) and ``aliases.json`` beside ``logs.db``. `import DIR`
    under auto imports the logs and skips those files, named in a warning: read as events, each
    would be rejected and stored whole, key included, in ``rejects``. A canonical file in a folder
    still imports; a file named on its own is read whatever it holds."""
    import subprocess
    import sys

    home = tmp_path / "io.datasette.llm"
    make_logs_db(home / "logs.db")
    (home / "keys.json").write_text(
        '{"// Note": "This file stores secret API credentials.", "openai": "sk-proj-FAKE1"}'
    )
    (home / "aliases.json").write_text('{"4o": "gpt-4o"}')
    (home / "events.jsonl").write_text('{"ts": "2025-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 10}\n')
    res = subprocess.run(
        [sys.executable, "-m", "usagectl", "import", str(home), "--db", str(db_path), "--json"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert sorted(f["format"] for f in out["per_file"]) == ["jsonl", "llm"]
    assert "skipped 2 files that hold no usage events" in res.stderr and "aliases.json, keys.json" in res.stderr
    assert not [r for r in query(db_path, "SELECT raw FROM rejects") if "sk-proj" in str(r[0])]
    alone = run_json("import", str(home / "keys.json"), "--db", str(tmp_path / "alone.duckdb"))
    assert (alone["records"], alone["rejected"]) == (1, 1)


def test_another_apps_responses_table_is_not_an_llm_logs_db(tmp_path: Path) -> None:
    """QA: any SQLite file with a table named ``responses`` was read as llm's: a survey's
    ``responses(id, question, answer, created)`` gave its 3 rows as rejects ("usage not
    recorded") and exit 0. llm's tables have had ``id``, ``model`` and ``datetime_utc`` in every
    layout; a ``responses`` or ``turns`` table without them is another app's: exit 4, under
    --format llm and auto alike, nothing stored."""
    survey, cache = tmp_path / "survey.db", tmp_path / "http-cache.db"
    con = sqlite3.connect(survey)
    con.execute("CREATE TABLE responses (id INTEGER PRIMARY KEY, question TEXT, answer TEXT, created TEXT)")
    con.executemany(
        "INSERT INTO responses (question, answer, created) VALUES (?, 'a', '2025-11-03')", [("q1",), ("q2",), ("q3",)]
    )
    con.commit()
    con.close()
    con = sqlite3.connect(cache)
    con.execute("CREATE TABLE responses (code INTEGER, body TEXT)")
    con.execute("CREATE TABLE turns (n INTEGER)")
    con.execute("INSERT INTO responses VALUES (200, 'ok')")
    con.commit()
    con.close()
    expected = {
        survey: "its responses table has no id, model and datetime_utc columns: not an llm logs.db",
        cache: "its responses and turns tables have no id, model and datetime_utc columns: not an llm logs.db",
    }
    for path, problem in expected.items():
        assert registry.sniff(path) is None
        for fmt in ("llm", "auto"):
            db = tmp_path / f"{path.stem}-{fmt}.duckdb"
            result = run("import", str(path), "--format", fmt, "--db", str(db), expect=4)
            assert (
                result.stderr.strip().splitlines()[-1]
                == f"usagectl: error: 1 file could not be read: {path}: {problem}"
            )
            assert query(db, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM rejects)") == [(0, 0)]


def test_a_count_beyond_the_stores_bound_is_rejected_naming_its_table_and_row(tmp_path: Path, db_path: Path) -> None:
    """QA: every llm reject says which table and row (a database has no lines) but the one for a
    count over 10^15, left to the store's check, which does not know the row."""
    import sqlite3

    logs = make_logs_db(tmp_path / "logs.db")
    con = sqlite3.connect(logs)
    con.execute("UPDATE responses SET input_tokens = 100000000000000000 WHERE rowid = 2")
    con.commit()
    con.close()
    run_json("import", str(logs), "--format", "llm", "--db", str(db_path))
    reasons = [r[0] for r in query(db_path, "SELECT reason FROM rejects ORDER BY record")]
    assert "responses row 2: input_tokens: too large (over 10^15) (100000000000000000)" in reasons


def test_a_gzipped_logs_db_is_told_to_be_decompressed(tmp_path: Path, db_path: Path) -> None:
    """QA: ``logs.db.gz`` was recognised as llm's (from the decompressed head) and then opened
    compressed: "file is not a database". SQLite reads its file in place, so it says to gunzip."""
    import gzip

    logs = make_logs_db(tmp_path / "logs.db")
    packed = tmp_path / "logs.db.gz"
    packed.write_bytes(gzip.compress(logs.read_bytes()))
    for fmt in ("auto", "llm"):
        res = run("import", str(packed), "--format", fmt, "--db", str(db_path), expect=4)
        assert "a gzip-compressed SQLite database: decompress it first (gunzip -k logs.db.gz)" in res.stderr


def test_a_folder_names_an_llm_database_under_another_name(tmp_path: Path, db_path: Path) -> None:
    """QA: a folder read with --format auto lists llm's databases by their name, so
    ``logs-backup.db`` beside an events file was passed over silently. A warning names it; a
    SQLite file that is no llm log (``embeddings.db``) is not named, and the events file is read."""
    folder = tmp_path / "dir"
    make_logs_db(folder / "logs-backup.db")
    con = sqlite3.connect(folder / "embeddings.db")
    con.execute("CREATE TABLE embeddings (id TEXT, embedding BLOB)")
    con.commit()
    con.close()
    (folder / "events.jsonl").write_text(
        '{"ts": "2025-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1, "output_tokens": 1}\n'
    )
    res = run("import", str(folder), "--format", "auto", "--db", str(db_path))
    assert "skipped 1 llm database not named logs.db: logs-backup.db; give a file by name to import it" in res.stderr
    assert "embeddings.db" not in res.stderr
    assert query(db_path, "SELECT count(*) FROM events") == [(1,)]
