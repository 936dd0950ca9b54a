"""Pricing engine and the packaged price tables.

Every expected amount here is worked out by hand from the list prices of docs/PRICING.md
(USD per 1M tokens), not taken from the program.
"""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import usagectl.pricing as pricing_mod
from usagectl.errors import PricingError
from usagectl.pricing import PriceBook, load_pricebook, pricing_dirs

TS = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
D = Decimal
BUCKETS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
)


@pytest.fixture(autouse=True)
def _packaged_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USAGECTL_PRICING_DIR", raising=False)


@pytest.fixture()
def book() -> PriceBook:
    return load_pricebook()


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def book_from(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch, name: str = "t.toml") -> PriceBook:
    d = tmp_path / "tables"
    write(d, name, text)
    monkeypatch.setenv("USAGECTL_PRICING_DIR", str(d))
    return load_pricebook()


# --------------------------------------------------------------------------- reference prices

# (model, bucket, USD per 1M tokens). Cache writes of OpenAI/Gemini models bill at input.
REFERENCE = [
    ("gpt-4o", "input_tokens", "2.50"),
    ("gpt-4o", "output_tokens", "10.00"),
    ("gpt-4o", "cache_read_tokens", "1.25"),
    ("gpt-4o", "cache_write_5m_tokens", "2.50"),
    ("gpt-4o-2024-05-13", "input_tokens", "5"),
    ("gpt-4o-2024-05-13", "output_tokens", "15"),
    ("gpt-4o-2024-05-13", "cache_read_tokens", "5"),  # no cache discount listed: input rate
    ("gpt-4o-mini", "input_tokens", "0.15"),
    ("gpt-4o-mini", "output_tokens", "0.60"),
    ("gpt-4o-mini", "cache_read_tokens", "0.075"),
    ("gpt-4.1", "input_tokens", "2.00"),
    ("gpt-4.1", "output_tokens", "8.00"),
    ("gpt-4.1", "cache_read_tokens", "0.50"),
    ("gpt-4.1-mini", "input_tokens", "0.40"),
    ("gpt-4.1-mini", "output_tokens", "1.60"),
    ("gpt-4.1-mini", "cache_read_tokens", "0.10"),
    ("gpt-5", "input_tokens", "1.25"),
    ("gpt-5", "output_tokens", "10.00"),
    ("gpt-5", "cache_read_tokens", "0.125"),
    # Codex CLI's default model: https://developers.openai.com/api/docs/models/gpt-5-codex
    ("gpt-5-codex", "input_tokens", "1.25"),
    ("gpt-5-codex", "output_tokens", "10.00"),
    ("gpt-5-codex", "cache_read_tokens", "0.125"),
    ("gpt-5-mini", "input_tokens", "0.25"),
    ("gpt-5-mini", "output_tokens", "2.00"),
    ("gpt-5-mini", "cache_read_tokens", "0.025"),
    ("o3", "input_tokens", "2.00"),
    ("o3", "output_tokens", "8.00"),
    ("o3", "cache_read_tokens", "0.50"),
    ("o4-mini", "input_tokens", "1.10"),
    ("o4-mini", "output_tokens", "4.40"),
    ("o4-mini", "cache_read_tokens", "0.275"),
    ("claude-3-5-sonnet", "input_tokens", "3.00"),
    ("claude-3-5-sonnet", "output_tokens", "15.00"),
    ("claude-3-5-sonnet", "cache_read_tokens", "0.30"),
    ("claude-3-5-sonnet", "cache_write_5m_tokens", "3.75"),
    ("claude-3-5-sonnet", "cache_write_1h_tokens", "6.00"),
    ("claude-3-5-haiku", "input_tokens", "0.80"),
    ("claude-3-5-haiku", "output_tokens", "4.00"),
    ("claude-3-5-haiku", "cache_read_tokens", "0.08"),
    ("claude-3-5-haiku", "cache_write_5m_tokens", "1.00"),
    ("claude-3-5-haiku", "cache_write_1h_tokens", "1.60"),
    ("claude-sonnet-4", "input_tokens", "3.00"),
    ("claude-sonnet-4", "output_tokens", "15.00"),
    ("claude-sonnet-4", "cache_read_tokens", "0.30"),
    ("claude-sonnet-4", "cache_write_5m_tokens", "3.75"),
    ("claude-sonnet-4", "cache_write_1h_tokens", "6.00"),
    ("claude-sonnet-4-5", "input_tokens", "3.00"),
    ("claude-sonnet-4-5", "output_tokens", "15.00"),
    ("claude-sonnet-4-5", "cache_read_tokens", "0.30"),
    ("claude-sonnet-4-5", "cache_write_5m_tokens", "3.75"),
    ("claude-sonnet-4-5", "cache_write_1h_tokens", "6.00"),
    ("claude-opus-4-1", "input_tokens", "15.00"),
    ("claude-opus-4-1", "output_tokens", "75.00"),
    ("claude-opus-4-1", "cache_read_tokens", "1.50"),
    ("claude-opus-4-1", "cache_write_5m_tokens", "18.75"),
    ("claude-opus-4-1", "cache_write_1h_tokens", "30.00"),
    ("claude-haiku-4-5", "input_tokens", "1.00"),
    ("claude-haiku-4-5", "output_tokens", "5.00"),
    ("claude-haiku-4-5", "cache_read_tokens", "0.10"),
    ("claude-haiku-4-5", "cache_write_5m_tokens", "1.25"),
    ("claude-haiku-4-5", "cache_write_1h_tokens", "2.00"),
    ("gemini-2.5-pro", "input_tokens", "1.25"),
    ("gemini-2.5-pro", "output_tokens", "10.00"),
    ("gemini-2.5-pro", "cache_read_tokens", "0.125"),
    ("gemini-2.5-pro", "cache_write_5m_tokens", "1.25"),
    ("gemini-2.5-flash", "input_tokens", "0.30"),
    ("gemini-2.5-flash", "output_tokens", "2.50"),
    ("gemini-2.5-flash", "cache_read_tokens", "0.03"),
]


@pytest.mark.parametrize(("model", "bucket", "rate"), REFERENCE)
def test_reference_price_of_a_million_tokens(book: PriceBook, model: str, bucket: str, rate: str) -> None:
    # A million tokens cost exactly the per-1M rate. requests=2 keeps the base band even
    # though 1M input is over the long-context threshold of some models.
    res = book.cost(model_raw=model, ts=TS, requests=2, **{bucket: 1_000_000})
    assert res.total == D(rate)
    assert res.unpriced_reason is None


