"""`usagectl sync`: import what is new in the registered sources."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from usagectl.cli._options import ConfigOpt, DbOpt
from usagectl.models import counted, printable, unread

if TYPE_CHECKING:
    from usagectl.services.sync import SourceSync, SyncResult


def _progress_enabled() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


def sync(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Sources to sync (default: all registered).", metavar="NAME", show_default=False),
    ] = None,
    detect: Annotated[
        bool, typer.Option("--detect", help="First register the agents' default log directories that exist.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Import what is new in every registered source: unchanged files cost a stat, appended
    logs are read from where the last sync stopped, deleted files keep their events."""
    from usagectl.services.context import make_context
    from usagectl.services.sync import sync as run_sync

    ctx = make_context(config, db)
    if _progress_enabled():
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from usagectl.render.table import console_environ

        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True, _environ=console_environ()),  # a COLUMNS of 0 is unset
            transient=True,
        ) as bar:
            task = bar.add_task("syncing", total=None)

            from usagectl.cli._options import bar_label

            def progress(name: str, done: int, total: int) -> None:
                bar.update(task, total=total, completed=done, description=bar_label(os.path.basename(name)))

            result = run_sync(ctx, names or (), detect=detect, progress=progress)
    else:
        result = run_sync(ctx, names or (), detect=detect)
    _summary(result)
    from usagectl.services.cache_dir import cache_file

    if cache_file(ctx.db_path, "status").exists():  # `usagectl status` is used with this database
        from usagectl.services.status_line import warm_cache

        warm_cache(ctx)  # the next `usagectl status` answers from its cache
    if as_json:
        from usagectl.render import json_dumps

        sys.stdout.write(json_dumps(result.as_dict()) + "\n")
    if result.failed:
        from usagectl.errors import InputError

        details = "; ".join(f.error or f.path for f in result.failed[:5])
        raise InputError(f"{unread(result.failed)} could not be read: {details}")


def _headline(s: SourceSync) -> str:
    head = f"{s.name} ({s.format}, {s.path}): "
    if s.error:
        return head + f"not synced: {s.error}"
    if s.missing:
        return head + f"the path is gone; the events of its {counted(s.gone, 'file')} stay"
    parts = [
        counted(s.files, "file"),
        f"{s.read:,} read",
        f"{s.unchanged:,} unchanged",
    ]
    if s.waiting:
        parts.append(f"{s.waiting:,} with a half-written last line (read by the next sync)")
    if s.gone:
        parts.append(f"{s.gone:,} gone (their events stay)")
    return head + ", ".join(parts)


def _summary(result: SyncResult) -> None:
    from usagectl.render import render_import_summary

    for d in result.detected:
        typer.echo(printable(f"Registered source {d.name!r}: {d.format} logs in {d.path}"), err=True)
    for m in result.messages:
        typer.echo(printable(f"note: {m}"), err=True)
    for s in result.sources:
        typer.echo(printable(_headline(s)), err=True)
        if s.summary.files:
            render_import_summary(s.summary, sys.stderr)
