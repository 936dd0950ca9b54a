"""LiteLLM SpendLogs importer: fixtures with hand-worked totals (tests/data/litellm/EXPECTED.md),
every trap of FORMATS.md section 6, rejects, idempotence, sniffing and fuzzing."""

from __future__ import annotations

import csv
import io
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import query, run, run_json
from usagectl.errors import InputError
from usagectl.importers import registry
from usagectl.importers.litellm import IMPORTER
from usagectl.models import EVENT_COLUMN_NAMES, EVENT_COLUMNS, Record

DATA = Path(__file__).parent / "data" / "litellm"
CSV_FILE = DATA / "spendlogs.csv"
JSON_FILE = DATA / "spend_logs.json"
INTS = [c for c, kind in EVENT_COLUMNS if kind == "int"]


def _import(path: Path, db: Path, fmt: str = "litellm") -> Any:
    return run_json("import", str(path), "--format", fmt, "--db", str(db))


def _report(db: Path, kind: str, since: str, until: str) -> Any:
    args = ["report", *kind.split(), "--since", since, "--until", until, "--tz", "UTC", "--db", str(db)]
    return run_json(*args)


def _day(rows: list[dict[str, Any]], date: str) -> dict[str, Any]:
    return next(r for r in rows if r["date"] == date)


def _by(rows: list[dict[str, Any]], model: str) -> dict[str, Any]:
    return next(r for r in rows if r["model"] == model)


def _tokens(row: dict[str, Any]) -> tuple[int, ...]:
    keys = ("requests", "input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens")
    return tuple(row[k] for k in (*keys, "output_tokens", "reasoning_tokens"))


def _records(path: Path) -> dict[str, Record]:
    return {r.fields["event_id"].removeprefix("litellm:")[:12]: r for r in IMPORTER.read(path) if not r.problem}


# ---------------------------------------------------------------- totals


def test_csv_export_totals_per_day_and_model(db_path: Path) -> None:
    out = _import(CSV_FILE, db_path)
    assert (out["records"], out["imported"], out["duplicates"], out["rejected"]) == (9, 8, 0, 1)
    daily = _report(db_path, "daily", "2025-11-03", "2025-11-04")
    # 11-03: R1 R2 R3 R4(cache hit) R5(failure) R6(23:59:58.912): (requests, input, read, 5m, 1h, output, reasoning)
    # input 10+3200+5400+1210 = 9820; read 38400+9600+52000; write 6800+3100; output 980+450+2600+640
    d3 = _day(daily["rows"], "2025-11-03")
    assert _tokens(d3) == (6, 9820, 100000, 9900, 0, 4670, 1920)
    assert d3["total_tokens"] == 124390  # 9820+100000+9900+4670
    assert d3["cost_usd"] == 0.126425  # 0.05175+0.00147+0.03275+0.040455
    d4 = _day(daily["rows"], "2025-11-04")  # R7 R8
    assert _tokens(d4) == (2, 2700, 18000, 2000, 0, 710, 0)
    assert d4["cost_usd"] == 0.0159  # 0.0063+0.0096
    assert daily["totals"]["cost_usd"] == 0.142325
    # spend is kept as the reported cost: 0.05175+0.00147+0.03275+0+0+0.040455+0.0063+0.0096
    assert daily["totals"]["reported_cost_usd"] == 0.142325
    assert Decimal(str(daily["totals"]["reported_cost_usd"])) == _spend_sum(CSV_FILE, skip_line=7)
    models = _report(db_path, "by model", "2025-11-03", "2025-11-04")["rows"]
    assert _tokens(_by(models, "claude-sonnet-4-5")) == (2, 1220, 90400, 9900, 0, 1620, 0)
    assert _by(models, "claude-sonnet-4-5")["cost_usd"] == 0.092205  # 0.05175 + 0.040455
    assert _tokens(_by(models, "gpt-4o-mini")) == (2, 3200, 9600, 0, 0, 450, 0)  # the cache hit adds 0
    assert _by(models, "gpt-4o-mini")["cost_usd"] == 0.00147
    assert _tokens(_by(models, "gpt-5")) == (1, 5400, 0, 0, 0, 2600, 1920)
    assert _by(models, "gpt-5")["cost_usd"] == 0.03275  # 5400x1.25 + 2600x10: reasoning not added again
    assert _tokens(_by(models, "gpt-4o")) == (2, 2200, 0, 0, 0, 410, 0)  # the failure is a request
    assert _by(models, "gpt-4o")["cost_usd"] == 0.0096
    assert _tokens(_by(models, "claude-haiku-4-5")) == (1, 500, 18000, 2000, 0, 300, 0)
    assert _by(models, "claude-haiku-4-5")["cost_usd"] == 0.0063


def _spend_sum(path: Path, skip_line: int) -> Decimal:
    """Sum of the spend column read independently of the importer (Decimal from the text)."""
    total = Decimal(0)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            if reader.line_num != skip_line and row["cache_hit"] != "True":
                total += Decimal(row["spend"])
    return total


def test_overlapping_json_export_adds_only_new_requests(db_path: Path) -> None:
    _import(CSV_FILE, db_path)
    out = _import(JSON_FILE, db_path)
    # J1 = R2 and J2 = R6 by request_id: duplicates; J5 rejected; J3 J4 J6 new
    assert (out["records"], out["imported"], out["duplicates"], out["rejected"]) == (6, 3, 2, 1)
    daily = _report(db_path, "daily", "2025-11-03", "2025-11-05")
    assert _day(daily["rows"], "2025-11-03")["cost_usd"] == 0.126425  # unchanged
    d4 = _day(daily["rows"], "2025-11-04")  # R7 R8 J3 J4 (J4 starts 23:59:59.999Z)
    assert _tokens(d4) == (4, 4700, 48000, 3000, 4000, 980, 0)
    assert d4["cost_usd"] == 0.058416  # 0.0159 + 0.0423 + 0.000216
    d5 = _day(daily["rows"], "2025-11-05")  # J6: naive 2025-11-05T00:00:00 is UTC midnight
    assert _tokens(d5) == (1, 1600, 6400, 0, 0, 1500, 1024)
    assert d5["cost_usd"] == 0.0178
    # computed 0.202641 vs reported 0.193641: LiteLLM priced J3's 4000 1h writes at the 5m rate
    # (4000 x (6.00 - 3.75) / 1e6 = 0.009)
    assert daily["totals"]["cost_usd"] == 0.202641
    assert daily["totals"]["reported_cost_usd"] == 0.193641
    models = _report(db_path, "by model", "2025-11-03", "2025-11-05")["rows"]
    assert _tokens(_by(models, "claude-sonnet-4-5")) == (3, 2020, 120400, 10900, 4000, 1830, 0)
    assert _by(models, "claude-sonnet-4-5")["cost_usd"] == 0.134505
    assert _tokens(_by(models, "gpt-5")) == (2, 7000, 6400, 0, 0, 4100, 2944)
    assert _by(models, "gpt-5")["cost_usd"] == 0.05055
    assert _by(models, "gpt-4o-mini")["cost_usd"] == 0.001686  # 0.00147 + 0.000216


def test_directory_and_auto_format_find_both_exports(tmp_path: Path, db_path: Path) -> None:
    assert registry.sniff(CSV_FILE) == "litellm" and registry.sniff(JSON_FILE) == "litellm"
    out = run_json("import", str(DATA), "--db", str(db_path))  # --format auto
    assert [f["format"] for f in out["per_file"]] == ["litellm", "litellm"]
    assert (out["records"], out["imported"], out["duplicates"], out["rejected"]) == (15, 11, 2, 2)
    assert _report(db_path, "daily", "2025-11-03", "2025-11-05")["totals"]["cost_usd"] == 0.202641
    other = tmp_path / "other.duckdb"
    assert [Path(p).name for p in IMPORTER.files(DATA)] == ["spend_logs.json", "spendlogs.csv"]
    assert _import(DATA, other)["imported"] == 11


# ---------------------------------------------------------------- traps, row by row