def test_every_reference_model_is_in_the_tables(book: PriceBook) -> None:
    ids = {m.id for m in book.models()}
    assert {model for model, _, _ in REFERENCE} <= ids


def test_anthropic_models_charge_ten_dollars_per_thousand_searches(book: PriceBook) -> None:
    for info in book.models():
        if info.provider == "anthropic":
            res = book.cost(model_raw=info.id, ts=TS, web_search_requests=1000)
            assert res.total == D("10"), info.id


def test_reads_are_exact_decimals(book: PriceBook) -> None:
    # 3 tokens at $0.10/M is 3e-7 exactly; a float would give 3.0000000000000004e-07.
    res = book.cost(model_raw="gpt-4.1-mini", ts=TS, cache_read_tokens=3)
    assert res.total == D("0.0000003")
    assert all(isinstance(r.rates.input, Decimal) for r in book.rate_rows())


# --------------------------------------------------------------------------- long context


def test_long_context_cliff_at_200k_bills_the_whole_request(book: PriceBook) -> None:
    at = book.cost(
        model_raw="claude-sonnet-4-5",
        ts=TS,
        input_tokens=50_000,
        cache_read_tokens=150_000,
        output_tokens=10_000,
    )
    # 50,000 x 3 + 150,000 x 0.30 + 10,000 x 15 = 0.15 + 0.045 + 0.15
    assert at.total == D("0.345")
    assert at.applied is not None and not at.applied.long_context
    assert at.applied.threshold == 200_000

    over = book.cost(
        model_raw="claude-sonnet-4-5",
        ts=TS,
        input_tokens=50_001,
        cache_read_tokens=150_000,
        output_tokens=10_000,
    )
    # 50,001 x 6 + 150,000 x 0.60 + 10,000 x 22.50 = 0.300006 + 0.09 + 0.225
    assert over.total == D("0.615006")
    assert over.applied is not None and over.applied.long_context
    assert over.applied.threshold == 200_000


def test_cache_writes_count_towards_the_threshold(book: PriceBook) -> None:
    res = book.cost(
        model_raw="claude-sonnet-4",
        ts=TS,
        input_tokens=1_000,
        cache_write_5m_tokens=100_000,
        cache_write_1h_tokens=99_001,
    )
    # 200,001 total input: 1,000 x 6 + 100,000 x 7.50 + 99,001 x 12 = 0.006 + 0.75 + 1.188012
    assert res.total == D("1.944012")


def test_gemini_25_pro_long_context(book: PriceBook) -> None:
    base = book.cost(model_raw="gemini-2.5-pro", ts=TS, input_tokens=200_000, output_tokens=1_000)
    assert base.total == D("0.26")  # 200,000 x 1.25 + 1,000 x 10 = 0.25 + 0.01
    over = book.cost(
        model_raw="gemini-2.5-pro", ts=TS, input_tokens=190_001, cache_read_tokens=10_000, output_tokens=1_000
    )
    # 190,001 x 2.50 + 10,000 x 0.25 + 1,000 x 15 = 0.4750025 + 0.0025 + 0.015
    assert over.total == D("0.4925025")


def test_requests_over_one_never_get_the_long_context_band(book: PriceBook) -> None:
    res = book.cost(model_raw="claude-sonnet-4-5", ts=TS, requests=5, input_tokens=300_000, output_tokens=1_000)
    # base rates: 300,000 x 3 + 1,000 x 15 = 0.9 + 0.015
    assert res.total == D("0.915")
    assert res.applied is not None
    assert not res.applied.long_context
    assert res.applied.long_context_undecided
    applied = book.rate_for("claude-sonnet-4-5", TS, total_input=10_000_000, requests=2)
    assert applied is not None and applied.rates.input == D("3.00")
    # a model without a long-context band is not "undecided"
    flat = book.cost(model_raw="gpt-4o", ts=TS, requests=5, input_tokens=300_000)
    assert flat.applied is not None and not flat.applied.long_context_undecided


def test_a_bucket_that_states_its_band_is_priced_on_it(book: PriceBook) -> None:
    """An Anthropic usage row of context_window "200k-1M" holds only requests over 200k input:
    ``band_input`` (200,001) decides its band, whatever its summed input."""
    res = book.cost(
        model_raw="claude-sonnet-4-5", ts=TS, requests=0, input_tokens=150_000, output_tokens=1_000,
        band_input=200_001,
    )  # fmt: skip
    # long-context rates: 150,000 x 6 + 1,000 x 22.50 = 0.9 + 0.0225
    assert res.total == D("0.9225")
    assert res.applied is not None and res.applied.long_context and not res.applied.long_context_undecided
    # a single request is decided on its own input: band_input is not read
    one = book.cost(model_raw="claude-sonnet-4-5", ts=TS, input_tokens=1_000, band_input=200_001)
    assert one.applied is not None and not one.applied.long_context and one.total == D("0.003")


def test_rate_for_decides_the_band_on_total_input(book: PriceBook) -> None:
    base = book.rate_for("claude-sonnet-4-5", TS, total_input=200_000)
    over = book.rate_for("claude-sonnet-4-5", TS, total_input=200_001)
    assert base is not None and over is not None
    assert (base.rates.input, base.rates.output, base.long_context) == (D("3"), D("15"), False)
    assert (over.rates.input, over.rates.output, over.long_context) == (D("6"), D("22.5"), True)
    assert (over.rates.cache_read, over.rates.cache_write_5m, over.rates.cache_write_1h) == (
        D("0.6"),
        D("7.5"),
        D("12"),
    )


# --------------------------------------------------------------------------- cache writes, tiers


def test_one_hour_writes_cost_more_than_five_minute_writes(book: PriceBook) -> None:
    one_hour = book.cost(model_raw="claude-sonnet-4-5", ts=TS, requests=2, cache_write_1h_tokens=1_000_000)
    five_min = book.cost(model_raw="claude-sonnet-4-5", ts=TS, requests=2, cache_write_5m_tokens=1_000_000)
    assert one_hour.total == D("6.00")
    assert five_min.total == D("3.75")


