"""`usagectl pricing ...`"""

from __future__ import annotations

import typer

from usagectl.cli._options import ConfigOpt, DbOpt, FormatOpt, JsonOpt, pick_format, print_report, text_value

app = typer.Typer(help="Price tables: list, show, check.", no_args_is_help=True)


@app.command("list")
def list_(
    at: str = typer.Option(
        None,
        "--at",
        callback=text_value("--at"),
        help="Prices valid on this day (YYYY-MM-DD, UTC) or instant (YYYY-MM-DDTHH:MM[±HH:MM]); default: now.",
    ),
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Every priced model with its standard-tier rates."""
    from usagectl.services.admin import pricing_list
    from usagectl.services.context import make_context

    print_report(pricing_list(make_context(config, None), at), pick_format(fmt, as_json))


@app.command("show")
def show(
    model: str = typer.Argument(..., help="A model id, alias or logged name."),
    at: str = typer.Option(
        None,
        "--at",
        callback=text_value("--at"),
        help="Only the period valid on this day (YYYY-MM-DD, UTC) or instant (YYYY-MM-DDTHH:MM[±HH:MM]).",
    ),
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """All price periods, tiers and context bands of one model."""
    from usagectl.services.admin import pricing_show
    from usagectl.services.context import make_context

    print_report(pricing_show(make_context(config, None), model, at), pick_format(fmt, as_json))


@app.command("check")
def check(
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when any usage has no price."),
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Models in the database that have no price, with their volume."""
    from usagectl.services.admin import pricing_check, strict_failure
    from usagectl.services.context import make_context

    report = pricing_check(make_context(config, db), strict=strict)
    print_report(report, pick_format(fmt, as_json))
    if strict and (failure := strict_failure(report)) is not None:
        raise failure
