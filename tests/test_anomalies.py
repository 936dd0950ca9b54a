"""`usagectl anomalies` on a fixture worked out by hand, in Asia/Tokyo (UTC+9).

alice: gpt-4o, 400,000 input tokens ($1.00) every day 2025-09-01 – 11-09 at 01:00Z = 10:00
Tokyo (same date). Checked: 11-03 – 11-09; baseline the 8 weeks before.

* 11-05: bob adds 1,600,000 tokens ($4.00) at 02:00Z: total $5.00. Expected = median of the same
  weekday = $1.00; residuals are all 0, so sigma = the floor 0.1 × $1.00 = $0.10;
  z = (5 − 1) / 0.1 = 40 (high); expected range 1 ± 3.5 × 0.10 = $0.65 – $1.35. Excess: member
  bob +$4.00 (no history: expected 0), model gpt-4o +$4.00.
* 11-07 18:30Z = 03:30 on 11-08 in Tokyo: alice, 4,000 tokens ($0.01): she was only ever active
  at 10:00 (7 h away ≥ 3): off-hours on 11-08. $0.01 is under the $1 floor: no spike.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run, run_json, write_jsonl
from usagectl.services.anomalies import _z_text, detect, off_hours, severity, usual_hours

ARGS = ("--since", "2025-11-03", "--until", "2025-11-09", "--tz", "Asia/Tokyo")


@pytest.fixture(autouse=True)
def _wired() -> None:
    from usagectl.cli import app, insights

    if not any(c.name == "anomalies" for c in app.registered_commands):
        insights.register(app)


def events() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    d = date(2025, 9, 1)
    while d <= date(2025, 11, 9):
        out.append({"event_id": f"a{d}", "ts": f"{d}T01:00:00Z", "model_raw": "gpt-4o", "input_tokens": 400_000,
                    "member": "alice"})  # fmt: skip
        d += timedelta(days=1)
    out.append({"event_id": "bob", "ts": "2025-11-05T02:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1_600_000,
                "member": "bob"})  # fmt: skip
    out.append({"event_id": "night", "ts": "2025-11-07T18:30:00Z", "model_raw": "gpt-4o", "input_tokens": 4_000,
                "member": "alice"})  # fmt: skip
    return out


@pytest.fixture
def loaded(tmp_path: Path, db_path: Path) -> Path:
    run("import", str(write_jsonl(tmp_path / "ev.jsonl", events())), "--db", str(db_path))
    return db_path


def test_spike_with_attribution_and_off_hours(loaded: Path) -> None:
    out = run_json("anomalies", *ARGS, "--db", str(loaded))
    rows = out["rows"]
    assert [(r["day"], r["series"], r["kind"]) for r in rows] == [
        ("2025-11-05", "total", "spike"),
        ("2025-11-08", "member:alice", "off-hours"),
    ]
    spike = rows[0]
    assert spike["severity"] == "high"
    assert Decimal(str(spike["value"])) == Decimal("5")
    assert Decimal(str(spike["expected"])) == Decimal("1")
    assert Decimal(str(spike["expected_low"])) == Decimal("0.65")
    assert Decimal(str(spike["expected_high"])) == Decimal("1.35")
    assert "member bob +$4.00" in spike["detail"] and "model gpt-4o +$4.00" in spike["detail"]
    assert "at 03:00" in rows[1]["detail"]
    assert out["totals"]["spike"] == 1 and out["totals"]["off-hours"] == 1
    assert out["model_switch"] == []


def test_table_at_80_columns_gives_the_detail_room(loaded: Path) -> None:
    """At the CLI's 80 columns the expected range is left out (and named) so that the detail
    reads as lines of words, not a column of a dozen characters; the off-hours detail counts
    its one request in the singular."""
    table = run("anomalies", *ARGS, "--db", str(loaded)).stdout
    header = next(line for line in table.splitlines() if line.startswith("Day"))
    assert header.split() == ["Day", "Series", "Kind", "Severity", "Value", "Detail"]
    flat = " ".join(table.split())
    assert "not shown at this width: Expected from, Expected to (a wider terminal" in flat
    assert "1 request at 03:00" in flat
    assert max(len(line) for line in table.splitlines()) <= 80


def test_by_member_checks_each_member(loaded: Path) -> None:
    out = run_json("anomalies", *ARGS, "--by", "member", "--db", str(loaded))
    kinds = {(r["series"], r["kind"]) for r in out["rows"]}
    # bob's own series has no same-weekday history before 11-05 (three zeros): 4.00 − 0 with sigma
    # floor 0 + 1e-12 is a spike of bob too
    assert ("total", "spike") in kinds and ("member:bob", "spike") in kinds
    run("anomalies", "--by", "colour", "--db", str(loaded), expect=2)


def test_recent_anomalies_for_the_dashboard(loaded: Path) -> None:
    from usagectl.services.anomalies import recent_anomalies
    from usagectl.services.context import make_context
    from usagectl.services.reports import ReportRequest

    ctx = make_context(None, loaded)
    req = ReportRequest(tz="Asia/Tokyo", now=datetime(2025, 11, 10, 3, 0, tzinfo=UTC))  # 12:00 on 11-10 in Tokyo
    found = recent_anomalies(ctx, req, days=7)  # 11-03 – 11-09
    assert [(f["day"], f["kind"]) for f in found][:1] == [(date(2025, 11, 8), "off-hours")]
    assert {"day", "series", "kind", "severity", "detail"} == set(found[0])
    assert (date(2025, 11, 5), "spike") in {(f["day"], f["kind"]) for f in found}


def test_detect_weekly_series() -> None:
    # 9 weeks of weekday 10, weekend 2; day 60 (a weekday, index 60 % 7 = 4) made 30: expected
    # 10, residuals 0, sigma = 0.1 × 10 = 1, z = 20. Day 61 (index 5, a "Saturday") at 2 is normal.
    values = [10.0 if i % 7 < 5 else 2.0 for i in range(63)]
    values[60] = 30.0
    values[57] = 1.0  # a drop on a weekday: expected 10, z = (1 − 10) / 1 = −9
    found = detect(values, 56, floor=1.0)
    assert [(f.index, f.kind, round(f.z, 6)) for f in found] == [(57, "drop", -9.0), (60, "spike", 20.0)]


def test_off_hours_gap() -> None:
    assert off_hours({9, 10, 11}, 3)
    assert not off_hours({9, 10, 11}, 13)  # 2 h from 11
    assert not off_hours({0, 23}, 2)  # 2 h from midnight, around the clock


def test_a_series_flat_until_its_spike_reads_off_the_scale() -> None:
    """Five weeks of nothing, then $5 (a model first used that day): the spread is at its
    1e-12 floor, so z is in the trillions; the detail says "off the scale" in words instead."""
    values = [0.0] * 35 + [5.0]
    (found,) = detect(values, 35, 1.0)
    assert found.kind == "spike" and found.z > 1e12
    assert found.record and _z_text(found.z, found.record) == "z above 1,000: nothing like it before"
    assert _z_text(4.84) == "z 4.8" and _z_text(-6.0) == "z -6.0"
    assert _z_text(-2e3, record=True) == "z below -1,000: nothing like it before"
    assert _z_text(2e3) == "z above 1,000"  # off the scale, but something like it was there before


def test_a_sporadic_series_ordinary_day_is_not_a_spike() -> None:
    """A model used once a week (weekday 3: days 3, 10, …, 52) at 2, 4, 2, 4, …; checked day 56
    (weekday 0, never used on it): expected 0, residuals 0 (MAD 0), REL_FLOOR × 0 = 0. 48 of the
    56 days before are zero (sparse): sigma = the median of its non-zero days = (2 + 4) / 2 = 3.
    4 (its usual range): z = 4 / 3 = 1.33, nothing. 10.5: z = 3.5, a low spike; above every
    baseline day (max 4), so a record. 40: z = 13.33, high."""
    base = [0.0] * 56
    for k, i in enumerate(range(3, 56, 7)):
        base[i] = 2.0 if k % 2 == 0 else 4.0
    assert detect(base + [4.0], 56, 1.0) == []
    (low,) = detect(base + [10.5], 56, 1.0)
    assert (low.kind, round(low.z, 6), low.record, severity(low.z)) == ("spike", 3.5, True, "low")
    (high,) = detect(base + [40.0], 56, 1.0)
    assert (round(high.z, 2), severity(high.z)) == (13.33, "high")


def test_off_the_scale_is_nothing_like_it_before_only_for_a_record() -> None:
    """10 on weekdays 1-4, 0 on weekdays 0, 5, 6 (32 of 56 days non-zero: not sparse; every
    residual 0, so sigma is the 1e-12 floor). Day 56 (weekday 0, expected 0) at 5: z in the
    trillions, but 5 is below the 10 of the days before, so not "nothing like it before"."""
    values = [10.0 if i % 7 in (1, 2, 3, 4) else 0.0 for i in range(56)] + [5.0]
    (found,) = detect(values, 56, 1.0)
    assert found.z > 1e12 and not found.record
    assert _z_text(found.z, found.record) == "z above 1,000"


def test_history_begins_with_the_data() -> None:
    """Three weeks of nothing, then 1 a day from day 21 and 10 a day from day 28: on days 28-34
    the same weekday was 1 once and 0 three times before. Counted as zeros, the median is 0, the
    residuals' MAD 0 and the series sparse (under 14 of the 28 days before non-zero; the median
    of its non-zero days 1, so sigma 1): z = 10, each day a spike. From the first day with data
    there is one earlier week only (fewer than 3): nothing."""
    values = [0.0] * 21 + [1.0] * 7 + [10.0] * 7
    assert [f.index for f in detect(values, 28, 1.0)] == list(range(28, 35))
    assert detect(values, 28, 1.0, start=21) == []


def test_a_drop_to_nothing_that_stays_is_one_finding() -> None:
    """Eight weeks of 10 a day, then ten days of nothing: one drop on day 56 (expected 10,
    residuals 0, sigma = 0.1 x 10 = 1, z = -10) through day 65."""
    values = [10.0] * 56 + [0.0] * 10
    (found,) = detect(values, 56, 1.0)
    assert (found.index, found.kind, found.z, found.expected, found.through) == (56, "drop", -10.0, 10.0, 65)


def test_usage_that_began_recently_and_stopped(tmp_path: Path, db_path: Path) -> None:
    """gpt-4o, 400,000 input tokens ($1.00) a day 2025-10-01 – 10-31, then nothing. Checked
    10-20 – 11-09 (UTC): the weeks before 10-01 are not history, so October has no spike; 11-01
    is a drop (expected $1.00: the same weekday 10-04 … 10-25; sigma the floor $0.10; z -10)
    whose nothing lasts through 11-09 (9 days)."""
    evs = [{"event_id": f"o{d}", "ts": f"2025-10-{d:02d}T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 400_000}
           for d in range(1, 32)]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "o.jsonl", evs)), "--db", str(db_path))
    out = run_json("anomalies", "--since", "2025-10-20", "--until", "2025-11-09", "--tz", "UTC", "--db", str(db_path))
    rows = [(r["day"], r["series"], r["kind"], r["severity"]) for r in out["rows"]]
    assert rows == [("2025-11-01", "total", "drop", "high")]
    detail = out["rows"][0]["detail"]
    assert detail == "drop of $0.00 vs expected $1.00 (z -10.0); no usage from this day through 2025-11-09 (9 days)"
    # checked from 11-03: the nothing began before (11-01); residuals -1 on 11-01 and 11-02, 0
    # before, so sigma is the floor again and z -10
    out = run_json("anomalies", "--since", "2025-11-03", "--until", "2025-11-09", "--tz", "UTC", "--db", str(db_path))
    assert [(r["day"], r["kind"], r["detail"]) for r in out["rows"]] == [
        ("2025-11-03", "drop", "drop of $0.00 vs expected $1.00 (z -10.0); no usage since 2025-11-01 (9 days through "
         "2025-11-09)")
    ]  # fmt: skip


def test_a_drop_whose_nothing_began_before_the_checked_days_says_since_when() -> None:
    """Eight weeks of 10 a day, then nothing from day 56; checked from day 60: one drop on day
    60 (the same weekday was 10 in all 8 weeks before: expected 10) that names day 56 as the
    start of the nothing, through day 65."""
    values = [10.0] * 56 + [0.0] * 10
    (found,) = detect(values, 60, 1.0)
    assert (found.index, found.kind, found.since, found.through) == (60, "drop", 56, 65)


def test_model_switch_rate_before_counts_only_days_with_data(tmp_path: Path, db_path: Path) -> None:
    """2 simple claude-opus-4-1 requests a day, 2026-10-27 – 11-25, the data's first day 10-27.
    Checked 11-12 – 11-25 (14 days): 28 requests = 2.0 a day. The baseline (8 weeks from 09-17)
    holds 10-27 – 11-11 = 16 days with data, 32 requests = 2.0 a day (not 32 / 56 = 0.6): the
    usage did not take over. Saving: opus 1,000 in × $15/M + 200 5m-cache-write × $18.75/M + 300
    out × $75/M = $0.04125, sonnet-4-5 $0.003 + $0.00075 + $0.0045 = $0.00825; 28 × 0.033 × 30 / 14
    = $1.98 a month."""
    evs = [{"event_id": f"o{d}-{j}", "ts": f"{date(2026, 10, 27) + timedelta(days=d)}T1{j}:30:00Z",
            "model_raw": "claude-opus-4-1", "input_tokens": 1000, "cache_write_5m_tokens": 200,
            "output_tokens": 300, "member": "dan"} for d in range(30) for j in range(2)]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "o.jsonl", evs)), "--db", str(db_path))
    out = run_json("anomalies", "--since", "2026-11-12", "--until", "2026-11-25", "--tz", "UTC", "--db", str(db_path))
    (row,) = out["model_switch"]
    assert (row["model"], row["to_model"], row["simple_requests"]) == ("claude-opus-4-1", "claude-sonnet-4-5", 28)
    assert Decimal(str(row["per_day_before"])) == Decimal(str(row["per_day_now"])) == Decimal("2")
    assert row["took_over"] is False
    assert Decimal(str(row["saving_usd_month"])) == Decimal("1.98")


def test_usual_hours_that_cross_midnight(tmp_path: Path, db_path: Path) -> None:
    """alice works at 10:00Z and 19:30Z every day (19:00 and 04:30 in Asia/Tokyo, UTC+9) from
    2026-09-01; one request at 02:00Z on 11-20 is 11:00 in Tokyo, 7 h from 04:00 and 8 h from
    19:00: off-hours. Her usual hours run from 19:00 over midnight to 05:00 (the end of the 04:00
    hour), not "00:00–24:00" (the min and max of the hours 4 and 19)."""
    evs = []
    for i in range(86):  # 2026-09-01 – 11-25
        d = date(2026, 9, 1) + timedelta(days=i)
        for t in ("10:00", "19:30"):
            evs.append({"event_id": f"{d}{t}", "ts": f"{d}T{t}:00Z", "model_raw": "gpt-4o", "input_tokens": 4_000,
                        "member": "alice"})  # fmt: skip
    evs.append({"event_id": "off", "ts": "2026-11-20T02:00:00Z", "model_raw": "gpt-4o", "input_tokens": 4_000,
                "member": "alice"})  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "h.jsonl", evs)), "--db", str(db_path))
    out = run_json("anomalies", "--since", "2026-11-12", "--until", "2026-11-25", "--tz", "Asia/Tokyo",
                   "--db", str(db_path))  # fmt: skip
    (row,) = [r for r in out["rows"] if r["kind"] == "off-hours"]
    assert (row["day"], row["series"]) == ("2026-11-20", "member:alice")
    assert row["detail"] == "1 request at 11:00, never active within 3 h of that before (usual hours 19:00–05:00)"
    assert usual_hours(set(range(10, 20))) == "10:00–20:00"  # no wrap: as before
    assert usual_hours(set(range(24))) == "00:00–24:00"


def test_money_is_exact_to_6_decimals_and_the_value_is_the_daily_report_s(tmp_path: Path, db_path: Path) -> None:
    """gpt-4o, 1,000,120 output tokens a day at $10/M = $10.0012, 2026-09-15 – 11-25 (UTC);
    on 11-19 bob adds 2,000,000 output tokens ($20) and 3 output tokens of gpt-4o-mini at $0.60/M
    ($0.0000018). Checked 11-12 – 11-25.

    11-19: value = 10.0012 + 20 + 0.0000018 = 30.0012018, to 6 places (half-even) 30.001202:
    `report daily`'s cost of that day, not 30.00 (cents through a float). Expected = the same
    weekday's median = 10.0012; residuals 0, so sigma = 0.1 × 10.0012 = 1.00012 and
    Z × sigma = 3.5 × 1.00012 = 3.50042: expected range 10.0012 ∓ 3.50042 = 6.50078 – 13.50162
    (not 10.00 / 6.50 / 13.50)."""
    evs: list[dict[str, Any]] = [
        {"event_id": f"d{d}", "ts": f"{d}T03:00:00Z", "model_raw": "gpt-4o", "output_tokens": 1_000_120}
        for d in (date(2026, 9, 15) + timedelta(days=i) for i in range(72))
    ]
    evs.append({"event_id": "bob", "ts": "2026-11-19T20:00:00Z", "model_raw": "gpt-4o", "output_tokens": 2_000_000})
    evs.append({"event_id": "mini", "ts": "2026-11-19T21:00:00Z", "model_raw": "gpt-4o-mini", "output_tokens": 3})
    run("import", str(write_jsonl(tmp_path / "m.jsonl", evs)), "--db", str(db_path))
    args = ("--since", "2026-11-12", "--until", "2026-11-25", "--tz", "UTC", "--db", str(db_path))
    (spike,) = run_json("anomalies", *args)["rows"]
    assert (spike["day"], spike["kind"]) == ("2026-11-19", "spike")
    cells = [Decimal(str(spike[k])) for k in ("value", "expected", "expected_low", "expected_high")]
    assert cells == [Decimal("30.001202"), Decimal("10.0012"), Decimal("6.50078"), Decimal("13.50162")]
    daily = run_json("report", "daily", *args)
    (day,) = [r for r in daily["rows"] if r["date"] == "2026-11-19"]
    assert Decimal(str(day["cost_usd"])) == cells[0]
    csv_row = run("anomalies", *args, "--format", "csv").stdout.splitlines()[1].split(",")
    assert csv_row[4:8] == ["30.001202", "10.001200", "6.500780", "13.501620"]
    # tokens stay whole: 1,000,120 + 2,000,000 + 3 = 3,000,123
    (tok,) = run_json("anomalies", *args, "--metric", "tokens")["rows"]
    assert (tok["value"], tok["expected"]) == (3_000_123, 1_000_120)


def test_unpriced_usage_is_named_and_a_new_unpriced_model_is_new_and_heavy(tmp_path: Path, db_path: Path) -> None:
    """Every day 2026-09-15 – 11-25 (UTC): gpt-4o 1,000,000 output tokens ($10) and 2,000,000
    tokens of legacy-model-y, which has no price. On 11-24 mystery-model-x (no price either,
    never used before) makes 6,000,000 tokens. Checked 11-12 – 11-25, read from 09-17 (8 weeks
    before): 70 days.

    With --metric cost every day is $10, no spike, but a note names the unpriced usage the
    check read: legacy-model-y 70 requests / 140,000,000 tokens, mystery-model-x 1 / 6,000,000;
    71 / 146,000,000 in all. The new model has no cost, so its share is counted in tokens:
    6M of the day's 1M + 2M + 6M = 9M = 66.7 % (≥ 50 %: high). legacy-model-y has usage (not
    cost) in the baseline: not new. With --metric tokens the unpriced usage is in the metric:
    no note, and mystery-model-x is new and heavy by its tokens as before."""
    evs: list[dict[str, Any]] = []
    for i in range(72):
        d = date(2026, 9, 15) + timedelta(days=i)
        evs.append({"event_id": f"g{d}", "ts": f"{d}T03:00:00Z", "model_raw": "gpt-4o", "output_tokens": 1_000_000})
        evs.append({"event_id": f"l{d}", "ts": f"{d}T04:00:00Z", "model_raw": "legacy-model-y",
                    "output_tokens": 2_000_000})  # fmt: skip
    evs.append({"event_id": "mys", "ts": "2026-11-24T12:00:00Z", "model_raw": "mystery-model-x",
                "output_tokens": 6_000_000, "member": "carol"})  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "u.jsonl", evs)), "--db", str(db_path))
    args = ("--since", "2026-11-12", "--until", "2026-11-25", "--tz", "UTC", "--db", str(db_path))
    out = run_json("anomalies", *args)
    assert [(r["day"], r["series"], r["kind"], r["severity"], r["detail"]) for r in out["rows"]] == [
        ("2026-11-24", "model:mystery-model-x", "new-heavy", "high",
         "first used in this range, 67% of the day's tokens (no price: not in the cost)"),
    ]  # fmt: skip
    assert (
        "Unpriced: 71 requests / 146,000,000 tokens have no price and are NOT in the cost: legacy-model-y "
        "(70 requests, 140,000,000 tokens), mystery-model-x (1 request, 6,000,000 tokens). See `usagectl pricing "
        "check`."
    ) in out["notes"]
    table = " ".join(run("anomalies", *args).stdout.split())
    assert "Unpriced: 71 requests / 146,000,000 tokens" in table
    tokens = run_json("anomalies", *args, "--metric", "tokens")
    assert not any(n.startswith("Unpriced") for n in tokens["notes"])
    assert ("2026-11-24", "model:mystery-model-x", "new-heavy") in {
        (r["day"], r["series"], r["kind"]) for r in tokens["rows"]
    }


def test_token_counts_are_whole_numbers_in_the_detail(loaded: Path) -> None:
    """--metric tokens on the module's fixture: 11-05 holds alice's 400,000 + bob's 1,600,000 =
    2,000,000 tokens against the same weekday's 400,000 (sigma 0.1 × 400,000 = 40,000; z =
    1,600,000 / 40,000 = 40). Tokens are counted, not cents: "2,000,000", not "2,000,000.00"."""
    out = run_json("anomalies", *ARGS, "--metric", "tokens", "--db", str(loaded))
    (spike,) = [r for r in out["rows"] if r["kind"] == "spike"]
    assert (spike["value"], spike["expected"], spike["expected_low"], spike["expected_high"]) == (
        2_000_000, 400_000, 260_000, 540_000)  # fmt: skip
    assert spike["detail"] == (
        "spike of 2,000,000 vs expected 400,000 (z 40.0); excess from model gpt-4o +1,600,000, member bob +1,600,000"
    )


def test_the_pdf_names_the_expected_range_it_left_out_in_reading_order() -> None:
    """The PDF's table fitting leaves out the same columns as the terminal and names them the
    same way: "Expected from" before "Expected to" (both mark 1; the rightmost goes first, but
    the note reads in the table's order)."""
    pytest.importorskip("reportlab")
    from usagectl.models import Column
    from usagectl.render.pdf import _fit_table, _fonts

    _fonts()
    cols = [
        Column("day", "Day", "date"),
        Column("value", "Value", "amount"),
        Column("expected_low", "Expected from", "amount", narrow_drop=1),
        Column("expected_high", "Expected to", "amount", narrow_drop=1),
        Column("detail", "Detail"),
    ]
    row = {"day": date(2026, 11, 19), "value": Decimal("30.003344"), "expected_low": Decimal("6.5"),
           "expected_high": Decimal("13.5"), "detail": "spike of $30.00 vs expected $10.00 (z 20.0)"}  # fmt: skip
    fit = _fit_table(cols, [row], None, 120.0)
    assert fit.dropped == ["Expected from", "Expected to"]


def _gpt4o_days(first: date, last: date, tokens: int = 1_000_000) -> list[dict[str, Any]]:
    """One gpt-4o call of ``tokens`` input a day from ``first`` to ``last`` at 12:00Z (1,000,000 =
    $2.50)."""
    return [{"event_id": f"e{first + timedelta(days=i)}", "ts": f"{first + timedelta(days=i)}T12:00:00Z",
             "model_raw": "gpt-4o", "input_tokens": tokens} for i in range((last - first).days + 1)]  # fmt: skip


def test_unjudged_days_need_four_weeks_of_data() -> None:
    """A day needs 3 same weekdays before it (the first expected value on day start + 21) and 7
    earlier days with an expected value (days start + 21 … start + 27): the first day judged is
    start + 28. 27 days of data from day 0: days 13 … 26 checked, none judged; 35 days: 28 … 34
    judged, 13 … 27 not. Days before the data (start 20) are not "unjudged": from 20 on."""
    from usagectl.services.anomalies import unjudged

    assert unjudged([1.0] * 27, 13) == list(range(13, 27))
    assert unjudged([1.0] * 35, 13) == list(range(13, 28))
    assert unjudged([0.0] * 20 + [1.0] * 30, 13, start=20) == list(range(20, 48))
    assert unjudged([1.0] * 90, 56) == []


def test_a_short_history_says_which_days_were_not_judged(tmp_path: Path, db_path: Path) -> None:
    """QA: with under 4 weeks of data `anomalies` printed "No rows." and counted 0, as if the days
    had been looked at. $2.50 a day from 2026-11-01, a 40 × day ($100) on 11-25; checked 11-14 –
    11-27. The data begins 11-01, so the first day that can be judged is 11-01 + 28 = 11-29: all 14
    checked days are named as not judged (the rule is not weakened: no spike found). From 10-24
    instead, the first judged day is 10-24 + 28 = 11-21: 11-14 – 11-20 (7 days) not judged, and the
    spike on 11-25 is found."""
    span = ("--since", "2026-11-14", "--until", "2026-11-27", "--tz", "UTC", "--db", str(db_path))
    ev = _gpt4o_days(date(2026, 11, 1), date(2026, 11, 27))
    ev = [e | {"input_tokens": 40_000_000} if e["ts"].startswith("2026-11-25") else e for e in ev]
    run("import", str(write_jsonl(tmp_path / "young.jsonl", ev)), "--db", str(db_path))
    out = run_json("anomalies", *span)
    assert out["rows"] == [] and out["totals"]["anomalies"] == 0
    (note,) = [n for n in out["notes"] if n.startswith("Not judged")]
    assert note.startswith("Not judged for want of history: 14 checked days (2026-11-14 – 2026-11-27).")
    assert "it needs 28 days of data before it; the data begins 2026-11-01, so the first day that can be judged" in note
    assert note.endswith("2026-11-29 (after this range).")
    table = " ".join(run("anomalies", *span).stdout.split())
    assert "No rows." in table and "Not judged for want of history: 14 checked days" in table
    run("import", str(write_jsonl(tmp_path / "older.jsonl", _gpt4o_days(date(2026, 10, 24), date(2026, 10, 31)))),
        "--db", str(db_path))  # fmt: skip
    out = run_json("anomalies", *span)
    assert [(r["day"], r["kind"]) for r in out["rows"]] == [("2026-11-25", "spike")]
    (note,) = [n for n in out["notes"] if n.startswith("Not judged")]
    assert note.startswith("Not judged for want of history: 7 checked days (2026-11-14 – 2026-11-20).")
    assert note.endswith("the data begins 2026-10-24, so the first day that can be judged is 2026-11-21.")
    # eight weeks of data before the checked days: every day judged, no such note
    run("import", str(write_jsonl(tmp_path / "old.jsonl", _gpt4o_days(date(2026, 9, 1), date(2026, 10, 23)))),
        "--db", str(db_path))  # fmt: skip
    assert not any(n.startswith("Not judged") for n in run_json("anomalies", *span)["notes"])


def test_one_simple_request_is_no_take_over(tmp_path: Path, db_path: Path) -> None:
    """QA: ONE simple gpt-4o request in the checked 14 days read "Took over: yes". 70 days
    (2026-09-17 – 11-25) of one large gpt-4o request (300,000 in: not simple); checked 11-12 –
    11-25. One simple request (1,000 in) on 11-22: 1 / 14 = 0.07 a day against 0 before, but one
    request is under the 10 a take-over needs: no. Saving 1,000 × (2.50 − 0.15) / 1M = $0.00235,
    × 30 / 14 = $0.005036 a month (6 places). With 10 simple requests (10 / 14 = 0.7 a day, ≥ 2 × 0):
    took over."""
    big = [e | {"output_tokens": 1_000} for e in _gpt4o_days(date(2026, 9, 17), date(2026, 11, 25), 300_000)]
    small = [{"event_id": "s0", "ts": "2026-11-22T13:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1_000}]
    run("import", str(write_jsonl(tmp_path / "a.jsonl", big + small)), "--db", str(db_path))
    span = ("--since", "2026-11-12", "--until", "2026-11-25", "--tz", "UTC", "--db", str(db_path))
    (row,) = run_json("anomalies", *span)["model_switch"]
    assert (row["model"], row["to_model"], row["simple_requests"], row["took_over"]) == (
        "gpt-4o",
        "gpt-4o-mini",
        1,
        False,
    )
    assert Decimal(str(row["saving_usd_month"])) == Decimal("0.005036")
    more = [small[0] | {"event_id": f"s{d}", "ts": f"2026-11-{d}T13:00:00Z"} for d in range(13, 22)]
    run("import", str(write_jsonl(tmp_path / "b.jsonl", more)), "--db", str(db_path))
    (row,) = run_json("anomalies", *span)["model_switch"]
    assert (row["simple_requests"], row["per_day_before"], row["took_over"]) == (10, 0, True)


def test_until_alone_checks_the_14_days_ending_that_day(loaded: Path) -> None:
    """QA: with --until alone the default start stayed 14 days before yesterday, so an earlier
    --until was refused ("the default --since … is after --until"). Read on 2025-12-20 (12:00
    in Tokyo): the old start was 12-19 − 13 days = 12-06. The 14 days ending 11-09 are 10-27 –
    11-09 (October 27–31: 5 + November 1–9: 9); their baseline, the 8 weeks before, is 09-01 –
    10-26, all of alice's data: the same findings as the fixture's 11-03 – 11-09. A --since
    given still wins."""
    from usagectl.services.anomalies import anomalies_report
    from usagectl.services.context import make_context
    from usagectl.services.reports import ReportRequest

    ctx = make_context(None, loaded)
    now = datetime(2025, 12, 20, 3, 0, tzinfo=UTC)
    rep = anomalies_report(ctx, ReportRequest(until="2025-11-09", tz="Asia/Tokyo", now=now))
    assert (rep.filters["since"], rep.filters["until"]) == ("2025-10-27", "2025-11-09")
    assert [(str(r["day"]), r["series"], r["kind"]) for r in rep.rows] == [
        ("2025-11-05", "total", "spike"),
        ("2025-11-08", "member:alice", "off-hours"),
    ]
    given = anomalies_report(ctx, ReportRequest(since="2025-11-06", until="2025-11-09", tz="Asia/Tokyo", now=now))
    assert (given.filters["since"], given.filters["until"]) == ("2025-11-06", "2025-11-09")
    assert [(str(r["day"]), r["kind"]) for r in given.rows] == [("2025-11-08", "off-hours")]


def test_until_after_today_is_a_usage_error(loaded: Path) -> None:
    """QA: `anomalies --until` 12 days ahead flagged "drop … no usage since …" on days still to
    come. Today is the local day in the report's zone: at 2025-12-19 16:00 UTC it is 12-20
    01:00 in Tokyo (UTC+9), so --until 2025-12-20 is today there (allowed: the 14 days ending it
    are 12-07 – 12-20, December 7–20) while --until 2025-12-21 is tomorrow: a usage error naming
    it and today."""
    from usagectl.errors import UsageError
    from usagectl.services.anomalies import anomalies_report
    from usagectl.services.context import make_context
    from usagectl.services.reports import ReportRequest

    ctx = make_context(None, loaded)
    now = datetime(2025, 12, 19, 16, 0, tzinfo=UTC)
    rep = anomalies_report(ctx, ReportRequest(until="2025-12-20", tz="Asia/Tokyo", now=now))
    assert (rep.filters["since"], rep.filters["until"]) == ("2025-12-07", "2025-12-20")
    with pytest.raises(UsageError, match=r"^--until 2025-12-21 is in the future \(today is 2025-12-20 in Asia/Tokyo\)"):
        anomalies_report(ctx, ReportRequest(until="2025-12-21", tz="Asia/Tokyo", now=now))
    with pytest.raises(UsageError, match="is in the future"):  # a --since given too changes nothing
        anomalies_report(ctx, ReportRequest(since="2025-12-01", until="2025-12-21", tz="Asia/Tokyo", now=now))
