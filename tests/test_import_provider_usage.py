"""Provider usage reports: `openai-usage` and `anthropic-usage` against fixtures whose totals are
worked out by hand in tests/data/openai/EXPECTED.md and tests/data/anthropic/EXPECTED.md.

Traps covered: cached input inside OpenAI input (and outside Anthropic input), reasoning and audio
never added, an overlapping re-fetch replaces, error pages rejected (never zero usage), rows of
different group-by sets never summed (in a file and against the database), other endpoints'
result objects rejected, `results: []` is no usage, ungrouped rows are unpriced.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import query, run, run_json, write_jsonl
from usagectl.importers.anthropic_usage import IMPORTER as ANTHROPIC
from usagectl.importers.openai_usage import IMPORTER as OPENAI
from usagectl.models import EVENT_COLUMN_NAMES, EVENT_COLUMNS, Filters
from usagectl.pricing import load_pricebook
from usagectl.store import reports as q
from usagectl.store.billing import Shape, settle_shapes
from usagectl.store.connection import connect

DATA = Path(__file__).parent / "data"
OA = DATA / "openai"
AN = DATA / "anthropic"
OA_FIRST, OA_REFETCH, OA_MIXED = (
    OA / "usage_nov03_04.json",
    OA / "usage_refetch_nov04_05.jsonl",
    OA / "usage_mixed_nov06.json",
)
AN_FIRST, AN_REFETCH = AN / "usage_nov03_04.json", AN / "usage_refetch_nov04_06.jsonl"


def _query(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _import(db: Path, *paths: Path, fmt: str = "auto") -> dict[str, Any]:
    out: dict[str, Any] = run_json("import", *map(str, paths), "--format", fmt, "--db", str(db))
    return out


def _daily(db: Path, since: str, until: str) -> dict[str, dict[str, Any]]:
    rep = run_json("report", "daily", "--since", since, "--until", until, "--tz", "UTC", "--db", str(db))
    return {r["date"]: r for r in rep["rows"]}


def _by_model(db: Path, since: str, until: str) -> dict[str, dict[str, Any]]:
    rep = run_json("report", "by", "model", "--since", since, "--until", until, "--tz", "UTC", "--db", str(db))
    return {r["model"]: r for r in rep["rows"]}


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


def _rejects(db: Path) -> list[tuple[Any, ...]]:
    return _query(db, "SELECT file, line, reason FROM rejects ORDER BY batch_id, record")


# --------------------------------------------------------------------------- OpenAI


def test_openai_totals_per_day_and_model(db_path: Path) -> None:
    out = _import(db_path, OA_FIRST, OA_REFETCH, OA_MIXED, fmt="openai-usage")
    per = {Path(f["path"]).name: f for f in out["per_file"]}
    assert (per[OA_FIRST.name]["imported"], per[OA_FIRST.name]["rejected"]) == (4, 0)
    # refetch: r4' replaces r4, r5 and r6 are new; error page, ungrouped total, truncated line rejected
    assert (per[OA_REFETCH.name]["records"], per[OA_REFETCH.name]["imported"]) == (6, 2)
    assert (per[OA_REFETCH.name]["replaced"], per[OA_REFETCH.name]["rejected"]) == (1, 3)
    assert (per[OA_MIXED.name]["imported"], per[OA_MIXED.name]["rejected"]) == (2, 3)

    days = _daily(db_path, "2025-11-03", "2025-11-06")
    # EXPECTED.md: 11-03 = 3.094 + 0.4425 + 0.60
    d3 = days["2025-11-03"]
    assert (d3["requests"], d3["input_tokens"], d3["cache_read_tokens"], d3["output_tokens"]) == (
        3912, 5_938_400, 1_312_000, 1_398_300)  # fmt: skip
    assert _money(d3["cost_usd"]) == Decimal("4.1365")
    d4 = days["2025-11-04"]  # r4' (not r4 + r4') and r5: 1.75 + 1.47
    assert (d4["requests"], d4["input_tokens"], d4["cache_read_tokens"], d4["cache_write_tokens"], d4["output_tokens"]) == (
        400, 800_000, 500_000, 100_000, 90_000)  # fmt: skip
    assert _money(d4["cost_usd"]) == Decimal("3.22")
    d5 = days["2025-11-05"]  # o4-mini: 200,000×1.1 + 100,000×0.275 + 120,000×4.4 (reasoning inside output)
    assert (d5["requests"], d5["input_tokens"], d5["output_tokens"]) == (80, 200_000, 120_000)
    assert _money(d5["cost_usd"]) == Decimal("0.7755")
    d6 = days["2025-11-06"]  # only the per-model page: 0.925 + 0.042
    assert (d6["requests"], d6["input_tokens"], d6["cache_read_tokens"], d6["output_tokens"]) == (
        60,
        400_000,
        100_000,
        50_000,
    )
    assert _money(d6["cost_usd"]) == Decimal("0.967")

    models = _by_model(db_path, "2025-11-03", "2025-11-06")
    assert _money(models["gpt-4o"]["cost_usd"]) == Decimal("3.094") + Decimal("1.75") + Decimal("0.925")
    assert _money(models["gpt-4o-mini"]["cost_usd"]) == Decimal("0.4425") + Decimal("0.60") + Decimal("0.042")
    assert _money(models["gpt-4.1"]["cost_usd"]) == Decimal("1.47")
    assert _money(models["o4-mini"]["cost_usd"]) == Decimal("0.7755")

    rejects = _rejects(db_path)
    assert [(Path(f).name, line) for f, line, _ in rejects] == [
        (OA_REFETCH.name, 2), (OA_REFETCH.name, 3), (OA_REFETCH.name, 4),
        (OA_MIXED.name, 10), (OA_MIXED.name, 52), (OA_MIXED.name, 75),  # each row's own line
    ]  # fmt: skip
    reasons = [r for _, _, r in rejects]
    assert reasons[0].startswith("error page, not a report: rate_limit_exceeded: Rate limit reached")
    assert "grouped by nothing (a total)" in reasons[1] and "already stored" in reasons[1]
    assert "double count" in reasons[1]
    assert reasons[2].startswith("not valid JSON")
    assert "coarser" in reasons[3] and "in this file" in reasons[3]
    assert reasons[4].startswith("object: 'organization.usage.embeddings.result' is not a completions result")
    assert reasons[5] == "output_tokens: not an integer (12.5)"


def test_openai_event_fields(db_path: Path) -> None:
    _import(db_path, OA_FIRST, OA_REFETCH, fmt="openai-usage")
    rows = _query(
        db_path,
        "SELECT model_raw, model, provider, requests, input_tokens, cache_read_tokens, cache_write_5m_tokens, "
        "output_tokens, reasoning_tokens, service_tier, project, member, api_key, extra, ts, source "
        "FROM events ORDER BY ts, model_raw, service_tier",
    )
    by = {(r[0], r[9], r[14].date().isoformat()): r for r in rows}
    r1 = by[("gpt-4o-2024-08-06", "standard", "2025-11-03")]
    assert r1[1:9] == ("gpt-4o", "openai", 412, 438_400, 812_000, 0, 98_300, 0)  # 1,250,400 − 812,000
    assert (r1[10], r1[11], r1[12], r1[15]) == ("proj_8Hq2TzX4kLmN0pQr", None, None, "openai-usage")
    assert r1[14] == datetime(2025, 11, 3, tzinfo=UTC)  # bucket start, Unix seconds → UTC
    extra = json.loads(r1[13])
    assert extra["bucket_end"] == "2025-11-04T00:00:00Z"
    assert extra["group_by"] == ["batch", "model", "project_id"]
    assert extra["usage"]["input_tokens"] == 1_250_400 and extra["spec"] == "before 2026-07"
    r3 = by[("gpt-4o-mini-2024-07-18", "batch", "2025-11-03")]  # batch: true → the batch tier
    assert r3[3:8] == (2000, 4_000_000, 0, 0, 1_000_000)
    r5 = by[("gpt-4.1-2025-04-14", "standard", "2025-11-04")]  # 2026-07 spec: audio inside input, never added
    assert r5[3:8] == (100, 400_000, 300_000, 100_000, 40_000)
    extra5 = json.loads(r5[13])
    assert extra5["usage"]["input_audio_tokens"] == 5000 and extra5["spec"] == "2026-07"
    ids = _query(db_path, "SELECT event_id FROM events")
    assert all(i[0].startswith("openai-usage:") for i in ids)


def test_openai_refetch_replaces_never_adds(db_path: Path) -> None:
    _import(db_path, OA_FIRST, fmt="openai-usage")
    d4 = _daily(db_path, "2025-11-04", "2025-11-04")["2025-11-04"]  # the partial bucket: r4 alone
    assert (d4["requests"], d4["input_tokens"], _money(d4["cost_usd"])) == (50, 60_000, Decimal("0.3"))
    _import(db_path, OA_REFETCH, fmt="openai-usage")
    d4 = _daily(db_path, "2025-11-04", "2025-11-04")["2025-11-04"]
    assert (d4["requests"], _money(d4["cost_usd"])) == (400, Decimal("3.22"))  # not 3.22 + 0.30
    assert _query(db_path, "SELECT count(*) FROM events")[0][0] == 6


def test_an_older_fetch_imported_after_the_refetch_does_not_replace_it(db_path: Path) -> None:
    """The same files in the other order: the saved re-fetch first, then the earlier page with
    the partial 11-04 bucket (r4: 50 requests). Usage in a bucket only grows, so r4' (300
    requests) stays: the same 11-04 as in file order (EXPECTED.md), never the stale 150 / $1.77."""
    _import(db_path, OA_REFETCH, fmt="openai-usage")
    out = _import(db_path, OA_FIRST, fmt="openai-usage")
    # r1-r3 new, r4 stale; r1-r3 replace the re-fetch's stored 11-03 total (moved to rejects), so of
    # the 4 records 1 is a duplicate, 1 replaced a stored row and 2 are new: events 4 - 1 + 3 = 6
    assert (out["imported"], out["replaced"], out["duplicates"]) == (2, 1, 1)
    d4 = _daily(db_path, "2025-11-04", "2025-11-04")["2025-11-04"]
    assert (d4["requests"], _money(d4["cost_usd"])) == (400, Decimal("3.22"))
    assert _query(db_path, "SELECT count(*) FROM events")[0][0] == 6


def test_import_twice_or_reshaped_adds_nothing(tmp_path: Path, db_path: Path) -> None:
    _import(db_path, OA_FIRST, fmt="openai-usage")
    again = _import(db_path, OA_FIRST, fmt="openai-usage")
    assert again["imported"] == 0 and again["per_file"][0]["unchanged"] is True
    # the same page saved differently (one JSONL line, other bytes): same keys and usage, duplicates
    copy = tmp_path / "copy.jsonl"
    copy.write_text(json.dumps(json.loads(OA_FIRST.read_text())) + "\n", encoding="utf-8")
    out = _import(db_path, copy, fmt="openai-usage")
    assert (out["imported"], out["replaced"], out["duplicates"], out["rejected"]) == (0, 0, 4, 0)
    assert _query(db_path, "SELECT count(*), sum(requests) FROM events")[0] == (4, 3962)


def _pages(path: Path) -> list[Any]:
    return list(json.loads(path.read_text()))


def test_stored_total_gives_way_to_finer_rows(tmp_path: Path, db_path: Path) -> None:
    """The database holds an ungrouped total for 11-06; a per-model fetch of the same bucket
    arrives: the stored total is moved to rejects (with its reason), never summed."""
    total_page, model_page = _pages(OA_MIXED)
    total = tmp_path / "total.json"
    total.write_text(json.dumps(total_page), encoding="utf-8")
    out = _import(db_path, total, fmt="openai-usage")
    assert out["imported"] == 1
    # a total has no model: it is unpriced, never $0
    d6 = _daily(db_path, "2025-11-06", "2025-11-06")["2025-11-06"]
    assert (d6["requests"], d6["unpriced_requests"], d6["cost_usd"]) == (60, 60, None)
    per_model = tmp_path / "per_model.json"
    per_model.write_text(json.dumps(model_page), encoding="utf-8")
    _import(db_path, per_model, fmt="openai-usage")
    d6 = _daily(db_path, "2025-11-06", "2025-11-06")["2025-11-06"]
    assert (d6["requests"], d6["unpriced_requests"], _money(d6["cost_usd"])) == (60, 0, Decimal("0.967"))
    moved = _query(db_path, "SELECT file, reason, raw FROM rejects WHERE reason LIKE 'removed from the stored rows%'")
    assert len(moved) == 1 and Path(moved[0][0]).name == "total.json"
    assert "coarser" in moved[0][1] and json.loads(moved[0][2])["requests"] == 60
    # and the total imported again afterwards is rejected, not summed
    again = tmp_path / "total_again.jsonl"
    again.write_text(json.dumps(total_page) + "\n", encoding="utf-8")
    out = _import(db_path, again, fmt="openai-usage")
    assert (out["imported"], out["rejected"]) == (0, 1)
    assert _daily(db_path, "2025-11-06", "2025-11-06")["2025-11-06"]["requests"] == 60


def test_openai_sniffed_by_auto(db_path: Path) -> None:
    out = _import(db_path, OA_FIRST, OA_MIXED)
    assert [f["format"] for f in out["per_file"]] == ["openai-usage", "openai-usage"]


def test_openai_1m_page_with_only_empty_buckets_in_its_first_64_kib(db_path: Path, tmp_path: Path) -> None:
    # bucket_width=1m for 2026-10-04 UTC: 1439 empty buckets (~130 KB, compact) before the one row
    day = 1791072000  # 2026-10-04T00:00:00Z
    row = {"object": "organization.usage.completions.result", "input_tokens": 1_000_000, "output_tokens": 0,
           "input_cached_tokens": 0, "num_model_requests": 1, "model": "gpt-4.1-2025-04-14"}  # fmt: skip
    buckets = [
        {
            "object": "bucket",
            "start_time": day + 60 * m,
            "end_time": day + 60 * m + 60,
            "results": [row] if m == 1439 else [],
        }
        for m in range(1440)
    ]
    page = tmp_path / "oai_usage_1m.json"
    page.write_text(json.dumps({"object": "page", "data": buckets, "has_more": False, "next_page": None}))
    assert b"completions.result" not in page.read_bytes()[:65536]
    out = _import(db_path, page)  # --format auto
    assert [f["format"] for f in out["per_file"]] == ["openai-usage"]
    assert (out["imported"], out["rejected"]) == (1, 0)
    day_row = _daily(db_path, "2026-10-04", "2026-10-04")["2026-10-04"]
    # 1,000,000 gpt-4.1 input tokens x $2/M = $2.00
    assert (day_row["input_tokens"], _money(day_row["cost_usd"])) == (1_000_000, Decimal("2"))


# --------------------------------------------------------------------------- Anthropic


def test_anthropic_totals_and_fields(db_path: Path) -> None:
    out = _import(db_path, AN_FIRST, AN_REFETCH)  # --format auto
    per = {Path(f["path"]).name: f for f in out["per_file"]}
    assert {f["format"] for f in out["per_file"]} == {"anthropic-usage"}
    assert (per[AN_FIRST.name]["imported"], per[AN_FIRST.name]["rejected"]) == (6, 0)
    # refetch: a6' replaces a6; results: [] adds nothing; error, total, missing output rejected
    assert (per[AN_REFETCH.name]["records"], per[AN_REFETCH.name]["imported"]) == (4, 0)
    assert (per[AN_REFETCH.name]["replaced"], per[AN_REFETCH.name]["rejected"]) == (1, 3)

    days = _daily(db_path, "2025-11-03", "2025-11-06")
    d3 = days["2025-11-03"]
    assert (d3["input_tokens"], d3["cache_write_5m_tokens"], d3["cache_write_1h_tokens"]) == (
        2_032_340,
        145_210,
        20_000,
    )
    assert (d3["cache_read_tokens"], d3["output_tokens"], d3["requests"]) == (4_194_500, 636_230, 0)
    d4 = days["2025-11-04"]  # a6' = 40,000 + 10,000 + 40,000 per 1e6 (not a6 + a6')
    assert (d4["input_tokens"], d4["cache_read_tokens"], d4["output_tokens"]) == (40_000, 100_000, 8_000)
    assert _money(d4["cost_usd"]) == Decimal("0.09")
    assert days["2025-11-05"]["total_tokens"] == 0  # results: [] is no usage

    rows = _query(
        db_path,
        "SELECT model_raw, service_tier, workspace, api_key, requests, web_search_requests, extra FROM events "
        "WHERE ts = TIMESTAMPTZ '2025-11-03 00:00:00+00' ORDER BY model_raw, service_tier, input_tokens",
    )
    haiku = [r for r in rows if r[0] == "claude-haiku-4-5-20251001"]
    assert [(r[1], r[2], r[3], r[4]) for r in haiku] == [
        ("batch", "default", "apikey_01HaikuBatchJobs7cQz2W", 0),  # workspace_id null = the default workspace
        ("standard", "default", "apikey_01HaikuBatchJobs7cQz2W", 0),
    ]
    sonnet = [r for r in rows if r[0] == "claude-sonnet-4-5-20250929"]
    assert sorted((r[1], r[5], json.loads(r[6])["context_window"]) for r in sonnet) == [
        ("priority", 0, "0-200k"), ("standard", 0, "200k-1M"), ("standard", 12, "0-200k")]  # fmt: skip
    assert all(r[2] == "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ" for r in sonnet)
    assert json.loads(sonnet[0][6])["requests_unknown"] is True

    # haiku has no long-context band, so its cost does not depend on the request count
    models = _by_model(db_path, "2025-11-03", "2025-11-04")
    assert _money(models["claude-haiku-4-5"]["cost_usd"]) == Decimal("1.615") + Decimal("1.50") + Decimal("0.09")
    # requests unknown (0): the unpriced priority bucket counts as one, so the total is not $0 ...
    assert models["claude-sonnet-4-5"]["unpriced_requests"] == 1
    assert run_json("report", "daily", "--since", "2025-11-03", "--until", "2025-11-03", "--tz", "UTC",
                    "--db", str(db_path))["totals"]["unpriced_tokens"] == 65_000  # ... priority: 50,000+10,000+5,000  # fmt: skip

    reasons = [(Path(f).name, line, r) for f, line, r in _rejects(db_path)]
    assert [x[:2] for x in reasons] == [(AN_REFETCH.name, 2), (AN_REFETCH.name, 3), (AN_REFETCH.name, 4)]
    assert reasons[0][2] == (
        "error page, not a report: rate_limit_error: Number of request tokens has exceeded your per-minute rate limit"
    )
    assert "grouped by nothing (a total)" in reasons[1][2] and "already stored" in reasons[1][2]
    assert reasons[2][2] == "output_tokens: missing"


def test_anthropic_1m_page_with_only_empty_buckets_in_its_first_64_kib(db_path: Path, tmp_path: Path) -> None:
    # bucket_width=1m for 2026-10-06 UTC saved pretty-printed (curl | jq .): 700 empty minutes
    # (~80 KB) before 3 minutes with one row each of 1000 uncached input + 200 output, haiku-4-5
    start = datetime(2026, 10, 6, tzinfo=UTC)
    row = {"uncached_input_tokens": 1000, "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
           "cache_read_input_tokens": 0, "output_tokens": 200, "server_tool_use": {"web_search_requests": 0},
           "model": "claude-haiku-4-5-20251001", "service_tier": "standard", "context_window": "0-200k"}  # fmt: skip

    def bucket(m: int) -> dict[str, Any]:
        s, e = start + timedelta(minutes=m), start + timedelta(minutes=m + 1)
        return {"starting_at": f"{s:%Y-%m-%dT%H:%M:%SZ}", "ending_at": f"{e:%Y-%m-%dT%H:%M:%SZ}",
                "results": [row] if m >= 700 else []}  # fmt: skip

    page = tmp_path / "ant_usage_1m_day.json"
    page.write_text(
        json.dumps({"data": [bucket(m) for m in range(703)], "has_more": False, "next_page": None}, indent=2)
    )
    assert b"uncached_input_tokens" not in page.read_bytes()[:65536]
    out = _import(db_path, page)  # --format auto
    assert [f["format"] for f in out["per_file"]] == ["anthropic-usage"]
    assert (out["imported"], out["rejected"]) == (3, 0)
    day_row = _daily(db_path, "2026-10-06", "2026-10-06")["2026-10-06"]
    # 3 x (1000 input x $1/M + 200 output x $5/M) = 3 x (0.001 + 0.001) = $0.006
    assert (day_row["input_tokens"], day_row["output_tokens"]) == (3000, 600)
    assert _money(day_row["cost_usd"]) == Decimal("0.006")


def test_anthropic_buckets_are_priced_on_the_band_they_state(db_path: Path) -> None:
    """A usage row holds many requests, so its summed input decides nothing; but a row grouped
    by context_window says its band: a1 ("0-200k") is base, a5 ("200k-1M") long context."""
    _import(db_path, AN_FIRST, fmt="anthropic-usage")
    models = _by_model(db_path, "2025-11-03", "2025-11-03")
    # a1 2.0203575 + 12 searches × 0.01 + a5 at the long-context rates 300,000 × 6 + 900,000 ×
    # 0.60 + 20,000 × 22.50 = $2.79 (EXPECTED.md; = its billed lines); priority a4 unpriced:
    # 4.9303575, shown in JSON rounded half-even to 6 places
    assert _money(models["claude-sonnet-4-5"]["cost_usd"]) == Decimal("4.930358")
    assert _query(db_path, "SELECT band_input FROM events WHERE input_tokens = 300000") == [(200_001,)]
    assert _query(db_path, "SELECT count(*) FROM events WHERE band_input IS NOT NULL") == [(1,)]
    # the per-event engine (a chat's events are priced one by one): a5 alone
    with connect(db_path, read_only=True) as con:
        flt = Filters(datetime(2025, 11, 3, tzinfo=UTC), datetime(2025, 11, 4, tzinfo=UTC), tz="UTC")
        q.prepare_session(con, load_pricebook(), {}, flt)
        base = q._filtered(flt)
        row = con.execute(f"SELECT cost, long_context FROM ({base.sql}) WHERE input_tokens = 300000", base.params)
        assert row.fetchone() == (Decimal("2.79"), True)
    # no "cost may be low" note: the band of every bucket with a long-context rate is known
    note = run("report", "by", "model", "--since", "2025-11-03", "--until", "2025-11-03", "--db", str(db_path))
    assert "long-context threshold" not in " ".join(note.stdout.split())


def test_anthropic_import_twice_adds_nothing(tmp_path: Path, db_path: Path) -> None:
    _import(db_path, AN_FIRST, AN_REFETCH)
    before = _query(db_path, "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM events")
    out = _import(db_path, AN_FIRST, AN_REFETCH)
    assert out["imported"] == 0 and all(f["unchanged"] for f in out["per_file"])
    # an array-of-pages copy of the first file, imported after the re-fetch: its stale partial
    # 11-04 bucket has less usage than a6' and gives way; the rest are equal copies: all six
    # are duplicates, nothing is added or replaced, the totals stay
    copy = tmp_path / "copy.json"
    copy.write_text(json.dumps([json.loads(AN_FIRST.read_text())]), encoding="utf-8")
    out = _import(db_path, copy, fmt="anthropic-usage")
    assert (out["imported"], out["replaced"], out["duplicates"]) == (0, 0, 6)
    assert _query(db_path, "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM events") == before


# --------------------------------------------------------------------------- the shape rule


def _shape(sig: tuple[str, ...], day: int, hours: int = 24, offset: int = 0) -> Shape:
    start = datetime(2025, 11, day, tzinfo=UTC) + timedelta(hours=offset)
    return Shape(sig, start, start + timedelta(hours=hours))


def test_settle_shapes_rules() -> None:
    total, by_model, by_model_project = _shape((), 3), _shape(("model",), 3), _shape(("model", "project_id"), 3)
    bad_in, bad_stored = settle_shapes([], [total, by_model, by_model_project])
    assert set(bad_in) == {total, by_model} and not bad_stored  # the coarser sets give way
    # different, incomparable sets: the one without the model gives way
    bad_in, _ = settle_shapes([], [_shape(("model",), 3), _shape(("project_id",), 3)])
    assert set(bad_in) == {_shape(("project_id",), 3)}
    # same set, another width: the wider bucket gives way (1 day vs 1 hour)
    hour = _shape(("model",), 3, hours=1, offset=5)
    bad_in, _ = settle_shapes([], [_shape(("model",), 3), hour])
    assert set(bad_in) == {_shape(("model",), 3)}
    # stored coarser rows are removed; stored finer rows make the incoming coarser rows a reject
    bad_in, bad_stored = settle_shapes([total], [by_model])
    assert not bad_in and set(bad_stored) == {total} and "removed from the stored rows" in bad_stored[total]
    bad_in, bad_stored = settle_shapes([by_model], [total])
    assert set(bad_in) == {total} and not bad_stored
    # the same shape again is a re-fetch (replaced row by row), and other days never conflict
    assert settle_shapes([by_model], [by_model, _shape((), 4)]) == ({}, {})


def test_a_shape_gives_way_only_to_a_winner_that_stays() -> None:
    """``_beaten`` over pairs decided by hand: a chain (z beats y, y beats x) keeps x, which lost
    only to y, which gave way; a cycle with no shape that lost nothing (x beats y beats z beats
    x) settles as the pairs do, every loser giving way, and never raises."""
    from usagectl.store.billing import _beaten

    x, y, z = _shape(("model",), 3), _shape(("project_id",), 3), _shape(("model", "project_id"), 3)
    assert _beaten([x, y, z], {x: [(y, "x<y")], y: [(z, "y<z")]}) == {y: "y<z"}
    assert _beaten([x, y, z], {y: [(x, "y<x")], z: [(y, "z<y")], x: [(z, "x<z")]}) == {
        x: "x<z", y: "y<x", z: "z<y"}  # fmt: skip
    assert _beaten([x, y], {}) == {}


# --------------------------------------------------------------------------- fuzzing

_INT_KINDS = {n for n, k in EVENT_COLUMNS if k == "int"}
_value = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True),
    st.text(max_size=8), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)  # fmt: skip


def _mutate(doc: Any, draw_value: Any, keys: list[str]) -> Any:
    if isinstance(doc, dict):
        return {k: (draw_value if k in keys else _mutate(v, draw_value, keys)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_mutate(v, draw_value, keys) for v in doc]
    return doc


def _parsed(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


@st.composite
def _content(draw: st.DrawFn, fixture: Path) -> bytes:
    kind = draw(st.sampled_from(["bytes", "truncated", "mutated", "deep"]))
    text = fixture.read_text()
    if kind == "bytes":
        return draw(st.binary(max_size=400))
    if kind == "truncated":
        return text[: draw(st.integers(min_value=0, max_value=len(text)))].encode()
    if kind == "deep":
        depth = draw(st.integers(min_value=1, max_value=3000))
        return (
            '{"data":[{"start_time":1762128000,"starting_at":"2025-11-03T00:00:00Z","results":[' + "[" * depth
        ).encode()
    docs = [_parsed(line) for line in text.splitlines()] if fixture.suffix == ".jsonl" else [json.loads(text)]
    docs = [d for d in docs if d is not None]  # the fixture's own broken line stays out
    keys = draw(st.lists(st.sampled_from([
        "input_tokens", "output_tokens", "input_cached_tokens", "num_model_requests", "start_time", "end_time",
        "results", "data", "object", "model", "batch", "uncached_input_tokens", "cache_creation",
        "ephemeral_5m_input_tokens", "starting_at", "ending_at", "server_tool_use", "workspace_id"]), max_size=3))  # fmt: skip
    value = draw(_value)
    return "\n".join(json.dumps(_mutate(doc, value, keys)) for doc in docs).encode()


def _valid_event(fields: dict[str, Any]) -> bool:
    assert set(fields) <= set(EVENT_COLUMN_NAMES)
    for name, value in fields.items():
        if name in _INT_KINDS and value is not None:
            assert isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63, (name, value)
    ts = fields["ts"]
    assert isinstance(ts, datetime) and ts.tzinfo is not None
    json.dumps(fields["extra"], default=str)
    return True


@pytest.mark.parametrize(("importer", "fixture"), [(OPENAI, OA_REFETCH), (ANTHROPIC, AN_FIRST)])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_read_never_raises(importer: Any, fixture: Path, data: st.DataObject) -> None:
    content = data.draw(_content(fixture))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "page.json"
        path.write_bytes(content)
        for record in importer.read(path):
            assert (record.problem is not None and record.raw is not None) or _valid_event(record.fields)
            assert record.line is None or record.line >= 1


@pytest.mark.parametrize(("fmt", "fixture"), [("openai-usage", OA_FIRST), ("anthropic-usage", AN_FIRST)])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_import_exits_0_or_4(fmt: str, fixture: Path, data: st.DataObject) -> None:
    content = data.draw(_content(fixture))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "page.json"
        path.write_bytes(content)
        result = run("import", str(path), "--format", fmt, "--db", str(Path(tmp) / "f.duckdb"), expect=None)
        assert result.exit_code in (0, 4), (result.exit_code, result.stderr, result.exception)


@pytest.mark.parametrize(
    ("envelope", "fmt", "reason"),
    [
        ({"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limited"}}, "anthropic-usage",
         "error page, not a report: rate_limit_error: Rate limited"),
        ({"error": {"message": "Incorrect API key", "type": "invalid_request_error", "param": None,
                    "code": "invalid_api_key"}}, "openai-usage", "error page, not a report: invalid_api_key: Incorrect API key"),
    ],
)  # fmt: skip
def test_a_saved_error_page_alone_is_detected_and_rejected_as_one(
    tmp_path: Path, db_path: Path, envelope: dict[str, Any], fmt: str, reason: str
) -> None:
    """A file holding only a failed call's error envelope (FORMATS.md §1, §2): --format auto
    hands it to the provider's importer, whose reject says what it is (not "missing ts")."""
    page = tmp_path / "page.json"
    page.write_text(json.dumps(envelope), encoding="utf-8")
    out = _import(db_path, page)
    assert out["per_file"][0]["format"] == fmt
    assert (out["imported"], out["rejected"]) == (0, 1)
    assert [r[2] for r in _rejects(db_path)] == [reason]


