"""Renderers: golden files for every format plus hand-computed money and safety checks.

Rewrite the golden files with ``UPDATE_GOLDEN=1 pytest tests/test_render.py`` and review the diff.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text

from usagectl.models import Column, FileImportResult, ImportSummary, Report, Section
from usagectl.render import (
    OutputFormat,
    format_int,
    format_money,
    json_dumps,
    make_console,
    render_import_summary,
    render_report,
)

GOLDEN = Path(__file__).parent / "data" / "golden"
ANSI = "\x1b["

# --------------------------------------------------------------------------- fixtures


def by_model_report() -> Report:
    """Three models over January, one of them unknown to the price tables (unpriced)."""
    columns = (
        Column("model", "Model"),
        Column("requests", "Requests", "int"),
        Column("input_tokens", "Input tokens", "int"),
        Column("output_tokens", "Output tokens", "int"),
        Column("cost_usd", "Cost", "money"),
        Column("share_pct", "Share", "pct"),
    )
    rows = (
        {
            "model": "claude-sonnet-4-5",
            "requests": 1204,
            "input_tokens": 3_512_044,
            "output_tokens": 412_907,
            "cost_usd": Decimal("16.729737"),
            "share_pct": 72.4,
        },
        {
            "model": "gpt-4o-mini",
            "requests": 88,
            "input_tokens": 120_000,
            "output_tokens": 30_500,
            "cost_usd": Decimal("0.0003125"),
            "share_pct": Decimal("3.125"),
        },
        {
            "model": "acme-llm-x",
            "requests": 17,
            "input_tokens": 45_000,
            "output_tokens": 9_000,
            "cost_usd": None,
            "share_pct": None,
        },
    )
    totals = {
        "requests": 1309,
        "input_tokens": 3_677_044,
        "output_tokens": 452_407,
        "cost_usd": Decimal("16.7300495"),
    }
    return Report(
        name="by-model",
        title="Usage by model",
        filters={"since": dt.date(2025, 1, 1), "until": dt.date(2025, 1, 31), "tz": "Europe/Paris"},
        columns=columns,
        rows=rows,
        totals=totals,
        notes=("1 model is unpriced (acme-llm-x: 54,000 tokens); its cost is not in the total.",),
    )


def month_report() -> Report:
    """``report month``: overview above, a daily table, a model-distribution section, notes."""
    columns = (
        Column("day", "Day", "date"),
        Column("requests", "Requests", "int"),
        Column("tokens", "Tokens", "int"),
        Column("cost_usd", "Cost", "money"),
    )
    rows = (
        {"day": dt.date(2025, 3, 1), "requests": 40, "tokens": 1_250_000, "cost_usd": Decimal("1234.5")},
        {"day": dt.date(2025, 3, 2), "requests": 0, "tokens": 0, "cost_usd": Decimal(0)},
        {
            "day": dt.date(2025, 3, 3),
            "requests": 12,
            "tokens": 98_765,
            "cost_usd": Decimal("0.0031"),
            "spike": True,
        },
    )
    totals = {"requests": 52, "tokens": 1_348_765, "cost_usd": Decimal("1234.5031")}
    distribution = Section(
        key="models",
        title="Model distribution",
        columns=(
            Column("model", "Model"),
            Column("tokens", "Tokens", "int"),
            Column("cost_usd", "Cost", "money"),
            Column("share_pct", "Share", "pct"),
        ),
        rows=(
            {"model": "claude-opus-4-1", "tokens": 1_000_000, "cost_usd": Decimal(1200), "share_pct": 74.14},
            {
                "model": "claude-haiku-3-5",
                "tokens": 348_765,
                "cost_usd": Decimal("34.5031"),
                "share_pct": 25.86,
            },
        ),
    )
    return Report(
        name="month",
        title="March 2025",
        filters={"month": "2025-03", "tz": "UTC", "model": None},
        columns=columns,
        rows=rows,
        totals=totals,
        overview=(
            ("tokens", "Tokens used", 1_348_765),
            ("quota_pct", "Of plan quota", 67.44),
            ("daily_avg_usd", "Daily average", Decimal("411.501033")),
            ("cost_usd", "Cost so far", Decimal("1234.5031")),
            ("projected_usd", "Projected month end", Decimal("12756.532")),
        ),
        sections=(distribution,),
        notes=(
            "Projection: linear on the last 7 days.",
            "Cost | pipes | in notes are kept as they are.",
        ),
    )


def wide_report(n_rows: int = 4) -> Report:
    """Ten columns with long headers and big numbers: the 80-column case."""
    keys = [
        ("input_tokens", "Input tokens"),
        ("cache_read_tokens", "Cache read tokens"),
        ("cache_write_5m_tokens", "Cache write 5m tokens"),
        ("cache_write_1h_tokens", "Cache write 1h tokens"),
        ("output_tokens", "Output tokens"),
        ("reasoning_tokens", "Reasoning tokens"),
    ]
    columns = (
        Column("model", "Model"),
        Column("requests", "Requests", "int"),
        *(Column(k, h, "int") for k, h in keys),
        Column("cost_usd", "Cost", "money"),
        Column("share_pct", "Share", "pct"),
    )
    rows: tuple[dict[str, Any], ...] = tuple(
        {
            "model": f"claude-sonnet-4-5-20250929-variant-{i}",
            "requests": 123_456 * (i + 1),
            **{k: 987_654_321 * (i + 1) for k, _ in keys},
            "cost_usd": Decimal("123456.789") * (i + 1),
            "share_pct": 25.0,
        }
        for i in range(n_rows)
    )
    totals = {"requests": sum(r["requests"] for r in rows), "cost_usd": sum(r["cost_usd"] for r in rows)}
    return Report("wide", "Wide", {}, columns, rows, totals)


REPORTS = {"by_model": by_model_report, "month": month_report}
SUFFIX = {
    OutputFormat.JSON: "json",
    OutputFormat.CSV: "csv",
    OutputFormat.MARKDOWN: "md",
    OutputFormat.TABLE: "table.txt",
}


def render(report: Report, fmt: OutputFormat, **kw: object) -> str:
    buf = io.StringIO(newline="")
    render_report(report, fmt, buf, **kw)  # type: ignore[arg-type]
    return buf.getvalue()


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.exists(), f"missing golden {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_bytes().decode("utf-8")


# --------------------------------------------------------------------------- golden


@pytest.mark.parametrize("fmt", list(OutputFormat))
@pytest.mark.parametrize("report_name", sorted(REPORTS))
def test_golden(report_name: str, fmt: OutputFormat) -> None:
    text = render(REPORTS[report_name](), fmt, width=100, color=False)
    check_golden(f"{report_name}.{SUFFIX[fmt]}", text)


def test_import_summary_golden() -> None:
    summary = ImportSummary(
        files=[
            FileImportResult("logs/claude/2025-03.jsonl", "claude-code", 1000, 950, 40, 10),
            FileImportResult(
                "exports/openai-usage.csv",
                "openai-usage",
                300,
                284,
                10,
                6,
                warnings=["column 'project_name' is unknown and was kept in extra"],
            ),
            FileImportResult("logs/claude/2025-02.jsonl", "claude-code", skipped_unchanged=True),
        ],
        seconds=0.4213,
    )
    buf = io.StringIO()
    render_import_summary(summary, buf, color=False)
    text = buf.getvalue()
    assert "Imported 1,234 events from 3 files (records 1,300, duplicates 50, rejected 16) in 0.42 s" in text
    assert "usagectl db rejects" in text
    assert ANSI not in text
    check_golden("import_summary.txt", text)


def test_import_summary_many_files_and_no_rejects() -> None:
    files = [FileImportResult(f"f{i}.jsonl", "jsonl", 2, 2) for i in range(12)]
    files[5].rejected = 1
    buf = io.StringIO()
    render_import_summary(ImportSummary(files=files, seconds=1.0), buf, color=False)
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("f5.jsonl")  # only the file with rejects gets its own line
    assert lines[1] == "… and 11 more files"
    assert lines[2] == "Imported 24 events from 12 files (records 24, duplicates 0, rejected 1) in 1.00 s"

    # nothing to show of any file: no dangling "… and 12 more files" under no line
    files[5].rejected = 0
    files[7].skipped_unchanged = True
    buf = io.StringIO()
    render_import_summary(ImportSummary(files=files, seconds=1.0), buf, color=False)
    assert (
        buf.getvalue().splitlines()[0]
        == "12 files (1 unchanged), none with rejects or warnings (--json lists each file)"
    )
    for f in files:
        f.skipped_unchanged = True
    buf = io.StringIO()
    render_import_summary(ImportSummary(files=files, seconds=1.0), buf, color=False)
    assert buf.getvalue().splitlines()[0] == "12 files, all unchanged since their last import"

    buf = io.StringIO()
    render_import_summary(ImportSummary([FileImportResult("a.jsonl", "jsonl", 1, 1)], 0.0), buf, color=False)
    assert buf.getvalue().splitlines()[-1] == (
        "Imported 1 event from 1 file (records 1, duplicates 0, rejected 0) in 0.00 s"
    )


# --------------------------------------------------------------------------- money


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.0003125", "0.000312"),  # half-even: 2 is even, stays
        ("0.0003135", "0.000314"),  # half-even: 3 is odd, goes up
        ("12.500000", "12.5"),
        ("100", "100"),
        ("0", "0"),
        ("-0.0000001", "0"),  # never -0
        ("1E-7", "0"),  # never an exponent
        ("-0.5", "-0.5"),
        ("123456789012345678901234.5678915", "123456789012345678901234.567892"),
    ],
)
def test_json_money_is_decimal_half_even_6_places(value: str, expected: str) -> None:
    assert json_dumps(Decimal(value)) == expected
    assert json.loads(json_dumps({"c": Decimal(value)}), parse_float=Decimal)["c"] == Decimal(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("1234.567"), "$1,234.57"),
        (Decimal("0.0031"), "$0.0031"),
        (Decimal("0.003149"), "$0.0031"),  # two significant digits under a cent
        (Decimal("0.00999"), "$0.01"),
        (Decimal(0), "$0.00"),
        (Decimal("-0.5"), "-$0.50"),
        (Decimal("0.0000001"), "<$0.000001"),
        (None, "unpriced"),
    ],
)
def test_format_money(value: Decimal | None, expected: str) -> None:
    assert format_money(value) == expected


def test_format_int() -> None:
    assert format_int(1_234_567) == "1,234,567"
    assert format_int(0) == "0"
    assert format_int(None) == "–"


def test_table_shows_1234_5_as_dollars_and_cents() -> None:
    text = render(month_report(), OutputFormat.TABLE, width=100, color=False)
    assert "$1,234.50" in text


# --------------------------------------------------------------------------- JSON


def test_json_contract() -> None:
    doc = json.loads(render(by_model_report(), OutputFormat.JSON), parse_float=Decimal)
    assert list(doc) == ["report", "filters", "rows", "totals", "notes"]  # no overview, no sections; notes when any
    assert doc["report"] == "by-model"
    assert doc["filters"]["since"] == "2025-01-01"
    for row in doc["rows"]:
        for key in ("requests", "input_tokens", "output_tokens"):
            assert type(row[key]) is int
    assert doc["rows"][1]["cost_usd"] == Decimal("0.000312")
    assert doc["rows"][2]["cost_usd"] is None  # unpriced is null, never 0
    assert doc["totals"]["cost_usd"] == Decimal("16.73005")  # 16.7300495 half-even
    assert doc["rows"][0]["share_pct"] == Decimal("72.4")
    assert doc["rows"][1]["share_pct"] == Decimal("3.12")  # 3.125 half-even to 2 places


def test_json_overview_sections_and_extra_keys() -> None:
    doc = json.loads(render(month_report(), OutputFormat.JSON), parse_float=Decimal)
    assert list(doc) == ["report", "filters", "rows", "totals", "overview", "models", "notes"]
    assert doc["overview"]["daily_avg_usd"] == Decimal("411.501033")
    assert doc["rows"][2]["spike"] is True  # keys beyond the columns are kept, in order
    assert list(doc["rows"][2]) == ["day", "requests", "tokens", "cost_usd", "spike"]
    assert doc["models"][0]["cost_usd"] == 1200


def test_json_dumps_general_values() -> None:
    aware = dt.datetime(2025, 3, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    obj = {
        "d": dt.date(2025, 3, 1),
        "t": aware,
        "s": 'a"b\\c\n\u00e9',
        "n": None,
        "f": 0.5,
        "nan": float("nan"),
        "l": (1, 2),
        "e": OutputFormat.CSV,
        "empty": {},
        "b": False,
    }
    text = json_dumps(obj)
    back = json.loads(text)
    assert back == {
        "d": "2025-03-01",
        "t": "2025-03-01T12:30:00+01:00",
        "s": 'a"b\\c\n\u00e9',
        "n": None,
        "f": 0.5,
        "nan": None,
        "l": [1, 2],
        "e": "csv",
        "empty": {},
        "b": False,
    }
    assert json.loads(json_dumps(obj, indent=None)) == back
    assert "\n" not in json_dumps(obj, indent=None)
    with pytest.raises(TypeError):
        json_dumps(object())


# --------------------------------------------------------------------------- CSV


def test_csv_neutralises_formulas_in_text_but_not_numbers() -> None:
    columns = (
        Column("member", "Member"),
        Column("tokens", "Tokens", "int"),
        Column("cost_usd", "Cost", "money"),
    )
    rows = (
        {"member": "=cmd|' /C calc'!A0", "tokens": -3, "cost_usd": Decimal("-0.5")},
        {"member": "+1", "tokens": 1, "cost_usd": Decimal("0.0003135")},
        {"member": "-2", "tokens": 2, "cost_usd": None},
        {"member": "@SUM(1)", "tokens": 3, "cost_usd": Decimal(0)},
        {"member": "\tx", "tokens": 4, "cost_usd": Decimal(1)},
        {"member": 'alice, "the" admin', "tokens": 1_000_000, "cost_usd": Decimal("1234.5")},
    )
    report = Report("by-member", "By member", {}, columns, rows, {"tokens": 1_000_007})
    text = render(report, OutputFormat.CSV)
    assert text.endswith("\r\n") and "\r\n\r\n" not in text
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed == [
        ["member", "tokens", "cost_usd"],
        ["'=cmd|' /C calc'!A0", "-3", "-0.500000"],
        ["'+1", "1", "0.000314"],
        ["'-2", "2", ""],
        ["'@SUM(1)", "3", "0.000000"],
        ["'\tx", "4", "1.000000"],
        ['alice, "the" admin', "1000000", "1234.500000"],
    ]  # and no totals row


# --------------------------------------------------------------------------- Markdown


def test_markdown_escapes_pipes_and_bolds_totals() -> None:
    report = Report(
        "by-member",
        "By member",
        {},
        (Column("member", "Member"), Column("cost_usd", "Cost", "money")),
        ({"member": "a|b", "cost_usd": Decimal(1)},),
        {"cost_usd": Decimal(1)},
    )
    lines = render(report, OutputFormat.MARKDOWN).splitlines()
    assert "| a\\|b | $1.00 |" in lines
    assert "| **Total** | **$1.00** |" in lines


# --------------------------------------------------------------------------- table


def ten_column_report() -> Report:
    """What ``report by model`` with every bucket looks like for a busy team."""
    columns = (
        Column("model", "Model"),
        Column("requests", "Requests", "int"),
        Column("input_tokens", "Input tokens", "int"),
        Column("cache_read_tokens", "Cache read", "int"),
        Column("cache_write_tokens", "Cache write", "int"),
        Column("output_tokens", "Output tokens", "int"),
        Column("reasoning_tokens", "Reasoning", "int"),
        Column("cost_usd", "Cost", "money"),
        Column("cost_per_request", "Per request", "money"),
        Column("share_pct", "Share", "pct"),
    )
    rows = (
        {
            "model": "claude-sonnet-4-5-20250929",
            "requests": 12_345,
            "input_tokens": 1_234_567,
            "cache_read_tokens": 98_765_432,
            "cache_write_tokens": 4_567_890,
            "output_tokens": 2_345_678,
            "reasoning_tokens": 345_678,
            "cost_usd": Decimal("1234.5678"),
            "cost_per_request": Decimal("0.1"),
            "share_pct": 84.5,
        },
        {
            "model": "gpt-5-mini",
            "requests": 2_345,
            "input_tokens": 234_567,
            "cache_read_tokens": 1_234_567,
            "cache_write_tokens": 0,
            "output_tokens": 123_456,
            "reasoning_tokens": 98_765,
            "cost_usd": Decimal("226.41"),
            "cost_per_request": Decimal("0.0965"),
            "share_pct": 15.5,
        },
        {
            "model": "mystery-model",
            "requests": 12,
            "input_tokens": 3_456,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "output_tokens": 789,
            "reasoning_tokens": 0,
            "cost_usd": None,
            "cost_per_request": None,
            "share_pct": None,
        },
    )
    totals = {
        "requests": 14_702,
        "input_tokens": 1_472_590,
        "cache_read_tokens": 99_999_999,
        "cache_write_tokens": 4_567_890,
        "output_tokens": 2_469_923,
        "reasoning_tokens": 444_443,
        "cost_usd": Decimal("1460.9778"),
    }
    return Report("by-model", "Usage by model", {"month": "2025-03"}, columns, rows, totals)


def test_ten_columns_fit_80_without_folding_numbers_or_words() -> None:
    text = render(ten_column_report(), OutputFormat.TABLE, width=80, color=False)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    for word in ("Requests", "Reasoning", "$1,234.57", "$1,460.98", "unpriced", "84.5%", "98.8M", "100M"):
        assert word in text  # headers wrap at spaces; numbers are abbreviated, never folded
    assert "exact counts with --format csv or json" in text
    # with room, the exact numbers are shown
    wide = render(ten_column_report(), OutputFormat.TABLE, width=140, color=False)
    assert "98,765,432" in wide and "M =" not in wide


@pytest.mark.parametrize(
    ("name", "width", "lines"),
    [
        ("claude-sonnet-4-5", 10, ["claude-", "sonnet-4-5"]),  # 7 + 10 > 10: a new line at the joint
        ("claude-sonnet-4-5", 7, ["claude-", "sonnet-", "4-5"]),
        ("gpt-4o-mini", 7, ["gpt-4o-", "mini"]),
        ("org/project_alpha.v2", 9, ["org/", "project_", "alpha.v2"]),
        ("(unattributed)", 8, ["(unattributed)"]),  # no joint: left whole for Rich to fold
        ("differs (unpriced usage)", 9, ["differs (unpriced usage)"]),  # words fit: wraps at spaces
        ("a-b", 7, ["a-b"]),  # fits
    ],
)
def test_long_names_break_at_their_joints(name: str, width: int, lines: list[str]) -> None:
    from usagectl.render.table import _break_names

    assert _break_names(Text(name), width).plain.split("\n") == lines
    styled = Text(name, style="yellow")
    assert _break_names(styled, width).style == "yellow"


def test_reconcile_shaped_table_at_80_keeps_header_words_and_breaks_names_at_joints() -> None:
    """Nine columns that need 75 cells at their narrowest whole-word widths on 72: the model and
    status columns (longer values than their width anyway) give way before a header word folds,
    and a model name wraps at its hyphens."""
    from usagectl.services.reconcile import _VALUE_COLUMNS

    keys = (Column("day", "Date (UTC)"), Column("provider", "Provider"), Column("model", "Model"))
    columns = keys + tuple(c for c in _VALUE_COLUMNS if c.in_table)  # what `reconcile` shows
    rows = tuple(
        {"day": "2025-11-03", "provider": "anthropic", "model": m, "computed_usd": Decimal("3.61"),
         "billed_usd": Decimal("4.81"), "diff_usd": Decimal("-1.2"), "diff_pct": -25.0, "unpriced_tokens": 65_000,
         "status": st}
        for m, st in (("claude-sonnet-4-5", "differs (unpriced usage)"), ("claude-haiku-4-5", "match"))
    )  # fmt: skip
    report = Report("reconcile", "Computed vs billed", {}, columns, rows, {})
    text = render(report, OutputFormat.TABLE, width=80, color=False)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    words = set(text.split())
    for word in ("Computed", "Billed", "Unpriced", "tokens", "Provider", "anthropic", "2025-11-03", "(unpriced"):
        assert word in words, word  # whole: nothing folded inside a header word or a value
    # the names wrap at their joints: every piece of them on a line ends with "-" or ends the name
    pieces = [w for w in words if w.startswith(("claude", "sonnet", "haiku"))]
    assert "claude-" in pieces and len(pieces) >= 3, pieces
    assert all(w.endswith("-") or w in ("sonnet-4-5", "haiku-4-5") for w in pieces), pieces
    assert "claude-sonnet-4-5" not in words  # it did have to wrap


@pytest.mark.parametrize("width", [40, 60, 80, 100])
@pytest.mark.parametrize("factory", [ten_column_report, wide_report, by_model_report, month_report])
def test_no_line_exceeds_width(factory: object, width: int) -> None:
    text = render(factory(), OutputFormat.TABLE, width=width, color=False)  # type: ignore[operator]
    assert max(len(line) for line in text.splitlines()) <= width


def test_no_ansi_without_color() -> None:
    for factory in (by_model_report, month_report):
        assert ANSI not in render(factory(), OutputFormat.TABLE, width=100, color=False)
    assert ANSI in render(by_model_report(), OutputFormat.TABLE, width=100, color=True)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_color_respects_tty_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert ANSI not in render(by_model_report(), OutputFormat.TABLE, width=100)  # not a TTY
    tty = FakeTTY()
    render_report(by_model_report(), OutputFormat.TABLE, tty, width=100)
    assert ANSI in tty.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    tty = FakeTTY()
    render_report(by_model_report(), OutputFormat.TABLE, tty, width=100)
    assert ANSI not in tty.getvalue()
    console = make_console(FakeTTY(), width=50)
    assert console.width == 50 and not console.soft_wrap and console.color_system is None


def test_empty_report_says_so() -> None:
    report = Report("by-model", "Usage by model", {}, by_model_report().columns, (), {})
    assert "No rows." in render(report, OutputFormat.TABLE, width=80, color=False)
    assert "_No rows._" in render(report, OutputFormat.MARKDOWN)
    assert render(report, OutputFormat.CSV) == "model,requests,input_tokens,output_tokens,cost_usd,share_pct\r\n"
    assert json.loads(render(report, OutputFormat.JSON))["rows"] == []


# --------------------------------------------------------------------------- dispatch


def test_every_format_renders() -> None:
    for fmt in OutputFormat:
        assert render(month_report(), fmt, width=80, color=False)
    assert render(month_report(), "json") == render(month_report(), OutputFormat.JSON)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        render(month_report(), "yaml")  # type: ignore[arg-type]


def test_json_output_does_not_import_rich() -> None:
    code = (
        "import io, sys\n"
        "from usagectl.render import render_report, OutputFormat\n"
        "from usagectl.models import Report\n"
        "render_report(Report('r', 'R', {}, (), (), {}), OutputFormat.JSON, io.StringIO())\n"
        "assert 'rich' not in sys.modules, sorted(m for m in sys.modules if m.startswith('rich'))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_format_date_shows_a_utc_moment_without_its_offset() -> None:
    import datetime as dt

    from usagectl.render.formats import format_date

    utc = dt.UTC
    assert format_date(dt.datetime(2026, 11, 26, 3, 7, 26, tzinfo=utc)) == "2026-11-26 03:07:26"
    assert format_date(dt.datetime(2026, 11, 26, 3, 7, 26, 500, tzinfo=utc)) == "2026-11-26 03:07:26.000500"
    # another offset, a naive moment and a date keep their ISO form
    plus2 = dt.timezone(dt.timedelta(hours=2))
    assert format_date(dt.datetime(2026, 11, 26, 3, 7, 26, tzinfo=plus2)) == "2026-11-26T03:07:26+02:00"
    assert format_date(dt.datetime(2026, 11, 26, 3, 7, 26)) == "2026-11-26T03:07:26"
    assert format_date(dt.date(2026, 1, 2)) == "2026-01-02"


def test_import_summary_shows_replaced_records_so_the_counts_add_up() -> None:
    """records = imported + duplicates + replaced + rejected: a re-fetch that replaced stored
    records says so in the totals line and in a column of the per-file lines."""
    from usagectl.models import FileImportResult, ImportSummary
    from usagectl.render.summary import file_lines, totals_line

    refetch = FileImportResult(path="costs.jsonl", format="openai-costs", records=6, imported=1, duplicates=1,
                               rejected=2, replaced=2)  # fmt: skip
    other = FileImportResult(path="b.jsonl", format="jsonl", records=12, imported=10, duplicates=2)
    summary = ImportSummary(files=[refetch, other], seconds=0.5)
    assert totals_line(summary) == (
        "Imported 11 events and 2 replacements from 2 files (records 18, duplicates 3, replaced 2, rejected 2) "
        "in 0.50 s"
    )
    assert [line.plain for line in file_lines(summary.files)] == [
        "costs.jsonl   6 records   1 imported  1 duplicates  2 replaced  2 rejected",
        "b.jsonl      12 records  10 imported  2 duplicates  0 replaced  0 rejected",
    ]
    # three kinds stored: a list, not "A and B and C"
    lines = FileImportResult(path="costs.jsonl", format="openai-costs", records=6, imported=1, duplicates=1,
                             rejected=2, replaced=2, stored_as="cost lines")  # fmt: skip
    assert totals_line(ImportSummary(files=[lines, other], seconds=0.5)).startswith(
        "Imported 10 events, 1 cost line and 2 replacements from 2 files"
    )
    plain = ImportSummary(files=[other], seconds=0.5)  # nothing replaced: no such column or count
    assert "replaced" not in totals_line(plain) and "replaced" not in file_lines(plain.files)[0].plain


def test_overview_pairs_go_side_by_side_only_when_the_widest_of_each_side_fits() -> None:
    """Each overview item fits half of 80 columns on its own, but two pairs a row would be as
    wide as the longest label plus the longest value of each side (31 + 2 + 19 + 4 + 17 + 2 +
    19 = 94 > 80): one pair a row then, nothing cut with "…". At 120 columns, two a row."""
    overview = (
        ("path", "Database", "usage.duckdb"),
        ("size", "Size (bytes)", 2_109_440),
        ("code", "Schema version of this usagectl", 5),
        ("events", "Events", 8),
        ("first", "First event (UTC)", dt.datetime(2025, 11, 3, tzinfo=dt.UTC)),
        ("last", "Last event (UTC)", dt.datetime(2025, 11, 6, tzinfo=dt.UTC)),
        ("imports", "Last import (UTC)", dt.datetime(2026, 11, 26, 4, 29, 58, tzinfo=dt.UTC)),
    )
    report = Report(
        name="status", title="Status", filters={}, columns=(Column("k", "K"),), rows=(), totals={}, overview=overview
    )
    narrow = render(report, OutputFormat.TABLE, width=80, color=False)
    assert "…" not in narrow
    for value in ("usage.duckdb", "2,109,440", "2025-11-03 00:00:00", "2025-11-06 00:00:00", "2026-11-26 04:29:58"):
        assert value in narrow
    lines = [line for line in narrow.splitlines() if "(UTC)" in line]
    assert len(lines) == 3  # one pair a row
    wide = render(report, OutputFormat.TABLE, width=120, color=False)
    assert any("Database" in line and "First event (UTC)" in line for line in wide.splitlines())  # two a row


def test_an_overview_pair_over_half_the_width_keeps_its_place() -> None:
    """QA: a pair one cell over half of the width ("First message … CEST") went below the others,
    out of order. Lord Howe's repeated half hour: "+11" then "+1030", value 23 and 25 cells.

    By hand at 80 columns: the left side (5 rows, filled down) is 13 ("First message") + 2 + 25 =
    40 cells, the right side 26 ("Input tokens (incl. cache)") + 2 + 8 ("$0.00070") = 36; 40 + 4 +
    36 = 80 fits: two pairs a row, "Last message" beside "Cost" on the fifth row (it was below,
    12 + 2 + 25 = 39 > (80 - 4) // 2 = 38). At 60 columns two pairs do not fit: one pair a row,
    label column 26 + 2 + 25 = 53 cells, every line in order. A sentence longer than the width
    (90 cells) still gets its rows below (folded: 8 + 72 cells, then 18)."""
    sentence = "x" * 90
    overview = (
        ("chat_title", "Chat", "lh"),
        ("session_id", "Session", "s5"),
        ("messages", "Messages", 2),
        ("first", "First message", "2026-04-05 01:30:00 +11"),
        ("last", "Last message", "2026-04-05 01:30:00 +1030"),
        ("method", "Method", sentence),
        ("duration", "Duration", "30m 00s"),
        ("models", "Models", "gpt-4o"),
        ("input_tokens", "Input tokens (incl. cache)", 200),
        ("output_tokens", "Output tokens", 20),
        ("cost_usd", "Cost", Decimal("0.0007")),
    )
    report = Report(
        name="chat", title="Chat lh", filters={}, columns=(Column("k", "K"),), rows=(), totals={}, overview=overview
    )

    def lines(width: int) -> list[str]:
        text = render(report, OutputFormat.TABLE, width=width, color=False)
        assert "…" not in text
        return text.split("\n\n")[1].splitlines()

    wide = lines(80)
    # a side: its label column, 2 cells, its value column (right-aligned); 4 cells between sides
    assert len(wide) == 7 and wide[4] == "Last message   2026-04-05 01:30:00 +1030    Cost" + " " * 24 + "$0.00070"
    assert wide[3].startswith("First message    2026-04-05 01:30:00 +11    Output tokens")
    assert "".join(wide[5:]).replace(" ", "") == "Method" + sentence  # below, folded
    narrow = lines(60)
    labels = [lbl for _, lbl, _ in overview if lbl != "Method"]
    assert [line[: len(lbl)] for line, lbl in zip(narrow, labels)] == labels
    assert {len(line) for line in narrow[:10]} == {53}
    assert narrow[10].startswith("Method")


def test_import_summary_without_colour_needs_no_rich_console_and_matches_the_coloured_text() -> None:
    """Without colour the summary is plain text written without Rich (cron, CI and pipes pay no
    import for it); with colour Rich styles the same characters."""
    import re
    import subprocess
    import sys

    code = (
        "import io, sys\n"
        "from usagectl.models import FileImportResult, ImportSummary\n"
        "from usagectl.render import render_import_summary\n"
        "buf = io.StringIO()\n"
        "render_import_summary(ImportSummary([FileImportResult('a.jsonl', 'jsonl', 3, 2, rejected=1)], 0.5), buf)\n"
        "print(buf.getvalue(), end='')\n"
        "print('rich.console' in sys.modules, 'rich.text' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [
        "a.jsonl  3 records  2 imported  0 duplicates  1 rejected",
        "Imported 2 events from 1 file (records 3, duplicates 0, rejected 1) in 0.50 s",
        "rejected records are kept with file, line and reason (usagectl db rejects)",
        "False False",
    ]
    from usagectl.models import FileImportResult, ImportSummary

    files = [FileImportResult("日本/a.jsonl", "jsonl", 3, 2, rejected=1), FileImportResult("b.jsonl", "jsonl", 10, 10)]
    files.append(FileImportResult("c.jsonl", "jsonl", skipped_unchanged=True, warnings=["looks odd"]))
    plain, coloured = io.StringIO(), io.StringIO()
    render_import_summary(ImportSummary(files, 1.0), plain, color=False)
    render_import_summary(ImportSummary(files, 1.0), coloured, color=True)
    assert ANSI in coloured.getvalue()
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured.getvalue()) == plain.getvalue()
    # by hand: the widest path is 12 cells (the two wide characters count two each)
    assert plain.getvalue().splitlines()[:3] == [
        "日本/a.jsonl   3 records   2 imported  0 duplicates  1 rejected",
        "b.jsonl       10 records  10 imported  0 duplicates  0 rejected",  # 5 cells of padding + 2
        "c.jsonl       unchanged",
    ]


def _narrow_report() -> Report:
    """``report by model``'s table columns with four real model names (the numbers of the
    1M-record benchmark tree)."""
    columns = (
        Column("model", "Model"),
        Column("provider", "Provider", narrow_drop=1),
        Column("requests", "Reqs", "int"),
        Column("input_tokens", "Input", "int"),
        Column("cache_read_tokens", "Cache read", "int"),
        Column("cache_write_tokens", "Cache write", "int"),
        Column("output_tokens", "Output", "int"),
        Column("total_tokens", "Total", "int"),
        Column("cost_usd", "Cost", "money"),
        Column("unpriced_requests", "Unpriced", "int"),
        Column("token_share_pct", "Token share", "pct", narrow_drop=2),
        Column("cost_share_pct", "Cost share", "pct", narrow_drop=3),
    )
    rows = tuple(
        {"model": m, "provider": "anthropic", "requests": r, "input_tokens": r * 200, "cache_read_tokens": r * 75_000,
         "cache_write_tokens": r * 2_500, "output_tokens": r * 1_500, "total_tokens": r * 79_200, "cost_usd": Decimal(c),
         "unpriced_requests": 0, "token_share_pct": t, "cost_share_pct": s}
        for m, r, c, t, s in (("claude-opus-4-1", 150_000, "42266.07", 15.0, 50.7),
                              ("claude-sonnet-4-5", 599_000, "34275.90", 60.0, 41.1),
                              ("claude-haiku-4-5", 199_000, "3923.45", 19.9, 4.7))
    )  # fmt: skip
    return Report("by-model", "Usage by model", {}, columns, rows, {"requests": 948_000})


def test_a_narrow_terminal_leaves_out_marked_columns_before_wrapping_names() -> None:
    """At 80 columns all twelve would need names wrapped and header words folded: the provider
    goes first (mark 1), then the token share (mark 2); the rest fits with every name and
    header word whole, and a note says what is not shown. With room, nothing is left out."""
    text = render(_narrow_report(), OutputFormat.TABLE, width=80, color=False)
    assert max(len(line) for line in text.splitlines()) <= 80
    words = set(text.split())
    for word in (
        "claude-opus-4-1",
        "claude-sonnet-4-5",
        "claude-haiku-4-5",
        "Unpriced",
        "Cache",
        "write",
        "$42,266.07",
    ):
        assert word in words, word
    assert "Provider" not in words and "anthropic" not in words and "60.0%" not in words  # token share left out
    assert "41.1%" in words  # the cost share (mark 3) stays
    note = " ".join(text.split()[text.split().index("not") :])
    assert note.startswith("not shown at this width: Provider, Token share (a wider terminal, or --format csv")
    wide = render(_narrow_report(), OutputFormat.TABLE, width=140, color=False)
    assert "not shown" not in wide and "anthropic" in wide and "60.0%" in wide
    # machine formats keep every column whatever the width
    assert json.loads(render(_narrow_report(), OutputFormat.JSON))["rows"][0]["provider"] == "anthropic"


def test_narrow_drop_order_is_the_mark_then_right_to_left() -> None:
    from usagectl.render.table import build_table

    columns = (
        Column("a", "Alpha"),
        Column("b", "Bravo", narrow_drop=1),
        Column("c", "Charlie", narrow_drop=1),
        Column("d", "Delta", narrow_drop=2),
    )
    rows = ({"a": "aaaaaaaaaa", "b": "bbbbbbbbbb", "c": "cccccccccc", "d": "dddddddddd"},)
    # by hand: 4 columns of 10 + gaps need 43 cells (gap 1); 3 need 32; 2 need 21
    for width, dropped in ((43, []), (40, ["Charlie"]), (30, ["Charlie", "Bravo"]), (21, ["Charlie", "Bravo"])):
        _, _, gone = build_table(columns, rows, None, width)
        assert gone == dropped, width
    _, _, gone = build_table(columns, rows, None, 15)  # the three marked ones go; Alpha alone fits
    assert gone == ["Charlie", "Bravo", "Delta"]


def test_a_measured_float_of_100_or_more_reads_whole_in_tables() -> None:
    """Latencies and per-day averages: hundredths of 2,799.5 ms are noise in a table; below
    100 the two places stay. Rounding is half-even like every rounding here (1,234.5 -> 1,234)."""
    from usagectl.render.formats import display_cell

    cases = [(2799.5, "2,800"), (Decimal("1234.5"), "1,234"), (100.0, "100"), (99.5, "99.50"), (-250.25, "-250")]
    assert [display_cell(v, "float") for v, _ in cases] == [want for _, want in cases]
    # machine formats keep the value
    rep = Report("x", "x", {}, (Column("p50", "p50 ms", "float"),), ({"p50": 2799.5},), {})
    assert json.loads(render(rep, OutputFormat.JSON))["rows"][0]["p50"] == 2799.5


def test_an_id_column_is_never_abbreviated_when_counts_are() -> None:
    """At 40 columns the counts shorten (1,234,567 -> 1.23M) but batch 11,902 stays whole."""
    from usagectl.render.table import build_table

    columns = (
        Column("batch_id", "Batch", "int", abbreviate=False),
        Column("file", "File"),
        Column("records", "Records", "int"),
        Column("imported", "Imported", "int"),
    )
    rows = ({"batch_id": 11_902, "file": "session-file-name.jsonl", "records": 1_234_567, "imported": 1_234_000},)
    table, compact, dropped = build_table(columns, rows, None, 40)
    assert compact and not dropped
    buf = io.StringIO()
    make_console(buf, width=40, color=False).print(table)
    text = buf.getvalue()
    assert "11,902" in text and "1.23M" in text and "11.9k" not in text


def test_a_layout_builds_each_cell_once_whatever_it_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A per-batch table of 12k files took 16 s at 80 columns: every layout attempt (six per
    set of columns left out, up to five sets) formatted every cell again. Now a cell is built
    once per form (full and abbreviated)."""
    import usagectl.render.table as tbl

    calls = 0
    real = tbl._cell

    def counting(value: Any, kind: str, compact: bool = False, cents: bool = False, exact: bool = False) -> Text:
        nonlocal calls
        calls += 1
        return real(value, kind, compact, cents, exact)

    monkeypatch.setattr(tbl, "_cell", counting)
    columns = tuple(Column(f"c{i}", f"Column {i}", "int", narrow_drop=i) for i in range(1, 8))
    rows = tuple({f"c{i}": 1_000_000 * i for i in range(1, 8)} for _ in range(100))
    tbl.build_table((Column("name", "Name"), *columns), [{"name": "x" * 30} | r for r in rows], None, 50)
    # 8 columns x 100 rows, in at most two forms each
    assert calls <= 8 * 100 * 2


