"""Provider cost reports: `openai-costs` (dollars) and `anthropic-cost` (cents as decimal strings)
into `billed_costs`, against fixtures worked out by hand in tests/data/*/EXPECTED.md.

Traps covered: cents read as dollars (100×), float noise in dollar amounts, other currencies,
error pages, a re-fetched day replaces (never adds), an ungrouped total beside grouped lines,
line items parsed into model and token type, amounts exact (Decimal, never float).
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import run, run_json
from usagectl.errors import Interrupted
from usagectl.importers.anthropic_cost import IMPORTER as ANTHROPIC_COST
from usagectl.importers.anthropic_cost import cents_to_dollars
from usagectl.importers.openai_costs import IMPORTER as OPENAI_COSTS
from usagectl.importers.openai_costs import parse_line_item
from usagectl.models import Record
from usagectl.services.context import make_context
from usagectl.services.imports import import_paths
from usagectl.store import billing, ingest
from usagectl.store.connection import connect

DATA = Path(__file__).parent / "data"
OC_FIRST, OC_REFETCH = DATA / "openai" / "costs_nov03_05.json", DATA / "openai" / "costs_refetch_nov05.jsonl"
AC_FIRST, AC_REFETCH = DATA / "anthropic" / "cost_nov03_04.json", DATA / "anthropic" / "cost_refetch_nov04_05.jsonl"


def _query(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _import(db: Path, *paths: Path, fmt: str = "auto") -> dict[str, Any]:
    out: dict[str, Any] = run_json("import", *map(str, paths), "--format", fmt, "--db", str(db))
    return out


def _billed(db: Path) -> dict[tuple[date, str | None], Decimal]:
    rows = _query(
        db,
        "SELECT CAST(timezone('UTC', start_ts) AS DATE), model, sum(amount_usd) FROM billed_costs GROUP BY ALL",
    )
    return {(d, m): a for d, m, a in rows}


# --------------------------------------------------------------------------- OpenAI (dollars)


def test_openai_costs_lines_in_dollars(db_path: Path) -> None:
    out = _import(db_path, OC_FIRST, fmt="openai-costs")
    assert (out["records"], out["imported"], out["rejected"]) == (17, 17, 0)
    billed = _billed(db_path)
    d3, d4, d5 = date(2025, 11, 3), date(2025, 11, 4), date(2025, 11, 5)
    assert billed[(d3, "gpt-4o")] == Decimal("3.094")  # 1.096 + 1.015 + 0.983
    # 0.225 + 0.0375 + 0.18 + 0.30000000000000004 (noise below the 12-decimal scale) + 0.3
    assert billed[(d3, "gpt-4o-mini")] == Decimal("1.0425")
    assert billed[(d4, "gpt-4o")] == Decimal("1.75")
    assert billed[(d4, "gpt-4.1")] == Decimal("1.51")  # 1.0 + 0.15 + 0.36
    assert billed[(d5, "o4-mini")] == Decimal("0.4015")  # the partial day: 0.11 + 0.0275 + 0.264
    row = _query(
        db_path,
        "SELECT provider, source, model_raw, token_type, service_tier, project, quantity, quantity_unit, extra, "
        "end_ts FROM billed_costs WHERE line_item = 'gpt-4o-mini-2024-07-18, input (batch)'",
    )[0]
    assert row[:8] == ("openai", "openai-costs", "gpt-4o-mini-2024-07-18", "input (batch)", "batch",
                       "proj_Zy41mQx0aBcD7eFg", Decimal("4000000"), "tokens")  # fmt: skip
    assert json.loads(row[8])["amount_value"] == "0.30000000000000004"  # as reported, kept
    assert row[9] == datetime(2025, 11, 4, tzinfo=UTC)


def test_openai_costs_refetch_replaces_and_rejects(db_path: Path) -> None:
    _import(db_path, OC_FIRST, fmt="openai-costs")
    out = _import(db_path, OC_REFETCH, fmt="openai-costs")
    # input and output of o4-mini grew: replaced; its cached input is the same 0.0275: a duplicate
    # (the stored copy stays); web search line new; error page and the EUR line rejected
    assert (out["records"], out["imported"], out["replaced"], out["rejected"]) == (6, 1, 2, 2)
    assert out["duplicates"] == 1
    billed = _billed(db_path)
    assert billed[(date(2025, 11, 5), "o4-mini")] == Decimal("0.7755")  # 0.22 + 0.0275 + 0.528, not + 0.4015
    assert billed[(date(2025, 11, 5), None)] == Decimal("0.05")
    assert sum(billed.values()) == Decimal("8.222")
    rejects = _query(db_path, "SELECT file, line, reason FROM rejects ORDER BY record")
    assert [(Path(f).name, line) for f, line, _ in rejects] == [(OC_REFETCH.name, 2), (OC_REFETCH.name, 3)]
    assert rejects[0][2].startswith("error page, not a report: invalid_api_key: Incorrect API key provided")
    assert rejects[1][2] == 'amount.currency: "eur" is not usd (only USD amounts are reconciled)'
    batch = _query(
        db_path, "SELECT replaced, dup_stored, dedup_rule FROM import_batches ORDER BY batch_id DESC LIMIT 1"
    )
    assert batch == [(2, 1, "max-amount")]


def test_line_item_parsing() -> None:
    assert parse_line_item("gpt-4o-2024-08-06, input") == ("gpt-4o-2024-08-06", "input")
    assert parse_line_item("gpt-4o-mini-2024-07-18, cached input") == ("gpt-4o-mini-2024-07-18", "cached input")
    # shapes not known keep no model
    assert parse_line_item("web search tool calls") == (None, None)
    assert parse_line_item("Fine-tuning training, gpt 4o") == (None, None)
    assert parse_line_item(None) == (None, None)


# --------------------------------------------------------------------------- Anthropic (cents)


def test_anthropic_cost_cents_are_divided_by_100(db_path: Path) -> None:
    out = _import(db_path, AC_FIRST)  # --format auto
    assert out["per_file"][0]["format"] == "anthropic-cost"
    assert (out["records"], out["imported"], out["rejected"]) == (17, 17, 0)
    row = _query(
        db_path,
        "SELECT amount_usd, model, model_raw, token_type, service_tier, context_window, workspace, description, extra "
        "FROM billed_costs WHERE description = 'Claude Sonnet 4.5 Usage - Input Tokens'",
    )[0]
    # "54.702" cents = 182,340 tokens × $3/M = $0.54702 (as dollars it would be $54.702: 100× too much)
    assert row[0] == Decimal("0.54702")
    assert row[1:8] == ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "uncached_input_tokens", "standard",
                        "0-200k", "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ", "Claude Sonnet 4.5 Usage - Input Tokens")  # fmt: skip
    assert json.loads(row[8])["amount_cents"] == "54.702"
    billed = _billed(db_path)
    d3 = date(2025, 11, 3)
    assert billed[(d3, "claude-sonnet-4-5")] == Decimal("2.0203575") + Decimal("2.79")  # 201.03575 + 279 cents
    assert billed[(d3, "claude-haiku-4-5")] == Decimal("3.115")  # 161.5 + 150 cents
    assert billed[(d3, None)] == Decimal("0.12")  # web search, no model
    assert sum(v for (d, _), v in billed.items() if d == d3) == Decimal("8.0453575")
    assert billed[(date(2025, 11, 4), "claude-haiku-4-5")] == Decimal("0.015")
    haiku_ws = _query(db_path, "SELECT DISTINCT workspace FROM billed_costs WHERE model = 'claude-haiku-4-5'")
    assert haiku_ws == [("default",)]  # workspace_id null in a page grouped by workspace


def test_anthropic_cost_refetch_and_rejects(db_path: Path) -> None:
    _import(db_path, AC_FIRST, fmt="anthropic-cost")
    out = _import(db_path, AC_REFETCH, fmt="anthropic-cost")
    assert (out["records"], out["imported"], out["replaced"], out["rejected"]) == (6, 1, 2, 3)
    assert _billed(db_path)[(date(2025, 11, 4), "claude-haiku-4-5")] == Decimal("0.09")  # 4 + 1 + 4 cents
    rejects = _query(db_path, "SELECT line, reason FROM rejects ORDER BY record")
    assert rejects == [
        (2, "error page, not a report: authentication_error: invalid x-api-key"),
        (3, 'currency: "EUR" is not USD (only USD amounts are reconciled)'),
        (3, "amount: expected a decimal string of cents, found 54.702"),
    ]


def test_cents_parser() -> None:
    assert cents_to_dollars("54.702") == (Decimal("0.54702"), None)
    assert cents_to_dollars("0") == (Decimal(0), None)
    assert cents_to_dollars("12e2")[0] == Decimal(12)
    assert cents_to_dollars("NaN")[1] is not None
    assert cents_to_dollars("abc")[1] == "amount: not a decimal ('abc')"
    assert cents_to_dollars(None)[1] == "amount: missing"
    # only ASCII decimals, as the API writes them: Decimal() alone also reads these
    assert cents_to_dollars("1_000")[1] == "amount: not a decimal ('1_000')"
    assert cents_to_dollars("\u0665\u0660")[1] == "amount: not a decimal ('\u0665\u0660')"  # Arabic-Indic 50
    assert cents_to_dollars("Infinity")[1] == "amount: not a decimal ('Infinity')"
    assert cents_to_dollars(" -1.5 ") == (Decimal("-0.015"), None)
    # over 10^14 cents = 10^12 dollars is over models.MONEY_LIMIT (a line of 6e25 dollars was stored,
    # and reconcile then failed on a HUGEINT overflow: QA): said in cents, as written
    bound = "amounts must lie within ±$1,000,000,000,000"
    assert cents_to_dollars("1e40")[1] == f"amount: out of range ('1e40' cents; {bound})"
    assert cents_to_dollars("1" + "0" * 13 + "1")[1] == f"amount: out of range ('1{'0' * 13}1' cents; {bound})"
    assert (
        cents_to_dollars("-1.00000000000001e14")[1] == f"amount: out of range ('-1.00000000000001e14' cents; {bound})"
    )
    assert cents_to_dollars("1e14") == (Decimal("1e12"), None)  # the bound itself
    assert cents_to_dollars("-1e14") == (Decimal("-1e12"), None)
    # exponents whose arithmetic overflows (abs(1e1000000) raises), or that Decimal refuses: a
    # reject, never a crash of the import (QA)
    for huge in ("1e1000000", "-1e1000000", "1e9999999999999999999", "1e-9999999999999999999"):
        assert cents_to_dollars(huge)[1] == f"amount: out of range ({huge!r} cents; {bound})"


def test_a_json_number_no_column_can_hold_rejects_its_page_never_crashes(tmp_path: Path, db_path: Path) -> None:
    """An OpenAI cost page whose amount is the JSON number 1e1000000: its page is a reject
    ("number out of range"), the other page of the file is imported ($1.50), exit 0."""

    def page(day_start: int, value: str) -> str:  # the amount written as given (a JSON number)
        line = json.dumps({"object": "organization.costs.result", "amount": {"value": "AMOUNT", "currency": "usd"},
                           "line_item": "gpt-4o-2024-08-06, input", "project_id": None})  # fmt: skip
        bucket = {"object": "bucket", "start_time": day_start, "end_time": day_start + 86400, "results": ["LINE"]}
        doc = json.dumps({"object": "page", "data": [bucket], "has_more": False, "next_page": None})
        return doc.replace('"LINE"', line).replace('"AMOUNT"', value)

    f = tmp_path / "costs.jsonl"
    f.write_text(page(1762732800, "1e1000000") + "\n" + page(1762819200, "1.5") + "\n")
    out = _import(db_path, f, fmt="openai-costs")
    assert (out["imported"], out["rejected"]) == (1, 1)
    assert _query(db_path, "SELECT reason FROM rejects") == [("not valid JSON: number out of range (1e1000000)",)]
    assert _query(db_path, "SELECT sum(amount_usd) FROM billed_costs") == [(Decimal("1.5"),)]


def test_import_twice_adds_nothing(tmp_path: Path, db_path: Path) -> None:
    _import(db_path, OC_FIRST, OC_REFETCH, AC_FIRST, AC_REFETCH)
    before = _query(db_path, "SELECT count(*), sum(amount_usd) FROM billed_costs")[0]
    again = _import(db_path, OC_FIRST, OC_REFETCH, AC_FIRST, AC_REFETCH)
    assert again["imported"] == 0 and all(f["unchanged"] for f in again["per_file"])
    # the same pages saved differently (other bytes, same lines): equal copies, duplicates, never
    # added and nothing replaced
    copies = []
    for name, src in (("a.json", OC_REFETCH), ("b.json", AC_REFETCH)):
        copies.append(tmp_path / name)
        copies[-1].write_text(json.dumps([json.loads(line) for line in src.read_text().splitlines()]), encoding="utf-8")
    out = _import(db_path, *copies)
    assert [f["format"] for f in out["per_file"]] == ["openai-costs", "anthropic-cost"]
    assert (out["imported"], out["replaced"], out["duplicates"], out["rejected"]) == (0, 0, 4 + 3, 2 + 3)
    assert _query(db_path, "SELECT count(*), sum(amount_usd) FROM billed_costs")[0] == before


def test_ungrouped_cost_total_is_not_summed_with_lines(tmp_path: Path, db_path: Path) -> None:
    _import(db_path, AC_FIRST, fmt="anthropic-cost")
    out = _import(db_path, _ungrouped_total(tmp_path, "804.53575"), fmt="anthropic-cost")
    assert (out["imported"], out["rejected"]) == (0, 1)
    # the summary says why (the reject's reason alone was only in `db rejects`: QA)
    assert out["per_file"][0]["warnings"] == [
        "1 cost line of this file gave way on arrival to stored cost lines of another fetch shape that hold its "
        "amount: counted as rejected, kept in `usagectl db rejects` with the reason, not summed"
    ]
    reason = _query(db_path, "SELECT reason FROM rejects")[0][0]
    assert "grouped by nothing (a total)" in reason and "double count" in reason
    assert sum(_billed(db_path).values()) == Decimal("8.0453575") + Decimal("0.015")


def test_a_finer_cost_fetch_replacing_a_total_speaks_of_amounts(tmp_path: Path, db_path: Path) -> None:
    """QA: a per-workspace cost fetch (70 + 40 cents) over the day's ungrouped total (100 cents)
    replaces it, and the warning spoke of rows "which hold its usage (or ... more tokens)": cost
    lines hold amounts. Billed after: $0.70 + $0.40 = $1.10, the total not summed with them."""

    def line(cents: str, workspace: str | None) -> dict[str, Any]:
        return {"amount": cents, "currency": "USD", "cost_type": "tokens", "token_type": "uncached_input_tokens",
                "model": "claude-haiku-4-5-20251001", "service_tier": "standard", "context_window": "0-200k",
                "description": "Claude Haiku 4.5 Usage - Input Tokens", "workspace_id": workspace}  # fmt: skip

    def page(name: str, rows: list[dict[str, Any]]) -> Path:
        day = {"starting_at": "2025-12-10T00:00:00Z", "ending_at": "2025-12-11T00:00:00Z", "results": rows}
        path = tmp_path / name
        path.write_text(json.dumps({"data": [day], "has_more": False, "next_page": None}), encoding="utf-8")
        return path

    _import(db_path, page("total.json", [line("100", None)]), fmt="anthropic-cost")
    out = _import(db_path, page("split.json", [line("70", "wrkspc_1"), line("40", "wrkspc_2")]), fmt="anthropic-cost")
    [warning] = out["per_file"][0]["warnings"]
    assert warning.startswith("1 stored row of another fetch shape") and "which hold its amount:" in warning
    assert "its usage" not in warning and "less usage" not in warning and "tokens" not in warning
    assert _query(db_path, "SELECT sum(amount_usd) FROM billed_costs") == [(Decimal("1.1"),)]


def _ungrouped_total(tmp_path: Path, cents: str) -> Path:
    total = {"data": [{"starting_at": "2025-11-03T00:00:00Z", "ending_at": "2025-11-04T00:00:00Z",
                       "results": [{"amount": cents, "currency": "USD", "cost_type": None, "token_type": None,
                                    "model": None, "service_tier": None, "context_window": None,
                                    "description": None, "workspace_id": None}]}],
             "has_more": False, "next_page": None}  # fmt: skip
    path = tmp_path / "total.json"
    path.write_text(json.dumps(total), encoding="utf-8")
    return path


def test_a_partial_finer_cost_fetch_never_replaces_a_stored_total(tmp_path: Path, db_path: Path) -> None:
    # the day's total is stored first: 804.53575 cents = $8.0453575 for 2025-11-03
    _import(db_path, _ungrouped_total(tmp_path, "804.53575"), fmt="anthropic-cost")
    # then a fetch grouped by description that holds only the input line of that day:
    # 54.702 cents = $0.54702 of the $8.0453575. It is finer, but partial: replacing the total
    # would lose $7.4983375, so the total stays and the line gives way
    first = json.loads(AC_FIRST.read_text(encoding="utf-8"))
    day = first["data"][0]
    day["results"] = [r for r in day["results"] if r["amount"] == "54.702"]
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"data": [day], "has_more": False, "next_page": None}), encoding="utf-8")
    out = _import(db_path, partial, fmt="anthropic-cost")
    assert (out["imported"], out["rejected"]) == (0, 1)
    assert any(w.startswith("1 cost line of this file gave way on arrival") for w in out["per_file"][0]["warnings"])
    reason = _query(db_path, "SELECT reason FROM rejects ORDER BY batch_id DESC LIMIT 1")[0][0]
    assert "covers only part of" in reason and "$0.55 of its $8.05" in reason
    assert _billed(db_path) == {(date(2025, 11, 3), None): Decimal("8.0453575")}
    # the complete lines of the day ($8.0453575 in all, and $0.015 on 11-04) replace the total
    _import(db_path, AC_FIRST, fmt="anthropic-cost")
    assert sum(_billed(db_path).values()) == Decimal("8.0453575") + Decimal("0.015")
    assert _query(db_path, "SELECT count(*) FROM billed_costs WHERE amount_usd = 8.0453575") == [(0,)]


def test_cost_lines_are_validated_exactly(tmp_path: Path, db_path: Path) -> None:
    start, end = datetime(2025, 11, 3, tzinfo=UTC), datetime(2025, 11, 4, tzinfo=UTC)
    base = {"line_id": "x:1", "start_ts": start, "end_ts": end, "provider": "openai", "amount_usd": Decimal("1.5")}
    records = [
        Record(1, 1, fields=base),
        Record(2, 2, fields={**base, "line_id": "x:2", "amount_usd": 1.5}),  # a float is never money
        Record(3, 3, fields={**base, "line_id": "x:3", "amount_usd": None}),
        Record(4, 4, fields={**base, "line_id": "x:4", "end_ts": start}),
        Record(5, 5, fields={**base, "line_id": "x:5", "amount_usd": Decimal("1e30")}),
        Record(6, 6, fields={**base, "line_id": "x:1", "amount_usd": Decimal("2")}),  # same line again: last wins
    ]
    info = ingest.BatchInfo("openai-costs", tmp_path / "lines.json", None, None, None)
    with connect(db_path) as con:
        counts, _ = billing.import_cost_lines(con, info, records)
        assert (counts.records, counts.imported, counts.rejected, counts.dup_in_file) == (6, 1, 4, 1)
        assert con.execute("SELECT line_id, amount_usd FROM billed_costs").fetchall() == [("x:1", Decimal(2))]
        reasons = [r[0] for r in con.execute("SELECT reason FROM rejects ORDER BY record").fetchall()]
    assert reasons == ["amount_usd: not an exact number (1.5)", "amount_usd: missing", "end_ts: not after start_ts",
                       "amount_usd: out of range (1E+30; amounts must lie within ±$1,000,000,000,000)"]  # fmt: skip
    with connect(db_path) as con, pytest.raises(ValueError, match="non-billed_costs fields"):
        billing.import_cost_lines(con, info, [Record(1, 1, fields={**base, "tokens": 5})])


def test_interrupted_cost_import_leaves_the_database_as_it_was(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _import(db_path, OC_FIRST, fmt="openai-costs")
    tables = ("billed_costs", "import_batches", "rejects")
    before = [_query(db_path, f"SELECT count(*) FROM {t}")[0][0] for t in tables]

    def boom(con: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest, "before_commit_hook", boom)
    with pytest.raises(Interrupted, match="nothing was imported"):  # Ctrl-C: exit 130, one line
        import_paths(make_context(None, db_path), [OC_REFETCH], fmt="openai-costs")
    assert [_query(db_path, f"SELECT count(*) FROM {t}")[0][0] for t in tables] == before == [17, 1, 0]


# --------------------------------------------------------------------------- fuzzing

_value = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True),
    st.text(max_size=8), st.sampled_from(["54.702", "1e400", "-0", "NaN", "usd", "EUR"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)  # fmt: skip
_KEYS = ["amount", "value", "currency", "line_item", "start_time", "end_time", "starting_at", "ending_at", "results",
         "data", "object", "model", "quantity", "description", "workspace_id"]  # fmt: skip


def _mutate(doc: Any, value: Any, keys: list[str]) -> Any:
    if isinstance(doc, dict):
        return {k: (value if k in keys else _mutate(v, value, keys)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_mutate(v, value, keys) for v in doc]
    return doc


@st.composite
def _content(draw: st.DrawFn, fixture: Path) -> bytes:
    kind = draw(st.sampled_from(["bytes", "truncated", "mutated"]))
    text = fixture.read_text()
    if kind == "bytes":
        return draw(st.binary(max_size=400))
    if kind == "truncated":
        return text[: draw(st.integers(min_value=0, max_value=len(text)))].encode()
    keys = draw(st.lists(st.sampled_from(_KEYS), max_size=3))
    return json.dumps(_mutate(json.loads(text), draw(_value), keys)).encode()


@pytest.mark.parametrize(("importer", "fixture"), [(OPENAI_COSTS, OC_FIRST), (ANTHROPIC_COST, AC_FIRST)])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_read_never_raises(importer: Any, fixture: Path, data: st.DataObject) -> None:
    content = data.draw(_content(fixture))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "costs.json"
        path.write_bytes(content)
        for record in importer.read(path):
            if record.problem is None:
                _, problem = billing._check_line(record.fields)  # raises on a non-billed_costs field
                assert problem is None or "out of range" in problem, problem
                assert isinstance(record.fields["amount_usd"], Decimal)
            else:
                assert record.raw is not None
            assert record.line is None or record.line >= 1


@pytest.mark.parametrize(("fmt", "fixture"), [("openai-costs", OC_FIRST), ("anthropic-cost", AC_FIRST)])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_import_exits_0_or_4(fmt: str, fixture: Path, data: st.DataObject) -> None:
    content = data.draw(_content(fixture))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "costs.json"
        path.write_bytes(content)
        result = run("import", str(path), "--format", fmt, "--db", str(Path(tmp) / "f.duckdb"), expect=None)
        assert result.exit_code in (0, 4), (result.exit_code, result.stderr, result.exception)


def test_a_cost_file_read_again_lists_its_bad_pages_once(tmp_path: Path) -> None:
    """The saved costs file grows (a page appended): read again whole, its error page and its
    EUR line are rejected anew and the earlier batch's two rejects of that file go."""
    db = tmp_path / "c.duckdb"
    f = tmp_path / "costs.jsonl"
    f.write_bytes(OC_REFETCH.read_bytes())
    first = run_json("import", str(f), "--format", "openai-costs", "--db", str(db))
    assert first["rejected"] == 2
    f.write_bytes(f.read_bytes() + b"\n")  # the same pages, a changed file: read again whole
    second = run_json("import", str(f), "--format", "openai-costs", "--db", str(db))
    assert second["rejected"] == 2 and not second["per_file"][0]["unchanged"]
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT line, count(*) FROM rejects GROUP BY line ORDER BY line").fetchall()
    finally:
        con.close()
    assert rows == [(2, 1), (3, 1)]


