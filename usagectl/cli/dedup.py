"""`usagectl report duplicates`: per import batch, the records dropped as duplicates and by which rule."""

from __future__ import annotations

from typing import Annotated

import typer

from usagectl.cli._options import (
    ConfigOpt,
    DbOpt,
    FormatOpt,
    JsonOpt,
    SinceOpt,
    TzOpt,
    UntilOpt,
    pick_format,
    print_report,
    top_value,
)

TopOpt = Annotated[
    int,
    typer.Option(
        "--top", callback=top_value, help="List the N batches that dropped the most records (0: all); totals cover all."
    ),
]


def duplicates(
    top: TopOpt = 50,
    since: SinceOpt = None,
    until: UntilOpt = None,
    tz: TzOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Per import batch (--since/--until by import day): records, imported, duplicates within the
    file and of stored events, replaced, rejected, and the dedup rule (default: every batch; the
    table and the files list the 50 that dropped the most, and sum all per format and rule)."""
    from usagectl.services.context import make_context
    from usagectl.services.dedup_report import duplicates_report

    report = duplicates_report(make_context(config, db), since, until, tz, top=top)
    print_report(report, pick_format(fmt, as_json))