QUIET = "no usage in this file: its buckets hold no result rows (a period without usage)"


@pytest.mark.parametrize(
    ("page", "provider"),
    [
        ({"object": "page", "data": [{"object": "bucket", "start_time": 1762732800, "end_time": 1762819200,
                                      "results": []}], "has_more": False, "next_page": None}, "openai"),
        ({"data": [{"starting_at": "2025-11-10T00:00:00Z", "ending_at": "2025-11-11T00:00:00Z", "results": []}],
          "has_more": False, "next_page": None}, "anthropic"),
    ],
)  # fmt: skip
def test_a_page_of_a_day_without_usage_imports_as_no_usage_never_a_reject(
    tmp_path: Path, db_path: Path, page: dict[str, Any], provider: str
) -> None:
    """QA: a valid page for a day with no usage (``results: []``: FORMATS.md §1, not an error) was
    read as canonical JSONL under auto and rejected ("missing ts"), and with its format named
    said it "does not look like a openai-usage log". It is the provider's format, 0 records,
    nothing stored, no reject, a note; with each of the provider's four report formats named
    alike (a quiet page of the usage report looks like one of the cost report)."""
    quiet = tmp_path / f"{provider}_quiet_day.json"
    quiet.write_text(json.dumps(page))
    out = _import(db_path, quiet)  # --format auto
    f = out["per_file"][0]
    assert (f["format"], f["records"], f["rejected"], f["error"]) == (f"{provider}-usage", 0, 0, None)
    assert (f["warnings"], f["notes"]) == ([], [QUIET])
    other = "anthropic" if provider == "openai" else "openai"
    cost = "openai-costs" if provider == "openai" else "anthropic-cost"
    for fmt in (f"{provider}-usage", cost):
        db = tmp_path / f"{fmt}.duckdb"
        f = _import(db, quiet, fmt=fmt)["per_file"][0]
        assert (f["records"], f["rejected"], f["warnings"], f["notes"]) == (0, 0, [], [QUIET])
    # the other provider's usage format named: not a page of that API, and said so
    f = _import(tmp_path / "other.duckdb", quiet, fmt=f"{other}-usage")["per_file"][0]
    assert f["notes"] == [] and f["records"] == f["rejected"] == 1
    assert _query(db_path, "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM rejects)") == [(0, 0)]
    result = run("import", str(quiet), "--db", str(tmp_path / "shown.duckdb"))
    assert f"note: {quiet}: {QUIET}" in result.stderr and "warning" not in result.stderr


def test_pages_without_usage_in_every_saved_shape_are_told_apart_by_provider(tmp_path: Path, db_path: Path) -> None:
    """Pages without a result row as JSONL, as an array, with no bucket at all, and as a 1-minute
    page of empty buckets longer than the 64 KiB first sniffed: each is its provider's usage
    format with 0 records; a page with one row among empty buckets is not "without usage"."""
    day = 1791072000  # 2026-10-04T00:00:00Z
    minutes = [{"object": "bucket", "start_time": day + 60 * m, "end_time": day + 60 * m + 60, "results": []}
               for m in range(1440)]  # fmt: skip
    an_bucket = {"starting_at": "2025-11-10T00:00:00Z", "ending_at": "2025-11-11T00:00:00Z", "results": []}
    files = {
        "an.jsonl": "\n".join(json.dumps(p) for p in (
            {"data": [an_bucket], "has_more": True, "next_page": "page_2"},
            {"data": [], "has_more": False, "next_page": None},
        )) + "\n",
        "oa_array.json": json.dumps([{"object": "page", "data": minutes[:2], "has_more": False, "next_page": None}]),
        "oa_no_bucket.json": json.dumps({"object": "page", "data": [], "has_more": False, "next_page": None}),
        "oa_1m.json": json.dumps({"object": "page", "data": minutes, "has_more": False, "next_page": None}, indent=2),
    }  # fmt: skip
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert len((tmp_path / "oa_1m.json").read_bytes()) > 65536
    out = _import(db_path, *(tmp_path / n for n in files))
    got = {Path(f["path"]).name: (f["format"], f["records"], f["rejected"], f["notes"]) for f in out["per_file"]}
    assert got == {
        "an.jsonl": ("anthropic-usage", 0, 0, [QUIET]),
        "oa_array.json": ("openai-usage", 0, 0, [QUIET]),
        "oa_no_bucket.json": ("openai-usage", 0, 0, [QUIET]),
        "oa_1m.json": ("openai-usage", 0, 0, [QUIET]),
    }
    from usagectl.importers._pages import empty_report

    row = {"object": "organization.usage.completions.result", "input_tokens": 1, "output_tokens": 1,
           "num_model_requests": 1}  # fmt: skip
    busy = {"object": "page", "data": [*minutes[:2], {**minutes[2], "results": [row]}], "has_more": False}
    assert empty_report(json.dumps(busy).encode()) is None
    assert empty_report(json.dumps({"object": "page", "data": minutes}).encode()[:5000]) is None  # cut short


