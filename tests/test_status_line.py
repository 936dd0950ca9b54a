"""`usagectl status`: the one line and its JSON, on the dashboard's hand-worked fixture.

See tests/test_dashboard.py for the events and rates. Zone Europe/Paris, NOW = 2026-11-11 00:00
UTC (11-11 01:00 Paris). Today: A1 only, 1,000,000 tokens (1.00M), $2.50. November: 2,605,100
tokens (2.61M) of the 5,000,000 quota (5.00M) = 52.102 % -> 52.1 %, $8.90, 1 unpriced request.
Budgets: plan quota 52.1 % (ok), member:alice $4.30 of $5 = 86 % (warning) -> worst warning.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import usagectl.cli
from tests.helpers import run, write_jsonl
from tests.test_dashboard import CONFIG, EVENTS, NOW
from usagectl.cli.dashboard import register
from usagectl.services import status_line as svc
from usagectl.services.context import make_context
from usagectl.services.reports import ReportRequest


@pytest.fixture(autouse=True)
def wired(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = {c.name for c in usagectl.cli.app.registered_commands}
    if "status" not in names:
        register(usagectl.cli.app)
    monkeypatch.setattr(svc, "_clock", lambda: NOW)
    (isolated_env / "usagectl.toml").write_text(CONFIG, encoding="utf-8")


@pytest.fixture
def db(tmp_path: Path, db_path: Path) -> Path:
    run("import", str(write_jsonl(tmp_path / "events.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def test_status_line(db: Path) -> None:
    out = run("status", "--db", str(db)).stdout
    assert out == (
        "today 1.00M tok $2.50 · 2026-11 2.61M/5.00M tok 52.1% $8.90 · 1 unpriced req"
        " · budget warning (member:alice (month) 86.0%)\n"
    )


def test_status_json(db: Path) -> None:
    doc = json.loads(run("status", "--db", str(db), "--format", "json").stdout, parse_float=Decimal)
    assert doc["today"] == {"total_tokens": 1_000_000, "cost_usd": Decimal("2.5"), "unpriced_requests": 0}
    assert doc["month"] == {
        "month": "2026-11", "total_tokens": 2_605_100, "cost_usd": Decimal("8.9"), "unpriced_requests": 1,
        "quota_tokens": 5_000_000, "quota_pct": Decimal("52.1"),
    }  # fmt: skip
    assert doc["budgets"] == {
        "count": 2, "worst_level": "warning", "worst_budget": "member:alice (month)", "worst_pct": 86,
    }  # fmt: skip
    assert run("status", "--db", str(db), "--json").stdout == run("status", "--db", str(db), "-f", "json").stdout


def test_status_json_follows_the_report_contract(db: Path) -> None:
    """filters / rows / totals as every report has them (the keys above stay). Rows: today and
    the month (numbers of the module docstring); totals: the month's, to its last day (usage
    dated after now is in them: the range says so, not "until" today; QA). With --member bob:
    A2 (0.60, 1M) + A4 (4.00, 400k) in November, nothing today."""
    doc = json.loads(run("status", "--db", str(db), "--json").stdout, parse_float=Decimal)
    assert list(doc)[:4] == ["report", "filters", "rows", "totals"]
    assert doc["filters"] == {"since": "2026-11-01", "until": "2026-11-30", "tz": "Europe/Paris"}
    assert doc["rows"] == [
        {"period": "today", "since": "2026-11-11", "until": "2026-11-11",
         "total_tokens": 1_000_000, "cost_usd": Decimal("2.5"), "unpriced_requests": 0},
        {"period": "month", "since": "2026-11-01", "until": "2026-11-30",
         "total_tokens": 2_605_100, "cost_usd": Decimal("8.9"), "unpriced_requests": 1},
    ]  # fmt: skip
    assert doc["totals"] == {"total_tokens": 2_605_100, "cost_usd": Decimal("8.9"), "unpriced_requests": 1}
    bob = json.loads(run("status", "--db", str(db), "--json", "--member", "bob").stdout, parse_float=Decimal)
    assert bob["filters"]["member"] == ["bob"]
    assert bob["totals"] == {"total_tokens": 1_400_000, "cost_usd": Decimal("4.6"), "unpriced_requests": 0}
    assert bob["rows"][0]["total_tokens"] == 0 and bob["rows"][0]["cost_usd"] == 0


def test_status_in_utc_moves_the_day_boundary(db: Path) -> None:
    # in UTC, today (11-11) has no event yet: A1 is 11-10 23:30Z. November (UTC) excludes A4
    # (10-31 23:30Z): 2,605,100 - 400,000 = 2,205,100 tokens, $8.90 - $4.00 = $4.90.
    s = svc.status_line(make_context(None, db), ReportRequest(tz="UTC"))
    assert (s.today_tokens, s.today_cost_usd) == (0, Decimal(0))  # no request: $0, not unpriced
    assert (s.month_tokens, s.month_cost_usd) == (2_205_100, Decimal("4.90"))


def test_status_filters_and_bad_format(db: Path) -> None:
    # member bob: A2 (0.60, 1M) + A4 (4.00, 400k) in November (Paris); nothing today
    s = svc.status_line(make_context(None, db), ReportRequest(where={"member": ("bob",)}))
    assert (s.month_tokens, s.month_cost_usd, s.today_tokens) == (1_400_000, Decimal("4.60"), 0)
    res = run("status", "--db", str(db), "--format", "xml", expect=2)
    assert "expected line or json" in res.stderr


def test_cache_follows_the_database_and_a_hit_does_not_open_it(tmp_path: Path, db: Path) -> None:
    ctx = make_context(None, db)
    first = svc.cached_status_line(ctx)
    assert first.month_tokens == 2_605_100
    # a new import changes the database file: the next status is computed again, not served stale
    # (B1 11-11 00:10Z gpt-4o 100,000 in = $0.25: today 1,100,000 tokens, $2.75)
    extra = [{"event_id": "B1", "ts": "2026-11-11T00:10:00Z", "model_raw": "gpt-4o", "input_tokens": 100_000}]
    run("import", str(write_jsonl(tmp_path / "more.jsonl", extra)), "--db", str(db))
    second = svc.cached_status_line(ctx)
    assert (second.today_tokens, second.today_cost_usd) == (1_100_000, Decimal("2.75"))
    assert second.month_tokens == 2_705_100
    # nothing changed since: a hit, in a fresh process, never imports duckdb and gives the same numbers
    code = (
        "import sys\nfrom datetime import datetime, UTC\nfrom pathlib import Path\n"
        "from usagectl.services import status_line as s\nfrom usagectl.services.context import make_context\n"
        "s._clock = lambda: datetime(2026, 11, 11, tzinfo=UTC)\n"
        f"r = s.cached_status_line(make_context(None, Path({str(db)!r})))\n"
        "print(r.today_tokens, r.today_cost_usd, 'duckdb' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    tokens, cost, loaded = out.split()
    assert (int(tokens), Decimal(cost), loaded) == (1_100_000, Decimal("2.75"), "False")


def test_an_import_warms_the_cache_for_the_next_status(tmp_path: Path, db: Path) -> None:
    """After `usagectl status --tz UTC` once, `usagectl import` recomputes the cached answer for
    that zone, so the next status in a fresh process is a hit with the new numbers."""
    run("status", "--db", str(db), "--tz", "UTC")
    # C1 11-11 00:20Z gpt-4o 200,000 input = $0.50: in UTC today is 11-11, so today = 200,000 / $0.50
    extra = [{"event_id": "C1", "ts": "2026-11-11T00:20:00Z", "model_raw": "gpt-4o", "input_tokens": 200_000}]
    run("import", str(write_jsonl(tmp_path / "c.jsonl", extra)), "--db", str(db))
    code = (
        "import sys, json\nfrom datetime import datetime, UTC\nfrom pathlib import Path\n"
        "from usagectl.services import status_line as s\nfrom usagectl.services.context import make_context\n"
        "from usagectl.services.reports import ReportRequest\n"
        "s._clock = lambda: datetime(2026, 11, 11, tzinfo=UTC)\n"
        f"r = s.cached_status_line(make_context(None, Path({str(db)!r})), ReportRequest(tz='UTC'))\n"
        "print(r.today_tokens, r.today_cost_usd, 'duckdb' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    tokens, cost, loaded = out.split()
    assert (int(tokens), Decimal(cost), loaded) == (200_000, Decimal("0.50"), "False")


def test_an_edited_user_price_table_invalidates_the_cache(
    isolated_env: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prices = isolated_env / "prices"
    prices.mkdir()
    table = prices / "openai.toml"
    table.write_text((Path(__file__).parent.parent / "pricing" / "openai.toml").read_text(), encoding="utf-8")
    (isolated_env / "usagectl.toml").write_text(CONFIG + '\n[pricing]\ndir = "prices"\n', encoding="utf-8")
    calls: list[int] = []
    real = svc.status_line
    monkeypatch.setattr(svc, "status_line", lambda ctx, req: calls.append(1) or real(ctx, req))
    ctx = make_context(isolated_env / "usagectl.toml", db)
    svc.cached_status_line(ctx)
    svc.cached_status_line(ctx)
    assert len(calls) == 1  # the second is a hit
    table.write_text(table.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    svc.cached_status_line(ctx)
    assert len(calls) == 2  # the edit changed the key


def test_pricing_dir_env_is_part_of_the_cache_key(
    isolated_env: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: the key held the user ``[pricing] dir`` but not ``$USAGECTL_PRICING_DIR`` (which
    replaces the packaged tables), so ``status`` kept the cost of the other tables for up to an
    hour. Today's A1 is 1,000,000 gpt-4o input tokens: $2.50 at the packaged $2.50/M; with a copy
    of the tables pricing gpt-4o input at $10/M, $10.00; back without the variable, $2.50."""
    import shutil

    prices = isolated_env / "other-prices"
    shutil.copytree(Path(__file__).parent.parent / "pricing", prices)
    table = prices / "openai.toml"
    text = table.read_text(encoding="utf-8")
    first = text.index("input = 2.50")  # gpt-4o's standard input rate, the file's first model
    table.write_text(text[:first] + "input = 10.00" + text[first + len("input = 2.50") :], encoding="utf-8")
    ctx = make_context(isolated_env / "usagectl.toml", db)
    assert svc.cached_status_line(ctx).today_cost_usd == Decimal("2.5")
    monkeypatch.setenv("USAGECTL_PRICING_DIR", str(prices))
    assert svc.cached_status_line(make_context(isolated_env / "usagectl.toml", db)).today_cost_usd == Decimal("10")
    monkeypatch.delenv("USAGECTL_PRICING_DIR")
    assert svc.cached_status_line(make_context(isolated_env / "usagectl.toml", db)).today_cost_usd == Decimal("2.5")


