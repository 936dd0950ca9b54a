"""`usagectl export --focus`: FinOps FOCUS 1.3 rows checked against every column and rule of
FORMATS.md §9 (the focus-validator package does not run on Python 3.11; see
benchmarks/check_focus.py). Fixture: ``tests/test_export_csv.py`` (priced 6.36 USD).

Rows (UTC day × model × token class, zero classes left out):
E1 gpt-4o 11-03: input 1,000,000 (2.50), output 100,000 (1.00)           -> 2 rows
E2 gpt-4o-mini 11-03: input 1,000,000 (0.15), output 1,000,000 (0.60)    -> 2 rows
E3 claude-sonnet-4-5 11-04: input 20k (0.06), cache read 100k (0.03), 5m write 40k (0.15),
   1h write 20k (0.12), output 10k (0.15)                                 -> 5 rows
E4 gpt-4o-mini 11-05: output 1,000,000 (0.60)                             -> 1 row
E5 mistral: unpriced, no row (named in a note)
E6 gpt-4o 11-30: input 400,000 (1.00)                                     -> 1 row
11 rows; BilledCost sum 6.36.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.helpers import run
from tests.test_export_csv import ALL, TOTAL_COST, loaded, wire_export
from usagectl.services.focus import FOCUS_COLUMN_NAMES, MANDATORY, focus_rows_from_groups

D = Decimal
__all__ = ["loaded"]
NOT_NULL = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingCurrency",
            "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
            "ProviderName", "PublisherName", "InvoiceIssuerName", "ServiceCategory", "ServiceName",
            "ServiceProviderName", "HostProviderName", "ChargeFrequency", "ServiceSubcategory", "BillingAccountType",
            # Usage rows: quantities, units and the SKU / price columns are set
            "PricingQuantity", "PricingUnit", "ConsumedQuantity", "ConsumedUnit", "SkuId", "SkuPriceId",
            "ListUnitPrice", "ContractedUnitPrice", "PricingCategory")  # fmt: skip
DATETIME = re.compile(r"^[0-9]{4}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z$")
NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE]-?[0-9]+)?$")  # no +, no separators, no symbols
UNIT = re.compile(r"^([0-9]+ )?[A-Z][a-z]+s$")  # "<quantity> <plural-units>" or "<plural-units>"
NUMERIC = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity", "ListUnitPrice",
           "ContractedUnitPrice", "ConsumedQuantity")  # fmt: skip


@pytest.fixture(autouse=True)
def _wired() -> None:
    wire_export()


def _focus(db: Path, *args: str) -> tuple[list[str], list[dict[str, str]], str]:
    res = run("export", "--focus", *args, "--db", str(db))
    reader = csv.DictReader(io.StringIO(res.stdout, newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows, res.stderr


def test_columns_and_rules_of_formats_md(loaded: Path) -> None:
    header, rows, err = _focus(loaded, *ALL)
    assert header == list(FOCUS_COLUMN_NAMES)
    assert set(MANDATORY) <= set(header)  # every Mandatory column of §9, incl. the 1.3 ones
    for col in ("ChargeFrequency", "ServiceSubcategory", "SkuId", "SkuPriceId", "ListUnitPrice", "Tags",
                "ConsumedQuantity", "ConsumedUnit", "PricingCategory", "BillingAccountType"):  # fmt: skip
        assert col in header
    # PascalCase FOCUS ids, then the custom columns, all x_-prefixed, after every FOCUS column
    custom = [i for i, c in enumerate(header) if c.startswith("x_")]
    assert custom == list(range(len(header) - len(custom), len(header)))
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+", c) for c in header if not c.startswith("x_"))
    assert len(rows) == 11
    for r in rows:
        for c in NOT_NULL:
            assert r[c] != "", (c, r)
        assert r["ChargeClass"] == "" and r["InvoiceId"] == ""  # actual NULLs, no placeholders
        for c in ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"):
            assert DATETIME.match(r[c]), (c, r[c])
        for c in NUMERIC:
            assert NUMBER.match(r[c]), (c, r[c])
        assert r["ChargeCategory"] == "Usage" and r["BillingCurrency"] == "USD"
        assert r["ChargeFrequency"] == "Usage-Based" and r["PricingCategory"] == "Standard"
        assert r["ServiceCategory"] == "AI and Machine Learning"
        assert UNIT.match(r["PricingUnit"]) and UNIT.match(r["ConsumedUnit"])
        # arithmetic rules: ListCost = ListUnitPrice × PricingQuantity, same for ContractedCost
        assert D(r["ListCost"]) == D(r["ListUnitPrice"]) * D(r["PricingQuantity"])
        assert D(r["ContractedCost"]) == D(r["ContractedUnitPrice"]) * D(r["PricingQuantity"])
        assert r["BilledCost"] == r["EffectiveCost"] == r["ListCost"]
        assert D(r["ConsumedQuantity"]) == D(r["PricingQuantity"]) * 1_000_000
        # charge period = one UTC day inside its calendar-month billing period [start, end)
        start = date.fromisoformat(r["ChargePeriodStart"][:10])
        assert r["BillingPeriodStart"] == f"{start:%Y-%m}-01T00:00:00Z"
        assert r["BillingPeriodStart"] <= r["ChargePeriodStart"] < r["ChargePeriodEnd"] <= r["BillingPeriodEnd"]
        assert isinstance(json.loads(r["Tags"]), dict)
    assert sum(D(r["BilledCost"]) for r in rows) == TOTAL_COST
    assert "mistral-large-2411" in err and "NOT in the cost" in err  # unpriced: named, not dropped silently


def test_rows_by_day_model_and_token_class(loaded: Path) -> None:
    _h, rows, _e = _focus(loaded, *ALL)
    sonnet = {r["x_TokenClass"]: r for r in rows if r["x_Model"] == "claude-sonnet-4-5"}
    assert sorted(sonnet) == sorted(["input_tokens", "cache_read_input_tokens", "cache_write_5m_input_tokens",
                                     "cache_write_1h_input_tokens", "output_tokens"])  # fmt: skip
    cr = sonnet["cache_read_input_tokens"]
    # 100,000 cache-read tokens at $0.30 per 1M: quantity 0.1, cost 0.03
    assert (D(cr["ListUnitPrice"]), D(cr["PricingQuantity"]), D(cr["BilledCost"])) == (D("0.3"), D("0.1"), D("0.03"))
    assert cr["PricingUnit"] == "1000000 Tokens" and cr["ConsumedQuantity"] == "100000"
    assert cr["ChargePeriodStart"] == "2025-11-04T00:00:00Z" and cr["ChargePeriodEnd"] == "2025-11-05T00:00:00Z"
    assert cr["ProviderName"] == cr["ServiceProviderName"] == cr["HostProviderName"] == "Anthropic"
    assert cr["ServiceName"] == "Claude API"
    assert json.loads(cr["Tags"]) == {"cost_center": "cc-200", "member": "carol", "service_tier": "standard",
                                      "team": "growth"}  # fmt: skip
    hostile = [r for r in rows if r["x_Model"] == "gpt-4o-mini" and r["ChargePeriodStart"].startswith("2025-11-05")]
    assert len(hostile) == 1 and json.loads(hostile[0]["Tags"])["member"].startswith("=HYPERLINK")  # inside JSON


def test_focus_parquet_types(loaded: Path, tmp_path: Path) -> None:
    out = tmp_path / "focus.parquet"
    run("export", "--focus", "--out", str(out), *ALL, "--db", str(loaded))
    con = duckdb.connect()
    types = {r[0]: r[1] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(out)]).fetchall()}
    assert types["ChargePeriodStart"] == "TIMESTAMP WITH TIME ZONE" and types["BilledCost"] == "DECIMAL(38,12)"
    assert con.execute("SELECT count(*), sum(BilledCost) FROM read_parquet(?)", [str(out)]).fetchone() == (
        11,
        TOTAL_COST,
    )


def test_web_search_class_and_account_config() -> None:
    group = {"day": date(2025, 11, 3), "model": "claude-sonnet-4-5", "provider": "anthropic", "service_tier": "batch",
             "rate_id": 7, "valid_from": None, "min_input_exclusive": 0, "max_input_inclusive": 200_000, "requests": 3, "input_tokens": 0, "cache_read_tokens": 0, "cache_write_5m_tokens": 0,
             "cache_write_1h_tokens": 0, "output_tokens": 0, "web_search_requests": 3,
             "input_rate": D("0.0000015"), "cache_read_rate": D(0), "cache_write_5m_rate": D(0),
             "cache_write_1h_rate": D(0), "output_rate": D(0), "web_search_rate": D("0.01"),
             "member": None, "team": None, "department": None, "cost_center": None, "project": "p1",
             "workspace": None, "feature": None, "tool": None, "integration": None, "platform": None}  # fmt: skip
    (row,) = focus_rows_from_groups([group], "org-1", "Acme")
    # 3 searches at $0.01 per call (= $10 per 1k) = 0.03
    assert (row["BilledCost"], row["PricingQuantity"], row["PricingUnit"]) == (D("0.03"), D(3), "Requests")
    assert (row["BillingAccountId"], row["BillingAccountName"]) == ("org-1", "Acme")
    assert (row["SubAccountId"], row["SubAccountType"]) == ("p1", "Project")
    assert row["SkuPriceId"] == "claude-sonnet-4-5:web_search_requests:batch:0-200000:always"
    assert json.loads(row["Tags"]) == {"project": "p1", "service_tier": "batch"}


def test_requests_are_on_one_row_of_each_group_so_the_column_sums_right(loaded: Path) -> None:
    """FOCUS consumers SUM every numeric column: ``x_Requests`` holds a group's requests on its
    first token-class row (input, when it has input) and 0 on the others. Priced requests: E1,
    E6 gpt-4o (2), E2, E4 gpt-4o-mini (2), E3 sonnet (1) = 5; E5 (mistral) is unpriced, no row.
    Repeated on every row they summed to 3 + 3 + 5 = 11."""
    _h, rows, _e = _focus(loaded, *ALL)
    per_model: dict[str, int] = {}
    for r in rows:
        per_model[r["x_Model"]] = per_model.get(r["x_Model"], 0) + int(r["x_Requests"])
    assert per_model == {"gpt-4o": 2, "gpt-4o-mini": 2, "claude-sonnet-4-5": 1}
    sonnet = {r["x_TokenClass"]: int(r["x_Requests"]) for r in rows if r["x_Model"] == "claude-sonnet-4-5"}
    assert sonnet == {"input_tokens": 1, "cache_read_input_tokens": 0, "cache_write_5m_input_tokens": 0,
                      "cache_write_1h_input_tokens": 0, "output_tokens": 0}  # fmt: skip
    # E4 has output only: its one row carries its request
    (e4,) = [r for r in rows if r["x_Model"] == "gpt-4o-mini" and r["ChargePeriodStart"].startswith("2025-11-05")]
    assert (e4["x_TokenClass"], e4["x_Requests"]) == ("output_tokens", "1")