def test_a_stored_total_is_moved_to_rejects_by_the_import_that_brings_finer_rows_atomically(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The move is part of the finer fetch's import: its reject belongs to that import's batch,
    and an import that fails before its commit leaves the stored total where it was."""
    from usagectl.services.context import make_context
    from usagectl.services.imports import import_paths
    from usagectl.store import ingest

    total_page, model_page = _pages(OA_MIXED)
    total, per_model = tmp_path / "total.json", tmp_path / "per_model.json"
    total.write_text(json.dumps(total_page), encoding="utf-8")
    per_model.write_text(json.dumps(model_page), encoding="utf-8")
    _import(db_path, total, fmt="openai-usage")

    def crash(con: object) -> None:
        raise RuntimeError("crash before commit")

    monkeypatch.setattr(ingest, "before_commit_hook", crash)
    with pytest.raises(RuntimeError, match="crash before commit"):
        import_paths(make_context(None, db_path), [per_model], fmt="openai-usage")
    monkeypatch.undo()
    assert _query(db_path, "SELECT count(*), sum(requests) FROM events") == [(1, 60)]  # the total, untouched
    assert _query(db_path, "SELECT count(*) FROM rejects") == [(0,)]
    _import(db_path, per_model, fmt="openai-usage")
    moved = _query(
        db_path,
        "SELECT b.path FROM rejects r JOIN import_batches b USING (batch_id) WHERE r.reason LIKE 'removed from the stored rows%'",
    )
    assert [Path(p).name for (p,) in moved] == ["per_model.json"]
    assert _query(db_path, "SELECT sum(requests) FROM events") == [(60,)]


# --------------------------------------------------------------------------- partial finer fetches
# (QA: a finer bucket or grouping covering only part of a coarser one must not delete it)

_AN_ROW = {"cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
           "cache_read_input_tokens": 0, "server_tool_use": {"web_search_requests": 0}, "api_key_id": None,
           "workspace_id": None, "service_tier": None, "context_window": None}  # fmt: skip
_SONNET = "claude-sonnet-4-5-20250929"


def _an_page(*buckets: tuple[str, str, int, int, str | None]) -> dict[str, Any]:
    """An Anthropic usage page: (start, end, uncached input, output, model) per bucket."""
    return {"data": [{"starting_at": s, "ending_at": e, "results": [
        {**_AN_ROW, "uncached_input_tokens": i, "output_tokens": o, "model": m}]} for s, e, i, o, m in buckets],
        "has_more": False, "next_page": None}  # fmt: skip


def _oa_page(*buckets: tuple[int, int, int, int, int]) -> dict[str, Any]:
    """An OpenAI completions usage page: (start, end, input, output, requests) per bucket, gpt-4o."""
    return {"object": "page", "data": [{"object": "bucket", "start_time": s, "end_time": e, "results": [
        {"object": "organization.usage.completions.result", "input_tokens": i, "output_tokens": o,
         "input_cached_tokens": 0, "num_model_requests": n, "project_id": None, "user_id": None,
         "api_key_id": None, "model": "gpt-4o-2024-08-06", "batch": None}]} for s, e, i, o, n in buckets],
        "has_more": False, "next_page": None}  # fmt: skip


_D10, _D11 = "2025-11-10T00:00:00Z", "2025-11-11T00:00:00Z"
_H0, _H1, _H2 = "2025-11-10T00:00:00Z", "2025-11-10T01:00:00Z", "2025-11-10T02:00:00Z"
AN_DAY = _an_page((_D10, _D11, 3000, 300, _SONNET))
AN_HOUR_PART = _an_page((_H0, _H1, 1000, 100, _SONNET))
AN_HOURS_FULL = _an_page((_H0, _H1, 1000, 100, _SONNET), (_H1, _H2, 2000, 200, _SONNET))
_T10, _T11 = 1762732800, 1762819200  # 2025-11-10 and 2025-11-11 00:00 UTC
OA_DAY = _oa_page((_T10, _T11, 30000, 3000, 30))
OA_HOUR_PART = _oa_page((_T10, _T10 + 3600, 1000, 100, 1))


def _write(tmp_path: Path, name: str, *pages: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(p) for p in pages) + "\n", encoding="utf-8")
    return path


def _day(db: Path, day: str) -> dict[str, Any]:
    return _daily(db, day, day)[day]


@pytest.mark.parametrize("coarse_first", [True, False])
def test_a_partial_hour_never_replaces_its_day_anthropic(tmp_path: Path, db_path: Path, coarse_first: bool) -> None:
    """Day: 3,000 input + 300 output; the hour 00–01 holds 1,000 + 100 of it. Whatever the order,
    the day stays: 3,000 × $3/M + 300 × $15/M = $0.009 + $0.0045 = $0.0135 (not the hour's $0.0045,
    not both: 4,000/400)."""
    day, hour = _write(tmp_path, "day.json", AN_DAY), _write(tmp_path, "hour.json", AN_HOUR_PART)
    for path in (day, hour) if coarse_first else (hour, day):
        _import(db_path, path, fmt="anthropic-usage")
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], d["output_tokens"], _money(d["cost_usd"])) == (3000, 300, Decimal("0.0135"))
    assert _query(db_path, "SELECT count(*) FROM events") == [(1,)]
    (reason,) = [r for _, _, r in _rejects(db_path)]
    assert "covers only part of bucket 2025-11-10T00:00Z–2025-11-11T00:00Z" in reason
    assert "(1,100 of its 3,300 tokens)" in reason and "double count" in reason  # 1,000+100 of 3,000+300
    # the hour gives way: rejected when it comes second, moved out of the stored rows when first
    hour_reason = "bucket 2025-11-10T00:00Z–2025-11-10T01:00Z grouped by [model] covers only part of"
    assert reason.startswith(hour_reason if coarse_first else "removed from the stored rows: " + hour_reason)


@pytest.mark.parametrize("coarse_first", [True, False])
def test_a_row_that_gave_way_is_not_counted_as_a_record_that_could_not_be_imported(
    tmp_path: Path, db_path: Path, coarse_first: bool
) -> None:
    """The day and its partial hour (as above): the hour gives way, set aside on arrival when it
    comes second, moved out of the stored rows when it came first. Either way `db rejects` lists
    it, but `db status` counts it apart (0 rejected records, 1 row that gave way) and `doctor`
    does not call it a record that could not be imported; the import that sets it aside says
    why. A page cut off in its middle is then one record that could not be imported: 1 and 1."""
    day, hour = _write(tmp_path, "day.json", AN_DAY), _write(tmp_path, "hour.json", AN_HOUR_PART)
    outs = [_import(db_path, path, fmt="anthropic-usage") for path in ((day, hour) if coarse_first else (hour, day))]
    if coarse_first:
        assert outs[1]["rejected"] == 1
        assert outs[1]["per_file"][0]["warnings"] == [
            "1 row of this file gave way on arrival to stored rows of another fetch shape that hold its usage (or, "
            "where neither holds all of the other's, more tokens): counted as rejected, kept in `usagectl db rejects` with the reason, not summed; it comes back if what "
            "it gave way to is replaced"
        ]
    assert run_json("db", "rejects", "--db", str(db_path))["totals"]["rejects"] == 1
    overview = run_json("db", "status", "--db", str(db_path))["overview"]
    assert (overview["rejects"], overview["gave_way"]) == (0, 1)
    assert [f for f in run_json("doctor", "--db", str(db_path))["rows"] if f["check"] == "rejects"] == []
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(AN_DAY)[:60] + "\n", encoding="utf-8")
    assert _import(db_path, cut, fmt="anthropic-usage")["rejected"] == 1
    overview = run_json("db", "status", "--db", str(db_path))["overview"]
    assert (overview["rejects"], overview["gave_way"]) == (1, 1)
    (found,) = [f for f in run_json("doctor", "--db", str(db_path))["rows"] if f["check"] == "rejects"]
    assert found["count"] == 1 and found["detail"] == "1 record could not be imported"


@pytest.mark.parametrize("coarse_first", [True, False])
def test_a_partial_hour_never_replaces_its_day_openai(tmp_path: Path, db_path: Path, coarse_first: bool) -> None:
    """Day: 30 requests, 30,000 input + 3,000 output; the first hour: 1 request, 1,000 + 100. The day
    stays: 30,000 × $2.50/M + 3,000 × $10/M = $0.075 + $0.03 = $0.105, 30 requests."""
    day, hour = _write(tmp_path, "day.json", OA_DAY), _write(tmp_path, "hour.json", OA_HOUR_PART)
    for path in (day, hour) if coarse_first else (hour, day):
        _import(db_path, path, fmt="openai-usage")
    d = _day(db_path, "2025-11-10")
    assert (d["requests"], d["input_tokens"], d["output_tokens"]) == (30, 30000, 3000)
    assert _money(d["cost_usd"]) == Decimal("0.105")
    (reason,) = [r for _, _, r in _rejects(db_path)]
    assert "(1,100 of its 33,000 tokens, 1 of its 30 requests)" in reason


def test_complete_hours_still_replace_their_day_and_the_summary_says_so(tmp_path: Path, db_path: Path) -> None:
    """Hours 00–01 (1,000 + 100) and 01–02 (2,000 + 200) sum to the day (3,000 + 300): the finer
    fetch is complete and wins; the day is moved to rejects for reference, the import counts it as
    replaced (2 records = 1 imported + 1 replaced: the events go from 1 to 2) and its warning says
    so; `doctor` and `db status` do not count it as a record that could not be imported."""
    _import(db_path, _write(tmp_path, "day.json", AN_DAY), fmt="anthropic-usage")
    out = _import(db_path, _write(tmp_path, "hours.json", AN_HOURS_FULL), fmt="anthropic-usage")
    assert (out["records"], out["imported"], out["replaced"], out["rejected"]) == (2, 1, 1, 0)
    assert (out["per_file"][0]["imported"], out["per_file"][0]["replaced"]) == (1, 1)
    (warning,) = out["per_file"][0]["warnings"]
    assert warning.startswith("1 stored row of another fetch shape") and "kept for reference" in warning
    assert run_json("db", "status", "--db", str(db_path))["overview"]["rejects"] == 0
    doctor = run_json("doctor", "--db", str(db_path))
    assert [f for f in doctor["rows"] if f["check"] == "rejects"] == []
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], d["output_tokens"], _money(d["cost_usd"])) == (3000, 300, Decimal("0.0135"))
    assert _query(db_path, "SELECT count(*) FROM events") == [(2,)]
    (reason,) = [r for _, _, r in _rejects(db_path)]
    assert reason.startswith("removed from the stored rows: bucket 2025-11-10T00:00Z–2025-11-11T00:00Z")
    # the day fetched again (other bytes, so not "unchanged") now gives way to the stored hours
    day2 = tmp_path / "day2.json"
    day2.write_text(json.dumps(AN_DAY, indent=1), encoding="utf-8")
    res = run("import", str(day2), "--format", "anthropic-usage", "--db", str(db_path))
    assert res.exit_code == 0 and "1 rejected" in res.stderr and "gave way to this file's rows" not in res.stderr
    assert "1 row of this file gave way on arrival to stored rows of another fetch shape" in res.stderr
    assert _query(db_path, "SELECT count(*), sum(input_tokens) FROM events") == [(2, 3000)]


def test_one_file_with_a_day_and_part_of_it_keeps_the_day(tmp_path: Path, db_path: Path) -> None:
    """In one file: the day (3,000 + 300) and its first hour (1,000 + 100): the hour is rejected.
    With both hours (summing to the day) the day is rejected instead: 3,000 + 300 either way."""
    out = _import(db_path, _write(tmp_path, "mixed.jsonl", AN_DAY, AN_HOUR_PART), fmt="anthropic-usage")
    assert (out["imported"], out["rejected"]) == (1, 1)
    assert "covers only part of" in _rejects(db_path)[0][2] and "in this file" in _rejects(db_path)[0][2]
    assert _query(db_path, "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM events") == [(1, 3000, 300)]
    other = tmp_path / "other.duckdb"
    out = _import(other, _write(tmp_path, "full.jsonl", AN_DAY, AN_HOURS_FULL), fmt="anthropic-usage")
    assert (out["imported"], out["rejected"]) == (2, 1)
    assert _query(other, "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM events") == [(2, 3000, 300)]


@pytest.mark.parametrize("total_first", [True, False])
def test_a_per_model_fetch_of_some_models_never_replaces_the_total(
    tmp_path: Path, db_path: Path, total_first: bool
) -> None:
    """An ungrouped total of 11-07 (3,000 + 300) and a per-model fetch filtered to sonnet (1,000 +
    100): the total holds more, so it stays (unpriced: no model) and the per-model rows give way,
    in both orders: 3,300 tokens, never 1,100 or 4,400."""
    total = _write(tmp_path, "total.json", _an_page(("2025-11-07T00:00:00Z", "2025-11-08T00:00:00Z", 3000, 300, None)))
    sonnet = _write(
        tmp_path, "sonnet.json", _an_page(("2025-11-07T00:00:00Z", "2025-11-08T00:00:00Z", 1000, 100, _SONNET))
    )
    for path in (total, sonnet) if total_first else (sonnet, total):
        _import(db_path, path, fmt="anthropic-usage")
    d = _day(db_path, "2025-11-07")
    assert (d["total_tokens"], d["cost_usd"]) == (3300, None)
    assert _query(db_path, "SELECT model_raw FROM events") == [(None,)]
    (reason,) = [r for _, _, r in _rejects(db_path)]
    assert "grouped by [model] covers only part of bucket" in reason and "grouped by nothing (a total)" in reason


def test_settle_shapes_with_totals() -> None:
    """Counters: (input, cache read, 5m, 1h, output, web searches, requests)."""
    day, h0, h1 = _shape(("model",), 10), _shape(("model",), 10, 1, 0), _shape(("model",), 10, 1, 1)
    full = {day: (3000, 0, 0, 0, 300, 0, 0), h0: (1000, 0, 0, 0, 100, 0, 0), h1: (2000, 0, 0, 0, 200, 0, 0)}
    # the stored day, both hours coming: 1,000 + 2,000 >= 3,000 and 100 + 200 >= 300: the day goes
    bad_in, bad_stored = settle_shapes([day], [h0, h1], totals=full)
    assert not bad_in and set(bad_stored) == {day}
    # one hour only: it gives way, the day stays
    bad_in, bad_stored = settle_shapes([day], [h0], totals=full)
    assert set(bad_in) == {h0} and not bad_stored
    # more of one counter does not make up for less of another: 3,000 input but 299 output
    short = {**full, h1: (2000, 0, 0, 0, 199, 0, 0)}
    bad_in, bad_stored = settle_shapes([day], [h0, h1], totals=short)
    assert set(bad_in) == {h0, h1} and not bad_stored
    # the stored partial hour gives way to an incoming day that holds more
    bad_in, bad_stored = settle_shapes([h0], [day], totals=full)
    assert not bad_in and set(bad_stored) == {h0}
    # without totals (cost lines) the finer shape wins as before
    bad_in, bad_stored = settle_shapes([day], [h0])
    assert not bad_in and set(bad_stored) == {day}


def test_a_page_with_bytes_that_are_not_utf8_is_a_reject_on_their_line(tmp_path: Path, db_path: Path) -> None:
    """A Latin-1 byte in a project id (``proj_\\xe9``) was read as U+FFFD and imported without a
    word (QA finding); the page is now a reject naming the byte and its line, as a Claude Code or
    LiteLLM line with such a byte is. In a JSONL of pages only that line's page is rejected."""
    page = (DATA / "openai" / "usage_nov03_04.json").read_bytes()
    assert page.count(b'"proj_8Hq2TzX4kLmN0pQr"') >= 1
    bad_line = page[: page.index(b"proj_8Hq2TzX4kLmN0pQr")].count(b"\n") + 1
    bad = page.replace(b"proj_8Hq2TzX4kLmN0pQr", b"proj_\xe9", 1)
    f = tmp_path / "latin1.json"
    f.write_bytes(bad)
    out = run_json("import", str(f), "--format", "openai-usage", "--db", str(db_path))
    assert (out["imported"], out["rejected"]) == (0, 1)
    assert query(db_path, "SELECT line, reason FROM rejects") == [(bad_line, "not valid UTF-8 text (byte 0xe9)")]
    assert query(db_path, "SELECT count(*) FROM events WHERE project LIKE '%\ufffd%'") == [(0,)]
    # two pages as JSON lines: the good one imports, the other is rejected on its own line 2
    good = json.dumps(json.loads(page))
    lines = tmp_path / "pages.jsonl"
    lines.write_bytes(good.encode() + b"\n" + good.encode().replace(b"proj_8Hq2TzX4kLmN0pQr", b"proj_\xe9") + b"\n")
    db2 = tmp_path / "two.duckdb"
    out = run_json("import", str(lines), "--format", "openai-usage", "--db", str(db2))
    assert out["rejected"] == 1 and out["imported"] > 0
    assert query(db2, "SELECT line, reason FROM rejects") == [(2, "not valid UTF-8 text (byte 0xe9)")]


def test_a_folder_of_gzipped_pages_imports_under_an_explicit_format(tmp_path: Path, db_path: Path) -> None:
    """``--format openai-usage`` on a folder reads ``.json.gz`` pages as ``--format auto`` does
    (it said "no importable files found"): the same events as the plain page."""
    import gzip

    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "usage.json.gz").write_bytes(gzip.compress((OA / "usage_nov03_04.json").read_bytes()))
    plain = _import(tmp_path / "plain.duckdb", OA / "usage_nov03_04.json", fmt="openai-usage")
    out = _import(db_path, folder, fmt="openai-usage")
    assert out["imported"] == plain["imported"] > 0 and out["rejected"] == plain["rejected"]
    total = "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM events"
    assert query(db_path, total) == query(tmp_path / "plain.duckdb", total)


def _oa_row(model: str, i: int, o: int, n: int, user: str | None = None) -> dict[str, Any]:
    return {"object": "organization.usage.completions.result", "input_tokens": i, "output_tokens": o,
            "input_cached_tokens": 0, "num_model_requests": n, "project_id": None, "user_id": user,
            "api_key_id": None, "model": model, "batch": None}  # fmt: skip


@pytest.mark.parametrize("by_model_first", [True, False])
def test_a_fetch_filtered_to_some_models_never_wipes_the_others(
    tmp_path: Path, db_path: Path, by_model_first: bool
) -> None:
    """2025-11-10 grouped by [model]: gpt-4.1 100k + 10k, gpt-4o-mini 100k + 10k. A later fetch
    grouped by [model, user_id] and filtered to gpt-4.1 holds 300k + 30k of it: more tokens in
    all than the whole day, but none of gpt-4o-mini. gpt-4o-mini's 110k tokens (100k x $0.15/M +
    10k x $0.60/M = $0.021) stay in either order; gpt-4.1 is counted once, never summed with the
    other fetch's."""

    def page(*rows: dict[str, Any]) -> dict[str, Any]:
        return {"object": "page", "data": [{"object": "bucket", "start_time": _T10, "end_time": _T11,
                "results": list(rows)}], "has_more": False, "next_page": None}  # fmt: skip

    by_model = _write(
        tmp_path,
        "by_model.json",
        page(
            _oa_row("gpt-4.1-2025-04-14", 100_000, 10_000, 10), _oa_row("gpt-4o-mini-2024-07-18", 100_000, 10_000, 10)
        ),
    )
    filtered = _write(tmp_path, "filtered.json", page(_oa_row("gpt-4.1-2025-04-14", 300_000, 30_000, 30, "alice")))
    for path in (by_model, filtered) if by_model_first else (filtered, by_model):
        _import(db_path, path, fmt="openai-usage")
    models = _by_model(db_path, "2025-11-10", "2025-11-10")
    mini = models["gpt-4o-mini"]
    assert (mini["total_tokens"], _money(mini["cost_usd"])) == (110_000, Decimal("0.021"))
    assert models["gpt-4.1"]["total_tokens"] in (110_000, 330_000)
    assert sum(r["total_tokens"] for r in models.values()) in (220_000, 440_000)
    assert any("not all of its usage of gpt-4o-mini" in r for _, _, r in _rejects(db_path))


def _an_row(i: int, o: int, workspace: str | None) -> dict[str, Any]:
    return {**_AN_ROW, "uncached_input_tokens": i, "output_tokens": o, "model": _SONNET, "workspace_id": workspace}


def _an_model_row(i: int, o: int, model: str, key: str | None = None) -> dict[str, Any]:
    """An Anthropic usage row of ``model`` (and API key), uncached input ``i``, output ``o``."""
    return {**_an_row(i, o, None), "model": model, "api_key_id": key}


def _an_buckets(*buckets: tuple[str, str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"data": [{"starting_at": s, "ending_at": e, "results": rows} for s, e, rows in buckets],
            "has_more": False, "next_page": None}  # fmt: skip


@pytest.mark.parametrize("hour_0_workspace", [None, "wrkspc_B"])
def test_complete_hours_replace_their_day_when_an_hour_is_all_default_workspace(
    tmp_path: Path, db_path: Path, hour_0_workspace: str | None
) -> None:
    """A day fetched mid-day grouped by workspace: wrkspc_A 1,000 + 100, default (null) 500 + 50.
    Later its hours, the same grouping: 00–01 only the default workspace, 600 + 60 (its rows leave
    workspace_id null, so the bucket alone looks ungrouped), 01–02 wrkspc_A 1,200 + 120. The hours
    hold at least as much of everything (1,800 ≥ 1,500; 180 ≥ 150): they replace the day, as they
    do when hour 00 is in a named workspace (the control). Sonnet: 1,800 × $3/M + 180 × $15/M =
    $0.0054 + $0.0027 = $0.0081 (QA: the hour was taken for a coarser fetch, both hours were
    rejected and the partial day stayed at $0.00675)."""
    day = _an_buckets((_D10, _D11, [_an_row(1000, 100, "wrkspc_A"), _an_row(500, 50, None)]))
    hours = _an_buckets((_H0, _H1, [_an_row(600, 60, hour_0_workspace)]), (_H1, _H2, [_an_row(1200, 120, "wrkspc_A")]))
    _import(db_path, _write(tmp_path, "day.json", day), fmt="anthropic-usage")
    out = _import(db_path, _write(tmp_path, "hours.json", hours), fmt="anthropic-usage")
    assert (out["rejected"], out["replaced"]) == (0, 2)
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], d["output_tokens"], _money(d["cost_usd"])) == (1800, 180, Decimal("0.0081"))
    # the hour stays under its own identity: importing the hours again adds nothing
    again = tmp_path / "hours2.json"
    again.write_text(json.dumps(hours, indent=1), encoding="utf-8")
    out = _import(db_path, again, fmt="anthropic-usage")
    assert (out["imported"], out["rejected"]) == (0, 0)
    assert _query(db_path, "SELECT count(*), sum(input_tokens) FROM events") == [(2, 1800)]


