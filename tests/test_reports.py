"""`report month|daily|by model` against a small fixture whose costs are worked out by hand.

Rates (USD per 1M tokens, PRICING.md): claude-sonnet-4-5 3 / 15, cache read 0.30, 5m write
3.75, 1h write 6; over 200k total input 6 / 22.50 / 0.60. gpt-4o 2.50 / 10. gpt-4o-mini
0.15 / 0.60, batch half.

E1 2025-11-03T10:00Z sonnet-4-5: 1000 in, 10000 read, 2000 5m, 1000 1h, 500 out
   = (1000*3 + 10000*0.3 + 2000*3.75 + 1000*6 + 500*15) / 1e6 = 27000/1e6 = 0.027
E2 2025-11-03T23:30Z gpt-4o: 2000 in, 1000 out = (5000 + 10000)/1e6 = 0.015
   (in Europe/Berlin this is 2025-11-04 00:30)
E3 2025-11-05T08:00Z sonnet-4-5: 150000 in + 50001 read = 200001 > 200k, 1000 out, whole request
   at the long-context rates = (150000*6 + 50001*0.6 + 1000*22.5)/1e6 = 952500.6/1e6 = 0.9525006
E4 2025-11-05T09:00Z mistral-large-2411 (no price): 5000 in, 100 out -> unpriced
E5 2025-11-10T12:00Z gpt-4o-mini batch: 1M in, 1M out = (0.15 + 0.60) * 0.5 = 0.375
E6 2025-10-31T23:00Z gpt-4o: 1000 in = 0.0025 (October in UTC; 2025-11-01 00:00 in Berlin)
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run, run_json, write_jsonl
from usagectl.services import reports
from usagectl.services.context import make_context

EVENTS = [
    {"event_id": "E1", "ts": "2025-11-03T10:00:00Z", "model_raw": "claude-sonnet-4-5-20250929", "input_tokens": 1000,
     "cache_read_tokens": 10000, "cache_write_5m_tokens": 2000, "cache_write_1h_tokens": 1000, "output_tokens": 500,
     "member": "alice"},
    {"event_id": "E2", "ts": "2025-11-03T23:30:00Z", "model_raw": "gpt-4o", "input_tokens": 2000, "output_tokens": 1000,
     "member": "bob"},
    {"event_id": "E3", "ts": "2025-11-05T08:00:00Z", "model_raw": "anthropic/claude-sonnet-4-5", "input_tokens": 150000,
     "cache_read_tokens": 50001, "output_tokens": 1000, "member": "alice"},
    {"event_id": "E4", "ts": "2025-11-05T09:00:00Z", "model_raw": "mistral-large-2411", "provider": "mistral",
     "input_tokens": 5000, "output_tokens": 100, "member": "carol"},
    {"event_id": "E5", "ts": "2025-11-10T12:00:00Z", "model_raw": "gpt-4o-mini-2024-07-18", "service_tier": "batch",
     "input_tokens": 1000000, "output_tokens": 1000000, "member": "bob"},
    {"event_id": "E6", "ts": "2025-10-31T23:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000, "member": "bob"},
]  # fmt: skip
E1, E2, E3, E5, E6 = Decimal("0.027"), Decimal("0.015"), Decimal("0.9525006"), Decimal("0.375"), Decimal("0.0025")
NOW = datetime(2025, 11, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def loaded(tmp_path: Path, db_path: Path) -> Path:
    (tmp_path / "work" / "usagectl.toml").write_text(
        '[plan]\nmonthly_token_quota = 10000000\n\n[display]\ntimezone = "UTC"\n\n'
        '[members.alice]\nteam = "platform"\n[members.bob]\nteam = "growth"\n',
        encoding="utf-8",
    )
    run("import", str(write_jsonl(tmp_path / "fixture.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def _ov(report: reports.Report) -> dict:  # type: ignore[name-defined,type-arg]
    return {k: v for k, _, v in report.overview}


def test_month_overview_matches_hand_worked_numbers(loaded: Path) -> None:
    ctx = make_context(None, loaded)
    rep = reports.month(ctx, reports.ReportRequest(now=NOW), "2025-11")
    cost = E1 + E2 + E3 + E5
    assert rep.totals["cost_usd"] == cost == Decimal("1.3695006")
    tokens = 14500 + 3000 + 201001 + 5100 + 2000000
    assert rep.totals["total_tokens"] == tokens == 2223601
    assert rep.totals["unpriced_requests"] == 1
    assert rep.totals["unpriced_models"] == [
        {"model": "mistral-large-2411", "requests": 1, "total_tokens": 5100, "no_web_price": False}
    ]
    ov = _ov(rep)
    assert ov["quota_tokens"] == 10_000_000
    assert ov["quota_pct"] == Decimal("22.23601")  # exact 2,223,601 / 100,000: JSON 22.24, table 22.2 %
    assert ov["state"] == "in progress"
    # 14.5 days of 30 have passed at NOW: linear run rate
    assert ov["projected_cost_usd"] == cost * 30 / Decimal("14.5")
    assert ov["daily_avg_tokens"] == tokens // 15
    days = {r["date"]: r for r in rep.rows}
    assert list(days) == [date(2025, 11, d) for d in range(1, 16)]
    assert days[date(2025, 11, 3)]["cost_usd"] == E1 + E2
    assert days[date(2025, 11, 5)]["cost_usd"] == E3
    assert days[date(2025, 11, 5)]["unpriced_requests"] == 1
    assert days[date(2025, 11, 10)]["cost_usd"] == E5
    assert days[date(2025, 11, 4)]["total_tokens"] == 0
    models = {r["model"]: r for r in rep.sections[0].rows}
    assert models["claude-sonnet-4-5"]["cost_usd"] == E1 + E3
    assert models["gpt-4o"]["cost_usd"] == E2
    assert models["gpt-4o-mini"]["cost_usd"] == E5
    assert models["mistral-large-2411"]["cost_usd"] is None
    assert models["claude-sonnet-4-5"]["cost_share_pct"] == (E1 + E3) * 100 / cost  # exact: rounded once where shown
    assert "mistral-large-2411" in rep.notes[0]


def test_month_in_another_time_zone_moves_events_across_midnight(loaded: Path) -> None:
    ctx = make_context(None, loaded)
    rep = reports.month(ctx, reports.ReportRequest(now=NOW, tz="Europe/Berlin"), "2025-11")
    assert rep.totals["cost_usd"] == E1 + E2 + E3 + E5 + E6
    days = {r["date"]: r for r in rep.rows}
    assert days[date(2025, 11, 1)]["cost_usd"] == E6
    assert days[date(2025, 11, 3)]["cost_usd"] == E1
    assert days[date(2025, 11, 4)]["cost_usd"] == E2


def test_the_projection_label_gives_the_month_length_it_used(loaded: Path) -> None:
    """QA: in America/New_York, November 2025 runs from 11-01 00:00 EDT (04:00Z) to 12-01 00:00
    EST (05:00Z): 30 days + 1 hour = 721 h = 30.0417 days, which the value uses; the label said
    "× 30 days". NOW 2025-11-15 12:00Z is 14 days 8 h = 344 h = 14.33 days in. E6 (10-31 23:00Z)
    is 19:00 on Oct 31 there: not November. A month without a DST change stays "× 30 days"."""
    ctx = make_context(None, loaded)
    ov = _ov(reports.month(ctx, reports.ReportRequest(now=NOW, tz="America/New_York"), "2025-11"))
    assert ov["projection_method"] == "linear run rate: cost so far ÷ 14.33 elapsed days × 30.04 days"
    assert ov["projected_cost_usd"] == (E1 + E2 + E3 + E5) * 721 / 344
    # UTC: 14.5 days of 30 (as in test_month_overview_matches_hand_worked_numbers)
    ov = _ov(reports.month(ctx, reports.ReportRequest(now=NOW, tz="UTC"), "2025-11"))
    assert ov["projection_method"] == "linear run rate: cost so far ÷ 14.50 elapsed days × 30 days"


def test_past_month_is_complete_and_projection_is_actual(loaded: Path) -> None:
    ctx = make_context(None, loaded)
    rep = reports.month(ctx, reports.ReportRequest(now=datetime(2026, 1, 2, tzinfo=UTC)), "2025-11")
    ov = _ov(rep)
    assert ov["state"] == "complete"
    assert ov["projected_cost_usd"] == rep.totals["cost_usd"]
    assert len(rep.rows) == 30


@pytest.mark.parametrize("now", [datetime(2025, 11, 15, 12, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)])
def test_a_month_of_only_unpriced_usage_has_no_average_nor_projected_cost(loaded: Path, now: datetime) -> None:
    """Filtered to the one unpriced model (mistral-large-2411: 1 request, 5,100 tokens on Nov 5),
    the cost is unknown: its daily average and projection are too, never $0.00 (QA finding)."""
    from usagectl.render.table import render_table

    ctx = make_context(None, loaded)
    rep = reports.month(ctx, reports.ReportRequest(now=now, where={"model": ("mistral-large-2411",)}), "2025-11")
    ov = _ov(rep)
    assert rep.totals["cost_usd"] is None and rep.totals["total_tokens"] == 5100
    assert ov["daily_avg_cost_usd"] is None and ov["projected_cost_usd"] is None
    # the tokens still project: 5,100 over 14.5 of 30 days in progress; as they are when complete
    assert ov["projected_tokens"] == (int(Decimal(5100) * 30 / Decimal("14.5")) if now.month == 11 else 5100)
    assert ov["projection_method"].endswith("no cost to project: every request of the period is unpriced")
    out = io.StringIO()
    render_table(rep, out, width=120)
    lines = out.getvalue().splitlines()
    assert "unpriced" in next(x for x in lines if "Daily average cost" in x)  # (days without usage: $0.00)
    projected = next(x for x in lines if "Projected month-end cost" in x)
    assert "$0.00" not in projected and "–" in projected


def test_events_dated_after_today_are_listed_so_the_rows_add_up(tmp_path: Path, db_path: Path) -> None:
    """NOW is 2025-11-15 12:00Z; an event on Nov 29 (a clock ahead) is in the month's totals, so its
    day is listed too (the rows stopped at today: 1,000,000 in the rows, 6,000,000 in the Total),
    and a note says so (QA finding)."""
    events = [
        {"event_id": "p1", "ts": "2025-11-10T12:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 1_000_000},
        {"event_id": "p2", "ts": "2025-11-29T12:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 5_000_000},
    ]
    run("import", str(write_jsonl(tmp_path / "f.jsonl", events)), "--db", str(db_path))
    rep = reports.month(make_context(None, db_path), reports.ReportRequest(now=NOW, tz="UTC"), "2025-11")
    assert [r["date"] for r in rep.rows] == [date(2025, 11, d) for d in range(1, 30)]  # through Nov 29
    assert sum(r["total_tokens"] for r in rep.rows) == rep.totals["total_tokens"] == 6_000_000
    assert any(
        n.startswith("1 request (5,000,000 tokens, $0.75) dated after now (2025-11-29) is in the totals")
        for n in rep.notes
    )
    # a month with no such events still ends its rows today
    plain = reports.month(make_context(None, db_path), reports.ReportRequest(now=NOW, tz="UTC",
                                                                            until="2025-11-20"))  # fmt: skip
    assert plain.rows[-1]["date"] == date(2025, 11, 15) and not any("after now" in n for n in plain.notes)
    assert "after_now_tokens" not in _ov(plain)


def test_usage_dated_after_now_is_used_but_not_extrapolated(tmp_path: Path, db_path: Path) -> None:
    """QA: usage dated after now (a clock ahead) was in "used" and also in the daily average and
    the run rate. It is used (quota %), but the averages and the run rate take only the usage up
    to now, and the projection adds the later usage as it is. gpt-4o-mini input $0.15 / 1M.
    NOW 2025-11-15 12:00Z: p1 11-10 1,000,000 tokens = $0.15; p2 11-29 5,000,000 = $0.75 (after
    now); p3 11-15 18:00Z (today, but after now) 1,000 = $0.00015.
    used 6,001,000 of the 10,000,000 quota = 60.01 %; after now 5,001,000 tokens, $0.75015;
    daily average over the 15 days to today of the 1,000,000 up to now: 66,666 tokens, $0.01;
    projection: 14.5 of 30 days elapsed: int(1,000,000 x 30 / 14.5) = int(2,068,965.5) =
    2,068,965 + 5,001,000 = 7,069,965 tokens (70.69965 %); $0.15 x 30 / 14.5 + $0.75015 =
    0.3103448... + 0.75015 = $1.0604948..."""
    events = [
        {"event_id": "p1", "ts": "2025-11-10T12:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 1_000_000},
        {"event_id": "p2", "ts": "2025-11-29T12:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 5_000_000},
        {"event_id": "p3", "ts": "2025-11-15T18:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 1_000},
    ]
    run("import", str(write_jsonl(tmp_path / "f.jsonl", events)), "--db", str(db_path))
    (tmp_path / "work" / "usagectl.toml").write_text("[plan]\nmonthly_token_quota = 10000000\n", encoding="utf-8")
    rep = reports.month(make_context(None, db_path), reports.ReportRequest(now=NOW, tz="UTC"), "2025-11")
    ov = _ov(rep)
    assert (ov["used_tokens"], ov["quota_pct"], ov["after_now_tokens"]) == (6_001_000, Decimal("60.01"), 5_001_000)
    assert (ov["daily_avg_tokens"], ov["daily_avg_cost_usd"]) == (66_666, Decimal("0.01"))
    assert ov["projected_tokens"] == 7_069_965 and ov["projected_quota_pct"] == Decimal("70.69965")
    assert abs(ov["projected_cost_usd"] - (Decimal("0.15") * 30 / Decimal("14.5") + Decimal("0.75015"))) < Decimal(
        "1e-12"
    )
    assert ov["projection_method"].endswith("× 30 days, plus the usage dated after now as it is")
    assert any(n.startswith("2 requests (5,001,000 tokens, $0.75) dated after now (2025-11-15 – 2025-11-29) are in")
               for n in rep.notes)  # fmt: skip


def test_a_since_alone_runs_to_today_in_month_views(loaded: Path) -> None:
    """`report month --since 30d` and `cost --since 30d` ran to the end of the month (34 days on
    Nov 26), while every other report ends a --since alone today (QA finding). NOW is
    2025-11-15: --since 2025-11-01 covers 11-01 .. 11-15; an --until alone starts on the first of
    its month."""
    from usagectl.services import costs

    ctx = make_context(None, loaded)
    rep = reports.month(ctx, reports.ReportRequest(now=NOW, since="2025-11-01"))
    assert (rep.filters["since"], rep.filters["until"]) == ("2025-11-01", "2025-11-15")
    only_until = reports.month(ctx, reports.ReportRequest(now=NOW, until="2025-10-20"))
    assert (only_until.filters["since"], only_until.filters["until"]) == ("2025-10-01", "2025-10-20")
    flt, label = costs._range(ctx, reports.ReportRequest(now=NOW, since="2025-11-01"), None)
    assert (flt.since, flt.until, label) == (date(2025, 11, 1), date(2025, 11, 15), None)
    flt, label = costs._range(ctx, reports.ReportRequest(now=NOW), None)  # no range: the whole month
    assert (flt.since, flt.until, label) == (date(2025, 11, 1), date(2025, 11, 30), "2025-11")


def test_the_unpriced_note_names_models_as_the_rows_do(tmp_path: Path, db_path: Path) -> None:
    """Events that carry their model (mistral-large-2411) beside another logged spelling
    (mistral/mistral-large-2411): the row said 3 unpriced requests and the note "mistral/...
    (2 requests), mistral-large-2411 (1 request)" (QA finding; the demo shows it). The note and
    `unpriced_models` now use the row's name; `pricing check` still lists the logged spellings."""
    events = [
        {"event_id": f"v{i}", "ts": "2026-11-10T10:00:00Z", "provider": "mistral", "model": "mistral-large-2411",
         "model_raw": raw, "input_tokens": n, "output_tokens": n // 10}
        for i, (raw, n) in enumerate([("mistral-large-2411", 1000), ("mistral/mistral-large-2411", 2000),
                                      ("mistral/mistral-large-2411", 3000)])
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "m.jsonl", events)), "--db", str(db_path))
    out = run_json("report", "by", "model", "--since", "2026-11-01", "--until", "2026-11-30", "--tz", "UTC",
                   "--db", str(db_path))  # fmt: skip
    # 1,100 + 2,200 + 3,300 = 6,600 tokens over the 3 requests
    assert [(r["model"], r["unpriced_requests"]) for r in out["rows"]] == [("mistral-large-2411", 3)]
    assert out["totals"]["unpriced_models"] == [
        {"model": "mistral-large-2411", "requests": 3, "total_tokens": 6600, "no_web_price": False}
    ]
    assert any("mistral-large-2411 (3 requests, 6,600 tokens)" in n for n in out["notes"])
    logged = run_json("pricing", "check", "--db", str(db_path))["rows"]
    assert sorted((r["model"], r["requests"]) for r in logged) == [
        ("mistral-large-2411", 1), ("mistral/mistral-large-2411", 2)]  # fmt: skip


