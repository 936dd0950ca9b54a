"""FinOps FOCUS 1.3 cost-and-usage rows (FORMATS.md §9).

One row per UTC day × model × channel × service tier × price row × dimensions × token class
(input, cache read, cache write 5m, cache write 1h, output, web search); zero-quantity classes
are left out, except that a group whose requests used no tokens at all (failed requests, rate
limits) keeps one input row of quantity 0 and cost 0 to carry them. The dimensions (member,
team, department, cost center, project, workspace, feature, tool, integration, platform, as
the reports resolve them: the config's member mapping applied) and the service tier travel as
the ``Tags`` JSON object. ``x_Requests`` holds the group's requests on its first row (input,
when it has input) and 0 on its other token-class rows, so a SUM of the column (what FOCUS
consumers do with a number) counts each request once, as the reports do.

The channel is how the usage was bought (``usagectl.store.export.FOCUS_CHANNEL``): directly
from the model's maker, or through Amazon Bedrock, Google Vertex AI, OpenRouter or Azure. The
entity that sold it is ProviderName, ServiceProviderName, HostProviderName (OpenRouter does
not say which host served a request, so its host is OpenRouter itself, as FOCUS allows when
the host is not visible) and InvoiceIssuerName; PublisherName is the model's maker (its price
table's provider), e.g. Claude on Bedrock: Amazon Web Services ×4, Anthropic, ``Amazon Bedrock``.

Money is exact Decimal: ``ListUnitPrice`` is USD per ``PricingUnit`` (``1000000 Tokens``, or
``Requests`` for web search calls), ``PricingQuantity`` = tokens / 1 000 000, and
``ListCost = ListUnitPrice × PricingQuantity`` = tokens × per-token rate, exactly; BilledCost,
EffectiveCost and ContractedCost equal it (no commitments or negotiated prices are known).
Datetimes are UTC at second precision (``YYYY-MM-DDTHH:mm:ssZ`` in CSV). Unpriced usage has no
cost, so it cannot be a FOCUS row: it is counted and named in the notes, never dropped silently.

Config (optional): ``[focus] billing_account_id`` and ``billing_account_name``; without them
the billing account is ``usagectl-<provider>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from usagectl.config import SECTION_KEYS, Config, shown
from usagectl.errors import ConfigError
from usagectl.models import Column, Report
from usagectl.services.context import AppContext
from usagectl.services.reports import ReportRequest, _unpriced_notes

MILLION = Decimal(1_000_000)
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal"})

# (class id, bucket column, rate column, description, per million tokens?)
TOKEN_CLASSES: tuple[tuple[str, str, str, str, bool], ...] = (
    ("input_tokens", "input_tokens", "input_rate", "input tokens", True),
    ("cache_read_input_tokens", "cache_read_tokens", "cache_read_rate", "cache read input tokens", True),
    (
        "cache_write_5m_input_tokens",
        "cache_write_5m_tokens",
        "cache_write_5m_rate",
        "5m cache write input tokens",
        True,
    ),
    (
        "cache_write_1h_input_tokens",
        "cache_write_1h_tokens",
        "cache_write_1h_rate",
        "1h cache write input tokens",
        True,
    ),
    ("output_tokens", "output_tokens", "output_rate", "output tokens", True),
    ("web_search_requests", "web_search_requests", "web_search_rate", "web search requests", False),
)
# channel -> (the entity that sells, hosts and invoices it, ServiceName); an unknown channel (a
# provider id no table names) is written as stored, never title-cased ("Openrouter": QA)
CHANNELS: dict[str, tuple[str, str]] = {
    "anthropic": ("Anthropic", "Claude API"),
    "openai": ("OpenAI", "OpenAI API"),
    "google": ("Google", "Gemini API"),
    "gemini": ("Google", "Gemini API"),  # LiteLLM's name for Google AI Studio
    "bedrock": ("Amazon Web Services", "Amazon Bedrock"),
    "vertex": ("Google Cloud", "Vertex AI"),
    "openrouter": ("OpenRouter", "OpenRouter"),
    "azure": ("Microsoft", "Azure OpenAI"),
    "azure_ai": ("Microsoft", "Azure AI Foundry"),
}

# (column, kind): "money"/"decimal" exact Decimal, "ts" UTC datetime, "str", "int", "json".
# FOCUS columns first, then the custom x_ columns (FORMATS.md §9: Column IDs).
FOCUS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("BilledCost", "money"), ("EffectiveCost", "money"), ("ListCost", "money"), ("ContractedCost", "money"),
    ("BillingAccountId", "str"), ("BillingAccountName", "str"), ("BillingAccountType", "str"),
    ("BillingCurrency", "str"), ("BillingPeriodStart", "ts"), ("BillingPeriodEnd", "ts"),
    ("ChargePeriodStart", "ts"), ("ChargePeriodEnd", "ts"), ("ChargeCategory", "str"), ("ChargeClass", "str"),
    ("ChargeDescription", "str"), ("ChargeFrequency", "str"), ("PricingCategory", "str"),
    ("PricingQuantity", "decimal"), ("PricingUnit", "str"), ("ListUnitPrice", "money"),
    ("ContractedUnitPrice", "money"), ("ConsumedQuantity", "decimal"), ("ConsumedUnit", "str"),
    ("ProviderName", "str"), ("PublisherName", "str"), ("InvoiceIssuerName", "str"),
    ("ServiceProviderName", "str"), ("HostProviderName", "str"), ("ServiceCategory", "str"),
    ("ServiceSubcategory", "str"), ("ServiceName", "str"), ("SkuId", "str"), ("SkuPriceId", "str"),
    ("SubAccountId", "str"), ("SubAccountName", "str"), ("SubAccountType", "str"), ("InvoiceId", "str"),
    ("Tags", "json"), ("x_Model", "str"), ("x_ServiceTier", "str"), ("x_TokenClass", "str"), ("x_Requests", "int"),
)  # fmt: skip
FOCUS_COLUMN_NAMES = tuple(c for c, _ in FOCUS_COLUMNS)
MANDATORY = (
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId", "BillingAccountName",
    "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "ChargeCategory", "ChargeClass", "ChargeDescription", "PricingQuantity", "PricingUnit", "ProviderName",
    "PublisherName", "InvoiceIssuerName", "ServiceCategory", "ServiceName", "ServiceProviderName", "HostProviderName",
)  # fmt: skip
_DUCK_TYPES = {"money": "DECIMAL(38,12)", "decimal": "DECIMAL(38,12)", "ts": "TIMESTAMPTZ", "str": "VARCHAR",
               "int": "BIGINT", "json": "VARCHAR"}  # fmt: skip


@dataclass(frozen=True)
class FocusExport:
    rows: tuple[dict[str, Any], ...]
    notes: tuple[str, ...]
    total_cost: Decimal  # sum of BilledCost = the priced cost of the filtered events


def _month_bounds(day: date) -> tuple[datetime, datetime]:
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return datetime(first.year, first.month, 1, tzinfo=UTC), datetime(nxt.year, nxt.month, 1, tzinfo=UTC)


def billing_account(config: Config) -> tuple[str | None, str | None]:
    """``[focus] billing_account_id`` and ``billing_account_name`` (ConfigError when not strings)."""
    section = config.data.get("focus", {})
    if not isinstance(section, dict):
        raise ConfigError(f"config {config.path}: [focus] must be a table")
    out = []
    for key in SECTION_KEYS["focus"] or ():
        value = section.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"config {config.path}: [focus] {key}: must be a string, got {shown(value)}")
        out.append(value)
    return out[0], out[1]


def _band(g: dict[str, Any]) -> str:
    """The price row in words: context band and price period start, e.g. ``0-200000:2025-09-29``."""
    lo, hi = int(g["min_input_exclusive"] or 0), g["max_input_inclusive"]
    band = f"{lo}-{hi}" if hi is not None else (f">{lo}" if lo else "all")
    since = g["valid_from"].date().isoformat() if g["valid_from"] is not None else "always"
    return f"{band}:{since}"


def _tags(group: dict[str, Any]) -> str | None:
    from usagectl.store.export import FOCUS_DIMENSIONS

    tags = {k: group[k] for k in FOCUS_DIMENSIONS if group.get(k) is not None}
    tags["service_tier"] = group["service_tier"]
    return json.dumps(dict(sorted(tags.items())), ensure_ascii=False, separators=(",", ":"))


def _seller(channel: str) -> tuple[str, str]:
    """(name, ServiceName) of the entity a channel's usage was bought from (``CHANNELS``)."""
    return CHANNELS.get(channel, (channel, f"{channel} API"))