def test_cache_hit_failure_and_attribution(db_path: Path) -> None:
    _import(CSV_FILE, db_path)
    cols = "input_tokens, cache_read_tokens, output_tokens, reported_cost_usd, status, error_type, requests, extra"
    hit = query(db_path, f"SELECT {cols} FROM events WHERE event_id LIKE 'litellm:chatcmpl-5d1f0c2e%'")
    assert hit[0][:7] == (0, 0, 0, Decimal(0), "success", None, 1)
    extra = json.loads(hit[0][7])
    assert extra["cached_response_tokens"] == {"prompt_tokens": 12800, "completion_tokens": 450, "total_tokens": 13250}
    assert extra["cache_hit"] == "True"
    fail = query(db_path, f"SELECT {cols} FROM events WHERE event_id LIKE 'litellm:b6f0e1a2%'")
    assert fail[0][:7] == (0, 0, 0, Decimal(0), "error", "RateLimitError", 1)
    assert json.loads(fail[0][7])["error"]["error_code"] == "429"
    # R2: user and team columns empty -> metadata.user_api_key_user_id / _team_id; key alias, tags, end user
    who = "member, team, api_key, session_id, latency_ms, provider, model_raw, ts, extra"
    r2 = query(db_path, f"SELECT {who} FROM events WHERE event_id LIKE 'litellm:chatcmpl-Bq1x9Zc4%'")[0]
    assert r2[:7] == ("bob@example.com", "team-data", "bob-ci", None, 3425, "openai", "gpt-4o-mini")
    assert r2[7] == datetime(2025, 11, 3, 14, 2, 11, 482000, tzinfo=UTC)
    e2 = json.loads(r2[8])
    assert e2["tags"] == ["env:prod", "job:nightly-etl"] and e2["end_user"] == "customer-4411"
    assert (e2["key_alias"], e2["call_type"], e2["organization_id"], e2["model_group"]) == (
        "bob-ci",
        "acompletion",
        "org-acme",
        "gpt-4o-mini",
    )
    r1 = query(db_path, f"SELECT {who} FROM events WHERE event_id LIKE 'litellm:chatcmpl-7f3e%'")[0]
    assert r1[:7] == ("alice@example.com", "team-platform", "alice-laptop", "sess-alice-01", 16527, "anthropic",
                      "claude-sonnet-4-5-20250929")  # fmt: skip
    assert "#15056" in json.loads(r1[8])["cache_write_split"]  # the 1h split is not logged
    # the exact spend of every row, never through float
    spends = dict(query(db_path, "SELECT event_id, reported_cost_usd FROM events"))
    assert spends["litellm:msg_01K7mQ2vX9cB4nR8tY3wZ6pL"] == Decimal("0.040455")


def test_input_conventions_are_decided_per_row() -> None:
    csv_rows, json_rows = _records(CSV_FILE), _records(JSON_FILE)
    buckets = ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "output_tokens")

    def got(rec: Record) -> tuple[int, ...]:
        return tuple(rec.fields.get(k) or 0 for k in buckets)

    # chat route: prompt 45210 includes the cache -> 45210 - 38400 - 6800 = 10
    assert got(csv_rows["chatcmpl-7f3"]) == (10, 38400, 6800, 0, 980)
    # anthropic_messages, prompt 1210 < 52000 + 3100: Anthropic convention, input = 1210
    assert got(csv_rows["msg_01K7mQ2v"]) == (1210, 52000, 3100, 0, 640)
    # anthropic_messages, prompt 20500 = 500 + 18000 + 2000: OpenAI convention, input = 500
    assert got(csv_rows["msg_01P3sD8f"]) == (500, 18000, 2000, 0, 300)
    # Anthropic's own usage shape: input_tokens 800 excludes the cache; the logged 1000/4000 split is used
    assert got(json_rows["msg_01Hq3Tz8"]) == (800, 30000, 1000, 4000, 210)
    assert json_rows["msg_01Hq3Tz8"].fields["reported_cost_usd"] == Decimal("0.0333")
    # no usage_object: input = prompt_tokens, said in extra
    r8 = csv_rows["chatcmpl-AaB"]
    assert got(r8) == (2200, 0, 0, 0, 410) and "usage_object" in r8.fields["extra"]["usage"]
    # reasoning is a part of output, never added: gpt-5 2600 output with 1920 reasoning
    r3 = csv_rows["chatcmpl-C5h"].fields
    assert (r3["output_tokens"], r3["reasoning_tokens"]) == (2600, 1920)


def test_a_cache_larger_than_a_prompt_that_holds_it_is_a_reject(tmp_path: Path) -> None:
    """FORMATS.md section 6: chat-completions call types count the cache inside prompt_tokens; only
    ``anthropic_messages`` may leave it out. So a chat call whose cache (5,000) exceeds its prompt
    (1,000) contradicts itself: a reject, never 1,000 + 5,000 input tokens. The same counts on an
    ``anthropic_messages`` call, or on a row of no call type to Anthropic, read Anthropic's way:
    1,000 uncached + 5,000 cache read. A row of no call type to OpenAI is a reject."""
    uo = '"{""usage_object"": {""prompt_tokens"": 1000, ""prompt_tokens_details"": {""cached_tokens"": 5000}}}"'
    head = "request_id,call_type,custom_llm_provider,startTime,prompt_tokens,completion_tokens,metadata,model\n"
    body = [
        f"r1,acompletion,openai,2025-11-03 10:00:00,1000,200,{uo},gpt-4o-mini",
        f"r2,anthropic_messages,anthropic,2025-11-03 10:00:00,1000,200,{uo},claude-sonnet-4-5",
        f"r3,,anthropic,2025-11-03 10:00:00,1000,200,{uo},claude-sonnet-4-5",
        f"r4,,azure,2025-11-03 10:00:00,1000,200,{uo},gpt-4o-mini",
        f"r5,acompletion,anthropic,2025-11-03 10:00:00,1000,200,{uo},claude-sonnet-4-5",
    ]
    path = tmp_path / "cache.csv"
    path.write_text(head + "\n".join(body) + "\n")
    got = {r.line: r for r in IMPORTER.read(path)}
    why = (
        "cache reads and writes in metadata.usage_object (5000) exceed prompt_tokens (1000), "
        "which holds them for call type {} of provider {}"
    )
    assert got[2].problem == why.format("acompletion", "openai")
    assert got[5].problem == why.format("(none)", "azure")
    assert got[6].problem == why.format("acompletion", "anthropic")
    for line in (3, 4):
        f = got[line].fields
        assert got[line].problem is None
        assert (f["input_tokens"], f["cache_read_tokens"], f["output_tokens"]) == (1000, 5000, 200)


@pytest.fixture
def tokyo_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.setenv("TZ", "UTC")  # what conftest set for every test
    time.tzset()


@pytest.mark.usefixtures("tokyo_local_time")
def test_naive_timestamps_are_utc_whatever_the_local_zone(db_path: Path) -> None:
    assert time.localtime(0).tm_hour == 9  # the process really runs in UTC+9 here
    r6 = _records(CSV_FILE)["msg_01K7mQ2v"].fields
    assert r6["ts"] == datetime(2025, 11, 3, 23, 59, 58, 912000, tzinfo=UTC)  # a day by startTime, not endTime
    _import(CSV_FILE, db_path)
    daily = _report(db_path, "daily", "2025-11-03", "2025-11-04")
    assert _day(daily["rows"], "2025-11-03")["requests"] == 6
    assert _day(daily["rows"], "2025-11-04")["requests"] == 2


def test_rejects_keep_file_line_and_reason_without_prompts(db_path: Path) -> None:
    _import(CSV_FILE, db_path)
    _import(JSON_FILE, db_path)
    rows = query(db_path, "SELECT file, line, record, reason, raw FROM rejects ORDER BY batch_id")
    assert rows[0][:4] == (
        str(CSV_FILE.resolve()),
        7,
        6,
        "expected 32 fields, found 33 (JSON columns such as metadata must be quoted, as psql \\copy ... CSV does)",
    )
    assert rows[0][4].startswith("chatcmpl-9Xk2Lm4Np6Qr8St0Uv1Wx3Yz5Ab,acompletion,")
    bad_line = next(i for i, t in enumerate(JSON_FILE.read_text().splitlines(), 1) if "chatcmpl-bad-tokens-01" in t)
    assert rows[1][:4] == (str(JSON_FILE.resolve()), bad_line - 1, 5, "prompt_tokens: not an integer (12.5)")
    raw = json.loads(rows[1][4])
    assert raw["request_id"] == "chatcmpl-bad-tokens-01" and "messages" not in raw and "response" not in raw