def test_counts_agree_with_their_nouns() -> None:
    from usagectl.models import counted, noun

    assert [counted(n, "day") for n in (0, 1, 2, 1200)] == ["0 days", "1 day", "2 days", "1,200 days"]
    assert (noun(1, "key"), noun(3, "key")) == ("key", "keys")


def _compare_like_report() -> Report:
    """Two periods' tokens and cost by team, the headers naming each period as compare does."""
    now, vs = "2026-10-30..2026-11-28", "2026-09-30..2026-10-29"
    columns = (
        Column("team", "Team"),
        Column("t1", f"Tokens {now}", "int"),
        Column("t0", f"Tokens {vs}", "int"),
        Column("c1", f"Cost {now}", "money"),
        Column("c0", f"Cost {vs}", "money"),
    )
    row = {"team": "platform", "t1": 76_026_864, "t0": 40_327_816, "c1": Decimal("74.67"), "c0": Decimal("55.52")}
    return Report("compare", "Compare", {}, columns, (row,), {})


def test_a_date_range_header_breaks_after_its_dots_never_inside_a_date() -> None:
    """QA: at 80 columns compare's headers read ``2026-10-30..2`` / ``026-11-28``. By hand, at
    64 columns: Team wants 8 ("platform"), each number column 12 (its widest piece,
    "2026-10-30..", beside 10 for "76,026,864" and 6 for "$74.67"); 8 + 4 x 12 + 4 gaps of 2 =
    64, so every header folds at its space and after its ``..`` and no count is shortened."""
    text = render(_compare_like_report(), OutputFormat.TABLE, width=64, color=False)
    lines = text.splitlines()
    head = lines.index(next(line for line in lines if line.split() == ["Tokens", "Tokens", "Cost", "Cost"]))
    assert lines[head + 1].split() == ["2026-10-30..", "2026-09-30..", "2026-10-30..", "2026-09-30.."]
    assert lines[head + 2].split() == ["Team", "2026-11-28", "2026-10-29", "2026-11-28", "2026-10-29"]
    assert "platform 76,026,864 40,327,816 $74.67 $55.52" in " ".join(text.split())
    assert max(len(line) for line in lines) <= 64


