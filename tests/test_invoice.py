"""`usagectl invoice` and `usagectl payment`, on months worked out by hand to the cent.

October 2026 (UTC), rates per 1M: gpt-4o $2.50 / $10; claude-sonnet-4-5 $3 / $15, cache read
$0.30, web search $0.01 a call.

E1 10-05 gpt-4o chat:     1,234,567 in × 2.5 = 3.0864175; 123,456 out × 10 = 1.23456  -> 4.3209775
E2 10-20 gpt-4o search:   400,000 in = 1.00; 50,000 out = 0.50                         -> 1.50
E3 10-07 sonnet chat:     100,000 in = 0.30; 20,000 out = 0.30; 50,000 read = 0.015    -> 0.615
E4 10-21 sonnet search:   2,000 out = 0.03; 2 web searches = 0.02                      -> 0.05
E5 10-22 mystery-model chat: unpriced, not charged

Lines (half-up to the cent): gpt-4o 5.8209775 -> 5.82; sonnet 0.665 -> 0.67 (half-even
would say 0.66). Subtotal 6.49. Credits: "expired promo" $10 expires 10-30 (before the month's
end: not applied), "launch promo" $5 expires 12-31: 5.00 applied. Taxable 1.49; VAT 19 % =
0.2831 -> 0.28. Total 1.77. Payment 10-15 $1.00 -> balance 0.77 (the 11-03 payment is after the
invoice date). Features: chat 4.9359775, search 1.55 -> floors 4.93 + 1.55 = 6.48, the missing
cent to chat (largest remainder) -> 4.94 + 1.55 = 6.49. Buckets: input 4.3864175, output
2.06456, cache read 0.015, web 0.02 -> floors 4.38 + 2.06 + 0.01 + 0.02 = 6.47, two cents to
the largest remainders (input .0064175, cache read .005) -> 4.39 + 2.06 + 0.02 + 0.02 = 6.49.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers import run, run_json, write_jsonl
from usagectl.models import Report
from usagectl.money import CENT, round_to_total
from usagectl.services.context import make_context
from usagectl.services.invoice import Credit, InvoiceRequest, _apply_credits, _Month, invoice
from usagectl.store.connection import ensure_ready

D = Decimal
EVENTS = [
    {"event_id": "E1", "ts": "2026-10-05T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1234567,
     "output_tokens": 123456, "feature": "chat"},
    {"event_id": "E2", "ts": "2026-10-20T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 400000,
     "output_tokens": 50000, "feature": "search"},
    {"event_id": "E3", "ts": "2026-10-07T10:00:00Z", "model_raw": "claude-sonnet-4-5", "input_tokens": 100000,
     "output_tokens": 20000, "cache_read_tokens": 50000, "feature": "chat"},
    {"event_id": "E4", "ts": "2026-10-21T10:00:00Z", "model_raw": "claude-sonnet-4-5", "output_tokens": 2000,
     "web_search_requests": 2, "feature": "search"},
    {"event_id": "E5", "ts": "2026-10-22T10:00:00Z", "model_raw": "mystery-model", "input_tokens": 1000,
     "feature": "chat"},
]  # fmt: skip
CONFIG = """
[display]
timezone = "UTC"

[tax]
rate = 19.0
label = "VAT"

[[credits]]
amount = 10.00
expires = 2026-10-30
label = "expired promo"

