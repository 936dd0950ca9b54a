"""Saved provider pages read in bounded memory (QA: a year of 1-minute OpenAI usage pages, one
fetch of 365 pages, 131 MB, peaked at ~1.5 GB): the reader holds no parsed page of a fetch but
the one whose records it makes, nor the file's bytes beside its text; ``ends_open`` does not read
a file again whose records were just read; the usage stager holds no record of the file as an
object while its shapes are settled. What is stored stays the same (the provider usage tests).
No timing or memory thresholds: what is held is looked at directly."""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import query, run_json
from usagectl.importers import _pages
from usagectl.importers.openai_usage import IMPORTER as OPENAI
from usagectl.models import Record
from usagectl.store import billing

_T0 = 1762732800  # 2025-11-10 00:00 UTC
_MARK = "pages-memory-test-page"  # a key of each bucket of ``_fetch``: the test finds them by it


def _row(model: str, project: str | None, tokens: int) -> dict[str, Any]:
    return {"object": "organization.usage.completions.result", "input_tokens": tokens, "output_tokens": 10,
            "input_cached_tokens": 0, "num_model_requests": 1, "project_id": project, "user_id": None,
            "api_key_id": None, "model": model, "batch": None}  # fmt: skip


def _bucket(minute: int, *rows: dict[str, Any]) -> dict[str, Any]:
    start = _T0 + minute * 60
    return {"object": "bucket", "start_time": start, "end_time": start + 60, "results": list(rows)}


def _fetch(tmp_path: Path) -> Path:
    """One fetch of three pages (has_more on the first two), as an array:
    page 1: minute 0 (gpt-4o, 100 tokens), minute 1 (gpt-4o, 200); page 2: minute 1 again, the
    bucket continued (o3 of project p1, 300); page 3: minute 2 (gpt-4o, 400)."""
    pages = [
        [_bucket(0, _row("gpt-4o", None, 100)), _bucket(1, _row("gpt-4o", None, 200))],
        [_bucket(1, _row("o3", "p1", 300))],
        [_bucket(2, _row("gpt-4o", None, 400))],
    ]
    path = tmp_path / "fetch.json"
    doc = [{"object": "page", "data": [{**b, _MARK: i + 1} for b in data], "has_more": i < 2, "next_page": None}
           for i, data in enumerate(pages)]  # fmt: skip
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def _parsed_pages() -> list[int]:
    """The pages of ``_fetch`` of which a parsed bucket is alive now."""
    return sorted({o[_MARK] for o in gc.get_objects() if type(o) is dict and _MARK in o})


def test_a_fetch_is_not_held_parsed_while_its_records_are_made(tmp_path: Path) -> None:
    """When each record is made, the only parsed page alive is its own (the old reader held the
    three pages of the fetch from its first record to its last). The group-bys stay the fetch's
    (worked out by hand): the fetch sets model (every row) and project_id (page 2's row), so every
    row's fetch group-by is [model, project_id]; minute 1 is one bucket over pages 1 and 2, so
    both its rows are grouped by [model, project_id]; minutes 0 and 2 by [model] alone."""
    path = _fetch(tmp_path)
    seen: list[tuple[int, list[str], list[str], list[str] | None]] = []
    for r in OPENAI.read(path):
        extra = r.fields["extra"]
        minute = (int(r.fields["ts"].timestamp()) - _T0) // 60
        seen.append((minute, _parsed_pages(), extra["group_by"], extra.get("fetch_group_by")))
    both, model = ["model", "project_id"], ["model"]
    assert seen == [
        (0, [1], model, both),
        (1, [1], both, None),  # as wide as its fetch: no fetch_group_by kept
        (1, [2], both, None),
        (2, [3], model, both),
    ]
    assert _parsed_pages() == []


def test_read_pages_lets_the_bytes_go(tmp_path: Path) -> None:
    """The pages are read from the decoded text: the bytes read (as large as the file) are not
    kept beside it while the pages are read."""
    gen = _pages.read_pages(_fetch(tmp_path))
    first = next(gen)
    assert first.line == 2 and first.obj["data"][0][_MARK] == 1  # the array's first page, on line 2
    held = gen.gi_frame.f_locals if gen.gi_frame is not None else {}
    assert [name for name, value in held.items() if isinstance(value, (bytes, bytearray))] == []
    assert [p.obj["data"][0][_MARK] for p in gen] == [2, 3]