def test_a_quota_at_99_98_percent_reads_99_9_everywhere_a_human_sees_it(
    isolated_env: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quota 2,605,621 tokens: 2,605,100 × 100 / 2,605,621 = 99.98000... % (2,605,621 × 0.9998 =
    2,605,099.9). Rounded half-up that is an exhausted "100.0%"; a quota or budget percentage is
    shown rounded DOWN, as budgets are: 99.9 %. JSON keeps the value to 2 decimals: 99.98."""
    from usagectl.services import dashboard as dash_svc

    monkeypatch.setattr(dash_svc, "_clock", lambda: NOW)
    config = CONFIG.replace("monthly_token_quota = 5000000", "monthly_token_quota = 2605621")
    (isolated_env / "usagectl.toml").write_text(config, encoding="utf-8")
    assert " · 2026-11 2.61M/2.61M tok 99.9% $8.90 · " in run("status", "--db", str(db)).stdout
    doc = json.loads(run("status", "--db", str(db), "--json").stdout, parse_float=Decimal)
    assert doc["month"]["quota_pct"] == Decimal("99.98")
    assert "Tokens    2.61M / 2.61M (99.9%)" in run("dashboard", "--once", "--no-watch", "--db", str(db)).stdout
    month = ("report", "month", "--month", "2026-11", "--db", str(db))
    assert "- **Quota used %:** 99.9%\n" in run(*month, "--format", "markdown").stdout
    overview = json.loads(run(*month, "--json").stdout, parse_float=Decimal)["overview"]
    assert overview["quota_pct"] == Decimal("99.98")


def test_machine_formats_round_a_used_share_down_never_up_to_100(
    isolated_env: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: JSON rounded a used share half-even to 2 decimals: 999,960 of 1,000,000 tokens said
    quota_pct 100, and a script testing quota_pct >= 100 saw a quota used up that was not. Here
    2,605,100 of a 2,605,230-token quota: 2,605,100 × 100 / 2,605,230 = 99.99501... % (2,605,230 ×
    0.99995 = 2,605,099.74 < 2,605,100): half-even 100.00, rounded down 99.99 (tables: 99.9 %).
    The same for a token budget of that size (budget status, JSON and CSV)."""
    from usagectl.services import dashboard as dash_svc

    monkeypatch.setattr(dash_svc, "_clock", lambda: NOW)
    config = CONFIG.replace("monthly_token_quota = 5000000", "monthly_token_quota = 2605230")
    config += '\n[[budgets]]\nscope = "global"\ntokens = 2605230\nperiod = "month"\n'
    (isolated_env / "usagectl.toml").write_text(config, encoding="utf-8")
    status = json.loads(run("status", "--db", str(db), "--json").stdout, parse_float=Decimal)
    assert (status["month"]["quota_pct"], status["budgets"]["worst_pct"]) == (Decimal("99.99"), Decimal("99.99"))
    month = ("report", "month", "--month", "2026-11", "--db", str(db))
    overview = json.loads(run(*month, "--json").stdout, parse_float=Decimal)["overview"]
    assert overview["quota_pct"] == Decimal("99.99")
    assert "Quota used %" in run(*month).stdout and "99.9%" in run(*month).stdout
    budgets = json.loads(run("budget", "status", "--db", str(db), "--json").stdout, parse_float=Decimal)
    # the plan quota (a global token budget too) and the budget of the same size
    assert [r["percent"] for r in budgets["rows"] if r["scope"] == "global"] == [Decimal("99.99")] * 2
    rows = list(csv.DictReader(io.StringIO(run("budget", "status", "--db", str(db), "--format", "csv").stdout)))
    assert [r["percent"] for r in rows if r["scope"] == "global"] == ["99.99"] * 2


GLOBAL_BUDGET = '[[budgets]]\nscope = "global"\namount = 1\nperiod = "month"\n'


def test_a_warm_up_by_a_process_with_an_older_config_never_hides_the_new_one(isolated_env: Path, db: Path) -> None:
    """QA: a dashboard started before `budget set global 1` warmed the status cache after its
    sync with the config it had read at start (no global budget) under the key of the edited
    file, and `status` then served "budget warning" as a hit although the month's $8.90 against
    a $1 budget is 890 % (exceeded). The warm-up now computes with the config as the file says."""
    old_ctx = make_context(None, db)
    assert svc.cached_status_line(old_ctx).worst_level == "warning"  # member:alice 86 %
    (isolated_env / "usagectl.toml").write_text(CONFIG + GLOBAL_BUDGET, encoding="utf-8")
    assert svc.warm_cache(old_ctx, now=NOW)  # what the dashboard's sync (or a long import) does
    assert run("status", "--db", str(db)).stdout.endswith(" · budget exceeded (global (month) 890.0%)\n")


def test_an_answer_is_filed_under_the_config_it_was_computed_with(isolated_env: Path, db: Path) -> None:
    """The config's stat in the key is the one taken before the config was read: an answer
    computed with the old file (worst: warning, 86 %) and filed under the old stat is not served
    once the file has changed; the next status computes 890 % (exceeded, see above)."""
    from usagectl.services.cache_dir import file_stat

    before = file_stat(isolated_env / "usagectl.toml")
    old_ctx = make_context(None, db)
    (isolated_env / "usagectl.toml").write_text(CONFIG + GLOBAL_BUDGET, encoding="utf-8")
    assert svc.cached_status_line(old_ctx, config_stat=before).worst_level == "warning"
    assert run("status", "--db", str(db)).stdout.endswith(" · budget exceeded (global (month) 890.0%)\n")


def test_usage_dated_after_now_counts_in_the_month_as_everywhere(tmp_path: Path, db: Path) -> None:
    """QA: `status` left out the month's usage dated after now that `report month`, `budget
    status` and the dashboard count. A7 11-20 12:00Z, alice, gpt-4o 200,000 in = $0.50: the
    month is 2,605,100 + 200,000 = 2,805,100 tokens (2.81M) = 56.102 % -> 56.1 % of 5.00M,
    $8.90 + 0.50 = $9.40; member:alice 4.30 + 0.50 = 4.80 of 5 = 96 % (critical). Today stays A1."""
    a7 = {"event_id": "A7", "ts": "2026-11-20T12:00:00Z", "model_raw": "gpt-4o", "member": "alice",
          "input_tokens": 200_000}  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "a7.jsonl", [a7])), "--db", str(db))
    out = run("status", "--db", str(db)).stdout
    assert out == (
        "today 1.00M tok $2.50 · 2026-11 2.81M/5.00M tok 56.1% $9.40 · 1 unpriced req"
        " · budget critical (member:alice (month) 96.0%)\n"
    )