[[credits]]
amount = 5.00
expires = 2026-12-31
label = "launch promo"
"""
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _setup(tmp_path: Path, db_path: Path, events: list[dict[str, object]], config: str) -> Path:
    (tmp_path / "work" / "usagectl.toml").write_text(config, encoding="utf-8")
    run("import", str(write_jsonl(tmp_path / "ev.jsonl", events)), "--db", str(db_path))
    return db_path


@pytest.fixture
def october(tmp_path: Path, db_path: Path) -> Path:
    _setup(tmp_path, db_path, EVENTS, CONFIG)
    run("payment", "add", "2026-10-15", "1.00", "--note", "wire 123", "--db", str(db_path))
    run("payment", "add", "2026-11-03", "$0.50", "--db", str(db_path))
    return db_path


def test_hand_worked_month(october: Path) -> None:
    rep = invoice(make_context(None, october), InvoiceRequest(month="2026-10", now=NOW))
    lines = {r["model"]: r["amount_usd"] for r in rep.rows}
    assert lines == {"gpt-4o": D("5.82"), "claude-sonnet-4-5": D("0.67"), "mystery-model": None}
    t = rep.totals
    assert t["subtotal_usd"] == D("6.49") == sum(v for v in lines.values() if v is not None)
    assert (t["credits_usd"], t["taxable_usd"], t["tax_usd"], t["total_usd"]) == (D("5.00"), D("1.49"), D("0.28"),
                                                                                D("1.77"))  # fmt: skip
    assert (t["previous_balance_usd"], t["payments_usd"], t["balance_usd"]) == (D(0), D("1.00"), D("0.77"))
    sections = {s.key: s for s in rep.sections}
    summary = [(r["item"], r["amount_usd"]) for r in sections["summary"].rows]
    assert summary == [
        ("Usage subtotal", D("6.49")),
        ("Credit: launch promo (expires 2026-12-31)", D("-5.00")),
        ("VAT 19% of 1.49", D("0.28")),
        ("Invoice total", D("1.77")),
        ("Previous balance", D(0)),
        ("Payment 2026-10-15 (wire 123)", D("-1.00")),
        ("Balance due", D("0.77")),
    ]
    features = {r["feature"]: r["amount_usd"] for r in sections["features"].rows}
    assert features == {"chat": D("4.94"), "search": D("1.55")}
    tokens = {r["item"]: (r["quantity"], r["amount_usd"]) for r in sections["tokens"].rows}
    assert tokens == {
        "Input tokens": (1734567, D("4.39")),
        "Output tokens": (195456, D("2.06")),
        "Cache read tokens": (50000, D("0.02")),
        "Web search calls": (2, D("0.02")),
        "Unpriced usage (not charged)": (1000, None),
    }
    credits = {r["label"]: (r["applied_usd"], r["remaining_usd"], r["status"]) for r in sections["credits"].rows}
    assert credits == {"expired promo": (D(0), D("10.00"), "expired"), "launch promo": (D("5.00"), D(0), "used up")}
    assert [p["paid_on"] for p in sections["payments"].rows] == [date(2026, 10, 15)]
    assert any("mystery-model" in n for n in rep.notes)


def test_json_and_formats(october: Path) -> None:
    out = run_json("invoice", "--month", "2026-10", "--db", str(october))
    assert out["report"] == "invoice"
    assert (out["totals"]["total_usd"], out["totals"]["balance_usd"]) == (1.77, 0.77)
    assert [r["amount_usd"] for r in out["features"]] == [4.94, 1.55]
    for fmt in ("table", "csv", "markdown"):
        assert "gpt-4o" in run("invoice", "--month", "2026-10", "--format", fmt, "--db", str(october)).stdout


def test_filtered_invoice_is_a_statement_without_credits_or_balance(october: Path) -> None:
    out = run_json("invoice", "--month", "2026-10", "--feature", "search", "--db", str(october))
    # gpt-4o 1.50 + sonnet 0.05 = 1.55; VAT 19 % = 0.2945 -> 0.29; total 1.84
    t = out["totals"]
    assert (t["subtotal_usd"], t["credits_usd"], t["tax_usd"], t["total_usd"]) == (1.55, 0, 0.29, 1.84)
    assert t["balance_usd"] is None and "payments" not in out


CARRY_EVENTS = [
    {"event_id": "O", "ts": "2026-10-10T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000000},  # 2.50
    {"event_id": "N", "ts": "2026-11-10T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1600000},  # 4.00
]
CARRY_CONFIG = """
[display]
timezone = "UTC"
[tax]
rate = 19
[[credits]]
amount = 4
expires = 2026-12-31
label = "X"
[[credits]]
amount = 1.00
expires = "2026-11-15"
label = "Y"
"""


def test_credit_carries_to_the_next_month_and_balance_accumulates(tmp_path: Path, db_path: Path) -> None:
    _setup(tmp_path, db_path, CARRY_EVENTS, CARRY_CONFIG)
    run("payment", "add", "2026-11-10", "1", "--db", str(db_path))
    ctx = make_context(None, db_path)
    # October 2.50: Y (expires first) 1.00, then X 1.50 -> nothing left to pay, total 0
    oct_ = invoice(ctx, InvoiceRequest(month="2026-10", now=NOW)).totals
    assert (oct_["credits_usd"], oct_["tax_usd"], oct_["total_usd"], oct_["balance_usd"]) == (D("2.50"), 0, 0, 0)
    # November 4.00: Y expired on 11-15, X has 2.50 left -> taxable 1.50; tax 0.285 -> 0.29 (half-up)
    nov = invoice(ctx, InvoiceRequest(month="2026-11", now=NOW)).totals
    assert (nov["credits_usd"], nov["taxable_usd"], nov["tax_usd"], nov["total_usd"]) == (D("2.50"), D("1.50"),
                                                                                        D("0.29"), D("1.79"))  # fmt: skip
    assert (nov["previous_balance_usd"], nov["payments_usd"], nov["balance_usd"]) == (0, D(1), D("0.79"))
    # December, no usage: previous balance 0 + 1.79 - 1.00 = 0.79, still due
    dec = invoice(ctx, InvoiceRequest(month="2026-12", now=NOW)).totals
    assert (dec["previous_balance_usd"], dec["total_usd"], dec["balance_usd"]) == (D("0.79"), 0, D("0.79"))


def test_billing_start_skips_earlier_months(tmp_path: Path, db_path: Path) -> None:
    _setup(tmp_path, db_path, CARRY_EVENTS, CARRY_CONFIG + '[billing]\nstart = "2026-11"\n')
    run("payment", "add", "2026-11-10", "1", "--db", str(db_path))
    nov = run_json("invoice", "--month", "2026-11", "--db", str(db_path))["totals"]
    # X unused in October (not billed): 4.00 covers November's 4.00; paid 1.00 -> 1.00 in credit
    assert (nov["credits_usd"], nov["total_usd"], nov["balance_usd"]) == (4, 0, -1)


def test_a_month_before_the_billing_start_is_not_invoiced(tmp_path: Path, db_path: Path) -> None:
    _setup(tmp_path, db_path, CARRY_EVENTS, CARRY_CONFIG + '[billing]\nstart = "2026-11"\n')
    # October has usage ($2.50) but is before the configured start: no invoice, no credit used
    res = run("invoice", "--month", "2026-10", "--db", str(db_path), expect=2)
    assert "2026-10 is before the billing start 2026-11 ([billing] start in the config): it is not invoiced" in (
        res.stderr
    )
    assert res.stdout == ""
    nov = run_json("invoice", "--month", "2026-11", "--db", str(db_path))
    # the credit log still starts with November: X 4.00 applied there, nothing used before
    assert nov["totals"]["credits_usd"] == 4
    assert "Balance counts the invoices from 2026-11 ([billing] start)" in " ".join(nov["notes"])


def test_without_a_billing_start_a_month_before_the_first_event_is_not_invoiced(tmp_path: Path, db_path: Path) -> None:
    _setup(tmp_path, db_path, CARRY_EVENTS, CARRY_CONFIG)  # first event 2026-10-10: the start is 2026-10
    err = run("invoice", "--month", "2026-09", "--db", str(db_path), expect=2).stderr
    assert "2026-09 is before the billing start 2026-10 (the month of the first event" in err
    # a team statement (chargeback) has no billing start: it is not refused
    run("invoice", "--month", "2026-09", "--team", "x", "--db", str(db_path))


def test_a_future_month_has_not_started(tmp_path: Path, db_path: Path) -> None:
    _setup(tmp_path, db_path, CARRY_EVENTS, CARRY_CONFIG)
    ctx = make_context(None, db_path)
    states = {
        m: dict((k, v) for k, _, v in invoice(ctx, InvoiceRequest(month=m, now=NOW)).overview)["state"]
        for m in ("2026-10", "2026-11", "2026-12")
    }  # NOW is 2026-11-25: October is over, November runs, December begins on 12-01
    assert states == {"2026-10": "final", "2026-11": "draft (month in progress)",
                      "2026-12": "not started (begins 2026-12-01)"}  # fmt: skip
    notes = invoice(ctx, InvoiceRequest(month="2026-12", now=NOW)).notes
    assert "2026-12 has not started yet (it begins 2026-12-01): no usage so far, amounts are 0." in notes
    assert not any(n.startswith("Draft") for n in notes)


def test_credit_rules_granted_and_order() -> None:
    months = [_Month(date(2026, m, 1), date(2026, m, 28), [], [], {}, D(s)) for m, s in ((1, "3.00"), (2, "3.00"))]
    credits = [
        Credit(0, "late", D("2.00"), date(2026, 12, 31), granted=date(2026, 2, 1)),
        Credit(1, "early", D("1.00"), date(2026, 6, 30)),
    ]
    log = _apply_credits(months, credits)
    # January: "late" not granted yet, "early" 1.00; February: "early" used up, "late" 2.00
    assert [m.credit for m in months] == [D("1.00"), D("2.00")]
    assert log == {0: [D(0), D("2.00")], 1: [D("1.00"), D(0)]}


def allocate(exacts: list[D], target: D) -> list[D]:
    return round_to_total(exacts, target, CENT)


def test_allocate_adds_up_exactly() -> None:
    assert allocate([D("4.9359775"), D("1.55")], D("6.49")) == [D("4.94"), D("1.55")]
    # three lines of 0.004 half-up to 0.00 each: a split of 0.012 must still add up to 0.00
    assert allocate([D("0.012")], D("0.00")) == [D("0.00")]
    assert sum(allocate([D("0.333"), D("0.333"), D("0.334")], D("1.00"))) == D("1.00")


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("[[credits]]\namount = -5\nexpires = 2026-12-31\n", "credits[0] amount: must be greater than 0"),
        ("[[credits]]\namount = 5\n", "credits[0]: expires is missing"),
        (
            "[[credits]]\namount = 5\nexpires = 2026-12-31\n[[credits]]\namount = 1.001\nexpires = 2026-12-31\n",
            "credits[1] amount: at most 2 decimals",
        ),
        ('[[credits]]\namount = 5\nexpires = "soon"\n', "credits[0] expires: must be a date"),
        ("[[credits]]\namount = 5\nexpires = 2026-12-31\nvalue = 3\n", "credits[0]: unknown key value"),
        ('[tax]\nrate = "abc"\n', "[tax] rate: must be a number"),
        ('[billing]\nstart = "2026-13"\n', "[billing] start"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, db_path: Path, snippet: str, message: str) -> None:
    _setup(tmp_path, db_path, CARRY_EVENTS, '[display]\ntimezone = "UTC"\n')
    (tmp_path / "work" / "usagectl.toml").write_text(snippet, encoding="utf-8")
    assert message in run("invoice", "--month", "2026-11", "--db", str(db_path), expect=2).stderr


def test_payments_add_and_list(tmp_path: Path, db_path: Path) -> None:
    ensure_ready(db_path)  # a payment needs an existing database
    res = run("payment", "add", "2026-11-03", "$1,250.50", "--note", "INV-7", "--db", str(db_path))
    assert "Recorded payment #1: 2026-11-03 $1,250.50 (INV-7)" in res.stderr
    run("payment", "add", "--db", str(db_path), "--", "20261001", "-20")  # a refund (-- before a negative amount)
    out = run_json("payment", "list", "--db", str(db_path))
    assert [(r["payment_id"], r["paid_on"], r["amount_usd"]) for r in out["rows"]] == [
        (2, "2026-10-01", -20),
        (1, "2026-11-03", 1250.5),
    ]
    assert out["totals"]["amount_usd"] == 1230.5
    assert len(run_json("payment", "list", "--since", "2026-11-01", "--db", str(db_path))["rows"]) == 1
    assert "not an amount" in run("payment", "add", "2026-11-03", "lots", "--db", str(db_path), expect=2).stderr
    assert "2 decimals" in run("payment", "add", "2026-11-03", "1.005", "--db", str(db_path), expect=2).stderr
    assert "not a date" in run("payment", "add", "someday", "5", "--db", str(db_path), expect=2).stderr


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1,5", "ambiguous: a comma only groups thousands"),  # $1.50 with a decimal comma, not $15
        ("1,50", "ambiguous"),
        ("1,5000", "ambiguous"),
        ("12,34.5", "ambiguous"),
        ("NaN", "is not a number"),
        ("inf", "is not a number"),
        ("-Infinity", "is not a number"),
        ("1e3", "is not an amount"),
        ("1_000", "is not an amount"),
        ("0", "must be a non-zero amount"),
        ("1000000000000", "too large"),  # 10^12
        ("99,999,999,999,999,999", "too large"),
    ],
)
def test_payment_amounts_that_are_refused(tmp_path: Path, db_path: Path, amount: str, message: str) -> None:
    ensure_ready(db_path)  # a payment needs an existing database
    err = run("payment", "add", "--db", str(db_path), "--", "2026-11-03", amount, expect=2).stderr
    assert message in err


def test_payment_amounts_that_are_accepted(tmp_path: Path, db_path: Path) -> None:
    ensure_ready(db_path)  # a payment needs an existing database
    for text in ("1,500", "$2,000,000.50", "-$20", "999,999,999,999.99", "0.5"):
        run("payment", "add", "--db", str(db_path), "--", "2026-11-03", text)
    amounts = [r["amount_usd"] for r in run_json("payment", "list", "--db", str(db_path))["rows"]]
    assert amounts == [1500, 2000000.5, -20, 999999999999.99, 0.5]
    # balance with no usage = 0 − (1,500 + 2,000,000.50 − 20 + 999,999,999,999.99 + 0.50)
    #                       = −1,000,002,001,480.99: printed as a plain number, never 1.0e+12
    text = run("invoice", "--month", "2026-11", "--json", "--db", str(db_path)).stdout
    assert '"balance_usd": -1000002001480.99' in text and "e+" not in text


def test_payment_dates_are_calendar_days_not_in_the_future(tmp_path: Path, db_path: Path) -> None:
    ensure_ready(db_path)  # a payment needs an existing database
    today = date.today()  # the config has no time zone here: local time, as the command uses
    assert "not a date (use YYYY-MM-DD or YYYYMMDD)" in run("payment", "add", "7d", "1", "--db", str(db_path),
                                                            expect=2).stderr  # fmt: skip
    future = (today + timedelta(days=2)).isoformat()
    assert f"DATE: {future} is in the future" in run("payment", "add", future, "1", "--db", str(db_path),
                                                     expect=2).stderr  # fmt: skip
    run("payment", "add", (today - timedelta(days=1)).isoformat(), "1", "--db", str(db_path))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # strptime read 202611 as 2026-01-01 (%m and %d take one digit): the payment was stored ten
        # months early and counted in every balance from January on
        ("202611", "DATE: '202611' is a month; give a day (2026-11-01 or 20261101)"),
        ("2026111", "DATE: '2026111' is not a date: YYYYMMDD has 8 digits (use YYYY-MM-DD or YYYYMMDD)"),
        ("2026-1-5", "DATE: '2026-1-5' is not a date: write the month and the day with two digits each "
                     "(use YYYY-MM-DD or YYYYMMDD)"),
    ],
)  # fmt: skip
def test_payment_short_dates_are_refused_not_misread(tmp_path: Path, db_path: Path, text: str, message: str) -> None:
    ensure_ready(db_path)  # a payment needs an existing database
    assert run("payment", "add", text, "100", "--db", str(db_path), expect=2).stderr == f"usagectl: error: {message}\n"
    assert run_json("payment", "list", "--db", str(db_path))["rows"] == []


def test_payment_rm_deletes_one_and_refuses_an_unknown_id(tmp_path: Path, db_path: Path) -> None:
    ensure_ready(db_path)  # a payment needs an existing database
    run("payment", "add", "2026-11-03", "1,500", "--db", str(db_path))
    res = run("payment", "add", "--db", str(db_path), "--note", "refund", "--", "2026-11-03", "-20")
    assert "Recorded payment #2: 2026-11-03 -$20.00 (refund)" in res.stderr  # as payment list shows it
    gone = run("payment", "rm", "2", "--db", str(db_path))
    assert "Removed payment #2: 2026-11-03 -$20.00 (refund)" in gone.stderr and gone.stdout == ""
    assert [r["payment_id"] for r in run_json("payment", "list", "--db", str(db_path))["rows"]] == [1]
    err = run("payment", "rm", "2", "--db", str(db_path), expect=2).stderr
    assert "no payment #2" in err and "payment list" in err
    run("payment", "rm", "two", "--db", str(db_path), expect=2)


def test_invoice_month_follows_the_time_zone(tmp_path: Path, db_path: Path) -> None:
    # 2026-10-31T23:30Z is October in UTC but 2026-11-01 00:30 in Europe/Berlin (CET, +1)
    ev = [{"event_id": "B", "ts": "2026-10-31T23:30:00Z", "model_raw": "gpt-4o", "input_tokens": 1000000}]  # $2.50
    _setup(tmp_path, db_path, ev, '[display]\ntimezone = "UTC"\n')
    assert run_json("invoice", "--month", "2026-10", "--db", str(db_path))["totals"]["subtotal_usd"] == 2.5
    berlin = ("--tz", "Europe/Berlin", "--db", str(db_path))
    # in Berlin the only event, so the billing start, is in November: October has no invoice there
    err = run("invoice", "--month", "2026-10", *berlin, expect=2).stderr
    assert "2026-10 is before the billing start 2026-11" in err
    assert run_json("invoice", "--month", "2026-11", *berlin)["totals"]["subtotal_usd"] == 2.5


def test_payment_into_a_missing_database_is_refused(tmp_path: Path) -> None:
    """`payment add --db TYPO` created a new empty database and recorded the payment there."""
    typo = tmp_path / "nope.duckdb"
    for args in (("add", "2026-11-01", "5"), ("rm", "1")):
        err = run("payment", *args, "--db", str(typo), expect=4).stderr
        assert f"no database at {typo}" in err
    assert not typo.exists()


def test_unpriced_buckets_count_as_one_request_each(tmp_path: Path, db_path: Path) -> None:
    """An Anthropic usage bucket gives no request count (stored as 0); the invoice counts it as
    one unpriced request, as `report month` and `cost` do (README). December 2025 (UTC):

    B1 12-10 claude-mystery-9 bucket, 50,000 in + 1,000 out = 51,000 tokens: unpriced, 1 request
    B2 12-11 the same again:                                   51,000 tokens: unpriced, 1 request
    B3 12-10 claude-haiku-4-5 bucket, 1,000,000 in x $1/M = $1.00
    M1 12-12 mystery-model event, requests 3, 1,000 in + 200 out = 1,200 tokens: 3 requests

    unpriced_requests 1 + 1 + 3 = 5, unpriced_tokens 51,000 + 51,000 + 1,200 = 103,200, subtotal
    $1.00. (QA: totals said 3, the raw 0 + 0 + 3, and so did the note.)"""
    from tests.test_cost_detail import _bucket

    page = {"data": [_bucket("2025-12-10", "claude-mystery-9", 50_000, 1_000),
                     _bucket("2025-12-11", "claude-mystery-9", 50_000, 1_000),
                     _bucket("2025-12-10", "claude-haiku-4-5-20251001", 1_000_000, 0)],
            "has_more": False, "next_page": None}  # fmt: skip
    (tmp_path / "u.json").write_text(json.dumps(page), encoding="utf-8")
    event = {"event_id": "M1", "ts": "2025-12-12T10:00:00Z", "model_raw": "mystery-model", "requests": 3,
             "input_tokens": 1_000, "output_tokens": 200}  # fmt: skip
    _setup(tmp_path, db_path, [event], '[display]\ntimezone = "UTC"\n')
    run("import", str(tmp_path / "u.json"), "--db", str(db_path))
    out = run_json("invoice", "--month", "2025-12", "--db", str(db_path))
    t = out["totals"]
    assert (t["subtotal_usd"], t["unpriced_requests"], t["unpriced_tokens"]) == (1, 5, 103_200)
    note = next(n for n in out["notes"] if n.startswith("Unpriced:"))
    assert note.startswith("Unpriced: 5 requests / 103,200 tokens have no price")
    # a filtered invoice (chargeback) counts the same way
    team = run_json("invoice", "--month", "2025-12", "--model", "claude-mystery-9", "--db", str(db_path))
    assert (team["totals"]["unpriced_requests"], team["totals"]["unpriced_tokens"]) == (2, 102_000)


def test_team_statements_carry_their_part_of_the_shared_usage(tmp_path: Path, db_path: Path) -> None:
    """November 2026 (UTC), gpt-4o $10 per 1M output, VAT 19 %:

    a1 alice, team A, chat: 150,000 out = 1.50
    b1 bob,   team B, chat: 100,000 out = 1.00
    s1 no member, no team (shared, slack): 50,000 out = 0.50        account subtotal 3.00

    QA: --team A charged 1.50 and --team B 1.00, so the statements left the shared 0.50 unpaid.
    Allocated as `report team --by team` (proportional): A 1.5/2.5 x 0.50 = 0.30, B 0.20.
    A: 1.50 + 0.30 = 1.80, VAT 0.342 -> 0.34, total 2.14; B: 1.00 + 0.20 = 1.20, VAT 0.228 ->
    0.23, total 1.43. A + B = 3.57 = the account's 3.00 + VAT 0.57."""
    events = [
        {"event_id": "a1", "ts": "2026-11-10T10:00:00Z", "model_raw": "gpt-4o", "output_tokens": 150_000,
         "member": "alice", "team": "A", "feature": "chat"},
        {"event_id": "b1", "ts": "2026-11-10T11:00:00Z", "model_raw": "gpt-4o", "output_tokens": 100_000,
         "member": "bob", "team": "B", "feature": "chat"},
        {"event_id": "s1", "ts": "2026-11-10T12:00:00Z", "model_raw": "gpt-4o", "output_tokens": 50_000,
         "integration": "slack"},
    ]  # fmt: skip
    _setup(tmp_path, db_path, events, '[display]\ntimezone = "UTC"\n[tax]\nrate = 19\nlabel = "VAT"\n')
    ctx = make_context(None, db_path)

    def statement(**where: tuple[str, ...]) -> dict[str, object]:
        return invoice(ctx, InvoiceRequest(month="2026-11", where=where, now=NOW)).totals

    whole = statement()
    assert (whole["subtotal_usd"], whole["tax_usd"], whole["total_usd"]) == (D("3.00"), D("0.57"), D("3.57"))
    rep = invoice(ctx, InvoiceRequest(month="2026-11", where={"team": ("A",)}, now=NOW))
    lines = {r["model"]: r["amount_usd"] for r in rep.rows}
    assert lines == {"gpt-4o": D("1.50"), "Shared usage, allocated": D("0.30")}
    t = rep.totals
    assert (t["subtotal_usd"], t["tax_usd"], t["total_usd"]) == (D("1.80"), D("0.34"), D("2.14"))
    assert (t["shared_cost_usd"], t["shared_allocated_usd"]) == (D("0.50"), D("0.30"))
    assert (t["requests"], t["total_tokens"]) == (1, 150_000)  # the team's own usage: shared tokens are not its
    sections = {s.key: s for s in rep.sections}
    # both splits of the subtotal carry the shared part, so each still adds up to 1.80
    assert {r["item"]: r["amount_usd"] for r in sections["tokens"].rows} == {
        "Output tokens": D("1.50"), "Shared usage, allocated": D("0.30")}  # fmt: skip
    assert {r["feature"]: r["amount_usd"] for r in sections["features"].rows} == {
        "chat": D("1.50"), "Shared usage, allocated": D("0.30")}  # fmt: skip
    assert any(n.startswith("Shared usage (no member, no team) in 2026-11 cost $0.50; $0.30 of it") for n in rep.notes)
    b = statement(team=("B",))
    assert (b["subtotal_usd"], b["tax_usd"], b["total_usd"]) == (D("1.20"), D("0.23"), D("1.43"))
    assert D(str(whole["total_usd"])) == D("2.14") + D(str(b["total_usd"]))
    # a member's statement: --member allocates over the members, 1.50 of 2.50 -> the same 0.30
    assert statement(member=("alice",))["subtotal_usd"] == D("1.80")
    # a scope filter alone (no member or team) is no chargeback: the shared usage is its own line
    assert statement(integration=("slack",))["subtotal_usd"] == D("0.50")