def test_batch_halves_every_bucket(book: PriceBook) -> None:
    usage = {
        "input_tokens": 1_000_000,
        "cache_read_tokens": 1_000_000,
        "cache_write_5m_tokens": 1_000_000,
        "cache_write_1h_tokens": 1_000_000,
        "output_tokens": 1_000_000,
        "web_search_requests": 1_000,
    }
    std = book.cost(model_raw="claude-sonnet-4-5", ts=TS, requests=2, **usage)
    batch = book.cost(model_raw="claude-sonnet-4-5", ts=TS, requests=2, service_tier="batch", **usage)
    # 3 + 0.30 + 3.75 + 6 + 15 + 10 (1,000 searches)
    assert std.total == D("38.05")
    assert batch.total == D("19.025")
    for s_line, b_line in zip(std.lines, batch.lines):
        assert b_line.amount * 2 == s_line.amount, s_line.bucket


def test_batch_multiplier_applies_to_the_long_context_band(book: PriceBook) -> None:
    res = book.cost(model_raw="claude-sonnet-4-5", ts=TS, service_tier="batch", input_tokens=200_001)
    assert res.total == D("0.600003")  # 200,001 x 6 x 0.5


def test_tier_spellings(book: PriceBook) -> None:
    for tier in (None, "", "standard", "default", " Standard "):
        res = book.cost(model_raw="gpt-4o", ts=TS, input_tokens=1_000_000, service_tier=tier)
        assert res.total == D("2.50"), tier


def test_unpriced_tiers(book: PriceBook) -> None:
    flex = book.cost(model_raw="gpt-4o", ts=TS, input_tokens=1_000, service_tier="flex")
    assert flex.total is None and flex.unpriced_reason == "service tier 'flex' is not priced for gpt-4o"
    odd = book.cost(model_raw="gpt-4o", ts=TS, input_tokens=1_000, service_tier="scale")
    assert odd.total is None and odd.unpriced_reason is not None and "unknown service tier" in odd.unpriced_reason


def test_openai_priority_and_flex(book: PriceBook) -> None:
    prio = book.cost(model_raw="gpt-5", ts=TS, service_tier="priority", input_tokens=1_000_000, output_tokens=1_000_000)
    assert prio.total == D("22.50")  # 2.50 + 20
    flex = book.cost(model_raw="o4-mini", ts=TS, service_tier="flex", input_tokens=1_000_000, output_tokens=1_000_000)
    assert flex.total == D("2.75")  # (1.10 + 4.40) / 2


# --------------------------------------------------------------------------- validity periods


def test_o3_price_cut_on_2025_06_10(book: PriceBook) -> None:
    before = datetime(2025, 6, 9, 23, 59, 59, tzinfo=UTC)
    after = datetime(2025, 6, 10, 0, 0, 0, tzinfo=UTC)
    old = book.cost(model_raw="o3", ts=before, input_tokens=1_000_000, output_tokens=1_000_000)
    new = book.cost(model_raw="o3", ts=after, input_tokens=1_000_000, output_tokens=1_000_000)
    assert old.total == D("50")  # 10 + 40
    assert new.total == D("10")  # 2 + 8
    assert old.applied is not None and old.applied.valid_to == after
    assert new.applied is not None and new.applied.valid_from == after
    # another offset, same instant: 2025-06-10T01:00+01:00 is the cut itself
    same = book.cost(
        model_raw="o3-2025-04-16",
        ts=datetime(2025, 6, 10, 1, 0, tzinfo=timezone(timedelta(hours=1))),
        input_tokens=1_000_000,
    )
    assert same.total == D("2")


# --------------------------------------------------------------------------- names


def test_snapshot_with_its_own_price_is_not_normalised(book: PriceBook) -> None:
    kw = {"ts": TS, "input_tokens": 1_000_000, "output_tokens": 1_000_000}
    assert book.cost(model_raw="gpt-4o", **kw).total == D("12.50")
    assert book.cost(model_raw="gpt-4o-2024-05-13", **kw).total == D("20")
    assert book.cost(model_raw="gpt-4o-2024-08-06", **kw).total == D("12.50")
    assert book.resolve("openai/gpt-4o-2024-05-13") == "gpt-4o-2024-05-13"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("openrouter/openai/gpt-4o-mini", "gpt-4o-mini"),
        ("openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "claude-sonnet-4-5",
        ),
        (
            "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-opus-4-1-20250805-v1:0",
            "claude-opus-4-1",
        ),
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"),
        ("claude-3-5-sonnet@20241022", "claude-3-5-sonnet"),
        ("vertex_ai/claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("models/gemini-2.5-pro", "gemini-2.5-pro"),
        ("gemini/gemini-2.5-flash", "gemini-2.5-flash"),
        ("azure/gpt-4.1", "gpt-4.1"),
        ("claude-3.5-sonnet", "claude-3-5-sonnet"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("GPT-4o", "gpt-4o"),
    ],
)
def test_packaged_names_resolve(book: PriceBook, raw: str, expected: str) -> None:
    assert book.resolve(raw) == expected


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("claude-3-5-sonnet-20240620", "claude-3-5-sonnet"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-2024-11-20", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("gpt-5-2025-08-07", "gpt-5"),
        ("gpt-5-mini-2025-08-07", "gpt-5-mini"),
        ("o3-2025-04-16", "o3"),
        ("o4-mini-2025-04-16", "o4-mini"),
    ],
)
def test_declared_aliases(book: PriceBook, alias: str, expected: str) -> None:
    info = book.get(expected)
    assert info is not None and alias in info.aliases
    assert book.resolve(alias) == expected


RULES_TABLE = """
provider = "acme"

[[model]]
id = "claude-sonnet-4-5"
aliases = ["claude-sonnet-4-5-20250929"]
  [[model.price]]
  source = "https://example.com"
  checked = 2026-11-25
  input = 3
  output = 15

[[model]]
id = "claude-3-5-sonnet"
  [[model.price]]
  source = "https://example.com"
  checked = 2026-11-25
  input = 3
  output = 15

[[model]]
id = "gpt-4o"
  [[model.price]]
  source = "https://example.com"
  checked = 2026-11-25
  input = 2.5
  output = 10

[[model]]
id = "gpt-4o-2024-05-13"
  [[model.price]]
  source = "https://example.com"
  checked = 2026-11-25
  input = 5
  output = 15

[[model]]
id = "gpt-4.1"
  [[model.price]]
  source = "https://example.com"
  checked = 2026-11-25
  input = 2
  output = 8
"""


