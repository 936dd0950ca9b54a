"""`usagectl demo`"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from usagectl.cli._options import ConfigOpt, FormatOpt, JsonOpt, path_value, pick_format, print_report


def demo(
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="Demo database (default: usagectl-demo.duckdb in the user data dir).",
            parser=path_value("--db"),
            metavar="PATH",
        ),
    ] = None,
    days: int = typer.Option(90, "--days", help="Days of history, ending today."),
    seed: int = typer.Option(7, "--seed", help="Random seed (same seed, same data)."),
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Generate a realistic team's usage (90 days ending today), import it, show this month.

    The quota and member mapping it reports with are written to a config beside the database
    (``usagectl-demo.toml``), so that every other command can report on the demo data too."""
    from usagectl.render import render_import_summary
    from usagectl.services import reports
    from usagectl.services.demo_run import demo_config_path, run_demo

    run = run_demo(db, config, days=days, seed=seed)
    render_import_summary(run.summary, sys.stderr)
    _explain(run.ctx.db_path, run.config_path, demo_config_path(run.ctx.db_path))
    print_report(reports.month(run.ctx, reports.ReportRequest()), pick_format(fmt, as_json))


def _explain(db: Path, config: Path | None, wanted: Path) -> None:
    """Where the demo data is and the two commands that explore it (on stderr)."""
    import shlex

    # absolute: the export line is pasted into shells in other folders (QA: `--db d2/x.duckdb`
    # printed a relative path that worked only from where the demo ran)
    db, config = db.absolute(), (config.absolute() if config is not None else None)
    print(f"demo database: {db}", file=sys.stderr)
    if config is None:
        print(f"demo config not written: {wanted} exists and was not written by the demo", file=sys.stderr)
        print(f"explore it:    usagectl report month --db {shlex.quote(str(db))}", file=sys.stderr)
        return
    print(f"demo config:   {config}  (plan quota, member -> team mapping)", file=sys.stderr)
    print("explore it:", file=sys.stderr)
    print(f"  export USAGECTL_DB={shlex.quote(str(db))} USAGECTL_CONFIG={shlex.quote(str(config))}", file=sys.stderr)
    print("  usagectl report month", file=sys.stderr)
