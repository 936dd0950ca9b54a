"""Text from the input never reaches the terminal raw (README, "Using it"): the dashboard's
panels, a chat's and a message's title line, the filters under a title, an export's notes on
stderr and an events CSV written to a terminal show control characters escaped (``\\x1b``,
``\\x07``); JSON and the files an export writes keep the exact text.

The input (QA): e1 by member ``ev ESC[31m il BEL`` in chat ``t ESC]0;pwn BEL x`` (session s1),
gpt-4o, 100 in + 10 out = 100 * 2.50 / 1M + 10 * 10.00 / 1M = $0.00025 + $0.0001 = $0.00035;
e2 by bob on model ``my ESC[2J model``, which no price table knows: unpriced. An escaped name
is the text ``printable`` gives: every control character as ``\\x`` and two hex digits.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import run, write_jsonl
from usagectl.render.dashboard import render_frame, status_text
from usagectl.services import dashboard as dash_svc
from usagectl.services.context import make_context
from usagectl.services.dashboard import Dashboard
from usagectl.services.reports import ReportRequest

MEMBER, SHOWN_MEMBER = "ev\x1b[31mil\x07", "ev\\x1b[31mil\\x07"
MODEL, SHOWN_MODEL = "my\x1b[2Jmodel", "my\\x1b[2Jmodel"
TITLE, SHOWN_TITLE = "t\x1b]0;pwn\x07x", "t\\x1b]0;pwn\\x07x"
MESSAGE, SHOWN_MESSAGE = "m\x1b[5m2", "m\\x1b[5m2"
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
RAW = ("\x1b", "\x07")


def _raw(text: str) -> bool:
    return any(ch in text for ch in RAW)


@pytest.fixture
def db(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rows = [
        {"event_id": "e1", "ts": "2026-11-27T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 100,
         "output_tokens": 10, "member": MEMBER, "chat_title": TITLE, "session_id": "s1"},
        {"event_id": "e2", "ts": "2026-11-27T11:00:00Z", "model_raw": MODEL, "input_tokens": 100,
         "output_tokens": 10, "member": "bob", "message_id": MESSAGE},
    ]  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "esc.jsonl", rows)), "--db", str(db_path))
    monkeypatch.setenv("USAGECTL_DB", str(db_path))
    monkeypatch.setattr(dash_svc, "_clock", lambda: NOW)
    return db_path


def test_dashboard_panels_show_names_escaped(db: Path) -> None:
    """Models (my…model unpriced, gpt-4o), top members (ev…il $0.00035, bob unpriced), the feed
    (both events) and an anomaly's series and detail: every name escaped, no ESC or BEL in the
    frame (no colour here: a raw ESC could only come from the data)."""

    def provider(ctx: object, req: ReportRequest) -> list[dict[str, object]]:
        return [{"day": "2026-11-27", "series": f"member:{MEMBER}", "kind": "spike", "severity": "high",
                 "detail": f"spike of $1.00 vs expected $0.10 (z 9.0); excess from model {MODEL} +$0.90"}]  # fmt: skip

    frame = Dashboard(make_context(None, db), watch=False, anomalies=provider).refresh()
    buf = io.StringIO()
    render_frame(frame, buf, width=300)  # two columns of 150: the anomaly's extra fits its line
    out = buf.getvalue()
    assert not _raw(out)
    lines = out.splitlines()
    assert any(SHOWN_MODEL in line and "unpriced" in line for line in lines)  # models panel and feed
    assert sum(SHOWN_MODEL in line for line in lines) >= 2
    assert any(SHOWN_MEMBER in line and "$0.00035" in line for line in lines)  # top members, feed
    assert f"2026-11-27 member:{SHOWN_MEMBER} high spike of $1.00" in out
    assert f"excess from model {SHOWN_MODEL} +$0.90" in out
    # the command, not a pipe: the frame on stdout
    assert not _raw(run("dashboard", "--once", "--no-watch").stdout)


def test_dashboard_error_and_status_line_show_text_escaped(db: Path) -> None:
    """A budget's label in the status line and an error message in the header: escaped."""
    from dataclasses import replace

    frame = Dashboard(make_context(None, db), watch=False).refresh()
    failed = replace(frame, state="error", message=f"cannot read {MODEL}.jsonl")
    buf = io.StringIO()
    render_frame(failed, buf, width=200)
    assert f"error: cannot read {SHOWN_MODEL}.jsonl" in buf.getvalue() and not _raw(buf.getvalue())

    from usagectl.services.status_line import StatusLine

    line = StatusLine(day=NOW.date(), tz="UTC", today_tokens=0, today_cost_usd=None, today_unpriced_requests=0,
                      month="2026-11", month_tokens=220, month_cost_usd=None, month_unpriced_requests=1,
                      quota_tokens=None, quota_pct=None, budgets=1, worst_level="ok",
                      worst_budget=f"member:{MEMBER} (month)", worst_pct=None)  # fmt: skip
    assert f"budget ok (member:{SHOWN_MEMBER} (month)" in status_text(line) and not _raw(status_text(line))