@pytest.mark.parametrize(
    ("rule", "raw", "expected"),
    [
        ("a: id", "claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("a: alias", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("a: case and spaces", "  Claude-Sonnet-4-5\t", "claude-sonnet-4-5"),
        ("b: anthropic/", "anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("b: openrouter/x/", "openrouter/anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("b: vertex_ai/", "vertex_ai/claude-3-5-sonnet", "claude-3-5-sonnet"),
        ("b: azure/", "azure/gpt-4o", "gpt-4o"),
        ("b: models/", "models/gpt-4o", "gpt-4o"),
        ("b: bedrock/", "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("c: region", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("c: eu", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("c: apac", "apac.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("c: jp", "jp.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("c: au", "au.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("c: global", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("c: us-gov", "us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("c: -vN", "anthropic.claude-sonnet-4-5-20250929-v2", "claude-sonnet-4-5"),
        (
            "c: arn",
            "arn:aws:bedrock:eu-central-1:123456789012:inference-profile/eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "claude-sonnet-4-5",
        ),
        ("d: vertex @", "claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("e: 4.5", "claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("e: 3.5", "claude-3.5-sonnet", "claude-3-5-sonnet"),
        ("e: prefix and dot", "openrouter/anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("e: not for other names", "gpt-4.1", "gpt-4.1"),
        ("f: yyyymmdd", "claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("f: yyyy-mm-dd", "gpt-4o-2024-08-06", "gpt-4o"),
        ("f: latest", "claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("f: own price kept", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
        ("f: after prefix", "openai/gpt-4o-2024-11-20", "gpt-4o"),
    ],
)
def test_resolution_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rule: str, raw: str, expected: str) -> None:
    book = book_from(tmp_path, RULES_TABLE, monkeypatch)
    assert book.resolve(raw) == expected, rule


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "gpt-4o-super",
        "gpt4o",
        "gpt-4",
        "gpt-4-1",  # no reverse dot rule for non-Claude names
        "gpt-4o-v1",  # -vN is stripped from Bedrock ids only
        "openai/gpt-4o-super",
        "claude-sonnet-4-5-foo",
        "claude-sonnet",
        "claude-sonnet-4-5-2025",
        "us.anthropic.claude-sonnet-4-5-foo-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4",
    ],
)
def test_unknown_names_do_not_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: str | None) -> None:
    book = book_from(tmp_path, RULES_TABLE, monkeypatch)
    assert book.resolve(raw) is None


def test_unknown_model_is_unpriced_never_zero(book: PriceBook) -> None:
    res = book.cost(model_raw="gpt-4o-super", ts=TS, input_tokens=1_000, output_tokens=10)
    assert res.total is None
    assert res.applied is None
    assert res.unpriced_reason == "unknown model 'gpt-4o-super'"
    missing = book.cost(model_raw=None, ts=TS, input_tokens=1)
    assert missing.total is None and missing.unpriced_reason == "no model name"


# --------------------------------------------------------------------------- engine details (fixtures)

TIER_TABLE = """
provider = "acme"

[[model]]
id = "m"
name = "M"
  [[model.price]]
  from = 2026-01-01
  until = 2027-01-01T00:00:00+01:00
  source = "https://example.com/m"
  checked = 2026-11-25
  input = 1
  output = 2
  web_search_per_1k = 10
  batch = 0.5
  priority = { input = 2, output = 4 }
    [[model.price.over]]
    threshold = 100
    input = 10
    output = 20

[[model]]
id = "n"
  [[model.price]]
  source = "https://example.com/n"
  checked = 2026-11-25
  input = 1
  output = 2
  priority = { input = 2, output = 4, cache_read = 0.5 }
    [[model.price.over]]
    threshold = 100
    input = 10
    output = 20
    priority = { input = 30, output = 40 }
    [[model.price.over]]
    threshold = 1000
    input = 100
    output = 200
"""


def test_explicit_tier_does_not_carry_over_the_threshold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = book_from(tmp_path, TIER_TABLE, monkeypatch)
    assert book.cost(model_raw="m", ts=TS, service_tier="priority", input_tokens=100).total == D("0.0002")
    res = book.cost(model_raw="m", ts=TS, service_tier="priority", input_tokens=101)
    assert res.total is None
    assert res.unpriced_reason == "service tier 'priority' of m has no rates over 100 input tokens"
    # a multiplier does carry over: 101 x 10 x 0.5
    assert book.cost(model_raw="m", ts=TS, service_tier="batch", input_tokens=101).total == D("0.000505")
    # the band's own explicit rates: 101 x 30
    assert book.cost(model_raw="n", ts=TS, service_tier="priority", input_tokens=101).total == D("0.00303")


def test_explicit_tier_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = book_from(tmp_path, TIER_TABLE, monkeypatch)
    # cache keys missing from priority = {…} bill at the tier's own input rate ($2)
    res = book.cost(model_raw="m", ts=TS, service_tier="priority", requests=2, cache_read_tokens=1_000_000)
    assert res.total == D("2")
    # web search keeps the band's standard per-call rate; batch halves it
    assert book.cost(model_raw="m", ts=TS, service_tier="priority", web_search_requests=1000).total == D("10")
    assert book.cost(model_raw="m", ts=TS, service_tier="batch", web_search_requests=1000).total == D("5")
    # n has no batch at all
    assert book.cost(model_raw="n", ts=TS, service_tier="batch", input_tokens=1).total is None


def test_several_long_context_bands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = book_from(tmp_path, TIER_TABLE, monkeypatch)
    assert book.cost(model_raw="n", ts=TS, input_tokens=1000).total == D("0.01")  # 1000 x 10
    top = book.cost(model_raw="n", ts=TS, input_tokens=1001, output_tokens=1)
    assert top.total == D("0.1003")  # 1001 x 100 + 1 x 200
    assert top.applied is not None and top.applied.threshold == 1000
    # the explicit priority of the 100 band does not carry to the 1000 band either
    assert book.cost(model_raw="n", ts=TS, service_tier="priority", input_tokens=1001).total is None


def test_no_period_valid_is_unpriced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = book_from(tmp_path, TIER_TABLE, monkeypatch)
    early = book.cost(model_raw="m", ts=datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC), input_tokens=1)
    assert early.total is None
    assert early.unpriced_reason == "no price for m valid at 2025-12-31T23:59:59+00:00"
    assert book.cost(model_raw="m", ts=datetime(2026, 1, 1, tzinfo=UTC), input_tokens=1).total is not None
    # until = 2027-01-01T00:00+01:00 is 2026-12-31T23:00Z, exclusive
    assert book.cost(model_raw="m", ts=datetime(2026, 12, 31, 22, 59, 59, tzinfo=UTC), input_tokens=1).total
    assert book.cost(model_raw="m", ts=datetime(2026, 12, 31, 23, 0, tzinfo=UTC), input_tokens=1).total is None
    # naive timestamps are taken as UTC
    assert book.cost(model_raw="m", ts=datetime(2026, 6, 1), input_tokens=100).total == D("0.0001")
    assert book.cost(model_raw="m", ts=datetime(2025, 12, 31, 23, 59), input_tokens=100).total is None


def test_cost_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = book_from(tmp_path, TIER_TABLE, monkeypatch)
    res = book.cost(model_raw="m", ts=TS, input_tokens=50, output_tokens=7, web_search_requests=3)
    assert [line.bucket for line in res.lines] == [*BUCKETS, "web_search_requests"]
    by = {line.bucket: line for line in res.lines}
    assert by["input_tokens"].rate_per_million == D("1") and by["input_tokens"].amount == D("0.00005")
    assert by["output_tokens"].amount == D("0.000014")
    assert by["web_search_requests"].rate_per_million is None
    assert by["web_search_requests"].amount == D("0.03")
    assert res.applied is not None and res.applied.rates.web_search_per_call == D("0.01")
    assert res.total == D("0.030064")


def test_rate_rows(book: PriceBook) -> None:
    rows = [r for r in book.rate_rows() if r.model == "claude-sonnet-4-5"]
    got = {(r.service_tier, r.min_input_exclusive, r.max_input_inclusive): r.rates.input for r in rows}
    assert got == {
        ("standard", 0, 200_000): D("3"),
        ("standard", 200_000, None): D("6"),
        ("batch", 0, 200_000): D("1.5"),
        ("batch", 200_000, None): D("3"),
    }
    assert all(r.provider == "anthropic" and r.file.endswith("anthropic.toml") for r in rows)
    o3 = [r for r in book.rate_rows() if r.model == "o3"]
    cut = datetime(2025, 6, 10, tzinfo=UTC)
    assert sorted(r.service_tier for r in o3 if r.valid_to == cut) == ["batch", "flex", "standard"]
    assert sorted(r.service_tier for r in o3 if r.valid_from == cut) == [
        "batch",
        "fast",  # OpenAI's name for priority since 2026-07-30: the priority rates
        "flex",
        "priority",
        "standard",
    ]
    flat = [r for r in book.rate_rows() if r.model == "gpt-4o" and r.service_tier == "standard"]
    assert len(flat) == 1 and flat[0].max_input_inclusive is None and flat[0].min_input_exclusive == 0


def test_rate_rows_leave_out_unpriced_combinations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = book_from(tmp_path, TIER_TABLE, monkeypatch)
    rows = {(r.model, r.service_tier, r.min_input_exclusive, r.max_input_inclusive) for r in book.rate_rows()}
    assert ("m", "priority", 0, 100) in rows
    assert ("m", "priority", 100, None) not in rows
    assert ("m", "batch", 100, None) in rows
    assert ("n", "priority", 100, 1000) in rows
    assert ("n", "priority", 1000, None) not in rows
    m_row = next(r for r in book.rate_rows() if r.model == "m")
    assert m_row.valid_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert m_row.valid_to == datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    assert m_row.source == "https://example.com/m"


def test_models_get_provider(book: PriceBook) -> None:
    models = book.models()
    assert models == sorted(models, key=lambda m: (m.provider, m.id))
    assert book.provider_of("gpt-4o") == "openai"
    assert book.provider_of("gemini-2.5-pro") == "google"
    assert book.provider_of("nope") is None
    info = book.get("claude-sonnet-4-5")
    assert info is not None and info.name == "Claude Sonnet 4.5" and info.provider == "anthropic"
    for m in models:
        for period in m.periods:
            # every price was checked against its source when the tables were written (or since)
            assert period.source.startswith("https://") and period.checked.isoformat() in ("2026-11-25", "2026-11-27")


# --------------------------------------------------------------------------- broken tables


GOOD_PRICE = """
  [[model.price]]
  source = "https://example.com"
  checked = 2026-11-25
  input = 1
  output = 2
"""


def broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> str:
    write(tmp_path / "tables", "bad.toml", text)
    monkeypatch.setenv("USAGECTL_PRICING_DIR", str(tmp_path / "tables"))
    with pytest.raises(PricingError) as exc:
        load_pricebook()
    return exc.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            (
                'provider = "acme"\n[[model]]\nid = "m"\n  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n'
                "  output = 2\n"
            ),
            "bad.toml: model[0] (m) price[0].input: missing required key",
        ),
        (
            (
                'provider = "acme"\n[[model]]\nid = "m"\n  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n'
                "  input = 1\n  output = -2\n"
            ),
            "bad.toml: model[0] (m) price[0].output: must be a non-negative number",
        ),
        (
            (
                'provider = "acme"\n[[model]]\nid = "m"\n  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n'
                '  input = "1.00"\n  output = 2\n'
            ),
            "bad.toml: model[0] (m) price[0].input: must be a non-negative number",
        ),
        (
            (
                'provider = "acme"\n[[model]]\nid = "m"\n  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n'
                "  input = 1\n  output = 2\n  cache_raed = 0.1\n"
            ),
            "bad.toml: model[0] (m) price[0].cache_raed: unknown key",
        ),
        (
            (
                'provider = "acme"\n[[model]]\nid = "m"\n  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n'
                "  input = 1\n  output = 2\n  turbo = 0.5\n"
            ),
            "bad.toml: model[0] (m) price[0].turbo: unknown key",
        ),
        (
            (
                'provider = "acme"\n[[model]]\nid = "m"\n  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n'
                "  input = 1\n  output = 2\n  standard = 1\n"
            ),
            "bad.toml: model[0] (m) price[0].standard: unknown key (the standard tier is implicit",
        ),
        (
            (
                'provider = "acme"\n[[model]]\nid = "m"\n  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n'
                "  input = 1\n  output = 2\n  priority = { input = 2 }\n"
            ),
            "bad.toml: model[0] (m) price[0].priority.output: missing required key",
        ),
        (
            (
                'provider = "acme"\n[[model]]\nid = "m"\n  [[model.price]]\n  checked = 2026-11-25\n'
                "  input = 1\n  output = 2\n"
            ),
            "bad.toml: model[0] (m) price[0].source: missing required key",
        ),
        (
            ('provider = "acme"\n[[model]]\nid = "m"\n  [[model.price]]\n  source = "s"\n  input = 1\n  output = 2\n'),
            "bad.toml: model[0] (m) price[0].checked: missing required key",
        ),
        (
            (
                'provider = "acme"\n[[model]]\nid = "m"\n  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n'
                "  from = 2025-06-10\n  until = 2025-06-10\n  input = 1\n  output = 2\n"
            ),
            "bad.toml: model[0] (m) price[0].until: must be after 'from'",
        ),
        (
            (
                'provider = "acme"\n[[model]]\nid = "m"\n  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n'
                "  from = 2025-06-10T00:00:00\n  input = 1\n  output = 2\n"
            ),
            "bad.toml: model[0] (m) price[0].from: must be a date or a datetime with a UTC offset",
        ),
        (
            (
                'provider = "acme"\n[[model]]\nid = "m"\n'
                '  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n  until = 2025-07-01\n  input = 1\n  output = 2\n'
                '  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n  from = 2025-06-10\n  input = 1\n  output = 2\n'
            ),
            "bad.toml: model[0] (m) price[1]: overlaps price[0]",
        ),
        (
            (
                'provider = "acme"\n[[model]]\nid = "m"\n'
                '  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n  input = 1\n  output = 2\n'
                '  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n  from = 2025-06-10\n  input = 1\n  output = 2\n'
            ),
            "bad.toml: model[0] (m) price[1]: overlaps price[0]",
        ),
        (
            (
                'provider = "acme"\n[[model]]\nid = "m"\n  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n'
                "  input = 1\n  output = 2\n    [[model.price.over]]\n    input = 2\n    output = 4\n"
            ),
            "bad.toml: model[0] (m) price[0].over[0].threshold: missing required key",
        ),
        (
            (
                'provider = "acme"\n[[model]]\nid = "m"\n  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n'
                "  input = 1\n  output = 2\n    [[model.price.over]]\n    threshold = 10\n    input = 2\n    output = -4\n"
            ),
            "bad.toml: model[0] (m) price[0].over[0].output: must be a non-negative number",
        ),
        (
            'provider = "acme"\n[[model]]\nid = "M"\n' + GOOD_PRICE,
            "bad.toml: model[0].id: must be lowercase",
        ),
        (
            'provider = "acme"\n[[model]]\nid = "m"\nalias = ["x"]\n' + GOOD_PRICE,
            "bad.toml: model[0] (m) alias: unknown key",
        ),
        (
            'provider = "acme"\n[[model]]\nid = "m"\n',
            "bad.toml: model[0] (m) price: missing required key",
        ),
        (
            '[[model]]\nid = "m"\n' + GOOD_PRICE,
            "bad.toml: provider: missing required key",
        ),
        (
            'provider = "acme"\n[[model]]\nid = "a"\naliases = ["x"]\n'
            + GOOD_PRICE
            + '[[model]]\nid = "b"\naliases = ["x"]\n'
            + GOOD_PRICE,
            "bad.toml: model[1] (b) aliases[0]: alias 'x' is also claimed by model 'a'",
        ),
        (
            'provider = "acme"\n[[model]]\nid = "a"\n'
            + GOOD_PRICE
            + '[[model]]\nid = "b"\naliases = ["a"]\n'
            + GOOD_PRICE,
            "bad.toml: model[1] (b) aliases[0]: alias 'a' is the id of model 'a'",
        ),
        (
            'provider = "acme"\n[[model]]\nid = "a"\n' + GOOD_PRICE + '[[model]]\nid = "a"\n' + GOOD_PRICE,
            "bad.toml: model[1] (a) id: duplicate id",
        ),
        (
            'provider = "acme"\n[[model]\n',
            "bad.toml: invalid TOML",
        ),
    ],
)
def test_broken_tables_name_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    assert expected in broken(tmp_path, monkeypatch, text)


_M = 'provider = "acme"\n[[model]]\nid = "m"\n  [[model.price]]\n  source = "s"\n  checked = 2026-11-25\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # $10^12 per 1M tokens: $10^6 a token, beyond DECIMAL(18,12) (QA: every report crashed)
            _M + "  input = 1000000000000\n  output = 2\n",
            "bad.toml: model[0] (m) price[0].input: 1000000000000 is not below 1,000,000,000",
        ),
        (  # 2.0000001 per 1M tokens: a rate per token of 13 decimals, beyond what the cost queries hold
            _M + "  input = 2.0000001\n  output = 2\n",
            "bad.toml: model[0] (m) price[0].input: 2.0000001 has more than 6 decimals",
        ),
        (
            _M + "  input = 1\n  output = 2\n  cache_write_1h = 0.12345678\n",
            "bad.toml: model[0] (m) price[0].cache_write_1h: 0.12345678 has more than 6 decimals",
        ),
        (  # per 1,000 searches: 9 decimals are a per-call rate of 12
            _M + "  input = 1\n  output = 2\n  web_search_per_1k = 10.0000000001\n",
            "bad.toml: model[0] (m) price[0].web_search_per_1k: 10.0000000001 has more than 9 decimals",
        ),
        (  # 0.01875 x 1.75 = 0.0328125: the tier's rate gets a 7th decimal from its multiplier
            _M + "  input = 1\n  output = 2\n  cache_read = 0.01875\n  priority = 1.75\n",
            "bad.toml: model 'm', price from the start, tier priority: the cache_read rate 0.0328125 has more "
            "than 6 decimals",
        ),
        (  # a geo multiplier of a long-context band's rate: 3.333333 x 1.1 = 3.6666663 (7 decimals)
            _M + "  input = 1\n  output = 2\n  inference_geo = { us = 1.1 }\n"
            "    [[model.price.over]]\n    threshold = 100\n    input = 3.333333\n    output = 4\n",
            "bad.toml: model 'm', price from the start, tier standard@us, over 100 input tokens: the input rate "
            "3.6666663 has more than 6 decimals",
        ),
    ],
)
def test_rates_finer_than_the_cost_queries_hold_fail_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    assert expected in broken(tmp_path, monkeypatch, text)