def test_a_header_without_a_date_range_wraps_as_before() -> None:
    from usagectl.render.table import _break_header

    assert _break_header("Tokens 2026-10-30..2026-11-28", 40) == "Tokens 2026-10-30..2026-11-28"  # it fits
    assert _break_header("Tokens 2026-10-30..2026-11-28", 12) == "Tokens 2026-10-30..\n2026-11-28"
    assert _break_header("Cache write tokens", 6) == "Cache write tokens"  # Rich wraps it at spaces


def test_the_legend_of_shortened_counts_only_under_a_table_that_shortened_one() -> None:
    """QA: ``db rejects`` printed "k = thousand, …" with no shortened number. By hand, at 40
    columns the 60-character reason wraps, so counts take their short form: line 7 and record
    12 read the same either way (below 10,000 a count is kept exact), so no legend; a count of
    1,234,567 reads 1.23M, so the legend."""
    columns = (Column("line", "Line", "int"), Column("record", "Record", "int"), Column("reason", "Reason"))
    reason = "output_tokens: not an integer (12.5); and some more words here"
    small = Report("r", "Rejects", {}, columns, ({"line": 7, "record": 12, "reason": reason},), {})
    big = Report("r", "Rejects", {}, columns, ({"line": 7, "record": 1_234_567, "reason": reason},), {})
    legend = "k = thousand, M = million, B = billion"
    small_text = render(small, OutputFormat.TABLE, width=40, color=False)
    assert legend not in small_text and "12" in small_text
    big_text = render(big, OutputFormat.TABLE, width=40, color=False)
    assert legend in big_text and "1.23M" in big_text