def test_columns_are_found_by_header_name(tmp_path: Path, db_path: Path) -> None:
    with CSV_FILE.open(newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    order = list(range(len(table[0])))
    random.Random(7).shuffle(order)
    shuffled = tmp_path / "shuffled.csv"
    with shuffled.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow([table[0][i].upper() for i in order])  # header case does not matter either
        for row in table[1:]:
            writer.writerow([row[i] for i in order] if len(row) == len(order) else row)
    fresh = tmp_path / "fresh.duckdb"
    assert _import(shuffled, fresh)["imported"] == 8
    assert _report(fresh, "daily", "2025-11-03", "2025-11-04")["totals"]["cost_usd"] == 0.142325
    # the same requests in other bytes add nothing to a database that has them
    _import(CSV_FILE, db_path)
    again = _import(shuffled, db_path)
    assert (again["imported"], again["duplicates"], again["rejected"]) == (0, 8, 1)


def test_import_twice_and_jsonl_copy_add_nothing(tmp_path: Path, db_path: Path) -> None:
    _import(CSV_FILE, db_path)
    _import(JSON_FILE, db_path)
    assert _import(CSV_FILE, db_path)["per_file"][0]["unchanged"] is True
    jsonl = tmp_path / "spend.jsonl"
    jsonl.write_text("\n".join(json.dumps(o) for o in json.loads(JSON_FILE.read_text())) + "\n")
    out = _import(jsonl, db_path)
    assert (out["records"], out["imported"], out["duplicates"], out["rejected"]) == (6, 0, 5, 1)
    assert query(db_path, "SELECT line FROM rejects ORDER BY batch_id DESC LIMIT 1") == [(5,)]
    assert query(db_path, "SELECT count(*) FROM events") == [(11,)]


def test_pages_appended_one_after_another_and_a_cut_array(tmp_path: Path) -> None:
    rows = json.loads(JSON_FILE.read_text())
    pages = tmp_path / "pages.json"  # curl page 1 >> pages.json; curl page 2 >> pages.json
    pages.write_text(json.dumps(rows[:2], indent=2) + "\n" + json.dumps(rows[2:]) + "\n")
    got = list(IMPORTER.read(pages))
    # page 1: "[" on line 1, J1 on lines 2-60, J3 on 61-116, "]" on 117; page 2 is one line: 118
    assert [(r.rec, r.line, r.problem) for r in got if r.problem] == [(5, 118, "prompt_tokens: not an integer (12.5)")]
    assert len(got) == 6
    cut = tmp_path / "cut.json"
    text = json.dumps(rows, indent=2)
    cut.write_text(text[: text.index('"chatcmpl-D7eF9gH1')])  # stops inside the 4th object
    got = list(IMPORTER.read(cut))
    assert [r.problem is None for r in got] == [True, True, True, False]
    assert got[3].problem is not None and got[3].problem.startswith("not valid JSON: ")
    assert got[3].problem.endswith("the rest of the file could not be read") and got[3].line == 169
    # cut right after a row's closing brace: every row is read, and the reject for the missing
    # "]" has no text to keep (it kept an empty one, which the fuzz test below found)
    cut.write_text(text.rstrip()[:-1].rstrip())
    got = list(IMPORTER.read(cut))
    assert len(got) == len(rows) + 1 and not any("not valid JSON" in (r.problem or "") for r in got[:-1])
    assert got[-1].problem is not None and "the array is not closed" in got[-1].problem and got[-1].raw is None


def test_ui_pages_appended_one_after_another(tmp_path: Path, db_path: Path) -> None:
    """``curl '.../spend/logs/ui?page=N' >> spend.json`` for each page: compact pages glued on one
    line (curl writes no newline), one page per line, or pretty-printed. Every row of every page
    is read, as from the single array: 6 records, the 12.5 prompt_tokens row rejected, 5 events
    (QA: each page was read as one row, "request_id: missing", and nothing was imported)."""
    rows = json.loads(JSON_FILE.read_text())

    def page(n: int, part: list[Any]) -> dict[str, Any]:
        return {"data": part, "total": len(rows), "page": n, "page_size": 3, "total_pages": 2}

    p1, p2 = page(1, rows[:3]), page(2, rows[3:])
    shapes = {
        "glued": json.dumps(p1) + json.dumps(p2),
        "lines": json.dumps(p1) + "\n" + json.dumps(p2) + "\n",
        "pretty": json.dumps(p1, indent=2) + "\n" + json.dumps(p2, indent=2) + "\n",
    }
    # the line each row starts on: a compact page's rows are on its line; pretty-printed, each
    # row's "{" opens a line of its own, indented 4 (inside "data": [ at 2)
    text = shapes["pretty"]
    pretty = [text.count("\n", 0, i) + 2 for i in range(len(text)) if text.startswith("\n    {", i)]
    lines = {"glued": [1] * 6, "lines": [1, 1, 1, 2, 2, 2], "pretty": pretty}
    for name, text in shapes.items():
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        got = list(IMPORTER.read(path))
        assert len(got) == 6, name
        bad = [(r.rec, r.line, r.problem) for r in got if r.problem]
        assert bad == [(5, lines[name][4], "prompt_tokens: not an integer (12.5)")], name
        assert [r.line for r in got] == lines[name], name
    out = _import(tmp_path / "glued.json", db_path, fmt="auto")
    assert (out["records"], out["imported"], out["rejected"]) == (6, 5, 1)
    assert _import(tmp_path / "pretty.json", db_path)["imported"] == 0  # the same rows: nothing added
    cut = tmp_path / "cut.json"  # the second page cut inside its last row: the rows before it are read
    text = shapes["lines"]
    cut.write_text(text[: text.index('"total"', text.index(rows[5]["request_id"])) - 30])
    got = list(IMPORTER.read(cut))
    assert [r.problem is None for r in got] == [True, True, True, True, False, False]
    assert got[5].problem is not None and got[5].problem.startswith("not valid JSON: ")
    assert got[5].problem.endswith("the rest of the file could not be read") and got[5].line == 2
    assert got[5].raw is not None and got[5].raw.startswith('{"request_id": "' + rows[5]["request_id"])
    assert "messages" not in got[5].raw and "response" not in got[5].raw  # the prompts are never copied
    # a page whose object is not closed: its rows are read; the reject holds the unread text
    unclosed = tmp_path / "unclosed.json"
    unclosed.write_text(json.dumps(p1)[:-1])
    got = list(IMPORTER.read(unclosed))
    assert [r.problem is None for r in got] == [True, True, True, False]
    assert got[3].raw is not None and '"page": 1' in got[3].raw and "event_id" not in got[3].raw
    # an array of arrays: every row of each
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps([rows[:2], rows[2:]]))
    assert [r.rec for r in IMPORTER.read(nested)] == [1, 2, 3, 4, 5, 6]
    # JSON Lines with a line that does not parse: its reject keeps the text before the prompts
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text(json.dumps(rows[0]) + "\n" + json.dumps(rows[1])[:-2] + "\n")
    got = list(IMPORTER.read(jsonl))
    assert got[1].problem is not None and got[1].problem.startswith("not valid JSON")
    assert got[1].raw is not None and rows[1]["request_id"] in got[1].raw and '"messages"' not in got[1].raw
    # a page then a plain array, and an array then a page: every row of both
    both = tmp_path / "both.json"
    for text in (json.dumps(p1) + json.dumps(rows[3:]), json.dumps(rows[:3]) + "\n" + json.dumps(p2)):
        both.write_text(text)
        assert [r.rec for r in IMPORTER.read(both)] == [1, 2, 3, 4, 5, 6]


def test_columns_and_metadata_keys_it_does_not_map_are_kept_in_extra(tmp_path: Path) -> None:
    """The rest of a row is kept (FORMATS: each importer keeps what it does not map in ``extra``):
    a column LiteLLM added later (``region``), ``cache_key`` and ``requester_ip_address``, and the
    metadata keys not mapped, under ``extra.metadata``; empty values are left out and prompts
    (``messages``, ``response``) are never copied."""
    meta = {"user_api_key_end_user_id": "cust-9", "requester_metadata": {"app": "billing-bot"},
            "user_api_key_org_id": "org-1", "user_api_key_alias": "ci-key", "headers": {}}  # fmt: skip
    path = tmp_path / "extra.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["request_id", "call_type", "spend", "prompt_tokens", "completion_tokens", "startTime", "model",
                    "metadata", "requester_ip_address", "cache_key", "messages", "status", "region", "shard"])  # fmt: skip
        w.writerow(["x1", "acompletion", "0.001", "100", "10", "2025-11-03 10:00:00", "gpt-4o-mini", json.dumps(meta),
                    "10.0.0.7", "ck-1", '[{"role": "user", "content": "secret"}]', "success", "eu-west-1", ""])  # fmt: skip
    (rec,) = list(IMPORTER.read(path))
    extra = rec.fields["extra"]
    assert (extra["region"], extra["cache_key"], extra["requester_ip_address"]) == ("eu-west-1", "ck-1", "10.0.0.7")
    assert extra["metadata"] == {"user_api_key_end_user_id": "cust-9", "requester_metadata": {"app": "billing-bot"}}
    assert (extra["organization_id"], rec.fields["api_key"]) == ("org-1", "ci-key")  # mapped, not repeated
    assert "shard" not in extra and "messages" not in extra and "secret" not in json.dumps(extra)


def test_a_column_spelled_in_another_case_never_replaces_the_column(tmp_path: Path) -> None:
    """``model`` is the column; ``Model`` / ``MODEL`` in the same row is another column, kept in
    ``extra`` under its own name, whatever the order (QA: the last spelling won: the wrong model,
    spend and id). Alone, a column in another case is still read as the column. A column named
    like a key the importer writes itself (``tags``) is kept under ``extra.columns``. A header
    naming one column twice is refused."""
    rows = json.loads(JSON_FILE.read_text())
    row = {k: v for k, v in rows[0].items() if k not in ("model", "spend", "request_id")}
    variants = tmp_path / "variants.json"
    variants.write_text(json.dumps([
        {"Model": "gpt-4o", "model": "gpt-4o-mini", "SPEND": 9.99, "spend": 0.001, "Request_ID": "x", "request_id": "r1", **row},
        {"REQUEST_ID": "r2", "Model": "gpt-4o", "spend": 0.002, **row},
    ]))  # fmt: skip
    first, second = (r.fields for r in IMPORTER.read(variants))
    assert (first["event_id"], first["model_raw"], first["reported_cost_usd"]) == (
        "litellm:r1",
        "gpt-4o-mini",
        Decimal("0.001"),
    )
    assert (first["extra"]["Model"], first["extra"]["SPEND"], first["extra"]["Request_ID"]) == ("gpt-4o", "9.99", "x")
    assert (second["event_id"], second["model_raw"]) == ("litellm:r2", "gpt-4o")
    header = ["request_id", "startTime", "model", "prompt_tokens", "completion_tokens", "request_tags", "MODEL", "tags"]
    cells = ["c1", "2025-11-03 10:00:00", "gpt-4o-mini", "100", "10", '["a"]', "gpt-4o", "mine"]
    path = tmp_path / "cols.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([header, cells])
    (rec,) = list(IMPORTER.read(path))
    assert (rec.fields["model_raw"], rec.fields["extra"]["MODEL"]) == ("gpt-4o-mini", "gpt-4o")
    assert (rec.fields["extra"]["tags"], rec.fields["extra"]["columns"]) == (["a"], {"tags": "mine"})
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([["request_id", "model", "model"], ["c1", "a", "b"]])
    with pytest.raises(InputError, match="names 'model' more than once"):
        list(IMPORTER.read(path))