def test_an_older_cost_fetch_imported_last_does_not_replace_the_newer(db_path: Path) -> None:
    """The re-fetch of 11-05 is imported FIRST, the earlier partial fetch after it: the day's
    cost only grows, so the larger lines stay (0.7755, as in EXPECTED.md), whichever order."""
    _import(db_path, OC_REFETCH, fmt="openai-costs")
    out = _import(db_path, OC_FIRST, fmt="openai-costs")
    # of the first file's 17 lines, the 11-05 o4-mini input and output are smaller than the
    # stored re-fetch (stale, the stored copies stay) and its cached input is equal: 3 duplicates;
    # the 8 lines of 11-03 and 6 of 11-04 are new
    assert (out["imported"], out["replaced"], out["duplicates"]) == (14, 0, 3)
    billed = _billed(db_path)
    assert billed[(date(2025, 11, 5), "o4-mini")] == Decimal("0.7755")
    assert sum(billed.values()) == Decimal("8.222")  # the same total as in file order


def test_the_summary_counts_cost_lines_not_events(tmp_path: Path, db_path: Path) -> None:
    """Cost reports are stored as billed cost lines, and the summary says so: OC_FIRST and
    AC_FIRST have 17 lines each (EXPECTED.md), the JSONL 1 event."""
    result = run("import", str(OC_FIRST), "--format", "openai-costs", "--db", str(db_path))
    assert "Imported 17 cost lines from 1 file" in result.stderr
    event = tmp_path / "one.jsonl"
    event.write_text('{"event_id": "e1", "ts": "2025-11-03T10:00:00Z", "model": "gpt-4o", "input_tokens": 1}\n')
    result = run("import", str(event), str(AC_FIRST), "--db", str(db_path))
    assert "Imported 1 event and 17 cost lines from 2 files" in result.stderr
    # a copy of a cost file that adds nothing still counts cost lines, never "0 events"
    copy = tmp_path / "copy.json"
    copy.write_text(AC_FIRST.read_text() + "\n")
    result = run("import", str(copy), "--format", "anthropic-cost", "--db", str(db_path))
    assert "Imported 0 cost lines from 1 file (records 17, duplicates 17" in result.stderr