def test_chat_and_message_titles_are_escaped_and_json_keeps_the_text(db: Path) -> None:
    """QA: `chat show s1` printed "Chat t ESC]0;pwn BEL x (UTC)" raw, which retitles a terminal.
    The title line and the Markdown heading escape it; the message's id (from the log) too, in its
    title and in the filters line under it; JSON keeps the exact text."""
    table = run("chat", "show", "s1").stdout
    assert table.splitlines()[0] == f"Chat {SHOWN_TITLE} (UTC)"
    assert not _raw(table)
    markdown = run("chat", "show", "s1", "--format", "markdown").stdout
    assert markdown.splitlines()[0] == f"## Chat {SHOWN_TITLE} (UTC)" and not _raw(markdown)
    doc = json.loads(run("chat", "show", "s1", "--json").stdout)
    assert doc["overview"]["chat_title"] == TITLE and doc["overview"]["members"] == MEMBER

    shown = run("message", "show", MESSAGE).stdout.splitlines()
    assert shown[0] == f"Message {SHOWN_MESSAGE} (UTC)"
    assert shown[1].endswith(f"id {SHOWN_MESSAGE}")  # the filters line
    assert not any(_raw(line) for line in shown)


def test_export_notes_on_stderr_are_escaped_and_the_file_is_exact(db: Path, tmp_path: Path) -> None:
    """QA: the "Unpriced: … my ESC[2J model …" note of `export --csv --out FILE` cleared the
    screen. The note is escaped; the CSV file holds the model name exactly as logged."""
    out = tmp_path / "by-model.csv"
    res = run("export", "--csv", "--report", "by-model", "--since", "2026-11-20", "--until", "2026-11-28",
              "--out", str(out))  # fmt: skip
    assert f"{SHOWN_MODEL} (1 request, 110 tokens)" in res.stderr and not _raw(res.stderr)
    assert f"\n{MODEL}," in out.read_text(encoding="utf-8")  # the row of the unpriced model, exact
    events = tmp_path / "events.csv"
    res = run("export", "--csv", "--since", "2026-11-20", "--until", "2026-11-28", "--out", str(events))
    assert SHOWN_MODEL in res.stderr and not _raw(res.stderr)
    text = events.read_text(encoding="utf-8")
    assert MEMBER in text and TITLE in text and MODEL in text


class _Terminal(io.BytesIO):
    def isatty(self) -> bool:
        return True


def test_events_csv_to_a_terminal_is_escaped_to_a_file_exact(db: Path) -> None:
    """README: "CSV written to a terminal" shows control characters escaped; "CSV to a file or
    pipe" keeps the exact text. The event rows are the same but for the escaped names (each
    record still ends in CRLF): e1's member and chat title, e2's model (logged and resolved) and message id."""
    from usagectl.services.export import events_text

    ctx = make_context(None, db)
    req = ReportRequest(since="2026-11-20", until="2026-11-28")
    exact, shown = io.BytesIO(), _Terminal()
    events_text(ctx, req, "csv", exact)
    events_text(ctx, req, "csv", shown)
    raw = exact.getvalue().decode("utf-8")
    for name, escaped in ((MEMBER, SHOWN_MEMBER), (TITLE, SHOWN_TITLE), (MODEL, SHOWN_MODEL), (MESSAGE, SHOWN_MESSAGE)):
        assert name in raw
        raw = raw.replace(name, escaped)
    assert shown.getvalue().decode("utf-8") == raw
    assert raw.count("\r\n") == 3  # the header and two records


def test_report_and_section_titles_are_escaped_in_tables() -> None:
    """Titles built from arguments or the config (`Budget vs actual: {label}`, `Prices of {model}`)
    reached the terminal raw in every table: only the chat and message titles were escaped."""
    import io

    from usagectl.models import Report, Section
    from usagectl.render import OutputFormat, render_report

    report = Report(
        name="t", title="Prices of my\x1b[2Jmodel", filters={}, columns=(), rows=(), totals={},
        sections=(Section(key="s", title="Budget vs actual: team\x07x", columns=(), rows=()),),
    )  # fmt: skip
    out = io.StringIO()
    render_report(report, OutputFormat.TABLE, out)
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text
    assert "Prices of my\\x1b[2Jmodel" in text and "Budget vs actual: team\\x07x" in text


def test_a_progress_bar_shows_a_file_name_escaped_and_markup_literally() -> None:
    """The import and sync bars printed the raw name: ESC [2J cleared the screen (QA)."""
    from rich.console import Console
    from rich.progress import Progress, TextColumn

    from usagectl.cli._options import bar_label

    assert bar_label("bad\x1b[2Jname.jsonl") == "bad\\x1b[2Jname.jsonl"  # "[2J" is no markup tag
    assert bar_label("") == "done"
    out = Console(record=True, width=80, force_terminal=False)
    with Progress(TextColumn("[progress.description]{task.description}"), console=out) as bar:
        bar.add_task(bar_label("[bold]a\x07.jsonl"), total=1)
    text = out.export_text()
    assert "[bold]a\\x07.jsonl" in text and "\x07" not in text
