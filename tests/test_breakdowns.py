"""`report by DIM[,DIM2]` on a fixture whose numbers are worked out by hand.

Rates (USD per 1M tokens, PRICING.md): gpt-4o 2.50 in / 10 out; gpt-4o-mini 0.15 / 0.60;
claude-sonnet-4-5 3 / 15; mistral-large-2411 has no price.

Config: alice -> team platform, department eng, cost center CC-1; bob -> team growth,
department sales (no cost center); carol and dave are not in the config.

B1 2025-11-03 alice gpt-4o 1,000,000 in + 100,000 out = 2.50 + 1.00 = 3.50; 1,100,000 tokens
   project apollo, feature chat, tool search, integration slack, platform web
B2 2025-11-04 alice, event team "research" (the event wins over the config), sonnet-4-5
   100,000 in + 10,000 out = 0.30 + 0.15 = 0.45; 110,000 tokens; apollo, code, api
B3 2025-11-05 bob gpt-4o-mini 2,000,000 in + 1,000,000 out = 0.30 + 0.60 = 0.90; 3,000,000
   tokens; zeus, chat, mobile
B4 2025-11-06 carol gpt-4o 400,000 in = 1.00; 400,000 tokens; no project; chat, web; source gateway
B5 2025-11-07 bob mistral-large-2411 50,000 in + 5,000 out: unpriced; 55,000 tokens; zeus
B6 2025-10-31T23:30Z dave gpt-4o 1,000,000 in = 2.50: October in UTC, 1 November 00:30 in Berlin

November (UTC): cost 3.50 + 0.45 + 0.90 + 1.00 = 5.85; tokens 1,100,000 + 110,000 + 3,000,000
+ 400,000 + 55,000 = 4,665,000; 5 requests, 1 unpriced.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers import narrow_table, run, run_json, write_jsonl
from usagectl.errors import UsageError
from usagectl.services import reports
from usagectl.services.breakdowns import OTHER_LABEL, breakdown, parse_dimensions
from usagectl.services.context import make_context
from usagectl.services.reports import ROW_KEYS, ReportRequest

EVENTS = [
    {"event_id": "B1", "ts": "2025-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000000,
     "output_tokens": 100000, "member": "alice", "project": "apollo", "feature": "chat", "tool": "search",
     "integration": "slack", "platform": "web"},
    {"event_id": "B2", "ts": "2025-11-04T10:00:00Z", "model_raw": "claude-sonnet-4-5", "input_tokens": 100000,
     "output_tokens": 10000, "member": "alice", "team": "research", "project": "apollo", "feature": "code",
     "platform": "api"},
    {"event_id": "B3", "ts": "2025-11-05T10:00:00Z", "model_raw": "gpt-4o-mini", "input_tokens": 2000000,
     "output_tokens": 1000000, "member": "bob", "project": "zeus", "feature": "chat", "platform": "mobile"},
    {"event_id": "B4", "ts": "2025-11-06T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 400000,
     "member": "carol", "feature": "chat", "platform": "web", "source": "gateway"},
    {"event_id": "B5", "ts": "2025-11-07T10:00:00Z", "model_raw": "mistral-large-2411", "provider": "mistral",
     "input_tokens": 50000, "output_tokens": 5000, "member": "bob", "project": "zeus"},
    {"event_id": "B6", "ts": "2025-10-31T23:30:00Z", "model_raw": "gpt-4o", "input_tokens": 1000000, "member": "dave"},
]  # fmt: skip
NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)
NOV = ("--since", "2025-11-01", "--until", "2025-11-30")
TOTAL_COST = Decimal("5.85")
TOTAL_TOKENS = 4_665_000


@pytest.fixture
def loaded(tmp_path: Path, db_path: Path) -> Path:
    (tmp_path / "work" / "usagectl.toml").write_text(
        '[display]\ntimezone = "UTC"\n\n'
        '[members.alice]\nteam = "platform"\ndepartment = "eng"\ncost_center = "CC-1"\n'
        '[members.bob]\nteam = "growth"\ndepartment = "sales"\n',
        encoding="utf-8",
    )
    run("import", str(write_jsonl(tmp_path / "fixture.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def _by(db: Path, dims: list[str], top: int | None = None, **kw: object) -> reports.Report:
    req = ReportRequest(now=NOW, **kw)  # type: ignore[arg-type]
    return breakdown(make_context(None, db), req, dims, top=top)


def _pct(part: str | int, whole: str | int) -> Decimal:
    """The exact share a service returns (tables and JSON each round it once)."""
    return Decimal(part) * 100 / Decimal(whole)


def _cents(share: Decimal) -> Decimal:
    return share.quantize(Decimal("0.01"))


def test_by_team_uses_the_event_then_the_config_mapping(loaded: Path) -> None:
    rep = _by(loaded, ["team"])  # default range: the current month of NOW (November)
    assert rep.name == "by-team"
    assert rep.filters["since"] == "2025-11-01"
    rows = [(r["team"], r["cost_usd"], r["total_tokens"], r["unpriced_requests"]) for r in rep.rows]
    assert rows == [
        ("platform", Decimal("3.50"), 1_100_000, 0),  # B1 (config); B2 names its own team
        ("(none)", Decimal("1.00"), 400_000, 0),  # B4: carol is not in the config
        ("growth", Decimal("0.90"), 3_055_000, 1),  # B3 + B5 (unpriced: tokens only)
        ("research", Decimal("0.45"), 110_000, 0),  # B2
    ]
    platform = rep.rows[0]
    assert platform["cost_share_pct"] == _pct("3.50", "5.85") and _cents(platform["cost_share_pct"]) == Decimal("59.83")
    assert platform["token_share_pct"] == _pct(1_100_000, TOTAL_TOKENS) and _cents(
        platform["token_share_pct"]
    ) == Decimal("23.58")
    assert _cents(rep.rows[2]["token_share_pct"]) == Decimal("65.49")  # 3,055,000 / 4,665,000
    assert rep.totals["cost_usd"] == TOTAL_COST
    assert rep.totals["total_tokens"] == TOTAL_TOKENS
    assert any("mistral-large-2411" in n for n in rep.notes)
    assert any("(none)" in n for n in rep.notes)


def test_department_and_cost_center_come_from_the_member_mapping(loaded: Path) -> None:
    dep = {r["department"]: r["cost_usd"] for r in _by(loaded, ["department"]).rows}
    assert dep == {"eng": Decimal("3.95"), "sales": Decimal("0.90"), "(none)": Decimal("1.00")}  # 3.50 + 0.45
    cc = {r["cost_center"]: (r["cost_usd"], r["total_tokens"]) for r in _by(loaded, ["cost_center"]).rows}
    # (none): B3 0.90 + B4 1.00 (+ B5 unpriced); tokens 3,000,000 + 400,000 + 55,000
    assert cc == {"CC-1": (Decimal("3.95"), 1_210_000), "(none)": (Decimal("1.90"), 3_455_000)}


def test_top_folds_the_rest_and_keeps_totals(loaded: Path) -> None:
    rep = _by(loaded, ["team"], top=2)
    assert [r["team"] for r in rep.rows] == ["platform", "(none)", OTHER_LABEL]
    other = rep.rows[-1]
    # growth + research: 0.90 + 0.45; 3,055,000 + 110,000 tokens; 1 + 2 requests
    assert (other["cost_usd"], other["total_tokens"], other["requests"]) == (Decimal("1.35"), 3_165_000, 3)
    assert other["unpriced_requests"] == 1 and other["folded"] == 2
    assert other["cost_share_pct"] == _pct("1.35", "5.85") and _cents(other["cost_share_pct"]) == Decimal("23.08")
    assert rep.totals["cost_usd"] == TOTAL_COST
    assert sum(r["cost_usd"] for r in rep.rows) == TOTAL_COST
    assert any("beyond the top 2" in n for n in rep.notes)


def test_two_levels_with_top_per_first_level_group(loaded: Path) -> None:
    rep = _by(loaded, ["team", "model"], top=1)
    assert rep.name == "by-team-model"
    got = [(r["team"], r["model"], r["cost_usd"], r["total_tokens"]) for r in rep.rows]
    assert got == [
        ("platform", "gpt-4o", Decimal("3.50"), 1_100_000),
        ("(none)", "gpt-4o", Decimal("1.00"), 400_000),
        ("growth", "gpt-4o-mini", Decimal("0.90"), 3_000_000),
        ("growth", OTHER_LABEL, None, 55_000),  # mistral folded: unpriced, so no cost (never $0)
        ("research", "claude-sonnet-4-5", Decimal("0.45"), 110_000),
    ]
    assert rep.rows[2]["cost_share_pct"] == _pct("0.90", "5.85") and _cents(rep.rows[2]["cost_share_pct"]) == Decimal(
        "15.38"
    )  # share of the whole
    assert rep.rows[2]["provider"] == "openai"
    section = {r["team"]: r["cost_usd"] for r in rep.sections[0].rows}
    assert rep.sections[0].key == "by_team"
    # one (team, model) pair is folded: growth's mistral-large-2411
    assert (
        "(other) rows sum 1 (team, model) pair beyond the top 1 model of each team; totals include them." in rep.notes
    )
    assert section == {"platform": Decimal("3.50"), "(none)": Decimal("1.00"), "growth": Decimal("0.90"),
                       "research": Decimal("0.45")}  # fmt: skip


def test_filters_and_non_utc_zone(loaded: Path) -> None:
    eng = _by(loaded, ["team"], where={"department": ("eng",)})
    assert {r["team"]: r["cost_usd"] for r in eng.rows} == {"platform": Decimal("3.50"), "research": Decimal("0.45")}
    web = _by(loaded, ["project"], where={"platform": ("web",)})
    assert {r["project"]: r["cost_usd"] for r in web.rows} == {"apollo": Decimal("3.50"), "(none)": Decimal("1.00")}
    # Berlin: B6 (2025-10-31T23:30Z) is 1 November 00:30, in November
    berlin = _by(loaded, ["member"], tz="Europe/Berlin")
    members = {r["member"]: r["cost_usd"] for r in berlin.rows}
    assert members["dave"] == Decimal("2.50")
    assert berlin.totals["cost_usd"] == TOTAL_COST + Decimal("2.50")
    assert "dave" not in {r["member"] for r in _by(loaded, ["member"]).rows}


@pytest.mark.parametrize(
    ("dim", "expected"),
    [
        ("provider", {"openai": Decimal("5.40"), "anthropic": Decimal("0.45"), "mistral": None}),
        ("feature", {"chat": Decimal("5.40"), "code": Decimal("0.45"), "(none)": None}),
        ("tool", {"search": Decimal("3.50"), "(none)": Decimal("2.35")}),
        ("integration", {"slack": Decimal("3.50"), "(none)": Decimal("2.35")}),
        ("platform", {"web": Decimal("4.50"), "mobile": Decimal("0.90"), "api": Decimal("0.45"), "(none)": None}),
        ("source", {"jsonl": Decimal("4.85"), "gateway": Decimal("1.00")}),
        ("service_tier", {"standard": TOTAL_COST}),
    ],
)
def test_every_dimension(loaded: Path, dim: str, expected: dict[str, Decimal | None]) -> None:
    # openai: 3.50 + 0.90 + 1.00; chat: B1 + B3 + B4 = 5.40; web: B1 + B4 = 4.50
    assert {r[dim]: r["cost_usd"] for r in _by(loaded, [dim]).rows} == expected


def test_parse_dimensions() -> None:
    assert parse_dimensions(["team,model"]) == ("team", "model")
    assert parse_dimensions(["Cost_Center", "api-key"]) == ("cost_center", "api_key")
    with pytest.raises(UsageError, match="choose from model, provider"):
        parse_dimensions(["chat"])
    with pytest.raises(UsageError, match="at most 2"):
        parse_dimensions(["team,model,project"])
    with pytest.raises(UsageError, match="twice"):
        parse_dimensions(["team,team"])


def test_cli_forms_of_two_levels(loaded: Path) -> None:
    db = ("--db", str(loaded))
    a = run_json("report", "by", "team,model", *NOV, *db)
    b = run_json("report", "by", "--by", "team,model", *NOV, *db)
    c = run_json("report", "by", "team", "--by", "model", *NOV, *db)
    d = run_json("report", "by", "team", "--by", "team,model", *NOV, *db)
    assert a["rows"] == b["rows"] == c["rows"] == d["rows"]
    assert a["report"] == "by-team-model"
    assert a["filters"]["by"] == ["team", "model"]
    assert [(r["team"], r["model"]) for r in a["rows"]][:2] == [("platform", "gpt-4o"), ("(none)", "gpt-4o")]
    assert "by_team" in a
    cc = run_json("report", "by", "cost_center", *NOV, *db)
    assert cc["report"] == "by-cost-center"
    assert run_json("report", "by", "team", "--top", "1", "--department", "eng", *NOV, *db)["rows"][-1]["folded"] == 1


def test_cli_errors(loaded: Path) -> None:
    db = ("--db", str(loaded))
    err = run("report", "by", "colour", *db, expect=2).stderr
    assert "unknown dimension 'colour'" in err and "cost-center" in err
    assert "at most 2" in run("report", "by", "team,model,project", *db, expect=2).stderr
    assert "unknown dimension" in run("report", "by", "team", "--by", "nope", *db, expect=2).stderr
    # --top 0 lists all rows (one --top rule for every report); a negative N is the usage error
    assert (
        "--top -1: must be between 0 (all) and 9223372036854775807"
        in run("report", "by", "team", "--top", "-1", *db, expect=2).stderr
    )


def test_by_model_keeps_its_json_keys(loaded: Path) -> None:
    out = run_json("report", "by", "model", *NOV, "--db", str(loaded))
    assert out["report"] == "by-model"
    row = out["rows"][0]
    assert list(row) == ["model", "provider", *ROW_KEYS, "token_share_pct", "cost_share_pct"]
    assert (row["model"], row["provider"], row["cost_usd"]) == ("gpt-4o", "openai", 4.5)  # B1 + B4


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_formats_render(loaded: Path, fmt: str) -> None:
    out = run("report", "by", "team,model", "--top", "1", *NOV, "--format", fmt, "--db", str(loaded)).stdout
    assert "platform" in out and "(other)" in out


def test_by_model_table_leaves_out_provider_then_shares_when_narrow(loaded: Path) -> None:
    """The marks ``report by model`` gives its table columns (``Column.narrow_drop``): the
    provider first (the model names it), then the token share, then the cost share; the model
    and the usage and cost columns never. At the CLI's 80 columns (not a terminal) the
    fixture's twelve columns do not fit without folding: the provider and the token share are
    left out, and every name and header word stays whole."""
    report = breakdown(make_context(None, loaded), ReportRequest(since="2025-11-01", until="2025-11-30"), ["model"])
    marks = {c.key: c.narrow_drop for c in report.columns if c.in_table}
    assert (marks["provider"], marks["token_share_pct"], marks["cost_share_pct"]) == (1, 2, 3)
    assert {k for k, v in marks.items() if v == 0} == {"model", *(c.key for c in reports.METRIC_COLUMNS if c.in_table)}
    text = run("report", "by", "model", *NOV, "--db", str(loaded)).stdout
    assert " ".join(text.split()).count("not shown at this width: Provider, Token share (a wider terminal") == 1
    words = set(text.split())
    assert {"mistral-large-2411", "claude-sonnet-4-5", "Unpriced", "Cost", "share", "76.9%"} <= words
    assert "Provider" not in words and "openai" not in words


def test_unpriced_note_counts_one_request_in_the_singular(loaded: Path) -> None:
    """The fixture's one unpriced event (mistral-large-2411: 50,000 in + 5,000 out)."""
    notes = run_json("report", "by", "model", *NOV, "--db", str(loaded))["notes"]
    assert notes[0].startswith("Unpriced: 1 request / 55,000 tokens have no price and are NOT in the cost: ")
    assert "mistral-large-2411 (1 request, 55,000 tokens)" in notes[0]