def test_a_department_statement_charges_shared_usage_once(tmp_path: Path, db_path: Path) -> None:
    """October 2026 (UTC), gpt-4o $2.50 per 1M input:

    a1 alice, team A, department eng:   1,000,000 in = 2.50
    b1 bob,   team B, department sales: 1,000,000 in = 2.50
    s1 no member, no team (shared), department eng, integration ci: 800,000 in = 2.00
    s2 the same, mystery-model: unpriced                               account subtotal 7.00

    QA: --department eng charged s1 on its gpt-4o line (4.50 for 1,800,000 tokens) AND through
    the allocated line: eng 5.50 + sales 3.50 = 9.00 for a bill of 7.00. s1 is shared (no member,
    no team), so only the allocation charges it, by department in proportion to the directs:
    eng 2.50/5.00 x 2.00 = 1.00, sales 1.00. eng 2.50 + 1.00 = 3.50, sales 3.50, sum 7.00 =
    `report team --by department`'s rows. Team and member statements are allocated at their own
    level (team: A 2.50/5.00 x 2.00 = 1.00), a team beside a department at the department's."""
    events = [
        {"event_id": "a1", "ts": "2026-10-05T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1_000_000,
         "member": "alice", "team": "A", "department": "eng"},
        {"event_id": "b1", "ts": "2026-10-06T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1_000_000,
         "member": "bob", "team": "B", "department": "sales"},
        {"event_id": "s1", "ts": "2026-10-09T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 800_000,
         "department": "eng", "integration": "ci"},
        {"event_id": "s2", "ts": "2026-10-09T11:00:00Z", "model_raw": "mystery-model", "input_tokens": 500,
         "department": "eng", "integration": "ci"},
    ]  # fmt: skip
    _setup(tmp_path, db_path, events, '[display]\ntimezone = "UTC"\n')
    ctx = make_context(None, db_path)

    def statement(**where: tuple[str, ...]) -> Report:
        return invoice(ctx, InvoiceRequest(month="2026-10", where=where, now=NOW))

    assert statement().totals["subtotal_usd"] == D("7.00")
    eng = statement(department=("eng",))
    lines = {r["model"]: r["amount_usd"] for r in eng.rows}
    assert lines == {"gpt-4o": D("2.50"), "Shared usage, allocated": D("1.00")}
    t = eng.totals
    assert (t["subtotal_usd"], t["requests"], t["total_tokens"]) == (D("3.50"), 1, 1_000_000)
    # the unpriced s2 is shared usage too: not the department's own unpriced request
    assert (t["unpriced_requests"], t["unpriced_models"]) == (0, [])
    assert not any(n.startswith("Unpriced:") for n in eng.notes)
    sales = statement(department=("sales",)).totals["subtotal_usd"]
    assert sales == D("3.50") and t["subtotal_usd"] + sales == D("7.00")
    assert statement(team=("A",)).totals["subtotal_usd"] == D("3.50")
    assert statement(member=("alice",)).totals["subtotal_usd"] == D("3.50")
    assert statement(team=("A",), department=("eng",)).totals["subtotal_usd"] == D("3.50")
    assert statement(member=("bob",), department=("eng",)).totals["subtotal_usd"] == D("0.00")