def _carrier(g: dict[str, Any]) -> str | None:
    """The bucket of the one zero-quantity row a group with requests but no usage keeps (input),
    so that its requests are counted (``x_Requests``); None when the group has usage or no requests."""
    if int(g["requests"] or 0) == 0 or any(int(g[bucket] or 0) for _c, bucket, _r, _w, _m in TOKEN_CLASSES):
        return None
    return TOKEN_CLASSES[0][1]


def focus_rows_from_groups(groups: list[dict[str, Any]], account_id: str | None, account_name: str | None
                           ) -> list[dict[str, Any]]:  # fmt: skip
    """FOCUS rows of the priced groups of ``usagectl.store.export.focus_groups`` (pure; tested
    alone). ``channel`` names the seller (``CHANNELS``); ``publisher``, the price table's
    provider of the model, names its maker (the seller's name when absent)."""
    rows = []
    for g in groups:
        channel = g["channel"] or "unknown"
        name, service = _seller(channel)
        publisher = _seller(g["publisher"])[0] if g.get("publisher") else name
        bp_start, bp_end = _month_bounds(g["day"])
        cp_start = datetime(g["day"].year, g["day"].month, g["day"].day, tzinfo=UTC)
        sub_id, sub_type = (g["workspace"], "Workspace") if g["workspace"] else (g["project"], "Project")
        requests = int(g["requests"] or 0)  # on the group's first row, 0 on the others: the column sums right
        carrier = _carrier(g)
        for cls, bucket, rate_key, what, per_million in TOKEN_CLASSES:
            qty = int(g[bucket] or 0)
            if qty == 0 and bucket != carrier:
                continue
            rate = Decimal(g[rate_key])
            unit_price = rate * MILLION if per_million else rate
            pricing_qty = Decimal(qty) / MILLION if per_million else Decimal(qty)
            cost = rate * qty if qty else Decimal(0)  # = unit_price × pricing_qty, exactly
            sku = f"{g['model']}:{cls}"
            rows.append({
                "BilledCost": cost, "EffectiveCost": cost, "ListCost": cost, "ContractedCost": cost,
                "BillingAccountId": account_id or f"usagectl-{channel}", "BillingAccountName": account_name,
                "BillingAccountType": "Organization", "BillingCurrency": "USD",
                "BillingPeriodStart": bp_start, "BillingPeriodEnd": bp_end,
                "ChargePeriodStart": cp_start, "ChargePeriodEnd": cp_start + timedelta(days=1),
                "ChargeCategory": "Usage", "ChargeClass": None, "ChargeDescription": f"{g['model']} {what}",
                "ChargeFrequency": "Usage-Based", "PricingCategory": "Standard",
                "PricingQuantity": pricing_qty.normalize() if pricing_qty else Decimal(0),
                "PricingUnit": "1000000 Tokens" if per_million else "Requests",
                "ListUnitPrice": unit_price, "ContractedUnitPrice": unit_price,
                "ConsumedQuantity": Decimal(qty), "ConsumedUnit": "Tokens" if per_million else "Requests",
                "ProviderName": name, "PublisherName": publisher, "InvoiceIssuerName": name,
                "ServiceProviderName": name, "HostProviderName": name,
                "ServiceCategory": "AI and Machine Learning", "ServiceSubcategory": "Generative AI",
                "ServiceName": service, "SkuId": sku, "SkuPriceId": f"{sku}:{g['service_tier']}:{_band(g)}",
                "SubAccountId": sub_id, "SubAccountName": sub_id, "SubAccountType": sub_type if sub_id else None,
                "InvoiceId": None, "Tags": _tags(g), "x_Model": g["model"], "x_ServiceTier": g["service_tier"],
                "x_TokenClass": cls, "x_Requests": requests,
            })  # fmt: skip
            requests = 0
    return rows