def test_daily_aggregate_tables_are_refused(tmp_path: Path, db_path: Path) -> None:
    daily = tmp_path / "daily_user_spend.csv"
    daily.write_text(
        "id,user_id,date,api_key,model,model_group,custom_llm_provider,prompt_tokens,completion_tokens,"
        "cache_read_input_tokens,cache_creation_input_tokens,spend,api_requests,successful_requests,failed_requests\n"
        "5c1e,alice@example.com,2025-11-03,3a9c,gpt-4o-mini,gpt-4o-mini,openai,12800,450,9600,0,0.00147,2,2,0\n"
    )
    as_json = tmp_path / "daily.json"
    as_json.write_text(json.dumps([{"date": "2025-11-03", "api_requests": 2, "successful_requests": 2, "spend": 0.1}]))
    for path, fmt in ((daily, "litellm"), (daily, "auto"), (as_json, "litellm")):
        result = run("import", str(path), "--format", fmt, "--db", str(db_path), expect=4)
        assert "daily aggregate table" in result.stderr and "count them twice" in result.stderr
    assert query(db_path, "SELECT count(*) FROM events") == [(0,)]


def test_spend_text_is_exact_and_bad_values_are_reasons(tmp_path: Path) -> None:
    head = "request_id,startTime,spend,prompt_tokens,completion_tokens,metadata,status,model\n"
    body = [
        'r1,2025-11-03 10:00:00.5,5.175e-05,10,2,"{""usage_object"": {""prompt_tokens"": 10}}",success,gpt-4o',
        "r2,2025-11-03 10:00:00,0.1,-40,2,,success,gpt-4o",
        "r3,yesterday,0.1,1,2,,success,gpt-4o",
        'r4,2025-11-03 10:00:00,0.1,1,2,"{""usage_object"": ",success,gpt-4o',
        "r5,2025-11-03 10:00:00,NaN,1,2,,success,gpt-4o",
        ",2025-11-03 10:00:00,0.1,1,2,,success,gpt-4o",
        "r7,2025-11-03 10:00:00,0.1,1,99999999999999999999,,success,gpt-4o",
        "r8,2025-11-03 10:00:00,0.1,1,2,,pending,gpt-4o",
    ]
    path = tmp_path / "small.csv"
    path.write_text(head + "\n".join(body) + "\n")
    got = list(IMPORTER.read(path))
    assert got[0].fields["reported_cost_usd"] == Decimal("0.00005175")
    assert got[0].fields["ts"] == datetime(2025, 11, 3, 10, 0, 0, 500000, tzinfo=UTC)
    assert [(r.line, r.problem) for r in got[1:]] == [
        (3, "prompt_tokens: negative (-40)"),
        (4, "startTime: not a timestamp (yesterday)"),
        (5, "metadata: not valid JSON: Expecting value (column 18)"),  # 17 characters, then the end
        (6, "spend: not a number (NaN)"),
        (7, "request_id: missing (it is the primary key of LiteLLM_SpendLogs)"),
        (8, "completion_tokens: too large (over 10^15) (99999999999999999999)"),
        (9, "status: unknown value (pending); expected success or failure"),
    ]


def test_token_counts_in_every_spelling_and_a_metadata_with_a_bom(tmp_path: Path) -> None:
    """Counts are read the same way whether plain digits (the quick path) or not: signs, leading
    zeros, ``.0``, another script's digits and the store's bound of 10^15 (beyond it the reader
    rejects the row, naming its column); usage_object integers likewise. A metadata text that
    starts with a byte order mark is named as such."""
    head = "request_id,startTime,prompt_tokens,completion_tokens,metadata\n"
    uo = '"{""usage_object"": {""prompt_tokens"": %s, ""completion_tokens"": 1}}"'
    body = [
        "a,2025-11-03 10:00:00,0012,7,",  # leading zeros
        "b,2025-11-03 10:00:00,+12,7.0,",  # a sign, an integral decimal
        "c,2025-11-03 10:00:00,\u0661\u0662,7,",  # Arabic-Indic digits: 12 to Decimal (and int) as well
        "d,2025-11-03 10:00:00,1000000000000000,0,",  # 10^15: 16 digits
        "e,2025-11-03 10:00:00,1000000000000001,0,",  # 10^15 + 1
        "f,2025-11-03 10:00:00,,," + uo % "1000000000000000",
        "g,2025-11-03 10:00:00,,," + uo % "9223372036854775808",  # 2**63
        "h,2025-11-03 10:00:00,,," + uo % "-3",
        'i,2025-11-03 10:00:00,1,1,"\ufeff{}"',
    ]
    path = tmp_path / "counts.csv"
    path.write_text(head + "\n".join(body) + "\n", encoding="utf-8")
    got = {r.line: r for r in IMPORTER.read(path)}
    assert got[2].fields["input_tokens"] == 12 and got[2].fields["output_tokens"] == 7
    assert got[3].fields["input_tokens"] == 12 and got[3].fields["output_tokens"] == 7
    assert got[4].fields["input_tokens"] == 12
    assert got[5].fields["input_tokens"] == 10**15
    assert got[6].problem == "prompt_tokens: too large (over 10^15) (1000000000000001)"
    assert got[7].fields["input_tokens"] == 10**15
    assert got[8].problem == "metadata.usage_object.prompt_tokens: too large (over 10^15) (9223372036854775808)"
    assert got[9].problem == "metadata.usage_object.prompt_tokens: negative (-3)"
    assert got[10].problem == "metadata: not valid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig) (column 1)"


def test_a_row_with_bytes_that_are_not_utf8_is_rejected_and_the_others_imported(tmp_path: Path, db_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        b"request_id,startTime,prompt_tokens,completion_tokens,user,model\n"
        b"r1,2025-11-03 10:00:00,10,2,alice,gpt-4o\n"
        b"r2,2025-11-03 10:00:00,10,2,Ren\xe9,gpt-4o\n"
        b"r3,2025-11-03 10:00:00,10,2,bob,gpt-4o\n"
    )
    out = _import(path, db_path)
    assert (out["imported"], out["rejected"]) == (2, 1)
    assert query(db_path, "SELECT line, reason FROM rejects") == [(3, "not valid UTF-8 text")]
    assert query(db_path, "SELECT member FROM events ORDER BY member") == [("alice",), ("bob",)]


# ---------------------------------------------------------------- fuzzing


def _check(records: Iterator[Record]) -> None:
    """Every record is either a reason or fields the store accepts as they are."""
    for rec in records:
        assert rec.rec >= 1
        if rec.problem is not None:
            assert rec.problem and rec.problem.encode("utf-8")
            assert rec.raw is None or rec.raw.encode("utf-8")
            continue
        f = rec.fields
        assert set(f) <= set(EVENT_COLUMN_NAMES)
        assert isinstance(f["event_id"], str) and f["event_id"].startswith("litellm:") and f["event_id"].encode()
        assert isinstance(f["ts"], datetime) and f["ts"].tzinfo is not None
        for c in INTS:
            assert f.get(c) is None or (type(f[c]) is int and 0 <= f[c] < 2**63), (c, f.get(c))
        assert (f.get("reasoning_tokens") or 0) <= (f.get("output_tokens") or 0)
        assert f["status"] in ("success", "error")
        assert f.get("reported_cost_usd") is None or f["reported_cost_usd"].is_finite()
        json.dumps(f["extra"], default=str, allow_nan=False).encode("utf-8")
        for v in f.values():
            assert not isinstance(v, str) or v.encode("utf-8")


def _read_all(path: Path) -> None:
    try:
        _check(IMPORTER.read(path))
    except InputError:
        pass  # the whole file is unreadable: a named error, never a crash


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", "1e999999", "-0", "12.5", "NaN", "2025-13-45 99:00", '{"usage_object": 5}', "True"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["prompt_tokens", "cache_read_input_tokens", "input_tokens"]), st.integers()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000), cut=st.integers(min_value=0, max_value=20000), seed=st.integers(0, 2**32))
def test_fuzz_bytes_and_truncated_exports_never_crash(tmp_path: Path, data: bytes, cut: int, seed: int) -> None:
    raw = tmp_path / "random.csv"
    raw.write_bytes(data)
    _read_all(raw)
    for source, suffix in ((CSV_FILE, ".csv"), (JSON_FILE, ".json")):
        text = source.read_bytes()
        chopped = tmp_path / ("chopped" + suffix)
        chopped.write_bytes(text[: cut % (len(text) + 1)] + data[:50])
        _read_all(chopped)
    lines = CSV_FILE.read_bytes().splitlines(keepends=True)
    rng = random.Random(seed)
    lines[rng.randrange(1, len(lines))] = data[:200] + b"\n"
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(b"".join(lines))
    _read_all(mixed)


