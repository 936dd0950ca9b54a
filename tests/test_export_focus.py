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
    group = {"day": date(2025, 11, 3), "model": "claude-sonnet-4-5", "channel": "anthropic", "service_tier": "batch",
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


def test_requests_of_a_group_without_tokens_are_counted_on_a_zero_row(tmp_path: Path, db_path: Path) -> None:
    """QA: two failed gpt-4o requests of erruser (no tokens: a rate limit) had no token-class
    row, so their requests were lost from SUM(x_Requests) (1, where the report says 3). Their
    group keeps one input row of quantity 0 and cost 0 carrying x_Requests 2; BilledCost is
    unchanged: ok's 100 input tokens x $2.50/M = $0.00025, the only cost."""
    from tests.helpers import run_json, write_jsonl

    events = [
        {"event_id": f"y{i}", "ts": "2026-11-04T10:00:00Z", "model_raw": "gpt-4o", "member": "erruser",
         "status": "error", "error_type": "rate_limit"} for i in (1, 2)
    ] + [{"event_id": "y3", "ts": "2026-11-04T10:00:00Z", "model_raw": "gpt-4o", "member": "ok", "input_tokens": 100}]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "ev.jsonl", events)), "--db", str(db_path))
    day = ("--since", "2026-11-04", "--until", "2026-11-04", "--tz", "UTC")
    assert run_json("report", "by", "model", *day, "--db", str(db_path))["totals"]["requests"] == 3
    _h, rows, _e = _focus(db_path, *day)
    assert sum(int(r["x_Requests"]) for r in rows) == 3
    assert sum(D(r["BilledCost"]) for r in rows) == D("0.00025")
    by_member = {json.loads(r["Tags"])["member"]: r for r in rows}
    assert sorted(by_member) == ["erruser", "ok"] and len(rows) == 2
    zero = by_member["erruser"]
    assert (zero["x_TokenClass"], zero["x_Requests"], zero["ChargeCategory"]) == ("input_tokens", "2", "Usage")
    assert (D(zero["BilledCost"]), D(zero["ListCost"]), D(zero["PricingQuantity"]), D(zero["ConsumedQuantity"])) == (
        0, 0, 0, 0)  # fmt: skip
    # the FOCUS rule still holds: ListCost = ListUnitPrice x PricingQuantity = 2.5 x 0
    assert D(zero["ListUnitPrice"]) == D("2.5") and zero["PricingUnit"] == "1000000 Tokens"
    ok = by_member["ok"]
    assert (ok["x_Requests"], ok["ConsumedQuantity"], D(ok["BilledCost"])) == ("1", "100", D("0.00025"))


def test_zero_row_only_for_a_group_with_requests_and_no_usage() -> None:
    """A group with web searches only carries its requests on its web search row (no zero
    row); a group without requests and usage (a provider bucket of nothing) has no row."""
    base = {"day": date(2025, 11, 3), "model": "claude-sonnet-4-5", "channel": "anthropic", "service_tier": "standard",
            "rate_id": 1, "valid_from": None, "min_input_exclusive": 0, "max_input_inclusive": None,
            "input_tokens": 0, "cache_read_tokens": 0, "cache_write_5m_tokens": 0, "cache_write_1h_tokens": 0,
            "output_tokens": 0, "input_rate": D("0.000003"), "cache_read_rate": D(0), "cache_write_5m_rate": D(0),
            "cache_write_1h_rate": D(0), "output_rate": D(0), "web_search_rate": D("0.01"), "member": None,
            "team": None, "department": None, "cost_center": None, "project": None, "workspace": None,
            "feature": None, "tool": None, "integration": None, "platform": None}  # fmt: skip
    (web,) = focus_rows_from_groups([base | {"requests": 2, "web_search_requests": 2}], None, None)
    assert (web["x_TokenClass"], web["x_Requests"], web["BilledCost"]) == ("web_search_requests", 2, D("0.02"))
    assert focus_rows_from_groups([base | {"requests": 0, "web_search_requests": 0}], None, None) == []


