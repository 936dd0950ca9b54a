"""The dashboard: one frame on a hand-made fixture with a fixed clock, a watched file whose new
line shows in the next frame, the cache of an unchanged database, and a busy database.

Rates (USD per 1M tokens): gpt-4o 2.50 in / 10.00 out; gpt-4o-mini 0.15 / 0.60;
claude-sonnet-4-5 3.00 / 15.00. Zone Europe/Paris (UTC+1 in November, no DST change in it).
NOW = 2026-11-11 00:00 UTC = 11-11 01:00 Paris, so "today" is 11-11 in Paris (10 in UTC).

A1 11-10 23:30Z (Paris 11-11 00:30, today)  gpt-4o       alice 1,000,000 in  = 2.50
A2 11-10 22:30Z (Paris 11-10 23:30)         gpt-4o-mini  bob   1,000,000 out = 0.60
A3 11-02 10:00Z                             claude-sonnet-4-5 alice 100k in + 100k out = 0.30 + 1.50 = 1.80
A4 10-31 23:30Z (Paris 11-01 00:30: NOVEMBER) gpt-4o     bob   400,000 out   = 4.00
A5 10-31 22:30Z (Paris 10-31 23:30: October)  gpt-4o     carol 1,000,000 out = 10.00
A6 11-05 12:00Z                             mistral-large-2411 alice 5,000 in + 100 out: unpriced

November (Paris): A1+A2+A3+A4+A6 tokens 1,000,000 + 1,000,000 + 200,000 + 400,000 + 5,100 = 2,605,100;
cost 2.50 + 0.60 + 1.80 + 4.00 = 8.90 (A6 unpriced, 1 request). Quota 5,000,000: 52.102 % -> 52.1 %.
Elapsed: 10-31 23:00Z .. 11-11 00:00Z = 241 h of the month's 720 h: projection 8.90 * 720 / 241 =
26.5892... -> $26.59; tokens int(2,605,100 * 720 / 241) = int(7,782,871.37) = 7,782,871 -> 7.78M,
155.657 % of the quota -> 155.6 % (a quota percentage is shown rounded down).
Today (Paris 11-11): A1 only, 1,000,000 tokens, $2.50.
Budget member:alice $5/month: A1 2.50 + A3 1.80 = 4.30 -> 86 % (warning: >= 75, < 90).
Top members this month: bob 0.60 + 4.00 = $4.60 (1,400,000 tokens), alice $4.30 (1,205,100 tokens).
Last 30 days (Paris 10-13 .. 11-11): 10 + 0.60 + 2.50 + 4.00 + 1.80 = $18.90.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

import usagectl.cli
from tests.helpers import run, write_jsonl
from usagectl.cli.dashboard import register
from usagectl.render.dashboard import bar, render_frame, sparkline
from usagectl.services import dashboard as dash_svc
from usagectl.services.context import make_context
from usagectl.services.dashboard import Dashboard
from usagectl.services.reports import ReportRequest

NOW = datetime(2026, 11, 11, tzinfo=UTC)
CONFIG = """[display]
timezone = "Europe/Paris"
[plan]
monthly_token_quota = 5000000
[[budgets]]
scope = "member:alice"
amount = 5
period = "month"
"""


def _ev(eid: str, ts: str, model: str, member: str, inp: int = 0, out: int = 0) -> dict[str, object]:
    return {"event_id": eid, "ts": ts, "model_raw": model, "member": member, "input_tokens": inp, "output_tokens": out}


EVENTS = [
    _ev("A1", "2026-11-10T23:30:00Z", "gpt-4o", "alice", inp=1_000_000),
    _ev("A2", "2026-11-10T22:30:00Z", "gpt-4o-mini", "bob", out=1_000_000),
    _ev("A3", "2026-11-02T10:00:00Z", "claude-sonnet-4-5", "alice", inp=100_000, out=100_000),
    _ev("A4", "2026-10-31T23:30:00Z", "gpt-4o", "bob", out=400_000),
    _ev("A5", "2026-10-31T22:30:00Z", "gpt-4o", "carol", out=1_000_000),
    _ev("A6", "2026-11-05T12:00:00Z", "mistral-large-2411", "alice", inp=5_000, out=100),
]


@pytest.fixture(autouse=True)
def wired(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Add the commands until the lead wires them in usagectl.cli (then a no-op); fix the clock."""
    names = {c.name for c in usagectl.cli.app.registered_commands}
    if "dashboard" not in names:
        register(usagectl.cli.app)
    monkeypatch.setattr(dash_svc, "_clock", lambda: NOW)
    # a --once frame is COLUMNS wide when it is set, and pytest-xdist's workers run with
    # COLUMNS=80: the frames here are the default 100 unless a test sets it
    monkeypatch.delenv("COLUMNS", raising=False)
    (isolated_env / "usagectl.toml").write_text(CONFIG, encoding="utf-8")


