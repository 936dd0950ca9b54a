"""`usagectl export --pdf`: the month report, read back with pypdf. Fixture and hand-worked
numbers: ``tests/test_export_csv.py``. November 2025 in UTC holds all six events: priced
3.50 + 0.75 + 0.51 + 0.60 + 1.00 = 6.36 USD, 4,695,100 tokens, 6 requests (1 unpriced).
Per team (config mapping): platform = alice 3.50 + 1.00 + bob 0.75 = 5.25; growth = carol 0.51.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