# the usage_object keys the importer reads (a number as inference_geo once failed the whole file)
USAGE_KEYS = ("inference_geo", "service_tier", "speed", "cache_creation", "cache_creation_input_tokens",
              "cache_read_input_tokens", "input_tokens", "output_tokens", "prompt_tokens_details",
              "completion_tokens_details", "server_tool_use", "prompt_tokens", "completion_tokens")  # fmt: skip
# where a value goes: a row column (a-h: the columns the importer reads), a usage_object key
# ("uo:" + a key it reads, or any text), or any other column
WHERE = st.one_of(
    st.sampled_from("abcdefgh"),
    st.sampled_from([f"uo:{k}" for k in USAGE_KEYS]),
    st.text(min_size=1, max_size=20).map(lambda t: "uo:" + t),
    st.text(min_size=1, max_size=20),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.integers(0, 5), WHERE, JUNK), max_size=8))
def test_fuzz_wrong_types_and_huge_numbers(tmp_path: Path, changes: list[tuple[int, str, Any]]) -> None:
    rows = json.loads(JSON_FILE.read_text())
    keys = ["prompt_tokens", "spend", "startTime", "metadata", "cache_hit", "status", "request_id", "model"]
    for i, key, value in changes:
        target = rows[i]
        if key[0] in "abcdefgh":
            target[keys[ord(key[0]) - ord("a")]] = value
        elif key.startswith("uo:") and isinstance(target.get("metadata"), dict):
            target["metadata"].setdefault("usage_object", {})[key[3:]] = value
        else:
            target[key] = value
    path = tmp_path / "typed.json"
    path.write_text(json.dumps(rows, default=str))
    _read_all(path)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(list(rows[0]))
    for row in rows:
        writer.writerow([json.dumps(v) if isinstance(v, dict | list) else v for v in row.values()])
    as_csv = tmp_path / "typed.csv"
    as_csv.write_text(buf.getvalue())
    _read_all(as_csv)


def test_an_empty_service_tier_is_standard_not_an_empty_name(tmp_path: Path) -> None:
    """Hypothesis found it: a usage object with ``"service_tier": ""`` (or blanks) gave the field
    the empty text; absent or empty, the tier is standard (None), for OpenAI-style rows and
    Anthropic ones alike."""
    rows = json.loads(JSON_FILE.read_text())
    for row, tier in zip(rows, ["", "  ", "", "  ", "", ""], strict=False):
        if isinstance(row.get("metadata"), dict):
            row["metadata"].setdefault("usage_object", {})["service_tier"] = tier
    path = tmp_path / "empty-tier.json"
    path.write_text(json.dumps(rows))
    tiers = [r.fields.get("service_tier") for r in IMPORTER.read(path) if r.fields]
    assert tiers == [None] * 5  # the fixture's 5 rows that parse, each now standard
    _read_all(path)


def test_fuzz_end_to_end_import_exits_0_or_4(tmp_path: Path, db_path: Path) -> None:
    rng = random.Random(20251103)
    source = CSV_FILE.read_bytes() + JSON_FILE.read_bytes()
    for n in range(6):
        blob = bytearray(source[: rng.randrange(len(source))])
        for _ in range(rng.randrange(1, 40)):
            blob[rng.randrange(len(blob))] = rng.randrange(256)
        path = tmp_path / f"fuzz{n}.{'csv' if n % 2 else 'json'}"
        path.write_bytes(bytes(blob))
        result = run("import", str(path), "--format", "litellm", "--db", str(db_path), expect=None)
        assert result.exit_code in (0, 4), (result.exit_code, result.exception, result.stderr)


def test_a_csv_without_call_type_is_detected_as_litellm(tmp_path: Path, db_path: Path) -> None:
    """request_id + spend + startTime (a SELECT of some SpendLogs columns, or a UI export)
    are LiteLLM's names: auto-detected, not read as a canonical CSV with every row "missing ts"."""
    f = tmp_path / "subset.csv"
    f.write_text(
        "request_id,model,spend,prompt_tokens,completion_tokens,total_tokens,startTime,endTime,user,status\n"
        "r-1,gpt-4o-mini,0.00021,1000,100,1100,2025-11-06 10:00:00.000,2025-11-06 10:00:01.000,alice,success\n"
        "r-2,gpt-4o-mini,0.00021,1000,100,1100,2025-11-06T10:00:00+02:00,2025-11-06 10:00:01.000,bob,success\n"
    )
    assert registry.sniff(f) == "litellm"
    out = run_json("import", str(f), "--db", str(db_path))
    assert (out["imported"], out["rejected"]) == (2, 0)
    # by hand: 1000 prompt tokens (no cache) and 100 completion tokens each; r-2's 10:00+02:00 is 08:00 UTC
    assert query(db_path, "SELECT event_id, strftime(ts AT TIME ZONE 'UTC', '%H:%M'), input_tokens, output_tokens "
                  "FROM events ORDER BY ts") == [("litellm:r-2", "08:00", 1000, 100), ("litellm:r-1", "10:00", 1000, 100)]  # fmt: skip


def test_an_unclosed_quote_rejects_its_row_and_the_rows_after_it_are_read(tmp_path: Path, db_path: Path) -> None:
    """r1's ``user`` opens a quote that is never closed: r1 is rejected at its line, r2 and r3
    are not swallowed into r1's user."""
    f = tmp_path / "unclosed.csv"
    f.write_text(
        "request_id,spend,prompt_tokens,completion_tokens,startTime,model,status,user\n"
        'r1,0.1,100,10,2025-11-03 10:00:00,gpt-4o-mini,success,"alice\n'
        "r2,0.2,200,20,2025-11-03 10:00:00,gpt-4o-mini,success,bob\n"
        "r3,0.4,400,40,2025-11-03 10:00:00,gpt-4o-mini,success,carol\n"
    )
    out = _import(f, db_path)
    assert (out["records"], out["imported"], out["rejected"]) == (3, 2, 1)
    # by hand: r2 + r3 = 200 + 400 prompt tokens (no usage_object: all uncached input), 20 + 40
    # completion tokens, spend 0.2 + 0.4
    assert query(db_path, "SELECT sum(input_tokens), sum(output_tokens), sum(reported_cost_usd) FROM events") == [
        (600, 60, Decimal("0.6"))
    ]
    rows = query(db_path, "SELECT line, record, reason FROM rejects")
    assert rows == [(2, 1, "unclosed quote (the field runs to the end of the file)")]


def test_auto_tells_litellm_exports_from_canonical_files_that_share_column_names(tmp_path: Path) -> None:
    """A canonical JSONL keeping a gateway's ``request_id`` and ``spend`` as extra keys has ``ts``,
    not LiteLLM's ``startTime``: it is canonical. A SpendLogs CSV selected without ``spend`` and
    ``call_type`` still has LiteLLM's own ``request_id``, ``startTime`` and ``prompt_tokens``."""
    from usagectl.importers import registry

    canon = tmp_path / "gateway.jsonl"
    canon.write_text(
        '{"ts":"2026-11-03T10:00:00Z","model_raw":"gpt-4o","input_tokens":1000,"request_id":"gw-1","spend":0.0035}\n'
    )
    spend_logs = tmp_path / "nospend.csv"
    spend_logs.write_text(
        "request_id,startTime,model,prompt_tokens,completion_tokens,user\n"
        "r1,2026-11-03 10:00:00,gpt-4o,1000,100,alice\n"
    )
    assert (registry.detect(canon), registry.detect(spend_logs)) == ("jsonl", "litellm")
    out = run_json("import", str(canon), str(spend_logs), "--db", str(tmp_path / "u.duckdb"))
    assert (out["records"], out["imported"], out["rejected"]) == (2, 2, 0)


def test_a_utf16_export_is_named_as_such_and_the_other_files_are_imported(tmp_path: Path) -> None:
    """Windows PowerShell 5 writes ``ConvertTo-Json > spend.json`` as UTF-16 with a byte order
    mark: read as UTF-8 every line was a reject (auto) or "no request_id column" (litellm). It is
    one error naming the file and its encoding, exit 4, and a UTF-8 file beside it is imported."""
    import subprocess
    import sys

    rows = [{"request_id": "r1", "startTime": "2026-11-03T10:00:00", "model": "gpt-4o", "spend": 0.01,
             "prompt_tokens": 1000, "completion_tokens": 100, "call_type": "completion"}]  # fmt: skip
    utf16 = tmp_path / "spend.json"
    utf16.write_bytes(json.dumps(rows, indent=2).replace("\n", "\r\n").encode("utf-16"))
    assert utf16.read_bytes()[:2] == b"\xff\xfe"
    good = tmp_path / "events.jsonl"
    good.write_text('{"ts": "2026-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 5}\n')
    for fmt in ("auto", "litellm"):
        db = tmp_path / f"{fmt}.duckdb"
        files = [str(utf16), str(good)] if fmt == "auto" else [str(utf16)]
        res = subprocess.run([sys.executable, "-m", "usagectl", "import", *files, "--format", fmt, "--db", str(db)],
                             capture_output=True, text=True)  # fmt: skip
        assert res.returncode == 4, res.stderr
        assert f"{utf16}: UTF-16 text (it starts with a UTF-16 byte order mark); usagectl reads UTF-8" in res.stderr
        if fmt == "auto":
            assert "Imported 1 event from 2 files" in res.stderr