@pytest.mark.parametrize(
    ("page", "error", "fmt"),
    [
        (OC_FIRST, {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
         "openai-costs"),
        (AC_FIRST, {"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limited"}},
         "anthropic-cost"),
    ],
)  # fmt: skip
def test_a_cost_report_that_opens_with_an_error_page_is_found_by_auto(
    tmp_path: Path, page: Path, error: dict[str, Any], fmt: str
) -> None:
    """A saved fetch whose first attempt was refused: the error page, then the cost page. Under
    --format auto it is the cost report (its lines imported, the error page one reject), not
    the usage report that an error page alone would be taken for."""
    saved = tmp_path / "fetch.jsonl"
    saved.write_text(json.dumps(error) + "\n" + json.dumps(json.loads(page.read_text())) + "\n")
    alone, both = tmp_path / "alone.duckdb", tmp_path / "both.duckdb"
    want = _import(alone, page, fmt=fmt)
    out = _import(both, saved)
    assert (out["records"], out["imported"], out["rejected"]) == (want["records"] + 1, want["imported"], 1)
    assert out["imported"] > 0 and _billed(both) == _billed(alone)
    (reason,) = [r for (r,) in _query(both, "SELECT reason FROM rejects")]
    assert reason.startswith("error page, not a report: rate_limit")