def test_complete_hours_replace_their_day_when_an_hour_has_no_user_openai(tmp_path: Path, db_path: Path) -> None:
    """OpenAI, grouped by user: the day (fetched mid-day) alice 1,000 input / 2 requests and no user
    500 / 1; its hours: 00–01 only usage without a user, 600 / 1; 01–02 alice 1,200 / 3. The hours
    are complete (1,800 ≥ 1,500 input, 4 ≥ 3 requests) and replace the day: 4 requests, 1,800
    input tokens (QA: both hours were rejected, and the day stayed at 3 requests / 1,500)."""

    def page(*buckets: tuple[int, int, list[dict[str, Any]]]) -> dict[str, Any]:
        return {"object": "page", "data": [{"object": "bucket", "start_time": s, "end_time": e, "results": rows}
                for s, e, rows in buckets], "has_more": False, "next_page": None}  # fmt: skip

    gpt = "gpt-4o-2024-08-06"
    day = page((_T10, _T11, [_oa_row(gpt, 1000, 0, 2, "user_alice"), _oa_row(gpt, 500, 0, 1)]))
    hours = page((_T10, _T10 + 3600, [_oa_row(gpt, 600, 0, 1)]),
                 (_T10 + 3600, _T10 + 7200, [_oa_row(gpt, 1200, 0, 3, "user_alice")]))  # fmt: skip
    _import(db_path, _write(tmp_path, "day.json", day), fmt="openai-usage")
    out = _import(db_path, _write(tmp_path, "hours.json", hours), fmt="openai-usage")
    assert (out["rejected"], out["replaced"]) == (0, 2)
    d = _day(db_path, "2025-11-10")
    assert (d["requests"], d["input_tokens"]) == (4, 1800)


def test_an_ungrouped_page_beside_a_grouped_one_is_still_the_coarser_fetch(tmp_path: Path, db_path: Path) -> None:
    """The fetch's group-by is taken per page: a page holding only an ungrouped total of the day
    (its own fetch) is still coarser than the stored day grouped by workspace, and is rejected,
    even when the same file holds a grouped page of another day."""
    day = _an_buckets((_D10, _D11, [_an_row(1000, 100, "wrkspc_A"), _an_row(500, 50, None)]))
    _import(db_path, _write(tmp_path, "day.json", day), fmt="anthropic-usage")
    total = _an_buckets((_D10, _D11, [_an_row(1500, 150, None)]))
    other = _an_buckets(("2025-11-11T00:00:00Z", "2025-11-12T00:00:00Z", [_an_row(10, 1, "wrkspc_A")]))
    out = _import(db_path, _write(tmp_path, "mixed.jsonl", other, total), fmt="anthropic-usage")
    assert (out["imported"], out["rejected"]) == (1, 1)
    assert "these rows are the coarser grouping" in _rejects(db_path)[0][2]
    assert _query(db_path, "SELECT sum(input_tokens) FROM events WHERE ts < '2025-11-11'") == [(1500,)]


def test_the_default_workspace_is_one_workspace_across_the_pages_of_a_fetch(tmp_path: Path, db_path: Path) -> None:
    """A fetch grouped by workspace, saved page by page: page 1 (``has_more: true``) holds only
    the default workspace (workspace_id null) on 11-12, 1,000 input; page 2 the default workspace
    2,000 and wrkspc_A 3,000 on 11-13. The default workspace is one workspace, 3,000 in all (QA:
    page 1's row was stored without a workspace, splitting it into "default" 2,000 and "(none)" 1,000).
    A page that ends its fetch (``has_more: false``) and names no workspace is a fetch of its own,
    not grouped by workspace: its rows keep no workspace."""
    d12, d13, d14 = "2025-11-12T00:00:00Z", "2025-11-13T00:00:00Z", "2025-11-14T00:00:00Z"
    page1 = {**_an_buckets((d12, d13, [_an_row(1000, 10, None)])), "has_more": True, "next_page": "page_2"}
    page2 = _an_buckets((d13, d14, [_an_row(2000, 20, None), _an_row(3000, 30, "wrkspc_A")]))
    _import(db_path, _write(tmp_path, "pages.jsonl", page1, page2), fmt="anthropic-usage")
    rep = run_json("report", "by", "workspace", "--since", "2025-11-12", "--until", "2025-11-13", "--tz", "UTC",
                   "--db", str(db_path))  # fmt: skip
    assert {r["workspace"]: r["input_tokens"] for r in rep["rows"]} == {"default": 3000, "wrkspc_A": 3000}
    other = tmp_path / "other.duckdb"
    alone = {**page1, "has_more": False, "next_page": None}
    _import(other, _write(tmp_path, "alone.jsonl", alone, page2), fmt="anthropic-usage")
    assert _query(other, "SELECT workspace, sum(input_tokens) FROM events GROUP BY 1 ORDER BY 2") == [
        (None, 1000), ("default", 2000), ("wrkspc_A", 3000)]  # fmt: skip


def test_the_group_by_of_a_paginated_openai_fetch_spans_its_pages(tmp_path: Path, db_path: Path) -> None:
    """OpenAI, a day (grouped by user, fetched mid-day: alice 1,000 / 2 requests, no user 500 / 1),
    then its hours saved as two pages of one fetch: page 1 (``has_more: true``) holds hour 00 with
    only usage without a user (600 / 1), page 2 hour 01, alice 1,200 / 3. The fetch is grouped by
    user, complete, and replaces the day: 4 requests, 1,800 input."""

    def page(more: bool, *buckets: tuple[int, int, list[dict[str, Any]]]) -> dict[str, Any]:
        return {"object": "page", "data": [{"object": "bucket", "start_time": s, "end_time": e, "results": rows}
                for s, e, rows in buckets], "has_more": more, "next_page": "p2" if more else None}  # fmt: skip

    gpt = "gpt-4o-2024-08-06"
    day = page(False, (_T10, _T11, [_oa_row(gpt, 1000, 0, 2, "user_alice"), _oa_row(gpt, 500, 0, 1)]))
    p1 = page(True, (_T10, _T10 + 3600, [_oa_row(gpt, 600, 0, 1)]))
    p2 = page(False, (_T10 + 3600, _T10 + 7200, [_oa_row(gpt, 1200, 0, 3, "user_alice")]))
    _import(db_path, _write(tmp_path, "day.json", day), fmt="openai-usage")
    out = _import(db_path, _write(tmp_path, "hours.jsonl", p1, p2), fmt="openai-usage")
    assert (out["rejected"], out["replaced"]) == (0, 2)
    d = _day(db_path, "2025-11-10")
    assert (d["requests"], d["input_tokens"]) == (4, 1800)


def test_reports_say_when_a_zone_moves_provider_day_buckets(tmp_path: Path, db_path: Path) -> None:
    """One OpenAI 1-day bucket, 2025-11-10 00:00 UTC (30,000 input). In Los Angeles (UTC−8) that
    instant is 16:00 on 11-09, so the whole UTC day shows on 11-09: the daily and month reports
    and `cost` say so. In UTC and in Berlin (UTC+1: 01:00 on 11-10) the dates agree: no note.
    An hour-of-day view counts the bucket whole in one hour in any zone: `report hourly` says so."""
    _import(db_path, _write(tmp_path, "day.json", OA_DAY), fmt="openai-usage")
    rng = ("--since", "2025-11-09", "--until", "2025-11-10")

    def notes(*args: str) -> str:
        dated = () if "compare" in args else rng
        return " ".join(run_json(*args, *dated, "--db", str(db_path)).get("notes", []))

    la = ("--tz", "America/Los_Angeles")
    daily = run_json("report", "daily", *la, *rng, "--db", str(db_path))
    assert {r["date"]: r["input_tokens"] for r in daily["rows"] if r["input_tokens"]} == {"2025-11-09": 30000}
    for args in (("report", "daily", *la), ("cost", *la), ("report", "by", "model", *la)):
        text = notes(*args)
        assert "1 provider usage row is a whole UTC-day bucket" in text, args
        assert "previous local day" in text and "--tz UTC" in text, args
    for tz in ("UTC", "Europe/Berlin"):
        assert "UTC-day" not in notes("report", "daily", "--tz", tz)
    assert "it is counted whole in the local hour of its start, 00:00 UTC, not spread" in notes(
        "report", "hourly", "--tz", "UTC")  # fmt: skip
    assert "00:00 UTC (west of UTC, on the previous weekday)" in notes("report", "hourly", *la)
    # the note follows the filters: a model the bucket is not of, no note
    assert "UTC-day" not in notes("report", "daily", *la, "--model", "gpt-4o-mini")
    # comparing 11-10 with 11-11 in Los Angeles: the bucket covers 11-10 but shows on 11-09
    assert "Period 2025-11-10: 1 provider usage row is a whole UTC-day bucket" in notes(
        "report", "compare", "--period", "2025-11-10", "--vs", "2025-11-11", *la)  # fmt: skip
    # agent logs (single requests at their own instants): no note in any zone
    other = tmp_path / "agent.duckdb"
    write_jsonl(tmp_path / "e.jsonl", [{"ts": "2025-11-10T00:00:00Z", "model_raw": "gpt-4o", "input_tokens": 5}])
    run("import", str(tmp_path / "e.jsonl"), "--db", str(other))
    out = run_json("report", "daily", *la, "--since", "2025-11-09", "--until", "2025-11-10", "--db", str(other))
    assert "UTC-day" not in " ".join(out.get("notes", []))


_H = {h: f"2025-11-10T{h:02d}:00:00Z" for h in range(24)}
_HOURLY_ONE = _an_buckets(
    (_H[0], _H[1], [_an_row(1500, 150, None)]),  # only the default workspace
    (_H[5], _H[6], [_an_row(1200, 120, "wrkspc_A"), _an_row(700, 70, None)]),
    (_H[13], _H[14], [_an_row(300, 30, None)]),  # only the default workspace
)


@pytest.mark.parametrize("hours_first", [True, False])
def test_a_stored_complete_hourly_fetch_is_weighed_as_its_fetch(
    tmp_path: Path, db_path: Path, hours_first: bool
) -> None:
    """The complete hourly fetch (grouped by workspace; hours 00 and 13 hold only the default
    workspace, so their rows leave workspace_id null) holds 1,500 + 1,900 + 300 = 3,700 input and
    370 output; a day fetched earlier, mid-day, holds 3,000 / 300. Whichever is imported first, the
    hours stay: 3,700 × $3/M + 370 × $15/M = $0.0111 + $0.00555 = $0.01665 (QA: stored first, the
    hours' null-only buckets were weighed as a coarser fetch and the stale day wiped them)."""
    hours = _write(tmp_path, "hours.json", _HOURLY_ONE)
    day = _write(
        tmp_path, "day.json", _an_buckets((_D10, _D11, [_an_row(1000, 100, "wrkspc_A"), _an_row(2000, 200, None)]))
    )
    for path in (hours, day) if hours_first else (day, hours):
        _import(db_path, path, fmt="anthropic-usage")
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], d["output_tokens"], _money(d["cost_usd"])) == (3700, 370, Decimal("0.01665"))
    # the null-only hours keep their fetch's group-by for the next import to weigh
    assert _query(db_path, "SELECT count(*) FROM events WHERE extra->>'fetch_group_by' IS NOT NULL") == [(2,)]


@pytest.mark.parametrize("complete_first", [True, False])
def test_an_older_partial_copy_of_an_hour_never_replaces_the_complete_one(
    tmp_path: Path, db_path: Path, complete_first: bool
) -> None:
    """Hour 05 fetched at 05:30 held only default-workspace usage so far (400 / 40: its rows leave
    workspace_id null, so its own identity differs from the complete hour's); the complete fetch
    holds 1,200 + 700 there. In either order the complete hour stays: the day is 1,500 + 100 +
    1,900 + 300 = 3,800 input, 380 output: 3,800 × $3/M + 380 × $15/M = $0.0171 (QA: taken for a
    re-fetch of "misaligned" buckets, the complete hour gave way: 2,300 / 230)."""
    complete = _write(tmp_path, "complete.json", _an_buckets(
        (_H[0], _H[1], [_an_row(1500, 150, None)]), (_H[2], _H[3], [_an_row(100, 10, "wrkspc_A")]),
        (_H[5], _H[6], [_an_row(1200, 120, "wrkspc_A"), _an_row(700, 70, None)]),
        (_H[13], _H[14], [_an_row(300, 30, None)])))  # fmt: skip
    partial = _write(tmp_path, "partial.json", _an_buckets(
        (_H[0], _H[1], [_an_row(1500, 150, None)]), (_H[2], _H[3], [_an_row(100, 10, "wrkspc_A")]),
        (_H[5], _H[6], [_an_row(400, 40, None)])))  # fmt: skip
    for path in (complete, partial) if complete_first else (partial, complete):
        _import(db_path, path, fmt="anthropic-usage")
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], d["output_tokens"], _money(d["cost_usd"])) == (3800, 380, Decimal("0.0171"))


@pytest.mark.parametrize("hours_first", [True, False])
def test_an_ungrouped_total_never_replaces_hours_grouped_by_model(
    tmp_path: Path, db_path: Path, hours_first: bool
) -> None:
    """The day's ungrouped total (no model: unpriced) against the hourly fetch grouped by model and
    workspace holding as much (3,700 / 370): the rows with a model stay in either order, priced at
    $0.01665 (QA: stored first, the hours gave way to the total and the day became unpriced)."""
    total_row = {**_an_row(3700, 370, None), "model": None}
    total = _write(tmp_path, "total.json", _an_buckets((_D10, _D11, [total_row])))
    hours = _write(tmp_path, "hours.json", _HOURLY_ONE)
    for path in (hours, total) if hours_first else (total, hours):
        _import(db_path, path, fmt="anthropic-usage")
    models = _by_model(db_path, "2025-11-10", "2025-11-10")
    assert list(models) == ["claude-sonnet-4-5"]
    assert (models["claude-sonnet-4-5"]["input_tokens"], _money(models["claude-sonnet-4-5"]["cost_usd"])) == (
        3700, Decimal("0.01665"))  # fmt: skip


def test_the_zone_note_counts_only_buckets_the_zone_moves(tmp_path: Path, db_path: Path) -> None:
    """Atlantic/Azores is UTC-1 in winter and UTC+0 in summer: a 1-day bucket of 2026-03-02 shows on
    03-01 there, one of 2026-07-15 on its own day. Over March to July the note counts the one it
    moves (QA: it counted both, and it spoke of a move over summer days only)."""

    def day(d: datetime) -> tuple[int, int, int, int, int]:
        start = int(d.timestamp())
        return start, start + 86_400, 1000, 100, 1

    page = _oa_page(day(datetime(2026, 3, 2, tzinfo=UTC)), day(datetime(2026, 7, 15, tzinfo=UTC)))
    _import(db_path, _write(tmp_path, "days.json", page), fmt="openai-usage")
    az = ("--tz", "Atlantic/Azores", "--db", str(db_path))
    spring = run_json("report", "daily", "--since", "2026-03-01", "--until", "2026-07-20", *az)
    assert {r["date"]: r["input_tokens"] for r in spring["rows"] if r["input_tokens"]} == {
        "2026-03-01": 1000, "2026-07-15": 1000}  # fmt: skip
    assert "1 provider usage row is a whole UTC-day bucket" in " ".join(spring["notes"])
    summer = run_json("report", "daily", "--since", "2026-07-01", "--until", "2026-07-20", *az)
    assert "UTC-day" not in " ".join(summer.get("notes", []))


def test_stored_buckets_learn_the_group_by_of_an_equal_later_fetch(tmp_path: Path, db_path: Path) -> None:
    """Fetch A (hours grouped by model only: 1,500, 1,900, 300), then fetch B of the same hours grouped
    by model and workspace (hours 00 and 13 only the default workspace: their rows and identities
    are A's, with the same usage, so A's rows stay), then a day fetched mid-day grouped by
    workspace (3,000 / 300). A's stored hours 00 and 13 learn B's group-by and the default
    workspace, so the stale day gives way: 3,700 / 370 = $0.01665, default 2,500 and wrkspc_A
    1,200 (QA: they looked coarser, the stale day wiped them, 19 % of the usage lost)."""
    by_model = _an_buckets(
        (_H[0], _H[1], [_an_row(1500, 150, None)]), (_H[5], _H[6], [_an_row(1900, 190, None)]),
        (_H[13], _H[14], [_an_row(300, 30, None)]))  # fmt: skip
    files = [_write(tmp_path, "a.json", by_model), _write(tmp_path, "b.json", _HOURLY_ONE),
             _write(tmp_path, "day.json", _an_buckets((_D10, _D11, [_an_row(1000, 100, "wrkspc_A"),
                                                                    _an_row(2000, 200, None)])))]  # fmt: skip
    for path in files:
        _import(db_path, path, fmt="anthropic-usage")
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], d["output_tokens"], _money(d["cost_usd"])) == (3700, 370, Decimal("0.01665"))
    rep = run_json("report", "by", "workspace", "--since", "2025-11-10", "--until", "2025-11-10", "--tz", "UTC",
                   "--db", str(db_path))  # fmt: skip
    assert {r["workspace"]: r["input_tokens"] for r in rep["rows"]} == {"default": 2500, "wrkspc_A": 1200}


@pytest.mark.parametrize("hours_first", [True, False])
def test_fetches_filtered_to_different_models_both_stay(tmp_path: Path, db_path: Path, hours_first: bool) -> None:
    """Hours filtered to haiku (500 + 300 input, 50 + 30 output) and the day filtered to sonnet
    (3,400 / 340), both grouped by model: no model is in both, so no usage is counted twice and
    both stay: haiku 800 × $1/M + 80 × $5/M = $0.0012, sonnet 3,400 × $3/M + 340 × $15/M =
    $0.0153, $0.0165 in all (QA: the hours were dropped as "would double count")."""
    haiku = "claude-haiku-4-5-20251001"
    hours = _an_buckets((_H[0], _H[1], [{**_an_row(500, 50, None), "model": haiku}]),
                        (_H[5], _H[6], [{**_an_row(300, 30, None), "model": haiku}]))  # fmt: skip
    day = _an_buckets((_D10, _D11, [_an_row(3400, 340, None)]))
    files = [_write(tmp_path, "hours.json", hours), _write(tmp_path, "day.json", day)]
    for path in files if hours_first else reversed(files):
        out = _import(db_path, path, fmt="anthropic-usage")
        assert out["rejected"] == 0 and out["replaced"] == 0
    models = _by_model(db_path, "2025-11-10", "2025-11-10")
    assert {m: (r["input_tokens"], _money(r["cost_usd"])) for m, r in models.items()} == {
        "claude-haiku-4-5": (800, Decimal("0.0012")), "claude-sonnet-4-5": (3400, Decimal("0.0153"))}  # fmt: skip


_PRETTY_OPENAI = """{
  "object": "page",
  "data": [
    {
      "object": "bucket",
      "start_time": 1762128000,
      "end_time": 1762214400,
      "results": [
        {
          "object": "organization.usage.completions.result",
          "input_tokens": 1000,
          "output_tokens": 100,
          "num_model_requests": 2,
          "model": "gpt-4.1"
        },
        {
          "object": "organization.usage.completions.result",
          "input_tokens": 2000,
          "output_tokens": -5,
          "num_model_requests": 1,
          "model": "gpt-4.1"
        }
      ]
    },
    {
      "object": "bucket",
      "start_time": 1762214400,
      "end_time": "soon",
      "results": []
    },
    {"object": "bucket", "start_time": 1762300800, "end_time": 1762387200, "results": [
      {"object": "organization.usage.completions.result", "input_tokens": "many", "output_tokens": 1, "num_model_requests": 1,
       "model": "gpt-4.1", "project_id": "p {[\\"x\\""}, 7
    ]}
  ],
  "has_more": false,
  "next_page": null
}
"""


