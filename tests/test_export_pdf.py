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
