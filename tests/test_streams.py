"""Odd standard streams, as cron and daemons leave them: not UTF-8, or closed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import run, write_jsonl

ROOT = Path(__file__).resolve().parents[1]


def _db(tmp_path: Path) -> Path:
    db = tmp_path / "u.duckdb"
    event = {"event_id": "s1", "ts": "2026-10-31T18:00:00Z", "model": "gpt-4o", "input_tokens": 1000000}
    run("import", str(write_jsonl(tmp_path / "one.jsonl", [event])), "--db", str(db))
    return db


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120", **extra}


def test_an_ascii_stdout_gets_the_table_with_replaced_characters(tmp_path: Path) -> None:
    """`report month` prints "since … · until …": '·' and '–' are not ASCII; it crashed with
    UnicodeEncodeError (exit 1, nothing printed)."""
    db = _db(tmp_path)
    cmd = [sys.executable, "-m", "usagectl", "report", "daily", "--since", "2026-10-31", "--until", "2026-10-31"]
    done = subprocess.run(
        [*cmd, "--db", str(db)], capture_output=True, env=_env(PYTHONIOENCODING="ascii"), timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode("ascii")  # every byte is ASCII
    # 1,000,000 gpt-4o input tokens at $2.50/M = $2.50
    assert "2026-10-31" in text and "$2.50" in text
    month = subprocess.run(
        [sys.executable, "-m", "usagectl", "report", "month", "--db", str(db)],
        capture_output=True,
        env=_env(PYTHONIOENCODING="ascii"),
        timeout=120,
        check=False,
    )
    assert month.returncode == 0, month.stderr
    assert "?" in month.stdout.decode("ascii")  # the '·' separators, replaced


def test_a_closed_stdout_is_a_clean_usage_error(tmp_path: Path) -> None:
    db = _db(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "usagectl", "report", "month", "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        preexec_fn=lambda: os.close(1),  # `usagectl report month >&-`
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == "usagectl: error: stdout is closed; give the command somewhere to write\n"
