"""`usagectl doctor`: every check on a fixture whose findings are known by construction.

Range 2025-11-01 – 2025-11-07 (config zone UTC):
* agent-a has events on 11-01, 11-02, 11-05 -> gaps 11-03 – 11-04 and 11-06 – 11-07 (4 days);
  agent-b starts on 11-04 (23:30Z) and has 11-06 -> gaps 11-05 and 11-07. In Europe/Berlin
  11-04 23:30Z is 11-05 00:30, so agent-b starts on 11-05 and only 11-07 is missing.
* mystery-model (unpriced): 1 request, 500 tokens.
* carol has no team (alice is mapped in the config, bob's event names one).
* agent-a / gpt-4o: computed 0.0025 + 0.005 = 0.0075 vs reported 0.0025 + 0.05 = 0.0525 ->
  -0.045 (-85.7 %): a finding. agent-b / gpt-4o-mini: computed 0.15 vs reported 0.158:
  -0.008 is 5.1 % but not more than $0.01: no finding.
* one event in 2099: in the future. One bad line: rejected.
* budgets (test_budget_scopes_that_match_nothing): member:Alice (the member is alice) and
  model:gpt4o match no event ever; member:carol (2025-11-02), team:growth (bob's event),
  team:platform (alice through [members]) and model:gpt-4o-2024-08-06 (gpt-4o) do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run, run_json, write_jsonl

EVENTS = [
    {"event_id": "A1", "ts": "2025-11-01T10:00:00Z", "source": "agent-a", "model_raw": "gpt-4o", "input_tokens": 1000,
     "member": "alice", "reported_cost_usd": "0.0025"},
    {"event_id": "A2", "ts": "2025-11-02T10:00:00Z", "source": "agent-a", "model_raw": "gpt-4o", "input_tokens": 2000,
     "member": "carol", "reported_cost_usd": "0.05"},
    {"event_id": "A3", "ts": "2025-11-05T10:00:00Z", "source": "agent-a", "model_raw": "mystery-model",
     "input_tokens": 500, "member": "bob", "team": "growth"},
    {"event_id": "B1", "ts": "2025-11-04T23:30:00Z", "source": "agent-b", "model_raw": "gpt-4o-mini",
     "input_tokens": 1000000, "reported_cost_usd": "0.158"},
    {"event_id": "B2", "ts": "2025-11-06T10:00:00Z", "source": "agent-b", "model_raw": "gpt-4o-mini",
     "input_tokens": 10},
    {"event_id": "F1", "ts": "2099-01-01T00:00:00Z", "source": "agent-a", "model_raw": "gpt-4o", "input_tokens": 1},
    "this line is not JSON",
]  # fmt: skip
RANGE = ("--since", "2025-11-01", "--until", "2025-11-07")


@pytest.fixture
def loaded(tmp_path: Path, db_path: Path) -> Path:
    (tmp_path / "work" / "usagectl.toml").write_text(
        '[display]\ntimezone = "UTC"\n\n[members.alice]\nteam = "platform"\n', encoding="utf-8"
    )
    run("import", str(write_jsonl(tmp_path / "d.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def _by_check(out: dict) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    found: dict[str, list[dict]] = {}  # type: ignore[type-arg]
    for row in out["rows"]:
        found.setdefault(row["check"], []).append(row)
    return found


def test_every_check(loaded: Path) -> None:
    out = run_json("doctor", *RANGE, "--db", str(loaded))
    found = _by_check(out)
    gaps = {r["subject"]: r for r in found["gaps"]}
    assert gaps["agent-a"]["count"] == 4
    assert gaps["agent-a"]["detail"] == (
        "4 days without data: 2025-11-03 – 2025-11-04 (2 days), 2025-11-06 – 2025-11-07 (2 days)"
    )
    assert gaps["agent-b"]["data"]["days"] == ["2025-11-05", "2025-11-07"]
    assert [(r["subject"], r["count"]) for r in found["unpriced"]] == [("mystery-model", 1)]
    assert "usagectl pricing check" in found["unpriced"][0]["fix"]
    assert [r["subject"] for r in found["no-team"]] == ["carol"]
    assert '[members.carol] team = "..."' in found["no-team"][0]["fix"]
    [mismatch] = found["cost-mismatch"]
    assert mismatch["subject"] == "agent-a / gpt-4o"
    assert mismatch["data"]["diff_usd"] == -0.045  # 0.0075 - 0.0525
    assert "-85.7%" in mismatch["detail"]
    assert "usagectl reconcile" in mismatch["fix"]
    [future] = found["future"]
    assert (future["severity"], future["subject"], future["count"]) == ("error", "agent-a", 1)
    assert found["rejects"][0]["count"] == 1 and "usagectl db rejects" in found["rejects"][0]["fix"]
    [tz] = found["timezone"]
    assert tz["severity"] == "info" and tz["subject"] == "UTC" and "[display] timezone" in tz["data"]["origin"]
    assert out["rows"][0]["severity"] == "error"  # worst first
    assert out["totals"] == {"error": 1, "warning": 5, "info": 2}


def test_unpriced_buckets_without_a_request_count_are_named_and_counted_as_reports_count_them(
    tmp_path: Path, db_path: Path
) -> None:
    """mystery-model (no price): a bucket with requests 0 (a provider report without counts) and
    an event of 2 requests: 2 + 1 = 3 unpriced requests, as `report`'s unpriced_requests counts
    them; the finding said "2 requests" (and "0 requests" for the bucket alone)."""
    events = [
        {"event_id": "b", "ts": "2025-11-03T10:00:00Z", "model_raw": "mystery-model", "input_tokens": 5000,
         "requests": 0},
        {"event_id": "e", "ts": "2025-11-03T11:00:00Z", "model_raw": "mystery-model", "input_tokens": 100,
         "requests": 2},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "b.jsonl", events)), "--db", str(db_path))
    [finding] = _by_check(run_json("doctor", *RANGE, "--db", str(db_path)))["unpriced"]
    assert finding["detail"] == (
        "2 requests and 1 bucket without a request count / 5,100 tokens have no price and are not in any cost"
    )
    assert (finding["count"], finding["data"]["requests"]) == (3, 3)
    report = run_json("report", "by", "model", *RANGE, "--db", str(db_path))
    assert report["totals"]["unpriced_requests"] == 3


def test_time_zone_moves_a_day_and_is_reported(loaded: Path) -> None:
    out = run_json("doctor", *RANGE, "--tz", "Europe/Berlin", "--db", str(loaded))
    gaps = {r["subject"]: r for r in _by_check(out)["gaps"]}
    assert gaps["agent-b"]["data"]["days"] == ["2025-11-07"]
    tz = _by_check(out)["timezone"][0]
    assert (tz["subject"], tz["data"]["origin"]) == ("Europe/Berlin", "--tz")


def test_strict_exit_code(loaded: Path, tmp_path: Path) -> None:
    run("doctor", *RANGE, "--db", str(loaded))  # a report: exit 0
    res = run("doctor", *RANGE, "--strict", "--db", str(loaded), expect=1)
    assert "warning or worse" in res.stderr
    clean = tmp_path / "clean.duckdb"
    ev = [{"event_id": f"K{d}", "ts": f"2025-11-0{d}T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 10}
          for d in range(1, 8)]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "k.jsonl", ev)), "--db", str(clean))
    out = run_json("doctor", *RANGE, "--db", str(clean))
    assert [r["check"] for r in out["rows"]] == ["timezone"]
    run("doctor", *RANGE, "--strict", "--db", str(clean))


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_formats(loaded: Path, fmt: str) -> None:
    assert "mystery-model" in run("doctor", *RANGE, "--format", fmt, "--db", str(loaded)).stdout


def test_budget_scopes_that_match_nothing(loaded: Path, tmp_path: Path) -> None:
    config = tmp_path / "work" / "usagectl.toml"
    budgets = "".join(
        f'[[budgets]]\nscope = "{scope}"\namount = 5\n'
        for scope in ("member:Alice", "member:carol", "team:growth", "team:platform", "model:gpt4o",
                      "model:gpt-4o-2024-08-06")
    )  # fmt: skip
    config.write_text(config.read_text() + budgets, encoding="utf-8")
    found = _by_check(run_json("doctor", *RANGE, "--db", str(loaded)))
    rows = found["budget-scope"]
    assert [(r["severity"], r["subject"]) for r in rows] == [
        ("warning", "member:Alice (month)"),
        ("warning", "model:gpt4o (month)"),
    ]
    assert "never fires" in rows[0]["detail"]


def test_every_config_section_is_checked(loaded: Path, tmp_path: Path) -> None:
    """Sections only `notify`, `invoice` or `budget status` read are errors here already; a key
    usagectl does not read is a warning."""
    config = tmp_path / "work" / "usagectl.toml"
    config.write_text(
        config.read_text()
        + '[[webhooks]]\nevents = ["usage.anomaly"]\nsecret_env = "S"\n[tax]\nrate = 120\n'
        + '[[budgets]]\nscope = "global"\nlimit = 5\n[billing]\nstart = "2025-13"\nstrat = 1\n',
        encoding="utf-8",
    )
    found = _by_check(run_json("doctor", *RANGE, "--db", str(loaded)))
    assert [(r["severity"], r["subject"]) for r in found["config"]] == [
        ("error", "budgets"),
        ("error", "webhooks"),
        ("error", "tax"),
        ("error", "billing"),
    ]
    assert "webhooks[0].url: required" in found["config"][1]["detail"]
    assert "[tax] rate: a percentage under 100, got 120" in found["config"][2]["detail"]
    assert [r["detail"] for r in found["config-key"]] == [
        f"config {config}: [billing] unknown key strat, ignored (did you mean start?)"
    ]
    run("doctor", *RANGE, "--strict", "--db", str(loaded), expect=1)


def test_tz_that_is_no_zone_is_reported_as_such(loaded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (Path.cwd() / "usagectl.toml").write_text('[members.alice]\nteam = "platform"\n', encoding="utf-8")
    monkeypatch.setenv("TZ", "IST-5:30")
    result = run("doctor", *RANGE, "--json", "--db", str(loaded))
    tz = _by_check(json.loads(result.stdout))["timezone"][0]
    assert (tz["subject"], tz["data"]["origin"]) == ("UTC", "TZ set to IST-5:30, not an IANA zone, using UTC")
    assert "usagectl: warning: TZ=IST-5:30 is not an IANA time zone" in result.stderr
    monkeypatch.setenv("TZ", ":Asia/Kolkata")
    tz = _by_check(run_json("doctor", *RANGE, "--db", str(loaded)))["timezone"][0]
    assert (tz["subject"], tz["data"]["origin"]) == ("Asia/Kolkata", "local: the TZ environment variable")


def test_no_team_names_the_config_entry_that_differs_in_case_or_spelling(tmp_path: Path, db_path: Path) -> None:
    """Names match exactly: [members.Alice] maps nobody's usage when the logs say alice, and the
    fix said only "add [members.alice]". Now it names the entry meant (QA):

    * alice (1,000 tokens): [members.Alice] differs only in case;
    * carol (500 tokens): [members.karol] is a close spelling (difflib ratio 2·4/(5+5) = 0.8);
    * dave (300 tokens): [members.Dave] (no team of its own) maps Dave's own usage in the range,
      so it is no misspelling of dave: no hint, nor for Dave (200 tokens);
    * marianne (150 tokens): [members.mariane] (ratio 2·7/15 ≈ 0.93) maps mariane's usage of last
      year, outside the range: a real member all the same, never offered for renaming (QA: ann, a
      member of last quarter, was offered for anne);
    * zoe (100 tokens): no entry near: the plain fix.
    Order: tokens, most first. Totals by team: nobody in the range has a team, so nothing is moved."""
    config = tmp_path / "work" / "usagectl.toml"
    config.write_text(
        '[members.Alice]\nteam = "platform"\n[members.karol]\nteam = "growth"\n[members.Dave]\ndepartment = "eng"\n'
        '[members.mariane]\nteam = "growth"\n',
        encoding="utf-8",
    )
    events = [
        {"event_id": f"N{i}", "ts": "2025-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": tokens,
         "member": member}
        for i, (member, tokens) in enumerate([("alice", 1000), ("carol", 500), ("dave", 300), ("Dave", 200),
                                              ("marianne", 150), ("zoe", 100)])
    ]  # fmt: skip
    events.append({"event_id": "OLD", "ts": "2024-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 7,
                   "member": "mariane"})  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "n.jsonl", events)), "--db", str(db_path))
    rows = _by_check(run_json("doctor", *RANGE, "--db", str(db_path)))["no-team"]
    assert [(r["subject"], r["data"]["similar_entry"]) for r in rows] == [
        ("alice", "Alice"),
        ("carol", "karol"),
        ("dave", None),
        ("Dave", None),
        ("marianne", None),
        ("zoe", None),
    ]
    assert rows[0]["fix"] == (
        f"did you mean [members.Alice] in {config}? Member names must match the logs exactly (case-sensitive): "
        'rename it [members.alice], or add [members.alice] team = "..."'
    )
    assert rows[1]["fix"].startswith(f"did you mean [members.karol] in {config}?")
    assert rows[5]["fix"] == f'add [members.zoe] team = "..." in {config}'
    # still exact: alice's usage is under no team, not platform's
    teams = run_json("report", "by", "team", *RANGE, "--db", str(db_path))
    assert [(r["team"], r["total_tokens"]) for r in teams["rows"]] == [("(none)", 2250)]  # 1000+500+300+200+150+100


def test_a_pricing_dir_that_does_not_exist_is_a_finding_not_a_stop(loaded: Path, tmp_path: Path) -> None:
    """QA: the README's example config named `[pricing] dir = "./my-prices"`; copied as it was, every
    command stopped (exit 2), doctor too, whose job is to find such things. Doctor reports it as
    an error and checks the rest with the packaged tables (gpt-4o is priced there, so the one
    unpriced model is still the fixture's mystery-model); other commands still stop, with a hint."""
    cfg = tmp_path / "prices.toml"
    cfg.write_text('[display]\ntimezone = "UTC"\n\n[pricing]\ndir = "./my-prices"\n', encoding="utf-8")
    out = run_json("doctor", *RANGE, "--db", str(loaded), "--config", str(cfg))
    found = _by_check(out)
    [missing] = found["pricing-dir"]
    assert missing["severity"] == "error"
    assert missing["detail"].startswith(f"{tmp_path / 'my-prices'} does not exist")
    assert f"remove `dir` from [pricing] in config {cfg}" in missing["fix"]
    assert [f["subject"] for f in found["unpriced"]] == ["mystery-model"]
    err = run("report", "daily", *RANGE, "--db", str(loaded), "--config", str(cfg), expect=2).stderr
    assert "my-prices: pricing directory does not exist (config [pricing] dir)" in err
    assert "or remove `dir` from [pricing] in the config" in err


def test_a_team_budget_over_logs_that_name_no_member_is_not_blamed_on_the_spelling(
    tmp_path: Path, db_path: Path
) -> None:
    """QA: a new user's `budget set team:platform 500` over Claude Code logs (which name no member)
    was told to "check the name (case-sensitive)". With no stored event naming a member, doctor
    says why no member or team budget can match; a model budget that matches nothing is still
    the spelling's fault."""
    events = [{"event_id": "c1", "ts": "2025-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 10}]
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    cfg = tmp_path / "b.toml"
    cfg.write_text('[members.alice]\nteam = "platform"\n', encoding="utf-8")
    for scope in ("team:platform", "model:gpt-5-mini-typo"):
        run("budget", "set", scope, "500", "--config", str(cfg), "--db", str(db_path))
    out = run_json(
        "doctor", "--since", "2025-11-01", "--until", "2025-11-07", "--db", str(db_path), "--config", str(cfg)
    )
    fixes = {f["subject"]: f["fix"] for f in _by_check(out)["budget-scope"]}
    assert fixes["team:platform (month)"].startswith(
        "no stored event names a member: Claude Code and Codex logs carry none"
    )
    assert fixes["model:gpt-5-mini-typo (month)"].startswith("check the name (case-sensitive)")


def test_a_misspelled_team_budget_over_events_that_name_their_team_is_the_spellings_fault(
    tmp_path: Path, db_path: Path
) -> None:
    """QA: events naming their team (no member) with a budget `team:platfrom` (a typo): doctor said
    no event names a member, so no team budget could match; `team:platform` does match them
    (budget status), so the fix is the spelling. The same for a cost center."""
    events = [{"event_id": "t1", "ts": "2025-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 10,
               "team": "platform", "cost_center": "cc-100"}]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    cfg = tmp_path / "b.toml"
    cfg.write_text("", encoding="utf-8")
    for scope in ("team:platfrom", "cost-center:cc-10", "member:ann"):
        run("budget", "set", scope, "500", "--config", str(cfg), "--db", str(db_path))
    out = run_json(
        "doctor", "--since", "2025-11-01", "--until", "2025-11-07", "--db", str(db_path), "--config", str(cfg)
    )
    fixes = {f["subject"]: f["fix"] for f in _by_check(out)["budget-scope"]}
    assert fixes["team:platfrom (month)"].startswith("check the name (case-sensitive)")
    assert fixes["cost-center:cc-10 (month)"].startswith("check the name (case-sensitive)")
    assert fixes["member:ann (month)"].startswith("no stored event names a member")  # none does