# each event 100,000 input + 1,000 output tokens of a priced model, all on 2026-11-02 (UTC), member alice:
# claude-sonnet-4-5 100,000 x $3/M + 1,000 x $15/M = 0.30 + 0.015 = 0.315 (180k input: base band);
# gemini-2.5-flash 100,000 x $0.30/M + 1,000 x $2.50/M = 0.03 + 0.0025 = 0.0325
CHANNEL_EVENTS = [
    ("b1", None, "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),  # Bedrock inference profile
    ("b2", "bedrock", "claude-sonnet-4-5-20250929"),  # LiteLLM custom_llm_provider
    ("b3", None, "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"),
    ("v1", None, "claude-sonnet-4-5@20250929"),  # Vertex model version
    ("v2", "vertex_ai", "vertex_ai/claude-sonnet-4-5"),
    ("v3", None, "projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5"),
    ("g1", None, "publishers/google/models/gemini-2.5-flash"),  # Gemini on Vertex
    ("o1", "openrouter", "anthropic/claude-sonnet-4.5"),
    ("a1", None, "claude-sonnet-4-5"),  # Anthropic's own API
    ("a2", "anthropic", "anthropic/claude-sonnet-4-5"),  # LiteLLM's name for the same
]


def test_bedrock_vertex_and_openrouter_usage_names_who_sold_hosted_and_made_it(tmp_path: Path, db_path: Path) -> None:
    """QA: Claude on Bedrock or Vertex (stored with provider anthropic, resolved from its id)
    was hosted and invoiced by "Anthropic" in the "Claude API" rows of direct use, and OpenRouter
    was "Openrouter" everywhere. FORMATS.md §9 / FOCUS 1.3: the seller is ProviderName,
    ServiceProviderName, InvoiceIssuerName and the host (OpenRouter shows no host: itself);
    PublisherName is the model's maker. Each channel has its own rows and billing account.

    Per channel (0.315 per Claude event, 0.0325 for Gemini, see above): Bedrock b1-b3 3 x 0.315 =
    0.945; Vertex v1-v3 0.945 + g1 0.0325 = 0.9775; OpenRouter 0.315; Anthropic a1, a2 0.63.
    Total 0.945 + 0.9775 + 0.315 + 0.63 = 2.8675."""
    from tests.helpers import write_jsonl

    events = [{"event_id": eid, "ts": "2026-11-02T10:00:00Z", "model_raw": raw, "member": "alice",
               "input_tokens": 100_000, "output_tokens": 1_000} | ({"provider": p} if p else {})
              for eid, p, raw in CHANNEL_EVENTS]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "ev.jsonl", events)), "--db", str(db_path))
    _h, rows, _e = _focus(db_path, "--since", "2026-11-02", "--until", "2026-11-02", "--tz", "UTC")
    cols = ("ProviderName", "ServiceProviderName", "HostProviderName", "InvoiceIssuerName", "ServiceName",
            "PublisherName", "BillingAccountId")  # fmt: skip
    seen: dict[tuple[str, ...], tuple[D, int]] = {}
    for r in rows:
        key = tuple(r[c] for c in cols)
        cost, requests = seen.get(key, (D(0), 0))
        seen[key] = (cost + D(r["BilledCost"]), requests + int(r["x_Requests"]))
    aws, gcp = "Amazon Web Services", "Google Cloud"
    assert seen == {
        (aws, aws, aws, aws, "Amazon Bedrock", "Anthropic", "usagectl-bedrock"): (D("0.945"), 3),
        (gcp, gcp, gcp, gcp, "Vertex AI", "Anthropic", "usagectl-vertex"): (D("0.945"), 3),
        (gcp, gcp, gcp, gcp, "Vertex AI", "Google", "usagectl-vertex"): (D("0.0325"), 1),
        ("OpenRouter",) * 5 + ("Anthropic", "usagectl-openrouter"): (D("0.315"), 1),
        ("Anthropic",) * 4 + ("Claude API", "Anthropic", "usagectl-anthropic"): (D("0.63"), 2),
    }
    assert sum(D(r["BilledCost"]) for r in rows) == D("2.8675")
    assert len(rows) == 10  # 5 groups (4 channels, Vertex with 2 models) x an input and an output row


def test_an_unknown_channel_is_named_as_stored_never_title_cased() -> None:
    """A provider id no table names (a LiteLLM ``custom_llm_provider`` such as together_ai) is
    written as stored: title-casing made "Openrouter" of openrouter (QA)."""
    group = {"day": date(2025, 11, 3), "model": "gpt-4o", "channel": "together_ai", "publisher": "openai",
             "service_tier": "standard", "rate_id": 1, "valid_from": None, "min_input_exclusive": 0,
             "max_input_inclusive": None, "requests": 1, "input_tokens": 1_000_000, "cache_read_tokens": 0,
             "cache_write_5m_tokens": 0, "cache_write_1h_tokens": 0, "output_tokens": 0, "web_search_requests": 0,
             "input_rate": D("0.0000025"), "cache_read_rate": D(0), "cache_write_5m_rate": D(0),
             "cache_write_1h_rate": D(0), "output_rate": D(0), "web_search_rate": None, "member": None,
             "team": None, "department": None, "cost_center": None, "project": None, "workspace": None,
             "feature": None, "tool": None, "integration": None, "platform": None}  # fmt: skip
    (row,) = focus_rows_from_groups([group], None, None)
    assert (row["ProviderName"], row["HostProviderName"], row["InvoiceIssuerName"]) == ("together_ai",) * 3
    assert (row["PublisherName"], row["ServiceName"]) == ("OpenAI", "together_ai API")
    assert row["BilledCost"] == D("2.5")  # 1M tokens x $2.50/M


def test_azure_ai_and_azure_model_prefixes_are_sold_by_microsoft(tmp_path: Path, db_path: Path) -> None:
    """LiteLLM's model prefixes `azure/` (Azure OpenAI) and `azure_ai/` (Azure AI Foundry) name
    the seller as the provider does; `azure_ai/gpt-4o` was read as OpenAI's own API (QA).
    Each: gpt-4o 100,000 in x $2.50/M = $0.25."""
    from tests.helpers import write_jsonl

    events = [{"event_id": eid, "ts": "2026-11-02T10:00:00Z", "model_raw": raw, "input_tokens": 100_000}
              | ({"provider": p} if p else {})
              for eid, p, raw in (("a", None, "azure/gpt-4o"), ("b", None, "azure_ai/gpt-4o"),
                                  ("c", "azure_ai", "gpt-4o"))]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "az.jsonl", events)), "--db", str(db_path))
    _h, rows, _e = _focus(db_path, "--since", "2026-11-02", "--until", "2026-11-02", "--tz", "UTC")
    seen = {(r["ProviderName"], r["ServiceName"], r["HostProviderName"]): (D(r["BilledCost"]), int(r["x_Requests"]))
            for r in rows}  # fmt: skip
    assert seen == {
        ("Microsoft", "Azure OpenAI", "Microsoft"): (D("0.25"), 1),
        ("Microsoft", "Azure AI Foundry", "Microsoft"): (D("0.5"), 2),
    }