@pytest.mark.parametrize("command", [("report", "by", "model"), ("report", "daily"), ("report", "weekly")])
def test_the_unpriced_column_shows_only_when_something_is_unpriced(loaded: Path, command: tuple[str, ...]) -> None:
    """October (UTC) holds only B6 (gpt-4o, priced): a column of zeros would take the cells a
    narrow terminal needs, so the table leaves it out while JSON keeps the count (0). November
    holds B5 (mistral, no price): the table shows the column and its 1."""
    october = ("--since", "2025-10-31", "--until", "2025-10-31")
    words = set(run(*command, *october, "--db", str(loaded)).stdout.split())
    assert "Unpriced" not in words and "$2.50" in words
    out = run_json(*command, *october, "--db", str(loaded))
    assert out["totals"]["unpriced_requests"] == 0
    assert all(row["unpriced_requests"] == 0 for row in out["rows"]) and out["rows"]
    words = set(run(*command, *NOV, "--db", str(loaded)).stdout.split())
    assert "Unpriced" in words
    assert run_json(*command, *NOV, "--db", str(loaded))["totals"]["unpriced_requests"] == 1


def test_cost_share_is_rounded_once_from_the_exact_value(tmp_path: Path, db_path: Path) -> None:
    # gpt-4o 100,000 out = 1.00; gpt-4o 5,998,400 in on another member = 14.996; total 15.996.
    # bob's share: 1.00 / 15.996 = 6.2516 %: JSON 6.25, tables 6.3 % (rounded from 6.25 it read 6.2 %)
    events = [
        {"event_id": "S1", "ts": "2025-11-03T10:00:00Z", "model_raw": "gpt-4o", "member": "bob",
         "input_tokens": 0, "output_tokens": 100_000},
        {"event_id": "S2", "ts": "2025-11-03T11:00:00Z", "model_raw": "gpt-4o", "member": "ann",
         "input_tokens": 5_998_400, "output_tokens": 0},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "share.jsonl", events)), "--db", str(db_path))
    args = ("report", "by", "member", "--since", "2025-11-01", "--until", "2025-11-30", "--tz", "UTC",
            "--db", str(db_path))  # fmt: skip
    rows = {r["member"]: r for r in run_json(*args)["rows"]}
    assert Decimal(str(rows["bob"]["cost_share_pct"])) == Decimal("6.25")
    assert Decimal(str(rows["ann"]["cost_share_pct"])) == Decimal("93.75")  # 14.996 / 15.996 = 93.7484 %
    bob = next(line for line in run(*args, "--format", "table").stdout.splitlines() if line.startswith("bob"))
    assert bob.split()[-1] == "6.3%"
    md = run(*args, "--format", "markdown").stdout
    assert "6.3%" in md and "6.2%" not in md