@pytest.mark.parametrize(
    ("columns", "width"), [("0", 80), ("00", 80), ("", 80), ("wide", 80), ("-5", 80), (" 72 ", 72)]
)
def test_a_columns_that_is_not_a_width_counts_as_unset(
    monkeypatch: pytest.MonkeyPatch, columns: str, width: int
) -> None:
    """QA: with ``COLUMNS=0`` `report month`, `report by member`, `budget status`, `db status` and
    `doctor` printed 0 bytes, exit 0: Rich took 0 as the width. COLUMNS that is not a positive
    whole number counts as unset: off a terminal (none here: every std stream's size is refused)
    Rich's own default, 80 columns; `` 72 `` is a width of 72 (Rich ignored it, as not digits)."""
    monkeypatch.setenv("COLUMNS", columns)

    def no_terminal(fd: int = 1) -> os.terminal_size:
        raise OSError("not a terminal")

    monkeypatch.setattr(os, "get_terminal_size", no_terminal)
    assert make_console(io.StringIO()).width == width
    out = render(by_model_report(), OutputFormat.TABLE, color=False)
    lines = out.splitlines()
    # the widest line is the report's; the longest model name, "claude-sonnet-4-5", is on a line
    assert lines and max(len(line) for line in lines) <= width
    assert any("claude-sonnet-4-5" in line for line in lines)


def test_a_lines_of_0_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """LINES=0 (the same containers set it with COLUMNS=0): not a height; Rich's default, 25."""
    monkeypatch.setenv("LINES", "0")
    monkeypatch.setenv("COLUMNS", "90")

    def no_terminal(fd: int = 1) -> os.terminal_size:
        raise OSError("not a terminal")

    monkeypatch.setattr(os, "get_terminal_size", no_terminal)
    console = make_console(io.StringIO())
    assert (console.width, console.height) == (90, 25)