def test_a_reject_in_a_pretty_printed_costs_page_names_the_line_of_its_row(tmp_path: Path, db_path: Path) -> None:
    """The costs fixture written with ``indent=2``, one of its lines made EUR: the reject names
    the line where that result's object opens (found in the indented text itself), not line 1."""
    page = json.loads(OC_FIRST.read_text())
    page = page[0] if isinstance(page, list) else page
    row = page["data"][1]["results"][0]
    row["amount"]["currency"] = "eur"
    row["line_item"] = "marked-row"
    text = json.dumps(page, indent=2)
    lines = text.splitlines()
    at = next(i for i, s in enumerate(lines) if '"marked-row"' in s)
    # the result opens on the last line before its line_item that is a bare "{" (its amount opens
    # on the line of its key, "amount": {)
    opens = max(i for i in range(at) if lines[i].strip() == "{")
    assert opens > 20
    (tmp_path / "costs.json").write_text(text)
    _import(db_path, tmp_path / "costs.json", fmt="openai-costs")
    rejects = _query(db_path, "SELECT line, reason FROM rejects")
    assert rejects == [(opens + 1, 'amount.currency: "eur" is not usd (only USD amounts are reconciled)')]


def test_copies_of_a_cost_fetch_in_one_file_count_once_against_the_total(tmp_path: Path, db_path: Path) -> None:
    """One JSONL: the input line of 2025-11-03 fetched by description early in the day (30 cents),
    the same line fetched again later (50 cents), then the day's complete total (80 cents). The
    line holds 50 cents at most, less than the total's 80: the total stays, $0.80. (QA: the two
    copies were added, 80 "at least as much" as the total, and only the 50-cent copy was kept.)"""

    def line(cents: str) -> dict[str, Any]:
        first = json.loads(AC_FIRST.read_text(encoding="utf-8"))
        day = first["data"][0]
        day["results"] = [{**r, "amount": cents} for r in day["results"] if r["amount"] == "54.702"]
        return {"data": [day], "has_more": False, "next_page": None}

    total = json.loads(_ungrouped_total(tmp_path, "80").read_text(encoding="utf-8"))
    path = tmp_path / "all.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in (line("30"), line("50"), total)) + "\n", encoding="utf-8")
    _import(db_path, path, fmt="anthropic-cost")
    assert _billed(db_path) == {(date(2025, 11, 3), None): Decimal("0.80")}