@pytest.mark.parametrize("shape", ["page", "array", "gz"])
def test_rejects_in_a_pretty_printed_page_name_the_line_of_their_row(tmp_path: Path, db_path: Path, shape: str) -> None:
    """An indented page (as ``jq .`` or ``json.dump(indent=2)`` save it): each reject names the
    line where its own row or bucket starts, counted by hand in ``_PRETTY_OPENAI``: the row with
    output -5 opens on line 16, the bucket whose end_time is "soon" on line 25, the row with
    input "many" on line 32 (its project id holds brackets and an escaped quote inside a string),
    the bare 7 after it (not an object) on line 33. Before, every reject said line 1."""
    import gzip

    text, first = _PRETTY_OPENAI, 1
    if shape == "array":  # the page as the second element of an array, after a one-line page
        text, first = '[{"object": "page", "data": [], "has_more": false},\n' + _PRETTY_OPENAI + "]\n", 2
    path = tmp_path / ("page.json.gz" if shape == "gz" else "page.json")
    path.write_bytes(gzip.compress(text.encode()) if shape == "gz" else text.encode())
    _import(db_path, path, fmt="openai-usage")
    got = [(line, reason.split(":")[0]) for _, line, reason in _rejects(db_path)]
    off = first - 1
    assert got == [(16 + off, "output_tokens"), (25 + off, "end_time"), (32 + off, "input_tokens"),
                   (33 + off, "result")]  # fmt: skip
    assert _query(db_path, "SELECT sum(input_tokens) FROM events") == [(1000,)]


def test_rejects_in_a_pretty_printed_anthropic_page_name_the_line_of_their_row(tmp_path: Path, db_path: Path) -> None:
    """The same for an Anthropic page written by ``json.dumps(indent=1)``: the second result of
    the second bucket (negative uncached input) starts on the line worked out from the indented
    text itself (each key of a result on its own line)."""
    row = {"uncached_input_tokens": 10, "cache_read_input_tokens": 0, "output_tokens": 1,
           "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
           "model": "claude-sonnet-4-5-20250929"}  # fmt: skip
    bad = {**row, "uncached_input_tokens": -3}
    page = {"data": [{"starting_at": "2025-11-03T00:00:00Z", "ending_at": "2025-11-04T00:00:00Z", "results": [row]},
                     {"starting_at": "2025-11-04T00:00:00Z", "ending_at": "2025-11-05T00:00:00Z",
                      "results": [row, bad]}],
            "has_more": False, "next_page": None}  # fmt: skip
    text = json.dumps(page, indent=1)
    lines = text.splitlines()
    # the bad row: the last line holding just "{" before the line with -3
    at = next(i for i, s in enumerate(lines) if '"uncached_input_tokens": -3' in s)
    expected = max(i for i in range(at) if lines[i].strip() == "{") + 1
    assert expected > 20  # not the page's first line
    (tmp_path / "p.json").write_text(text)
    _import(db_path, tmp_path / "p.json", fmt="anthropic-usage")
    assert [(line, reason.split(":")[0]) for _, line, reason in _rejects(db_path)] == [
        (expected, "uncached_input_tokens")]  # fmt: skip


@pytest.mark.parametrize("second", ["later", "same"])
def test_copies_of_a_fetch_in_one_file_count_once_against_a_complete_day(
    tmp_path: Path, db_path: Path, second: str
) -> None:
    """One JSONL holding an hourly fetch made at 02:30 (h0 1,000/100, h1 2,000/200, h2 500/50),
    the same hours fetched again (at 02:45: h2 800/80; or the 02:30 page saved twice), then the
    complete day (4,000 / 400). The hours hold 3,000 + 800 = 3,800 at most, less than the day:
    the day stays, 4,000 × $3/M + 400 × $15/M = $0.018. (QA: the copies were added, 7,300 or
    7,000 "at least as much" as the day, the day was rejected and one copy of the hours kept:
    3,800 / $0.0171 or 3,500 / $0.01575.)"""
    early = _an_page((_H[0], _H[1], 1000, 100, _SONNET), (_H[1], _H[2], 2000, 200, _SONNET),
                     (_H[2], _H[3], 500, 50, _SONNET))  # fmt: skip
    late = _an_page((_H[0], _H[1], 1000, 100, _SONNET), (_H[1], _H[2], 2000, 200, _SONNET),
                    (_H[2], _H[3], 800, 80, _SONNET))  # fmt: skip
    day = _an_page((_D10, _D11, 4000, 400, _SONNET))
    _import(db_path, _write(tmp_path, "all.jsonl", early, late if second == "later" else early, day),
            fmt="anthropic-usage")  # fmt: skip
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], d["output_tokens"], _money(d["cost_usd"])) == (4000, 400, Decimal("0.018"))


def test_a_saved_error_between_two_pages_of_a_fetch_leaves_the_fetch_whole(tmp_path: Path, db_path: Path) -> None:
    """A fetch grouped by workspace saved as JSONL: page 1 (``has_more: true``) 2025-11-10 with
    wrkspc_A 1,000 and the default workspace 500, then a saved rate-limit error, then the retried
    page 2: 2025-11-11, the default workspace only, 700. Page 2 is still part of the fetch
    grouped by workspace: default 500 + 700 = 1,200, wrkspc_A 1,000. (QA: the error ended the
    fetch; page 2 alone looked ungrouped and its 700 showed under no workspace.)"""
    page1 = {**_an_buckets((_D10, _D11, [_an_row(1000, 100, "wrkspc_A"), _an_row(500, 50, None)])),
             "has_more": True, "next_page": "page_2"}  # fmt: skip
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limited"}}
    page2 = _an_buckets(("2025-11-11T00:00:00Z", "2025-11-12T00:00:00Z", [_an_row(700, 70, None)]))
    out = _import(db_path, _write(tmp_path, "fetch.jsonl", page1, error, page2), fmt="anthropic-usage")
    assert (out["imported"], out["rejected"]) == (3, 1)
    rep = run_json("report", "by", "workspace", "--since", "2025-11-10", "--until", "2025-11-11", "--tz", "UTC",
                   "--db", str(db_path))  # fmt: skip
    assert {r["workspace"]: r["input_tokens"] for r in rep["rows"]} == {"default": 1200, "wrkspc_A": 1000}


def _three_fetches() -> dict[str, dict[str, Any]]:
    """A: hours 0-1 of 2025-11-10 by model and API key (1,000/100, 2,000/200); B: the day by model,
    8,000/800; C: hours 0-3 by model (1,000/100 to 4,000/400)."""

    def keyed(i: int, o: int) -> dict[str, Any]:
        return {**_an_row(i, o, None), "api_key_id": "apikey_01"}

    return {
        "A": _an_buckets((_H[0], _H[1], [keyed(1000, 100)]), (_H[1], _H[2], [keyed(2000, 200)])),
        "B": _an_page((_D10, _D11, 8000, 800, _SONNET)),
        "C": _an_page(*((_H[h], _H[h + 1], 1000 * (h + 1), 100 * (h + 1), _SONNET) for h in range(4))),
    }


@pytest.mark.parametrize("order", ["ABC", "CBA", "BCA"])
def test_three_fetches_of_a_day_in_one_file_keep_all_its_usage(tmp_path: Path, db_path: Path, order: str) -> None:
    """One JSONL with three fetches of 2025-11-10 (hours: h0 1,000/100, h1 2,000/200, h2 3,000/300,
    h3 4,000/400; the day 10,000/1,000):
    A, hourly by model and API key, made at 02:00: h0 and h1;
    B, the day by model, made at 03:30: 8,000/800 (h3 half done);
    C, hourly by model, complete: h0 to h3.
    B gives way to C (C holds more); C's h0 and h1 to A's (equal, finer); A lost only to B, which
    gave way, so it stays: A's h0, h1 + C's h2, h3 = 10,000/1,000 = $0.03 + $0.015 = $0.045.
    (QA: A stayed rejected by B, and C's h0, h1 by A: hours 0-1 lost, 7,000/700, $0.0315.)"""

    fetches = _three_fetches()
    _import(db_path, _write(tmp_path, "all.jsonl", *(fetches[k] for k in order)), fmt="anthropic-usage")
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], d["output_tokens"], _money(d["cost_usd"])) == (10000, 1000, Decimal("0.045"))


def test_a_fetch_given_up_at_a_saved_error_does_not_take_in_the_next_fetch(tmp_path: Path, db_path: Path) -> None:
    """The poller saved page 1 of a fetch grouped by workspace (``has_more: true``, 2025-11-10:
    wrkspc_A 1,000, default 500), then a rate-limit error, and gave up; its next run saved a
    fetch grouped by model only (2025-11-12, 3,000, usage of every workspace). That page starts
    at 11-12, not where page 1 ended (11-11): it is not the retry, so it is a fetch of its own,
    not grouped by workspace: its 3,000 are under no workspace, never the default one. (QA: it
    was taken for page 2, and the 3,000 went to "default".)"""
    page1 = {**_an_buckets((_D10, _D11, [_an_row(1000, 100, "wrkspc_A"), _an_row(500, 50, None)])),
             "has_more": True, "next_page": "page_2"}  # fmt: skip
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limited"}}
    other = _an_buckets(("2025-11-12T00:00:00Z", "2025-11-13T00:00:00Z", [_an_row(3000, 300, None)]))
    _import(db_path, _write(tmp_path, "fetch.jsonl", page1, error, other), fmt="anthropic-usage")
    rep = run_json("report", "by", "workspace", "--since", "2025-11-10", "--until", "2025-11-12", "--tz", "UTC",
                   "--db", str(db_path))  # fmt: skip
    assert {r["workspace"]: r["input_tokens"] for r in rep["rows"]} == {
        "default": 500, "wrkspc_A": 1000, "(none)": 3000}  # fmt: skip


@pytest.mark.parametrize("order", ["ABC", "ACB", "BAC", "BCA", "CAB", "CBA"])
def test_three_fetches_of_a_day_in_three_imports_keep_all_its_usage(tmp_path: Path, db_path: Path, order: str) -> None:
    """The three fetches of ``test_three_fetches_of_a_day_in_one_file_keep_all_its_usage`` (A:
    hours 0-1 by model and API key; B: the stale day by model, 8,000/800; C: the complete hours
    by model, 10,000/1,000), each its own import, in every order: 10,000/1,000, $0.045. With A
    and C stored (C's hours 0-1 given way to A's equal, finer ones), the stale day B arriving
    last is weighed against all the stored rows of its day, 10,000, not against A's 3,000 and
    C's 7,000 one at a time. (QA: in orders A,C,B and C,A,B both gave way to B: 8,000/800.)"""

    fetches = _three_fetches()
    for k in order:
        _import(db_path, _write(tmp_path, f"{k}.json", fetches[k]), fmt="anthropic-usage")
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], d["output_tokens"], _money(d["cost_usd"])) == (10000, 1000, Decimal("0.045"))


def test_a_complete_day_by_model_replaces_stored_hours_some_not_grouped_by_model(tmp_path: Path, db_path: Path) -> None:
    """Stored: hour 01 of a fetch grouped by API key only (no model: 1,000/100) and hour 00 of a
    fetch by model and key (sonnet 500/50); then the complete day by model and workspace
    (sonnet, wrkspc_A, 2,000/200).
    Against all stored rows of the day (1,500 tokens, of which 500 named sonnet) the day holds
    more, and more sonnet, so it replaces both: 2,000/200 = $0.006 + $0.003 = $0.009. The rows
    without a model are weighed in the totals, never as a model of their own (found by QA's
    random fetch sets: the day was rejected as short of model "")."""
    by_key = _an_buckets((_H[1], _H[2], [{**_an_row(1000, 100, None), "model": None, "api_key_id": "apikey_01"}]))
    by_model_key = _an_buckets((_H[0], _H[1], [{**_an_row(500, 50, None), "api_key_id": "apikey_01"}]))
    day = _an_buckets((_D10, _D11, [_an_row(2000, 200, "wrkspc_A")]))
    for name, page in (("x.json", by_key), ("y.json", by_model_key), ("z.json", day)):
        _import(db_path, _write(tmp_path, name, page), fmt="anthropic-usage")
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], d["output_tokens"], _money(d["cost_usd"])) == (2000, 200, Decimal("0.009"))


@pytest.mark.parametrize("key_first", [False, True])
def test_a_partial_fetch_never_wipes_an_hour_of_a_fetch_kept_apart(
    tmp_path: Path, db_path: Path, key_first: bool
) -> None:
    """Stored apart (no model in common): the day filtered to sonnet (3,000/300) and the hours
    filtered to haiku (h0 10,000/1,000, h2 20,000/2,000), saved in one JSONL. Then a fetch made at
    02:30, hourly by model and API key: 11-09 23:00 sonnet 100/10, h0 sonnet 1,000/100 + haiku
    10,000/1,000, h1 sonnet 2,000/200, h2 haiku 10,000/1,000 (partial). Whatever the order, no
    usage is lost: sonnet 3,100/310 = $0.0093 + $0.00465 = $0.01395, haiku 30,000/3,000 = $0.03 +
    $0.015 = $0.045. (QA: the 02:30 fetch lost to the stored sonnet day and beat the stored haiku
    hour 0; both were applied and haiku's hour 0, 10,000/1,000, was gone.)"""
    haiku = "claude-haiku-4-5-20251001"

    filtered = [_an_buckets((_D10, _D11, [_an_model_row(3000, 300, _SONNET)])),
                _an_buckets((_H[0], _H[1], [_an_model_row(10000, 1000, haiku)]), (_H[2], _H[3], [_an_model_row(20000, 2000, haiku)]))]  # fmt: skip
    k = "apikey_01"
    by_key = _an_buckets(("2025-11-09T23:00:00Z", _H[0], [_an_model_row(100, 10, _SONNET, k)]),
                         (_H[0], _H[1], [_an_model_row(1000, 100, _SONNET, k), _an_model_row(10000, 1000, haiku, k)]),
                         (_H[1], _H[2], [_an_model_row(2000, 200, _SONNET, k)]), (_H[2], _H[3], [_an_model_row(10000, 1000, haiku, k)]))  # fmt: skip
    files = [_write(tmp_path, "filtered.jsonl", *filtered), _write(tmp_path, "key.json", by_key)]
    for path in reversed(files) if key_first else files:
        _import(db_path, path, fmt="anthropic-usage")
    models = _by_model(db_path, "2025-11-09", "2025-11-10")
    assert {m: (r["input_tokens"], r["output_tokens"], _money(r["cost_usd"])) for m, r in models.items()} == {
        "claude-sonnet-4-5": (3100, 310, Decimal("0.01395")), "claude-haiku-4-5": (30000, 3000, Decimal("0.045"))}  # fmt: skip


_ROLLING_ORDERS = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]


@pytest.mark.parametrize("order", _ROLLING_ORDERS)
def test_rolling_hourly_windows_and_a_day_fetched_mid_day_keep_every_hour(
    tmp_path: Path, db_path: Path, order: tuple[int, ...]
) -> None:
    """Sonnet's true usage on 11-10: h0 100,000/10,000, h1 200,000/20,000, h2 300,000/30,000, h3
    400,000/40,000. A: hourly by model and API key, made at 01:00 (h0). X: the day by model, made
    at 02:30 (h0, h1 and half of h2: 450,000/45,000). C: hourly by model from 01:00 (a rolling
    window), made the next day (h1–h3: 900,000/90,000). A and C together hold the day: 1,000,000 /
    100,000 = $3.00 + $1.50 = $4.50, in every order. (QA: in the order A, X, C the day replaced
    A's hour, then C replaced the day although it has no 00:00 bucket: hour 0 was lost, 900,000.)"""
    k = "apikey_01"
    a = _an_buckets((_H[0], _H[1], [{**_an_row(100_000, 10_000, None), "api_key_id": k}]))
    x = _an_buckets((_D10, _D11, [_an_row(450_000, 45_000, None)]))
    c = _an_buckets(*[(_H[h], _H[h + 1], [_an_row(100_000 * (h + 1), 10_000 * (h + 1), None)]) for h in (1, 2, 3)])
    files = [_write(tmp_path, "a.json", a), _write(tmp_path, "x.json", x), _write(tmp_path, "c.json", c)]
    for i in order:
        _import(db_path, files[i], fmt="anthropic-usage")
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], d["output_tokens"], _money(d["cost_usd"])) == (1_000_000, 100_000, Decimal("4.5"))
    assert _query(db_path, "SELECT api_key, input_tokens FROM events WHERE ts = ?", [_H[0]]) == [(k, 100_000)]
    # the day is kept for reference under its eviction; nothing else is left in rejects
    (reason,) = [r for _, _, r in _rejects(db_path)]
    assert "bucket 2025-11-10T00:00Z–2025-11-11T00:00Z grouped by [model]" in reason.split(" covers ")[0]


def test_a_moved_hour_comes_back_once_and_the_summary_says_so(tmp_path: Path, db_path: Path) -> None:
    """In the order A, X, C of the test above, C's import puts A's hour back (from rejects, under
    its own batch) and says so; importing C again, or X again, changes nothing more."""
    k = "apikey_01"
    a = _write(tmp_path, "a.json", _an_buckets((_H[0], _H[1], [{**_an_row(100_000, 10_000, None), "api_key_id": k}])))
    x = _write(tmp_path, "x.json", _an_buckets((_D10, _D11, [_an_row(450_000, 45_000, None)])))
    hours = [(_H[h], _H[h + 1], [_an_row(100_000 * (h + 1), 10_000 * (h + 1), None)]) for h in (1, 2, 3)]
    c = _write(tmp_path, "c.json", _an_buckets(*hours))
    for path in (a, x):
        _import(db_path, path, fmt="anthropic-usage")
    out = _import(db_path, c, fmt="anthropic-usage")
    assert out["per_file"][0]["warnings"][-1].startswith("1 row that gave way in an earlier import came back")
    a_batch = _query(db_path, "SELECT batch_id FROM import_batches WHERE path = ?", [str(a)])
    assert _query(db_path, "SELECT batch_id FROM events WHERE ts = ?", [_H[0]]) == a_batch
    x2 = tmp_path / "x2.json"
    x2.write_text(json.dumps(json.loads(x.read_text()), indent=1), encoding="utf-8")  # other bytes: read again
    for path in (x2, c):
        again = _import(db_path, path, fmt="anthropic-usage")
        assert not any("came back" in w for f in again["per_file"] for w in f["warnings"])
    assert _query(db_path, "SELECT count(*), sum(input_tokens) FROM events") == [(4, 1_000_000)]