def test_degenerate_files_and_a_boolean_cache_hit(tmp_path: Path, db_path: Path) -> None:
    """A file of blank lines holds nothing (as an empty file does), never a header named ""; a
    binary file is no CSV (its header is not UTF-8 text); a JSON export's ``"cache_hit": true``
    is LiteLLM's own cache, as the table's "True" is: no billed tokens, the copied counts (1,000 +
    50) kept in extra."""
    blank = tmp_path / "blank.csv"
    blank.write_text("\n  \n\n")
    assert list(IMPORTER.read(blank)) == []
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes([0x9C, 0xFF, 0x41, 0xFE, 0x0A, 0x80]) * 10)
    with pytest.raises(
        InputError, match=r"line 1: binary data \(bytes that are not UTF-8 text\), not CSV text, not a LiteLLM"
    ):
        list(IMPORTER.read(junk))
    row = {"request_id": "hit-1", "call_type": "acompletion", "startTime": "2025-11-03T10:00:00Z", "model": "gpt-4o",
           "prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050, "spend": 0, "cache_hit": True}  # fmt: skip
    page = tmp_path / "hit.json"
    page.write_text(json.dumps([row]))
    [rec] = list(IMPORTER.read(page))
    assert rec.problem is None
    assert (rec.fields.get("input_tokens") or 0, rec.fields.get("output_tokens") or 0) == (0, 0)
    assert rec.fields["extra"]["cached_response_tokens"] == {
        "prompt_tokens": 1000,
        "completion_tokens": 50,
        "total_tokens": 1050,
    }


def test_a_lone_surrogate_in_a_json_row_is_a_reject_not_a_crash(tmp_path: Path, db_path: Path) -> None:
    """QA: ``"completion_tokens": "\\ud800"`` (a lone surrogate escape, no UTF-8 text) ended the
    import with "unexpected error: UnicodeEncodeError" (exit 1) and nothing of the file stored:
    the reject's reason quoted the value through a cleaner that only knew surrogate-escaped bytes.
    Now that row is a reject quoting U+FFFD, and the file's other row (10 in, 5 out) is stored;
    a lone surrogate in a text field (the end user) is stored as U+FFFD."""
    row = {"request_id": "req-1", "call_type": "acompletion", "spend": 0.001, "prompt_tokens": 10,
           "completion_tokens": 5, "startTime": "2025-11-03T14:02:11Z", "endTime": "2025-11-03T14:02:12Z",
           "model": "gpt-4o-mini", "custom_llm_provider": "openai", "metadata": {}}  # fmt: skip
    bad = dict(row, request_id="req-2", completion_tokens="\ud800")
    odd = dict(row, request_id="req-3", end_user="bob\ud800")
    path = tmp_path / "spend.json"
    path.write_text(json.dumps([row, bad, odd]), encoding="ascii")
    for fmt in ("litellm", "auto"):
        db = tmp_path / f"{fmt}.duckdb"
        out = _import(path, db, fmt)
        assert (out["records"], out["imported"], out["rejected"]) == (3, 2, 1)
        assert query(db, "SELECT reason FROM rejects") == [("completion_tokens: not a number (\ufffd)",)]
        assert query(db, "SELECT event_id, output_tokens FROM events ORDER BY 1") == [
            ("litellm:req-1", 5),
            ("litellm:req-3", 5),
        ]
        assert query(
            db, "SELECT json_extract_string(extra, '$.end_user') FROM events WHERE event_id = 'litellm:req-3'"
        ) == [("bob\ufffd",)]


def test_auto_reads_a_canonical_csv_with_litellm_columns_as_canonical(tmp_path: Path, db_path: Path) -> None:
    """QA: a canonical CSV that keeps ``request_id``, ``spend`` and ``startTime`` as extra columns
    was read by --format auto as LiteLLM: no model, 0 tokens, unpriced, no warning. Its ``ts``
    column tells it apart (LiteLLM's tables have none). By hand: gpt-4o, 1,000,000 in at $2.50/M
    + 100,000 out at $10/M = $3.50, as --format csv reads it."""
    path = tmp_path / "canon.csv"
    path.write_text(
        "ts,model_raw,input_tokens,output_tokens,request_id,spend,startTime\n"
        "2026-05-01T00:00:00Z,gpt-4o,1000000,100000,r1,3.5,2026-05-01T00:00:00Z\n"
    )
    assert registry.sniff(path) is None
    out = _import(path, db_path, "auto")
    assert out["per_file"][0]["format"] == "csv"
    rows = _report(db_path, "by model", "2026-05-01", "2026-05-01")["rows"]
    assert [(r["model"], r["input_tokens"], r["output_tokens"], r["cost_usd"]) for r in rows] == [
        ("gpt-4o", 1000000, 100000, 3.5)
    ]


# ---------------------------------------------------------------- QA of round 24


def _json_rows(path: Path, rows: list[dict[str, Any]]) -> dict[str, Record]:
    path.write_text(json.dumps(rows), encoding="utf-8")
    return {str(r.fields["event_id"]).removeprefix("litellm:"): r for r in IMPORTER.read(path) if r.problem is None}


def test_a_cache_write_split_without_its_total_counts(tmp_path: Path) -> None:
    """A ``cache_creation`` split of 500 at 5m and no ``cache_creation_input_tokens`` (or 0):
    the split counts, as README says and as a 1h part always did. Chat route (prompt 1500
    holds the cache): 1000 uncached + 500 at 5m; Anthropic's own shape (input 10 apart): 10 +
    500 at 5m; output 100 each."""
    split = {"ephemeral_5m_input_tokens": 500, "ephemeral_1h_input_tokens": 0}
    base = {"startTime": "2025-11-03T10:00:00Z", "model": "claude-sonnet-4-5", "custom_llm_provider": "anthropic"}
    got = _json_rows(tmp_path / "split.json", [
        base | {"request_id": "c5", "prompt_tokens": 1500, "completion_tokens": 100,
                "metadata": {"usage_object": {"prompt_tokens": 1500, "completion_tokens": 100, "cache_creation": split}}},
        base | {"request_id": "c5z", "prompt_tokens": 1500, "completion_tokens": 100,
                "metadata": {"usage_object": {"prompt_tokens": 1500, "completion_tokens": 100,
                                              "cache_creation_input_tokens": 0, "cache_creation": split}}},
        base | {"request_id": "a5", "call_type": "anthropic_messages", "prompt_tokens": 510, "completion_tokens": 100,
                "metadata": {"usage_object": {"input_tokens": 10, "output_tokens": 100, "cache_creation": split}}},
    ])  # fmt: skip
    cols = ("input_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "output_tokens")
    assert {k: tuple(r.fields.get(c) or 0 for c in cols) for k, r in got.items()} == {
        "c5": (1000, 500, 0, 100), "c5z": (1000, 500, 0, 100), "a5": (10, 500, 0, 100)}  # fmt: skip


def test_usage_object_counts_named_input_and_output_tokens(tmp_path: Path) -> None:
    """A JSON export without the row's token columns: the usage object's counts, named as
    Anthropic (``input_tokens`` without the cache, cache read 10000) or the Responses API
    (``input_tokens`` with the cache inside, 200 of 1000 cached) name them, not 0 (QA)."""
    base = {"startTime": "2025-11-03T10:00:00Z"}
    got = _json_rows(tmp_path / "nocols.json", [
        base | {"request_id": "n1", "call_type": "anthropic_messages", "model": "claude-sonnet-4-5",
                "metadata": {"usage_object": {"input_tokens": 10, "output_tokens": 500,
                                              "cache_read_input_tokens": 10000}}},
        base | {"request_id": "n2", "call_type": "aresponses", "model": "gpt-4o",
                "metadata": {"usage_object": {"input_tokens": 1000, "output_tokens": 100,
                                              "input_tokens_details": {"cached_tokens": 200}}}},
    ])  # fmt: skip
    cols = ("input_tokens", "cache_read_tokens", "output_tokens")
    assert {k: tuple(r.fields.get(c) or 0 for c in cols) for k, r in got.items()} == {
        "n1": (10, 10000, 500), "n2": (800, 200, 100)}  # fmt: skip


def test_a_number_as_inference_geo_is_an_unknown_tier_not_a_crash(tmp_path: Path, db_path: Path) -> None:
    """``"inference_geo": 1.5`` (read exactly, a Decimal) made the whole file fail ("Decimal is
    not JSON serializable"): it is the geo ``1.5``, an unknown tier, so the row is unpriced."""
    rows = [{"request_id": "g1", "startTime": "2025-11-03T10:00:00Z", "model": "claude-sonnet-4-5",
             "custom_llm_provider": "anthropic", "prompt_tokens": 10, "completion_tokens": 1,
             "metadata": {"usage_object": {"prompt_tokens": 10, "completion_tokens": 1, "inference_geo": 1.5}}},
            {"request_id": "g2", "startTime": "2025-11-03T10:00:00Z", "model": "gpt-4o", "prompt_tokens": 10,
             "completion_tokens": 1}]  # fmt: skip
    path = tmp_path / "geo.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    assert _import(path, db_path)["imported"] == 2
    assert query(db_path, "SELECT event_id, service_tier FROM events ORDER BY 1") == [
        ("litellm:g1", "standard@1.5"), ("litellm:g2", "standard")]  # fmt: skip


def test_psql_null_markers_and_bad_latency_times_do_not_cost_the_request(tmp_path: Path, db_path: Path) -> None:
    """psql's ``\\N`` (text format, or CSV WITH NULL '\\N') is NULL: no member named ``\\N``; a
    malformed endTime or completionStartTime only loses the latency they give, noted in
    ``extra``, not the request (a bad startTime still rejects: it is the event's time)."""
    path = tmp_path / "nulls.csv"
    path.write_text(
        "request_id,startTime,endTime,completionStartTime,prompt_tokens,completion_tokens,user,team_id,model\n"
        "n1,2025-11-03 10:00:00,2025-11-03 10:00:02,\\N,10,2,\\N,\\N,gpt-4o\n"
        "n2,2025-11-03 10:00:00,garbage,also bad,10,2,alice,t1,gpt-4o\n"
        "n3,garbage,2025-11-03 10:00:02,,10,2,bob,t1,gpt-4o\n",
        encoding="utf-8",
    )
    out = _import(path, db_path)
    assert (out["imported"], out["rejected"]) == (2, 1)
    rows = query(db_path, "SELECT event_id, member, team, latency_ms, extra FROM events ORDER BY 1")
    assert [r[:4] for r in rows] == [("litellm:n1", None, None, 2000), ("litellm:n2", "alice", "t1", None)]
    extra = json.loads(rows[1][4])
    assert extra["endTime_ignored"].startswith("endTime: ") and "garbage" in extra["endTime_ignored"]
    assert "also bad" in extra["completionStartTime_ignored"]
    assert query(db_path, "SELECT line, starts_with(reason, 'startTime') FROM rejects") == [(4, True)]


def test_concatenated_exports_read_each_header(tmp_path: Path, db_path: Path) -> None:
    """``cat old.csv new.csv``: the second header (here of a newer LiteLLM, with a column more)
    starts its rows; it is no record, and its rows are read by it: 4 requests, no reject."""
    path = tmp_path / "concat.csv"
    path.write_text(
        "request_id,startTime,prompt_tokens,completion_tokens,model\n"
        "r1,2025-11-03 10:00:00,10,2,gpt-4o\n"
        "r2,2025-11-03 10:00:00,20,2,gpt-4o\n"
        "Request_ID,startTime,model,prompt_tokens,completion_tokens,agent_id\n"
        "r3,2025-11-03 11:00:00,gpt-4o,30,2,ag1\n"
        "r4,2025-11-03 11:00:00,gpt-4o,40,2,\n",
        encoding="utf-8",
    )
    out = _import(path, db_path)
    assert (out["records"], out["imported"], out["rejected"]) == (4, 4, 0)
    assert query(db_path, "SELECT sum(input_tokens), count(*) FILTER (WHERE model_raw = 'gpt-4o') FROM events") == [
        (100, 4)]  # fmt: skip


def test_a_tab_separated_export_says_how_to_export_csv(tmp_path: Path, db_path: Path) -> None:
    path = tmp_path / "text_format.csv"
    path.write_text("request_id\tstartTime\tmodel\nr1\t2025-11-03 10:00:00\tgpt-4o\n", encoding="utf-8")
    result = run("import", str(path), "--format", "litellm", "--db", str(db_path), expect=4)
    assert "line 1: the header's columns are separated by tabs, not commas: export it with psql" in result.stderr


# ---------------------------------------------------------------- QA of round 26


def _psql_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """A psql ``\\copy ... CSV HEADER`` export of ``rows`` (metadata written as JSON text)."""
    header = ["request_id", "call_type", "api_key", "spend", "total_tokens", "prompt_tokens", "completion_tokens",
              "startTime", "model", "custom_llm_provider", "metadata", "cache_hit", "status"]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow([json.dumps(row[h]) if h == "metadata" else row.get(h, "") for h in header])
    return path


def test_cache_counts_in_additional_usage_values_when_there_is_no_usage_object(tmp_path: Path, db_path: Path) -> None:
    """LiteLLM writes ``metadata.additional_usage_values`` (the response's usage without its three
    totals) on every row; ``usage_object`` is null for pass-through rows and absent from older
    ones. QA: the cache there was ignored, so the whole prompt was priced as uncached input.

    a1, claude-3-7-sonnet chat call, no usage_object: prompt 45210 holds read 38400 + write 6800,
    uncached 45210 - 38400 - 6800 = 10; cost 10x3 + 38400x0.30 + 6800x3.75 + 980x15 per 1M
    = 30 + 11520 + 25500 + 14700 = 51750 micro-$ = 0.05175, exactly LiteLLM's spend.
    a2, a usage_object without cache keys: the cache of additional_usage_values counts (same buckets).
    a3, a usage_object that logs its cache (read 1000 of prompt 5000) wins over additional_usage_values
    (read 4000): uncached 5000 - 1000 = 4000.
    a4, a pass-through row (call type pass_through_endpoint) with Anthropic's own usage in
    additional_usage_values and prompt_tokens 10 (without the cache): input_tokens 10 excludes the
    cache by Anthropic's definition, so (10, 38400, 6800), not a reject for a cache of 45200 larger
    than a prompt of 10."""
    extra = {"completion_tokens_details": None, "prompt_tokens_details": {"audio_tokens": None, "cached_tokens": 38400},
             "cache_creation_input_tokens": 6800, "cache_read_input_tokens": 38400}  # fmt: skip
    base = {"call_type": "acompletion", "api_key": "3a9c4c", "total_tokens": 46190, "prompt_tokens": 45210,
            "completion_tokens": 980, "startTime": "2025-03-03 10:02:45.33", "model": "claude-3-7-sonnet-20250219",
            "custom_llm_provider": "anthropic", "cache_hit": "False", "status": "success"}  # fmt: skip
    rows = [
        base | {"request_id": "a1", "spend": "0.05175", "metadata": {"additional_usage_values": extra}},
        base | {"request_id": "a2", "metadata": {"usage_object": {"prompt_tokens": 45210, "completion_tokens": 980},
                                                 "additional_usage_values": extra}},
        base | {"request_id": "a3", "prompt_tokens": 5000, "completion_tokens": 10, "metadata": {
            "usage_object": {"prompt_tokens": 5000, "prompt_tokens_details": {"cached_tokens": 1000}},
            "additional_usage_values": {"cache_read_input_tokens": 4000}}},
        base | {"request_id": "a4", "call_type": "pass_through_endpoint", "prompt_tokens": 10, "total_tokens": 990,
                "metadata": {"usage_object": None,
            "additional_usage_values": {"input_tokens": 10, "output_tokens": 980, "cache_read_input_tokens": 38400,
                                        "cache_creation_input_tokens": 6800}}},
    ]  # fmt: skip
    path = _psql_csv(tmp_path / "spendlogs.csv", rows)
    got = {r.fields["event_id"]: r.fields for r in IMPORTER.read(path)}
    cols = ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "output_tokens")
    assert {k: tuple(f.get(c, 0) for c in cols) for k, f in got.items()} == {
        "litellm:a1": (10, 38400, 6800, 980),
        "litellm:a2": (10, 38400, 6800, 980),
        "litellm:a3": (4000, 1000, 0, 10),
        "litellm:a4": (10, 38400, 6800, 980),
    }
    assert got["litellm:a1"]["extra"]["usage"] == (
        "no metadata.usage_object: cache and details read from metadata.additional_usage_values"
    )
    assert got["litellm:a2"]["extra"]["usage"].startswith("metadata.usage_object logs no cache: ")
    assert "usage" not in got["litellm:a3"]["extra"]
    assert got["litellm:a4"]["extra"]["input_convention"].startswith("anthropic: additional_usage_values.input_tokens")
    path.write_text("\n".join(path.read_text().splitlines()[:2]) + "\n")  # the header and a1 alone
    assert _import(path, db_path)["imported"] == 1
    totals = _report(db_path, "by model", "2025-03-01", "2025-03-31")["totals"]
    assert (totals["cost_usd"], totals["reported_cost_usd"]) == (0.05175, 0.05175)
    # importing it again changes nothing: the event is keyed by its request_id alone
    again = _import(path, db_path)
    assert (again["imported"], again["duplicates"]) == (0, 0) and again["per_file"][0]["unchanged"] is True
    assert query(db_path, "SELECT event_id, input_tokens, cache_read_tokens FROM events") == [("litellm:a1", 10, 38400)]


def test_early_spend_logs_rows_read_their_tokens_from_the_usage_column(tmp_path: Path, db_path: Path) -> None:
    """Early ``GET /spend/logs`` rows (LiteLLM PR #1575) kept the counts only in a ``usage`` column:
    QA, they were imported with 0 tokens and no word. gpt-4o, prompt 1000 + completion 400:
    1000 x 2.50 + 400 x 10 per 1M = 2500 + 4000 = 6500 micro-$ = 0.0065. A row whose only counts
    sit in a ``usage`` that is not an object is a reject naming it, never 0 tokens."""
    row = {"call_type": "acompletion", "api_key": "51**", "startTime": "2024-01-18T18:09:54.071000Z",
           "model": "gpt-4o", "user": "u2", "modelParameters": {}, "messages": [], "response": "{}",
           "metadata": {}, "cache_hit": ""}  # fmt: skip
    path = tmp_path / "spendlogs.json"
    path.write_text(json.dumps([
        row | {"request_id": "u1", "spend": 0.0065, "usage": {"total_tokens": 1400, "prompt_tokens": 1000,
                                                              "completion_tokens": 400}},
        row | {"request_id": "u2", "spend": 0.0065, "usage": "[1000, 400]"},
    ]))  # fmt: skip
    first, second = IMPORTER.read(path)
    f = first.fields
    assert (f["input_tokens"], f.get("cache_read_tokens", 0), f["output_tokens"]) == (1000, 0, 400)
    assert "token counts from usage" in f["extra"]["usage"]
    assert second.problem == "usage: not a JSON object (an array)"
    out = _import(path, db_path)
    assert (out["imported"], out["rejected"]) == (1, 1)
    totals = _report(db_path, "by model", "2024-01-01", "2024-01-31")["totals"]
    assert (totals["requests"], totals["total_tokens"], totals["cost_usd"]) == (1, 1400, 0.0065)


def test_the_1h_split_in_prompt_tokens_details_counts(tmp_path: Path, db_path: Path) -> None:
    """LiteLLM's chat usage (``PromptTokensDetailsWrapper``) logs the 5m/1h split of cache writes
    at ``prompt_tokens_details.cache_creation_token_details``; QA: it was ignored, the 4000 1h
    writes counted at 5m. Sonnet 4.5, prompt 10000 = 6000 uncached + 4000 written for 1h:
    6000 x 3 + 4000 x 6 + 100 x 15 per 1M = 18000 + 24000 + 1500 = 43500 micro-$ = 0.0435
    (at the 5m rate it would be 18000 + 15000 + 1500 = 0.0345)."""
    split = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 4000}
    usage = {"prompt_tokens": 10000, "completion_tokens": 100, "total_tokens": 10100,
             "cache_creation_input_tokens": 4000, "cache_read_input_tokens": 0,
             "prompt_tokens_details": {"cached_tokens": 0, "text_tokens": 6000, "cache_creation_tokens": 4000,
                                       "cache_creation_token_details": split}}  # fmt: skip
    got = _json_rows(tmp_path / "spend.json", [
        {"request_id": "h1", "call_type": "acompletion", "spend": 0.0255, "prompt_tokens": 10000,
         "completion_tokens": 100, "startTime": "2025-11-03T10:00:00.000Z", "model": "claude-sonnet-4-5-20250929",
         "custom_llm_provider": "anthropic", "metadata": {"usage_object": usage}, "status": "success"},
    ])  # fmt: skip
    f = got["h1"].fields
    cols = ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "output_tokens")
    assert tuple(f[c] for c in cols) == (6000, 0, 0, 4000, 100)
    assert "cache_write_split" not in f["extra"]
    _import(tmp_path / "spend.json", db_path)
    assert _report(db_path, "by model", "2025-11-01", "2025-11-30")["totals"]["cost_usd"] == 0.0435


