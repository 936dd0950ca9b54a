"""The models of 2026 in the packaged tables, fast mode, OpenAI's ``fast`` tier name, and the
``tier_aliases`` key. Every expected cost is worked by hand from the rates quoted in the tables'
sources (USD per 1M tokens); the docstrings show the arithmetic."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import query, run, run_json
from tests.test_pricing import book_from
from usagectl.errors import PricingError
from usagectl.pricing import PriceBook, load_pricebook

D = Decimal
NOV = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
M = 1_000_000


@pytest.fixture()
def prices(monkeypatch: pytest.MonkeyPatch) -> PriceBook:
    """The packaged tables."""
    monkeypatch.delenv("USAGECTL_PRICING_DIR", raising=False)
    return load_pricebook()


def per_million(pb: PriceBook, model: str, ts: datetime = NOV, tier: str | None = None) -> tuple[D, ...]:
    """(input, 5m write, 1h write, cache read, output) of one million tokens of each bucket,
    priced one bucket at a time (so no bucket can hide another's rate)."""
    out = []
    for bucket in (
        "input_tokens",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
        "cache_read_tokens",
        "output_tokens",
    ):
        res = pb.cost(model_raw=model, ts=ts, service_tier=tier, **{bucket: 1_000 if bucket != "output_tokens" else M})
        assert res.total is not None, (model, bucket, res.unpriced_reason)
        # 1,000 input-side tokens keep every request under any long-context threshold
        out.append(res.total * 1000 if bucket != "output_tokens" else res.total)
    return tuple(out)


# Anthropic's pricing table: base input, 5m write, 1h write, cache hits, output
ANTHROPIC_2026 = [
    ("claude-opus-4-6", ("5", "6.25", "10", "0.50", "25")),
    ("claude-opus-4-7", ("5", "6.25", "10", "0.50", "25")),
    ("claude-opus-4-8", ("5", "6.25", "10", "0.50", "25")),
    ("claude-opus-5", ("5", "6.25", "10", "0.50", "25")),
    ("claude-opus-5-5", ("4", "5", "8", "0.20", "20")),  # cache hits 0.05x (footnote 2)
    ("claude-sonnet-4-6", ("3", "3.75", "6", "0.30", "15")),
    ("claude-sonnet-5", ("2", "2.50", "4", "0.20", "10")),
    ("claude-sonnet-5-5", ("2", "2.50", "4", "0.10", "10")),  # since 2026-10-07
    ("claude-haiku-5-5", ("0.10", "0.125", "0.20", "0.01", "0.50")),  # prompts up to 100k
    ("claude-fable-5", ("10", "12.50", "20", "1", "50")),
    ("claude-mythos-5", ("10", "12.50", "20", "1", "50")),
    ("claude-fable-5-1", ("10", "12.50", "20", "0.25", "50")),  # cache hits 0.025x (footnote 1)
    ("claude-mythos-5-1", ("10", "12.50", "20", "0.25", "50")),
]


@pytest.mark.parametrize(("model", "rates"), ANTHROPIC_2026)
def test_anthropic_2026_models_are_priced(prices: PriceBook, model: str, rates: tuple[str, ...]) -> None:
    assert per_million(prices, model) == tuple(D(r) for r in rates)
    assert prices.resolve(f"anthropic/{model}") == model
    assert prices.resolve(f"us.anthropic.{model}-v1:0") == model  # Bedrock, by rule


def test_opus_4_6_long_context_surcharge_ended_on_2026_03_13(prices: PriceBook) -> None:
    """A request of 250,000 input tokens and 1,000 output:
    before 2026-03-13 (1M beta, long-context rates $10 / $37.50): 250,000 x 10 / 1M + 1,000 x 37.50 / 1M
    = 2.50 + 0.0375 = 2.5375; from that day the full window bills at $5 / $25: 1.25 + 0.025 = 1.275."""
    before = datetime(2026, 3, 12, 23, 59, tzinfo=UTC)
    after = datetime(2026, 3, 13, 0, 0, tzinfo=UTC)
    for ts, want in ((before, D("2.5375")), (after, D("1.275"))):
        res = prices.cost(model_raw="claude-opus-4-6", ts=ts, input_tokens=250_000, output_tokens=1_000)
        assert res.total == want, ts
    # Sonnet 4.6 the same way: 6 / 22.50 over 200k before, 3 / 15 after
    res = prices.cost(model_raw="claude-sonnet-4-6", ts=before, cache_read_tokens=200_001, output_tokens=1_000)
    assert res.total == D("200001") * D("0.60") / M + D("0.0225")
    res = prices.cost(model_raw="claude-sonnet-4-6", ts=after, cache_read_tokens=200_001, output_tokens=1_000)
    assert res.total == D("200001") * D("0.30") / M + D("0.015")


def test_haiku_5_5_bills_a_prompt_over_100k_at_five_times(prices: PriceBook) -> None:
    """Prompt = input + cache reads + cache writes. 100,000 tokens (60,000 read + 40,000 input) is
    the low band: 60,000 x 0.01 + 40,000 x 0.10 = 0.0006 + 0.004, + 2,000 output x 0.50 = 0.001 →
    0.0056. One more input token crosses: 60,000 x 0.05 + 40,001 x 0.50 + 2,000 x 2.50, / 1M
    = 0.003 + 0.0200005 + 0.005 = 0.0280005."""
    low = prices.cost(
        model_raw="claude-haiku-5-5", ts=NOV, cache_read_tokens=60_000, input_tokens=40_000, output_tokens=2_000
    )
    assert low.total == D("0.0056")
    high = prices.cost(
        model_raw="claude-haiku-5-5", ts=NOV, cache_read_tokens=60_000, input_tokens=40_001, output_tokens=2_000
    )
    assert high.total == D("0.0280005") and high.applied is not None and high.applied.long_context
    batch = prices.cost(model_raw="claude-haiku-5-5", ts=NOV, service_tier="batch", input_tokens=100_001)
    assert batch.total == D("100001") * D("0.25") / M  # batch halves the band's $0.50


def test_sonnet_5_5_cache_reads_cheaper_from_2026_10_07(prices: PriceBook) -> None:
    before = prices.cost(model_raw="claude-sonnet-5-5", ts=datetime(2026, 10, 6, 23, tzinfo=UTC), cache_read_tokens=M)
    after = prices.cost(model_raw="claude-sonnet-5-5", ts=datetime(2026, 10, 7, tzinfo=UTC), cache_read_tokens=M)
    assert (before.total, after.total) == (D("0.20"), D("0.10"))


FAST = [  # fast mode: input, 5m write, 1h write, cache read, output (cache multipliers on the fast input)
    ("claude-opus-4-6", ("30", "37.50", "60", "3", "150")),  # 6x
    ("claude-opus-4-8", ("10", "12.50", "20", "1", "50")),
    ("claude-opus-5", ("10", "12.50", "20", "1", "50")),
    ("claude-opus-5-5", ("8", "10", "16", "0.40", "40")),
]


@pytest.mark.parametrize(("model", "rates"), FAST)
def test_fast_mode_rates(prices: PriceBook, model: str, rates: tuple[str, ...]) -> None:
    assert per_million(prices, model, tier="fast") == tuple(D(r) for r in rates)


def test_fast_mode_keeps_the_web_search_price_and_has_no_long_context_charge(prices: PriceBook) -> None:
    """Opus 4.6 before 2026-03-13: a fast request of 300,000 input tokens bills at the fast rate
    ($30), not at a long-context one: 300,000 x 30 / 1M = 9; 2 searches x $0.01 = 0.02."""
    res = prices.cost(
        model_raw="claude-opus-4-6",
        ts=datetime(2026, 3, 1, tzinfo=UTC),
        service_tier="fast",
        input_tokens=300_000,
        web_search_requests=2,
    )
    assert res.total == D("9.02")


def test_fast_mode_on_a_model_without_it_is_unpriced(prices: PriceBook) -> None:
    for model in ("claude-sonnet-5-5", "claude-opus-4-7"):  # no fast mode / its price not published
        res = prices.cost(model_raw=model, ts=NOV, service_tier="fast", input_tokens=10, output_tokens=10)
        assert res.total is None and res.unpriced_reason == f"service tier 'fast' is not priced for {model}"


OPENAI_2026 = [  # input, cached input, output
    ("gpt-5.1", ("1.25", "0.125", "10")),
    ("gpt-5-pro", ("15", "15", "120")),  # no cached-input rate: reads bill at input
    ("codex-mini-latest", ("1.50", "0.375", "6")),
    ("gpt-5.6-luna", ("0.20", "0.02", "1.20")),
    ("gpt-6-luna", ("0.10", "0.01", "0.50")),
    ("gpt-6.2-sol", ("2", "0.10", "10")),
]


@pytest.mark.parametrize(("model", "rates"), OPENAI_2026)
def test_openai_2026_models_are_priced(prices: PriceBook, model: str, rates: tuple[str, ...]) -> None:
    inp, _w5, _w1, read, out = per_million(prices, model)
    assert (inp, read, out) == tuple(D(r) for r in rates)


def test_openai_272k_long_context(prices: PriceBook) -> None:
    """GPT-6.2 Sol: 272,000 input tokens is short context (2 / 0.10 / 10); 272,001 bills the whole
    request at 4 / 0.20 / 15: 200,001 x 4 + 72,000 x 0.20 + 1,000 x 15, / 1M = 0.800004 + 0.0144
    + 0.015 = 0.829404."""
    short = prices.cost(
        model_raw="gpt-6.2-sol", ts=NOV, input_tokens=200_000, cache_read_tokens=72_000, output_tokens=1_000
    )
    assert short.total == D("0.4") + D("0.0072") + D("0.01")
    long = prices.cost(
        model_raw="gpt-6.2-sol", ts=NOV, input_tokens=200_001, cache_read_tokens=72_000, output_tokens=1_000
    )
    assert long.total == D("0.829404")
    fast = prices.cost(
        model_raw="gpt-6.2-sol", ts=NOV, service_tier="fast", input_tokens=200_001, cache_read_tokens=72_000,
        output_tokens=1_000,
    )  # fmt: skip
    assert fast.total == D("1.658808")  # "twice the Standard rate for the same context length"


def test_gpt_5_6_luna_before_its_verified_period_is_unpriced(prices: PriceBook) -> None:
    res = prices.cost(model_raw="gpt-5.6-luna", ts=datetime(2026, 7, 20, tzinfo=UTC), input_tokens=1)
    assert res.total is None and res.unpriced_reason is not None and "no price for gpt-5.6-luna" in res.unpriced_reason


def test_openai_fast_is_priority(prices: PriceBook) -> None:
    """OpenAI renamed priority "Fast mode" (2026-07-30): ``fast`` bills at the priority rates.
    GPT-5: 1M input x 2.50 + 1M output x 20 = 22.50; GPT-5.1 the same rates."""
    for model in ("gpt-5", "gpt-5.1", "gpt-5-codex"):
        fast = prices.cost(model_raw=model, ts=NOV, service_tier="fast", input_tokens=M, output_tokens=M)
        prio = prices.cost(model_raw=model, ts=NOV, service_tier="priority", input_tokens=M, output_tokens=M)
        assert fast.total == prio.total == D("22.50"), model
        assert fast.applied is not None and fast.applied.service_tier == "fast"
    # a model without a priority price stays unpriced in fast
    res = prices.cost(model_raw="gpt-5-pro", ts=NOV, service_tier="fast", input_tokens=1)
    assert res.total is None and res.unpriced_reason == "service tier 'fast' is not priced for gpt-5-pro"
    rows = {(r.model, r.service_tier): r for r in prices.rate_rows() if r.min_input_exclusive == 0}
    assert rows[("gpt-5", "fast")].rates == rows[("gpt-5", "priority")].rates
    assert ("gpt-5-pro", "fast") not in rows and ("claude-opus-5", "fast") in rows


def _model(model_id: str, tiers: str) -> str:
    return (
        f'[[model]]\nid = "{model_id}"\n  [[model.price]]\n  source = "https://example.com"\n  checked = 2026-11-27\n'
        f"  input = 1\n  output = 2\n{tiers}"
    )


def test_a_tier_the_period_prices_itself_wins_over_its_alias(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = 'provider = "acme"\ntier_aliases = { fast = "priority" }\n'
    text += _model("own", "  priority = 3\n  fast = 5\n") + _model("aliased", "  priority = 3\n")
    book = book_from(tmp_path, text, monkeypatch)
    assert book.cost(model_raw="own", ts=NOV, service_tier="fast", input_tokens=M).total == D(5)
    assert book.cost(model_raw="aliased", ts=NOV, service_tier="fast", input_tokens=M).total == D(3)


@pytest.mark.parametrize(
    ("aliases", "expected"),
    [
        ('{ fast = "standard" }', "t.toml: tier_aliases.fast: must name another priced service tier"),
        ('{ fast = "fast" }', "t.toml: tier_aliases.fast: must name another priced service tier"),
        ('{ turbo = "priority" }', "t.toml: tier_aliases.turbo: unknown service tier"),
        ('"fast"', "t.toml: tier_aliases: must be a table of tier names"),
    ],
)
def test_broken_tier_aliases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aliases: str, expected: str) -> None:
    with pytest.raises(PricingError) as exc:
        book_from(tmp_path, f'provider = "acme"\ntier_aliases = {aliases}\n' + _model("m", ""), monkeypatch)
    assert expected in exc.value.message


def test_claude_code_fast_mode_is_stored_and_priced_as_fast(tmp_path: Path) -> None:
    """Claude Code lines on Opus 5, 1,000 input + 1,000 output each, one in standard mode, two in
    fast mode. Standard: 1,000 x 5 + 1,000 x 25, / 1M = 0.03; fast: 1,000 x 10 + 1,000 x 50 =
    0.06 each; total 0.15. The tree goes through the DuckDB stager (several files), the single
    file through the Python reader: both store the tier ``fast``."""

    def line(mid: str, speed: str) -> str:
        usage = {"input_tokens": 1000, "output_tokens": 1000, "service_tier": "standard", "speed": speed}
        return json.dumps({
            "type": "assistant", "timestamp": "2026-11-20T10:00:00.000Z", "sessionId": "s1", "requestId": f"req_{mid}",
            "message": {"id": mid, "model": "claude-opus-5", "usage": usage},
        })  # fmt: skip

    tree = tmp_path / "projects" / "p"
    tree.mkdir(parents=True)
    (tree / "a.jsonl").write_text(line("msg_a", "standard") + "\n", encoding="utf-8")
    (tree / "b.jsonl").write_text(line("msg_b", "fast") + "\n", encoding="utf-8")
    db = str(tmp_path / "u.duckdb")
    run("import", str(tmp_path / "projects"), "--format", "claude-code", "--db", db)
    single = tmp_path / "one.jsonl"
    single.write_text(line("msg_c", "fast") + "\n", encoding="utf-8")
    run("import", str(single), "--format", "claude-code", "--db", db)
    tiers = dict(query(Path(db), "SELECT message_id, service_tier FROM events ORDER BY 1"))
    assert tiers == {"msg_a": "standard", "msg_b": "fast", "msg_c": "fast"}
    out = run_json("cost", "--since", "2026-11-01", "--until", "2026-11-30", "--db", db)
    assert out["totals"]["cost_usd"] == 0.15
    lines = [r["line"] for r in out["rows"]]
    assert "Input tokens (fast): 2,000 × $10.00/M = $0.02" in lines, lines
    assert "Output tokens (fast): 2,000 × $50.00/M = $0.10" in lines, lines


# (logged service_tier, usage.speed) -> stored tier; the contradictions and unknown speeds are
# unknown tiers: unpriced, named, never standard (QA: "FAST" and "ultrafast" were priced standard)
SPEEDS = [
    ("standard", "FAST", "fast"),
    (None, " fast ", "fast"),
    ("default", "fast", "fast"),
    ("standard", "ultrafast", "ultrafast"),
    ("batch", "fast", "batch+fast"),
    ("priority", "Fast", "priority+fast"),
    ("batch", "standard", "batch"),
    ("priority", None, "priority"),
]


def _cc_line(mid: str, tier: str | None, speed: str | None) -> str:
    usage = {"input_tokens": 1000, "output_tokens": 1000, "service_tier": tier, "speed": speed}
    return json.dumps({
        "type": "assistant", "timestamp": "2026-11-20T10:00:00.000Z", "sessionId": "s1", "requestId": f"req_{mid}",
        "message": {"id": mid, "model": "claude-opus-5", "usage": {k: v for k, v in usage.items() if v is not None}},
    })  # fmt: skip


def test_speed_and_tier_combine_the_same_way_in_both_claude_code_readers(tmp_path: Path) -> None:
    """The tree (DuckDB stager) and single files (Python reader) store the same tier for every
    combination. Priced: the three fast lines on Opus 5 (1,000 x 10 + 1,000 x 50, / 1M = 0.06 each)
    and the batch one (1,000 x 2.50 + 1,000 x 12.50 = 0.015): 0.195 per reader, 0.39 in all.
    Unpriced: ultrafast, batch+fast, priority+fast and priority (not in Anthropic's table)."""
    tree = tmp_path / "projects" / "p"
    tree.mkdir(parents=True)
    for n, (tier, speed, _) in enumerate(SPEEDS):
        (tree / f"t{n}.jsonl").write_text(_cc_line(f"msg_t{n}", tier, speed) + "\n", encoding="utf-8")
    db = str(tmp_path / "u.duckdb")
    run("import", str(tmp_path / "projects"), "--format", "claude-code", "--db", db)
    for n, (tier, speed, _) in enumerate(SPEEDS):
        one = tmp_path / f"s{n}.jsonl"
        one.write_text(_cc_line(f"msg_s{n}", tier, speed) + "\n", encoding="utf-8")
        run("import", str(one), "--format", "claude-code", "--db", db)
    stored = dict(query(Path(db), "SELECT message_id, service_tier FROM events"))
    for n, (_, _, want) in enumerate(SPEEDS):
        assert (stored[f"msg_t{n}"], stored[f"msg_s{n}"]) == (want, want), SPEEDS[n]
    out = run_json("cost", "--since", "2026-11-20", "--until", "2026-11-20", "--db", db)
    assert out["totals"]["cost_usd"] == 0.39
    assert out["totals"]["unpriced_requests"] == 2 * 4


def test_codex_keeps_an_unknown_tier_unpriced(tmp_path: Path) -> None:
    """A Codex rollout whose thread settings say "ultrafast": the turn is stored in that tier and
    unpriced (it was stored as standard and priced at $0.025)."""
    from usagectl.importers.codex import _TIERS

    assert _TIERS["fast"] == "priority" and "ultrafast" not in _TIERS
    rows = [
        {"timestamp": "2026-11-16T10:00:00.000Z", "type": "session_meta", "payload": {"id": "0199aaaa", "cwd": "/w"}},
        {"timestamp": "2026-11-16T10:00:01.000Z", "type": "turn_context", "payload": {"model": "gpt-6.2-sol"}},
        {"timestamp": "2026-11-16T10:00:02.000Z", "type": "event_msg",
         "payload": {"type": "thread_settings_applied", "thread_settings": {"service_tier": "ultrafast"}}},
        {"timestamp": "2026-11-16T10:00:03.000Z", "type": "event_msg", "payload": {"type": "token_count", "info": {
            "total_token_usage": {"input_tokens": 10000, "cached_input_tokens": 0, "output_tokens": 500,
                                  "reasoning_output_tokens": 0, "total_tokens": 10500},
            "last_token_usage": {"input_tokens": 10000, "cached_input_tokens": 0, "output_tokens": 500,
                                 "reasoning_output_tokens": 0, "total_tokens": 10500}}}},
    ]  # fmt: skip
    path = tmp_path / "sessions" / "2026" / "11" / "16" / "rollout-2026-11-16T10-00-00-0199aaaa.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    db = str(tmp_path / "u.duckdb")
    run("import", str(path), "--format", "codex", "--db", db)
    assert query(Path(db), "SELECT service_tier, input_tokens, output_tokens FROM events") == [
        ("ultrafast", 10000, 500)
    ]
    out = run_json("cost", "--since", "2026-11-16", "--until", "2026-11-16", "--db", db)
    assert out["totals"]["unpriced_requests"] == 1


def test_anthropic_usage_rows_grouped_by_speed_bill_fast_at_the_fast_rates(tmp_path: Path) -> None:
    """One day of Opus 5.5 grouped by model, service tier and speed: standard 100,000 input +
    10,000 output, fast 50,000 + 5,000. Standard: 100,000 x 4 + 10,000 x 20, / 1M = 0.4 + 0.2 =
    0.6; fast: 50,000 x 8 + 5,000 x 40 = 0.4 + 0.2 = 0.6; total 1.2 (at standard rates it would
    be 0.9)."""

    def row(i: int, o: int, speed: str) -> dict[str, object]:
        return {"uncached_input_tokens": i, "output_tokens": o, "cache_read_input_tokens": 0,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "server_tool_use": {"web_search_requests": 0}, "model": "claude-opus-5-5",
                "service_tier": "standard", "speed": speed}  # fmt: skip

    page = {"data": [{"starting_at": "2026-11-20T00:00:00Z", "ending_at": "2026-11-21T00:00:00Z",
                      "results": [row(100_000, 10_000, "standard"), row(50_000, 5_000, "fast")]}],
            "has_more": False, "next_page": None}  # fmt: skip
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    db = str(tmp_path / "u.duckdb")
    run("import", str(path), "--format", "anthropic-usage", "--db", db)
    tiers = sorted(
        query(Path(db), "SELECT service_tier, input_tokens, json_extract_string(extra, '$.speed') FROM events")
    )
    assert tiers == [("fast", 50_000, "fast"), ("standard", 100_000, "standard")]
    out = run_json("cost", "--since", "2026-11-20", "--until", "2026-11-20", "--db", db)
    assert out["totals"]["cost_usd"] == 1.2


def test_a_user_table_of_the_provider_keeps_its_tier_aliases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A negotiated gpt-5 in the user's own directory, without ``tier_aliases``: OpenAI's ``fast``
    still bills at that table's priority price (QA: it became unpriced). 10,000 x 2 + 1,000 x 16,
    / 1M = 0.036."""
    monkeypatch.delenv("USAGECTL_PRICING_DIR", raising=False)
    user = tmp_path / "mine"
    user.mkdir()
    (user / "negotiated.toml").write_text(
        'provider = "openai"\n'
        + _model("gpt-5", "  priority = { input = 2.00, output = 16.00 }\n").replace(
            "input = 1\n  output = 2", "input = 1\n  output = 8"
        ),
        encoding="utf-8",
    )
    book = load_pricebook(user)
    kw = {"ts": NOV, "input_tokens": 10_000, "output_tokens": 1_000}
    assert book.cost(model_raw="gpt-5", service_tier="fast", **kw).total == D("0.036")
    assert book.cost(model_raw="gpt-5", service_tier="priority", **kw).total == D("0.036")
    assert book.cost(model_raw="gpt-5", **kw).total == D("0.018")  # 10,000 x 1 + 1,000 x 8


def test_pricing_list_names_the_band_valid_at_its_date() -> None:
    """Opus 4.6's 200k band ended on 2026-03-13 (QA: still listed as "long context tier" after);
    Haiku 5.5's starts at 100,000; Sonnet 4.5's at 200,000 at any date."""

    def notes(at: str) -> dict[str, str]:
        return {r["model"]: r["note"] for r in run_json("pricing", "list", "--at", at)["rows"]}

    before, after = notes("2026-03-12"), notes("2026-11-20")
    assert (before["claude-opus-4-6"], after["claude-opus-4-6"]) == ("long ctx > 200,000", "")
    assert after["claude-haiku-5-5"] == "long ctx > 100,000" and after["claude-sonnet-4-5"] == "long ctx > 200,000"
    assert after["gpt-6.2-sol"] == "long ctx > 272,000" and after["gpt-5.1"] == ""


def test_pricing_show_at_a_date_without_a_price_says_why() -> None:
    shown = run_json("pricing", "show", "gpt-5.6-luna", "--at", "2026-07-20")
    assert shown["rows"] == []
    assert shown["notes"] == [
        "No price of gpt-5.6-luna is valid at 2026-07-20: its periods are 2026-07-30 – open "
        "(from inclusive, until exclusive). Usage of that date is unpriced."
    ]


def test_a_cost_line_over_two_periods_of_one_rate_names_neither(tmp_path: Path) -> None:
    """Opus 4.6 on 2026-03-12 and 2026-03-14: 1,000 input + 100 output each, both at $5 / $25 in
    two price periods (the long-context band ended between them). One line per bucket: 2,000 x 5 /
    1M = 0.01 and 200 x 25 / 1M = 0.005, labelled without a period (QA: "(from 2026-03-13; before
    2026-03-13)"); a line of one period keeps its label."""
    rows = [
        {"event_id": f"e{d}", "ts": f"2026-03-{d}T12:00:00Z", "model_raw": "claude-opus-4-6", "input_tokens": 1000,
         "output_tokens": 100}
        for d in (12, 14)
    ]  # fmt: skip
    rows.append({"event_id": "s", "ts": "2026-03-14T12:00:00Z", "model_raw": "claude-sonnet-4-6", "input_tokens": 1000})
    path = tmp_path / "ev.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    db = str(tmp_path / "u.duckdb")
    run("import", str(path), "--db", db)
    out = run_json("cost", "--month", "2026-03", "--db", db)
    assert [r["line"] for r in out["rows"]] == [
        "Input tokens: 2,000 × $5.00/M = $0.01",
        "Output tokens: 200 × $25.00/M = $0.005",
        "Input tokens (from 2026-03-13): 1,000 × $3.00/M = $0.003",
    ]


def test_the_band_note_of_an_anthropic_bucket_does_not_say_0_requests(tmp_path: Path) -> None:
    """A Haiku 5.5 day of the usage report grouped by model and context_window "0-200k", 150,000
    uncached input: its requests may each be over 100,000 (5x) or not, and the report has no
    request count. Priced on the base band: 150,000 x 0.10 / 1M = 0.015."""
    row = {"uncached_input_tokens": 150_000, "output_tokens": 0, "cache_read_input_tokens": 0,
           "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
           "server_tool_use": {"web_search_requests": 0}, "model": "claude-haiku-5-5", "context_window": "0-200k"}  # fmt: skip
    page = {"data": [{"starting_at": "2026-11-20T00:00:00Z", "ending_at": "2026-11-21T00:00:00Z", "results": [row]}],
            "has_more": False, "next_page": None}  # fmt: skip
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    db = str(tmp_path / "u.duckdb")
    run("import", str(path), "--format", "anthropic-usage", "--db", db)
    out = run_json("report", "by", "model", "--since", "2026-11-20", "--until", "2026-11-20", "--db", db)
    assert out["totals"]["cost_usd"] == 0.015
    note = next(n for n in out["notes"] if n.startswith("Long-context band undecided"))
    assert "claude-haiku-5-5 (1 bucket row, request count not reported)" in note


def test_pricing_check_names_each_cause(tmp_path: Path) -> None:
    """One unpriced row per cause, each told apart by the price book's own reason (QA: all read
    "no price for its date or service tier")."""
    rows = [
        ("a", "2026-07-20T12:00:00Z", "gpt-5.6-luna", "standard"),  # before its first period (2026-07-30)
        ("b", "2026-07-25T12:00:00Z", "gpt-5.6-luna", "standard"),
        ("c", "2026-11-20T12:00:00Z", "gpt-6.2-sol", "ultrafast"),  # a tier no table knows
        ("d", "2026-11-20T12:00:00Z", "claude-sonnet-5-5", "fast"),  # no fast mode on Sonnet
        ("e", "2026-11-20T12:00:00Z", "gpt-5.6-luna", "standard"),  # priced
    ]
    events = [{"event_id": i, "ts": ts, "model_raw": m, "service_tier": t, "input_tokens": 10} for i, ts, m, t in rows]
    path = tmp_path / "ev.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    db = str(tmp_path / "u.duckdb")
    run("import", str(path), "--db", db)
    out = run_json("pricing", "check", "--db", db)
    got = {(r["model"], r["service_tier"]): (r["requests"], r["reason"]) for r in out["rows"]}
    assert got == {
        ("gpt-5.6-luna", "standard"): (2, "no price for gpt-5.6-luna valid on 2026-07-20 – 2026-07-25"),
        ("gpt-6.2-sol", "ultrafast"): (1, "unknown service tier 'ultrafast'"),
        ("claude-sonnet-5-5", "fast"): (1, "service tier 'fast' is not priced for claude-sonnet-5-5"),
    }


@pytest.mark.parametrize(
    ("details", "tier"),
    [
        ({"service_tier": "standard", "speed": "fast"}, "fast"),
        ({"service_tier": "batch"}, "batch"),
        ({"service_tier": "priority_on_demand"}, "priority_on_demand"),  # unknown: unpriced, not standard
        ({}, None),  # standard
    ],
)
def test_llm_and_litellm_read_the_tier_and_fast_mode_of_anthropics_usage(
    details: dict[str, str], tier: str | None
) -> None:
    """simonw/llm's ``token_details`` and LiteLLM's ``metadata.usage_object`` keep Anthropic's usage
    object, tier and speed included (QA: both were priced at standard)."""
    from usagectl.importers.litellm import _fields
    from usagectl.importers.llm_logs import _buckets

    # llm-anthropic writes token_details only with the prompt cache or a server tool
    logged = {"cache_read_input_tokens": 10, **details}
    assert _buckets("anthropic/claude-opus-5", 1000, 100, logged, {})["service_tier"] == tier
    usage = {"input_tokens": 1000, "output_tokens": 100, "prompt_tokens": 1000, "completion_tokens": 100, **details}
    row = {"request_id": "r1", "startTime": "2026-11-20T10:00:00", "model": "claude-opus-5", "prompt_tokens": 1000,
           "completion_tokens": 100, "metadata": {"usage_object": usage}}  # fmt: skip
    assert _fields(row)["service_tier"] == tier


def test_a_fast_bucket_over_the_threshold_is_not_flagged_when_its_band_costs_the_same(tmp_path: Path) -> None:
    """Opus 4.6 before 2026-03-13, a usage-report day grouped by model and speed: the fast row of
    300,000 input is priced at the plain fast rate, which is also its band's (300,000 x 30 / 1M =
    9.0), so no "may be low" note for it; the standard row of 300,000 input (5 / 10 over 200k:
    1.5 on the base band) keeps the note."""

    def row(speed: str) -> dict[str, object]:
        return {"uncached_input_tokens": 300_000, "output_tokens": 0, "cache_read_input_tokens": 0,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "server_tool_use": {"web_search_requests": 0}, "model": "claude-opus-4-6", "speed": speed}  # fmt: skip

    def day(*rows: dict[str, object]) -> str:
        return json.dumps({"data": [{"starting_at": "2026-03-01T00:00:00Z", "ending_at": "2026-03-02T00:00:00Z",
                                     "results": list(rows)}], "has_more": False, "next_page": None})  # fmt: skip

    for speeds, cost, flagged in ((("fast",), 9.0, False), (("fast", "standard"), 10.5, True)):
        path = tmp_path / f"{len(speeds)}.json"
        path.write_text(day(*(row(s) for s in speeds)), encoding="utf-8")
        db = str(tmp_path / f"{len(speeds)}.duckdb")
        run("import", str(path), "--format", "anthropic-usage", "--db", db)
        out = run_json("report", "by", "model", "--since", "2026-03-01", "--until", "2026-03-01", "--db", db)
        assert out["totals"]["cost_usd"] == cost
        notes = out.get("notes", [])
        assert any(n.startswith("Long-context band undecided") for n in notes) is flagged, notes


def test_between_copies_of_equal_usage_the_fast_one_wins(tmp_path: Path) -> None:
    """FORMATS.md (Claude Code dedup): "If the totals are equal, prefer the entry that has speed".
    Three messages, each two content-block lines of the same usage, the fast one first or last, or
    beside "standard": all three are fast (QA: the last line won, so two were standard). A later
    file's fast copy of a message stored as standard replaces it; a standard copy never replaces
    a stored fast one. Opus 5 fast, 1,000 + 1,000: 0.06 each."""
    pairs = {"m1": ("fast", None), "m2": (None, "fast"), "m3": ("fast", "standard")}
    lines = [_cc_line(mid, "standard", speed) for mid, two in pairs.items() for speed in two]
    tree = tmp_path / "projects" / "p"
    tree.mkdir(parents=True)
    (tree / "a.jsonl").write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    (tree / "b.jsonl").write_text("\n".join(lines[3:]) + "\n", encoding="utf-8")
    single = tmp_path / "one.jsonl"
    single.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name, path in (("tree", tmp_path / "projects"), ("single", single)):
        db = str(tmp_path / f"{name}.duckdb")
        run("import", str(path), "--format", "claude-code", "--db", db)
        assert dict(query(Path(db), "SELECT message_id, service_tier FROM events")) == dict.fromkeys(pairs, "fast"), (
            name
        )
    # stored standard, then a fast copy of equal usage: replaced; then a standard copy: kept out
    db = str(tmp_path / "later.duckdb")
    for n, speed in enumerate(("standard", "fast", "standard")):
        later = tmp_path / f"later{n}.jsonl"
        later.write_text(_cc_line("m9", "standard", speed) + "\n", encoding="utf-8")
        run("import", str(later), "--format", "claude-code", "--db", db)
        assert query(Path(db), "SELECT service_tier FROM events") == [("fast" if n else "standard",)]


def test_the_copy_kept_of_equal_usage_does_not_depend_on_the_order(tmp_path: Path) -> None:
    """Four copies of one message, equal usage, in standard, standard@us, fast and fast@us: the
    copy that says most wins (a non-standard tier, then a geo) in every order (QA: between
    fast@us and fast, whichever came last or was stored first). 24 messages, one per order of the
    copies: in one file (both readers: a single file and a tree), and in four files imported one
    by one, file k holding copy order[k] of each message. Opus 5 fast with US-only inference,
    1,000 + 1,000 each: (10 + 50) x 1.1 / 1,000 = 0.066; 24 messages 1.584."""
    from itertools import permutations

    def line(mid: str, speed: str | None, geo: str | None) -> str:
        ev = json.loads(_cc_line(mid, "standard", speed))
        if geo:
            ev["message"]["usage"]["inference_geo"] = geo
        return json.dumps(ev)

    kinds = [(None, None), (None, "us"), ("fast", None), ("fast", "us")]
    orders = list(permutations(range(4)))
    one = [line(f"m{n}", *kinds[i]) for n, order in enumerate(orders) for i in order]
    tree = tmp_path / "projects" / "p"
    tree.mkdir(parents=True)
    (tree / "all.jsonl").write_text("\n".join(one) + "\n", encoding="utf-8")
    (tmp_path / "all.jsonl").write_text("\n".join(one) + "\n", encoding="utf-8")
    for name, path in (("tree", tmp_path / "projects"), ("single", tmp_path / "all.jsonl")):
        db = tmp_path / f"{name}.duckdb"
        run("import", str(path), "--format", "claude-code", "--db", str(db))
        assert query(db, "SELECT DISTINCT service_tier, count(*) FROM events GROUP BY ALL") == [("fast@us", 24)], name
    db = tmp_path / "files.duckdb"
    for k in range(4):
        f = tmp_path / f"f{k}.jsonl"
        f.write_text("\n".join(line(f"m{n}", *kinds[order[k]]) for n, order in enumerate(orders)) + "\n", "utf-8")
        run("import", str(f), "--format", "claude-code", "--db", str(db))
    assert query(db, "SELECT DISTINCT service_tier, count(*) FROM events GROUP BY ALL") == [("fast@us", 24)]
    out = run_json("report", "by", "model", "--since", "2026-11-20", "--until", "2026-11-20", "--db", str(db))
    assert Decimal(str(out["totals"]["cost_usd"])) == Decimal("1.584")


# (speed, inference_geo) of a Claude Code line on Opus 5 -> stored tier and cost of 1,000 input +
# 1,000 output: standard 0.03, fast 0.06; US-only inference 1.1x every token rate ("For Claude 4.6
# and later models ... a 1.1x multiplier on all token pricing categories")
GEOS = [
    (None, "global", "standard", "0.03"),
    (None, "not_available", "standard", "0.03"),
    (None, "us", "standard@us", "0.033"),
    ("fast", "US", "fast@us", "0.066"),
    (None, "eu", "standard@eu", None),  # a geo the table does not price: unpriced, never standard
]


def test_us_only_inference_bills_one_tenth_more(tmp_path: Path) -> None:
    """Both Claude Code readers, and an Anthropic usage page grouped by inference_geo, store the
    geo in the tier and price US-only inference at 1.1x."""

    def line(mid: str, speed: str | None, geo: str) -> str:
        usage = {"input_tokens": 1000, "output_tokens": 1000, "service_tier": "standard", "inference_geo": geo}
        if speed:
            usage["speed"] = speed
        return json.dumps({"type": "assistant", "timestamp": "2026-11-20T10:00:00.000Z", "sessionId": "s1",
                           "requestId": f"req_{mid}", "message": {"id": mid, "model": "claude-opus-5", "usage": usage}})  # fmt: skip

    tree = tmp_path / "projects" / "p"
    tree.mkdir(parents=True)
    for n, (speed, geo, _, _) in enumerate(GEOS):
        (tree / f"t{n}.jsonl").write_text(line(f"t{n}", speed, geo) + "\n", encoding="utf-8")
    db = str(tmp_path / "u.duckdb")
    run("import", str(tmp_path / "projects"), "--format", "claude-code", "--db", db)
    for n, (speed, geo, _, _) in enumerate(GEOS):
        one = tmp_path / f"s{n}.jsonl"
        one.write_text(line(f"s{n}", speed, geo) + "\n", encoding="utf-8")
        run("import", str(one), "--format", "claude-code", "--db", db)
    stored = dict(query(Path(db), "SELECT message_id, service_tier FROM events"))
    for n, (_, _, tier, _) in enumerate(GEOS):
        assert (stored[f"t{n}"], stored[f"s{n}"]) == (tier, tier), GEOS[n]
    out = run_json("cost", "--since", "2026-11-20", "--until", "2026-11-20", "--db", db)
    assert D(str(out["totals"]["cost_usd"])) == 2 * sum(D(c) for *_, c in GEOS if c)  # 2 x 0.189
    assert out["totals"]["unpriced_requests"] == 2
    lines = [r["line"] for r in out["rows"]]
    assert "Input tokens (standard@us): 2,000 × $5.50/M = $0.011" in lines, lines
    check = {r["service_tier"]: r["reason"] for r in run_json("pricing", "check", "--db", db)["rows"]}
    assert check == {"standard@eu": "inference geo 'eu' is not priced for claude-opus-5"}

    def row(geo: str) -> dict[str, object]:
        return {"uncached_input_tokens": 100_000, "output_tokens": 0, "cache_read_input_tokens": 0,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "server_tool_use": {"web_search_requests": 0}, "model": "claude-sonnet-5-5", "inference_geo": geo}  # fmt: skip

    page = {"data": [{"starting_at": "2026-11-21T00:00:00Z", "ending_at": "2026-11-22T00:00:00Z",
                      "results": [row("global"), row("us")]}], "has_more": False, "next_page": None}  # fmt: skip
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    run("import", str(path), "--format", "anthropic-usage", "--db", db)
    # 100,000 x 2 / 1M = 0.2 global; 0.22 US-only
    out = run_json("cost", "--since", "2026-11-21", "--until", "2026-11-21", "--db", db)
    assert D(str(out["totals"]["cost_usd"])) == D("0.42")


def test_inference_geo_in_a_table_must_be_a_multiplier_of_a_named_geo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for geos, expected in (
        ("{ global = 1.1 }", "price[0].inference_geo.global: must be a lowercase geo name other than the default"),
        ('{ us = "1.1" }', "price[0].inference_geo.us: must be a multiplier"),
        ('"us"', "price[0].inference_geo: must be a table of geo = multiplier"),
    ):
        with pytest.raises(PricingError) as exc:
            book_from(tmp_path, 'provider = "acme"\n' + _model("m", f"  inference_geo = {geos}\n"), monkeypatch)
        assert expected in exc.value.message, geos


def test_one_spelling_per_tier_so_every_output_prices_it_alike(tmp_path: Path) -> None:
    """Canonical events whose tier is spelled with a geo (QA: "default@us" was priced by
    `message show` and unpriced in the reports). Stored: default@us, @us → standard@us; standard@
    and STANDARD@Global → standard; "Fast @ US" → fast@us. Opus 5, 1,000 input + 100 output:
    standard 0.0075, standard@us 0.00825, fast@us 0.0165. Sum 2 x 0.00825 + 2 x 0.0075 + 0.0165 =
    0.048; the report and `message show` agree."""
    tiers = {"a": "default@us", "b": "@us", "c": "standard@", "d": "STANDARD@Global", "e": "Fast @ US"}
    events = [{"event_id": k, "ts": "2026-11-20T12:00:00Z", "model_raw": "claude-opus-5", "service_tier": t,
               "input_tokens": 1000, "output_tokens": 100} for k, t in tiers.items()]  # fmt: skip
    path = tmp_path / "ev.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    db = str(tmp_path / "u.duckdb")
    run("import", str(path), "--db", db)
    assert dict(query(Path(db), "SELECT event_id, service_tier FROM events")) == {
        "a": "standard@us", "b": "standard@us", "c": "standard", "d": "standard", "e": "fast@us"}  # fmt: skip
    out = run_json("cost", "--since", "2026-11-20", "--until", "2026-11-20", "--db", db)
    assert D(str(out["totals"]["cost_usd"])) == D("0.048") and out["totals"]["unpriced_requests"] == 0
    shown = run_json("message", "show", "a", "--db", db)
    assert "0.00825" in json.dumps(shown)


def test_llm_litellm_and_the_stager_read_tiers_as_their_twins_do(tmp_path: Path) -> None:
    """llm without a cache key still reads tier, speed and geo; LiteLLM reads OpenAI's billed tier
    from the response (only that key) and the Anthropic rule only for Anthropic rows; a geo that
    is not text is its JSON text in both Claude Code readers (QA N3, N9, F3, N6)."""
    from usagectl.importers._values import anthropic_tier
    from usagectl.importers.litellm import _fields
    from usagectl.importers.llm_logs import _buckets

    details = {"service_tier": "standard", "speed": "fast", "inference_geo": "us"}
    assert _buckets("claude-opus-5", 1000, 100, details, {})["service_tier"] == "fast@us"

    def litellm(provider: str, usage: dict[str, object], response: object = None) -> object:
        row = {"request_id": "r", "startTime": "2026-11-20T10:00:00", "model": "m", "prompt_tokens": 10,
               "completion_tokens": 1, "custom_llm_provider": provider, "response": response,
               "metadata": {"usage_object": {"prompt_tokens": 10, "completion_tokens": 1, **usage}}}  # fmt: skip
        return _fields(row)["service_tier"]

    reply = '{"id": "x", "choices": [{"message": {"content": "say \\"service_tier\\": \\"flex\\""}}], "service_tier": "priority"}'
    assert litellm("openai", {}, reply) == "priority"
    assert litellm("openai", {}, {"service_tier": "flex"}) == "flex"
    assert litellm("openai", {"service_tier": "auto"}) == "auto"  # stored as standard (validation)
    assert litellm("gemini", {"inference_geo": "us"}) is None
    assert litellm("anthropic", {"service_tier": "standard", "inference_geo": "us"}) == "standard@us"
    assert anthropic_tier("standard", None, 1) == "standard@1" and anthropic_tier(None, None, True) == "standard@true"
    tree = tmp_path / "projects" / "p"
    tree.mkdir(parents=True)
    for n in range(2):
        usage = {"input_tokens": 1, "output_tokens": 1, "inference_geo": 1}
        line = {"type": "assistant", "timestamp": "2026-11-20T10:00:00.000Z", "sessionId": "s", "requestId": f"r{n}",
                "message": {"id": f"m{n}", "model": "claude-opus-5", "usage": usage}}  # fmt: skip
        (tree / f"{n}.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    db = str(tmp_path / "u.duckdb")
    run("import", str(tmp_path / "projects"), "--format", "claude-code", "--db", db)
    assert query(Path(db), "SELECT DISTINCT service_tier FROM events") == [("standard@1",)]


def test_a_usage_page_not_grouped_by_speed_or_geo_says_its_cost_may_be_low(tmp_path: Path) -> None:
    """Opus 5 (fast and US-only prices) from a page grouped by model only: its fast or US-only
    usage cannot be told apart (QA F4, N2): one note naming both dimensions. The same day grouped by
    speed and inference_geo: no note. Sonnet 4.5 (neither price): no note."""

    def page(group: dict[str, str], model: str) -> str:
        row = {"uncached_input_tokens": 1000, "output_tokens": 0, "cache_read_input_tokens": 0,
               "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
               "server_tool_use": {"web_search_requests": 0}, "model": model, **group}  # fmt: skip
        return json.dumps({"data": [{"starting_at": "2026-11-20T00:00:00Z", "ending_at": "2026-11-21T00:00:00Z",
                                     "results": [row]}], "has_more": False, "next_page": None})  # fmt: skip

    cases = [
        ({}, "claude-opus-5", ["speed", "inference_geo"]),
        ({"speed": "standard", "inference_geo": "global"}, "claude-opus-5", []),
        ({}, "claude-sonnet-4-5", []),
    ]
    for n, (group, model, dims) in enumerate(cases):
        path = tmp_path / f"{n}.json"
        path.write_text(page(group, model), encoding="utf-8")
        db = str(tmp_path / f"{n}.duckdb")
        run("import", str(path), "--format", "anthropic-usage", "--db", db)
        for args in (("report", "by", "model"), ("cost",)):
            out = run_json(*args, "--since", "2026-11-20", "--until", "2026-11-20", "--db", db)
            notes = [x for x in out.get("notes", []) if x.startswith("Anthropic usage rows not grouped by")]
            if not dims:
                assert notes == [], (n, args, notes)
                continue
            assert notes == [
                f"Anthropic usage rows not grouped by speed or inference_geo: {model} (1 row). Any fast-mode or "
                "US-only usage in them is priced at the standard rate, so their cost may be low; fetch the usage "
                "report with group_by[]=speed and group_by[]=inference_geo to price it."
            ], (n, args)


def test_an_invoice_gives_the_notes_on_its_month_s_provider_rows(tmp_path: Path) -> None:
    """The invoice prices the same rows as `cost`, so it says the same about them (QA: it said
    nothing). A page grouped by model and context_window only: 2026-10-15 Sonnet 4.5 (no band
    undecided, no fast or US-only price): no note on October's invoice; 2026-11-20 Haiku 5.5
    150,000 input (over 100,000 per request or not: undecided) and Opus 5, both with US-only
    prices (Opus 5 with fast ones too) not told apart: both notes on November's."""

    def row(model: str, n: int) -> dict[str, Any]:
        return {"uncached_input_tokens": n, "output_tokens": 0, "cache_read_input_tokens": 0,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "server_tool_use": {"web_search_requests": 0}, "model": model, "context_window": "0-200k"}  # fmt: skip

    def day(d: str, *rows: dict[str, Any]) -> dict[str, Any]:
        return {"starting_at": f"{d}T00:00:00Z", "ending_at": f"{d[:8]}{int(d[8:]) + 1:02d}T00:00:00Z",
                "results": list(rows)}  # fmt: skip

    page = {"data": [day("2026-10-15", row("claude-sonnet-4-5", 1000)),
                     day("2026-11-20", row("claude-haiku-5-5", 150_000), row("claude-opus-5", 1000))],
            "has_more": False, "next_page": None}  # fmt: skip
    path = tmp_path / "usage.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    db = str(tmp_path / "u.duckdb")
    run("import", str(path), "--format", "anthropic-usage", "--db", db)

    def notes(month: str) -> list[str]:
        return [n for n in run_json("invoice", "--month", month, "--tz", "UTC", "--db", db)["notes"]
                if n.startswith(("Long-context band undecided", "Anthropic usage rows not grouped by"))]  # fmt: skip

    assert notes("2026-10") == []
    band, premium = notes("2026-11")
    assert "claude-haiku-5-5 (1 bucket row, request count not reported)" in band
    assert premium.startswith(
        "Anthropic usage rows not grouped by speed or inference_geo: claude-haiku-5-5 (1 row), claude-opus-5 (1 row)."
    )


def test_the_grouped_reports_split_periods_and_bands_of_the_models_in_the_range(tmp_path: Path) -> None:
    """The report engine prices groups of events; it splits them at the price periods and band
    thresholds of the models of the range only. Sonnet 5.5 cache reads of 1M tokens on 2026-10-06
    ($0.20) and 2026-10-07 ($0.10) and a Haiku 5.5 request of 100,010 input ($0.50/M: 0.050005)
    beside one of 100,000 ($0.10/M: 0.01), the same day: 0.360005 in `report by model` (grouped
    engine) and in `cost`; Opus 5 alone (no boundary in the range) 1M input = $5."""
    rows = [
        ("a", "2026-10-06T23:00:00Z", "claude-sonnet-5-5", {"cache_read_tokens": 1_000_000}),
        ("b", "2026-10-07T01:00:00Z", "claude-sonnet-5-5", {"cache_read_tokens": 1_000_000}),
        ("c", "2026-10-07T02:00:00Z", "claude-haiku-5-5", {"input_tokens": 100_010}),
        ("d", "2026-10-07T03:00:00Z", "claude-haiku-5-5", {"input_tokens": 100_000}),
    ]
    events = [{"event_id": i, "ts": ts, "model_raw": m, **kw} for i, ts, m, kw in rows]
    path = tmp_path / "ev.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    db = str(tmp_path / "u.duckdb")
    run("import", str(path), "--db", db)
    span = ("--since", "2026-10-01", "--until", "2026-10-31", "--tz", "UTC", "--db", db)
    by_model = run_json("report", "by", "model", *span)
    assert {r["model"]: D(str(r["cost_usd"])) for r in by_model["rows"]} == {
        "claude-sonnet-5-5": D("0.3"), "claude-haiku-5-5": D("0.060005")}  # fmt: skip
    assert D(str(run_json("cost", *span)["totals"]["cost_usd"])) == D("0.360005")
    daily = run_json("report", "daily", *span)
    assert {r["date"]: D(str(r["cost_usd"])) for r in daily["rows"] if r["cost_usd"]} == {
        "2026-10-06": D("0.2"), "2026-10-07": D("0.160005")}  # fmt: skip
    only = tmp_path / "opus.jsonl"
    only.write_text(json.dumps({"event_id": "e", "ts": "2026-10-07T04:00:00Z", "model_raw": "claude-opus-5",
                                "input_tokens": 1_000_000}) + "\n", encoding="utf-8")  # fmt: skip
    db2 = str(tmp_path / "o.duckdb")
    run("import", str(only), "--db", db2)
    assert run_json("report", "by", "model", *span[:-1], db2)["totals"]["cost_usd"] == 5.0


def test_an_unpriced_bucket_without_a_request_count_never_passes_for_zero_dollars(tmp_path: Path) -> None:
    """A bucket of gpt-5.6-luna at the batch tier (no batch rate) whose request count is not
    reported (requests 0) beside a priced Haiku 5.5 request (1,000 x 0.10 / 1M = 0.0001): the
    day's and the month's cost are unpriced (a lower bound), never "$0.00" or a 0 % change (QA)."""
    events = [
        {"event_id": "z", "ts": "2026-09-01T12:00:00Z", "model_raw": "gpt-5.6-luna", "service_tier": "batch",
         "requests": 0, "input_tokens": 250_000},
        {"event_id": "h", "ts": "2026-08-31T12:00:00Z", "model_raw": "claude-haiku-5-5", "input_tokens": 1000},
        {"event_id": "i", "ts": "2026-09-01T13:00:00Z", "model_raw": "claude-haiku-5-5", "input_tokens": 1000},
    ]  # fmt: skip
    path = tmp_path / "ev.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    db = str(tmp_path / "u.duckdb")
    run("import", str(path), "--db", db)
    daily = run_json("report", "daily", "--since", "2026-08-31", "--until", "2026-09-01", "--tz", "UTC", "--db", db)
    day = {r["date"]: r for r in daily["rows"]}["2026-09-01"]
    assert day["unpriced_requests"] == 1 and day["cost_change_pct"] is None
    assert daily["totals"]["unpriced_requests"] == 1 and daily["totals"]["unpriced_tokens"] == 250_000
    month = run_json("report", "month", "--month", "2026-09", "--tz", "UTC", "--db", db)
    assert month["overview"]["unpriced_requests"] == 1 and month["overview"]["cost_usd"] == 0.0001
    # the bucket alone: no known cost at all, so "unpriced", never $0.00
    (tmp_path / "z.jsonl").write_text(json.dumps(events[0]) + "\n", encoding="utf-8")
    db2 = str(tmp_path / "z.duckdb")
    run("import", str(tmp_path / "z.jsonl"), "--db", db2)
    alone = run_json("report", "month", "--month", "2026-09", "--tz", "UTC", "--db", db2)["overview"]
    assert (alone["cost_usd"], alone["projected_cost_usd"], alone["unpriced_requests"]) == (None, None, 1)
    table = run("report", "month", "--month", "2026-09", "--tz", "UTC", "--db", db2).stdout
    overview = table.split("Projection")[0]  # the days without usage below do cost $0.00
    assert "$0.00" not in overview and "Current cost               unpriced" in overview


def test_a_tier_with_tabs_or_newlines_is_stored_as_the_price_book_reads_it(tmp_path: Path) -> None:
    """ "batch\\t", "\\nfast", "fast@us\\t" and "fast@\\tus" (QA: stored as they were, unpriced in
    every report while `message show` priced them). Opus 4.8, 1,000 input: batch 0.0025, fast
    0.01, fast@us 0.011."""
    tiers = {"a": "batch\t", "b": "\nfast", "c": "fast@us\t", "d": "fast@\tus"}
    events = [{"event_id": k, "ts": "2026-11-20T12:00:00Z", "model_raw": "claude-opus-4-8", "service_tier": t,
               "input_tokens": 1000} for k, t in tiers.items()]  # fmt: skip
    path = tmp_path / "ev.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    db = str(tmp_path / "u.duckdb")
    run("import", str(path), "--db", db)
    assert dict(query(Path(db), "SELECT event_id, service_tier FROM events")) == {
        "a": "batch", "b": "fast", "c": "fast@us", "d": "fast@us"}  # fmt: skip
    out = run_json("cost", "--since", "2026-11-20", "--until", "2026-11-20", "--db", db)
    assert D(str(out["totals"]["cost_usd"])) == D("0.0345") and out["totals"]["unpriced_requests"] == 0