@pytest.fixture
def db(tmp_path: Path, db_path: Path) -> Path:
    run("import", str(write_jsonl(tmp_path / "events.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def test_sparkline_and_bar_by_hand() -> None:
    # top 8: 8/8 -> █, 4 -> ceil(4*8/8)=4 -> ▄, 1 -> ▁, 0 -> space
    assert sparkline([8, 4, 1, 0]) == "█▄▁ "
    assert sparkline([1, 0], repeat=2) == "██  "  # 1 is the top here
    assert sparkline([0, 0]) == "  "
    # 52.1 % of 10 cells: 5 filled
    assert bar(Decimal("52.1"), 10) == "█████░░░░░"
    assert bar(Decimal(150), 4) == "████"


def test_frame_data_hand_worked(db: Path) -> None:
    frame = Dashboard(make_context(None, db), watch=False).refresh()
    assert frame.state == "ok" and frame.tz == "Europe/Paris"
    d = frame.data
    assert d is not None
    assert d.today == date(2026, 11, 11)
    assert (d.today_tokens, d.today_cost_usd) == (1_000_000, Decimal("2.50"))
    assert d.overview("used_tokens") == 2_605_100
    assert d.overview("cost_usd") == Decimal("8.90")
    assert d.overview("projected_cost_usd").quantize(Decimal("0.01")) == Decimal("26.59")
    assert d.overview("projected_tokens") == 7_782_871
    # the series: 30 Paris days ending today; A5 lands on 10-31, A4 on 11-01 (not on UTC days)
    assert len(d.series) == 30 and d.series[0].day == date(2026, 10, 13) and d.series[-1].day == date(2026, 11, 11)
    by_day = {p.day: p.tokens for p in d.series if p.tokens}
    assert by_day == {
        date(2026, 10, 31): 1_000_000, date(2026, 11, 1): 400_000, date(2026, 11, 2): 200_000,
        date(2026, 11, 5): 5_100, date(2026, 11, 10): 1_000_000, date(2026, 11, 11): 1_000_000,
    }  # fmt: skip
    assert sum((p.cost_usd or Decimal(0)) for p in d.series) == Decimal("18.90")
    assert d.top_kind == "member"
    assert [(t.name, t.tokens, t.cost_usd) for t in d.top] == [
        ("bob", 1_400_000, Decimal("4.60")),
        ("alice", 1_205_100, Decimal("4.30")),
    ]
    alice = next(b for b in d.budgets if b.budget.scope == "member:alice")
    assert (alice.spent, alice.percent, alice.level) == (Decimal("4.30"), Decimal(86), "warning")
    assert [e["event_id"] for e in d.feed] == ["A1", "A2", "A6", "A3", "A4", "A5"]
    assert d.feed[0]["cost_usd"] == Decimal("2.50") and d.feed[2]["cost_usd"] is None  # A6 unpriced, never $0


def test_once_prints_the_numbers(db: Path) -> None:
    out = run("dashboard", "--once", "--no-watch", "--db", str(db)).stdout
    assert "2026-11-11 01:00:00 Europe/Paris" in out
    assert "Tokens    2.61M / 5.00M (52.1%)" in out  # 2,605,100 of 5,000,000
    assert "Today     1,000,000 tokens  $2.50" in out
    assert "Cost      $8.90 this month" in out
    assert "Projected $26.59 at month end, 7.78M tokens = 155.6% of quota" in out
    assert "Unpriced  1 request, NOT in the cost" in out
    # A6's 5,000 + 100 tokens have no price: the 30 days' cost leaves them out and says so
    assert "peak 1.00M on 2026-10-31  ·  $18.90 in 30 days  ·  5,100 tokens unpriced" in out
    # 30 days, 3 cells each at width 100: 10-31 (index 18) is █, 11-01 ▄ (400k/1M*8 = 3.2 -> 4), 11-02 ▂, 11-05 ▁
    spark = " " * 54 + "███" + "▄▄▄" + "▂▂▂" + " " * 6 + "▁▁▁" + " " * 12 + "██████"
    assert spark in out
    assert "member:alice (month)" in out and "$4.30 86.0%" in out and "warning" in out
    assert "11-11 00:30:00" in out  # A1 in the feed, local time
    assert "\x1b[" not in out  # NO_COLOR (set by conftest) and not a terminal: no escape codes


def test_top_panel_never_shows_unpriced_usage_as_dollars(tmp_path: Path, db_path: Path) -> None:
    """A member whose every token is unpriced reads "unpriced", not $0.00, even next to a priced
    request of 0 tokens (it costs $0.00); a member with some unpriced usage shows its priced part
    as a lower bound. November (Paris): alice A1 + A3 = 2.50 + 1.80 = $4.30 priced plus A6 unpriced
    -> "≥$4.30"; bob A2 + A4 = 0.60 + 4.00 = $4.60, all priced -> "$4.60"; dave D1 mistral 1,100
    tokens unpriced and D2 gpt-4o 0 tokens ($0) -> "unpriced"."""
    dave = [_ev("D1", "2026-11-06T12:00:00Z", "mistral-large-2411", "dave", inp=1_000, out=100),
            _ev("D2", "2026-11-06T13:00:00Z", "gpt-4o", "dave")]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "events.jsonl", EVENTS + dave)), "--db", str(db_path))
    out = run("dashboard", "--once", "--no-watch", "--db", str(db_path)).stdout
    top = out[out.index("Top this month") :]
    rows = {line.split()[1]: line.split()[-2] for line in top.splitlines()[3:6]}
    assert rows == {"bob": "$4.60", "alice": "≥$4.30", "dave": "unpriced"}


def test_models_panel_folds_the_rest_into_one_line(tmp_path: Path, db_path: Path) -> None:
    """Seven models in November (Paris): gpt-4o $6.50 (A1 2.50 + A4 4.00), claude-sonnet-4-5
    $1.80, gpt-4o-mini $0.60, gpt-5 $0.25 (200k input at $1.25/M), o3 $0.20 (100k at $2/M),
    claude-haiku-4-5 $0.10 (100k at $1/M), mistral unpriced. Five lines: four models and "(3
    others)" with the rest, the unpriced one in it: 0.20 + 0.10 = "≥$0.30" (QA: the panel showed five
    models and dropped the others silently, the unpriced one among them)."""
    more = [_ev("M1", "2026-11-03T10:00:00Z", "o3", "bob", inp=100_000),
            _ev("M2", "2026-11-03T11:00:00Z", "gpt-5", "bob", inp=200_000),
            _ev("M3", "2026-11-03T12:00:00Z", "claude-haiku-4-5", "bob", inp=100_000)]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "events.jsonl", EVENTS + more)), "--db", str(db_path))
    out = run("dashboard", "--once", "--no-watch", "--db", str(db_path)).stdout
    panel = out[out.index("Models this month") :].splitlines()[3:8]
    names = [line.split("  ")[0].strip(" │") for line in panel]
    assert names == ["gpt-4o", "claude-sonnet-4-5", "gpt-4o-mini", "gpt-5", "(3 others)"]
    assert "≥$0.30" in panel[-1] and "mistral" not in out[out.index("Models this month") :].split("Top")[0]


def test_narrow_frame_drops_panels_that_do_not_fit(db: Path) -> None:
    frame = Dashboard(make_context(None, db), watch=False).refresh()
    from usagectl.render.dashboard import build

    _, height = build(frame, 80, 24)
    assert height == 24
    buf = io.StringIO()
    from usagectl.render.table import make_console

    layout, _ = build(frame, 80, 24)
    console = make_console(buf, width=80, color=False)
    console.height = 24
    console.print(layout, height=24)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 24 and max(len(line) for line in lines) <= 80
    text = buf.getvalue()
    # 1 header + overview 7 + budgets 6 + series 5 = 19 lines; the feed keeps its minimum 5
    # (border, header, rule, the newest event A1); models (8) and top (6) do not fit
    assert "Month overview" in text and "Budgets" in text and "Last 30 days" in text
    assert "Latest events" in text and "11-11 00:30:00" in text and "11-10 23:30:00" not in text
    assert "Models this month" not in text and "Top this month" not in text


