"""A reader that closes stdout early (`usagectl export --csv | head -1`, `| true`): the command
stops quietly with exit 0, the usual Unix behaviour, so `set -o pipefail` scripts pass.

Click turns a closed pipe into exit 1 before ``main`` sees it, and a short output only meets
the closed pipe when the interpreter flushes stdout at exit: both are covered by running the
real entry point in a subprocess whose stdout pipe is closed before it writes anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run, write_jsonl

ROOT = Path(__file__).resolve().parents[1]
EVENTS = [{"event_id": f"E{i}", "ts": "2026-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000}
          for i in range(3)]  # fmt: skip
ARGS = ("--since", "2026-11-01", "--until", "2026-11-30")


@pytest.mark.parametrize(
    "command",
    [
        ("export", "--csv"),  # events streamed by the command: the error is raised inside it
        ("export", "--jsonl"),
        ("export", "--json"),
        ("export", "--focus"),
        ("export", "--csv", "--report", "by-model"),
        ("report", "by", "model", "--format", "csv"),  # small output: met only by the flush at exit
        ("report", "by", "model"),
    ],
)
def test_closed_stdout_is_a_quiet_success(tmp_path: Path, db_path: Path, command: tuple[str, ...]) -> None:
    run("import", str(write_jsonl(tmp_path / "a.jsonl", EVENTS)), "--db", str(db_path))
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "usagectl", *command, *ARGS, "--db", str(db_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the command has written a byte
    stderr = proc.stderr.read().decode("utf-8")
    assert proc.wait(timeout=60) == 0, stderr
    assert "error" not in stderr.lower() and "Traceback" not in stderr