def test_a_key_alias_keeps_the_key_hash_in_extra(tmp_path: Path) -> None:
    """With a key alias the event's api_key is the alias (as before, so reports do not split);
    the api_key column (the virtual key's SHA-256, FORMATS.md section 6) is kept as
    ``extra.api_key_hash`` (QA: it was kept nowhere). Without an alias the hash is the api_key
    and is not repeated."""
    base = {"call_type": "acompletion", "api_key": "3a9c51e0f4b2", "spend": 0.001, "prompt_tokens": 100,
            "completion_tokens": 10, "startTime": "2025-11-03T10:00:00Z", "model": "gpt-4o"}  # fmt: skip
    got = _json_rows(tmp_path / "keys.json", [
        base | {"request_id": "k1", "metadata": {"user_api_key_alias": "alice-laptop"}},
        base | {"request_id": "k2", "metadata": {}},
    ])  # fmt: skip
    k1, k2 = got["k1"].fields, got["k2"].fields
    assert (k1["api_key"], k1["extra"]["api_key_hash"]) == ("alice-laptop", "3a9c51e0f4b2")
    assert k2["api_key"] == "3a9c51e0f4b2" and "api_key_hash" not in k2["extra"]


def test_timestamps_with_and_without_a_utc_offset(tmp_path: Path) -> None:
    """A psql ``timestamp(3)`` without a zone is UTC (read without the offset check: it has no
    offset); one with an offset is moved to UTC; an offset's minutes over 59 are no timestamp,
    whatever Python's ``fromisoformat`` makes of them (+05:99 would be +06:39)."""
    path = tmp_path / "times.csv"
    path.write_text(
        "request_id,startTime,prompt_tokens,completion_tokens,model\n"
        "t1,2025-11-03 10:00:00.250,10,2,gpt-4o\n"
        "t2,2025-11-03T10:00:00+05:30,10,2,gpt-4o\n"
        "t3,2025-11-03T10:00:00+05:99,10,2,gpt-4o\n"
        "t4,2025-11-03,10,2,gpt-4o\n"
        "t5,2025-11-03T10:00:00-01:00,10,2,gpt-4o\n",
        encoding="utf-8",
    )
    got = list(IMPORTER.read(path))
    assert [r.fields.get("ts") for r in got] == [
        datetime(2025, 11, 3, 10, 0, 0, 250000, tzinfo=UTC),
        datetime(2025, 11, 3, 4, 30, tzinfo=UTC),
        None,
        datetime(2025, 11, 3, 0, 0, tzinfo=UTC),
        datetime(2025, 11, 3, 11, 0, tzinfo=UTC),
    ]
    assert got[0].fields["ts"].tzinfo is UTC and got[1].fields["ts"].tzinfo is UTC
    assert got[2].problem == "startTime: not a timestamp (2025-11-03T10:00:00+05:99)"


