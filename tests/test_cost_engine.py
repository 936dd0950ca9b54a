"""The SQL cost engine agrees with the Python price book, event by event (two independent
paths), and follows the bucket, tier and band rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.helpers import run, write_jsonl
from usagectl.config import Config
from usagectl.models import Filters
from usagectl.pricing import load_pricebook
from usagectl.store import reports as q
from usagectl.store.connection import connect

MODELS = [
    "claude-sonnet-4-5-20250929", "claude-sonnet-4", "gpt-4o", "gpt-4o-2024-05-13", "o3", "gpt-4o-mini",
    "gemini-2.5-pro", "claude-haiku-4-5", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "not-a-model",
]  # fmt: skip


def _events(n: int, seed: int = 3) -> list[dict]:  # type: ignore[type-arg]
    rnd = random.Random(seed)
    start = datetime(2025, 5, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        ts = start + timedelta(minutes=rnd.randrange(0, 60 * 24 * 120))
        big = rnd.random() < 0.3
        out.append(
            {
                "event_id": f"x{i}",
                "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "model_raw": rnd.choice(MODELS),
                "requests": rnd.choice([1, 1, 1, 7]),
                "input_tokens": rnd.randrange(0, 150_000 if big else 5_000),
                "cache_read_tokens": rnd.randrange(0, 120_000 if big else 5_000),
                "cache_write_5m_tokens": rnd.randrange(0, 3_000),
                "cache_write_1h_tokens": rnd.choice([0, rnd.randrange(0, 3_000)]),
                "output_tokens": rnd.randrange(0, 4_000),
                "web_search_requests": rnd.choice([0, 0, 2]),
                "service_tier": rnd.choice(["standard", "standard", "batch", "priority", "flex", None]),
            }
        )
    return out


def test_sql_cost_equals_python_cost_for_every_event(tmp_path: Path, db_path: Path) -> None:
    events = _events(600)
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    book = load_pricebook()
    flt = Filters(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(2100, 1, 1, tzinfo=UTC), tz="UTC")
    with connect(db_path, read_only=True) as con:
        q.prepare_session(con, book, Config().members, flt)
        sql = "SELECT event_id, cost FROM (" + q._filtered(flt).sql + ")"
        got = dict(con.execute(sql, q._filtered(flt).params).fetchall())
    priced = unpriced = 0
    for e in events:
        expected = book.cost(
            model_raw=e["model_raw"],
            ts=datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
            service_tier=e["service_tier"],
            requests=e["requests"],
            input_tokens=e["input_tokens"],
            cache_read_tokens=e["cache_read_tokens"],
            cache_write_5m_tokens=e["cache_write_5m_tokens"],
            cache_write_1h_tokens=e["cache_write_1h_tokens"],
            output_tokens=e["output_tokens"],
            web_search_requests=e["web_search_requests"],
        ).total
        assert got[e["event_id"]] == expected, e
        priced += expected is not None
        unpriced += expected is None
    assert priced > 300 and unpriced > 30  # both paths exercised


def test_bands_for_requests_and_buckets(tmp_path: Path, db_path: Path) -> None:
    base = {"ts": "2025-11-03T10:00:00Z", "model_raw": "claude-sonnet-4-5", "output_tokens": 1000}
    events = [
        {**base, "event_id": "at", "input_tokens": 50_000, "cache_read_tokens": 150_000},  # 200,000: base band
        {**base, "event_id": "over", "input_tokens": 50_000, "cache_read_tokens": 150_001},  # 200,001: long context
        {**base, "event_id": "bucket", "requests": 5, "input_tokens": 50_000, "cache_read_tokens": 150_001},
        {**base, "event_id": "zero", "output_tokens": 10},
    ]
    run("import", str(write_jsonl(tmp_path / "b.jsonl", events)), "--db", str(db_path))
    book = load_pricebook()
    flt = Filters(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(2100, 1, 1, tzinfo=UTC), tz="UTC")
    with connect(db_path, read_only=True) as con:
        q.prepare_session(con, book, {}, flt)
        got = dict(
            con.execute("SELECT event_id, cost FROM (" + q._filtered(flt).sql + ")", q._filtered(flt).params).fetchall()
        )
    m = Decimal(1_000_000)
    assert got["at"] == (50_000 * Decimal(3) + 150_000 * Decimal("0.30") + 1000 * Decimal(15)) / m
    assert got["over"] == (50_000 * Decimal(6) + 150_001 * Decimal("0.60") + 1000 * Decimal("22.50")) / m
    assert got["bucket"] == (50_000 * Decimal(3) + 150_001 * Decimal("0.30") + 1000 * Decimal(15)) / m
    assert got["zero"] == 10 * Decimal(15) / m