def test_a_statement_of_a_team_no_event_holds_names_the_close_match(tmp_path: Path, db_path: Path) -> None:
    """QA: `invoice --team b` (the data has B) printed a $0.00 statement with no hint, where
    `report team --team b` says "No team 'b' in the data (did you mean B?)". b1: bob, team B,
    gpt-4o 400,000 in x $2.50/M = 1.00; s1 shared 1,000,000 in = 2.50, all of it B's."""
    events = [
        {"event_id": "b1", "ts": "2026-10-06T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 400_000,
         "member": "bob", "team": "B"},
        {"event_id": "s1", "ts": "2026-10-09T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1_000_000,
         "integration": "slack"},
    ]  # fmt: skip
    _setup(tmp_path, db_path, events, '[display]\ntimezone = "UTC"\n')
    out = run_json("invoice", "--month", "2026-10", "--team", "b", "--db", str(db_path))
    assert out["totals"]["subtotal_usd"] == 0
    assert "No team 'b' in the data (did you mean B?)." in out["notes"]
    b = run_json("invoice", "--month", "2026-10", "--team", "B", "--db", str(db_path))
    assert b["totals"]["subtotal_usd"] == D("3.50")  # 1.00 + all of the shared 2.50
    assert not any(n.startswith("No team") for n in b["notes"])


