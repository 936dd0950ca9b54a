"""`usagectl export --pdf`: the month report, read back with pypdf. Fixture and hand-worked
numbers: ``tests/test_export_csv.py``. November 2025 in UTC holds all six events: priced
3.50 + 0.75 + 0.51 + 0.60 + 1.00 = 6.36 USD, 4,695,100 tokens, 6 requests (1 unpriced).
Per team (config mapping): platform = alice 3.50 + 1.00 + bob 0.75 = 5.25; growth = carol 0.51.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.helpers import run
from tests.test_export_csv import CONFIG, loaded, wire_export
from usagectl.models import Column, Report

__all__ = ["loaded"]
BUDGET = """
[[budgets]]
scope = "team:platform"
amount = 10
period = "month"
"""


@pytest.fixture(autouse=True)
def _wired() -> None:
    wire_export()


def _text(path: Path) -> tuple[list[str], str]:
    pages = [p.extract_text() for p in PdfReader(str(path)).pages]
    return pages, "\n".join(pages)


def test_month_pdf_totals_sections_and_page_numbers(loaded: Path, tmp_path: Path) -> None:
    (tmp_path / "work" / "usagectl.toml").write_text(CONFIG + BUDGET, encoding="utf-8")
    out = tmp_path / "report.pdf"
    res = run("export", "--pdf", "--month", "2025-11", "--tz", "UTC", "--out", str(out), "--db", str(loaded))
    assert out.read_bytes().startswith(b"%PDF") and "wrote" in res.stderr
    pages, text = _text(out)
    first = pages[0]
    assert "LLM usage and cost report" in first and "2025-11 (UTC)" in first
    assert "$6.36" in first  # total cost
    assert "4,695,100" in first  # tokens
    assert "Overview" in first and "Projected month-end cost" in first
    for title in (
        "Daily cost (USD)",
        "Model distribution (share of cost)",
        "Cost by team (shared cost allocated)",
        "Per model",
        "Per team",
        "Per member",
        "Cost centers",
        "Budgets vs actual",
        "Daily breakdown",
    ):
        assert title in text, title
    team = text[text.index("Per team") : text.index("Per member")]
    # cells come out one per line; rows by cost: platform 5.25, (no team) 0.60, growth 0.51
    assert "$5.25" in team[team.index("\nplatform") : team.index("(no team)")]  # 3.50 + 1.00 + 0.75
    assert "$0.51" in team[team.index("\ngrowth") :]
    assert "team:platform" in text  # the budget row (spent 5.25 of 10)
    assert "mistral-large-2411" in text and "unpriced" in text  # never $0
    for n, page in enumerate(pages, start=1):
        assert f"Page {n} of {len(pages)}" in page


def test_opportunities_and_extra_reports_are_appended(loaded: Path, tmp_path: Path) -> None:
    from decimal import Decimal

    from usagectl.render.pdf import write_month_pdf
    from usagectl.services.context import make_context
    from usagectl.services.pdf_report import month_pdf_data
    from usagectl.services.reports import ReportRequest

    opportunities = Report(
        name="optimize",
        title="Top optimization opportunities",
        filters={},
        columns=(
            Column("rule", "Rule"),
            Column("description", "Description"),
            Column("events", "Events", "int"),
            Column("saving_usd_month", "Saving / month", "money"),
        ),
        rows=(
            {
                "rule": "model-downgrade",
                "description": "Move short chats from gpt-4o to gpt-4o-mini",
                "events": 1234,
                "saving_usd_month": Decimal("12.345"),
            },
        ),
        totals={},
    )
    ctx = make_context(None, loaded)
    req = ReportRequest(tz="UTC", now=datetime(2025, 12, 5, tzinfo=UTC))
    data = month_pdf_data(ctx, req, "2025-11", opportunities=opportunities)
    out = tmp_path / "opt.pdf"
    write_month_pdf(data, out)
    _pages, text = _text(out)
    assert "Top optimization opportunities" in text
    assert "model-downgrade" in text and "1,234" in text and "$12.34" in text  # half-even: 12.345 -> 12.34
    assert "No budgets are configured." in text
    assert text.index("Top optimization opportunities") > text.index("Budgets vs actual")


def test_other_reports_as_pdf_and_errors(loaded: Path, tmp_path: Path) -> None:
    out = tmp_path / "models.pdf"
    run("export", "--pdf", "--report", "by-model", "--since", "2025-11-01", "--until", "2025-11-30",
        "--out", str(out), "--db", str(loaded))  # fmt: skip
    pages, text = _text(out)
    assert "gpt-4o" in text and "$4.50" in text  # E1 3.50 + E6 1.00
    assert f"Page 1 of {len(pages)}" in pages[0]
    res = run("export", "--pdf", "--db", str(loaded), expect=2)
    assert "--out" in res.stderr


def test_report_pdf_subtitle_and_total_row(loaded: Path, tmp_path: Path) -> None:
    out = tmp_path / "models.pdf"
    run("export", "--pdf", "--report", "by-model", "--since", "2025-11-01", "--until", "2025-11-30",
        "--out", str(out), "--db", str(loaded))  # fmt: skip
    _pages, text = _text(out)
    assert "by model" in text and "['model']" not in text  # the filters as the terminal shows them
    total = text[text.index("\nTotal") :]
    assert "$6.36" in total  # 3.50 + 0.75 + 0.51 + 0.60 + 1.00 (module docstring)
    assert "4,695,100" in total and "6" in total.split()  # tokens, requests


# a 13-column table with 7-digit counts (QA: the last digit of 1,093,047 and $47.92 wrapped)
WIDE_COLUMNS = (
    Column("model", "Model"),
    Column("provider", "Provider", narrow_drop=1),
    Column("requests", "Reqs", "int"),
    Column("input_tokens", "Input", "int"),
    Column("cache_read_tokens", "Cache read", "int"),
    Column("cache_write_tokens", "Cache write", "int"),
    Column("cache_write_1h_tokens", "Cache write 1h", "int"),
    Column("output_tokens", "Output", "int"),
    Column("reasoning_tokens", "Reasoning", "int"),
    Column("total_tokens", "Total", "int"),
    Column("cost_usd", "Cost", "money"),
    Column("token_share_pct", "Token share", "pct", narrow_drop=2),
    Column("cost_share_pct", "Cost share", "pct", narrow_drop=3),
)


def _wide_row(model: str, n: int, cost: str) -> dict[str, object]:
    from decimal import Decimal

    # input 1,093,047 + cache read 2,345,678 + cache write 1,234,567 + 1h 1,111,111 + output 420,386
    # + reasoning 1,000,000 = 7,204,789, each scaled by n
    parts = (1_093_047, 2_345_678, 1_234_567, 1_111_111, 420_386, 1_000_000)
    keys = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
            "reasoning_tokens")  # fmt: skip
    row: dict[str, object] = {"model": model, "provider": "anthropic", "requests": 423 * n}
    row.update({k: v * n for k, v in zip(keys, parts, strict=True)})
    row.update(total_tokens=7_204_789 * n, cost_usd=Decimal(cost), token_share_pct=Decimal("33.33"),
               cost_share_pct=Decimal("50"))  # fmt: skip
    return row


def test_wide_report_pdf_keeps_every_number_whole(tmp_path: Path) -> None:
    from decimal import Decimal

    from usagectl.render.pdf import write_report_pdf

    rows = (_wide_row("claude-opus-4-1", 1, "47.92"), _wide_row("claude-sonnet-4-5", 1, "47.92"))
    # totals: every count doubled (the rows are equal), 47.92 + 47.92 = 95.84
    totals = {k: v * 2 for k, v in rows[0].items() if isinstance(v, int)} | {"cost_usd": Decimal("95.84")}
    report = Report(name="by-model", title="Usage by model", filters={"by": ["model"]}, columns=WIDE_COLUMNS,
                    rows=rows, totals=totals)  # fmt: skip
    out = tmp_path / "wide.pdf"
    write_report_pdf(report, out)
    _pages, text = _text(out)
    words = text.split()
    for number in ("423", "1,093,047", "2,345,678", "1,234,567", "1,111,111", "420,386", "1,000,000", "7,204,789",
                   "$47.92", "846", "2,186,094", "840,772", "14,409,578", "$95.84"):  # fmt: skip
        assert number in words, number
    assert "Total" in words and "by model" in text


def test_too_wide_report_pdf_leaves_out_columns_then_abbreviates(tmp_path: Path) -> None:
    from usagectl.render.pdf import write_report_pdf

    # counts x 1000: 10-digit numbers (7,204,789,000) do not fit 13 columns on A4 at 6.5 pt
    rows = (_wide_row("claude-opus-4-1", 1000, "47920.00"),)
    report = Report(name="by-model", title="Usage by model", filters={}, columns=WIDE_COLUMNS, rows=rows, totals={})
    out = tmp_path / "wider.pdf"
    write_report_pdf(report, out)
    _pages, text = _text(out)
    words = text.split()
    assert "Not shown for want of room: Provider, Token share, Cost share" in " ".join(words)
    # abbreviated to three significant digits: 7,204,789,000 -> 7.20B, 1,093,047,000 -> 1.09B
    assert "7.20B" in words and "1.09B" in words and "$47,920.00" in words
    assert "k = thousand, M = million, B = billion" in " ".join(words)


def _base_fonts(path: Path) -> set[str]:
    fonts = set()
    for page in PdfReader(str(path)).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]).lstrip("/"))
    return fonts


def test_cjk_names_are_set_in_a_cjk_font_and_extract(tmp_path: Path) -> None:
    from decimal import Decimal

    from usagectl.render.pdf import CJK_FONTS, write_report_pdf

    names = ("日本語ユーザー", "张伟", "김민수", "R&D <lead>")  # Japanese (kana), Chinese, Korean, Latin
    report = Report(name="by-member", title="Usage by member", filters={},
                    columns=(Column("member", "Member"), Column("cost_usd", "Cost", "money")),
                    rows=tuple({"member": n, "cost_usd": Decimal("1.25")} for n in names),
                    totals={"cost_usd": Decimal("5.00")})  # fmt: skip
    out = tmp_path / "cjk.pdf"
    write_report_pdf(report, out)
    _pages, text = _text(out)
    for name in names:
        assert name in text, name
    assert "$5.00" in text  # 4 x 1.25
    # DejaVu has none of these glyphs: kana and kanji in the Japanese font, hanzi (no kana) in
    # the Chinese one, Hangul in the Korean one; Latin text stays in DejaVu
    assert {CJK_FONTS["ja"], CJK_FONTS["zh"], CJK_FONTS["ko"]} <= _base_fonts(out)


def _import(tmp_path: Path, db: Path, events: list[dict[str, object]]) -> None:
    from tests.helpers import write_jsonl

    run("import", str(write_jsonl(tmp_path / "extra.jsonl", events)), "--db", str(db))


def test_page1_tiles_keep_a_billion_token_total_whole(tmp_path: Path, db_path: Path) -> None:
    """QA: the Tokens tile wrapped 1,500,000,000 as "1,500,000,00" over "0". The tiles step
    their font down and keep the exact figure. gpt-4o-mini input at $0.15 per 1M:
    1,500,000,000 x 0.15 / 1,000,000 = $225.00; October is over, so projected = actual."""
    _import(tmp_path, db_path, [{"event_id": "B1", "ts": "2025-10-05T10:00:00Z", "model_raw": "gpt-4o-mini",
                                 "input_tokens": 1_500_000_000}])  # fmt: skip
    out = tmp_path / "billion.pdf"
    run("export", "--pdf", "--month", "2025-10", "--tz", "UTC", "--out", str(out), "--db", str(db_path))
    pages, _all = _text(out)
    tiles = pages[0][: pages[0].index("Total cost")].split()
    assert tiles[-4:] == ["$225.00", "1,500,000,000", "1", "$225.00"]  # cost, tokens, requests, projected


def test_page1_tiles_shorten_a_count_too_long_for_any_font(tmp_path: Path) -> None:
    """A count whose exact form does not fit a tile even at 9 pt (10^17 tokens: 23 characters,
    about 128 pt of bold digits against 128.75 - 12 pt of room) takes its short form rather than
    wrap: 10^17 = 100,000 x 10^12 -> "100,000T". The other tiles keep their exact figures."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    from usagectl.render.pdf import _fonts, _kpi_items, _kpis

    _fonts()
    totals = {"cost_usd": Decimal("1234.5"), "total_tokens": 10**17, "requests": 12_345}
    out = tmp_path / "tiles.pdf"
    SimpleDocTemplate(str(out), pagesize=A4).build([_kpis(_kpi_items(totals, None), 515.0)])
    words = _text(out)[1].split()
    assert words[:4] == ["$1,234.50", "100,000T", "12,345", "–"]


