"""`usagectl reconcile`: computed cost (events) beside billed cost (cost reports) per UTC day ×
model, with hand-worked numbers from tests/data/openai/EXPECTED.md and anthropic/EXPECTED.md.

OpenAI, November 2025 (usage_nov03_04 + usage_refetch, costs_nov03_05 + costs_refetch):
  11-03 gpt-4o       computed 3.094   billed 3.094   match
  11-03 gpt-4o-mini  computed 1.0425  billed 1.0425  match (0.4425 + 0.60 batch)
  11-04 gpt-4.1      computed 1.47    billed 1.51    diff −0.04, −0.04 / 1.51 = −2.65 %
  11-04 gpt-4o       computed 1.75    billed 1.75    match
  11-05 (unattributed) billed 0.05 (web search line, no model): billed only, −100 %
  11-05 o4-mini      computed 0.7755  billed 0.7755  match
  total computed 8.132, billed 8.222, diff −0.09, −0.09 / 8.222 = −1.09 %
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.helpers import run, run_json, write_jsonl
from usagectl.services.context import make_context
from usagectl.services.reconcile import ReconcileRequest, reconcile

DATA = Path(__file__).parent / "data"
OA = DATA / "openai"
AN = DATA / "anthropic"
OPENAI_FILES = [OA / "usage_nov03_04.json", OA / "usage_refetch_nov04_05.jsonl",
                OA / "costs_nov03_05.json", OA / "costs_refetch_nov05.jsonl"]  # fmt: skip
ANTHROPIC_FILES = [AN / "usage_nov03_04.json", AN / "usage_refetch_nov04_06.jsonl",
                   AN / "cost_nov03_04.json", AN / "cost_refetch_nov04_05.jsonl"]  # fmt: skip


def _load(db: Path, files: list[Path]) -> None:
    run("import", *map(str, files), "--db", str(db))


def _reconcile(db: Path, *args: str) -> dict[str, Any]:
    out: dict[str, Any] = run_json("reconcile", *args, "--db", str(db))
    return out


def _notes(db: Path, **req: Any) -> list[str]:
    """The notes of the report (the JSON contract has no notes: read them from the service)."""
    return list(reconcile(make_context(None, db), ReconcileRequest(**req)).notes)


def _d(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _rows(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["date"], r["model"]): r for r in report["rows"]}


def _cmp(row: dict[str, Any]) -> tuple[Any, ...]:
    return (_d(row["computed_usd"]), _d(row["billed_usd"]), _d(row["diff_usd"]), _d(row["diff_pct"]), row["status"])


def test_openai_computed_vs_billed(db_path: Path) -> None:
    _load(db_path, OPENAI_FILES)
    rep = _reconcile(db_path, "--month", "2025-11")
    assert rep["report"] == "reconcile" and rep["filters"]["tz"] == "UTC" and rep["filters"]["provider"] == ["openai"]
    rows = _rows(rep)
    assert list(rows) == [
        ("2025-11-03", "gpt-4o"), ("2025-11-03", "gpt-4o-mini"), ("2025-11-04", "gpt-4.1"),
        ("2025-11-04", "gpt-4o"), ("2025-11-05", "(unattributed)"), ("2025-11-05", "o4-mini"),
    ]  # fmt: skip
    zero = Decimal(0)
    assert _cmp(rows[("2025-11-03", "gpt-4o")]) == (Decimal("3.094"), Decimal("3.094"), zero, zero, "match")
    assert _cmp(rows[("2025-11-03", "gpt-4o-mini")]) == (Decimal("1.0425"), Decimal("1.0425"), zero, zero, "match")
    assert _cmp(rows[("2025-11-04", "gpt-4.1")]) == (
        Decimal("1.47"), Decimal("1.51"), Decimal("-0.04"), Decimal("-2.65"), "differs")  # fmt: skip
    assert _cmp(rows[("2025-11-04", "gpt-4o")]) == (Decimal("1.75"), Decimal("1.75"), zero, zero, "match")
    assert _cmp(rows[("2025-11-05", "(unattributed)")]) == (
        zero, Decimal("0.05"), Decimal("-0.05"), Decimal("-100"), "billed only")  # fmt: skip
    assert _cmp(rows[("2025-11-05", "o4-mini")]) == (Decimal("0.7755"), Decimal("0.7755"), zero, zero, "match")
    assert rows[("2025-11-04", "gpt-4.1")]["billed_lines"] == 3
    t = rep["totals"]
    assert (_d(t["computed_usd"]), _d(t["billed_usd"]), _d(t["diff_usd"]), _d(t["diff_pct"])) == (
        Decimal("8.132"), Decimal("8.222"), Decimal("-0.09"), Decimal("-1.09"))  # fmt: skip
    assert (t["rows"], t["matching_rows"], t["unpriced_tokens"]) == (6, 4, 0)
    models = {r["model"]: r for r in rep["models"]}
    assert _cmp(models["gpt-4o"]) == (Decimal("4.844"), Decimal("4.844"), zero, zero, "match")  # 3.094 + 1.75
    notes = " ".join(_notes(db_path, month="2025-11"))
    assert "UTC days" in notes and "(unattributed)" in notes


def test_anthropic_haiku_agrees_and_the_gaps_are_explained(db_path: Path) -> None:
    _load(db_path, ANTHROPIC_FILES)
    rep = _reconcile(db_path, "--since", "2025-11-03", "--until", "2025-11-05")
    rows = _rows(rep)
    zero = Decimal(0)
    assert _cmp(rows[("2025-11-03", "claude-haiku-4-5")]) == (Decimal("3.115"), Decimal("3.115"), zero, zero, "match")
    assert _cmp(rows[("2025-11-04", "claude-haiku-4-5")]) == (Decimal("0.09"), Decimal("0.09"), zero, zero, "match")
    # the billed web-search line (no model) beside the computed web search of a1: 12 × $0.01
    assert _cmp(rows[("2025-11-03", "(unattributed)")]) == (Decimal("0.12"), Decimal("0.12"), zero, zero, "match")
    sonnet = rows[("2025-11-03", "claude-sonnet-4-5")]
    # billed 201.03575 + 279 cents = $4.8103575, in JSON half-even to 6 places: 4.810358; the
    # priority row (50,000 + 10,000 + 5,000 tokens) has no price
    assert (_d(sonnet["billed_usd"]), sonnet["unpriced_tokens"]) == (Decimal("4.810358"), 65_000)
    # computed: a1 2.0203575 (its 12 web searches are in the (unattributed) row) + a5, a
    # "200k-1M" bucket, at the long-context rates 2.79 (EXPECTED.md) = the bill, to the cent
    assert _d(sonnet["computed_usd"]) == Decimal("4.810358")
    # the unpriced part is priority tier, which the cost report leaves out: it takes nothing from
    # the bill, so the row is still compared (4.8103575 - 4.8103575 = 0) and nothing is uncompared;
    # it is on neither side, so the row matches (QA: "differs (unpriced usage)" beside $0)
    assert sonnet["status"] == "match"
    assert (_d(sonnet["diff_usd"]), _d(rep["totals"]["uncompared_billed_usd"])) == (Decimal(0), Decimal(0))
    assert _d(rep["totals"]["billed_usd"]) == Decimal("8.135358")  # 8.0453575 + 0.09, rounded as above
    exact = reconcile(make_context(None, db_path), ReconcileRequest(since="2025-11-03", until="2025-11-05"))
    assert [r["billed_usd"] for r in exact.rows if r["model"] == "claude-sonnet-4-5"] == [Decimal("4.8103575")]
    assert (rep["totals"]["priority_rows"], rep["totals"]["long_context_buckets"]) == (1, 1)
    notes = _notes(db_path, since="2025-11-03", until="2025-11-05")
    assert any("1 priority-tier row (65,000 tokens)" in n and "leaves out Priority Tier" in n for n in notes)
    assert any(
        "1 Anthropic usage bucket is long-context" in n and "priced at the long-context rates" in n for n in notes
    )
    # named as its row is (the canonical model), not by the logged dated spelling, in the words of
    # the reports' note, with the tier that has no price
    assert any(
        n.startswith("Unpriced: ")
        and "cost: claude-sonnet-4-5 at the priority tier (request count not reported, 65,000 tokens)" in n
        for n in notes
    )


def test_the_order_the_fetches_are_imported_in_does_not_change_the_answer(db_path: Path) -> None:
    """Each provider's re-fetches imported BEFORE the earlier fetches (one file at a time,
    newest first): usage and cost only grow, so the larger copies stay and reconcile gives the
    hand-worked answers of the file-order tests above (11-04 haiku $0.09 = $0.09, a match;
    OpenAI 11-04 gpt-4.1 −2.65 %, 11-05 o4-mini 0.7755 = 0.7755)."""
    for f in (*reversed(ANTHROPIC_FILES), *reversed(OPENAI_FILES)):
        _load(db_path, [f])
    zero = Decimal(0)
    rows = _rows(_reconcile(db_path, "--since", "2025-11-03", "--until", "2025-11-05"))
    assert _cmp(rows[("2025-11-04", "claude-haiku-4-5")]) == (Decimal("0.09"), Decimal("0.09"), zero, zero, "match")
    assert _cmp(rows[("2025-11-04", "gpt-4.1")])[:3] == (Decimal("1.47"), Decimal("1.51"), Decimal("-0.04"))
    assert _cmp(rows[("2025-11-05", "o4-mini")]) == (Decimal("0.7755"), Decimal("0.7755"), zero, zero, "match")
    assert _cmp(rows[("2025-11-04", "gpt-4o")])[:2] == (Decimal("1.75"), Decimal("1.75"))


def test_without_cost_reports_says_to_import_one(db_path: Path) -> None:
    _load(db_path, OPENAI_FILES[:2])
    rep = _reconcile(db_path, "--since", "2025-11-03", "--until", "2025-11-05")
    assert {r["status"] for r in rep["rows"]} == {"computed only"}
    assert _d(rep["totals"]["computed_usd"]) == Decimal("8.132")
    assert _d(rep["totals"]["billed_usd"]) == 0 and rep["totals"]["diff_pct"] is None
    notes = _notes(db_path, since="2025-11-03", until="2025-11-05")
    assert any(
        n.startswith("No billed cost lines between 2025-11-03 and 2025-11-05: import a cost report") for n in notes
    )


def test_a_month_without_billed_lines_points_to_the_ones_imported(db_path: Path) -> None:
    """The default month of a database whose cost reports are from another month: the note says
    which days the billed lines cover and the --month that shows them."""
    _load(db_path, OPENAI_FILES)
    notes = _notes(db_path, month="2025-12")
    assert (
        "No billed cost lines between 2025-12-01 and 2025-12-31: the imported ones are from 2025-11-03 "
        "to 2025-11-05 (--month 2025-11 shows them); every row here is computed only."
    ) in notes


def test_providers_without_billed_lines_are_left_out_and_named(db_path: Path) -> None:
    _load(db_path, OPENAI_FILES + ANTHROPIC_FILES[:2])  # Anthropic usage, but no Anthropic cost report
    rep = _reconcile(db_path, "--month", "2025-11")
    assert {r["provider"] for r in rep["rows"]} == {"openai"}
    assert _d(rep["totals"]["computed_usd"]) == Decimal("8.132")
    assert any(
        n.startswith("Left out: provider anthropic has no billed lines") for n in _notes(db_path, month="2025-11")
    )
    both = _reconcile(db_path, "--month", "2025-11", "--provider", "openai", "--provider", "anthropic")
    assert {r["provider"] for r in both["rows"]} == {"openai", "anthropic"}


def test_days_are_utc_whatever_the_time_zone(tmp_path: Path, db_path: Path) -> None:
    """A gpt-4o request at 23:30 UTC on 11-04 is 11-05 in Berlin; billed lines are UTC days, so it
    reconciles on 11-04: 400,000×2.5 + 200,000×1.25 + 50,000×10 per 1e6 = 1.75 = billed."""
    event = {"event_id": "late", "ts": "2025-11-04T23:30:00Z", "provider": "openai", "model_raw": "gpt-4o",
             "input_tokens": 400_000, "cache_read_tokens": 200_000, "output_tokens": 50_000}  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "late.jsonl", [event])), "--db", str(db_path))
    run("import", str(OA / "costs_nov03_05.json"), "--db", str(db_path))
    rep = _reconcile(db_path, "--since", "2025-11-04", "--until", "2025-11-05", "--tz", "Europe/Berlin")
    rows = _rows(rep)
    assert _cmp(rows[("2025-11-04", "gpt-4o")])[:3] == (Decimal("1.75"), Decimal("1.75"), Decimal(0))
    assert ("2025-11-05", "gpt-4o") not in rows
    notes = _notes(db_path, since="2025-11-04", until="2025-11-05", tz="Europe/Berlin")
    assert "--tz Europe/Berlin only decides today's date" in notes[0]


def test_two_sources_of_one_provider_are_pointed_out(tmp_path: Path, db_path: Path) -> None:
    _load(db_path, OPENAI_FILES)
    gateway = {"event_id": "gw1", "ts": "2025-11-05T10:00:00Z", "provider": "openai", "model_raw": "o4-mini",
               "input_tokens": 1000, "output_tokens": 100}  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "gw.jsonl", [gateway])), "--db", str(db_path))
    rep = _reconcile(db_path, "--month", "2025-11")
    assert rep["totals"]["rows"] == 6
    assert any("sums events from jsonl, openai-usage" in n for n in _notes(db_path, month="2025-11"))
    only = _rows(_reconcile(db_path, "--month", "2025-11", "--source", "openai-usage"))
    assert only[("2025-11-05", "o4-mini")]["status"] == "match"


def test_options_and_formats(db_path: Path) -> None:
    _load(db_path, OPENAI_FILES)
    result = run("reconcile", "--month", "2025-11", "--since", "2025-11-01", "--db", str(db_path), expect=2)
    assert "--month" in result.stderr
    table = run("reconcile", "--month", "2025-11", "--db", str(db_path)).stdout
    assert "gpt-4.1" in table and "differs" in table
    csv_out = run("reconcile", "--month", "2025-11", "--format", "csv", "--db", str(db_path)).stdout
    assert csv_out.splitlines()[0].startswith("date,provider,model,computed_usd,billed_usd,diff_usd,diff_pct")
    assert "reconcile" in run("--help").stdout


def test_table_at_80_columns_keeps_model_names_whole(db_path: Path) -> None:
    """Both providers' files at the CLI's 80 columns: the unpriced tokens, then the provider, are
    left out (and named) rather than fold "claude-haiku-4-5" and "(unattributed)" over lines;
    CSV keeps every column."""
    _load(db_path, OPENAI_FILES + ANTHROPIC_FILES)
    table = run("reconcile", "--month", "2025-11", "--db", str(db_path)).stdout
    words = set(table.split())
    assert {"claude-haiku-4-5", "claude-sonnet-4-5", "(unattributed)", "gpt-4o-mini"} <= words
    headers = [line for line in table.splitlines() if line.startswith("Date (UTC)")]
    assert len(headers) == 1 and not any("Provider" in h or "Unpriced" in h for h in headers)
    assert "anthropic" not in " ".join(line for line in table.splitlines() if line.startswith("2025-11-"))
    flat = " ".join(table.split())
    # the day table; the model table, whose statuses are short ("match", "differs"), fits them all
    assert flat.count("not shown at this width: Unpriced tokens, Provider (a wider terminal") == 1
    assert any(line.startswith("Provider") and "Unpriced" not in line for line in table.splitlines())
    csv_head = run("reconcile", "--month", "2025-11", "--format", "csv", "--db", str(db_path)).stdout.splitlines()[0]
    assert "provider" in csv_head and "unpriced_tokens" in csv_head


def test_web_search_is_reconciled_in_the_row_of_its_billed_line(db_path: Path) -> None:
    """One sonnet-4-5 bucket on 11-03 with 12 web searches, and its exact cost report in cents.
    Computed tokens: (182,340×3 + 45,210×3.75 + 1,000×6 + 1,284,500×0.30 + 61,230×15) / 1e6
    = (547,020 + 169,537.5 + 6,000 + 385,350 + 918,450) / 1e6 = $2.0263575; billed token lines
    54.702 + 16.95375 + 0.6 + 38.535 + 91.845 = 202.63575 cents = $2.0263575. Web search:
    computed 12 × $0.01 = $0.12, billed a 12-cent line without a model. Both rows match (the
    model row showed +$0.12 "differs" and the web-search row "billed only" before)."""
    _load(db_path, [AN / "websearch_usage_nov03.json", AN / "websearch_cost_nov03.json"])
    exact = reconcile(make_context(None, db_path), ReconcileRequest(month="2025-11"))
    rows = {r["model"]: r for r in exact.rows}
    assert set(rows) == {"claude-sonnet-4-5", "(unattributed)"}
    sonnet, web = rows["claude-sonnet-4-5"], rows["(unattributed)"]
    assert (sonnet["computed_usd"], sonnet["billed_usd"], sonnet["status"]) == (
        Decimal("2.0263575"), Decimal("2.0263575"), "match")  # fmt: skip
    assert (web["computed_usd"], web["billed_usd"], web["status"]) == (Decimal("0.12"), Decimal("0.12"), "match")
    assert (exact.totals["computed_usd"], exact.totals["billed_usd"]) == (Decimal("2.1463575"), Decimal("2.1463575"))
    assert exact.totals["matching_rows"] == 2
    assert {r["status"] for r in exact.sections[0].rows} == {"match"}


def test_an_unknown_provider_is_a_usage_error_and_a_filter_without_bills_says_so(db_path: Path) -> None:
    _load(db_path, [AN / "websearch_usage_nov03.json", AN / "websearch_cost_nov03.json"])
    result = run("reconcile", "--month", "2025-11", "--provider", "nosuch", "--db", str(db_path), expect=2)
    assert "--provider nosuch: unknown provider (known: anthropic, google, openai)" in result.stderr
    # openai is known (the price book) but billed nothing here: the note names the filter, not the dates
    assert _reconcile(db_path, "--month", "2025-11", "--provider", "openai")["rows"] == []
    notes = _notes(db_path, month="2025-11", providers=("openai",))
    assert notes[1] == (
        "No billed cost lines for --provider openai between 2025-11-01 and 2025-11-30: the ones of this range "
        "are for anthropic (--provider anthropic, or no --provider, shows them); every row here is computed only."
    )


def _haiku_usage(day: str, inp: int, out: int) -> dict[str, Any]:
    return {"starting_at": f"{day}T00:00:00Z", "ending_at": f"{day}T23:59:59Z", "results": [
        {"uncached_input_tokens": inp, "cache_creation": {"ephemeral_1h_input_tokens": 0,
         "ephemeral_5m_input_tokens": 0}, "cache_read_input_tokens": 0, "output_tokens": out,
         "server_tool_use": {"web_search_requests": 0}, "model": "claude-haiku-4-5-20251001",
         "service_tier": "standard", "context_window": "0-200k"}]}  # fmt: skip


def _haiku_cost(day: str, cents: str) -> dict[str, Any]:
    return {"starting_at": f"{day}T00:00:00Z", "ending_at": f"{day}T23:59:59Z", "results": [
        {"amount": cents, "currency": "USD", "cost_type": "tokens", "token_type": "uncached_input_tokens",
         "model": "claude-haiku-4-5-20251001", "service_tier": "standard", "context_window": "0-200k"}]}  # fmt: skip


def test_diff_pct_is_rounded_once(tmp_path: Path, db_path: Path) -> None:
    """claude-haiku-4-5 ($1 in / $5 out per 1M): computed 1M in + 1M out = $6.00 on 10-01 and
    2M in = $2.00 on 10-02, $8.00 in all; billed 600 + 192.5 cents = $7.925. Diff $0.075,
    0.075 / 7.925 = 0.946 %: the table says 0.9 % (rounded once, not 0.95 -> 1.0 %), JSON 0.95."""
    usage = {"data": [_haiku_usage("2026-10-01", 1_000_000, 1_000_000), _haiku_usage("2026-10-02", 2_000_000, 0)],
             "has_more": False, "next_page": None}  # fmt: skip
    cost = {"data": [_haiku_cost("2026-10-01", "600"), _haiku_cost("2026-10-02", "192.5")],
            "has_more": False, "next_page": None}  # fmt: skip
    (tmp_path / "usage.json").write_text(json.dumps(usage), encoding="utf-8")
    (tmp_path / "cost.json").write_text(json.dumps(cost), encoding="utf-8")
    _load(db_path, [tmp_path / "usage.json", tmp_path / "cost.json"])
    rep = _reconcile(db_path, "--month", "2026-10")
    (model,) = rep["models"]
    assert _cmp(model) == (Decimal("8"), Decimal("7.925"), Decimal("0.075"), Decimal("0.95"), "differs")
    # the totals' percentages too, the compared part's included (it had 6 decimals: 0.946372)
    assert (_d(rep["totals"]["diff_pct"]), _d(rep["totals"]["compared_diff_pct"])) == (Decimal("0.95"), Decimal("0.95"))
    for fmt in ("table", "markdown"):
        text = run("reconcile", "--month", "2026-10", "--format", fmt, "--db", str(db_path)).stdout
        line = next(x for x in text.splitlines() if "claude-haiku-4-5" in x and "$8.00" in x)  # By model
        assert "0.9%" in line.replace("|", " ").split() and "1.0%" not in line, (fmt, line)


def _bill(path: Path, day: str, lines: list[tuple[str, str]]) -> Path:
    """An Anthropic cost report page of one UTC day: (model, amount in cents as a decimal string)."""
    results = [
        {"amount": cents, "currency": "USD", "cost_type": "tokens", "token_type": "output_tokens", "model": model,
         "service_tier": "standard", "context_window": "0-200k", "description": f"{model} output", "workspace_id": None}
        for model, cents in lines
    ]  # fmt: skip
    page = {"data": [{"starting_at": f"{day}T00:00:00Z", "ending_at": f"{day}T23:59:59Z", "results": results}],
            "has_more": False, "next_page": None}  # fmt: skip
    path.write_text(json.dumps(page), encoding="utf-8")
    return path


def test_the_bill_of_wholly_unpriced_usage_is_not_subtracted_from_the_priced_total(
    tmp_path: Path, db_path: Path
) -> None:
    """Haiku 4.5 output is $5 per 1M: 10,000 tokens = $0.05, billed 5 cents (a match). An unknown
    model has 2,000 output tokens and no price, and is billed 300 cents = $3.00. The total of the
    computed side ($0.05) leaves the unknown model out; subtracting its $3.00 bill would show a
    difference of −$2.95 (−98.3 %) that no row has. The total difference is withheld, and the
    part that can be compared is given: $0.05 vs $0.05, +$0.00."""
    usage = write_jsonl(tmp_path / "usage.jsonl", [
        {"ts": "2025-11-04T10:00:00Z", "provider": "anthropic", "model": "claude-haiku-4-5", "output_tokens": 10_000},
        {"ts": "2025-11-04T11:00:00Z", "provider": "anthropic", "model": "claude-foo-9", "output_tokens": 2_000},
    ])  # fmt: skip
    bill = _bill(tmp_path / "cost.json", "2025-11-04", [("claude-foo-9", "300"), ("claude-haiku-4-5-20251001", "5")])
    run("import", str(usage), "--db", str(db_path))
    run("import", str(bill), "--format", "anthropic-cost", "--db", str(db_path))
    rep = _reconcile(db_path, "--month", "2025-11")
    t = rep["totals"]
    assert (_d(t["computed_usd"]), _d(t["billed_usd"]), t["diff_usd"], t["diff_pct"]) == (
        Decimal("0.05"), Decimal("3.05"), None, None)  # fmt: skip
    assert t["status"] == "differs (unpriced usage)"
    assert (_d(t["compared_computed_usd"]), _d(t["compared_billed_usd"]), _d(t["compared_diff_usd"])) == (
        Decimal("0.05"), Decimal("0.05"), Decimal(0))  # fmt: skip
    assert _d(t["uncompared_billed_usd"]) == Decimal("3")
    rows = _rows(rep)
    assert _cmp(rows[("2025-11-04", "claude-foo-9")]) == (None, Decimal("3"), None, None, "unpriced")
    assert _cmp(rows[("2025-11-04", "claude-haiku-4-5")])[-1] == "match"
    notes = _notes(db_path, month="2025-11")
    assert any(
        n.startswith("No total difference: $3.00 is billed for usage without any computed cost (claude-foo-9")
        and "computed $0.05, billed $0.05, difference +$0.00" in n
        for n in notes
    )
    table = run("reconcile", "--month", "2025-11", "--db", str(db_path)).stdout
    total_line = next(line for line in table.splitlines() if line.startswith("Total"))
    assert total_line.split()[1:4] == ["$0.05", "$3.05", "unpriced"]


def test_a_left_out_provider_under_a_cent_is_not_shown_as_zero(tmp_path: Path, db_path: Path) -> None:
    """gpt-4o-mini output is $0.60 per 1M: 500 tokens = $0.0003. With only Anthropic billed, the
    OpenAI usage is left out, and the note names its cost as $0.00030 (two significant digits, as tables show sub-cent amounts), not $0.00."""
    usage = write_jsonl(tmp_path / "usage.jsonl", [
        {"ts": "2025-11-04T10:00:00Z", "provider": "openai", "model": "gpt-4o-mini", "output_tokens": 500},
        {"ts": "2025-11-04T10:00:00Z", "provider": "anthropic", "model": "claude-haiku-4-5", "output_tokens": 10_000},
    ])  # fmt: skip
    run("import", str(usage), "--db", str(db_path))
    run("import", str(_bill(tmp_path / "cost.json", "2025-11-04", [("claude-haiku-4-5", "5")])), "--db", str(db_path))
    notes = _notes(db_path, month="2025-11")
    assert any("provider openai has no billed lines in this range (computed $0.00030)" in n for n in notes)


def test_the_bill_of_a_day_without_computed_cost_is_not_subtracted_for_a_model_priced_on_other_days(
    tmp_path: Path, db_path: Path
) -> None:
    """Haiku 4.5 at the priority tier has no price (usagectl leaves it unpriced): 11-04 is wholly
    unpriced, billed 300 cents; 11-05 is standard, 10,000 output tokens x $5/M = $0.05, billed 5
    cents (a match). Neither the total nor haiku's own row subtracts 11-04's $3.00 from the
    $0.05 computed (a difference of −$2.95 that no day has); the compared part is $0.05 vs
    $0.05, and $3.00 is billed for usage without any computed cost."""
    usage = write_jsonl(tmp_path / "usage.jsonl", [
        {"ts": "2025-11-04T10:00:00Z", "provider": "anthropic", "model": "claude-haiku-4-5", "output_tokens": 2_000,
         "service_tier": "priority"},
        {"ts": "2025-11-05T10:00:00Z", "provider": "anthropic", "model": "claude-haiku-4-5", "output_tokens": 10_000},
    ])  # fmt: skip
    run("import", str(usage), "--db", str(db_path))
    for day, cents in (("2025-11-04", "300"), ("2025-11-05", "5")):
        bill = _bill(tmp_path / f"cost-{day}.json", day, [("claude-haiku-4-5-20251001", cents)])
        run("import", str(bill), "--format", "anthropic-cost", "--db", str(db_path))
    rep = _reconcile(db_path, "--month", "2025-11")
    t = rep["totals"]
    assert (_d(t["computed_usd"]), _d(t["billed_usd"]), t["diff_usd"], t["diff_pct"]) == (
        Decimal("0.05"), Decimal("3.05"), None, None)  # fmt: skip
    assert (_d(t["compared_computed_usd"]), _d(t["compared_billed_usd"]), _d(t["compared_diff_usd"])) == (
        Decimal("0.05"), Decimal("0.05"), Decimal(0))  # fmt: skip
    assert _d(t["uncompared_billed_usd"]) == Decimal("3")
    (model,) = rep["models"]
    assert (model["diff_usd"], model["diff_pct"], model["status"]) == (None, None, "differs (unpriced usage)")
    rows = _rows(rep)
    assert _cmp(rows[("2025-11-04", "claude-haiku-4-5")])[-1] == "unpriced"
    assert _cmp(rows[("2025-11-05", "claude-haiku-4-5")])[-1] == "match"


def test_a_cheap_row_far_off_its_bill_is_no_match(tmp_path: Path, db_path: Path) -> None:
    """Half a cent is no tolerance on a cheap row. claude-haiku-4-5 ($1 in / $5 out per 1M):
    - 10-01: 100 in + 100 out = $0.0001 + $0.0005 = $0.0006, billed 0.05 cents = $0.0005: diff
      $0.0001, +20 % (0.0001 / 0.0005): differs, though under half a cent;
    - 10-02: the same usage billed 0.06 cents = $0.0006: a match;
    - 10-03: 1M in + 1M out = $6.00, billed 599.9 cents = $5.999: diff $0.001, 0.0167 %: a match;
    - 10-04: 100 in + 100 out = $0.0006, billed 0 cents: differs (nothing billed, something used)."""
    usage = {"data": [_haiku_usage("2026-10-01", 100, 100), _haiku_usage("2026-10-02", 100, 100),
                      _haiku_usage("2026-10-03", 1_000_000, 1_000_000), _haiku_usage("2026-10-04", 100, 100)],
             "has_more": False, "next_page": None}  # fmt: skip
    cost = {"data": [_haiku_cost("2026-10-01", "0.05"), _haiku_cost("2026-10-02", "0.06"),
                     _haiku_cost("2026-10-03", "599.9"), _haiku_cost("2026-10-04", "0")],
            "has_more": False, "next_page": None}  # fmt: skip
    (tmp_path / "usage.json").write_text(json.dumps(usage), encoding="utf-8")
    (tmp_path / "cost.json").write_text(json.dumps(cost), encoding="utf-8")
    _load(db_path, [tmp_path / "usage.json", tmp_path / "cost.json"])
    rep = _reconcile(db_path, "--month", "2026-10")
    rows = _rows(rep)
    haiku = "claude-haiku-4-5"
    assert _cmp(rows[("2026-10-01", haiku)]) == (Decimal("0.0006"), Decimal("0.0005"), Decimal("0.0001"),
                                                 Decimal("20"), "differs")  # fmt: skip
    assert rows[("2026-10-02", haiku)]["status"] == "match"
    assert _cmp(rows[("2026-10-03", haiku)])[-1] == "match"
    assert rows[("2026-10-04", haiku)]["status"] == "differs"
    assert rep["totals"]["matching_rows"] == 2


def test_a_bill_below_zero_keeps_the_sign_of_the_difference(tmp_path: Path, db_path: Path) -> None:
    """Haiku 4.5: 1M in + 1M out = $1 + $5 = $6.00 computed, billed 600 cents (a match); a credit
    line without a model of -1600 cents makes the day's bill $6 - $16 = -$10. Computed is above
    the bill by $16: +160 % of the bill's size (16 / |-10|), not -160 %; the credit's own row
    (nothing computed, billed -$16) is +$16, +100 %."""
    usage = {"data": [_haiku_usage("2026-10-01", 1_000_000, 1_000_000)], "has_more": False, "next_page": None}
    cost = {"data": [_haiku_cost("2026-10-01", "600")], "has_more": False, "next_page": None}
    cost["data"][0]["results"].append({"amount": "-1600", "currency": "USD", "cost_type": "credit",
                                       "description": "Promotional credit"})  # fmt: skip
    (tmp_path / "usage.json").write_text(json.dumps(usage), encoding="utf-8")
    (tmp_path / "cost.json").write_text(json.dumps(cost), encoding="utf-8")
    _load(db_path, [tmp_path / "usage.json", tmp_path / "cost.json"])
    rep = _reconcile(db_path, "--month", "2026-10")
    t = rep["totals"]
    assert (_d(t["computed_usd"]), _d(t["billed_usd"]), _d(t["diff_usd"]), _d(t["diff_pct"])) == (
        Decimal("6"), Decimal("-10"), Decimal("16"), Decimal("160"))  # fmt: skip
    rows = _rows(rep)
    assert _cmp(rows[("2026-10-01", "claude-haiku-4-5")]) == (Decimal(6), Decimal(6), Decimal(0), Decimal(0), "match")
    assert _cmp(rows[("2026-10-01", "(unattributed)")]) == (
        Decimal(0), Decimal(-16), Decimal(16), Decimal(100), "billed only")  # fmt: skip
    assert any("credits" in n for n in _notes(db_path, month="2026-10"))


def test_a_source_no_event_has_is_a_usage_error(db_path: Path) -> None:
    """``--source openai_usage`` (for openai-usage) would make every row "billed only": a typo
    is refused, naming the sources the events have."""
    _load(db_path, OPENAI_FILES)
    result = run("reconcile", "--month", "2025-11", "--source", "openai_usage", "--db", str(db_path), expect=2)
    assert "--source openai_usage: no stored event has this source (the events have: openai-usage)" in result.stderr
    assert _reconcile(db_path, "--month", "2025-11", "--source", "openai-usage")["rows"]


def test_priority_usage_served_in_one_geography_is_pointed_out_too(tmp_path: Path, db_path: Path) -> None:
    """The cost report leaves out Priority Tier: a priority row with ``inference_geo: "us"``
    (stored as tier ``priority@us``) is one of them, as a global one is (1 row, 1,000 tokens)."""
    for geo in ("global", "us"):
        db = tmp_path / f"{geo}.duckdb"
        row = _haiku_usage("2026-10-05", 600, 400)
        row["results"][0] |= {"service_tier": "priority", "inference_geo": geo}
        (tmp_path / "u.json").write_text(json.dumps({"data": [row], "has_more": False}), encoding="utf-8")
        (tmp_path / "c.json").write_text(json.dumps({"data": [_haiku_cost("2026-10-05", "1")]}), encoding="utf-8")
        _load(db, [tmp_path / "u.json", tmp_path / "c.json"])
        assert _reconcile(db, "--month", "2026-10")["totals"]["priority_rows"] == 1, geo
        assert any("1 priority-tier row (1,000 tokens)" in n for n in _notes(db, month="2026-10")), geo


def test_the_caveats_of_the_reports_come_with_the_reconciliation(tmp_path: Path, db_path: Path) -> None:
    """A Haiku 5.5 usage row of a whole day (10M uncached input, context_window "0-200k") cannot
    tell which requests passed the model's long-context threshold: it is priced on the base band,
    as ``report by model`` says in a note. The reconciliation of that day (billed $3) gives the
    same note: its difference may be that band, not a wrong bill."""
    row = _haiku_usage("2026-10-05", 10_000_000, 0)
    row["results"][0]["model"] = "claude-haiku-5-5"
    cost = _haiku_cost("2026-10-05", "300")
    cost["results"][0]["model"] = "claude-haiku-5-5"
    (tmp_path / "u.json").write_text(json.dumps({"data": [row], "has_more": False}), encoding="utf-8")
    (tmp_path / "c.json").write_text(json.dumps({"data": [cost], "has_more": False}), encoding="utf-8")
    _load(db_path, [tmp_path / "u.json", tmp_path / "c.json"])
    report = run_json("report", "by", "model", "--since", "2026-10-01", "--until", "2026-10-31", "--tz", "UTC",
                      "--db", str(db_path))  # fmt: skip
    band = [n for n in report["notes"] if "Long-context band" in n]
    assert len(band) == 1
    assert band[0] in _notes(db_path, month="2026-10")


DEC09, DEC10 = 1765238400, 1765324800  # 2025-12-09 and 2025-12-10, 00:00 UTC (a day is 86,400 s)


def _oa_usage(path: Path, start: int, results: list[dict[str, Any]]) -> Path:
    """An OpenAI completions usage page of one UTC day bucket; a result names its model (None:
    fetched without group_by=model) and its tokens."""
    rows = [{"object": "organization.usage.completions.result", "input_tokens": 0, "output_tokens": 0,
             "input_cached_tokens": 0, "num_model_requests": 50, "project_id": None, "user_id": None,
             "api_key_id": None, "batch": None} | r for r in results]  # fmt: skip
    page = {"object": "page", "has_more": False, "next_page": None,
            "data": [{"object": "bucket", "start_time": start, "end_time": start + 86_400, "results": rows}]}  # fmt: skip
    path.write_text(json.dumps(page), encoding="utf-8")
    return path


def _oa_costs(path: Path, days: list[tuple[int, list[tuple[str, float]]]]) -> Path:
    """An OpenAI costs page: per UTC day bucket, its (line_item, dollars) lines."""
    data = [
        {"object": "bucket", "start_time": start, "end_time": start + 86_400, "results": [
            {"object": "organization.costs.result", "amount": {"value": v, "currency": "usd"}, "line_item": li,
             "project_id": None} for li, v in lines]}
        for start, lines in days
    ]  # fmt: skip
    path.write_text(
        json.dumps({"object": "page", "data": data, "has_more": False, "next_page": None}), encoding="utf-8"
    )
    return path


def test_a_source_compares_the_bills_of_its_own_providers_only(tmp_path: Path, db_path: Path) -> None:
    """2025-12-10: OpenAI usage (openai-usage) of gpt-4o, 1,000,000 input x $2.50/M = $2.50,
    billed $2.50; Anthropic usage (anthropic-usage) of haiku-4-5, 1,000,000 input x $1/M =
    $1.00, billed 100 cents. `--source openai-usage` compares OpenAI's usage with OpenAI's bill:
    $2.50 vs $2.50, a match; the Anthropic bill is no "billed only" row (QA: total $2.50 vs
    $3.50, -28.6 %). Without --source both are compared: $3.50 vs $3.50."""
    haiku = _haiku_usage("2025-12-10", 1_000_000, 0)
    (tmp_path / "a_usage.json").write_text(json.dumps({"data": [haiku], "has_more": False}), encoding="utf-8")
    (tmp_path / "a_cost.json").write_text(json.dumps({"data": [_haiku_cost("2025-12-10", "100")]}), encoding="utf-8")
    o_usage = _oa_usage(tmp_path / "o_usage.json", DEC10, [{"model": "gpt-4o-2024-08-06", "input_tokens": 1_000_000}])
    o_cost = _oa_costs(tmp_path / "o_cost.json", [(DEC10, [("gpt-4o-2024-08-06, input", 2.5)])])
    _load(db_path, [tmp_path / "a_usage.json", tmp_path / "a_cost.json", o_usage, o_cost])
    rep = _reconcile(db_path, "--month", "2025-12", "--source", "openai-usage")
    assert [(r["provider"], r["model"], r["status"]) for r in rep["rows"]] == [("openai", "gpt-4o", "match")]
    t = rep["totals"]
    assert (_d(t["computed_usd"]), _d(t["billed_usd"]), _d(t["diff_usd"]), t["status"]) == (
        Decimal("2.5"), Decimal("2.5"), Decimal(0), "match")  # fmt: skip
    assert rep["filters"]["provider"] == ["openai"]
    both = _reconcile(db_path, "--month", "2025-12")["totals"]
    assert (_d(both["computed_usd"]), _d(both["billed_usd"]), _d(both["diff_usd"])) == (
        Decimal("3.5"), Decimal("3.5"), Decimal(0))  # fmt: skip


def test_a_source_whose_provider_has_no_bill_is_computed_only(tmp_path: Path, db_path: Path) -> None:
    """Anthropic usage (haiku-4-5, 1,000,000 input x $1/M = $1.00) and only an OpenAI bill
    ($2.50 on 2025-12-10): `--source anthropic-usage` shows its $1.00 computed only and billed $0,
    not the OpenAI bill as "billed only" (a difference of $1.00 - $2.50), and says whose bill
    there is."""
    haiku = _haiku_usage("2025-12-10", 1_000_000, 0)
    (tmp_path / "a_usage.json").write_text(json.dumps({"data": [haiku], "has_more": False}), encoding="utf-8")
    o_cost = _oa_costs(tmp_path / "o_cost.json", [(DEC10, [("gpt-4o-2024-08-06, input", 2.5)])])
    _load(db_path, [tmp_path / "a_usage.json", o_cost])
    rep = _reconcile(db_path, "--month", "2025-12", "--source", "anthropic-usage")
    assert [(r["provider"], r["status"]) for r in rep["rows"]] == [("anthropic", "computed only")]
    t = rep["totals"]
    assert (_d(t["computed_usd"]), _d(t["billed_usd"]), _d(t["diff_usd"])) == (Decimal(1), Decimal(0), Decimal(1))
    assert (
        "No billed cost lines for anthropic, whose events --source anthropic-usage compares, between 2025-12-01 and "
        "2025-12-31: the ones of this range are for openai (reconcile without --source shows them); every row here "
        "is computed only."
    ) in _notes(db_path, month="2025-12", sources=("anthropic-usage",))


def test_the_bill_of_a_day_of_usage_without_a_model_is_not_a_difference(tmp_path: Path, db_path: Path) -> None:
    """12-09: usage grouped by model, gpt-4o 1,000,000 input x $2.50/M = $2.50, billed $2.50 (a
    match). 12-10: usage fetched without group_by=model (no model: unpriced, in a "(none)" row),
    billed as gpt-4o $2.50 + $1.00. That $3.50 has no computed cost to meet: the 12-10 gpt-4o row,
    the gpt-4o model row and the total show no difference (QA: -$3.50, -100 %; total -58.3 %),
    $3.50 is uncompared and the compared rest is 12-09: $2.50 vs $2.50, +$0.00."""
    grouped = _oa_usage(tmp_path / "u.json", DEC09, [{"model": "gpt-4o-2024-08-06", "input_tokens": 1_000_000}])
    ungrouped = _oa_usage(tmp_path / "u_ungrouped.json", DEC10,
                          [{"model": None, "input_tokens": 1_000_000, "output_tokens": 100_000}])  # fmt: skip
    bill = _oa_costs(tmp_path / "c.json", [(DEC09, [("gpt-4o-2024-08-06, input", 2.5)]),
                                           (DEC10, [("gpt-4o-2024-08-06, input", 2.5),
                                                    ("gpt-4o-2024-08-06, output", 1.0)])])  # fmt: skip
    for f in (grouped, ungrouped, bill):
        _load(db_path, [f])
    rep = _reconcile(db_path, "--month", "2025-12")
    rows = _rows(rep)
    assert _cmp(rows[("2025-12-10", "gpt-4o")]) == (
        Decimal(0), Decimal("3.5"), None, None, "billed only (usage without model)")  # fmt: skip
    assert rows[("2025-12-10", "(none)")]["unpriced_tokens"] == 1_100_000
    assert _cmp(rows[("2025-12-09", "gpt-4o")])[-1] == "match"
    models = {r["model"]: r for r in rep["models"]}
    assert (models["gpt-4o"]["diff_usd"], models["gpt-4o"]["diff_pct"]) == (None, None)
    t = rep["totals"]
    assert (_d(t["computed_usd"]), _d(t["billed_usd"]), t["diff_usd"], t["diff_pct"]) == (
        Decimal("2.5"), Decimal(6), None, None)  # fmt: skip
    assert (_d(t["compared_computed_usd"]), _d(t["compared_billed_usd"]), _d(t["compared_diff_usd"])) == (
        Decimal("2.5"), Decimal("2.5"), Decimal(0))  # fmt: skip
    assert _d(t["uncompared_billed_usd"]) == Decimal("3.5")
    assert (
        "No total difference: $3.50 is billed for usage not all in the computed cost (gpt-4o: billed on a day of "
        "usage without a model). The rest: computed $2.50, billed $2.50, difference +$0.00 (+0.0 %)."
    ) in _notes(db_path, month="2025-12")


def test_the_bill_of_a_model_partly_unpriced_on_a_day_is_not_a_difference(tmp_path: Path, db_path: Path) -> None:
    """12-10 gpt-4o: 1,000,000 input at the default tier x $2.50/M = $2.50, and 1,000,000 input at
    the flex tier, which has no price; billed $2.50 + $1.25 (flex). The computed $2.50 leaves out
    the flex usage whose $1.25 is on the bill: no difference for the row, the model or the total
    (QA: -$1.25, -33.3 %); the whole $3.75 of the row is uncompared (the bill does not split it
    by tier for usagectl), the compared rest is nothing: $0 vs $0."""
    usage = _oa_usage(tmp_path / "u.json", DEC10, [
        {"model": "gpt-4o-2024-08-06", "input_tokens": 1_000_000, "service_tier": "default"},
        {"model": "gpt-4o-2024-08-06", "input_tokens": 1_000_000, "service_tier": "flex"}])  # fmt: skip
    bill = _oa_costs(tmp_path / "c.json", [(DEC10, [("gpt-4o-2024-08-06, input", 2.5),
                                                    ("gpt-4o-2024-08-06, input (flex)", 1.25)])])  # fmt: skip
    _load(db_path, [usage, bill])
    rep = _reconcile(db_path, "--month", "2025-12")
    (row,) = rep["rows"]
    assert _cmp(row) == (Decimal("2.5"), Decimal("3.75"), None, None, "differs (unpriced usage)")
    assert row["unpriced_tokens"] == 1_000_000
    (model,) = rep["models"]
    assert (model["diff_usd"], model["diff_pct"]) == (None, None)
    t = rep["totals"]
    assert (t["diff_usd"], t["diff_pct"], _d(t["uncompared_billed_usd"])) == (None, None, Decimal("3.75"))
    assert (_d(t["compared_computed_usd"]), _d(t["compared_billed_usd"]), _d(t["compared_diff_usd"])) == (
        Decimal(0), Decimal(0), Decimal(0))  # fmt: skip
    notes = _notes(db_path, month="2025-12")
    assert any(n.startswith("No total difference: $3.75 is billed for usage not all in the computed cost (gpt-4o: "
                            "partly unpriced).") for n in notes)  # fmt: skip
    # the note on the unpriced usage names the tier that has no price: gpt-4o itself has one
    assert (
        "Unpriced: 50 requests / 1,000,000 tokens have no price and are NOT in the cost: gpt-4o at the flex tier "
        "(50 requests, 1,000,000 tokens). See `usagectl pricing check`."
    ) in notes


def test_unpriced_web_searches_are_named_and_their_bill_is_not_a_difference(tmp_path: Path, db_path: Path) -> None:
    """One gpt-4o request of 1,000,000 input with 3 web searches: the price table has no OpenAI
    web-search price, so the whole request is unpriced (as `report daily` says, with that cause).
    Billed on 12-10: $2.50 of gpt-4o input and $0.25 of web search (a line without a model, the
    (unattributed) row). Neither is a difference: $2.75 is uncompared, the compared rest $0 vs $0
    (the (unattributed) row was -$0.25, -100 %, "billed only" in the compared part)."""
    event = {"event_id": "w1", "ts": "2025-12-10T10:00:00Z", "provider": "openai", "model_raw": "gpt-4o-2024-08-06",
             "input_tokens": 1_000_000, "web_search_requests": 3}  # fmt: skip
    bill = _oa_costs(tmp_path / "c.json", [(DEC10, [("gpt-4o-2024-08-06, input", 2.5),
                                                    ("web search tool calls", 0.25)])])  # fmt: skip
    _load(db_path, [write_jsonl(tmp_path / "ws.jsonl", [event]), bill])
    rep = _reconcile(db_path, "--month", "2025-12")
    rows = _rows(rep)
    assert _cmp(rows[("2025-12-10", "gpt-4o")]) == (None, Decimal("2.5"), None, None, "unpriced")
    assert _cmp(rows[("2025-12-10", "(unattributed)")]) == (
        Decimal(0), Decimal("0.25"), None, None, "billed only (unpriced usage)")  # fmt: skip
    t = rep["totals"]
    assert (_d(t["uncompared_billed_usd"]), _d(t["compared_billed_usd"]), _d(t["compared_diff_usd"])) == (
        Decimal("2.75"), Decimal(0), Decimal(0))  # fmt: skip
    notes = _notes(db_path, month="2025-12")
    assert (
        "Unpriced: 1 request / 1,000,000 tokens have no price and are NOT in the cost: gpt-4o: 1 request with web "
        "searches, 1,000,000 tokens (no web-search price in the table; their whole cost is left out). See "
        "`usagectl pricing check`."
    ) in notes
    assert any(n.startswith("No total difference: $2.75 is billed for usage not all in the computed cost "
                            "((unattributed): web searches of unpriced usage; gpt-4o: unpriced).") for n in notes)  # fmt: skip
    daily = run_json("report", "daily", "--since", "2025-12-10", "--until", "2025-12-10", "--tz", "UTC",
                     "--db", str(db_path))  # fmt: skip
    assert [n for n in daily["notes"] if n.startswith("Unpriced: ")] == [n for n in notes if n.startswith("Unpriced: ")]