def test_six_decimals_and_exact_multiplied_rates_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = book_from(
        tmp_path,
        _M + "  input = 0.000002\n  output = 2.123456\n  cache_read = 0.0375\n  priority = 1.5\n"
        "  web_search_per_1k = 10.000000002\n",
        monkeypatch,
    )
    # 1M input at $0.000002/M plus 1M output at $2.123456/M; 1M cache reads at 0.0375 x 1.5 = 0.05625
    assert book.cost(model_raw="m", ts=TS, input_tokens=1_000_000, output_tokens=1_000_000).total == D("2.123458")
    prio = book.cost(model_raw="m", ts=TS, service_tier="priority", cache_read_tokens=1_000_000)
    assert prio.total == D("0.05625")


def test_duplicate_id_across_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "tables"
    write(d, "a.toml", 'provider = "acme"\n[[model]]\nid = "m"\n' + GOOD_PRICE)
    write(d, "b.toml", 'provider = "other"\n[[model]]\nid = "m"\n' + GOOD_PRICE)
    monkeypatch.setenv("USAGECTL_PRICING_DIR", str(d))
    with pytest.raises(PricingError, match=r"b\.toml: model\[0\] \(m\) id: duplicate id, also defined at .*a\.toml"):
        load_pricebook()


def test_integers_are_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = book_from(tmp_path, 'provider = "acme"\n[[model]]\nid = "m"\n' + GOOD_PRICE, monkeypatch)
    assert book.cost(model_raw="m", ts=TS, input_tokens=1_000_000, output_tokens=1_000_000).total == D("3.00")