def test_month_not_started_has_no_projection_rather_than_unpriced(loaded: Path) -> None:
    from usagectl.render.table import render_table

    ctx = make_context(None, loaded)
    rep = reports.month(ctx, reports.ReportRequest(now=datetime(2025, 10, 15, tzinfo=UTC)), "2025-11")
    ov = _ov(rep)
    assert ov["state"] == "future" and ov["projected_cost_usd"] is None  # JSON null, as before
    assert ov["projection_method"] == "period has not started"
    out = io.StringIO()
    render_table(rep, out, width=120)
    line = next(x for x in out.getvalue().splitlines() if "Projected month-end cost" in x)
    assert "unpriced" not in line and "–" in line  # unpriced means unknown models, not "no projection"
    assert "period has not started" in out.getvalue()


def test_month_json_contract(loaded: Path) -> None:
    out = run_json("report", "month", "--month", "2025-11", "--db", str(loaded))
    assert out["report"] == "month"
    assert set(out) >= {"report", "filters", "rows", "totals", "overview", "models"}
    row = next(r for r in out["rows"] if r["date"] == "2025-11-03")
    for key in ("requests", "input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
                "output_tokens", "reasoning_tokens", "total_tokens", "unpriced_requests"):  # fmt: skip
        assert isinstance(row[key], int), key
    assert row["cost_usd"] == 0.042
    assert out["totals"]["cost_usd"] == 1.369501  # 1.3695006 rounded to 6 places
    assert out["filters"]["month"] == "2025-11"


