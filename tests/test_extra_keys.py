"""Importers that build ``extra`` themselves declare its keys (``extra_keys``); `report platforms`
skips reading ``extra`` for voice messages when every event of the range comes from such
batches. The declaration must hold for every event those importers store, and the report must
give what reading every event's ``extra`` gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run, write_jsonl
from usagectl.importers import registry
from usagectl.models import Filters
from usagectl.pricing import load_pricebook
from usagectl.store import analytics
from usagectl.store import reports as q
from usagectl.store.connection import connect

DATA = Path(__file__).parent / "data"
WIDE = Filters(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(2100, 1, 1, tzinfo=UTC), tz="UTC")


def _cc_line_with_every_field(tmp_path: Path) -> Path:
    """A Claude Code tree whose line carries every field the importer keeps, plus fields it does
    not know (``voice`` among them, at the top and in ``message.usage``)."""
    root = tmp_path / "cc" / "projects" / "p"
    root.mkdir(parents=True)
    usage = {"input_tokens": 1, "output_tokens": 2, "speed": "fast", "voice": True,
             "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}}  # fmt: skip
    line = {"type": "assistant", "timestamp": "2025-11-03T10:00:00Z", "sessionId": "s", "requestId": "r",
            "uuid": "u", "version": "2.0.31", "gitBranch": "main", "isSidechain": False, "cwd": "/x",
            "costUSD": 0.01, "voice": True, "platform": "mobile",
            "message": {"id": "m", "model": "claude-sonnet-4-5", "usage": usage}}  # fmt: skip
    (root / "a.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    return tmp_path / "cc"


@pytest.mark.parametrize("fmt", ["claude-code", "codex"])
def test_declared_extra_keys_cover_every_stored_event(tmp_path: Path, db_path: Path, fmt: str) -> None:
    declared = registry.get(fmt).extra_keys  # type: ignore[union-attr]
    roots = [DATA / "claude-code", _cc_line_with_every_field(tmp_path)] if fmt == "claude-code" else [DATA / "codex"]
    for root in roots:
        run("import", str(root), "--format", fmt, "--db", str(db_path))
    with connect(db_path, read_only=True) as con:
        keys = {k for (ks,) in con.execute("SELECT json_keys(extra) FROM events").fetchall() for k in ks or []}
    assert keys <= declared, keys - declared
    assert len(keys) >= 6 and "voice" not in declared
    assert registry.formats_without_extra_key("voice") == ["claude-code", "codex"]


def test_the_claude_code_reader_keeps_to_the_declared_keys(tmp_path: Path) -> None:
    imp = registry.get("claude-code")
    assert imp is not None
    for path in [*(DATA / "claude-code").rglob("*.jsonl"), *_cc_line_with_every_field(tmp_path).rglob("*.jsonl")]:
        for rec in imp.read(path):
            if rec.fields:
                assert set(rec.fields.get("extra") or {}) <= imp.extra_keys, path  # type: ignore[attr-defined]


def _service(db: Path, flt: Filters, free: list[str]) -> tuple[Any, Any]:
    with connect(db, read_only=True) as con:
        q.prepare_session(con, load_pricebook(), {}, flt)
        return analytics.service_stats(con, flt, "platform", voice=True, voice_free_formats=free)


def test_platform_voice_sums_skip_only_batches_that_cannot_hold_voice(tmp_path: Path, db_path: Path) -> None:
    # the Claude Code fixture (2025-11-03/04) and, on 2025-11-10, two voice messages of a JSONL
    # batch on mobile: gpt-4o-mini 1000 in / 500 out = $0.00045 and 2000 in / 0 = $0.0003
    run("import", str(DATA / "claude-code"), "--format", "claude-code", "--db", str(db_path))
    voice = [
        {"event_id": "v1", "ts": "2025-11-10T10:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 1000,
         "output_tokens": 500, "platform": "mobile", "extra": {"voice": True}},
        {"event_id": "v2", "ts": "2025-11-10T11:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 2000,
         "output_tokens": 0, "platform": "mobile", "extra": {"voice": True}},
        {"event_id": "v3", "ts": "2025-11-10T12:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 5,
         "output_tokens": 0, "platform": "mobile", "extra": {"voice": False}},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "v.jsonl", voice)), "--db", str(db_path))
    free = registry.formats_without_extra_key("voice")
    with connect(db_path, read_only=True) as con:
        assert analytics._may_hold_voice(con, WIDE, free)
        only_cc = Filters(datetime(2025, 11, 1, tzinfo=UTC), datetime(2025, 11, 5, tzinfo=UTC), tz="UTC")
        assert not analytics._may_hold_voice(con, only_cc, free)
        assert analytics._may_hold_voice(con, only_cc, [])
    for flt in (WIDE, only_cc):
        fast, slow = _service(db_path, flt, free), _service(db_path, flt, [])
        assert fast == slow
    stats, _ = _service(db_path, WIDE, free)
    mobile = next(r for r in stats if r["key"] == "mobile")
    assert (mobile["voice_requests"], mobile["voice_tokens"], mobile["voice_cost_usd"]) == (2, 3500, Decimal("0.00075"))
    cc = next(r for r in stats if r["key"] is None and r["level"] == "key")  # the Claude Code events
    assert (cc["requests"], cc["voice_requests"], cc["voice_cost_usd"]) == (7, 0, None)