@pytest.mark.parametrize("order", _ROLLING_ORDERS)
def test_rolling_windows_that_each_hold_less_than_a_day_replace_it_together(
    tmp_path: Path, db_path: Path, order: tuple[int, ...]
) -> None:
    """Sonnet's true usage on 11-10 as above (h0–h3: 100,000 to 400,000 input, a tenth as output).
    D: the day by model, made at 03:30: h0 + h1 + h2 + half of h3 = 800,000 / 80,000. W1: hourly
    from 00:00, made at 02:00: h0 + h1 = 300,000 / 30,000. W2: hourly from 02:00, made the next
    day: h2 + h3 = 700,000 / 70,000. Each window alone holds less than D; together they hold the
    day: 1,000,000 / 100,000 = $3.00 + $1.50 = $4.50 in every order. (Failed while D came before
    a window: each window was weighed alone against D and gave way to it, 800,000 stayed; the
    rows that gave way are now weighed with the next file's.)"""
    d = _an_buckets((_D10, _D11, [_an_row(800_000, 80_000, None)]))
    w1 = _an_buckets(*[(_H[h], _H[h + 1], [_an_row(100_000 * (h + 1), 10_000 * (h + 1), None)]) for h in (0, 1)])
    w2 = _an_buckets(*[(_H[h], _H[h + 1], [_an_row(100_000 * (h + 1), 10_000 * (h + 1), None)]) for h in (2, 3)])
    files = [_write(tmp_path, "d.json", d), _write(tmp_path, "w1.json", w1), _write(tmp_path, "w2.json", w2)]
    for i in order:
        _import(db_path, files[i], fmt="anthropic-usage")
    day = _day(db_path, "2025-11-10")
    assert (day["input_tokens"], day["output_tokens"], _money(day["cost_usd"])) == (1_000_000, 100_000, Decimal("4.5"))
    assert _query(db_path, "SELECT count(*) FROM events") == [(4,)]
    # what is left in rejects is the day (moved when stored first, else rejected on arrival)
    left = [r.split(" grouped by ")[0].removeprefix("removed from the stored rows: ") for _, _, r in _rejects(db_path)]
    assert left == [f"bucket {_D10[:16]}Z–{_D11[:16]}Z"]