# QA: an 84-character member name and a 95-character team name squeezed the numbers of the
# month PDF's member table to 5 pt and wrapped them ("$1,234." over "57", "Toke" over "ns")
LONG_MEMBER = "member-with-an-extremely-long-name-that-goes-on-and-on-and-on-forever-and-ever-123"
LONG_TEAM = "team-" + "y" * 90


def test_long_names_wrap_and_numbers_keep_their_width(tmp_path: Path, db_path: Path) -> None:
    """claude-opus-4-1 input $15 per 1M: 82,304,500 x 15 / 1,000,000 = 1,234.5675 -> $1,234.57;
    gpt-4o input $2.50 per 1M: 1,000 x 2.50 / 1,000,000 = $0.0025. Shares: 82,304,500 of
    82,305,500 tokens = 99.9988 % -> 100.0 %; 1,000 of them = 0.0012 % -> 0.0 %."""
    _import(tmp_path, db_path, [
        {"event_id": "L1", "ts": "2025-10-05T10:00:00Z", "model_raw": "claude-opus-4-1", "input_tokens": 82_304_500,
         "member": LONG_MEMBER, "team": LONG_TEAM},
        {"event_id": "L2", "ts": "2025-10-05T11:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000, "member": "bob",
         "team": "t"},
    ])  # fmt: skip
    out = tmp_path / "long.pdf"
    run("export", "--pdf", "--month", "2025-10", "--tz", "UTC", "--out", str(out), "--db", str(db_path))
    _pages, text = _text(out)
    for start, end in (("Per team", "Per member"), ("Per member", "Cost centers")):
        table = text[text.index(start) : text.index(end)]
        words = table.split()
        for number in ("82,304,500", "$1,234.57", "100.0%", "1,000", "$0.0025", "0.0%"):  # whole, not abbreviated
            assert number in words, (start, number)
        for header_word in ("Reqs", "Tokens", "Token", "share", "Direct", "Allocated", "Cost"):
            assert header_word in words, (start, header_word)
        assert LONG_TEAM in "".join(words)  # wrapped, every character kept
    member = text[text.index("Per member") : text.index("Cost centers")]
    lines = [line.strip() for line in member.splitlines()]
    first = next(i for i, line in enumerate(lines) if line.startswith("member-with"))
    name_lines = lines[first : first + 5]
    while "".join(name_lines) != LONG_MEMBER:  # the name's lines, however many the column needs
        name_lines.pop()
    # the name wraps at its own hyphens, never inside a word
    assert len(name_lines) > 1 and all(line.endswith("-") for line in name_lines[:-1])