def test_missing_env_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USAGECTL_PRICING_DIR", str(tmp_path / "nope"))
    with pytest.raises(PricingError, match="USAGECTL_PRICING_DIR"):
        load_pricebook()


# --------------------------------------------------------------------------- dirs, override, cache


def test_packaged_dir_is_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    here = Path(pricing_mod.__file__).resolve().parent
    expected = here / "_pricing" if (here / "_pricing").is_dir() else here.parent / "pricing"
    assert pricing_dirs() == [expected]
    assert {Path(f).name for f in load_pricebook().files} >= {"anthropic.toml", "openai.toml", "google.toml"}


def test_user_dir_overrides_a_whole_model(tmp_path: Path) -> None:
    user = tmp_path / "mine"
    write(
        user,
        "override.toml",
        """
        provider = "anthropic"

        [[model]]
        id = "claude-sonnet-4-5"
        name = "Sonnet at our negotiated rate"
          [[model.price]]
          source = "https://example.com/contract"
          checked = 2026-11-25
          input = 1.00
          output = 2.00

        [[model]]
        id = "acme-llm"
        aliases = ["acme/llm-large"]
          [[model.price]]
          source = "https://example.com/acme"
          checked = 2026-11-25
          input = 0.5
          output = 0.5
        """,
    )
    assert pricing_dirs(user)[-1] == user
    book = load_pricebook(user)
    kw = {"ts": TS, "input_tokens": 1_000_000, "output_tokens": 1_000_000}
    assert book.cost(model_raw="claude-sonnet-4-5", **kw).total == D("3.00")
    # the packaged entry is replaced whole: no long-context band, no batch, no packaged aliases
    assert book.cost(model_raw="claude-sonnet-4-5", ts=TS, input_tokens=300_000).total == D("0.3")
    assert book.cost(model_raw="claude-sonnet-4-5", ts=TS, service_tier="batch", input_tokens=1).total is None
    info = book.get("claude-sonnet-4-5")
    assert info is not None and info.aliases == ()
    assert book.resolve("claude-sonnet-4-5-20250929") == "claude-sonnet-4-5"  # by rule (f)
    assert book.resolve("acme/llm-large") == "acme-llm"
    assert book.cost(model_raw="gpt-4o", **kw).total == D("12.50")  # the rest stays
    assert any(f.endswith("override.toml") for f in book.files)