def test_daily_and_by_model_with_filters(loaded: Path) -> None:
    daily = run_json("report", "daily", "--since", "2025-11-03", "--until", "20251105", "--db", str(loaded))
    assert [r["date"] for r in daily["rows"]] == ["2025-11-03", "2025-11-04", "2025-11-05"]
    assert daily["totals"]["cost_usd"] == 0.994501  # 0.9945006 rounded to 6 places
    by_model = run_json("report", "by", "model", "--since", "2025-11-01", "--until", "2025-11-30", "--db", str(loaded))
    assert [r["model"] for r in by_model["rows"]] == [
        "claude-sonnet-4-5",
        "gpt-4o-mini",
        "gpt-4o",
        "mistral-large-2411",
    ]
    only = run_json("report", "by", "model", "--since", "2025-11-01", "--until", "2025-11-30",
                    "--model", "claude-sonnet-4.5", "--db", str(loaded))  # fmt: skip
    assert [r["model"] for r in only["rows"]] == ["claude-sonnet-4-5"]
    assert only["totals"]["requests"] == 2
    team = run_json("report", "daily", "--since", "2025-11-01", "--until", "2025-11-30", "--team", "growth",
                    "--db", str(loaded))  # fmt: skip
    assert team["totals"]["cost_usd"] == float(E2 + E5)


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_every_format_renders(loaded: Path, fmt: str) -> None:
    out = run("report", "month", "--month", "2025-11", "--format", fmt, "--db", str(loaded)).stdout
    assert "2025-11-03" in out