def test_long_daily_report_runs_over_pages_whole(tmp_path: Path, db_path: Path) -> None:
    """QA: tables stopped after 40 rows ("… and 5 more rows"). 45 days (2025-09-01 to 10-15),
    one gpt-4o event a day of 1,000,000 input = $2.50; total 45 x 2.50 = $112.50 and
    45 x 1,000,000 = 45,000,000 tokens. The header row repeats on the next page."""
    from datetime import date, timedelta

    days = [date(2025, 9, 1) + timedelta(days=d) for d in range(45)]
    _import(tmp_path, db_path, [{"event_id": f"D{d:%m%d}", "ts": f"{d}T12:00:00Z", "model_raw": "gpt-4o",
                                 "input_tokens": 1_000_000} for d in days])  # fmt: skip
    out = tmp_path / "daily.pdf"
    run("export", "--pdf", "--report", "daily", "--since", "2025-09-01", "--until", "2025-10-15", "--tz", "UTC",
        "--out", str(out), "--db", str(db_path))  # fmt: skip
    pages, text = _text(out)
    dated = [line.strip() for line in text.splitlines() if re.fullmatch(r"2025-\d\d-\d\d", line.strip())]
    assert dated == [d.isoformat() for d in days]  # the rows' first cells: all 45, in order
    assert "more rows" not in text
    assert len(pages) >= 2 and all("Date" in page.split() for page in pages)  # the header on every page
    total = text[text.index("\nTotal") :].split()
    assert "$112.50" in total and "45,000,000" in total