def test_rows_set_aside_come_back_with_a_file_whose_own_rows_all_give_way(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """D (11-10 by model, made at 03:30: 800,000 / 80,000) is stored; W1 (hours 0-1: 300,000 /
    30,000) and W2 (hours 2-3: 700,000 / 70,000) were each set aside against it, and K (11-11
    hour 0 by model and key, 50,000 / 5,000) stored, as the code before weighing them together
    left them (patched here). F: the same hour by model only, made mid-hour (20,000 / 2,000): its
    one row gives way to K, while W1 and W2, weighed with it, hold more than D together: they come
    back (as records of F) and D is moved out. 11-10: 1,000,000 / 100,000 ($4.50), never W1 + W2
    beside D (1,800,000)."""
    from usagectl.store import billing

    d = _an_buckets((_D10, _D11, [_an_row(800_000, 80_000, None)]))
    w1 = _an_buckets(*[(_H[h], _H[h + 1], [_an_row(100_000 * (h + 1), 10_000 * (h + 1), None)]) for h in (0, 1)])
    w2 = _an_buckets(*[(_H[h], _H[h + 1], [_an_row(100_000 * (h + 1), 10_000 * (h + 1), None)]) for h in (2, 3)])
    n0, n1 = "2025-11-11T00:00:00Z", "2025-11-11T01:00:00Z"
    k = _an_buckets((n0, n1, [{**_an_row(50_000, 5_000, None), "api_key_id": "apikey_01"}]))
    f = _an_buckets((n0, n1, [_an_row(20_000, 2_000, None)]))
    files = {
        n: _write(tmp_path, f"{n}.json", page) for n, page in (("d", d), ("w1", w1), ("w2", w2), ("k", k), ("f", f))
    }
    _import(db_path, files["d"], fmt="anthropic-usage")
    with monkeypatch.context() as m:
        m.setattr(billing, "_weighed", lambda *a: [])
        for n in ("w1", "w2"):
            assert _import(db_path, files[n], fmt="anthropic-usage")["rejected"] == 2
        _import(db_path, files["k"], fmt="anthropic-usage")
    assert _day(db_path, "2025-11-10")["input_tokens"] == 800_000
    out = _import(db_path, files["f"], fmt="anthropic-usage")
    assert (out["records"], out["rejected"]) == (5, 1)  # F's row, and the 4 rows set aside that came back
    assert out["per_file"][0]["warnings"][-1].startswith("4 rows that gave way in an earlier import came back")
    day = _day(db_path, "2025-11-10")
    assert (day["input_tokens"], day["output_tokens"], _money(day["cost_usd"])) == (1_000_000, 100_000, Decimal("4.5"))
    assert _day(db_path, "2025-11-11")["input_tokens"] == 50_000
    assert _query(db_path, "SELECT count(*) FROM events") == [(5,)]


def test_a_complete_hour_set_aside_stands_for_a_later_half_copy_of_it(tmp_path: Path, db_path: Path) -> None:
    """D: 11-10 by model, made at 03:30 (hours 0-2 and half of hour 3: 800,000 / 80,000). W2:
    hours 2-3 made the next day (700,000 / 70,000) gives way to it alone. F: hours 0-3 made at
    03:30 (hour 3 half: 200,000 / 20,000). F's hour 3 holds less than W2's (400,000 / 40,000),
    set aside earlier: W2's stands for it, weighed with F's other hours, and they replace D
    together: 1,000,000 / 100,000 ($4.50), not F's 800,000 with half an hour."""
    d = _an_buckets((_D10, _D11, [_an_row(800_000, 80_000, None)]))
    w2 = _an_buckets(*[(_H[h], _H[h + 1], [_an_row(100_000 * (h + 1), 10_000 * (h + 1), None)]) for h in (2, 3)])
    f = _an_buckets(*[(_H[h], _H[h + 1], [_an_row(100_000 * (h + 1), 10_000 * (h + 1), None)]) for h in (0, 1, 2)],
                    (_H[3], _H[4], [_an_row(200_000, 20_000, None)]))  # fmt: skip
    files = [_write(tmp_path, f"{n}.json", page) for n, page in (("d", d), ("w2", w2), ("f", f))]
    for path in files[:2]:
        _import(db_path, path, fmt="anthropic-usage")
    assert _day(db_path, "2025-11-10")["input_tokens"] == 800_000
    out = _import(db_path, files[2], fmt="anthropic-usage")
    day = _day(db_path, "2025-11-10")
    assert (day["input_tokens"], day["output_tokens"], _money(day["cost_usd"])) == (1_000_000, 100_000, Decimal("4.5"))
    # W2's hour comes back as a record of F (it was rejected on arrival), F's own hour 3 gives way
    f_batch = _query(db_path, "SELECT batch_id FROM import_batches WHERE path = ?", [str(files[2])])
    assert _query(db_path, "SELECT input_tokens, batch_id FROM events WHERE ts = ?", [_H[3]]) == [
        (400_000, f_batch[0][0])
    ]
    assert out["per_file"][0]["rejected"] == 1
    (reason,) = [r for f_, _, r in _rejects(db_path) if f_ == str(files[2])]
    assert reason == (
        f"bucket 2025-11-10T03:00Z–2025-11-10T04:00Z grouped by [model] holds less than its copy set aside earlier "
        f"(from {files[1]}): 220,000 of its 440,000 tokens; that copy stands for it, summing both would double count"
    )


def test_a_row_set_aside_never_comes_back_over_a_later_fetch_of_another_grouping(tmp_path: Path, db_path: Path) -> None:
    """A: hours 0-1 by model and key; B: the same hours by model and workspace, fetched later (the
    same usage, 300,000 / 30,000): B replaces A (of two groupings neither finer, the earlier gives
    way). F: hour 0 by model, filtered to Sonnet and made mid-hour (50,000 / 5,000), gives way to
    B. A's rows, weighed with F's, must not come back over B on the rule of fetch order (QA
    fuzzer, seed 54: A came back beside B, the hours counted twice): 300,000 / 30,000."""
    a = _an_buckets(*[(_H[h], _H[h + 1], [{**_an_row(100_000 * (h + 1), 10_000 * (h + 1), None),
                                            "api_key_id": "apikey_01"}]) for h in (0, 1)])  # fmt: skip
    b = _an_buckets(*[(_H[h], _H[h + 1], [_an_row(100_000 * (h + 1), 10_000 * (h + 1), "wrkspc_A")]) for h in (0, 1)])
    f = _an_buckets((_H[0], _H[1], [_an_row(50_000, 5_000, None)]))
    for n, page in (("a", a), ("b", b), ("f", f)):
        _import(db_path, _write(tmp_path, f"{n}.json", page), fmt="anthropic-usage")
    assert _query(db_path, "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM events") == [
        (2, 300_000, 30_000)
    ]
    assert _query(db_path, "SELECT DISTINCT workspace FROM events") == [("wrkspc_A",)]


def test_a_row_set_aside_comes_back_only_from_the_latest_read_of_its_file(tmp_path: Path, db_path: Path) -> None:
    """X (the day, 450,000 / 45,000) stored; a.json (hour 0 by model and key, 100,000 / 10,000)
    gives way to it on arrival and is set aside. a.json is then rewritten (hour 0: 60,000 / 6,000)
    and read again: its earlier reject, and the row set aside with it, are superseded. When C
    (hours 1–3, 900,000 / 90,000) replaces the day, hour 0 comes back as last read: 960,000 /
    96,000 in all (not 1,000,000, and not both copies)."""
    k = "apikey_01"
    a = tmp_path / "a.json"
    a.write_text(json.dumps(_an_buckets((_H[0], _H[1], [{**_an_row(100_000, 10_000, None), "api_key_id": k}]))))
    x = _write(tmp_path, "x.json", _an_buckets((_D10, _D11, [_an_row(450_000, 45_000, None)])))
    hours = [(_H[h], _H[h + 1], [_an_row(100_000 * (h + 1), 10_000 * (h + 1), None)]) for h in (1, 2, 3)]
    c = _write(tmp_path, "c.json", _an_buckets(*hours))
    _import(db_path, x, fmt="anthropic-usage")
    assert _import(db_path, a, fmt="anthropic-usage")["rejected"] == 1
    a.write_text(json.dumps(_an_buckets((_H[0], _H[1], [{**_an_row(60_000, 6_000, None), "api_key_id": k}]))))
    assert _import(db_path, a, fmt="anthropic-usage")["rejected"] == 1
    assert _query(db_path, "SELECT count(*) FROM set_aside") == [(1,)]
    _import(db_path, c, fmt="anthropic-usage")
    assert _query(db_path, "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM events") == [
        (4, 960_000, 96_000)
    ]
    assert _query(db_path, "SELECT input_tokens FROM events WHERE api_key = ?", [k]) == [(60_000,)]
    assert _query(db_path, "SELECT count(*) FROM set_aside") == [(0,)]


def test_a_filtered_copy_of_a_stored_day_leaves_its_other_models_covered(tmp_path: Path, db_path: Path) -> None:
    """D1: the day by model, sonnet 3,000 / 300 and haiku 10,000 / 1,000. H: hour 0 filtered to
    sonnet (1,000 / 100) gives way to D1 on arrival. D2: the same day filtered to haiku, fetched
    later (12,000 / 1,200): it replaces D1's haiku row only, so D1's sonnet row still holds hour 0
    and H stays out: sonnet 3,000 / 300, haiku 12,000 / 1,200. (QA fuzzer: H came back beside
    D1's sonnet row, sonnet counted 4,000.)"""
    haiku = "claude-haiku-4-5-20251001"

    d1 = _write(
        tmp_path,
        "d1.json",
        _an_buckets((_D10, _D11, [_an_model_row(3000, 300, _SONNET), _an_model_row(10000, 1000, haiku)])),
    )
    h = _write(tmp_path, "h.json", _an_buckets((_H[0], _H[1], [_an_model_row(1000, 100, _SONNET)])))
    d2 = _write(tmp_path, "d2.json", _an_buckets((_D10, _D11, [_an_model_row(12000, 1200, haiku)])))
    for path in (d1, h, d2):
        _import(db_path, path, fmt="anthropic-usage")
    models = _by_model(db_path, "2025-11-10", "2025-11-10")
    assert {m: (r["input_tokens"], r["output_tokens"]) for m, r in models.items()} == {
        "claude-sonnet-4-5": (3000, 300), "claude-haiku-4-5": (12000, 1200)}  # fmt: skip


def test_a_row_never_comes_back_beside_a_stored_row_of_its_hour_kept_apart(tmp_path: Path, db_path: Path) -> None:
    """QA: five model-filtered fetches of 11-10 (uncached input / output). FH: hour 0 filtered to
    haiku, 50,000 / 5,000; DH: the day filtered to haiku, 145,000 / 14,500, replaces it; FS: hour 0
    filtered to sonnet, 100,000 / 10,000, kept beside DH (no model in common); G: hour 0 by model
    and key, sonnet, made at 00:30 (30,000 + 20,000), gives way to FS on arrival; E: hour 5 of
    haiku, 10,000 / 1,000, gives way to DH. FS still holds sonnet's hour 0, so G never comes back:
    sonnet 100,000 / 10,000, haiku 145,000 / 14,500. (G's rows came back beside FS when the moved
    FH row, a bucket of FS's shape, lent FS its models: sonnet 150,000.)"""
    haiku = "claude-haiku-4-5-20251001"

    files = [
        _an_buckets((_H[0], _H[1], [_an_model_row(50_000, 5_000, haiku)])),
        _an_buckets((_D10, _D11, [_an_model_row(145_000, 14_500, haiku)])),
        _an_buckets((_H[0], _H[1], [_an_model_row(100_000, 10_000, _SONNET)])),
        _an_buckets(
            (_H[0], _H[1], [_an_model_row(30_000, 3_000, _SONNET, "k1"), _an_model_row(20_000, 2_000, _SONNET, "k2")])
        ),
        _an_buckets((_H[5], _H[6], [_an_model_row(10_000, 1_000, haiku)])),
    ]
    for i, page in enumerate(files):
        _import(db_path, _write(tmp_path, f"{i}.json", page), fmt="anthropic-usage")
    models = _by_model(db_path, "2025-11-10", "2025-11-10")
    assert {m: (r["input_tokens"], r["output_tokens"]) for m, r in models.items()} == {
        "claude-sonnet-4-5": (100_000, 10_000), "claude-haiku-4-5": (145_000, 14_500)}  # fmt: skip


def test_a_bucket_comes_back_with_all_the_rows_it_was_stored_with(tmp_path: Path, db_path: Path) -> None:
    """QA: sonnet's hour 0 by model and key fetched at 00:40 (k1 80,000, k2 50,000) and again at
    01:00 (k1 100,000, k2 50,000): k1 is replaced, k2 stays from the first file. X, the day made at
    02:30 (500,000), moves both; C, hours 1–3 (900,000), replaces X. The hour comes back whole:
    k1 100,000 + k2 50,000 + 900,000 = 1,050,000 input, 105,000 output (only k1 came back: its
    import's rows alone were taken for the bucket)."""

    def row(i: int, key: str | None = None) -> dict[str, Any]:
        return {**_an_row(i, i // 10, None), "api_key_id": key}

    pages = [
        _an_buckets((_H[0], _H[1], [row(80_000, "k1"), row(50_000, "k2")])),
        _an_buckets((_H[0], _H[1], [row(100_000, "k1"), row(50_000, "k2")])),
        _an_buckets((_D10, _D11, [row(500_000)])),
        _an_buckets(*[(_H[h], _H[h + 1], [row(100_000 * (h + 1))]) for h in (1, 2, 3)]),
    ]
    for i, page in enumerate(pages):
        _import(db_path, _write(tmp_path, f"{i}.json", page), fmt="anthropic-usage")
    assert _query(db_path, "SELECT sum(input_tokens), sum(output_tokens) FROM events") == [(1_050_000, 105_000)]
    assert _query(db_path, "SELECT api_key, input_tokens FROM events WHERE api_key IS NOT NULL ORDER BY 1") == [
        ("k1", 100_000), ("k2", 50_000)]  # fmt: skip


def test_a_moved_row_outlives_a_rewrite_of_the_file_it_came_from(tmp_path: Path, db_path: Path) -> None:
    """QA: a rolling ``latest.json`` polled by the hour. It first holds A (hour 0 by model and
    key, 100,000 / 10,000); X (the day made at 02:30, 450,000 / 45,000) moves A to rejects; then
    latest.json is rewritten with B (hour 1 by model and key, made at 02:00: 200,000 / 20,000),
    which gives way to X on arrival. Reading latest.json again used to drop A's moved row with the
    file's old rejects, so when C (hours 1–3, 900,000 / 90,000) replaced the day, hour 0 was
    gone (900,000). A was an event, not a line of what the file holds now: it comes back, and B
    (hour 1, held by C) does not: 1,000,000 / 100,000."""
    k = "apikey_01"
    latest = tmp_path / "latest.json"
    latest.write_text(json.dumps(_an_buckets((_H[0], _H[1], [{**_an_row(100_000, 10_000, None), "api_key_id": k}]))))
    _import(db_path, latest, fmt="anthropic-usage")
    _import(db_path, _write(tmp_path, "x.json", _an_buckets((_D10, _D11, [_an_row(450_000, 45_000, None)]))),
            fmt="anthropic-usage")  # fmt: skip
    latest.write_text(json.dumps(_an_buckets((_H[1], _H[2], [{**_an_row(200_000, 20_000, None), "api_key_id": k}]))))
    assert _import(db_path, latest, fmt="anthropic-usage")["rejected"] == 1
    hours = [(_H[h], _H[h + 1], [_an_row(100_000 * (h + 1), 10_000 * (h + 1), None)]) for h in (1, 2, 3)]
    _import(db_path, _write(tmp_path, "c.json", _an_buckets(*hours)), fmt="anthropic-usage")
    assert _query(db_path, "SELECT sum(input_tokens), sum(output_tokens) FROM events") == [(1_000_000, 100_000)]
    assert _query(db_path, "SELECT ts, input_tokens FROM events WHERE api_key = ?", [k]) == [
        (datetime(2025, 11, 10, tzinfo=UTC), 100_000)]  # fmt: skip


def test_a_stored_day_replaced_by_rows_that_came_back_says_so_not_a_newer_import(tmp_path: Path, db_path: Path) -> None:
    """Imported one by one: A (hours 0-1, 1,000 + 100 each), B (hour 2, the same), D (the day
    fetched mid-hour 3: 3,500 + 350, more than A and B hold, so they give way to it), C (hour 1
    again, and hour 2 made mid-hour: 500 + 50; both give way on arrival) and E (hour 3, 1,000 +
    100). With E the hours hold 4,000 + 400 = 4,400 tokens against the day's 3,850: the rows that
    gave way come back and the day is moved out. Its reason names the rows that came back and
    their file, not "a newer import" (A is older than D)."""
    one = (1000, 100, _SONNET)
    files = {
        "a": _an_page((_H[0], _H[1], *one), (_H[1], _H[2], *one)),
        "b": _an_page((_H[2], _H[3], *one)),
        "d": _an_page((_D10, _D11, 3500, 350, _SONNET)),
        "c": _an_page((_H[1], _H[2], *one), (_H[2], _H[3], 500, 50, _SONNET)),
        "e": _an_page((_H[3], _H[4], *one)),
    }
    paths = {n: _write(tmp_path, f"{n}.json", page) for n, page in files.items()}
    for n in ("a", "b", "d", "c", "e"):
        _import(db_path, paths[n], fmt="anthropic-usage")
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], d["output_tokens"]) == (4000, 400)
    moved_day = "removed from the stored rows: bucket 2025-11-10T00:00Z–2025-11-11T00:00Z"
    (day_reason,) = [r for _, _, r in _rejects(db_path) if r.startswith(moved_day)]
    assert f"that gave way earlier and comes back with this import (from {paths['a']})" in day_reason
    assert "newer import" not in day_reason


@pytest.mark.parametrize("order", ["DWK", "DKW", "WDK", "WKD", "KDW", "KWD"])
def test_rows_of_another_grouping_that_gave_way_come_back_when_usage_decides(
    tmp_path: Path, db_path: Path, order: str
) -> None:
    """Usage of 11-10 (one model, workspace w, key k): hour 0 100 + 10, hour 1 100 + 10, hour 2
    10 + 1. D: the day by model and key, fetched at 02:00 (hours 0-1: 200 + 20). W: hours 1-2 by
    model and workspace (110 + 11): alone it holds less than D and gives way to it. K: hour 0 by
    model and key (100 + 10): alone less than D too. K with W holds 210 + 21, more than D, and D
    holds less than them whichever was fetched first: in every order the three hours stay and D
    gives way, 210 + 21 (the code before kept D, 200 + 20, when W came after it and before K: W
    is another grouping than D, and that pair was left to the rule of fetch order)."""
    d = _an_buckets((_D10, _D11, [_an_model_row(200, 20, _SONNET, "k")]))
    w = _an_buckets((_H[1], _H[2], [_an_row(100, 10, "w")]), (_H[2], _H[3], [_an_row(10, 1, "w")]))
    k = _an_buckets((_H[0], _H[1], [_an_model_row(100, 10, _SONNET, "k")]))
    paths = {n: _write(tmp_path, f"{n}.json", page) for n, page in (("D", d), ("W", w), ("K", k))}
    for n in order:
        _import(db_path, paths[n], fmt="anthropic-usage")
    assert _query(db_path, "SELECT sum(input_tokens), sum(output_tokens), count(*) FROM events") == [(210, 21, 3)]
    day = _day(db_path, "2025-11-10")
    assert (day["input_tokens"], day["output_tokens"]) == (210, 21)


_HAIKU = "claude-haiku-4-5-20251001"


@pytest.mark.parametrize("order", ["DHZ", "DZH", "HDZ", "HZD", "ZDH", "ZHD"])
def test_a_day_of_one_model_fetched_early_never_keeps_out_the_complete_hours(
    tmp_path: Path, db_path: Path, order: str
) -> None:
    """Usage of 11-10: hour 0 Sonnet 100 + 10, hour 1 Haiku 200 + 20, hour 2 Sonnet 30 + 3 and
    Haiku 40 + 4. D: the day by model fetched at 00:30 (Sonnet 50 + 5: no Haiku yet). H: hours 1-2
    by model, complete. Z: hour 0 by model, complete. Hour 1 shares no model with D, so both stay
    (as a fetch filtered to another model would); hour 2 holds less Sonnet than D and gives way to
    it. With Z, Z and hour 2 hold Sonnet 130 + 13 and Haiku 40 + 4, more than D: D gives way, and
    hour 1, which stays beside D either way, is not counted on D's side (the code before did,
    and kept D: Sonnet 50 + 5, Haiku 200 + 20, when Z came last). Every order: Sonnet 130 + 13,
    Haiku 240 + 24."""
    d = _an_buckets((_D10, _D11, [_an_model_row(50, 5, _SONNET)]))
    h = _an_buckets(
        (_H[1], _H[2], [_an_model_row(200, 20, _HAIKU)]),
        (_H[2], _H[3], [_an_model_row(30, 3, _SONNET), _an_model_row(40, 4, _HAIKU)]),
    )
    z = _an_buckets((_H[0], _H[1], [_an_model_row(100, 10, _SONNET)]))
    paths = {n: _write(tmp_path, f"{n}.json", page) for n, page in (("D", d), ("H", h), ("Z", z))}
    for n in order:
        _import(db_path, paths[n], fmt="anthropic-usage")
    models = _by_model(db_path, "2025-11-10", "2025-11-10")
    got = {m: (r["input_tokens"], r["output_tokens"]) for m, r in models.items()}
    assert got == {"claude-sonnet-4-5": (130, 13), "claude-haiku-4-5": (240, 24)}


def _anthropic_day_page(day: str, model: str, uncached: int, out: int) -> dict[str, Any]:
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    row = {"uncached_input_tokens": uncached, "cache_read_input_tokens": 0, "output_tokens": out, "model": model}
    bucket = {"starting_at": _pages_iso(start), "ending_at": _pages_iso(start + timedelta(days=1)), "results": [row]}
    return {"data": [bucket], "has_more": False, "next_page": None}


def _pages_iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_pretty_printed_pages_one_after_another_are_each_read(tmp_path: Path, db_path: Path) -> None:
    """A pagination loop that appends each response (``curl … >> pages.json``) leaves
    pretty-printed pages one after another: neither one document nor JSONL. Each page is read;
    one cut off by an interrupted download is a reject on the line where it starts, naming the
    line of the error, and the pages after it are still read.

    By hand: the fixture page (120 lines, ending in a newline) holds a1-a6 (6 rows); a page of
    11-05 (haiku, 1,000 uncached + 100 out; 18 lines as ``json.dumps(indent=2)`` writes it:
    the brace, "data", the bucket's brace, its two times, "results", the row's brace, its four
    fields, then six closing lines, "has_more", "next_page" and the brace) starts at line 121; the
    cut page (the 11-06 page's first 11 lines, ending inside its model name) starts at line 139,
    and on its line 149 the model's string opens in column 20 (10 blanks and ``"model": ``) and
    runs into the newline in column 29 (after the 9 characters ``"claude-h``); the 11-07 page (sonnet, 7 + 3) starts at line 150. Records 6 + 1 + 1 + 1 = 9; imported 8;
    rejected 1."""
    fixture = AN_FIRST.read_text()
    assert fixture.endswith("}\n") and fixture.count("\n") == 120
    day5 = json.dumps(_anthropic_day_page("2025-11-05", "claude-haiku-4-5-20251001", 1_000, 100), indent=2)
    day6 = json.dumps(_anthropic_day_page("2025-11-06", "claude-haiku-4-5-20251001", 2_000, 200), indent=2)
    day7 = json.dumps(_anthropic_day_page("2025-11-07", "claude-sonnet-4-5-20250929", 7, 3), indent=2)
    assert day5.count("\n") + 1 == 18
    cut = day6[: day6.index('"model"') + len('"model": "claude-h')]
    assert cut.count("\n") + 1 == 11
    f = tmp_path / "pages.json"
    f.write_text(fixture + day5 + "\n" + cut + "\n" + day7 + "\n")

    out = _import(db_path, f)  # --format auto finds the provider from the first page
    assert out["per_file"][0]["format"] == "anthropic-usage"
    assert (out["records"], out["imported"], out["rejected"]) == (9, 8, 1)
    [(file, line, reason)] = _rejects(db_path)
    assert (file, line) == (str(f), 139)
    assert reason == "not valid JSON: Invalid control character at line 149 column 29"
    days = _daily(db_path, "2025-11-05", "2025-11-07")
    assert (days["2025-11-05"]["input_tokens"], days["2025-11-05"]["output_tokens"]) == (1_000, 100)
    assert "2025-11-06" not in days or days["2025-11-06"]["input_tokens"] == 0
    assert (days["2025-11-07"]["input_tokens"], days["2025-11-07"]["output_tokens"]) == (7, 3)
    # the fixture page's own totals (EXPECTED.md: 11-03 input 2,032,340, output 636,230)
    d3 = _daily(db_path, "2025-11-03", "2025-11-03")["2025-11-03"]
    assert (d3["input_tokens"], d3["output_tokens"]) == (2_032_340, 636_230)
    again = _import(db_path, f)
    assert again["imported"] == 0


def test_a_bad_page_of_a_jsonl_file_never_takes_the_next_pages_along(tmp_path: Path, db_path: Path) -> None:
    """QA (fuzz): one page per line; a page that does not parse (``-Infinity``, ``00012``, ``.5``
    are no JSON numbers) was one reject running to the next line whose object opens with "data",
    "object", "type" or "error": pages re-written with "has_more" first were all swallowed (4 of
    5 days lost, nothing said), and two bad pages in a row were one reject. Each line is a page:
    the bad ones are rejects on their own lines, the others are read.

    By hand: days 10-14 of haiku, uncached input 100 x the day number, 1000 output each; A:
    keys reordered, line 2 (day 11) bad: records 5, imported 4 (input 1000 + 1200 + 1300 + 1400),
    rejected line 2. B: the API's order, lines 2 and 3 (days 11, 12) bad: records 5, imported 3,
    rejected lines 2 and 3."""

    def line(day: int, uncached: str, data_first: bool) -> str:
        page = _anthropic_day_page(f"2025-11-{day}", "claude-haiku-4-5-20251001", 0, 1000)
        text = json.dumps(page if data_first else {"has_more": False, "next_page": None, "data": page["data"]})
        return text.replace('"uncached_input_tokens": 0', f'"uncached_input_tokens": {uncached}')

    a = tmp_path / "a.jsonl"
    a.write_text("".join(line(d, "-Infinity" if d == 11 else str(d * 100), False) + "\n" for d in range(10, 15)))
    out = _import(db_path, a, fmt="anthropic-usage")
    assert (out["records"], out["imported"], out["rejected"]) == (5, 4, 1)
    assert [line for _, line, _ in _rejects(db_path)] == [2]
    days = _daily(db_path, "2025-11-10", "2025-11-14")
    assert {d: r["input_tokens"] for d, r in days.items() if r["input_tokens"]} == {
        "2025-11-10": 1000, "2025-11-12": 1200, "2025-11-13": 1300, "2025-11-14": 1400,
    }  # fmt: skip

    b = tmp_path / "b.jsonl"
    bad = {11: "00012", 12: ".5"}
    b.write_text("".join(line(d, bad.get(d, str(d * 100)), True) + "\n" for d in range(10, 15)))
    other = tmp_path / "b.duckdb"
    out = _import(other, b, fmt="anthropic-usage")
    assert (out["records"], out["imported"], out["rejected"]) == (5, 3, 2)
    assert [line for _, line, _ in _rejects(other)] == [2, 3]


def test_a_cut_page_written_with_indent_0_is_one_reject(tmp_path: Path) -> None:
    """QA (regression of the rule above): ``json.dumps(indent=0)`` puts every object of a page at
    the start of a line; a page cut inside its second bucket, then a whole page: the cut page's
    buckets were taken for pages (one imported on its own, the rest rejects in pieces). A ``{``
    alone on its line must parse as a page: the cut page is one reject (line 1), the next page
    is read. The indent-0 page: "{", "data": [, then each bucket from its own "{" line."""
    from usagectl.importers import _pages

    two = _anthropic_day_page("2025-11-05", "claude-haiku-4-5-20251001", 1000, 10)
    two["data"].append(_anthropic_day_page("2025-11-06", "claude-haiku-4-5-20251001", 2000, 20)["data"][0])
    text = json.dumps(two, indent=0)
    cut = text[: text.index('"uncached_input_tokens": 2000')]
    whole = json.dumps(_anthropic_day_page("2025-11-07", "claude-haiku-4-5-20251001", 3000, 30))
    f = tmp_path / "pages.json"
    f.write_text(cut + "\n" + whole + "\n")
    nxt = cut.count("\n") + 2
    pages = list(_pages.read_pages(f))
    assert [(p.line, p.problem) for p in pages] == [
        (1, f"not valid JSON: cut off before it ends (the next page starts on line {nxt})"),
        (nxt, None),
    ]
    assert pages[1].obj["data"][0]["starting_at"] == "2025-11-07T00:00:00Z"


def test_a_bad_page_in_an_array_of_pages_never_takes_the_rest_along(tmp_path: Path, db_path: Path) -> None:
    """QA: an array of pages, one a line, whose second page was cut off: the pages after it were
    neither imported nor rejected (nor counted). Now the cut page is one reject (line 3: line 1
    is the "["), and the pages of 10-03 and 10-04 are read; so is a page whose comma is missing.
    By hand: haiku uncached input 1000 / 3000 / 4000 / 5000 on 10-01, 10-03, 10-04, 10-05."""

    def page(day: str, uncached: int) -> str:
        return json.dumps(_anthropic_day_page(day, "claude-haiku-4-5-20251001", uncached, 10))

    cut = page("2025-10-02", 2000)
    cut = cut[: cut.index('"output_tokens"')]
    f = tmp_path / "pages.json"
    f.write_text("[\n" + page("2025-10-01", 1000) + ",\n" + cut + "\n" + page("2025-10-03", 3000) + ",\n"
                 + page("2025-10-04", 4000) + "\n" + page("2025-10-05", 5000) + "\n]\n")  # fmt: skip
    out = _import(db_path, f, fmt="anthropic-usage")
    assert (out["records"], out["imported"], out["rejected"]) == (5, 4, 1)
    assert [line for _, line, _ in _rejects(db_path)] == [3]
    days = _daily(db_path, "2025-10-01", "2025-10-05")
    assert {d: r["input_tokens"] for d, r in days.items() if r["input_tokens"]} == {
        "2025-10-01": 1000, "2025-10-03": 3000, "2025-10-04": 4000, "2025-10-05": 5000,
    }  # fmt: skip


def test_a_page_then_an_array_of_pages_reads_as_the_two_files_do(tmp_path: Path, db_path: Path) -> None:
    """A page, then an array of pages, one after the other in one file: the same events and
    rejects as the two files imported apart (the independent path), each reject on its line in
    the joined file (the first file's 77 lines further down)."""
    joined = tmp_path / "joined.json"
    joined.write_text(OA_FIRST.read_text() + OA_MIXED.read_text())
    assert OA_FIRST.read_text().count("\n") == 77
    apart_db = tmp_path / "apart.duckdb"
    apart = _import(apart_db, OA_FIRST, OA_MIXED)
    together = _import(db_path, joined)
    assert (together["records"], together["imported"], together["rejected"]) == (
        apart["records"],
        apart["imported"],
        apart["rejected"],
    )
    assert together["rejected"] > 0
    assert _by_model(db_path, "2025-11-01", "2025-11-30") == _by_model(apart_db, "2025-11-01", "2025-11-30")
    assert [(line, reason) for _, line, reason in _rejects(db_path)] == [
        (line + 77, reason) for _, line, reason in _rejects(apart_db)
    ]


@pytest.mark.parametrize(
    ("cut_after", "why", "next_line"),
    [
        # between two fields, on the cut page's line 10 (the file's 28): the parse fails at the
        # next page's "{" on line 29, so the reject says the page is cut off before it
        ('"output_tokens": 2000,', "cut off before it ends (the next page starts on line 29)", 29),
        # after a key's ":" (line 10): the next page would be taken in as its value; the parse
        # fails after it, and reading resumes where it starts (line 29), so it is still read
        ('"output_tokens":', "cut off before it ends (the next page starts on line 29)", 29),
        # inside a value, on the cut page's line 11 (the file's 29): the newline ends the string,
        # in column 28 (10 blanks and ``"model": `` make 19 characters, the string's 8 characters
        # ``"claude-`` fill columns 20-27)
        ('"model": "claude-', "Invalid control character at line 29 column 28", 30),
    ],
)
def test_a_page_cut_off_between_pages_is_one_reject_and_the_next_page_is_read(
    tmp_path: Path, cut_after: str, why: str, next_line: int
) -> None:
    """``read_pages`` directly: a pretty-printed page (18 lines, as in the test above), a page cut
    off (from line 19), then a whole page on the next line. The row's lines are the cut page's
    7 (its brace) to 11: "uncached_input_tokens", "cache_read_input_tokens", "output_tokens",
    "model"."""
    from usagectl.importers import _pages

    def page(day: str, n: int) -> str:
        return json.dumps(_anthropic_day_page(day, "claude-haiku-4-5-20251001", n, n), indent=2)

    first, whole, last = page("2025-11-05", 1), page("2025-11-06", 2_000), page("2025-11-07", 3)
    cut = whole[: whole.index(cut_after) + len(cut_after)]
    f = tmp_path / "pages.json"
    f.write_text(first + "\n" + cut + "\n" + last + "\n")
    pages = list(_pages.read_pages(f))
    assert [(p.line, p.problem) for p in pages] == [(1, None), (19, f"not valid JSON: {why}"), (next_line, None)]
    assert pages[0].obj["data"][0]["starting_at"] == "2025-11-05T00:00:00Z"
    assert pages[2].obj["data"][0]["starting_at"] == "2025-11-07T00:00:00Z"
    assert pages[1].raw == cut


def test_pages_appended_without_a_newline_and_a_cut_first_page(tmp_path: Path) -> None:
    """``curl -s … >> pages.json`` appends each response as it comes: compact pages with "}{"
    between them (no newline) are each a page; a first page cut off (its first 40 characters,
    all on line 1) is one reject on line 1 and the two pages after it are read."""
    from usagectl.importers import _pages

    days = [_anthropic_day_page(f"2025-11-0{d}", "claude-haiku-4-5-20251001", d * 1000, d) for d in (3, 4, 5)]
    joined = tmp_path / "joined.json"
    joined.write_text("".join(json.dumps(p) for p in days))
    pages = list(_pages.read_pages(joined))
    assert [(p.line, p.problem, p.obj["data"][0]["starting_at"]) for p in pages] == [
        (1, None, "2025-11-03T00:00:00Z"),
        (1, None, "2025-11-04T00:00:00Z"),
        (1, None, "2025-11-05T00:00:00Z"),
    ]
    first_cut = tmp_path / "first_cut.json"
    first_cut.write_text(json.dumps(days[0])[:40] + "\n" + "\n".join(json.dumps(p, indent=2) for p in days[1:]) + "\n")
    pages = list(_pages.read_pages(first_cut))
    assert [(p.line, p.problem is None) for p in pages] == [(1, False), (2, True), (20, True)]
    assert pages[1].obj["data"][0]["starting_at"] == "2025-11-04T00:00:00Z"


def test_openai_new_spec_uncached_input_and_a_row_whose_parts_exceed_its_input(tmp_path: Path) -> None:
    """The 2026-07 spec names the uncached input itself (``input_uncached_tokens``): a row of 1,000
    input with 200 cached and 800 uncached is 800 input + 200 cache read. A row whose parts hold
    more than its input (900 uncached + 200 cached = 1,100 > 1,000) contradicts itself: a reject
    naming the three counts, never 1,100 tokens."""

    def row(uncached: int) -> dict[str, Any]:
        return {**_oa_row("gpt-4o-2024-08-06", 1_000, 50, 1), "input_cached_tokens": 200,
                "input_uncached_tokens": uncached}  # fmt: skip

    page = {"object": "page", "data": [{"object": "bucket", "start_time": _T10, "end_time": _T11,
            "results": [row(800), row(900)]}], "has_more": False, "next_page": None}  # fmt: skip
    f = _write(tmp_path, "new_spec.json", page)
    good, bad = list(OPENAI.read(f))
    assert good.problem is None
    assert (good.fields["input_tokens"], good.fields["cache_read_tokens"]) == (800, 200)
    assert bad.problem == (
        "input_uncached_tokens (900) + input_cached_tokens (200) + input_cache_write_tokens (0) exceed input_tokens (1000)"
    )


_OPUS = "claude-opus-4-1-20250805"
_D3 = ("2025-11-03T00:00:00Z", "2025-11-04T00:00:00Z")


@pytest.mark.parametrize(
    ("order", "want"),
    [
        # each filtered fetch alone holds less than the total, so it gives way on arrival; the
        # last one brings the parts set aside back: together they hold as much as the total
        (("total", "sonnet", "haiku", "opus"), "parts"),
        (("sonnet", "total", "opus", "haiku"), "parts"),
        (("total", "opus", "haiku", "sonnet"), "parts"),
        (("sonnet", "haiku", "opus", "total"), "parts"),
        # an early haiku fetch (3,000 + 500 of haiku's 4,000 + 1,000) stands for haiku until the
        # later haiku fetch, which holds more of it, takes its place among the parts
        (("total", "sonnet", "haiku_early", "opus", "haiku"), "parts"),
        (("total", "haiku_early", "sonnet", "haiku", "opus"), "parts"),
        # the parts so far hold less than the total: it stays, never summed with them
        (("total", "sonnet", "haiku"), "total"),
        (("total", "sonnet", "haiku_early", "opus"), "total"),
    ],
)
def test_fetches_filtered_to_one_model_each_replace_an_ungrouped_total_together(
    tmp_path: Path, db_path: Path, order: tuple[str, ...], want: str
) -> None:
    """2025-11-03, fetched ungrouped (a total: 11,000 input + 3,500 output, no model, so
    unpriced), and fetched grouped by model filtered to one model at a time: sonnet 6,000 +
    2,000, haiku 4,000 + 1,000, opus 1,000 + 500 (6,000 + 4,000 + 1,000 = 11,000 and
    2,000 + 1,000 + 500 = 3,500: the parts make the total). Whatever the order, once all three
    models are in, the day is the three models' rows, priced: sonnet 6,000 x $3/M + 2,000 x $15/M
    = $0.048, haiku 4,000 x $1/M + 1,000 x $5/M = $0.009, opus 1,000 x $15/M + 500 x $75/M =
    $0.0525. Before that, the total stays alone."""
    pages = {
        "total": [_an_row(11_000, 3_500, None) | {"model": None}],
        "sonnet": [_an_model_row(6_000, 2_000, _SONNET)],
        "haiku": [_an_model_row(4_000, 1_000, _HAIKU)],
        "haiku_early": [_an_model_row(3_000, 500, _HAIKU)],
        "opus": [_an_model_row(1_000, 500, _OPUS)],
    }
    for name in order:
        f = _write(tmp_path, f"{name}.json", _an_buckets((*_D3, pages[name])))
        _import(db_path, f, fmt="anthropic-usage")
    got = {
        m: (i, o)
        for m, i, o in _query(
            db_path, "SELECT coalesce(model, '-'), sum(input_tokens), sum(output_tokens) FROM events GROUP BY 1"
        )
    }
    if want == "total":
        assert got == {"-": (11_000, 3_500)}
        return
    assert got == {
        "claude-sonnet-4-5": (6_000, 2_000),
        "claude-haiku-4-5": (4_000, 1_000),
        "claude-opus-4-1": (1_000, 500),
    }
    models = _by_model(db_path, "2025-11-03", "2025-11-03")
    assert {m: _money(r["cost_usd"]) for m, r in models.items()} == {
        "claude-sonnet-4-5": Decimal("0.048"),
        "claude-haiku-4-5": Decimal("0.009"),
        "claude-opus-4-1": Decimal("0.0525"),
    }
    assert _query(db_path, "SELECT count(*) FROM events WHERE model IS NULL") == [(0,)]


@pytest.mark.parametrize("order", ["stored first", "one-row fetch first"])
def test_a_fetch_holding_more_of_one_counter_but_far_less_usage_never_replaces_the_day(
    db_path: Path, order: str
) -> None:
    """QA: the day fetched by key, workspace, model, tier and window (tests/data/anthropic, rows
    a1-a5: 7.03M tokens of Sonnet and Haiku) and a fetch of that day by workspace, model, tier and
    window holding one Sonnet row (1.57M tokens: a1 with 1,000 one-hour cache writes a1 lacks).
    Neither holds all of the other's usage; the one-row fetch replaced the whole day (Haiku gone,
    Sonnet's long-context and priority rows gone). The side holding more tokens stays, in either
    order."""
    day = DATA / "anthropic" / "usage_nov03_04.json"
    one_row = DATA / "anthropic" / "websearch_usage_nov03.json"
    files = [day, one_row] if order == "stored first" else [one_row, day]
    for f in files:
        run("import", str(f), "--format", "anthropic-usage", "--db", str(db_path))
    got = query(
        db_path,
        "SELECT model_raw, sum(input_tokens), sum(cache_write_5m_tokens), sum(cache_write_1h_tokens), "
        "sum(cache_read_tokens), sum(output_tokens) FROM events WHERE ts < TIMESTAMPTZ '2025-11-04' "
        "GROUP BY ALL ORDER BY 1",
    )
    # EXPECTED.md rows a2 + a3 (Haiku) and a1 + a4 + a5 (Sonnet), by hand
    assert got == [
        ("claude-haiku-4-5-20251001", 1_500_000, 100_000, 20_000, 2_000_000, 550_000),
        ("claude-sonnet-4-5-20250929", 182_340 + 50_000 + 300_000, 45_210, 0, 1_284_500 + 10_000 + 900_000,
         61_230 + 5_000 + 20_000),
    ]  # fmt: skip


def _anthropic_day(path: Path, rows: list[dict[str, Any]]) -> Path:
    base = {"uncached_input_tokens": 0, "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
            "cache_read_input_tokens": 0, "output_tokens": 0, "api_key_id": None, "workspace_id": None, "model": None,
            "service_tier": None, "context_window": None}  # fmt: skip
    results = [{**base, **r} for r in rows]
    page = {"data": [{"starting_at": "2025-11-03T00:00:00Z", "ending_at": "2025-11-04T00:00:00Z", "results": results}],
            "has_more": False, "next_page": None}  # fmt: skip
    path.write_text(json.dumps(page), encoding="utf-8")
    return path


@pytest.mark.parametrize("order", ["by workspace first", "total first"])
def test_of_two_fetches_neither_holding_all_of_the_other_the_one_holding_more_tokens_stays(
    tmp_path: Path, db_path: Path, order: str
) -> None:
    """A day by workspace (A: 100 in / 10 out, B: 1,000 in / 100 out) and an ungrouped total of
    that day filtered to workspace A, fetched later (A's 100 in / 10 out and 50 one-hour cache
    writes made since). Neither holds every counter of the other: whichever gives way loses
    some usage, and the total (160 tokens) replaced the day's 1,210 in either order. The side
    holding more tokens stays; the total's row gives way (its 50 writes are the smaller loss)."""
    by_ws = _anthropic_day(tmp_path / "by_ws.json", [
        {"workspace_id": "wrkspc_A", "uncached_input_tokens": 100, "output_tokens": 10},
        {"workspace_id": "wrkspc_B", "uncached_input_tokens": 1000, "output_tokens": 100},
    ])  # fmt: skip
    total = _anthropic_day(tmp_path / "total.json", [
        {"uncached_input_tokens": 100, "output_tokens": 10,
         "cache_creation": {"ephemeral_1h_input_tokens": 50, "ephemeral_5m_input_tokens": 0}},
    ])  # fmt: skip
    for f in [by_ws, total] if order == "by workspace first" else [total, by_ws]:
        run("import", str(f), "--format", "anthropic-usage", "--db", str(db_path))
    assert query(
        db_path, "SELECT sum(input_tokens), sum(output_tokens), sum(cache_write_1h_tokens), count(*) FROM events"
    ) == [(1100, 110, 0, 2)]


def test_a_bucket_ending_where_it_starts_and_a_field_that_is_no_object_are_told_once(tmp_path: Path) -> None:
    """QA: an OpenAI bucket with start = end "ends (X) before it starts (X)"; an Anthropic row
    whose cache_creation is text had its reason twice (once per count inside it)."""
    from usagectl.importers._pages import bucket_range

    t = datetime(2026, 11, 1, tzinfo=UTC)
    assert bucket_range(t, t) == "bucket ends (2026-11-01T00:00:00Z) where it starts"
    assert bucket_range(t, t - timedelta(hours=1)) == (
        "bucket ends (2026-10-31T23:00:00Z) before it starts (2026-11-01T00:00:00Z)"
    )
    row = {"uncached_input_tokens": 100, "cache_creation": "bad", "cache_read_input_tokens": 0, "output_tokens": 10,
           "model": "claude-sonnet-4-5-20250929", "service_tier": "standard"}  # fmt: skip
    page = {"data": [{"starting_at": "2026-11-02T00:00:00Z", "ending_at": "2026-11-03T00:00:00Z", "results": [row]}],
            "has_more": False}  # fmt: skip
    path = tmp_path / "an.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    assert [r.problem for r in ANTHROPIC.read(path)] == ["cache_creation: not an object"]


def _anthropic_fetch(path: Path, buckets: list[tuple[str, str, list[dict[str, Any]]]]) -> Path:
    base = {"uncached_input_tokens": 0, "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
            "cache_read_input_tokens": 0, "output_tokens": 0, "api_key_id": None, "workspace_id": None, "model": None,
            "service_tier": None, "context_window": None}  # fmt: skip
    data = [{"starting_at": s, "ending_at": e, "results": [{**base, **r} for r in rows]} for s, e, rows in buckets]
    path.write_text(json.dumps({"data": data, "has_more": False, "next_page": None}), encoding="utf-8")
    return path


@pytest.mark.parametrize("order", ["hours first", "day first"])
def test_a_complete_hourly_fetch_stays_beside_a_partial_filtered_day_of_both_models(
    tmp_path: Path, db_path: Path, order: str
) -> None:
    """QA (of the rule above): the complete hours by model (Sonnet 1,000 in / 500 out at 10:00,
    Haiku the same at 15:00) and the day by model and workspace fetched at 18:00, filtered to the
    standard tier (800 / 100 of each). Each stored hour is weighed without the other model's, so
    "more tokens stays" let the partial day (1,800) replace the complete hours (3,000): between
    fetches both grouped by model the rule does not apply, and the hours stay in either order."""
    s, h = "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"

    def hour(n: int) -> str:
        return f"2025-11-{3 + n // 24:02d}T{n % 24:02d}:00:00Z"

    hours = _anthropic_fetch(tmp_path / "hours.json", [
        (hour(n), hour(n + 1), [{"model": m, "uncached_input_tokens": 1000, "output_tokens": 500}]
         if m else []) for n in range(24) for m in [s if n == 10 else h if n == 15 else None]
    ])  # fmt: skip
    day = _anthropic_fetch(tmp_path / "day.json", [(hour(0), hour(24), [
        {"model": m, "workspace_id": "wrkspc_A", "uncached_input_tokens": 800, "output_tokens": 100} for m in (s, h)
    ])])  # fmt: skip
    for f in [hours, day] if order == "hours first" else [day, hours]:
        run("import", str(f), "--format", "anthropic-usage", "--db", str(db_path))
    assert query(db_path, "SELECT model_raw, sum(input_tokens), sum(output_tokens) FROM events GROUP BY ALL ORDER BY 1") == [
        (h, 1000, 500), (s, 1000, 500)
    ]  # fmt: skip


def test_a_page_count_over_the_stores_bound_is_rejected_naming_the_pages_field(tmp_path: Path) -> None:
    """QA: a count over 10^15 was left to the store's check, whose reason named canonical columns
    and derived values (input less cached) that are not in the page."""
    path = _anthropic_fetch(tmp_path / "big.json", [("2025-11-03T00:00:00Z", "2025-11-04T00:00:00Z", [
        {"model": "claude-sonnet-4-5-20250929", "uncached_input_tokens": 2 * 10**15, "output_tokens": 1},
    ])])  # fmt: skip
    assert [r.problem for r in ANTHROPIC.read(path)] == [
        "uncached_input_tokens: too large (over 10^15) (2000000000000000)"
    ]


def test_a_batch_row_keeps_the_service_tier_it_logged(tmp_path: Path, db_path: Path) -> None:
    """QA: a row grouped by batch and service tier with ``batch: true`` and ``service_tier:
    "flex"`` is priced as batch (as before); "flex" was kept nowhere (``extra.usage`` leaves the
    tier out). It is kept as ``extra.service_tier_logged``; a batch row whose tier says nothing
    more ("default") gets none."""
    page = _oa_page((_T10, _T11, 1000, 100, 1), (_T11, _T11 + 86400, 2000, 200, 2))
    page["data"][0]["results"][0] |= {"batch": True, "service_tier": "flex"}
    page["data"][1]["results"][0] |= {"batch": True, "service_tier": "default"}
    _import(db_path, _write(tmp_path, "batch.json", page), fmt="openai-usage")
    rows = _query(db_path, "SELECT input_tokens, service_tier, json_extract_string(extra, '$.service_tier_logged') "
                           "FROM events ORDER BY ts")  # fmt: skip
    assert rows == [(1000, "batch", "flex"), (2000, "batch", None)]


# ------------------------------------------------------- an event export of usage buckets imported again


def _an_ws_row(workspace: str | None, uncached: int) -> dict[str, Any]:
    return {**_AN_ROW, "uncached_input_tokens": uncached, "output_tokens": 0, "workspace_id": workspace,
            "model": _HAIKU, "context_window": "0-200k"}  # fmt: skip


def _an_day_page(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"data": [{"starting_at": _D10, "ending_at": _D11, "results": list(rows)}], "has_more": False,
            "next_page": None}  # fmt: skip


# the same day fetched twice: grouped by workspace and model (1.0M + 0.5M uncached input), and by
# model only (1.5M); Haiku 4.5 input is $1 per 1M
AN_BY_WORKSPACE = _an_day_page(_an_ws_row("wrkspc_A", 1_000_000), _an_ws_row("wrkspc_B", 500_000))
AN_BY_MODEL = _an_day_page(_an_ws_row(None, 1_500_000))


def _exported(tmp_path: Path, name: str, kind: str, *pages: tuple[dict[str, Any], str]) -> Path:
    """An event export (``--jsonl``, ``--csv`` or ``--parquet``) of a database of its own holding
    ``pages`` (page, format)."""
    db = tmp_path / f"{name}.duckdb"
    for i, (page, fmt) in enumerate(pages):
        _import(db, _write(tmp_path, f"{name}_{i}.json", page), fmt=fmt)
    out = tmp_path / f"{name}.{kind}"
    run("export", f"--{kind}", "--out", str(out), "--db", str(db))
    return out


@pytest.mark.parametrize("kind", ["jsonl", "csv", "parquet"])
@pytest.mark.parametrize("export_first", [False, True])
def test_an_export_of_another_grouping_is_settled_as_its_pages_are(
    tmp_path: Path, db_path: Path, kind: str, export_first: bool
) -> None:
    """Database B fetched the day by workspace and exports its events; database A fetched it by
    model. A imports B's export, before or after its own page: the rows keep their source
    (anthropic-usage) and bucket, so they are settled as the page itself would be, never summed:
    1,500,000 input × $1/M = $1.50 (QA: the export imported second was stored beside the day,
    3,000,000 and $3.00). Imported raw, the pages give the same."""
    export = _exported(tmp_path, "b", kind, (AN_BY_WORKSPACE, "anthropic-usage"))
    page = _write(tmp_path, "by_model.json", AN_BY_MODEL)
    steps = [(export, "auto"), (page, "anthropic-usage")]
    for path, fmt in steps if export_first else steps[::-1]:
        _import(db_path, path, fmt=fmt)
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], _money(d["cost_usd"])) == (1_500_000, Decimal("1.5"))
    # one grouping stays, the other is kept in rejects for reference: the finer (by workspace) one
    # holds as much usage and stays, in either order
    assert _query(db_path, "SELECT workspace, input_tokens FROM events ORDER BY 1") == [
        ("wrkspc_A", 1_000_000),
        ("wrkspc_B", 500_000),
    ]
    # the export imported again adds nothing
    again = _import(db_path, export)
    assert (again["imported"], again["replaced"]) == (0, 0)
    assert _day(db_path, "2025-11-10")["input_tokens"] == 1_500_000