def test_csv_has_exact_money(loaded: Path) -> None:
    out = run("report", "daily", "--since", "2025-11-05", "--until", "2025-11-05", "--format", "csv",
              "--db", str(loaded)).stdout  # fmt: skip
    header, row = out.strip().splitlines()[:2]
    cells = dict(zip(header.split(","), row.split(","), strict=True))
    assert cells["cost_usd"] == "0.952501"
    assert cells["total_tokens"] == "206101"  # 201001 + 5100


def test_bad_options_are_usage_errors(loaded: Path) -> None:
    assert "not a month" in run("report", "month", "--month", "2025-13", "--db", str(loaded), expect=2).stderr
    assert "unknown time zone" in run("report", "daily", "--tz", "Mars/Base", "--db", str(loaded), expect=2).stderr
    assert "not a date" in run("report", "daily", "--since", "soon", "--db", str(loaded), expect=2).stderr


BAND_ARGS = ("--since", "2025-11-01", "--until", "2025-11-30", "--tz", "UTC")
BAND_REPORTS = [("report", "by", "model"), ("report", "daily"), ("report", "weekly"), ("report", "monthly"),
                ("report", "month"), ("cost",)]  # fmt: skip


def _band_notes(db: Path) -> list[list[str]]:
    return [[n for n in run_json(*cmd, *BAND_ARGS, "--db", str(db)).get("notes", []) if "Long-context band" in n]
            for cmd in BAND_REPORTS]  # fmt: skip


