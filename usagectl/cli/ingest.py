"""`usagectl import PATH...`"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from usagectl.cli._options import ConfigOpt, DbOpt


def _progress_enabled() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


class _FormatOption(typer.models.OptionInfo):
    """``--format``, whose help names every format the importers registry knows (the import's
    warning about an unrecognised file sends the reader to ``import --help`` for them; QA:
    the help said only "see README"). The names are read when Typer builds the command (for
    ``import`` or a help listing), not when this module is imported: that would import every
    importer on every run of every command."""

    @property
    def help(self) -> str:
        from usagectl.importers.registry import CANONICAL, importers

        return f"auto (by content), {', '.join(CANONICAL)}, or a log format: {', '.join(importers())}."

    @help.setter
    def help(self, _value: str | None) -> None:  # OptionInfo.__init__ sets it; the property answers
        pass


def import_cmd(
    # readable=False: an unreadable file is our own "cannot read" error (exit 4), not a Click usage error
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files or directories of canonical events; - reads standard input.", show_default=False, readable=False
        ),
    ],
    fmt: Annotated[str, _FormatOption(default=..., param_decls=("--format",))] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Import canonical events; re-importing adds nothing, bad records go to rejects."""
    from usagectl.importers.registry import require_name
    from usagectl.render import json_dumps, render_import_summary
    from usagectl.services.context import make_context
    from usagectl.services.imports import import_paths

    require_name(fmt)  # a usage error first, even when no path names a file
    ctx = make_context(config, db)
    # "-" is standard input, as for cat and most tools (a file named "-" is ./-)
    paths = [Path("/dev/stdin") if str(p) == "-" else p for p in paths]
    # a path that names nothing is one input that cannot be read, as an unreadable file is
    # (``imports.expand``): its own error, the others imported, exit 4 at the end
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
            task = bar.add_task("importing", total=None)

            from usagectl.cli._options import bar_label

            def progress(name: str, done: int, total: int) -> None:
                bar.update(task, total=total, completed=done, description=bar_label(Path(name).name))

            summary = import_paths(ctx, paths, fmt=fmt, progress=progress)
    else:
        summary = import_paths(ctx, paths, fmt=fmt)
    render_import_summary(summary, sys.stderr)
    from usagectl.services.status_line import warm_cache

    warm_cache(ctx)  # the next `usagectl status` answers from its cache
    if as_json:
        sys.stdout.write(json_dumps(summary.as_dict()) + "\n")
    if summary.failed:
        from usagectl.errors import InputError
        from usagectl.models import unread

        details = "; ".join(f.error or f.path for f in summary.failed[:5])
        raise InputError(f"{unread(summary.failed)} could not be read: {details}")
