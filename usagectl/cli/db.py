"""`usagectl db ...`"""

from __future__ import annotations

import typer

from usagectl.cli._options import (
    MAX_COUNT,
    ConfigOpt,
    DbOpt,
    FormatOpt,
    JsonOpt,
    count_value,
    pick_format,
    print_report,
)
from usagectl.errors import UsageError

app = typer.Typer(help="The database: status and rejected records.", no_args_is_help=True)


def _batch_value(value: int | None) -> int | None:
    """Batch ids come from a sequence that starts at 1 and are 64-bit integers in the store: -5
    listed nothing with exit 0, as if batch -5 had been checked and was clean, and a larger id
    reached the query unchecked."""
    if value is not None and not 1 <= value <= MAX_COUNT:
        raise UsageError(f"--batch {value}: must be a batch id (between 1 and {MAX_COUNT})")
    return value


@app.command("status")
def status(fmt: FormatOpt = None, as_json: JsonOpt = False, db: DbOpt = None, config: ConfigOpt = None) -> None:
    """Path, schema version, event count and date range."""
    from usagectl.services.admin import db_status
    from usagectl.services.context import make_context

    print_report(db_status(make_context(config, db)), pick_format(fmt, as_json))


@app.command("rejects")
def rejects(
    limit: int = typer.Option(50, "--limit", callback=count_value("--limit"), help="How many to show (0: all)."),
    batch: int = typer.Option(None, "--batch", callback=_batch_value, help="Only this import batch."),
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Records that could not be imported, with file, line and reason."""
    from usagectl.services.admin import db_rejects
    from usagectl.services.context import make_context

    print_report(db_rejects(make_context(config, db), limit, batch), pick_format(fmt, as_json))