def test_buckets_priced_on_the_base_band_get_one_note(loaded: Path, tmp_path: Path) -> None:
    """The fixture's E3 is ONE request over 200k (priced at the long-context rates, decided): no
    note. Then: B1, a provider bucket of 5 sonnet-4-5 requests with 1.5M input + 0.5M cache read
    (2M > 200k in all: some request may have passed the threshold) and 60k output, priced on the
    base band = 1.5 x 3 + 0.5 x 0.30 + 0.06 x 15 = 4.50 + 0.15 + 0.90 = $5.55 (at the long-context
    rates it could be up to 1.5 x 6 + 0.5 x 0.6 + 0.06 x 22.5 = $10.65). B2, a bucket of 4 sonnet-4-5
    requests with 100k input in all (no request can pass 200k: exact), and B3, a gpt-4o bucket
    of 3 requests with 1M input (gpt-4o has no long-context band), add nothing to the note."""
    assert _band_notes(loaded) == [[]] * len(BAND_REPORTS)
    buckets = [
        {"event_id": "B1", "ts": "2025-11-08T15:00:00Z", "model_raw": "claude-sonnet-4-5", "requests": 5,
         "input_tokens": 1_500_000, "cache_read_tokens": 500_000, "output_tokens": 60_000},
        {"event_id": "B2", "ts": "2025-11-08T16:00:00Z", "model_raw": "claude-sonnet-4-5", "requests": 4,
         "input_tokens": 100_000, "output_tokens": 1000},
        {"event_id": "B3", "ts": "2025-11-08T17:00:00Z", "model_raw": "gpt-4o", "requests": 3,
         "input_tokens": 1_000_000},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "b.jsonl", buckets)), "--db", str(loaded))
    day = run_json("report", "daily", "--since", "2025-11-08", "--until", "2025-11-08", "--tz", "UTC",
                   "--db", str(loaded))  # fmt: skip
    # B1 5.55 + B2 (100,000 x 3 + 1,000 x 15) / 1e6 = 0.315 + B3 1M x 2.50 / 1e6 = 2.50
    assert day["rows"][0]["cost_usd"] == 8.365
    for notes in _band_notes(loaded):
        assert notes == [
            "Long-context band undecided for provider buckets (rows of many requests) whose input passes the "
            "model's long-context threshold: claude-sonnet-4-5 (5 requests in 1 bucket row). The band cannot be "
            "decided per request in a bucket, so their cost assumes the base band and may be low."
        ]
    text = run("report", "by", "model", *BAND_ARGS, "--db", str(loaded)).stdout
    assert "may be low" in " ".join(text.split())
    outside = run_json("report", "by", "model", "--since", "2025-11-01", "--until", "2025-11-07", "--tz", "UTC",
                       "--db", str(loaded))  # fmt: skip
    assert not any("Long-context band" in n for n in outside.get("notes", []))  # B1 is not in this range
    gpt_only = run_json("report", "by", "model", *BAND_ARGS, "--model", "gpt-4o", "--db", str(loaded))
    assert not any("Long-context band" in n for n in gpt_only.get("notes", []))  # filters apply


def test_an_anthropic_bucket_of_the_0_200k_window_is_decided(tmp_path: Path, db_path: Path) -> None:
    """An Anthropic usage row says which context window its requests were in. One of "0-200k"
    with 1.5M input in all holds no request over 200k: its base-band cost is exact, no note. The
    same row without the dimension (a page not grouped by context_window) may hold such a request."""

    def page(results_extra: dict[str, Any]) -> dict[str, Any]:
        result = {"uncached_input_tokens": 1_500_000, "cache_read_input_tokens": 0, "output_tokens": 10_000,
                  "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                  "server_tool_use": {"web_search_requests": 0}, "model": "claude-sonnet-4-5-20250929",
                  "service_tier": "standard", "workspace_id": None, "api_key_id": None} | results_extra  # fmt: skip
        return {"data": [{"starting_at": "2025-11-08T00:00:00Z", "ending_at": "2025-11-09T00:00:00Z",
                          "results": [result]}], "has_more": False, "next_page": None}  # fmt: skip

    for name, extra, noted in (("window", {"context_window": "0-200k"}, False), ("plain", {}, True)):
        db = tmp_path / f"{name}.duckdb"
        (tmp_path / f"{name}.json").write_text(json.dumps(page(extra)), encoding="utf-8")
        run("import", str(tmp_path / f"{name}.json"), "--format", "anthropic-usage", "--db", str(db))
        doc = run_json("report", "by", "model", *BAND_ARGS, "--db", str(db))
        assert doc["totals"]["cost_usd"] == 4.65  # 1.5M x $3 + 10k x $15 = 4.50 + 0.15
        assert any("Long-context band" in n for n in doc.get("notes", [])) is noted, name


UNPRICED_NOTE = "Unpriced: 4 requests / 52,200 tokens have no price"


def _unpriced_note(doc: dict[str, Any]) -> str:
    return next(n for n in doc["notes"] if n.startswith("Unpriced:"))


