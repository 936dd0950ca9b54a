"""Text quoted from input files never reaches the terminal raw (QA: a CSV header holding
``ESC ] 0 ; pwned BEL ESC [ 31 m`` retitled the terminal and turned it red through an import
warning). Warnings, errors and the human report formats show control characters escaped
(``models.printable``); JSON and CSV written to a file or pipe keep the exact text."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.helpers import query, run, run_json
from usagectl.models import Column, Report
from usagectl.render import OutputFormat, render_report

EVIL = "\x1b]0;pwned\x07\x1b[31mRED"
SHOWN = "\\x1b]0;pwned\\x07\\x1b[31mRED"


def _raw_controls(text: str) -> list[str]:
    return [ch for ch in text if (ch < " " and ch not in "\n") or "\x7f" <= ch <= "\x9f"]


def test_printable_escapes_controls_and_bidi_and_excerpt_cuts_between_escapes() -> None:
    from usagectl.models import excerpt, printable

    assert printable(EVIL) == SHOWN
    assert printable("a\tb\r\nc\x00\x9b\u202eé €") == "a\\tb\\r\\nc\\x00\\x9b\\u202eé €"
    assert printable(printable(EVIL)) == SHOWN  # a second pass changes nothing
    assert excerpt("plain", 10) == "plain"
    assert excerpt("\x1b" * 30, 10) == "\\x1b\\x1b…"  # 9 characters and the ellipsis at most
    assert excerpt("x" * 30, 10) == "x" * 9 + "…"


def test_a_csv_header_with_escape_sequences_is_warned_about_escaped(tmp_path: Path, db_path: Path) -> None:
    esc = tmp_path / "esc.csv"
    esc.write_text(f"{EVIL},ts\nx,2026-10-01T00:00:00Z\n")
    result = run("import", str(esc), "--db", str(db_path))
    assert f"warning: {esc}: unknown column kept in extra: {SHOWN}" in result.stderr
    assert _raw_controls(result.stderr) == []
    # the data keeps the column as it was named (escaping is for the terminal only)
    (extra,) = query(db_path, "SELECT extra FROM events")[0]
    assert json.loads(extra) == {EVIL: "x"}
    # the warning is a message: --json gives it as shown
    again = tmp_path / "esc2.csv"
    again.write_text(f"{EVIL},ts\ny,2026-10-01T00:00:00Z\n")
    doc = run_json("import", str(again), "--db", str(db_path))
    assert doc["per_file"][0]["warnings"] == [f"unknown column kept in extra: {SHOWN}"]


def test_a_header_of_many_long_names_is_warned_about_in_short(tmp_path: Path, db_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    names = [f"c{i}_" + "y" * 100 for i in range(25)]
    wide.write_text(",".join(["ts", *names]) + "\n2026-10-01T00:00:00Z" + ",1" * 25 + "\n")
    warning = run_json("import", str(wide), "--db", str(db_path))["per_file"][0]["warnings"][0]
    shown = ", ".join(f"c{i}_" + "y" * 36 + "…" for i in range(10))
    assert warning == f"unknown columns kept in extra: {shown}, … and 15 more"


def test_errors_and_file_names_are_shown_escaped(tmp_path: Path, db_path: Path) -> None:
    bad = tmp_path / f"bad{EVIL}.csv"
    bad.write_text("ts,ts\n")  # the header names ts twice: refused whole, naming the file
    result = run("import", str(bad), "--db", str(db_path), expect=4)
    assert _raw_controls(result.stderr) == []
    assert f"bad{SHOWN}.csv" in result.stderr


def test_db_rejects_shows_escaped_reasons_in_table_and_markdown_and_exact_csv_to_a_pipe(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one line per reject, however long the temp path
    rej = tmp_path / "rej.csv"
    rej.write_text(f"ts,model_raw,input_tokens\nbad{EVIL},m,1\n")
    run("import", str(rej), "--db", str(db_path))
    table = run("db", "rejects", "--db", str(db_path)).stdout
    assert _raw_controls(table) == []
    assert "(bad\\x1b]0;pwned\\x07\\x1b[31mRED)" in table
    markdown = run("db", "rejects", "--format", "markdown", "--db", str(db_path)).stdout
    assert _raw_controls(markdown) == [] and "bad\\\\x1b]0;pwned" in markdown
    # CSV to a pipe is data: exact
    piped = run("db", "rejects", "--format", "csv", "--db", str(db_path)).stdout
    assert f"ts: not a timestamp (bad{EVIL})" in piped


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_csv_written_to_a_terminal_shows_control_characters_escaped() -> None:
    report = Report("rejects", "t", {}, (Column("reason", "Reason"),), ({"reason": EVIL},), {})
    tty, pipe = _Terminal(), io.StringIO()
    render_report(report, OutputFormat.CSV, tty)
    render_report(report, OutputFormat.CSV, pipe)
    assert tty.getvalue() == f"reason\r\n{SHOWN}\r\n"
    assert pipe.getvalue() == f"reason\r\n{EVIL}\r\n"
