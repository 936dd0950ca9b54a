"""`usagectl source add/list/rm`: the log directories `usagectl sync` reads incrementally."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from usagectl.cli._options import ConfigOpt, DbOpt, FormatOpt, JsonOpt, pick_format, print_report
from usagectl.models import counted

app = typer.Typer(help="Registered log sources that `usagectl sync` reads incrementally.", no_args_is_help=True)


@app.command("add")
def add(
    path: Annotated[Path, typer.Argument(help="A directory (or file) of usage logs.", show_default=False)],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="Log format (default: detected from the files).", show_default=False),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Name of the source (default: from format and path).")
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Register a directory of logs; `usagectl sync` then imports what is new in it."""
    from usagectl.services.context import make_context
    from usagectl.services.sources import add_source

    added = add_source(make_context(config, db), path, fmt, name)
    typer.echo(
        f"Registered source {added.name!r}: {added.format} logs in {added.path} ({counted(added.files, 'file')} now); "
        "run `usagectl sync` to import them.",
        err=True,
    )
    if added.looks_like is not None:
        typer.echo(
            f"warning: no file there looks like {added.format} logs; they look like {added.looks_like} logs: "
            f"if that is what it holds, `usagectl source rm {added.name}` and add it again with "
            f"--format {added.looks_like} (or without --format)",
            err=True,
        )


@app.command("list")
def list_cmd(fmt: FormatOpt = None, as_json: JsonOpt = False, db: DbOpt = None, config: ConfigOpt = None) -> None:
    """Registered sources: format, path, files synced (and gone), last sync, events."""
    from usagectl.services.context import make_context
    from usagectl.services.sources import sources_report

    print_report(sources_report(make_context(config, db)), pick_format(fmt, as_json))


@app.command("rm")
def rm(
    name: Annotated[str, typer.Argument(help="The source to forget.", show_default=False)],
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Forget a source and its sync state; its imported events (a cost report's: its billed cost
    lines) stay in the database."""
    from usagectl.services.context import make_context
    from usagectl.services.sources import remove_source

    removed = remove_source(make_context(config, db), name)
    typer.echo(
        f"Removed source {removed.name!r} and the sync state of {counted(removed.files, 'file')}; "
        f"{_what_stays(removed.events, removed.cost_lines, removed.bills)} in the database.",
        err=True,
    )


def _what_stays(events: int, cost_lines: int, bills: bool) -> str:
    """What the source's files brought in, which stays: a cost report's source holds billed cost
    lines, not events (as `source list` counts them): "its 0 imported events" would read as nothing."""
    parts: list[tuple[int, str]] = []
    if events or not bills:
        parts.append((events, "imported event"))
    if cost_lines or bills:
        parts.append((cost_lines, "billed cost line"))
    one = len(parts) == 1 and parts[0][0] == 1
    return f"its {' and '.join(counted(n, noun) for n, noun in parts)} {'stays' if one else 'stay'}"