def test_every_report_counts_an_unpriced_bucket_as_one_request(tmp_path: Path, db_path: Path) -> None:
    """README: a provider bucket whose request count is not reported counts as one unpriced
    request; the note under each report says what its totals say. December 2025 (UTC):

    B1 12-10 claude-mystery-9 Anthropic usage bucket (no request count, stored as 0),
       50,000 in + 1,000 out = 51,000 tokens: unpriced, 1 request
    B2 12-10 claude-haiku-4-5 bucket, 1,000,000 in x $1/M = $1.00
    M1 12-11 mystery-model event, requests 3, 1,000 in + 200 out = 1,200 tokens: unpriced, 3

    unpriced_requests 1 + 3 = 4, unpriced_tokens 51,000 + 1,200 = 52,200, requests 0 + 0 + 3 = 3,
    cost $1.00. (QA: the notes said "Unpriced: 3 requests", the raw 0 + 3, beside totals of 4;
    the invoice's totals said 3 too.)"""
    from tests.test_cost_detail import _bucket

    page = {"data": [_bucket("2025-12-10", "claude-mystery-9", 50_000, 1_000),
                     _bucket("2025-12-10", "claude-haiku-4-5-20251001", 1_000_000, 0)],
            "has_more": False, "next_page": None}  # fmt: skip
    (tmp_path / "u.json").write_text(json.dumps(page), encoding="utf-8")
    event = {"event_id": "M1", "ts": "2025-12-11T10:00:00Z", "model_raw": "mystery-model", "requests": 3,
             "input_tokens": 1_000, "output_tokens": 200}  # fmt: skip
    run("import", str(tmp_path / "u.json"), str(write_jsonl(tmp_path / "m.jsonl", [event])), "--db", str(db_path))
    dec = ("--tz", "UTC", "--db", str(db_path))
    docs = {
        "daily": run_json("report", "daily", "--since", "2025-12-01", "--until", "2025-12-31", *dec),
        "month": run_json("report", "month", "--month", "2025-12", *dec),
        "cost": run_json("cost", "--month", "2025-12", *dec),
        "invoice": run_json("invoice", "--month", "2025-12", *dec),
        "reconcile": run_json("reconcile", "--since", "2025-12-01", "--until", "2025-12-31", *dec),
    }
    for name, doc in docs.items():
        t = doc["totals"]
        assert (t["unpriced_requests"], t["unpriced_tokens"]) == (4, 52_200), name
        note = _unpriced_note(doc)
        assert note.startswith(UNPRICED_NOTE), (name, note)
        assert "claude-mystery-9 (request count not reported, 51,000 tokens)" in note, name
        assert "mystery-model (3 requests, 1,200 tokens)" in note, name
    for name in ("daily", "month", "cost"):
        assert (docs[name]["totals"]["requests"], docs[name]["totals"]["cost_usd"]) == (3, 1), name
    assert docs["invoice"]["totals"]["subtotal_usd"] == 1
    # the table shows the same note as the JSON
    assert UNPRICED_NOTE in " ".join(run("report", "daily", "--since", "2025-12-01", "--until", "2025-12-31",
                                         *dec).stdout.split())  # fmt: skip


def test_the_month_note_counts_buckets_of_several_days(tmp_path: Path, db_path: Path) -> None:
    """`report month` gives its note the count of its totals: two claude-mystery-9 buckets (no
    request count) on 12-10 and 12-11, 50,000 in + 1,000 out = 51,000 tokens each, are 1 + 1 = 2
    unpriced requests and 102,000 tokens; counted per model name they would be one."""
    from tests.test_cost_detail import _bucket

    page = {"data": [_bucket("2025-12-10", "claude-mystery-9", 50_000, 1_000),
                     _bucket("2025-12-11", "claude-mystery-9", 50_000, 1_000)],
            "has_more": False, "next_page": None}  # fmt: skip
    (tmp_path / "u.json").write_text(json.dumps(page), encoding="utf-8")
    run("import", str(tmp_path / "u.json"), "--db", str(db_path))
    doc = run_json("report", "month", "--month", "2025-12", "--tz", "UTC", "--db", str(db_path))
    assert doc["totals"]["unpriced_requests"] == 2
    assert _unpriced_note(doc).startswith("Unpriced: 2 requests / 102,000 tokens have no price")


def test_the_unpriced_note_counts_as_the_totals_do() -> None:
    """``_unpriced_notes`` without the totals' count: a model row without a request count
    (requests 0) is one request, a row that carries the engine's count (``unpriced_requests``)
    gives it. Rows: claude-mystery-9 0 requests -> 1; mystery-model 3 -> 3; gpt-x with 0
    requests but ``unpriced_requests`` 2 (two buckets in two groups) -> 2: 1 + 3 + 2 = 6 requests,
    10 + 20 + 30 = 60 tokens. With ``requests=7`` the header says 7."""
    rows = [
        {"model_raw": "claude-mystery-9", "requests": 0, "total_tokens": 10},
        {"model_raw": "mystery-model", "requests": 3, "total_tokens": 20},
        {"model_raw": "gpt-x", "requests": 0, "total_tokens": 30, "unpriced_requests": 2},
    ]
    (note,) = reports._unpriced_notes(rows)
    assert note.startswith("Unpriced: 6 requests / 60 tokens have no price")
    assert "claude-mystery-9 (request count not reported, 10 tokens)" in note
    (given,) = reports._unpriced_notes(rows, requests=7)
    assert given.startswith("Unpriced: 7 requests / 60 tokens")
    assert reports._unpriced_notes([]) == ()