def focus_export(ctx: AppContext, req: ReportRequest) -> FocusExport:
    """The FOCUS rows of the filtered events (default range: every stored event, as an events
    export: it ended today and left usage dated after now out of the file without a word, QA)."""
    from usagectl.services.export import events_filters
    from usagectl.store import export as store
    from usagectl.store import reports as q
    from usagectl.store.connection import connect

    flt = events_filters(ctx, req)
    account_id, account_name = billing_account(ctx.config)
    book = ctx.pricebook()
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, book, ctx.config.members, flt)
        groups, unpriced = store.focus_groups(con, flt)
    for g in groups:  # the model's maker: PublisherName, whoever sold the usage
        g["publisher"] = book.provider_of(g["model"])
    rows = focus_rows_from_groups(groups, account_id, account_name)
    total = sum((g["cost"] for g in groups), Decimal(0))
    notes = list(_unpriced_notes(unpriced))
    if flt.tz not in UTC_NAMES and (req.since is not None or req.until is not None):
        notes.append(
            f"The range is calendar days in {flt.tz}; FOCUS charge periods are UTC days, so the first and last "
            "UTC day may be partial."
        )
    return FocusExport(rows=tuple(rows), notes=tuple(notes), total_cost=total)


def as_report(export: FocusExport, filters: dict[str, Any]) -> Report:
    """The rows as a Report whose CSV is FOCUS-conformant: exact plain decimals (kind ``float``
    keeps every digit), datetimes as ``YYYY-MM-DDTHH:mm:ssZ``, NULL as an empty cell."""
    cols = tuple(Column(c, c, "float" if k in ("money", "decimal") else "int" if k == "int" else "str")
                 for c, k in FOCUS_COLUMNS)  # fmt: skip
    ts_cols = [c for c, k in FOCUS_COLUMNS if k == "ts"]
    rows = []
    for r in export.rows:
        row = {k: (v.normalize() if isinstance(v, Decimal) else v) for k, v in r.items()}
        for c in ts_cols:
            row[c] = r[c].strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(row)
    return Report(
        name="focus",
        title="FOCUS 1.3 cost and usage",
        filters=filters,
        columns=cols,
        rows=tuple(rows),
        totals={"rows": len(rows), "BilledCost": export.total_cost},
        notes=export.notes,
    )


def write_parquet(export: FocusExport, path: Any) -> int:
    """FOCUS rows to Parquet: DECIMAL money and quantities, TIMESTAMPTZ (UTC) datetimes."""
    from usagectl.store.export import write_parquet_table

    columns = [(c, _DUCK_TYPES[k]) for c, k in FOCUS_COLUMNS]
    return write_parquet_table(path, columns, [[r[c] for c, _ in FOCUS_COLUMNS] for r in export.rows])