def _append(path: Path, record: dict[str, object]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def test_appended_line_of_a_watched_file_shows_in_the_next_frame(tmp_path: Path, db_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    f = write_jsonl(logs / "agent.jsonl", EVENTS[:2])
    run("source", "add", str(logs), "--name", "agent", "--db", str(db_path))
    dash = Dashboard(make_context(None, db_path), watch=True)
    first = dash.refresh()
    assert first.imported == 2 and first.data is not None
    assert [e["event_id"] for e in first.data.feed] == ["A1", "A2"]
    again = dash.refresh()  # nothing changed: no sync, no query, same data
    assert (again.requeried, again.imported) == (False, 0) and again.data is first.data
    # a coding agent writes one more line: 2026-11-11 00:10 UTC, gpt-4o, 200,000 in = $0.50
    _append(f, _ev("N1", "2026-11-10T23:50:00Z", "gpt-4o", "alice", inp=200_000))
    nxt = dash.refresh()
    assert nxt.imported == 1 and nxt.requeried and nxt.data is not None
    assert nxt.data.feed[0]["event_id"] == "N1" and nxt.data.feed[0]["cost_usd"] == Decimal("0.50")
    # today: A1 1,000,000 + N1 200,000 tokens; $2.50 + $0.50
    assert (nxt.data.today_tokens, nxt.data.today_cost_usd) == (1_200_000, Decimal("3.00"))
    buf = io.StringIO()
    render_frame(nxt, buf, width=100)
    assert "+1 new" in buf.getvalue() and "11-11 00:50:00" in buf.getvalue()


def test_no_watch_does_not_sync(tmp_path: Path, db_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    write_jsonl(logs / "agent.jsonl", EVENTS[:1])
    run("source", "add", str(logs), "--name", "agent", "--db", str(db_path))
    frame = Dashboard(make_context(None, db_path), watch=False).refresh()
    assert frame.data is not None and frame.data.feed == () and frame.imported == 0


_HOLD = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.read()"


def _live_text(frame: dash_svc.Frame, width: int = 100) -> str:
    """The frame as the live screen draws it (``refresh`` given: the header says "retrying")."""
    from usagectl.render.dashboard import build
    from usagectl.render.table import make_console

    layout, height = build(frame, width, None, refresh=2)
    buf = io.StringIO()
    console = make_console(buf, width=width, color=False)
    console.height = height
    console.print(layout, height=height)
    return buf.getvalue()


def test_busy_database_is_a_state_not_a_crash(db: Path) -> None:
    # max age 0: every refresh reads the panels again (an unchanged database is not even opened
    # for its change token, so a holder that writes nothing would go unnoticed, and rightly so)
    dash = Dashboard(make_context(None, db), watch=False, max_age_seconds=0)
    good = dash.refresh()
    assert good.state == "ok"
    # another process holds the write lock until we close its stdin (no sleeps: it says when)
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        busy = dash.refresh()
        assert busy.state == "busy" and busy.exit_code == 3
        assert busy.data is good.data  # the last data stays on screen
        live = _live_text(busy)
        assert "database busy, retrying" in live and "$8.90 this month" in live
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait()
    assert dash.refresh().state == "ok"


def test_once_on_a_busy_database_says_so_without_promising_a_retry(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """QA: `dashboard --once` printed "database busy, retrying" (twice, the detail cut at the box
    edge) and exited 3 without retrying. It now tries again for a few seconds (here: not at
    all), then says "database busy" and the whole message, holder's PID included, and exits 3."""
    import usagectl.cli.dashboard as cli_dash

    monkeypatch.setattr(cli_dash, "ONCE_BUSY_WAIT", 0.0)
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        res = run("dashboard", "--once", "--no-watch", "--db", str(db), expect=3)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait()
    assert "database busy" in res.stdout and "retrying" not in res.stdout
    assert " ".join(res.stdout.replace("│", " ").split()).count(f"PID {holder.pid})") == 1  # wrapped, not cut
    assert "is busy" in res.stderr  # and the error on stderr, as every command says it


def test_once_tries_again_while_another_process_writes(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The holder lets go after the first busy refresh: `--once` tries again and prints the
    frame (November's $8.90, see the module docstring), exit 0."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    real = Dashboard.refresh
    states: list[str] = []

    def refresh(self: Dashboard) -> dash_svc.Frame:
        frame = real(self)
        states.append(frame.state)
        if frame.state == "busy" and holder.poll() is None:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait()
        return frame

    monkeypatch.setattr(Dashboard, "refresh", refresh)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        res = run("dashboard", "--once", "--no-watch", "--db", str(db))
    finally:
        if holder.poll() is None:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait()
    assert states == ["busy", "ok"]
    assert "$8.90 this month" in res.stdout and "busy" not in res.stdout


def test_anomalies_from_an_injected_provider(db: Path) -> None:
    seen: list[ReportRequest] = []

    def fake(ctx: object, req: ReportRequest) -> list[dict[str, object]]:
        seen.append(req)
        return [{"day": "2026-11-10", "series": "tokens", "kind": "spike", "severity": "high", "detail": "3.1x"}]

    dash = Dashboard(make_context(None, db), watch=False, anomalies=fake, max_age_seconds=0)
    frame = dash.refresh()
    assert len(seen) == 1 and seen[0].now == NOW
    # max age 0: the panels are queried again, but the anomalies (past days) only when the data
    # or the day changed
    assert dash.refresh().requeried and len(seen) == 1
    buf = io.StringIO()
    render_frame(frame, buf, width=100)
    assert "Anomalies" in buf.getvalue() and "2026-11-10 tokens high spike: 3.1x" in buf.getvalue()

    def broken(ctx: object, req: ReportRequest) -> list[dict[str, object]]:
        raise RuntimeError("model not fitted")

    frame = Dashboard(make_context(None, db), watch=False, anomalies=broken).refresh()
    assert frame.state == "ok" and frame.data is not None
    assert frame.data.anomaly_error == "anomalies unavailable: model not fitted"


def test_long_since_keeps_the_days_that_fit(db: Path) -> None:
    # 2026-01-01 .. 2026-11-11 (Paris) is 315 days; at width 100 the chart keeps the last 96
    out = run("dashboard", "--once", "--no-watch", "--since", "2026-01-01", "--db", str(db)).stdout
    assert "Last 96 days (tokens)" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_a_chart_that_does_not_end_today_is_titled_with_its_last_day(db: Path) -> None:
    """QA: `--until` 40 days ago titled the chart "Last 30 days" over an axis of 09-20 .. 10-19.
    Today is 11-11 (Paris). --until 2026-11-02: the 30 days ending it start 29 days before,
    10-04 (October 4–31: 28 + November 1–2: 2 = 30). --since 2026-10-15 --until 2026-11-02:
    October 15–31 (17) + November 1–2 (2) = 19 days. --until today keeps "Last 30 days"."""
    out = run("dashboard", "--once", "--no-watch", "--until", "2026-11-02", "--db", str(db)).stdout
    assert "30 days to 2026-11-02 (tokens)" in out and "Last 30 days" not in out
    assert "10-04" in out and "11-02" in out
    args = ("--since", "2026-10-15", "--until", "2026-11-02")
    assert "19 days to 2026-11-02 (tokens)" in run("dashboard", "--once", "--no-watch", *args, "--db", str(db)).stdout
    out = run("dashboard", "--once", "--no-watch", "--until", "2026-11-11", "--db", str(db)).stdout
    assert "Last 30 days (tokens)" in out


def test_filters_apply_to_every_panel(db: Path) -> None:
    # member bob: A2 (Paris 11-10, 1,000,000 tokens, $0.60) and A4 (Paris 11-01, 400,000, $4.00)
    frame = Dashboard(make_context(None, db), ReportRequest(where={"member": ("bob",)}), watch=False).refresh()
    d = frame.data
    assert d is not None
    assert [e["event_id"] for e in d.feed] == ["A2", "A4"]
    assert (d.today_tokens, d.today_cost_usd) == (0, Decimal(0))  # nothing today: $0, not unpriced
    assert (d.overview("used_tokens"), d.overview("cost_usd")) == (1_400_000, Decimal("4.60"))
    assert sum(p.tokens for p in d.series) == 1_400_000


def test_empty_month_panels_say_so(tmp_path: Path, db_path: Path) -> None:
    """Usage only in October; the clock says 2026-11-11: the month's model and top panels say
    "no usage this month" instead of an empty box, and the 30-day chart still shows October."""
    ev = _ev("O1", "2026-10-20T10:00:00Z", "gpt-4o", "alice", inp=1_000_000)
    run("import", str(write_jsonl(tmp_path / "o.jsonl", [ev])), "--db", str(db_path))
    out = run("dashboard", "--once", "--no-watch", "--db", str(db_path)).stdout
    assert out.count("no usage this month") == 2
    assert "peak 1.00M on 2026-10-20" in out


def test_thirty_days_of_unpriced_usage_are_unpriced_never_0(tmp_path: Path, db_path: Path) -> None:
    """QA: the 30-day panel summed the days' costs with an unpriced day as $0: 1.1M tokens of a
    model without a price showed as "$0.00 in 30 days", and nothing on the frame said so."""
    ev = _ev("U1", "2026-10-31T10:00:00Z", "claude-foo-9", "alice", inp=1_000_000, out=100_000)
    run("import", str(write_jsonl(tmp_path / "u.jsonl", [ev])), "--db", str(db_path))
    out = run("dashboard", "--once", "--no-watch", "--db", str(db_path)).stdout
    assert "peak 1.10M on 2026-10-31  ·  unpriced in 30 days  ·  1.10M tokens unpriced" in out
    assert "$0.00 in 30 days" not in out


LONG_DETAIL = "spike of $10.73 vs expected $1.02 (z 17.8), the largest day of this series in the 8-week baseline"


@pytest.mark.parametrize("width", [100, 110, 120, 130])
def test_two_column_widths_keep_budget_numbers_the_unpriced_line_and_fold_an_anomaly(
    tmp_path: Path, db: Path, width: int
) -> None:
    """QA at 110/120 columns: "140.…", "exce…", the unpriced line dropped, an anomaly cut mid-sentence.
    The anomaly, longer than the panel at every width, is folded onto more lines: every word
    shown, no number cut, no "…" (it was cut with one, and at 80 columns that cut "$0.29" to "$0…").

    Budgets (see the module docstring): member:alice $4.30 of $5 = 86.0 % (warning); global
    $8.90 of $1 = 890.0 % (exceeded). The projection line "Projected $26.59 at month end, 7.78M
    tokens = 155.6% of quota" is 61 characters: it wraps in a half column at 110 and 120 (55 and
    60 columns, 51 and 56 inside the border), so the overview needs one line more there.
    """
    from usagectl.render.dashboard import build
    from usagectl.render.table import make_console

    (tmp_path / "work" / "usagectl.toml").write_text(
        CONFIG + '[[budgets]]\nscope = "global"\namount = 1\nperiod = "month"\n', encoding="utf-8"
    )

    def one(ctx: object, req: ReportRequest) -> list[dict[str, object]]:
        return [{"day": "2026-11-10", "series": "member:bob", "kind": "spike", "severity": "high",
                 "detail": LONG_DETAIL}]  # fmt: skip

    frame = Dashboard(make_context(None, db), watch=False, anomalies=one).refresh()
    layout, _ = build(frame, width, 40)
    buf = io.StringIO()
    console = make_console(buf, width=width, color=False)
    console.height = 40
    console.print(layout, height=40)
    lines = buf.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width
    text = buf.getvalue()
    alice = next(line for line in lines if "member:alice (month)" in line)
    glob = next(line for line in lines if "global (month)" in line)
    assert "$4.30 86.0%" in alice and "warning" in alice
    assert "$8.90 890.0%" in glob and "exceeded" in glob
    assert "Unpriced  1 request, NOT in the cost" in text
    assert "Projected $26.59" in text
    body = _box_lines(text, "Anomalies")
    assert body[0].startswith("2026-11-10 member:bob high spike of $10.73")  # the kind said once
    assert " ".join(" ".join(body).split()) == f"2026-11-10 member:bob high {LONG_DETAIL}"
    assert len(body) > 1 and not any("…" in line for line in body)


def test_refresh_is_bounded_with_a_usage_error(db: Path) -> None:
    """QA: `--refresh inf` or `1e10` passed the check (at least 0.2) and the live loop died with
    OverflowError in select(). Between 0.2 and 3600 seconds; NaN refused; 3600 itself accepted."""
    for value, shown in (("inf", "inf"), ("1e10", "1e+10"), ("nan", "nan"), ("3600.5", "3600.5")):
        res = run("dashboard", "--once", "--no-watch", "--refresh", value, "--db", str(db), expect=2)
        assert f"--refresh {shown}: must be between 0.2 and 3600 seconds" in res.stderr
    assert "$8.90 this month" in run("dashboard", "--once", "--no-watch", "--refresh", "3600", "--db", str(db)).stdout


def test_a_database_without_usage_says_so_not_peak_0(db_path: Path) -> None:
    """QA: an empty database showed "peak 0 on <the first of the 30 days>"."""
    from usagectl.store.connection import ensure_ready

    ensure_ready(db_path)
    out = run("dashboard", "--once", "--no-watch", "--db", str(db_path)).stdout
    assert "no usage in these 30 days" in out
    assert "peak" not in out


def _box_lines(out: str, title: str) -> list[str]:
    """The body lines of the panel titled ``title``, beside another one or not: the text
    between its borders, from its first line to its bottom border."""
    lines = out.splitlines()
    top = next(i for i, line in enumerate(lines) if f"╭─ {title} " in line)
    left = lines[top].index(f"╭─ {title} ")
    right = lines[top].index("╮", left)
    body = []
    for line in lines[top + 1 :]:
        if line[left] == "╰":
            return body
        body.append(line[left + 1 : right].strip())
    raise AssertionError(f"{title}: no bottom border")


def _panel_lines(out: str, title: str) -> list[str]:
    """The body lines of a stacked panel (width < 110): from under its header rule to its border."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if f"─ {title} " in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("╰"))
    return [line.strip("│ ") for line in lines[start + 1 : end]]


def test_budgets_panel_shows_the_worst_first_and_counts_the_rest(isolated_env: Path, db: Path) -> None:
    """QA: the panel showed the first 6 budgets in config order, all "ok", with no sign of a 7th
    one exceeded. Eight budgets: the plan quota 2,605,100 / 5,000,000 = 52.1 % (ok), member:alice
    $4.30 / $5 = 86 % (warning), member:x1..x5 $0 of $100 (0 %, ok) and, last in the config,
    global $8.90 / $1 = 890 % (exceeded). Worst first: global, alice, the quota, then x1..x3 in
    config order; x4 and x5 are counted in a "+2 more" line."""
    extra = "".join(f'[[budgets]]\nscope = "member:x{i}"\namount = 100\nperiod = "month"\n' for i in range(1, 6))
    extra += '[[budgets]]\nscope = "global"\namount = 1\nperiod = "month"\n'
    (isolated_env / "usagectl.toml").write_text(CONFIG + extra, encoding="utf-8")
    body = _panel_lines(run("dashboard", "--once", "--no-watch", "--db", str(db)).stdout, "Budgets")
    labels = [line.split("  ")[0] for line in body[2:8]]
    assert labels == ["global (month)", "member:alice (month)", "plan quota",
                      "member:x1 (month)", "member:x2 (month)", "member:x3 (month)"]  # fmt: skip
    assert "$8.90 890.0%" in body[2] and "exceeded" in body[2]
    assert body[8:] == ["+2 more: usagectl budget status"]


def test_anomalies_panel_shows_the_worst_first_and_counts_the_rest(db: Path) -> None:
    """QA: the first 4 anomalies by series name, the total's spike (the one naming who caused
    it) unseen. Given in series-name order, they are shown by severity, the total first within
    one, then the newest day: high total (11-09), high member:dave (11-10), high member:carol
    (11-08), medium member:bob; the two low ones are counted in a "+2 more" line."""
    given = [("2026-11-09", "member:alice", "low"), ("2026-11-10", "member:bob", "medium"),
             ("2026-11-08", "member:carol", "high"), ("2026-11-10", "member:dave", "high"),
             ("2026-11-10", "model:gpt-4o", "low"), ("2026-11-09", "total", "high")]  # fmt: skip

    def provider(ctx: object, req: ReportRequest) -> list[dict[str, object]]:
        return [{"day": d, "series": s, "kind": "spike", "severity": sev, "detail": "x"} for d, s, sev in given]

    frame = Dashboard(make_context(None, db), watch=False, anomalies=provider).refresh()
    assert frame.data is not None
    assert [a["series"] for a in frame.data.anomalies] == [
        "total", "member:dave", "member:carol", "member:bob", "model:gpt-4o", "member:alice",
    ]  # fmt: skip
    buf = io.StringIO()
    render_frame(frame, buf, width=100)
    assert _panel_lines(buf.getvalue(), "Anomalies") == [
        "2026-11-09 total high spike: x", "2026-11-10 member:dave high spike: x",
        "2026-11-08 member:carol high spike: x", "2026-11-10 member:bob medium spike: x",
        # the panel's 7 complete days (Paris 11-04 .. 11-10), not the command's default 14
        "+2 more: usagectl anomalies --by member --by model --since 2026-11-04 --until 2026-11-10",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("width", "a1", "a6"),
    [
        # half of 110 = 55, 51 inside: time 14 + tokens 9 ("1,000,000") + cost 8 ("unpriced") + 4 gaps
        # of 3 leave 8 for model and who (< 10 + 5): counts abbreviated (tokens 6 wide) leave 11,
        # still short: Who is left out, and the model gets 51 - 14 - 6 - 8 - 3 * 3 = 14
        (110, ["gpt-4o", "1.00M", "$2.50"], ["mistral-large…", "5,100", "unpriced"]),
        # 60 wide, 56 inside: full counts leave 13, abbreviated 16: Who 5 ("alice"), model 11
        (120, ["gpt-4o", "alice", "1.00M", "$2.50"], ["mistral-la…", "alice", "5,100", "unpriced"]),
        # 65 wide, 61 inside: full counts leave 61 - 31 - 12 = 18: Who 5, model 13
        (130, ["gpt-4o", "alice", "1,000,000", "$2.50"], ["mistral-larg…", "alice", "5,100", "unpriced"]),
    ],
)
def test_the_feed_never_cuts_a_number(db: Path, width: int, a1: list[str], a6: list[str]) -> None:
    """QA at 110-120 columns: the feed (beside the top members: five panels come before it)
    showed "800,…", "unpric…" and a cut time while the model column had room. A1 is 11-11
    00:30 Paris, gpt-4o, alice, 1,000,000 tokens, $2.50; A6 11-05 13:00, mistral, 5,100 tokens,
    unpriced. The model name is shortened first, then counts abbreviated, then Who left out."""
    frame = Dashboard(make_context(None, db), watch=False).refresh()
    buf = io.StringIO()
    render_frame(frame, buf, width=width)
    lines = buf.getvalue().splitlines()

    def cells(time: str) -> list[str]:
        line = next(line for line in lines if time in line)
        return line.split(time, 1)[1].replace("│", " ").split()

    assert cells("11-11 00:30:00") == a1
    assert cells("11-05 13:00:00") == a6
    assert max(len(line) for line in lines) <= width


@pytest.mark.parametrize(
    ("width", "anthropic", "bedrock"),
    [
        (100, "claude-sonnet-4-5 (anthropic)", "claude-sonnet-4-5 (bedrock)"),
        # half of 110 = 55, 51 inside: tokens 6 + share 5 + cost 8 ("unpriced") + 3 gaps of 3
        # leave 23 for the label; the name is shortened, the provider kept
        (110, "claude-son… (anthropic)", "claude-sonne… (bedrock)"),
    ],
)
def test_models_panel_names_the_provider_of_a_model_listed_twice(
    tmp_path: Path, db_path: Path, width: int, anthropic: str, bedrock: str
) -> None:
    """QA: claude-sonnet-4-5 through Anthropic and through Bedrock made two rows with the same
    name. B1 (11-03, Bedrock, 100,000 output at $15/M) = $1.50; A3 (Anthropic) 200,000 tokens
    $1.80. November: 2,705,100 tokens; shares 200,000 / 2,705,100 = 7.39 % -> 7.4 %, 100,000 /
    2,705,100 = 3.70 % -> 3.7 %. gpt-4o (one provider) keeps its bare name."""
    b1 = _ev("B1", "2026-11-03T10:00:00Z", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bob", out=100_000)
    run("import", str(write_jsonl(tmp_path / "e.jsonl", [*EVENTS, b1 | {"provider": "bedrock"}])), "--db", str(db_path))
    frame = Dashboard(make_context(None, db_path), watch=False).refresh()
    buf = io.StringIO()
    render_frame(frame, buf, width=width)
    lines = buf.getvalue().splitlines()
    first = next(i for i, line in enumerate(lines) if "─ Models this month " in line)
    col = lines[first].index("╭─ Models this month ")  # at 110 the panel is the right one of a pair
    panel = width // 2 if width >= 110 else width
    rows = [" ".join(line[col : col + panel].strip("│ ").split()) for line in lines[first + 3 : first + 6]]
    assert rows == ["gpt-4o 1.40M 51.8% $6.50", f"{anthropic} 200k 7.4% $1.80", f"{bedrock} 100k 3.7% $1.50"]


LONG = "alexandra.konstantinopoulou-papadimitriou@research.example-corporation.com"  # 74 characters
MID = "alexandra.konstantinopoulou@example-corporation.com"  # 51


@pytest.mark.parametrize(
    ("width", "lines"),
    [
        # 76 inside: cost 10 ("$12,500.00") + tokens 6 (the header; "2.00B" is 5) + 2 gaps of 3
        # leave 54 for the name: LONG keeps 53 characters and "…", MID (51) stays whole
        (80, [f"{'Top members':<54}   Tokens         Cost",
              f"{LONG[:53]}…    2.00B   $12,500.00",
              f"{MID:<54}     100M      $250.00",
              f"{'bob':<54}    1.00M        $2.50"]),
        # 68 inside: 68 - 10 - 6 - 6 = 46 for the name: 45 characters and "…"
        (72, [f"{'Top members':<46}   Tokens         Cost",
              f"{LONG[:45]}…    2.00B   $12,500.00",
              f"{MID[:45]}…     100M      $250.00",
              f"{'bob':<46}    1.00M        $2.50"]),
        # 32 inside: 32 - 10 - 3 = 19 for the name and tokens, 19 - 6 - 3 = 10 < 11 ("Top
        # members"): Tokens is left out rather than cut the header; the name gets 19
        (36, [f"{'Top members':<19}         Cost",
              f"{LONG[:18]}…   $12,500.00",
              f"{MID[:18]}…      $250.00",
              f"{'bob':<19}        $2.50"]),
    ],
)  # fmt: skip
def test_top_panel_shortens_a_long_name_never_a_number(
    tmp_path: Path, db_path: Path, width: int, lines: list[str]
) -> None:
    """QA at 80 columns: a member's e-mail kept its width, so Tokens was left out and the cost
    read "$1…" (at 72: "Tok…", "$12,150.…"). gpt-4o at $2.50 / $10.00 per 1M, November (Paris):
    LONG 1,000,000,000 in + 1,000,000,000 out = 2,500 + 10,000 = $12,500.00, 2.00B tokens;
    MID 100,000,000 in = $250.00, 100M; bob 1,000,000 in = $2.50, 1.00M. The name is shortened
    with "…" (as in the Models panel), the token counts are abbreviated, Tokens is left out last;
    no number and no header is cut."""
    events = [_ev("L1", "2026-11-05T12:00:00Z", "gpt-4o", LONG, inp=1_000_000_000, out=1_000_000_000),
              _ev("M1", "2026-11-05T12:00:00Z", "gpt-4o", MID, inp=100_000_000),
              _ev("B1", "2026-11-05T12:00:00Z", "gpt-4o", "bob", inp=1_000_000)]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    frame = Dashboard(make_context(None, db_path), watch=False).refresh()
    buf = io.StringIO()
    render_frame(frame, buf, width=width)
    body = _panel_lines(buf.getvalue(), "Top this month")
    assert [body[0], *body[2:]] == lines
    assert max(len(line) for line in buf.getvalue().splitlines()) == width


def test_anomalies_hint_names_the_panels_days_zone_and_filters(db: Path) -> None:
    """QA: the panel covers the last 7 complete days, but its "+N more" hint named `usagectl
    anomalies --by member --by model`, which checks 14 days by default and listed others. NOW =
    11-11 00:00Z = 11-11 01:00 in Paris: the 7 complete days are 11-04 .. 11-10 (`--since 7d`
    would be 11-05 .. 11-11, today included). The dashboard's --tz and filters go with them.
    At 80 columns (76 inside) "+1 more: usagectl anomalies --by member --by model --since
    2026-11-04" is 69; " --until 2026-11-10" would make 88: it folds, each option with its value."""
    given = [("2026-11-10", f"member:u{i}", "spike", "low", "x") for i in range(5)]

    def provider(ctx: object, req: ReportRequest) -> list[dict[str, object]]:
        return [{"day": d, "series": s, "kind": k, "severity": sev, "detail": det} for d, s, k, sev, det in given]

    ctx = make_context(None, db)
    req = ReportRequest(tz="Europe/Paris", where={"member": ("bob",), "cost_center": ("R&D 1",)})
    frame = Dashboard(ctx, req, watch=False, anomalies=provider).refresh()
    buf = io.StringIO()
    render_frame(frame, buf, width=80)
    assert _panel_lines(buf.getvalue(), "Anomalies")[-2:] == [
        "+1 more: usagectl anomalies --by member --by model --since 2026-11-04",
        "--until 2026-11-10 --tz Europe/Paris --member bob --cost-center 'R&D 1'",
    ]
    # the named range is the very one the panel's provider (7 days) checks: Paris midnights,
    # 11-04 00:00 = 11-03 23:00Z to 11-11 00:00 = 11-10 23:00Z
    from dataclasses import replace

    from usagectl.services.anomalies import find

    _, _, panel, _, _ = find(ctx, replace(req, now=NOW), by=("member", "model"), days=7, recommend=False)
    hinted_req = replace(req, since="2026-11-04", until="2026-11-10", now=NOW)
    _, _, hinted, _, _ = find(ctx, hinted_req, by=("member", "model"), recommend=False)
    assert hinted == panel
    assert (panel.start, panel.end) == (datetime(2026, 11, 3, 23, tzinfo=UTC), datetime(2026, 11, 10, 23, tzinfo=UTC))


def test_a_running_dashboard_reads_the_edited_config(
    isolated_env: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: a quota or budget set in another shell never showed in a running dashboard. The next
    refresh after the edit reads it: quota 2,000,000 -> 2,605,100 * 100 / 2,000,000 = 130.255 %;
    budgets worst first: global $8.90 / $1 = 890 % and the quota 130.255 % (both exceeded), then
    member:alice 86 % (warning). A refresh with the file unchanged does not read it again."""
    from usagectl.services import status_line

    reads: list[int] = []
    real = status_line.reread_config
    monkeypatch.setattr(status_line, "reread_config", lambda ctx: reads.append(1) or real(ctx))
    dash = Dashboard(make_context(None, db), watch=False)
    first = dash.refresh()
    assert first.data is not None and first.data.overview("quota_tokens") == 5_000_000
    assert [(b.budget.label, b.level) for b in first.data.budgets] == [
        ("member:alice (month)", "warning"), ("plan quota", "ok"),
    ]  # fmt: skip
    assert dash.refresh().requeried is False and len(reads) == 1
    edited = CONFIG.replace("5000000", "2000000") + '[[budgets]]\nscope = "global"\namount = 1\nperiod = "month"\n'
    (isolated_env / "usagectl.toml").write_text(edited, encoding="utf-8")
    nxt = dash.refresh()
    assert nxt.requeried and len(reads) == 2 and nxt.data is not None
    assert (nxt.data.overview("quota_tokens"), nxt.data.overview("quota_pct")) == (2_000_000, Decimal("130.255"))
    assert [(b.budget.label, b.level, b.percent) for b in nxt.data.budgets] == [
        ("global (month)", "exceeded", Decimal(890)),
        ("plan quota", "exceeded", Decimal("130.255")),
        ("member:alice (month)", "warning", Decimal(86)),
    ]


def test_an_unchanged_database_is_not_opened(tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """QA: an import beside a live dashboard failed "database busy" 1 time in 3: every refresh
    opened the database for its change token. While the file and its WAL keep their size and
    mtime, a refresh opens nothing; a new import (N2: 11-11 00:20 Paris, gpt-4o, 100,000 input
    = $0.25) is read at the next one."""
    import usagectl.store.connection as conn

    dash = Dashboard(make_context(None, db), watch=False)
    assert dash.refresh().state == "ok"
    opened: list[Path] = []
    real = conn.connect
    monkeypatch.setattr(conn, "connect", lambda path, **kw: opened.append(path) or real(path, **kw))
    again = dash.refresh()
    assert (again.state, again.requeried, opened) == ("ok", False, [])
    n2 = _ev("N2", "2026-11-10T23:20:00Z", "gpt-4o", "alice", inp=100_000)
    run("import", str(write_jsonl(tmp_path / "n2.jsonl", [n2])), "--db", str(db))
    nxt = dash.refresh()
    assert opened and nxt.requeried and nxt.data is not None
    assert nxt.data.feed[1]["event_id"] == "N2" and nxt.data.feed[1]["cost_usd"] == Decimal("0.25")


def test_usage_dated_after_now_is_in_every_month_panel_and_not_extrapolated(tmp_path: Path, db: Path) -> None:
    """QA: usage dated after now (a clock ahead) was in the month's tokens (50 %) but not in the
    budgets nor the top panel of the same frame. A7 11-20 12:00Z, alice, gpt-4o 200,000 in = $0.50,
    on top of the fixture (module docstring):
    month 2,605,100 + 200,000 = 2,805,100 tokens = 56.102 % of 5,000,000 -> 56.1 %;
    projection: only the usage up to now runs at the rate, A7 is added as it is:
    int(2,605,100 x 720 / 241) + 200,000 = 7,782,871 + 200,000 = 7,982,871 tokens;
    8.90 x 720 / 241 + 0.50 = 26.589... + 0.50 = 27.089... -> $27.09;
    top: alice 4.30 + 0.50 = $4.80 (1,405,100 tokens) before bob $4.60;
    budget member:alice 4.80 of 5 = 96 % (critical). The feed still ends today (no A7)."""
    a7 = _ev("A7", "2026-11-20T12:00:00Z", "gpt-4o", "alice", inp=200_000)
    run("import", str(write_jsonl(tmp_path / "a7.jsonl", [a7])), "--db", str(db))
    d = Dashboard(make_context(None, db), watch=False).refresh().data
    assert d is not None
    assert (d.overview("used_tokens"), d.overview("after_now_tokens")) == (2_805_100, 200_000)
    assert d.overview("projected_tokens") == 7_982_871
    assert d.overview("projected_cost_usd").quantize(Decimal("0.01")) == Decimal("27.09")
    top = d.top[0]
    assert (top.name, top.tokens, top.cost_usd) == ("alice", 1_405_100, Decimal("4.80"))
    alice = next(b for b in d.budgets if b.budget.scope == "member:alice")
    assert (alice.spent, alice.percent, alice.level, alice.later) == (Decimal("4.80"), 96, "critical", Decimal("0.50"))
    assert "A7" not in [e["event_id"] for e in d.feed]
    out = run("dashboard", "--once", "--no-watch", "--db", str(db)).stdout
    assert "Tokens    2.81M / 5.00M (56.1%)" in out and "$4.80 96.0%" in out
    assert "Projected $27.09 at month end, 7.98M tokens" in out
    assert "Ahead     200,000 tokens dated after now, counted, not extrapolated" in out


def test_anomalies_at_80_columns_fold_and_never_cut_a_number(db: Path) -> None:
    """QA in an 80x24 terminal: "expected $0…", "(z 7.…" and "spike medium spike of". At 80
    columns the panel has 80 - 2 (border) - 2 (padding) = 76 inside. The kind is said once
    (a spike's detail starts with it; another kind heads its detail with a colon). By hand:

    - total, high: "2026-11-09 total high " (22) + "spike of $14.76 vs expected $2.23 (z 20.3)"
      (42) = 64; its first extra "; excess from member frank +$4.50" (33) would make 97 > 76:
      left out, and "; …" (3, 67 <= 76) says so.
    - model:claude-opus-4-1, medium (11-10, newer than heidi's 11-08): 10 + 1 + 21 + 1 + 6 + 1 +
      40 = 81 > 76: the line breaks before "(z 6.3)" (73 before it), which goes under the date,
      11 columns in, whole ("(z" and its number fold together).
    - member:heidi, medium, off-hours: "2026-11-08 member:heidi medium off-hours: 3 requests at
      02:00, never active" is 75; " within" would make 82: the rest (45) on a second line.
    - member:david, low: 10 + 1 + 12 + 1 + 3 + 1 + 40 = 68: one line.
    - member:erin, low, older: the fifth, counted in "+1 more"."""
    given = [
        ("2026-11-09", "total", "spike", "high",
         "spike of $14.76 vs expected $2.23 (z 20.3); excess from member frank +$4.50, model gpt-4o +$4.03"),
        ("2026-11-10", "model:claude-opus-4-1", "spike", "medium", "spike of $4.03 vs expected $0.00 (z 6.3)"),
        ("2026-11-08", "member:heidi", "off-hours", "medium",
         "3 requests at 02:00, never active within 4 h of that before (usual hours 09–18)"),
        ("2026-11-07", "member:david", "spike", "low", "spike of $2.01 vs expected $0.63 (z 3.9)"),
        ("2026-11-06", "member:erin", "drop", "low", "drop of $0.00 vs expected $1.00 (z 5.0)"),
    ]  # fmt: skip

    def provider(ctx: object, req: ReportRequest) -> list[dict[str, object]]:
        return [{"day": d, "series": s, "kind": k, "severity": sev, "detail": det} for d, s, k, sev, det in given]

    frame = Dashboard(make_context(None, db), watch=False, anomalies=provider).refresh()
    buf = io.StringIO()
    render_frame(frame, buf, width=80)
    out = buf.getvalue()
    assert max(len(line) for line in out.splitlines()) == 80
    assert _panel_lines(out, "Anomalies") == [
        "2026-11-09 total high spike of $14.76 vs expected $2.23 (z 20.3); …",
        "2026-11-10 model:claude-opus-4-1 medium spike of $4.03 vs expected $0.00",
        "(z 6.3)",
        "2026-11-08 member:heidi medium off-hours: 3 requests at 02:00, never active",
        "within 4 h of that before (usual hours 09–18)",
        "2026-11-07 member:david low spike of $2.01 vs expected $0.63 (z 3.9)",
        # 50 + " --since 2026-11-04" (19) = 69 <= 76; " --until 2026-11-10" would make 88: folded
        "+1 more: usagectl anomalies --by member --by model --since 2026-11-04",
        "--until 2026-11-10",
    ]
    assert "│ " + " " * 11 + "(z 6.3)" in out  # under the date


@pytest.mark.parametrize(("columns", "width"), [("80", 80), ("132", 132), (None, 100), ("0", 100), ("wide", 100)])
def test_once_honours_columns(db: Path, monkeypatch: pytest.MonkeyPatch, columns: str | None, width: int) -> None:
    """QA: `COLUMNS=80 usagectl dashboard --once > frame.txt` was 100 columns wide (reports honour
    COLUMNS), so the frame wrapped in the 80-column terminal it was shown in. COLUMNS set (a
    positive whole number): that width; unset or not a width: 100, as before. The header line
    and every border span the whole width."""
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    lines = run("dashboard", "--once", "--no-watch", "--db", str(db)).stdout.splitlines()
    assert {len(line) for line in lines if line.startswith(("╭", "╰"))} == {width}
    assert max(len(line) for line in lines) == width


class _TTY(io.StringIO):
    """A terminal as far as Rich and the dashboard can tell (its size: ``os.get_terminal_size``
    of descriptor 1, which the tests that need one replace)."""

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return 1


def test_a_dumb_terminal_gets_plain_frames_each_time_they_change(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """QA: in a pty with TERM=dumb (Emacs' M-x shell, some CI ptys), `usagectl dashboard` wrote 0
    bytes for 4 s and exited 0 on q: Rich's full-screen Live never draws on a terminal that
    cannot move the cursor. There each frame is printed whole, one under the other, as --once
    prints it but with the live header; a refresh that shows the same numbers (only the clock
    moved) prints nothing. Four refreshes: ok; the same data a second later (not printed);
    busy, the last data kept (printed: it says so); ok again (printed). 3 frames, no escape
    sequence (no cursor movement, no alternate screen)."""
    from dataclasses import replace

    import usagectl.cli.dashboard as cli_dash

    good = Dashboard(make_context(None, db), watch=False).refresh()
    later = replace(good, now=datetime(2026, 11, 11, 0, 0, 1, tzinfo=UTC))
    busy = replace(later, state="busy", message="database busy (held by PID 1)", requeried=False)
    frames = [good, later, busy, replace(later, now=datetime(2026, 11, 11, 0, 0, 3, tzinfo=UTC))]

    class Frames:
        def refresh(self) -> object:
            return frames.pop(0)

    def wait(self: object, timeout: float) -> str | None:
        return None if frames else "quit"  # each refresh's wait runs out, then q

    out = _TTY()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setenv("COLUMNS", "90")
    monkeypatch.setattr(cli_dash.KeyReader, "wait", wait)
    cli_dash._live(Frames(), 0.2)
    text = out.getvalue()
    headers = [line for line in text.splitlines() if line.startswith("usagectl dashboard")]
    # the clock of each printed frame: 01:00:00, the busy one's 01:00:01, 01:00:03 (Paris, UTC+1)
    assert [h.split()[3] for h in headers] == ["01:00:00", "01:00:01", "01:00:03"]
    assert [h.rstrip().endswith("every 0.2s  ·  q quits") for h in headers] == [True, False, True]
    # the busy state comes before the reminder, and the line is cut at 90 columns with "…":
    # 18 + 34 (the clock) + 28 (the state) = 80, + 9 ("  ·  ever") = 89, + "…" = 90
    assert headers[1] == "usagectl dashboard  2026-11-11 01:00:01 Europe/Paris  ·  database busy, retrying  ·  ever…"
    assert text.count("$8.90 this month") == 3  # every frame whole, the busy one's from the last data
    assert max(len(line) for line in text.splitlines()) == 90  # COLUMNS wide, as --once
    assert "\x1b" not in text


def test_once_on_a_terminal_of_size_0_is_100_columns(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """QA: a pseudo-terminal nobody sized (`docker run -t`, `script` in CI) is 0 x 0; with no
    COLUMNS `dashboard --once` took 0 as the width and printed 0 bytes, exit 0 (the reports fell
    back to 80 there). A width of 0 is no width: the README's "else 100 columns"."""
    import os

    import usagectl.cli.dashboard as cli_dash

    monkeypatch.setattr(sys, "stdout", _TTY())
    monkeypatch.setattr(os, "get_terminal_size", lambda fd=1: os.terminal_size((0, 0)))
    assert cli_dash._once_width() == 100
    monkeypatch.setattr(os, "get_terminal_size", lambda fd=1: os.terminal_size((120, 40)))
    assert cli_dash._once_width() == 120  # a sized terminal is used as before
