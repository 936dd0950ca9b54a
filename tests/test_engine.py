"""The store opens databases through DuckDB's engine module alone (``store/engine.py``) and
imports the ``duckdb`` package only where Arrow scans or the relational API need it.

In-process tests cannot see a missing ``full()``: the test modules import ``duckdb`` and with
it everything. So each command here runs in a fresh interpreter, as a user runs it.

Hand-worked values: 6,000 canonical CSV rows of gpt-4o, 1,000 input and 100 output tokens each
($2.50 / $10 per 1M): 6,000 x (0.0025 + 0.001) = $21.00 on 2026-11-20 (UTC).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

# runs the CLI in this interpreter, then says on stderr whether the duckdb package got imported
_RUN = (
    "import sys\n"
    "from usagectl.cli import main\n"
    "sys.argv = ['usagectl', *sys.argv[1:]]\n"
    "try:\n"
    "    main()\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "else:\n"
    "    code = 0\n"
    "print('PACKAGE', 'duckdb' in sys.modules, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _cli(*args: str) -> tuple[str, bool]:
    """stdout of the command in a fresh interpreter, and whether it imported the package."""
    res = subprocess.run(
        [sys.executable, "-c", _RUN, *args], capture_output=True, text=True, env=dict(os.environ), timeout=300
    )
    assert res.returncode == 0, res.stderr
    return res.stdout, "PACKAGE True" in res.stderr


def test_engine_is_the_package_engine() -> None:
    from usagectl.store.engine import core

    assert core.connect is duckdb.connect and core.Error is duckdb.Error
    assert core.DuckDBPyConnection is duckdb.DuckDBPyConnection


def test_a_report_does_not_import_the_package_and_arrow_paths_do(tmp_path: Path) -> None:
    db = tmp_path / "usage.duckdb"
    csv_path = tmp_path / "events.csv"
    rows = [f"c{i},2026-11-20T10:00:00Z,gpt-4o,1000,100" for i in range(6000)]
    csv_path.write_text("event_id,ts,model_raw,input_tokens,output_tokens\n" + "\n".join(rows) + "\n")
    # the CSV stager hands pyarrow tables to DuckDB (con.register)
    _out, package = _cli("import", str(csv_path), "--db", str(db), "--json")
    assert package
    # so do the Python readers, in chunks of 5,000 records or more (LiteLLM: 6,000 copies of
    # the fixture's gpt-4o-mini record, 12,800 + 450 tokens each, 9,600 of the input cached)
    base = json.loads((Path(__file__).parent / "data" / "litellm" / "spend_logs.json").read_text())[0]
    logs = tmp_path / "spend_logs.json"
    logs.write_text(json.dumps([base | {"request_id": f"r{i}"} for i in range(6000)]))
    _out, package = _cli("import", str(logs), "--format", "litellm", "--db", str(db), "--json")
    assert package
    out, package = _cli("report", "daily", "--since", "2026-11-20", "--until", "2026-11-20", "--tz", "UTC",
                        "--db", str(db), "--json")  # fmt: skip
    assert not package
    row = json.loads(out)["rows"][0]
    assert (row["requests"], row["total_tokens"], row["cost_usd"]) == (6000, 6_600_000, 21.0)
    out, package = _cli("report", "by", "model", "--since", "2025-11-03", "--until", "2025-11-03", "--tz", "UTC",
                        "--db", str(db), "--json")  # fmt: skip
    assert not package
    assert [(r["model"], r["requests"], r["total_tokens"]) for r in json.loads(out)["rows"]] == [
        ("gpt-4o-mini", 6000, 6000 * 13_250)
    ]
    # an events export: DuckDB's COPY, no Python objects handed over
    target = tmp_path / "events.parquet"
    _out, package = _cli("export", "--parquet", "-o", str(target), "--db", str(db))
    con = duckdb.connect()
    # input excludes the cache: 6,000 x 1,000 (CSV) + 6,000 x (12,800 - 9,600) (LiteLLM)
    assert con.execute("SELECT count(*), sum(input_tokens) FROM read_parquet(?)", [str(target)]).fetchone() == (
        12_000,
        6_000_000 + 6000 * 3_200,
    )