def test_a_day_continued_on_the_next_page_of_its_fetch_is_one_bucket(tmp_path: Path, db_path: Path) -> None:
    """A fetch whose pages split one day's lines (``has_more``; the next page holds the rest)
    where the second page's lines leave dimensions null: the day is one bucket of the fetch, never
    a coarser grouping of it. Anthropic 11-10: Haiku "100" + "200" cents and the web search line
    "12" cents (no model, token type, tier or window) = $3.12. OpenAI 11-10: gpt-4o $1 + $2 for
    proj_1 and gpt-4o-mini $0.50 with no project = $3.50. Either file imported again adds nothing."""
    day = ("2025-11-10T00:00:00Z", "2025-11-11T00:00:00Z")

    def an_line(cents: str, token_type: str | None, model: str | None, description: str) -> dict[str, Any]:
        return {"amount": cents, "currency": "USD", "cost_type": "tokens" if model else "web_search",
                "token_type": token_type, "model": model, "service_tier": "standard" if model else None,
                "context_window": "0-200k" if model else None, "description": description,
                "workspace_id": "wrkspc_1"}  # fmt: skip

    haiku = "claude-haiku-4-5-20251001"
    an_pages = [
        {"data": [{"starting_at": day[0], "ending_at": day[1], "results": [
            an_line("100", "uncached_input_tokens", haiku, f"{haiku} uncached_input_tokens"),
            an_line("200", "output_tokens", haiku, f"{haiku} output_tokens")]}],
         "has_more": True, "next_page": "page_2"},
        {"data": [{"starting_at": day[0], "ending_at": day[1], "results": [an_line("12", None, None, "Web Search")]}],
         "has_more": False, "next_page": None},
    ]  # fmt: skip

    def oa_line(value: float, item: str, project: str | None) -> dict[str, Any]:
        return {"object": "organization.costs.result", "amount": {"value": value, "currency": "usd"},
                "line_item": item, "project_id": project}  # fmt: skip

    def oa_page(lines: list[dict[str, Any]], more: bool) -> dict[str, Any]:
        return {"object": "page", "data": [{"object": "bucket", "start_time": 1762732800, "end_time": 1762819200,
                "results": lines}], "has_more": more, "next_page": "p2" if more else None}  # fmt: skip

    oa_pages = [
        oa_page([oa_line(1, "gpt-4o-2024-08-06, input", "proj_1"), oa_line(2, "gpt-4o-2024-08-06, output", "proj_1")],
                True),
        oa_page([oa_line(0.5, "gpt-4o-mini-2024-07-18, input", None)], False),
    ]  # fmt: skip
    an = tmp_path / "an.json"
    an.write_text("\n".join(json.dumps(p, indent=2) for p in an_pages) + "\n")
    oa = tmp_path / "oa.jsonl"
    oa.write_text("\n".join(json.dumps(p) for p in oa_pages) + "\n")
    out = _import(db_path, an, oa)
    assert (out["records"], out["rejected"]) == (6, 0)
    billed = _query(db_path, "SELECT provider, sum(amount_usd) FROM billed_costs GROUP BY 1 ORDER BY 1")
    assert billed == [("anthropic", Decimal("3.12")), ("openai", Decimal("3.5"))]
    again = _import(db_path, an, oa)
    assert again["imported"] == 0
    assert _query(db_path, "SELECT count(*) FROM billed_costs") == [(6,)]