def test_user_dir_must_exist(tmp_path: Path) -> None:
    with pytest.raises(PricingError, match="does not exist"):
        load_pricebook(tmp_path / "missing")


def test_user_alias_may_not_steal_a_packaged_name(tmp_path: Path) -> None:
    user = tmp_path / "mine"
    write(
        user,
        "x.toml",
        'provider = "acme"\n[[model]]\nid = "m"\naliases = ["gpt-4o-2024-08-06"]\n' + GOOD_PRICE,
    )
    with pytest.raises(PricingError, match=r"x\.toml: model\[0\] \(m\) aliases\[0\]: .*'gpt-4o'"):
        load_pricebook(user)


def test_a_new_user_model_named_as_a_packaged_alias_is_blamed_on_the_user_table(tmp_path: Path) -> None:
    """The packaged gpt-4o claims the alias gpt-4o-2024-08-06; a user's new model of that id is the
    later claim: the error names the user file and key first, the packaged alias second (QA: it
    blamed pricing/openai.toml, as if the packaged table were broken)."""
    user = tmp_path / "mine"
    write(user, "mine.toml", 'provider = "openai"\n[[model]]\nid = "gpt-4o-2024-08-06"\n' + GOOD_PRICE)
    with pytest.raises(PricingError) as err:
        load_pricebook(user)
    message = err.value.message
    assert message.startswith(
        f"{user / 'mine.toml'}: model[0] (gpt-4o-2024-08-06) id: 'gpt-4o-2024-08-06' is already an alias of "
        "model 'gpt-4o' ("
    )
    assert re.search(r"openai\.toml: model\[\d+\] \(gpt-4o\) aliases\[\d+\]\)$", message)