def _hour_bucket(day: str, hour: int, model: str, uncached: int, output: int) -> dict[str, Any]:
    """An Anthropic usage-report page's hourly bucket of one model (no request count)."""
    from tests.test_cost_detail import _bucket

    hours = {"starting_at": f"{day}T{hour:02d}:00:00Z", "ending_at": f"{day}T{hour:02d}:59:59Z"}
    return _bucket(day, model, uncached, output) | hours


def test_unpriced_buckets_count_one_request_each_whatever_the_report_groups_by(tmp_path: Path, db_path: Path) -> None:
    """README: a provider bucket whose request count is not reported counts as one unpriced
    request, each of them, in every report (the grouped engine took ``greatest(requests, 1)`` of
    a group's summed requests: 24 buckets of a day were 1, a bucket beside a counted event 0).

    12-10 24 hourly Anthropic buckets of claude-mystery-9 (unknown), 1,000 in + 100 out each:
          24 unpriced requests, 24 x 1,100 = 26,400 tokens
    12-11 its hourly bucket at 09:00, 1,000 in + 100 out: 1 request, 1,100 tokens
          M1 10:00 claude-mystery-9 (provider anthropic), requests 3, 2,000 in: 3 requests, 2,000 tokens
          a claude-haiku-4-5 bucket at 09:00, 1,000,000 in x $1/M = $1.00
          P1 11:00 gpt-4o, 1 request, 1,000,000 in x $2.50/M = $2.50
    unpriced_requests 12-10 24, 12-11 1 + 3 = 4, total 28; unpriced tokens 26,400 + 1,100 +
    2,000 = 29,500; requests 0 + 0 + 3 + 0 + 1 = 4; cost $1.00 + $2.50 = $3.50 (12-11)."""
    page = {"data": [*(_hour_bucket("2025-12-10", h, "claude-mystery-9", 1_000, 100) for h in range(24)),
                     _hour_bucket("2025-12-11", 9, "claude-mystery-9", 1_000, 100),
                     _hour_bucket("2025-12-11", 9, "claude-haiku-4-5-20251001", 1_000_000, 0)],
            "has_more": False, "next_page": None}  # fmt: skip
    (tmp_path / "u.json").write_text(json.dumps(page), encoding="utf-8")
    events = [
        {"event_id": "M1", "ts": "2025-12-11T10:00:00Z", "model_raw": "claude-mystery-9", "provider": "anthropic",
         "requests": 3, "input_tokens": 2_000},
        {"event_id": "P1", "ts": "2025-12-11T11:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1_000_000},
    ]  # fmt: skip
    run("import", str(tmp_path / "u.json"), str(write_jsonl(tmp_path / "m.jsonl", events)), "--db", str(db_path))
    dec = ("--tz", "UTC", "--db", str(db_path))
    days = ("--since", "2025-12-10", "--until", "2025-12-11")
    docs = {
        "daily": run_json("report", "daily", *days, *dec),
        "by model": run_json("report", "by", "model", *days, *dec),
        "month": run_json("report", "month", "--month", "2025-12", *dec),
        "platforms": run_json("report", "platforms", *days, *dec),
    }
    for name, doc in docs.items():
        t = doc["totals"]
        got = (t["unpriced_requests"], t["unpriced_tokens"], t["requests"], t["cost_usd"])
        assert got == (28, 29_500, 4, 3.5), name
        assert _unpriced_note(doc).startswith("Unpriced: 28 requests / 29,500 tokens have no price"), name
    for name in ("daily", "month"):
        per_day = {r["date"]: (r["unpriced_requests"], r["cost_usd"]) for r in docs[name]["rows"]}
        assert (per_day["2025-12-10"], per_day["2025-12-11"]) == ((24, None), (4, 3.5)), name
    by_model = {r["model"]: (r["unpriced_requests"], r["cost_usd"]) for r in docs["by model"]["rows"]}
    assert by_model == {"claude-mystery-9": (28, None), "claude-haiku-4-5": (0, 1), "gpt-4o": (0, 2.5)}
    assert [(r["platform"], r["unpriced_requests"]) for r in docs["platforms"]["rows"]] == [("(none)", 28)]
    table = " ".join(run("report", "by", "model", *days, *dec).stdout.split())
    assert "Unpriced: 28 requests / 29,500 tokens have no price" in table
    # the model's part says what makes its 28: M1's 3 requests and the 25 buckets without a count
    assert "claude-mystery-9 (3 requests and 25 buckets without a request count, 29,500 tokens)" in table


def test_unpriced_models_count_requests_as_unpriced_requests_does(tmp_path: Path, db_path: Path) -> None:
    """QA: totals.unpriced_requests 6 beside unpriced_models mystery-model 4 and other-unknown 0
    (the raw sums), where README's example has them equal. November 2026 (UTC), none priced:

    u1 mystery-model, requests 0 (a bucket: one request), 1,000 in
    u2 mystery-model, requests 3, 2,000 in
    u3 mystery-model, 1 request, 500 in
    u5 other-unknown, requests 0 (a bucket: one request), 700 in

    mystery-model 1 + 3 + 1 = 5 requests, 3,500 tokens; other-unknown 1, 700; in all 6. Every
    report that lists unpriced_models counts so, whatever it groups by."""
    events = [
        {"event_id": "u1", "ts": "2026-11-03T10:00:00Z", "model_raw": "mystery-model", "input_tokens": 1000,
         "requests": 0},
        {"event_id": "u2", "ts": "2026-11-03T11:00:00Z", "model_raw": "mystery-model", "input_tokens": 2000,
         "requests": 3},
        {"event_id": "u3", "ts": "2026-11-03T12:00:00Z", "model_raw": "mystery-model", "input_tokens": 500},
        {"event_id": "u5", "ts": "2026-11-03T12:06:00Z", "model_raw": "other-unknown", "input_tokens": 700,
         "requests": 0},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "u.jsonl", events)), "--db", str(db_path))
    rng = ("--since", "2026-11-01", "--until", "2026-11-30", "--tz", "UTC", "--db", str(db_path))
    want = [("mystery-model", 5, 3500), ("other-unknown", 1, 700)]
    for command in (("report", "by", "model"), ("report", "by", "member"), ("report", "daily"),
                    ("report", "month"), ("report", "team"), ("cost",)):  # fmt: skip
        t = run_json(*command, *rng)["totals"]
        assert t["unpriced_requests"] == 6, command
        assert [(u["model"], u["requests"], u["total_tokens"]) for u in t["unpriced_models"]] == want, command
    t = run_json("invoice", "--month", "2026-11", "--tz", "UTC", "--db", str(db_path))["totals"]
    assert t["unpriced_requests"] == 6
    assert [(u["model"], u["requests"], u["total_tokens"]) for u in t["unpriced_models"]] == want


