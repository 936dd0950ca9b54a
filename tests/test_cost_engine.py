"""The SQL cost engine agrees with the Python price book, event by event (two independent
paths), and follows the bucket, tier and band rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.helpers import run, run_json, write_jsonl
from usagectl.config import Config
from usagectl.models import Filters
from usagectl.pricing import PriceBook, load_pricebook
from usagectl.store import reports as q
from usagectl.store import stored_cost
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


ALL = Filters(start=datetime(2000, 1, 1, tzinfo=UTC), end=datetime(2100, 1, 1, tzinfo=UTC), tz="UTC")
# one event worked by hand: 1,000 input + 500 output tokens of gpt-4o-mini, standard tier
HAND = {"event_id": "hand", "ts": "2025-06-01T12:00:00Z", "model_raw": "gpt-4o-mini", "requests": 1,
        "input_tokens": 1000, "output_tokens": 500, "service_tier": "standard"}  # fmt: skip
PACKAGED_HAND = Decimal("0.00045")  # 1000 x $0.15/M + 500 x $0.60/M = 0.00015 + 0.0003
MINE_HAND = Decimal("0.002")  # with the user table below: 1000 x $1/M + 500 x $2/M = 0.001 + 0.001


def _python_cost(book: PriceBook, e: dict) -> Decimal | None:  # type: ignore[type-arg]
    return book.cost(
        model_raw=e["model_raw"],
        ts=datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
        service_tier=e.get("service_tier"),
        requests=e["requests"],
        input_tokens=e.get("input_tokens", 0),
        cache_read_tokens=e.get("cache_read_tokens", 0),
        cache_write_5m_tokens=e.get("cache_write_5m_tokens", 0),
        cache_write_1h_tokens=e.get("cache_write_1h_tokens", 0),
        output_tokens=e.get("output_tokens", 0),
        web_search_requests=e.get("web_search_requests", 0),
    ).total


def _engine(db_path: Path, book: PriceBook) -> tuple[bool, dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    """(stored costs used?, per event the report relation's (cost, rate_id, long_context),
    per event the query-time engine's (cost, rate_id, long_context))."""
    sql = "SELECT event_id, cost, rate_id, long_context FROM {} WHERE ts >= $start AND ts < $end"
    params = {"start": ALL.start, "end": ALL.end}
    with connect(db_path, read_only=True) as con:
        stored = q.prepare_session(con, book, Config().members, ALL)
        report = {r[0]: r[1:] for r in con.execute(sql.format("priced_events_rated"), params).fetchall()}
        live = {r[0]: r[1:] for r in con.execute(sql.format("priced_events_live"), params).fetchall()}
        # the lean relation reports read has the same costs
        lean = dict(
            con.execute(q._filtered(ALL).sql.replace("SELECT *", "SELECT event_id, cost", 1), params).fetchall()
        )
    assert lean == {k: v[0] for k, v in report.items()}
    return stored, report, live


def _stored_column(db_path: Path) -> dict[str, Decimal | None]:
    with connect(db_path, read_only=True) as con:
        return dict(con.execute("SELECT event_id, cost_usd FROM events").fetchall())


def test_sql_cost_equals_python_cost_for_every_event(tmp_path: Path, db_path: Path) -> None:
    """Stored cost (written by the import) = query-time engine = Python ``PriceBook.cost``."""
    events = _events(600)
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    book = load_pricebook()
    stored, report, live = _engine(db_path, book)
    assert stored  # the import stored the costs under this book's fingerprint
    assert report == live  # cost, applied rate and band: stored identifiers find the same rate
    column = _stored_column(db_path)
    priced = unpriced = 0
    for e in events:
        expected = _python_cost(book, e)
        assert report[e["event_id"]][0] == expected, e
        assert column[e["event_id"]] == expected, e
        priced += expected is not None
        unpriced += expected is None
    assert priced > 300 and unpriced > 30  # both paths exercised


def test_reprice_follows_a_changed_user_price_table(tmp_path: Path, db_path: Path) -> None:
    events = [*_events(600), HAND]
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    packaged = load_pricebook()
    before = _stored_column(db_path)
    assert before["hand"] == PACKAGED_HAND
    prices = tmp_path / "prices"
    prices.mkdir()
    (prices / "mine.toml").write_text(
        'provider = "openai"\n[[model]]\nid = "gpt-4o-mini"\n[[model.price]]\nsource = "https://example.com"\n'
        "checked = 2026-01-01\ninput = 1.00\noutput = 2.00\n"
    )
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[pricing]\ndir = "{prices}"\n')
    mine = load_pricebook(prices)
    # reports with the edited tables do not read the stale stored costs
    stored, report, live = _engine(db_path, mine)
    assert not stored and report == live
    month = run_json("report", "month", "--month", "2025-06", "--db", str(db_path), "--config", str(cfg))
    assert any("usagectl pricing reprice" in n for n in month["notes"])

    out = run_json("pricing", "reprice", "--db", str(db_path), "--config", str(cfg))
    assert out["totals"]["events"] == len(events)
    after = _stored_column(db_path)
    assert after["hand"] == MINE_HAND
    stored, report, live = _engine(db_path, mine)
    assert stored and report == live
    changed = 0
    for e in events:
        model = packaged.resolve(e["model_raw"])
        assert after[e["event_id"]] == _python_cost(mine, e), e
        if model == "gpt-4o-mini":
            changed += after[e["event_id"]] != before[e["event_id"]]
        else:  # the other models keep their stored cost
            assert after[e["event_id"]] == before[e["event_id"]], e
    assert changed > 10
    month = run_json("report", "month", "--month", "2025-06", "--db", str(db_path), "--config", str(cfg))
    assert not any("reprice" in n for n in month["notes"])

    # back to the packaged tables: the next import re-prices everything first
    res = run("import", str(write_jsonl(tmp_path / "more.jsonl", [HAND | {"event_id": "hand2"}])), "--db", str(db_path))
    assert f"stored costs of {len(events):,} events computed again" in res.stderr
    column = _stored_column(db_path)
    assert column["hand"] == column["hand2"] == PACKAGED_HAND
    assert _engine(db_path, packaged)[0]


def test_rows_without_stored_cost_are_priced_on_the_fly(tmp_path: Path, db_path: Path) -> None:
    """Rows imported before migration 005 have no stored cost and no fingerprint."""
    events = [*_events(200, seed=5), HAND]
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    with connect(db_path) as con:
        con.execute("UPDATE events SET cost_usd = NULL, priced_model = NULL, price_from = NULL, price_band = NULL")
        con.execute("DELETE FROM meta WHERE key = ?", [stored_cost.FINGERPRINT_KEY])
    book = load_pricebook()
    stored, report, live = _engine(db_path, book)
    assert not stored and report == live
    assert report["hand"][0] == PACKAGED_HAND
    for e in events:
        assert report[e["event_id"]][0] == _python_cost(book, e), e
    month = run_json("report", "month", "--month", "2025-06", "--db", str(db_path))
    assert any("usagectl pricing reprice" in n for n in month["notes"])
    run("pricing", "reprice", "--db", str(db_path))
    stored, report2, _ = _engine(db_path, book)
    assert stored and report2 == report
    assert _stored_column(db_path)["hand"] == PACKAGED_HAND


def test_an_import_that_cannot_price_marks_the_stored_costs_stale(tmp_path: Path, db_path: Path) -> None:
    run("import", str(write_jsonl(tmp_path / "e.jsonl", [HAND])), "--db", str(db_path))
    with connect(db_path) as con:  # a connection prepare_write did not ready
        assert stored_cost.stored_fingerprint(con) is not None
        stored_cost.price_batches(con, [1])
        assert stored_cost.stored_fingerprint(con) is None


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