def test_an_id_that_is_an_earlier_alias_is_blamed_on_the_later_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In one directory, a.toml's model m claims "n" (load order: a before b, model[0] before
    model[1]); a later model whose id is "n" is the one named."""
    d = tmp_path / "tables"
    write(d, "a.toml", 'provider = "acme"\n[[model]]\nid = "m"\naliases = ["n"]\n' + GOOD_PRICE)
    write(d, "b.toml", 'provider = "acme"\n[[model]]\nid = "n"\n' + GOOD_PRICE)
    monkeypatch.setenv("USAGECTL_PRICING_DIR", str(d))
    with pytest.raises(PricingError, match=r"b\.toml: model\[0\] \(n\) id: 'n' is already an alias of model 'm' "
                       r"\(.*a\.toml: model\[0\] \(m\) aliases\[0\]\)$"):  # fmt: skip
        load_pricebook()
    (d / "b.toml").unlink()
    write(d, "a.toml", 'provider = "acme"\n[[model]]\nid = "m"\naliases = ["n"]\n' + GOOD_PRICE
          + '[[model]]\nid = "n"\n' + GOOD_PRICE)  # fmt: skip
    with pytest.raises(PricingError, match=r"a\.toml: model\[1\] \(n\) id: 'n' is already an alias of model 'm'"):
        load_pricebook()
    # the other way round (the alias is the later claim) the alias is named, as before
    write(d, "a.toml", 'provider = "acme"\n[[model]]\nid = "n"\n' + GOOD_PRICE
          + '[[model]]\nid = "m"\naliases = ["n"]\n' + GOOD_PRICE)  # fmt: skip
    with pytest.raises(PricingError, match=r"a\.toml: model\[1\] \(m\) aliases\[0\]: alias 'n' is the id of model 'n'"):
        load_pricebook()


def test_hidden_names_and_what_is_not_a_file_are_not_price_tables(tmp_path: Path) -> None:
    """A user folder beside mine.toml (acme-1, $1/M input) holds Emacs's lock file ``.#mine.toml``
    (a dangling symlink: FileNotFoundError, exit 1, for every command), a folder ``old.toml``
    (IsADirectoryError), macOS's ``._mine.toml`` (refused as invalid TOML) and ``link.toml``, a
    symlink to a real table elsewhere (acme-2, $3/M input). Loaded: link.toml and mine.toml, in
    name order. 1M input tokens: 1,000,000 x $1 / 1M = $1; of acme-2 1,000,000 x $3 / 1M = $3."""
    from usagectl.services.status_line import _pricing_stats

    user = tmp_path / "prices"
    write(user, "mine.toml", 'provider = "acme"\n[[model]]\nid = "acme-1"\n' + GOOD_PRICE)
    elsewhere = write(tmp_path / "shared", "other.toml", 'provider = "acme"\n[[model]]\nid = "acme-2"\n'
                      + GOOD_PRICE.replace("input = 1", "input = 3"))  # fmt: skip
    (user / ".#mine.toml").symlink_to("alice@laptop.12345:1764300000")
    (user / "old.toml").mkdir()
    (user / "._mine.toml").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    (user / "link.toml").symlink_to(elsewhere)
    book = load_pricebook(user)
    assert [p.name for p in pricing_mod.table_files(user)] == ["link.toml", "mine.toml"]
    assert [Path(f).name for f in book.files][-2:] == ["link.toml", "mine.toml"]
    assert book.cost(model_raw="acme-1", ts=TS, input_tokens=1_000_000).total == D("1")
    assert book.cost(model_raw="acme-2", ts=TS, input_tokens=1_000_000).total == D("3")
    # a folder loaded on its own ($USAGECTL_PRICING_DIR) is listed the same way
    assert [Path(f).name for f in PriceBook.from_dirs([user]).files] == ["link.toml", "mine.toml"]
    # the status line's cache key lists the files the book loads, no other
    assert [t[0] for t in _pricing_stats(user)[-1][1]] == ["link.toml", "mine.toml"]


def test_a_table_removed_while_the_tables_are_read_is_a_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file listed, then gone before it is read (an editor saving it): an error naming it (exit
    2), not "unexpected error: FileNotFoundError"; not skipped either, which would price the
    command without the user's table and say nothing."""
    user = tmp_path / "prices"
    write(user, "mine.toml", 'provider = "acme"\n[[model]]\nid = "acme-1"\n' + GOOD_PRICE)
    real = Path.read_bytes

    def vanish(path: Path) -> bytes:
        if path.name == "mine.toml":
            path.unlink()  # between the listing of the folder and the read
        return real(path)

    monkeypatch.setattr(Path, "read_bytes", vanish)
    with pytest.raises(PricingError) as err:
        load_pricebook(user)
    assert err.value.message == f"{user / 'mine.toml'}: price table removed while the tables were read"
    assert err.value.exit_code == 2


def test_fingerprint_and_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "tables"
    path = write(d, "t.toml", 'provider = "acme"\n[[model]]\nid = "m"\n' + GOOD_PRICE)
    monkeypatch.setenv("USAGECTL_PRICING_DIR", str(d))
    first = load_pricebook()
    assert load_pricebook() is first
    assert PriceBook.from_dirs([d]).fingerprint == first.fingerprint
    assert len(first.fingerprint) == 64
    path.write_text(path.read_text().replace("input = 1", "input = 5"))
    import os

    os.utime(path, ns=(1, 1))  # a different mtime even on coarse clocks
    second = load_pricebook()
    assert second is not first and second.fingerprint != first.fingerprint
    assert second.cost(model_raw="m", ts=TS, input_tokens=1_000_000).total == D("5")


# --------------------------------------------------------------------------- property


# Hand-copied list prices (input, cache read, 5m write, 1h write, output).
FLAT = {
    "gpt-4o": ("2.50", "1.25", "2.50", "2.50", "10.00"),
    "claude-haiku-4-5": ("1.00", "0.10", "1.25", "2.00", "5.00"),
    "gemini-2.5-flash": ("0.30", "0.03", "0.30", "0.30", "2.50"),
    "claude-sonnet-4-5": ("3.00", "0.30", "3.75", "6.00", "15.00"),  # requests > 1: base band
}
tokens = st.integers(min_value=0, max_value=10**10)


@settings(max_examples=200, deadline=None)
@given(
    model=st.sampled_from(sorted(FLAT)),
    qty=st.tuples(tokens, tokens, tokens, tokens, tokens),
    k=st.integers(min_value=0, max_value=1000),
    requests=st.integers(min_value=2, max_value=10**6),
)
def test_cost_is_exact_additive_and_linear(
    model: str, qty: tuple[int, int, int, int, int], k: int, requests: int
) -> None:
    book = load_pricebook()
    usage = dict(zip(BUCKETS, qty))
    res = book.cost(model_raw=model, ts=TS, requests=requests, **usage)
    assert res.total is not None
    # exact: equal to the rational sum of the hand-copied rates
    expected = sum(Fraction(q) * Fraction(r) / 1_000_000 for q, r in zip(qty, FLAT[model]))
    assert Fraction(res.total) == expected
    # additive over buckets
    parts = [book.cost(model_raw=model, ts=TS, requests=requests, **{b: q}).total for b, q in usage.items()]
    assert sum(p for p in parts if p is not None) == res.total
    # linear in tokens
    scaled = book.cost(model_raw=model, ts=TS, requests=requests, **{b: q * k for b, q in usage.items()})
    assert scaled.total == res.total * k