def test_csv_puts_the_notes_on_stderr(loaded: Path) -> None:
    """A CSV has no place for notes, and `--format csv` lost them (QA: the unpriced note was
    nowhere): they go to stderr, one a line, as `export --csv` prints them; stdout stays CSV.
    E4 is the one unpriced event: 1 request of 5,000 in + 100 out = 5,100 tokens."""
    args = ("report", "by", "model", "--since", "2025-11-01", "--until", "2025-11-30", "--db", str(loaded))
    result = run(*args, "--format", "csv")
    unpriced = (
        "note: Unpriced: 1 request / 5,100 tokens have no price and are NOT in the cost: "
        "mistral-large-2411 (1 request, 5,100 tokens). See `usagectl pricing check`."
    )
    assert unpriced in result.stderr.splitlines()
    assert result.stderr.splitlines() == [f"note: {n}" for n in run_json(*args)["notes"]]  # every note, once
    assert "note:" not in result.stdout and "Unpriced" not in result.stdout


def test_csv_of_db_rejects_says_the_list_is_cut(tmp_path: Path, db_path: Path) -> None:
    """Two bad lines after one event (records 2 and 3 rejected); --limit 1 lists one of the two."""
    run("import", str(write_jsonl(tmp_path / "e.jsonl", [EVENTS[0], '{"oops', "nope"])), "--db", str(db_path))
    result = run("db", "rejects", "--limit", "1", "--format", "csv", "--db", str(db_path))
    assert result.stderr == "note: Showing the newest 1 of 2 rejected records (`--limit 0` lists all).\n"
    assert len(result.stdout.strip().splitlines()) == 2  # the header and one record


def test_reports_of_this_month_hold_its_usage_dated_after_now(tmp_path: Path, db_path: Path) -> None:
    """QA: ``report by model``, ``report team``, ``report chats`` and ``export --focus`` ended
    at today while ``report month`` and ``cost`` covered the whole month, so usage dated after now
    (a clock ahead) was in one total and not the other, without a note. gpt-4o-mini input
    $0.15/M, NOW 2025-11-15 12:00Z: a 11-10 1,000,000 tokens $0.15, b 11-29 (after now)
    1,000,000 tokens $0.15: every one of them $0.30 over 2 requests, as ``report month``. With a
    --since given the range still ends today: $0.15."""
    from usagectl.services import breakdowns, chats, focus, team

    events = [
        {"event_id": "a", "ts": "2025-11-10T12:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 1_000_000,
         "member": "alice", "session_id": "s1"},
        {"event_id": "b", "ts": "2025-11-29T12:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 1_000_000,
         "member": "alice", "session_id": "s1"},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "f.jsonl", events)), "--db", str(db_path))
    ctx = make_context(None, db_path)
    req = reports.ReportRequest(now=NOW, tz="UTC")
    month = reports.month(ctx, req)
    assert (month.totals["requests"], month.totals["cost_usd"]) == (2, Decimal("0.30"))
    by_model = breakdowns.breakdown(ctx, req, ["model"])
    assert (by_model.totals["requests"], by_model.totals["cost_usd"]) == (2, Decimal("0.30"))
    assert by_model.filters["until"] == "2025-11-30"
    assert team.team(ctx, req).totals["cost_usd"] == Decimal("0.30")
    assert chats.report_chats(ctx, req).totals["cost_usd"] == Decimal("0.30")
    billed = focus.focus_export(ctx, req)
    assert sum(Decimal(str(r["BilledCost"])) for r in billed.rows) == Decimal("0.30")
    since = reports.ReportRequest(now=NOW, tz="UTC", since="2025-11-01")
    assert breakdowns.breakdown(ctx, since, ["model"]).totals["cost_usd"] == Decimal("0.15")
    # FOCUS is exported as events are: a --since alone runs to the last stored event (11-29)
    assert sum(Decimal(str(r["BilledCost"])) for r in focus.focus_export(ctx, since).rows) == Decimal("0.30")
    # without a range in another zone a FOCUS export covers every event: no "partial day" note
    berlin = focus.focus_export(ctx, reports.ReportRequest(now=NOW, tz="Europe/Berlin"))
    assert not any("may be partial" in n for n in berlin.notes)