def test_a_value_spelled_request_id_is_a_request_not_a_header(tmp_path: Path, db_path: Path) -> None:
    """Only a record whose fields are mostly SpendLogs column names is another export's header
    (the reader looks closer only at a row that holds the text request_id in any case): a user
    or model named ``request_id`` is a request; `` Request_ID `` with the columns is a header."""
    path = tmp_path / "named.csv"
    path.write_text(
        "request_id,startTime,prompt_tokens,completion_tokens,model,user\n"
        "r1,2025-11-03 10:00:00,10,2,REQUEST_ID,request_id\n"
        "request_id,2025-11-03 10:00:00,20,2,gpt-4o,bob\n"
        " Request_ID ,startTime,prompt_tokens,completion_tokens,model,user\n"
        "r3,2025-11-03 10:00:00,30,2,gpt-4o,\\N\n",
        encoding="utf-8",
    )
    out = _import(path, db_path)
    assert (out["records"], out["imported"], out["rejected"]) == (3, 3, 0)
    assert query(db_path, "SELECT event_id, model_raw, member, input_tokens FROM events ORDER BY 1") == [
        ("litellm:r1", "REQUEST_ID", "request_id", 10),
        ("litellm:r3", "gpt-4o", None, 30),
        ("litellm:request_id", "gpt-4o", "bob", 20),
    ]


def test_a_chunk_staged_through_arrow_keeps_nulls_amounts_and_lone_surrogates(tmp_path: Path, db_path: Path) -> None:
    """A file of more than ``store.ingest.SMALL_CHUNK`` records is staged through Arrow, where a
    column of timestamps, amounts or ``extra`` objects is turned into text by one map: a reject
    in the chunk (no fields: NULL in every column) and a lone surrogate in ``extra`` (stored as
    U+FFFD) give the same stored values as the small path (the lone-surrogate test above)."""
    row = {"request_id": "req-1", "call_type": "acompletion", "spend": "0.0000012", "prompt_tokens": 10,
           "completion_tokens": 5, "startTime": "2025-11-03T14:02:11.5Z", "model": "gpt-4o-mini",
           "custom_llm_provider": "openai", "metadata": {}}  # fmt: skip
    rows = [dict(row, request_id=f"req-{i}") for i in range(1, 5000)]
    rows += [dict(row, request_id="bad", completion_tokens="\ud800"), dict(row, request_id="odd", end_user="bob\ud800")]
    path = tmp_path / "spend.json"
    path.write_text(json.dumps(rows), encoding="ascii")
    out = _import(path, db_path)
    assert (out["records"], out["imported"], out["rejected"]) == (5001, 5000, 1)
    assert query(db_path, "SELECT reason FROM rejects") == [("completion_tokens: not a number (\ufffd)",)]
    assert query(
        db_path,
        "SELECT json_extract_string(extra, '$.end_user'), reported_cost_usd, ts FROM events WHERE event_id = 'litellm:odd'",
    ) == [("bob\ufffd", Decimal("0.0000012"), datetime(2025, 11, 3, 14, 2, 11, 500000, tzinfo=UTC))]
    assert query(db_path, "SELECT count(*), sum(reported_cost_usd) FROM events") == [(5000, Decimal("0.006"))]