def test_a_cost_file_imported_right_drops_the_rejects_of_a_wrong_format(db_path: Path) -> None:
    """The OpenAI costs fixture first imported as ``anthropic-cost`` (every page a reject: no
    ``starting_at``), then as what it is: its 17 lines are imported and the wrong attempt's
    rejects go, as they do for event formats; nothing is left rejected."""
    first = _import(db_path, OC_FIRST, fmt="anthropic-cost")
    assert first["rejected"] > 0 and first["imported"] == 0
    right = _import(db_path, OC_FIRST, fmt="openai-costs")
    assert (right["imported"], right["rejected"]) == (17, 0)
    assert _query(db_path, "SELECT count(*) FROM rejects") == [(0,)]


def test_a_file_whose_last_page_says_has_more_warns_that_the_fetch_goes_on(tmp_path: Path, db_path: Path) -> None:
    """A fetch saved page by page, one file each, or a script stopped before the last page: the
    file's last report page says ``"has_more": true``, so the import warns that the rest of the
    fetch is elsewhere. The same pages in one file (the last says false) import without it."""
    pages = [json.loads(line) for line in OC_REFETCH.read_text().splitlines() if line.strip()]
    report = next(p for p in pages if isinstance(p, dict) and p.get("object") == "page")
    first = {**report, "has_more": True, "next_page": "page_2"}
    last = {**report, "has_more": False, "next_page": None}
    alone = tmp_path / "page1.json"
    alone.write_text(json.dumps(first))
    both = tmp_path / "pages.jsonl"
    both.write_text(json.dumps(first) + "\n" + json.dumps(last) + "\n")
    warned = run("import", str(alone), "--format", "openai-costs", "--db", str(db_path)).stderr
    assert f'warning: {alone}: its last page says "has_more": true' in " ".join(warned.split())
    quiet = run("import", str(both), "--format", "openai-costs", "--db", str(db_path)).stderr
    assert "has_more" not in quiet