def test_long_table_keeps_its_last_unpriced_row(tmp_path: Path) -> None:
    """QA: the month PDF's per-model table with 48 models lost the last 8 rows, the only
    unpriced model among them, while the Total row counted it. 50 models: 49 at $1.00 and the
    last unpriced (never $0); total 49 x 1.00 = $49.00, 50 requests."""
    from usagectl.render.pdf import write_report_pdf

    rows = tuple({"model": f"model-{i:02d}", "requests": 1, "cost_usd": Decimal("1.00") if i < 50 else None}
                 for i in range(1, 51))  # fmt: skip
    report = Report(name="by-model", title="Usage by model", filters={},
                    columns=(Column("model", "Model"), Column("requests", "Requests", "int"),
                             Column("cost_usd", "Cost", "money")),
                    rows=rows, totals={"requests": 50, "cost_usd": Decimal("49.00")})  # fmt: skip
    out = tmp_path / "models.pdf"
    write_report_pdf(report, out)
    pages, text = _text(out)
    words = text.split()
    assert [w for w in words if w.startswith("model-")] == [f"model-{i:02d}" for i in range(1, 51)]
    last, total = words.index("model-50"), words.index("Total")
    assert words[last + 1 : last + 3] == ["1", "unpriced"] and words[total + 1 : total + 3] == ["50", "$49.00"]
    assert len(pages) >= 2 and all("Model" in page.split() for page in pages)