def test_ends_open_of_a_file_just_read_reads_it_no_more(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its records read through, a file whose last page says has_more: true ends open, told
    without reading it again; once the file changes (its last page now says has_more: false,
    so its size changes too) it is read again and no longer ends open."""
    path = tmp_path / "open.json"
    page = {"object": "page", "data": [_bucket(0, _row("gpt-4o", None, 100))], "has_more": True, "next_page": "p2"}
    path.write_text(json.dumps(page), encoding="utf-8")
    assert len(list(OPENAI.read(path))) == 1
    real = _pages.read_pages

    def no_read(_path: Path) -> Any:
        raise AssertionError("read again")

    monkeypatch.setattr(_pages, "read_pages", no_read)
    assert _pages.ends_open(path) is True
    monkeypatch.setattr(_pages, "read_pages", real)
    path.write_text(json.dumps({**page, "has_more": False, "next_page": None}), encoding="utf-8")
    assert _pages.ends_open(path) is False


_DAY = [{"starting_at": "2025-11-10T00:00:00Z", "ending_at": "2025-11-11T00:00:00Z"}]
_HOUR = [{"starting_at": "2025-11-10T00:00:00Z", "ending_at": "2025-11-10T01:00:00Z"}]


def _an_page(span: list[dict[str, str]], tokens: int, output: int) -> dict[str, Any]:
    row = {"uncached_input_tokens": tokens, "output_tokens": output, "cache_read_input_tokens": 0,
           "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
           "server_tool_use": {"web_search_requests": 0}, "api_key_id": None, "workspace_id": None,
           "model": "claude-sonnet-4-5-20250929", "service_tier": None, "context_window": None}  # fmt: skip
    return {"data": [{**span[0], "results": [row]}], "has_more": False, "next_page": None}


def test_settling_holds_no_record_of_the_file(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # fmt: skip
    """One file with a day (3,000 input + 300 output) and its first hour (1,000 + 100): the hour
    covers only part of the day and gives way (3,000 + 300 stored, never 4,000 + 400). While the
    shapes are settled no record of the file is held as an object (the old stager held them all);
    the hour's row set aside keeps its whole fields (its usage: 1,000 input), read back packed."""
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in (_an_page(_DAY, 3000, 300), _an_page(_HOUR, 1000, 100))) + "\n")
    held: list[int] = []
    settle = billing._settle_buckets

    def spy(con: Any, recs: list[Record], source: str, **kw: Any) -> Any:
        whole = [o for o in gc.get_objects() if type(o) is Record and "usage" in (o.fields.get("extra") or {})]
        held.append(sum(1 for o in whole if o.fields.get("source") == "anthropic-usage"))
        return settle(con, recs, source, **kw)

    monkeypatch.setattr(billing, "_settle_buckets", spy)
    out = run_json("import", str(path), "--format", "anthropic-usage", "--db", str(db_path))
    assert held == [0]
    assert (out["imported"], out["rejected"]) == (1, 1)
    assert query(db_path, "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM events") == [(1, 3000, 300)]
    ((record, raw),) = query(db_path, "SELECT record, raw FROM set_aside")
    aside = json.loads(raw)
    assert (record, aside["input_tokens"], aside["extra"]["usage"]["uncached_input_tokens"]) == (2, "1000", 1000)
    ((reason,),) = query(db_path, "SELECT reason FROM rejects")
    assert "covers only part of" in reason and "in this file" in reason


def test_packed_records_come_back_as_they_were(monkeypatch: pytest.MonkeyPatch) -> None:
    """Records put aside while a file is settled come back equal, field for field (an exact
    Decimal, an aware time, a text with a lone surrogate, nested extra), in order, with the
    problems settling gave them; the fields of one are read back from its block alone (two
    records a block here: the third is in a block of its own)."""
    monkeypatch.setattr(billing._Packed, "_BLOCK", 2)
    fields = {
        "event_id": "e1",
        "ts": datetime(2025, 11, 10, 0, 1, tzinfo=UTC),
        "reported_cost_usd": Decimal("0.000123"),
        "model_raw": "m\ud800",
        "extra": {"usage": {"a": [1, {"b": None}]}, "group_by": ["model"]},
    }
    recs = [
        Record(1, 3, fields=fields, raw='{"x":1}', fetch_sig=("model", "project_id")),
        Record(2, None, problem="output_tokens: missing", raw="{}"),
        Record(3, 4, fields={"event_id": "e3"}, repeats=True),
    ]
    packed = billing._Packed()
    for r in recs:
        packed.add(r)
    packed.seal()
    assert len(packed.blocks) == 2
    assert (packed.fields(2), packed.fields(0)) == (recs[2].fields, recs[0].fields)
    back = list(packed.unpacked({2: "gave way"}))
    assert back == [recs[0], recs[1], Record(3, 4, fields={"event_id": "e3"}, problem="gave way", repeats=True)]
