"""`usagectl report duplicates`: per import batch, the records dropped as duplicates and by which rule."""

from __future__ import annotations

import sys

from usagectl.cli._options import ConfigOpt, DbOpt, FormatOpt, JsonOpt, SinceOpt, TzOpt, UntilOpt, pick_format
from usagectl.render import OutputFormat, render_report


def duplicates(
    since: SinceOpt = None,
    until: UntilOpt = None,
    tz: TzOpt = None,
    fmt: FormatOpt = OutputFormat.TABLE,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Per import batch (--since/--until by import day): records, imported, duplicates within the
    file and of stored events, replaced, rejected, and the dedup rule (default: every batch)."""
    from usagectl.services.context import make_context
    from usagectl.services.dedup_report import duplicates_report

    report = duplicates_report(make_context(config, db), since, until, tz)
    render_report(report, pick_format(fmt, as_json), sys.stdout)