def _status_bytes(*args: bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m usagectl status`` with an argv of bytes, as a shell passes a Latin-1 name."""
    return subprocess.run(
        [sys.executable, "-m", "usagectl", "status", *args],
        capture_output=True, text=True, errors="replace", timeout=300, env=env,
    )  # fmt: skip


def test_a_database_name_that_is_not_utf8_is_refused_as_by_every_command(tmp_path: Path, db: Path) -> None:
    """QA: ``status --db .../dbJos\\xe9.duckdb`` (b"Jos\\xe9": "José" in Latin-1) crashed hashing
    the name for its cache key ("unexpected error: UnicodeEncodeError", exit 1), by --db, by
    $USAGECTL_DB and for the default database under a Latin-1 HOME. It is the refusal every
    other command gives: exit 3, the name shown with its byte as \\xe9."""
    folder = os.fsencode(tmp_path)
    latin1 = folder + b"/dbJos\xe9.duckdb"
    shutil.copyfile(db, os.fsdecode(latin1))  # a real database: only its name is refused
    refused = f"usagectl: error: database {tmp_path}/dbJos\\xe9.duckdb cannot be opened: its name is not UTF-8"

    res = _status_bytes(b"--db", latin1)
    assert (res.returncode, res.stderr.startswith(refused), res.stdout) == (3, True, ""), res.stderr

    env = dict(os.environ, USAGECTL_DB=os.fsdecode(latin1))
    res = _status_bytes(env=env)
    assert (res.returncode, res.stderr.startswith(refused)) == (3, True), res.stderr

    home = folder + b"/homeJos\xe9"
    os.mkdir(home)
    env = dict(os.environ, HOME=os.fsdecode(home), XDG_DATA_HOME="", XDG_CACHE_HOME="")
    env.pop("USAGECTL_DB", None)
    res = _status_bytes(env=env)
    default = f"{tmp_path}/homeJos\\xe9/.local/share/usagectl/usage.duckdb"
    assert res.returncode == 3 and f"database {default} cannot be opened: its name is not UTF-8" in res.stderr


def test_a_cache_folder_whose_name_is_not_utf8_keeps_the_answer(
    tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Latin-1 XDG_CACHE_HOME (b"cacheJos\\xe9") holds the cached answer like any other: November
    is 2,605,100 tokens (the module docstring), computed once, then served from the file there."""
    cache = os.fsencode(tmp_path) + b"/cacheJos\xe9"
    monkeypatch.setenv("XDG_CACHE_HOME", os.fsdecode(cache))
    ctx = make_context(None, db)
    assert svc.cached_status_line(ctx).month_tokens == 2_605_100
    [entry] = [n for n in os.listdir(cache + b"/usagectl") if n.startswith(b"status-")]
    doc = json.loads(Path(os.fsdecode(cache + b"/usagectl/" + entry)).read_text())
    assert doc["status"]["month_tokens"] == 2_605_100
    assert svc.cached_status_line(ctx).month_tokens == 2_605_100


def test_a_database_path_that_is_a_symlink_loop_is_no_database(tmp_path: Path) -> None:
    """``status --db loop`` (a symlink to itself) crashed resolving the name for its cache key
    ("unexpected error: RuntimeError: Symlink loop", exit 1); it is what `report` says of it:
    no database there, exit 4."""
    loop = tmp_path / "loop.duckdb"
    loop.symlink_to(loop)
    res = run("status", "--db", str(loop), expect=4)
    assert f"no database at {loop} " in res.stderr
