"""Shared Annotated options, so every command spells them the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from usagectl.render import OutputFormat

DbOpt = Annotated[
    Optional[Path],
    typer.Option("--db", help="Database file (default: $USAGECTL_DB, config [database] path, user data dir).", show_default=False),
]
ConfigOpt = Annotated[
    Optional[Path],
    typer.Option("--config", help="Config file (default: $USAGECTL_CONFIG, ./usagectl.toml, user config dir).", show_default=False),
]
SinceOpt = Annotated[
    Optional[str], typer.Option("--since", help="First day, inclusive: YYYY-MM-DD, YYYYMMDD or relative (7d, 2w, 3m).")
]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="Last day, inclusive (same forms as --since).")]
TzOpt = Annotated[
    Optional[str], typer.Option("--tz", help="IANA time zone for days and months (default: config, else local).")
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Shorthand for --format json.")]
ModelOpt = Annotated[Optional[list[str]], typer.Option("--model", help="Only these models (repeatable; aliases resolve).")]
ProviderOpt = Annotated[Optional[list[str]], typer.Option("--provider", help="Only these providers (repeatable).")]
MemberOpt = Annotated[Optional[list[str]], typer.Option("--member", help="Only these members (repeatable).")]
TeamOpt = Annotated[Optional[list[str]], typer.Option("--team", help="Only these teams (event or config mapping).")]
FeatureOpt = Annotated[Optional[list[str]], typer.Option("--feature", help="Only these features (repeatable).")]
ProjectOpt = Annotated[Optional[list[str]], typer.Option("--project", help="Only these projects (repeatable).")]


def pick_format(fmt: OutputFormat, as_json: bool) -> OutputFormat:
    return OutputFormat.JSON if as_json else fmt


def where_from(**kwargs: Optional[list[str]]) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in kwargs.items() if v}
