"""`usagectl db ...`"""

from __future__ import annotations

import sys

import typer

from usagectl.cli._options import ConfigOpt, DbOpt, FormatOpt, JsonOpt, pick_format
from usagectl.render import render_report

app = typer.Typer(help="The database: status and rejected records.", no_args_is_help=True)


@app.command("status")
def status(fmt: FormatOpt = None, as_json: JsonOpt = False, db: DbOpt = None, config: ConfigOpt = None) -> None:
    """Path, schema version, event count and date range."""
    from usagectl.services.admin import db_status
    from usagectl.services.context import make_context

    render_report(db_status(make_context(config, db)), pick_format(fmt, as_json), sys.stdout)


@app.command("rejects")
def rejects(
    limit: int = typer.Option(50, "--limit", help="How many to show (0: all)."),
    batch: int = typer.Option(None, "--batch", help="Only this import batch."),
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Records that could not be imported, with file, line and reason."""
    from usagectl.services.admin import db_rejects
    from usagectl.services.context import make_context

    render_report(db_rejects(make_context(config, db), limit, batch), pick_format(fmt, as_json), sys.stdout)