def test_an_export_mixing_sources_settles_each_provider_on_its_own(tmp_path: Path, db_path: Path) -> None:
    """One export holds Anthropic rows by workspace (1.0M + 0.5M Haiku input), an OpenAI day
    (30 requests, 30,000 input + 3,000 output of gpt-4o) and a plain event of its own. The database
    holds the Anthropic day by model (1.5M) and an OpenAI partial hour (1 request, 1,000 + 100).
    Each provider is settled against its own stored rows: Anthropic 1.5M × $1/M = $1.50; OpenAI
    the day stays (the partial hour gives way): 30,000 × $2.50/M + 3,000 × $10/M = $0.105; the
    plain event (1,000,000 Haiku input, $1.00) is imported as any canonical row. In all: 2,530,000
    input, 3,000 output, $1.50 + $0.105 + $1.00 = $2.605."""
    export = _exported(tmp_path, "b", "jsonl", (AN_BY_WORKSPACE, "anthropic-usage"), (OA_DAY, "openai-usage"))
    plain = {"event_id": "plain-1", "ts": "2025-11-10T12:00:00Z", "model_raw": _HAIKU, "input_tokens": 1_000_000}
    with export.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(plain) + "\n")
    _import(db_path, _write(tmp_path, "by_model.json", AN_BY_MODEL), fmt="anthropic-usage")
    _import(db_path, _write(tmp_path, "hour.json", OA_HOUR_PART), fmt="openai-usage")
    out = _import(db_path, export)
    # 4 records: 2 Anthropic rows and the OpenAI day imported, the plain event too; the stored
    # Anthropic day and OpenAI hour gave way (replaced)
    assert (out["records"], out["rejected"], out["replaced"]) == (4, 0, 2)
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], d["output_tokens"], _money(d["cost_usd"])) == (2_530_000, 3000, Decimal("2.605"))
    by_source = _query(db_path, "SELECT source, sum(input_tokens) FROM events GROUP BY 1 ORDER BY 1")
    assert by_source == [("anthropic-usage", 1_500_000), ("jsonl", 1_000_000), ("openai-usage", 30_000)]


@pytest.mark.parametrize("exported", ["first hour", "second hour"])
def test_an_hour_set_aside_comes_back_with_an_export_or_from_one(tmp_path: Path, db_path: Path, exported: str) -> None:
    """The day (3,000 + 300 Sonnet) is stored; the hour 00–01 (1,000 + 100) arrives and is set
    aside (it holds less); the hour 01–02 (2,000 + 200) arrives: with the hour set aside they hold
    the day's 3,300 tokens and replace it, the set-aside hour coming back. One of the hours comes
    as an event export instead of a page (the set-aside row is then the export's, or comes back
    with it): the same end. 3,000 × $3/M + 300 × $15/M = $0.009 + $0.0045 = $0.0135."""
    first = _an_page((_H0, _H1, 1000, 100, _SONNET))
    second = _an_page((_H1, _H2, 2000, 200, _SONNET))
    _import(db_path, _write(tmp_path, "day.json", AN_DAY), fmt="anthropic-usage")
    for i, page in enumerate((first, second)):
        if exported == ("first hour", "second hour")[i]:
            _import(db_path, _exported(tmp_path, f"b{i}", "jsonl", (page, "anthropic-usage")))
        else:
            _import(db_path, _write(tmp_path, f"hour{i}.json", page), fmt="anthropic-usage")
    d = _day(db_path, "2025-11-10")
    assert (d["input_tokens"], d["output_tokens"], _money(d["cost_usd"])) == (3000, 300, Decimal("0.0135"))
    assert _query(db_path, "SELECT input_tokens FROM events ORDER BY ts") == [(1000,), (2000,)]
    # the day is kept in rejects for reference; nothing else is left there
    (reason,) = [r for _, _, r in _rejects(db_path)]
    assert reason.startswith("removed from the stored rows: bucket 2025-11-10T00:00Z–2025-11-11T00:00Z")