def test_the_statements_of_all_teams_and_members_add_up_to_the_account(tmp_path: Path, db_path: Path) -> None:
    """QA: October 2026 (UTC), five gpt-4o events of 400,000 in x $2.50/M = $1.00 each; the config
    maps alice to platform and bob to growth, carol to no team:

    a1 alice (platform) 1.00; b1 bob (growth) 1.00; c1 carol (no team) 1.00;
    t1 no member, team growth (a batch job) 1.00; s1 no member, no team: shared 1.00.

    The team statements were platform 1.25 + growth 2.50 = 3.75 of 5.00: carol's row "(no team)"
    was on none, and `--team "(no team)"` was $0.00. By team, proportional: directs growth 2.00
    (b1 + t1), (no team) 1.00, platform 1.00, sum 4.00; shared 1.00 -> growth 2/4 = 0.50,
    (no team) 0.25, platform 0.25. Statements: growth 2.50, (no team) 1.25, platform 1.25 = 5.00.
    By member (shared cost to members only): alice, bob, carol 1/3 each = 0.333334 (alice, the
    tie), 0.333333, 0.333333 -> 0.33 each: 1.33 + 1.33 + 1.33; "(no member)" is t1 with no part
    of the shared cost: 1.00; 3.99 + 1.00 = 4.99, the account's 5.00 but for the lines' cents."""
    events = [
        {"event_id": eid, "ts": f"2026-10-0{day}T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 400_000} | who
        for eid, day, who in (("a1", 3, {"member": "alice"}), ("b1", 4, {"member": "bob"}),
                              ("c1", 5, {"member": "carol"}), ("t1", 6, {"team": "growth"}), ("s1", 7, {}))
    ]  # fmt: skip
    config = '[display]\ntimezone = "UTC"\n[members.alice]\nteam = "platform"\n[members.bob]\nteam = "growth"\n'
    _setup(tmp_path, db_path, events, config)
    ctx = make_context(None, db_path)

    def statement(**where: tuple[str, ...]) -> Report:
        return invoice(ctx, InvoiceRequest(month="2026-10", where=where, now=NOW))

    assert statement().totals["subtotal_usd"] == D("5.00")
    teams = {t: statement(team=(t,)) for t in ("platform", "growth", "(no team)")}
    assert {t: r.totals["subtotal_usd"] for t, r in teams.items()} == {
        "platform": D("1.25"), "growth": D("2.50"), "(no team)": D("1.25")}  # fmt: skip
    assert {r["model"]: r["amount_usd"] for r in teams["(no team)"].rows} == {
        "gpt-4o": D("1.00"), "Shared usage, allocated": D("0.25")}  # fmt: skip
    assert teams["(no team)"].totals["requests"] == 1  # carol's c1 only: not the shared s1
    # each other team's statement names what no team's statement holds, and where it is billed
    note = ('Usage that no team holds (the row (no team) of `usagectl report team --by team`) cost $1.25 in '
            '2026-10: no team\'s statement charges it but its own, `usagectl invoice --month 2026-10 --team '
            '"(no team)"`; without it the statements fall short of the account\'s usage.')  # fmt: skip
    assert note in teams["growth"].notes and note in teams["platform"].notes
    assert teams["growth"].totals["unassigned_usd"] == D("1.25")
    assert not any(n.startswith("Usage that no team holds") for n in teams["(no team)"].notes)
    members = {m: statement(member=(m,)).totals["subtotal_usd"] for m in ("alice", "bob", "carol", "(no member)")}
    assert members == {"alice": D("1.33"), "bob": D("1.33"), "carol": D("1.33"), "(no member)": D("1.00")}
    alice = statement(member=("alice",))
    assert alice.totals["unassigned_usd"] == D("1.00")
    assert any(n.startswith("Usage that no member holds (the row (no member) of `usagectl report team --by "
                            "member`) cost $1.00 in 2026-10") for n in alice.notes)  # fmt: skip
    # the same statement from the command line, by the label `report team` shows
    out = run_json("invoice", "--month", "2026-10", "--team", "(no team)", "--db", str(db_path))
    assert out["totals"]["subtotal_usd"] == 1.25 and not any(n.startswith("No team") for n in out["notes"])


def test_an_invoice_csv_names_the_credits_tax_total_payments_and_balance(tmp_path: Path, db_path: Path) -> None:
    """QA: a CSV of the invoice held one line, gpt-4o 10.00, and nothing of the rest: a finance
    user billed $10.00 for an invoice of $7.14. October 2026 (UTC): 4,000,000 in x $2.50/M =
    10.00; credit 4.00 -> taxable 6.00; VAT 19 % = 1.14; total 10.00 - 4.00 + 1.14 = 7.14; a
    payment of 1.00 on 10-20 -> balance 0.00 + 7.14 - 1.00 = 6.14. The CSV keeps the charge
    lines (their sum is the subtotal) and says the rest on stderr, as `export --csv` does.
    alice's statement: 10.00, no credits, VAT 1.90, total 11.90."""
    ev = [{"event_id": "a1", "ts": "2026-10-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 4_000_000,
           "member": "alice"}]  # fmt: skip
    config = ('[display]\ntimezone = "UTC"\n[[credits]]\namount = 4.00\nexpires = 2026-12-31\nlabel = "promo"\n'
              '[tax]\nrate = 19.0\nlabel = "VAT"\n')  # fmt: skip
    _setup(tmp_path, db_path, ev, config)
    run("payment", "add", "2026-10-20", "1.00", "--note", "wire", "--db", str(db_path))
    note = ("note: Invoice total $7.14 = usage subtotal $10.00 (the sum of the charge lines) - credits $4.00 + "
            "VAT (19%) $1.14; balance due $6.14 = previous balance $0.00 + $7.14 - payments this month $1.00.")  # fmt: skip
    for args in (("invoice", "--format", "csv"), ("export", "--csv", "--report", "invoice")):
        res = run(*args, "--month", "2026-10", "--db", str(db_path))
        assert note in res.stderr.splitlines(), args
        lines = res.stdout.splitlines()
        assert len(lines) == 2 and lines[1].startswith("gpt-4o,") and ",10.000000," in lines[1]
    res = run("invoice", "--month", "2026-10", "--member", "alice", "--format", "csv", "--db", str(db_path))
    assert ("note: Statement total $11.90 = usage subtotal $10.00 (the sum of the charge lines) + VAT (19%) "
            "$1.90.") in res.stderr.splitlines()  # fmt: skip


def test_the_same_payment_twice_warns_and_a_date_before_1970_is_refused(tmp_path: Path, db_path: Path) -> None:
    """QA: `payment add 2026-10-20 10.00 --note "INV-2026-10 wire"` twice gave no word, and the
    balance counted it twice; 1969-12-31 was recorded, where every date option stops at 1970."""
    ensure_ready(db_path)  # a payment needs an existing database
    add = ("payment", "add", "2026-10-20", "10.00", "--note", "INV-2026-10 wire", "--db", str(db_path))
    assert "warning" not in run(*add).stderr
    err = run(*add).stderr  # recorded all the same: two equal transfers can be real
    assert "Recorded payment #2: 2026-10-20 $10.00 (INV-2026-10 wire)" in err
    assert ("warning: payment #1 has the same date, amount and note, and the balance counts each: if #2 is the "
            "same payment recorded again by mistake, `usagectl payment rm 2` removes it.") in err  # fmt: skip
    # another note, or none, is another payment; a third identical one names both before it
    assert "warning" not in run("payment", "add", "2026-10-20", "10", "--db", str(db_path)).stderr
    assert "payments #1, #2 have the same" in run(*add).stderr
    assert [r["payment_id"] for r in run_json("payment", "list", "--db", str(db_path))["rows"]] == [1, 2, 3, 4]
    err = run("payment", "add", "1969-12-31", "5", "--db", str(db_path), expect=2).stderr
    assert "DATE: '1969-12-31' is out of range (dates must lie between 1970-01-01 and 2199-12-31)" in err
    assert len(run_json("payment", "list", "--db", str(db_path))["rows"]) == 4
    # a note is kept without the blanks around it: "INV-2026-10 wire " is the same payment again
    spaced = run("payment", "add", "2026-10-20", "10.00", "--note", " INV-2026-10 wire ", "--db", str(db_path))
    assert "payments #1, #2, #4 have the same" in spaced.stderr
    assert run_json("payment", "list", "--db", str(db_path))["rows"][-1]["note"] == "INV-2026-10 wire"
