"""db status / rejects, pricing list / show / check, and the demo, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run, run_json, write_jsonl

EVENTS = [
    {"event_id": "a", "ts": "2026-03-01T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 10, "output_tokens": 1},
    {"event_id": "b", "ts": "2026-03-02T10:00:00Z", "model_raw": "acme-llm-9", "input_tokens": 7, "output_tokens": 3},
    {"event_id": "c", "ts": "2026-03-03T10:00:00Z", "model_raw": "acme-llm-9", "input_tokens": 1, "output_tokens": 1},
]


def test_db_status(tmp_path: Path, db_path: Path) -> None:
    run("import", str(write_jsonl(tmp_path / "e.jsonl", [*EVENTS, '{"oops'])), "--db", str(db_path))
    out = run_json("db", "status", "--db", str(db_path))
    ov = out["overview"]
    assert ov["path"] == str(db_path)
    assert ov["schema_version"] == ov["code_schema_version"] >= 1
    assert ov["events"] == 3 and ov["rejects"] == 1 and ov["import_batches"] == 1
    assert ov["first_event"].startswith("2026-03-01T10:00:00")
    assert ov["last_event"].startswith("2026-03-03T10:00:00")
    assert "." not in ov["last_import"]  # to the second, no microseconds
    assert (ov["billed_lines"], ov["first_billed_day"], ov["last_billed_day"]) == (0, None, None)
    table = run("db", "status", "--db", str(db_path)).stdout
    assert "unpriced" not in table  # no billed day is not a price
    assert "Schema version" in table and str(db_path) in table
    assert "…" not in table  # at 80 columns nothing is cut
    rejects = run_json("db", "rejects", "--db", str(db_path))
    assert rejects["rows"][0]["line"] == 4 and rejects["rows"][0]["raw"] == '{"oops'
    assert (rejects["rows"][0]["batch_id"], rejects["rows"][0]["record"]) == (1, 4)


def test_db_rejects_json_and_csv_carry_the_raw_text_as_stored(tmp_path: Path, db_path: Path) -> None:
    """A 769-character bad line came back cut to 200 characters and "…" in JSON and CSV (QA
    finding), though the store keeps 4,000 and the README promises the exact text."""
    bad = '{"event_id": "long", "ts": "2026-03-01T10:00:00Z", "note": "' + "x" * 690 + '", "input_tokens": '
    assert len(bad) == 769
    run("import", str(write_jsonl(tmp_path / "e.jsonl", [*EVENTS, bad])), "--db", str(db_path))
    assert run_json("db", "rejects", "--db", str(db_path))["rows"][0]["raw"] == bad
    assert bad in run("db", "rejects", "--format", "csv", "--db", str(db_path)).stdout.replace('""', '"')


def test_db_status_shows_first_and_last_event_together_to_the_second(tmp_path: Path, db_path: Path) -> None:
    """A first event with microseconds (10:00:00.930) is shown as 10:00:00, the line just above
    Last event (03-03 10:00:00), not pushed below Config in another format."""
    first = {**EVENTS[0], "ts": "2026-03-01T10:00:00.930Z"}
    run("import", str(write_jsonl(tmp_path / "e.jsonl", [first, *EVENTS[1:]])), "--db", str(db_path))
    lines = [" ".join(line.split()) for line in run("db", "status", "--db", str(db_path)).stdout.splitlines()]
    at = lines.index("First event (UTC) 2026-03-01 10:00:00")
    assert lines[at + 1] == "Last event (UTC) 2026-03-03 10:00:00"
    assert lines.index("Config (none)") > at + 1
    assert run_json("db", "status", "--db", str(db_path))["overview"]["first_event"] == "2026-03-01T10:00:00+00:00"


def test_db_rejects_limit_zero_is_all_and_a_negative_one_is_a_usage_error(tmp_path: Path, db_path: Path) -> None:
    """Three bad lines after the three events: records 4, 5, 6 of batch 1 are rejected.
    --limit 2 shows records 4 and 5; --limit 0 all three (as report duplicates --top 0)."""
    run("import", str(write_jsonl(tmp_path / "e.jsonl", [*EVENTS, '{"oops', "[1", "nope"])), "--db", str(db_path))
    two = run_json("db", "rejects", "--limit", "2", "--db", str(db_path))
    assert [r["record"] for r in two["rows"]] == [4, 5]
    # three rejects, two listed: the totals count all three and a note says the list is cut (QA)
    assert (two["totals"]["rejects"], two["totals"]["shown"]) == (3, 2)
    assert two["notes"] == ["Showing the newest 2 of 3 rejected records (`--limit 0` lists all)."]
    assert not run_json("db", "rejects", "--limit", "3", "--db", str(db_path)).get("notes")
    every = run_json("db", "rejects", "--limit", "0", "--db", str(db_path))
    assert [r["record"] for r in every["rows"]] == [4, 5, 6] and every["totals"]["rejects"] == 3
    assert every["filters"]["limit"] is None
    assert "No rows." not in run("db", "rejects", "--limit", "0", "--db", str(db_path)).stdout
    result = run("db", "rejects", "--limit", "-1", "--db", str(db_path), expect=2)
    assert "--limit -1: must be between 0 (all) and 9223372036854775807" in result.stderr
    # 2**63 = 9223372036854775808, one more than DuckDB's BIGINT holds: was a ConversionException (exit 1)
    result = run("db", "rejects", "--limit", "9223372036854775808", "--db", str(db_path), expect=2)
    assert "--limit 9223372036854775808: must be between 0 (all) and 9223372036854775807" in result.stderr
    assert len(run_json("db", "rejects", "--limit", "9223372036854775807", "--db", str(db_path))["rows"]) == 3


@pytest.mark.parametrize("days", ["0", "-3", "731", "99999999999999999999"])
def test_demo_days_out_of_range_is_a_usage_error_and_deletes_nothing(tmp_path: Path, days: str) -> None:
    db = tmp_path / "demo.duckdb"
    run("demo", "--db", str(db), "--days", "2")
    result = run("demo", "--db", str(db), "--days", days, expect=2)
    assert f"--days {days}: must be between 1 and 730" in result.stderr
    assert run_json("db", "status", "--db", str(db))["overview"]["events"] > 0  # the earlier demo is still there


def test_db_rejects_table_gives_path_and_reason_the_room(tmp_path: Path, db_path: Path) -> None:
    """At 80 columns a reject's long path and reason fit better without the batch and record
    columns (left out, and named; JSON keeps them)."""
    deep = tmp_path / "a-rather-long-folder-name" / "and-another-one-below-it"
    deep.mkdir(parents=True)
    run("import", str(write_jsonl(deep / "events-of-the-month.jsonl", [*EVENTS, '{"oops'])), "--db", str(db_path))
    table = run("db", "rejects", "--db", str(db_path)).stdout
    header = next(line for line in table.splitlines() if line.startswith("File"))
    assert header.split() == ["File", "Line", "Reason"]
    assert "not shown at this width: Batch, Record (a wider terminal" in " ".join(table.split())


def test_db_rejects_shows_the_line_number_whole_at_80_columns(tmp_path: Path, db_path: Path) -> None:
    """QA: at 80 columns the Line column read "37.9k", which finds no line. A reject on line
    37,940 (37,939 blank lines before it) is shown as 37,940."""
    bad = tmp_path / "big.jsonl"
    bad.write_text("\n" * 37_939 + '{"oops\n', encoding="utf-8")
    run("import", str(bad), "--db", str(db_path), expect=None)
    table = run("db", "rejects", "--db", str(db_path)).stdout
    assert "37,940" in table and "37.9k" not in table


def test_pricing_check_lists_unpriced_usage_and_strict_fails(tmp_path: Path, db_path: Path) -> None:
    run("import", str(write_jsonl(tmp_path / "e.jsonl", EVENTS)), "--db", str(db_path))
    out = run_json("pricing", "check", "--db", str(db_path))
    assert out["rows"] == [
        {
            "model": "acme-llm-9",
            "resolved": None,
            "service_tier": "standard",
            "requests": 2,
            "total_tokens": 12,
            "reason": "unknown model",
        }
    ]
    # b + c: 2 of the 3 requests, (7 + 3) + (1 + 1) = 12 tokens; the Total row sums the table
    assert out["totals"] == {"requests": 2, "total_tokens": 12, "unpriced_requests": 2, "unpriced_tokens": 12,
                             "all_requests": 3}  # fmt: skip
    total = next(line for line in run("pricing", "check", "--db", str(db_path)).stdout.splitlines()
                 if line.startswith("Total"))  # fmt: skip
    assert total.split() == ["Total", "2", "12"]
    markdown = run("pricing", "check", "--format", "markdown", "--db", str(db_path)).stdout
    assert "| **Total** |  | **2** | **12** |" in markdown
    assert out["filters"] == {"strict": False}
    strict = run("pricing", "check", "--strict", "--db", str(db_path), expect=1)
    assert "acme-llm-9" in strict.stdout and "without a price" in strict.stderr
    assert "strict yes" in strict.stdout
    strict_json = run("pricing", "check", "--strict", "--json", "--db", str(db_path), expect=1)
    assert json.loads(strict_json.stdout)["filters"] == {"strict": True}


def test_pricing_check_counts_buckets_without_a_request_count_as_reports_do(tmp_path: Path, db_path: Path) -> None:
    """acme-llm-9 (no price): one event of 2 requests and two buckets with requests 0 (a provider
    report without counts); gpt-4o (priced): 1 request. Logged: 2 unpriced of 3; counted (a
    bucket is one request, as every report's unpriced_requests): 2 + 1 + 1 = 4 of 4 + 1 = 5. The
    note read "2 of 3 requests", leaving the buckets out, and the totals disagreed with `report`.
    The row and the totals count requests so too (QA: requests 2 beside unpriced_requests 4);
    all_requests, their denominator, likewise: 5, not the logged 3."""
    events = [
        {"event_id": "a", "ts": "2025-11-03T10:00:00Z", "model_raw": "acme-llm-9", "input_tokens": 10, "requests": 2},
        {"event_id": "b", "ts": "2025-11-03T11:00:00Z", "model_raw": "acme-llm-9", "input_tokens": 5, "requests": 0},
        {"event_id": "c", "ts": "2025-11-03T12:00:00Z", "model_raw": "acme-llm-9", "input_tokens": 5, "requests": 0},
        {"event_id": "d", "ts": "2025-11-03T13:00:00Z", "model_raw": "gpt-4o", "input_tokens": 100, "requests": 1},
    ]
    run("import", str(write_jsonl(tmp_path / "b.jsonl", events)), "--db", str(db_path))
    out = run_json("pricing", "check", "--db", str(db_path))
    assert [(r["model"], r["requests"], r["total_tokens"]) for r in out["rows"]] == [("acme-llm-9", 4, 20)]
    assert out["totals"] == {"requests": 4, "total_tokens": 20, "unpriced_requests": 4, "unpriced_tokens": 20,
                             "all_requests": 5}  # fmt: skip
    assert out["notes"] == [
        "Without a price: 2 requests and 2 buckets without a request count, of 3 requests and "
        "2 buckets without a request count in the database."
    ]
    report = run_json("report", "by", "model", "--since", "2025-11-01", "--until", "2025-11-30", "--db", str(db_path))
    assert report["totals"]["unpriced_requests"] == 4
    assert "without a price, 4 requests" in run("pricing", "check", "--strict", "--db", str(db_path), expect=1).stderr


def test_pricing_check_passes_when_everything_is_priced(tmp_path: Path, db_path: Path) -> None:
    run("import", str(write_jsonl(tmp_path / "e.jsonl", EVENTS[:1])), "--db", str(db_path))
    assert "strict yes" in run("pricing", "check", "--strict", "--db", str(db_path)).stdout
    assert run_json("pricing", "check", "--strict", "--db", str(db_path))["filters"] == {"strict": True}


def test_pricing_list_and_show(tmp_path: Path) -> None:
    listed = {r["model"]: r for r in run_json("pricing", "list", "--at", "2025-07-01")["rows"]}
    assert listed["o3"]["input"] == 2 and listed["o3"]["output"] == 8
    assert listed["claude-sonnet-4-5"]["cache_write_1h"] == 6
    old = {r["model"]: r for r in run_json("pricing", "list", "--at", "2025-06-01")["rows"]}
    assert old["o3"]["input"] == 10 and old["o3"]["output"] == 40
    shown = run_json("pricing", "show", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert shown["overview"]["model"] == "claude-sonnet-4-5"
    bands = {(r["service_tier"], r["band"]): r for r in shown["rows"]}
    assert bands[("standard", "> 200,000 input")]["output"] == 22.5
    assert bands[("batch", "≤ 200,000 input")]["input"] == 1.5
    assert "no price table knows" in run("pricing", "show", "gpt-4o-super", expect=2).stderr
    # o3 (pricing/openai.toml): until 2025-06-10 standard, batch, flex (3 rows); from then also
    # priority and fast, OpenAI's name for priority (5 rows): 8 rows in 2 validity periods
    assert run_json("pricing", "show", "o3")["totals"] == {"rows": 8, "periods": 2}
    assert run_json("pricing", "show", "o3", "--at", "2025-06-01")["totals"] == {"rows": 3, "periods": 1}


def test_pricing_at_takes_a_day_or_an_instant_and_refuses_week_dates_and_months() -> None:
    """o3's price changed at 2025-06-10 00:00 UTC (3 rows before, 5 from then, as above).
    23:30 at -02:00 on the 9th is 01:30 UTC on the 10th: the new period; 23:30 without an
    offset is UTC: still the old one. An ISO week date was read as its Monday, and a month
    ``202506`` as some day; both are exit 2 now, as for every other date option."""
    late = run_json("pricing", "show", "o3", "--at", "2025-06-09T23:30:00-02:00")
    assert late["totals"] == {"rows": 5, "periods": 1}
    assert late["filters"]["at"] == "2025-06-10 01:30 UTC"
    assert run_json("pricing", "show", "o3", "--at", "2025-06-09T23:30")["totals"] == {"rows": 3, "periods": 1}
    assert run_json("pricing", "show", "o3", "--at", "20250610")["totals"] == {"rows": 5, "periods": 1}
    week = run("pricing", "show", "o3", "--at", "2025-W24-1", expect=2).stderr
    assert "'2025-W24-1' is not a date" in week
    assert "is a month; give a day (2025-06-01" in run("pricing", "list", "--at", "202506", expect=2).stderr


def test_pricing_list_table_keeps_model_names_whole_at_80_columns() -> None:
    """The table at the CLI's 80 columns leaves the provider out (the model names it) instead of
    folding "gemini-2.5-flash-lite"; JSON keeps it."""
    table = run("pricing", "list", "--at", "2025-07-01").stdout
    assert "gemini-2.5-flash-lite" in table.split()
    header = next(line for line in table.splitlines() if line.startswith("Model"))
    assert "Provider" not in header
    assert "not shown at this width: Provider" in " ".join(table.split())
    rows = {r["model"]: r for r in run_json("pricing", "list", "--at", "2025-07-01")["rows"]}
    assert rows["gemini-2.5-flash-lite"]["provider"] == "google"


def test_broken_user_price_table_is_exit_2_naming_file_and_key(tmp_path: Path) -> None:
    prices = tmp_path / "prices"
    prices.mkdir()
    (prices / "mine.toml").write_text(
        'provider = "acme"\n[[model]]\nid = "acme-llm-9"\n[[model.price]]\nsource = "x"\nchecked = 2026-01-01\ninput = -1\noutput = 2\n'
    )
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[pricing]\ndir = "{prices}"\n')
    result = run("pricing", "list", "--config", str(cfg), expect=2)
    assert "mine.toml" in result.stderr and "input" in result.stderr


def test_user_price_table_prices_an_unknown_model(tmp_path: Path, db_path: Path) -> None:
    prices = tmp_path / "prices"
    prices.mkdir()
    (prices / "acme.toml").write_text(
        'provider = "acme"\n[[model]]\nid = "acme-llm-9"\n[[model.price]]\nsource = "https://acme.example/pricing"\n'
        "checked = 2026-01-01\ninput = 1.00\noutput = 2.00\n"
    )
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[pricing]\ndir = "{prices}"\n')
    run("import", str(write_jsonl(tmp_path / "e.jsonl", EVENTS)), "--db", str(db_path), "--config", str(cfg))
    out = run_json("report", "by", "model", "--since", "2026-03-01", "--until", "2026-03-31",
                   "--db", str(db_path), "--config", str(cfg))  # fmt: skip
    rows = {r["model"]: r for r in out["rows"]}
    # (7 + 1) input x $1/M + (3 + 1) output x $2/M = 0.000016
    assert rows["acme-llm-9"]["cost_usd"] == 0.000016
    assert out["totals"]["unpriced_requests"] == 0


def test_an_editor_lock_file_in_the_price_folder_breaks_no_command(tmp_path: Path, db_path: Path) -> None:
    """Emacs keeps ``.#acme.toml``, a dangling symlink, beside the table it edits: import, report
    and pricing list died with "unexpected error: FileNotFoundError" (exit 1). The lock file is
    no table: acme-llm-9 is priced as in the test above, $0.000016."""
    prices = tmp_path / "prices"
    prices.mkdir()
    (prices / "acme.toml").write_text(
        'provider = "acme"\n[[model]]\nid = "acme-llm-9"\n[[model.price]]\nsource = "https://acme.example/pricing"\n'
        "checked = 2026-01-01\ninput = 1.00\noutput = 2.00\n"
    )
    (prices / ".#acme.toml").symlink_to("alice@laptop.12345:1764300000")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[pricing]\ndir = "{prices}"\n')
    run("import", str(write_jsonl(tmp_path / "e.jsonl", EVENTS)), "--db", str(db_path), "--config", str(cfg))
    out = run_json("report", "by", "model", "--since", "2026-03-01", "--until", "2026-03-31",
                   "--db", str(db_path), "--config", str(cfg))  # fmt: skip
    assert {r["model"]: r for r in out["rows"]}["acme-llm-9"]["cost_usd"] == 0.000016
    listed = run_json("pricing", "list", "--config", str(cfg))
    assert "acme-llm-9" in {r["model"] for r in listed["rows"]}


def test_pricing_check_table_tells_rows_of_other_tiers_apart(tmp_path: Path, db_path: Path) -> None:
    """gpt-4o has no US-only price: its usage at standard@us, batch@us and priority@us is three
    unpriced rows of the same reason, which read as three identical lines; the table shows the
    Tier once a row is not standard. JSON is unchanged (service_tier was there)."""
    events = [
        {"event_id": t, "ts": "2026-05-01T00:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000,
         "service_tier": f"{t}@us"}
        for t in ("standard", "batch", "priority")
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    table = run("pricing", "check", "--db", str(db_path)).stdout
    assert "Tier" in next(line for line in table.splitlines() if line.startswith("Model"))
    lines = [" ".join(line.split()) for line in table.splitlines() if line.startswith("gpt-4o")]
    assert [line.split()[-1] for line in lines] == ["batch@us", "priority@us", "standard@us"]
    assert len(set(lines)) == 3
    rows = run_json("pricing", "check", "--db", str(db_path))["rows"]
    assert [sorted(r) for r in rows] == [
        ["model", "reason", "requests", "resolved", "service_tier", "total_tokens"]
    ] * 3
    assert {r["service_tier"] for r in rows} == {"standard@us", "batch@us", "priority@us"}
    # standard usage only: no Tier column (one row per model and reason)
    other = tmp_path / "std.duckdb"
    run("import", str(write_jsonl(tmp_path / "s.jsonl", EVENTS)), "--db", str(other))
    header = next(line for line in run("pricing", "check", "--db", str(other)).stdout.splitlines()
                  if line.startswith("Model"))  # fmt: skip
    assert "Tier" not in header


def test_pricing_show_gives_a_bound_off_utc_midnight_as_its_instant(tmp_path: Path) -> None:
    """A period from 2026-01-01T00:00:00+05:00 = 2025-12-31 19:00 UTC (00:00 - 5 h) until the
    TOML date 2026-06-01 (00:00 UTC), then one from 2026-06-01. The first bound was shown as
    the day 2025-12-31 (a change five hours into that day read as at its start); the dates stay
    dates. At 2025-12-31 18:59 UTC no period is valid: the note gives the instant too."""
    prices = tmp_path / "prices"
    prices.mkdir()
    price = 'source = "x"\nchecked = 2025-12-01\ninput = 1\noutput = 1\n'
    (prices / "p.toml").write_text(
        'provider = "acme"\n[[model]]\nid = "acme-1"\n'
        f"[[model.price]]\nfrom = 2026-01-01T00:00:00+05:00\nuntil = 2026-06-01\n{price}"
        f"[[model.price]]\nfrom = 2026-06-01\n{price}"
    )
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[pricing]\ndir = "{prices}"\n')
    shown = run_json("pricing", "show", "acme-1", "--config", str(cfg))
    assert [(r["valid_from"], r["valid_to"]) for r in shown["rows"]] == [
        ("2025-12-31T19:00:00+00:00", "2026-06-01"),
        ("2026-06-01", None),
    ]
    assert shown["totals"] == {"rows": 2, "periods": 2}
    table = run("pricing", "show", "acme-1", "--config", str(cfg)).stdout
    assert "From (UTC)" in table and "Until (UTC)" in table
    lines = table.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("2025-12-31"))
    # at the CLI's 80 columns the instant folds under its day: "2025-12-31" then "19:00:00"
    assert lines[first].split()[:2] == ["2025-12-31", "2026-06-01"] and lines[first + 1].split() == ["19:00:00"]
    none = run_json("pricing", "show", "acme-1", "--at", "2025-12-31T18:59Z", "--config", str(cfg))
    assert none["rows"] == []
    assert none["notes"] == [
        "No price of acme-1 is valid at 2025-12-31 18:59 UTC: its periods are 2025-12-31 19:00 UTC – "
        "2026-06-01; 2026-06-01 – open (from inclusive, until exclusive). Usage of that date is unpriced."
    ]
    # dates only: the headers stay as they were
    plain = run("pricing", "show", "o3").stdout
    assert "From (UTC)" not in plain and "2025-06-10" in plain


def test_demo_imports_and_shows_the_month_overview(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    result = run("demo", "--db", str(db), "--days", "20")
    assert "Usage overview" in result.stdout and "Model distribution" in result.stdout
    assert "Imported" in result.stderr
    status = run_json("db", "status", "--db", str(db))
    assert status["overview"]["events"] > 1000
    again = run_json("demo", "--db", str(db), "--days", "20")
    assert again["report"] == "month" and again["totals"]["requests"] > 0


def test_demo_writes_its_quota_and_teams_beside_its_database(tmp_path: Path, monkeypatch: Any) -> None:
    """Later reports on the demo database see the quota and the member -> team mapping the demo
    showed, through the config written beside it (and only through it: the env names nothing)."""
    db = tmp_path / "demo.duckdb"
    result = run("demo", "--db", str(db), "--days", "20")
    cfg = tmp_path / "demo.toml"
    assert f"export USAGECTL_DB={db} USAGECTL_CONFIG={cfg}" in result.stderr
    assert "usagectl report month" in result.stderr
    # a relative --db is printed absolute: the line is pasted in other folders (QA)
    monkeypatch.chdir(tmp_path)
    rel = run("demo", "--db", "d2/mine.duckdb", "--days", "3").stderr
    assert (
        f"export USAGECTL_DB={tmp_path / 'd2' / 'mine.duckdb'} USAGECTL_CONFIG={tmp_path / 'd2' / 'mine.toml'}" in rel
    )
    text = cfg.read_text(encoding="utf-8")
    assert text.startswith("# Written by `usagectl demo`")
    assert 'path = "demo.duckdb"' in text  # relative to the config, which sits beside the database

    monkeypatch.setenv("USAGECTL_CONFIG", str(cfg))  # no --db: [database] path finds the demo database
    month = run_json("report", "month")
    assert month["overview"]["quota_tokens"] == 600_000_000  # DEMO_QUOTA_TOKENS
    since = ("--since", "20d")
    teams = {r["team"]: r for r in run_json("report", "by", "team", *since)["rows"]}
    members = {r["member"]: r for r in run_json("report", "by", "member", *since)["rows"]}
    # every demo member is mapped (alice, bob, heidi -> platform; carol, david, grace -> growth;
    # erin, frank -> research), so (none) holds only events with no member (and no team) at all,
    # and platform holds every request of its three members (plus member-less events naming it)
    assert set(teams) - {"(none)"} == {"platform", "growth", "research"}
    assert teams.get("(none)", {}).get("requests", 0) <= members.get("(none)", {}).get("requests", 0)
    platform = sum(members[m]["requests"] for m in ("alice", "bob", "heidi") if m in members)
    assert teams["platform"]["requests"] >= platform > 0


def test_demo_leaves_a_config_it_did_not_write_alone(tmp_path: Path) -> None:
    db = tmp_path / "mine.duckdb"
    cfg = tmp_path / "mine.toml"
    cfg.write_text("[plan]\nmonthly_token_quota = 5\n", encoding="utf-8")
    result = run("demo", "--db", str(db), "--days", "3")
    assert cfg.read_text(encoding="utf-8") == "[plan]\nmonthly_token_quota = 5\n"
    assert "demo config not written" in result.stderr
    assert f"usagectl report month --db {db}" in result.stderr


def test_demo_refuses_a_database_with_data_it_did_not_write(tmp_path: Path, db_path: Path) -> None:
    """`demo --db REAL.duckdb` added ~20k synthetic events to a real database (exit 0)."""
    run("import", str(write_jsonl(tmp_path / "e.jsonl", EVENTS)), "--db", str(db_path))
    err = run("demo", "--db", str(db_path), "--days", "3", expect=2).stderr
    # the 3 events of e.jsonl are not the demo's
    assert f"usagectl: error: {db_path} holds data not written by the demo (3 events)" in err
    assert "name a new path" in err
    assert run_json("db", "status", "--db", str(db_path))["overview"]["events"] == 3
    assert not db_path.with_suffix(".toml").exists()


def test_demo_keeps_real_logs_imported_into_its_default_database(tmp_path: Path) -> None:
    """The README points USAGECTL_DB at the default demo database, then imports real logs: a
    second `usagectl demo` deleted them without a word, exit 0 (QA finding; `--db` was refused)."""
    from usagectl.services.demo_run import default_demo_db

    run("demo", "--days", "3")
    default = default_demo_db()
    before = run_json("db", "status", "--db", str(default))["overview"]["events"]
    run("import", str(write_jsonl(tmp_path / "e.jsonl", EVENTS)), "--db", str(default))
    err = run("demo", "--days", "3", expect=2).stderr
    assert f"{default} holds data not written by the demo (3 events)" in err and "keep your data" in err
    assert run_json("db", "status", "--db", str(default))["overview"]["events"] == before + 3


def _daily(db: Path) -> list[tuple[str, int, int, Any]]:
    rows = run_json("report", "daily", "--since", "9d", "--db", str(db))["rows"]
    return [(r["date"], r["requests"], r["input_tokens"], r["cost_usd"]) for r in rows]


def test_demo_rerun_on_its_database_equals_a_fresh_one(tmp_path: Path) -> None:
    """`demo --days 3` then `--days 10` on one database mixed the two datasets (ids numbered by
    position: 718 of the new events dropped as duplicates of other old ones, the rest added)."""
    again, fresh = tmp_path / "again.duckdb", tmp_path / "fresh.duckdb"
    run("demo", "--db", str(again), "--days", "3")
    run("demo", "--db", str(again), "--days", "10")
    run("demo", "--db", str(fresh), "--days", "10")
    assert _daily(again) == _daily(fresh)
    # `--since 9d`: the last 9 days of the 10-day window, each with demo requests but today,
    # which has none yet soon after midnight (the demo ends now); the mixed database had a
    # first day of 0 requests
    days = _daily(again)
    assert len(_daily(fresh)) == 9 and all(requests > 0 for _, requests, _, _ in days[:-1])
    # another seed replaces the data too: same seed, same data
    run("demo", "--db", str(again), "--days", "10", "--seed", "8")
    assert _daily(again) != _daily(fresh)
    run("demo", "--db", str(again), "--days", "10")
    assert _daily(again) == _daily(fresh)


def test_demo_keeps_a_database_whose_only_data_is_rejects_of_another_file(tmp_path: Path, db_path: Path) -> None:
    """No event, but a real file's import batch and reject: not the demo's to delete."""
    run("import", str(write_jsonl(tmp_path / "bad.jsonl", ['{"oops'])), "--db", str(db_path))
    err = run("demo", "--db", str(db_path), "--days", "3", expect=2).stderr
    assert "holds data not written by the demo (1 other imported file)" in err
    ov = run_json("db", "status", "--db", str(db_path))["overview"]
    assert (ov["events"], ov["rejects"], ov["import_batches"]) == (0, 1, 1)


def test_demo_refuses_a_database_with_a_registered_source(tmp_path: Path, db_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    write_jsonl(logs / "agent.jsonl", EVENTS)
    run("source", "add", str(logs), "--name", "agent", "--db", str(db_path))
    err = run("demo", "--db", str(db_path), "--days", "3", expect=2).stderr
    assert "holds data not written by the demo (" in err and "1 source)" in err


def test_demo_uses_its_own_quota_and_members_not_the_active_configs(tmp_path: Path) -> None:
    """A project config's 5M quota made the demo show "Quota used 2,002.6 %" and was saved into
    the demo config; its member mapping was merged in too."""
    cfg = tmp_path / "project.toml"
    cfg.write_text(
        '[plan]\nmonthly_token_quota = 5_000_000\n[members.alice]\nteam = "elsewhere"\n[members.zed]\nteam = "z"\n',
        encoding="utf-8",
    )
    db = tmp_path / "demo.duckdb"
    out = run_json("demo", "--db", str(db), "--days", "3", "--config", str(cfg))
    assert out["overview"]["quota_tokens"] == 600_000_000  # DEMO_QUOTA_TOKENS, not 5,000,000
    written = (tmp_path / "demo.toml").read_text(encoding="utf-8")
    assert "monthly_token_quota = 600000000" in written
    assert "[members.zed]" not in written
    assert '[members.alice]\nteam = "platform"' in written  # the demo's alice (DEMO_MEMBERS)


def test_db_status_counts_billed_cost_lines(tmp_path: Path, db_path: Path) -> None:
    """A database holding only an imported cost report is not "0 events" and nothing else: its
    two Anthropic cost lines of 2025-11-03 and -04 (UTC days) are counted."""
    page = {"data": [
        {"starting_at": f"2025-11-0{d}T00:00:00Z", "ending_at": f"2025-11-0{d + 1}T00:00:00Z", "results": [
            {"amount": "12.5", "currency": "USD", "cost_type": "tokens", "token_type": "output_tokens",
             "model": "claude-haiku-4-5", "service_tier": "standard", "context_window": "0-200k",
             "description": "Claude Haiku 4.5 output", "workspace_id": None}]}
        for d in (3, 4)
    ], "has_more": False, "next_page": None}  # fmt: skip
    (tmp_path / "cost.json").write_text(json.dumps(page))
    run("import", str(tmp_path / "cost.json"), "--format", "anthropic-cost", "--db", str(db_path))
    ov = run_json("db", "status", "--db", str(db_path))["overview"]
    assert (ov["events"], ov["billed_lines"], ov["first_billed_day"], ov["last_billed_day"]) == (
        0, 2, "2025-11-03", "2025-11-04")  # fmt: skip
    assert "Billed cost lines" in run("db", "status", "--db", str(db_path)).stdout


def test_an_empty_range_over_a_database_with_events_elsewhere_says_where_they_are(
    tmp_path: Path, db_path: Path
) -> None:
    """QA: logs of 2025 under the default "this month" read as "No rows." with no word. The events
    are 2026-03-01 10:00Z .. 2026-03-03 10:00Z; in Pacific/Kiritimati (+14) that is 03-02 .. 03-04.
    A range that holds events, emptied by a filter, gets the filter's note instead."""
    run("import", str(write_jsonl(tmp_path / "e.jsonl", EVENTS)), "--db", str(db_path))
    april = ("--since", "2026-04-01", "--until", "2026-04-30", "--db", str(db_path))
    doc = run_json("report", "by", "model", *april, "--tz", "Pacific/Kiritimati")
    assert doc["notes"] == [
        "No events at all from 2026-04-01 to 2026-04-30 (Pacific/Kiritimati); the database's events are dated "
        "2026-03-02 to 2026-03-04: give the range, e.g. --since 2026-03-02 --until 2026-03-04."
    ]
    march = ("--since", "2026-03-01", "--until", "2026-03-31", "--tz", "UTC", "--db", str(db_path))
    filtered = run_json("report", "by", "model", *march, "--member", "nobody")
    assert [n for n in filtered["notes"] if "No events at all" in n] == []
    assert any("No member 'nobody' in the data" in n for n in filtered["notes"])


@pytest.mark.parametrize("cmd", [("cost",), ("forecast",), ("anomalies",), ("optimize",)])
def test_a_filter_value_no_event_holds_is_named_by_the_insight_commands(
    tmp_path: Path, db_path: Path, cmd: tuple[str, ...]
) -> None:
    """QA: `cost`, `forecast`, `anomalies` and `optimize --cost-center cc-10` (cc-100 meant)
    answered with empty results and no word, where every report names the value and its close
    matches. Their rows are no usage rows, so the note is given whatever they hold."""
    events = [{**e, "model_raw": "gpt-4o", "project": "apollo"} for e in EVENTS]
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    doc = run_json(*cmd, "--project", "apolo", "--db", str(db_path))
    assert "No project 'apolo' in the data (did you mean apollo?)." in doc["notes"]
    assert not [
        n for n in run_json(*cmd, "--project", "apollo", "--db", str(db_path)).get("notes") or [] if "No project" in n
    ]