def test_a_model_under_two_providers_keeps_the_provider_column(tmp_path: Path, db_path: Path) -> None:
    """QA: claude-sonnet-4-5 logged by anthropic and by bedrock is two rows of `report by model`,
    and at 80 columns the table left the Provider column out first: the two rows read as one
    model counted twice. Each 1,000 output tokens x $15/M = $0.015. With a model under two
    providers the provider stays (the shares go instead); so does it in a two-level table."""
    events = [
        {"event_id": "m2", "ts": "2025-11-10T10:00:00Z", "provider": "anthropic", "model_raw": "claude-sonnet-4-5",
         "output_tokens": 1000, "team": "t"},
        {"event_id": "m3", "ts": "2025-11-10T10:00:00Z", "provider": "bedrock",
         "model_raw": "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "output_tokens": 1000, "team": "t"},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "two.jsonl", events)), "--db", str(db_path))
    rep = breakdown(make_context(None, db_path), ReportRequest(since="2025-11-01", until="2025-11-30"), ["model"])
    assert [(r["model"], r["provider"], r["cost_usd"]) for r in rep.rows] == [
        ("claude-sonnet-4-5", "bedrock", Decimal("0.015")), ("claude-sonnet-4-5", "anthropic", Decimal("0.015"))]  # fmt: skip
    provider = next(c for c in rep.columns if c.key == "provider")
    assert provider.in_table and provider.narrow_drop == 0
    text = run("report", "by", "model", *NOV, "--db", str(db_path)).stdout
    words, _note = narrow_table(text)
    assert {"Provider", "anthropic", "bedrock"} <= words
    two = run("report", "by", "team,model", *NOV, "--db", str(db_path)).stdout
    assert {"Provider", "anthropic", "bedrock"} <= set(two.split())


def test_folded_rows_are_counted_in_the_singular(loaded: Path) -> None:
    """Four models in November; --top 3 folds one (mistral-large-2411): "the 1 model", not
    "the 1 models"."""
    notes = run_json("report", "by", "model", "--top", "3", *NOV, "--db", str(loaded))["notes"]
    assert "(other) rows sum the 1 model beyond the top 3; totals include them." in notes
    notes = run_json("report", "by", "cost-center", "--top", "1", *NOV, "--db", str(loaded))["notes"]
    # cost centers CC-1 (alice) and (none) (bob, carol): one folded
    assert "(other) rows sum the 1 cost center beyond the top 1; totals include them." in notes


def test_a_dimension_without_a_second_level_is_named_as_typed(loaded: Path) -> None:
    """QA: `report by chat,model` failed with "No such option: --by", an option never typed:
    `report by chat` is `report chats`, which has no second level."""
    err = run("report", "by", "chat,model", *NOV, "--db", str(loaded), expect=2).stderr
    assert "report by chat,model: chat has no second level" in err and "--by" not in err
    err = run("report", "by", "--by", "chat,model", *NOV, "--db", str(loaded), expect=2).stderr
    assert "report by --by chat,model: chat has no second level" in err
    assert run_json("report", "by", "team,model", *NOV, "--db", str(loaded))["report"] == "by-team-model"


def test_levels_without_a_second_level_are_echoed_as_typed_never_mangled(loaded: Path) -> None:
    """QA: `report by Chat,Model` was echoed lowercased, `report by chat, model` (a space after
    the comma: two words) as "report by chat,:", `report by --by=chat,model` as "--by chat,model"."""
    for typed in (["Chat,Model"], ["chat,", "model"], ["--by=chat,model"], ["--by", "Chat,model"]):
        err = run("report", "by", *typed, *NOV, "--db", str(loaded), expect=2).stderr
        assert f"report by {' '.join(typed)}: chat has no second level" in err, typed
    err = run("report", "by", "Team,Model", "--by", "team", *NOV, "--db", str(loaded), expect=2).stderr
    assert "report by Team,Model: give the levels once" in err


def test_month_chooses_a_calendar_month_in_report_by_team_chats_and_files(tmp_path: Path, db_path: Path) -> None:
    """QA: `report team --month 2026-10`, beside `invoice --month 2026-10`, was "No such option".
    `--month` is the month's first to last day: events on 2026-02-01 (10 tokens), 2026-02-28 (20)
    and 2026-03-01 (40): February 2026 has 28 days, so --month 2026-02 holds 10 + 20 = 30 tokens,
    as --since 2026-02-01 --until 2026-02-28 does; with --since too it is a usage error."""
    events = [{"event_id": f"m{i}", "ts": ts, "model_raw": "gpt-4o", "member": "ann", "session_id": "s1",
               "input_tokens": n} for i, (ts, n) in enumerate(
        [("2026-02-01T00:30:00Z", 10), ("2026-02-28T23:30:00Z", 20), ("2026-03-01T00:30:00Z", 40)])]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "m.jsonl", events)), "--db", str(db_path))
    common = ("--tz", "UTC", "--db", str(db_path))
    for command in (["report", "by", "model"], ["report", "team"], ["report", "chats"]):
        by_month = run_json(*command, "--month", "2026-02", *common)
        assert (by_month["filters"]["since"], by_month["filters"]["until"]) == ("2026-02-01", "2026-02-28"), command
        assert by_month["filters"]["month"] == "2026-02", command  # what was asked, as `report month` says it
        assert by_month["totals"]["total_tokens"] == 30, command
        by_days = run_json(*command, "--since", "2026-02-01", "--until", "2026-02-28", *common)
        assert by_month["totals"] == by_days["totals"], command
        assert "month" not in by_days["filters"], command  # days asked: no month to name
    files = run_json("report", "files", "--month", "2026-02", *common)
    assert (files["filters"]["since"], files["filters"]["until"]) == ("2026-02-01", "2026-02-28")
    assert files["filters"]["month"] == "2026-02"
    both = run("report", "team", "--month", "2026-02", "--since", "2026-02-01", *common, expect=2)
    assert "use either --month or --since/--until, not both" in both.stderr
    bad = run("report", "by", "model", "--month", "2026-13", *common, expect=2)
    assert "--month: '2026-13' is not a month (use YYYY-MM)" in bad.stderr