def test_month_not_begun_lists_its_budgets(loaded: Path, tmp_path: Path) -> None:
    """QA: a month that has not begun said "No budgets are configured." though the config has
    one (team:platform, $10 a month): it is listed with its limit, and the line says why there
    is no spend."""
    from usagectl.render.pdf import write_month_pdf
    from usagectl.services.context import make_context
    from usagectl.services.pdf_report import month_pdf_data
    from usagectl.services.reports import ReportRequest

    (tmp_path / "work" / "usagectl.toml").write_text(CONFIG + BUDGET, encoding="utf-8")
    req = ReportRequest(tz="UTC", now=datetime(2025, 11, 20, tzinfo=UTC))
    data = month_pdf_data(make_context(None, loaded), req, "2025-12")
    out = tmp_path / "december.pdf"
    write_month_pdf(data, out)
    _pages, text = _text(out)
    assert "No budgets are configured." not in text
    budgets = " ".join(text[text.index("Budgets vs actual") :].split())
    assert (
        "The period has not begun (it starts on 2025-12-01, UTC): no spend to set against the budgets yet." in budgets
    )
    assert "team:platform month usd $10.00" in budgets


def test_the_month_in_progress_exports_as_a_pdf(tmp_path: Path, db_path: Path) -> None:
    """The month PDF of the current month holds optimize's savings over the month's range, which
    ends after today; since a future --until is refused by optimize (its history holds days that
    have happened), the PDF asks for the days so far: exit 0 and a file, not "--until … is in the
    future" (a QA fix of this session would otherwise have broken `export --pdf` by default)."""
    from tests.helpers import write_jsonl

    now = datetime.now(UTC).replace(microsecond=0)
    events = [{"event_id": "p1", "ts": now.isoformat().replace("+00:00", "Z"), "model_raw": "gpt-4o",
               "input_tokens": 1000, "output_tokens": 100}]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "now.jsonl", events)), "--db", str(db_path))
    out = tmp_path / "month.pdf"
    run("export", "--pdf", "--out", str(out), "--tz", "UTC", "--db", str(db_path))
    assert out.read_bytes().startswith(b"%PDF-") and len(PdfReader(out).pages) >= 1
