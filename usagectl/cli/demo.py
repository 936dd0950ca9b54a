"""`usagectl demo`"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from usagectl.cli._options import ConfigOpt, FormatOpt, JsonOpt, path_value, pick_format
from usagectl.render import render_report


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
    """Generate a realistic team's usage (90 days ending today), import it, show this month."""
    from usagectl.render import render_import_summary
    from usagectl.services import reports
    from usagectl.services.demo_run import run_demo

    ctx, summary = run_demo(db, config, days=days, seed=seed)
    render_import_summary(summary, sys.stderr)
    print(f"demo database: {ctx.db_path}  (try: usagectl report by model --db {ctx.db_path})", file=sys.stderr)
    render_report(reports.month(ctx, reports.ReportRequest()), pick_format(fmt, as_json), sys.stdout)
