"""Run the FinOps `focus-validator` on a FOCUS export of the demo data (not part of CI).

    python3 -m venv /tmp/focusvenv && /tmp/focusvenv/bin/pip install focus-validator 'multimethod<1.11'
    python benchmarks/check_focus.py [--validator /tmp/focusvenv/bin/focus-validator] [--version 1.0]

Builds the demo database in a temp dir, exports `usagectl export --focus` (CSV) and runs the
validator on it; prints the failed rule ids. On Python 3.11 pip resolves focus-validator 1.0.0
(later releases need Python >= 3.12), which knows FOCUS 0.5 / 1.0 rule sets only; see
RESULTS-export.md for what its failures mean for a FOCUS 1.3 file.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

RUN = "from usagectl.cli import app, main; from usagectl.cli.export import register; " + (
    "any(c.name == 'export' for c in app.registered_commands) or register(app); main()"
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--validator", default="/tmp/focusvenv/bin/focus-validator")
    ap.add_argument("--version", default="1.0")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, out = Path(tmp) / "demo.duckdb", Path(tmp) / "focus.csv"
        cli = [sys.executable, "-c", RUN]
        subprocess.run([*cli, "demo", "--db", str(db), "--json"], check=True, capture_output=True, cwd=tmp)
        subprocess.run([*cli, "export", "--focus", "--out", str(out), "--db", str(db)], check=True, cwd=tmp)
        rows = sum(1 for _ in out.open(encoding="utf-8")) - 1
        res = subprocess.run(
            [args.validator, "--data-file", str(out), "--validate-version", args.version],
            capture_output=True,
            text=True,
            cwd=tmp,
        )
    failed = re.findall(r"^(\S+) failed:", res.stdout + res.stderr, flags=re.M)
    print(f"FOCUS rows: {rows:,}; validator exit {res.returncode}; {len(failed)} failed rules")
    for rule in failed:
        print(f"  - {rule}")


if __name__ == "__main__":
    main()
