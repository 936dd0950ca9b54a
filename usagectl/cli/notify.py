"""`usagectl notify [--dry-run]`"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from usagectl.cli._options import ConfigOpt, DbOpt, TzOpt

if TYPE_CHECKING:
    from usagectl.services.notify import NotifyResult

DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Print what would be sent (type, key, URL, body); send and record nothing.")
]
NotifyJsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


def notify(
    dry_run: DryRunOpt = False,
    tz: TzOpt = None,
    as_json: NotifyJsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Deliver the due webhook events of [[webhooks]] once each (exit 1 if any delivery failed)."""
    from usagectl.render import json_dumps
    from usagectl.services.context import make_context
    from usagectl.services.notify import notify as run_notify
    from usagectl.services.notify import raise_for_failures

    result = run_notify(make_context(config, db), dry_run=dry_run, tz=tz)
    for note in result.notes:
        print(note, file=sys.stderr)
    for var in result.missing_secrets:
        print(f"warning: {var} is not set: a real run would stop before sending", file=sys.stderr)
    if as_json:
        sys.stdout.write(json_dumps(result.as_dict()) + "\n")
    else:
        _human(result)
    raise_for_failures(result)


def _human(result: NotifyResult) -> None:
    import json
    from decimal import Decimal

    from usagectl.models import counted
    from usagectl.render import json_dumps

    out = sys.stdout
    for s in result.superseded:
        verb = "would supersede" if result.dry_run else "superseded"
        out.write(f"{verb} {s.key} (by {s.by_key}) for {s.webhook_url}\n")
    for o in result.outcomes:
        d = o.delivery
        where = f"{d.webhook.url} (webhooks[{d.webhook.index}], {d.webhook.format})"
        retry = f", retry after {counted(d.previous_attempts, 'earlier attempt')}" if d.retry else ""
        if o.status == "would_send":
            out.write(f"would send {d.event_type} to {where}{retry}\n  key: {d.key}\n  id:  {d.payload_id}\n")
            body = json.loads(d.body, parse_float=Decimal)
            if d.webhook.format == "slack":  # the body escapes emoji; show the text as Slack will
                out.write(f"  text: {body.get('text', '')}\n")
            out.write(json_dumps(body) + "\n")
        elif o.status == "delivered":
            out.write(f"delivered {d.event_type} {d.key} to {where} ({counted(o.attempts, 'attempt')}{retry})\n")
        else:
            out.write(
                f"FAILED {d.event_type} {d.key} to {where} ({counted(o.attempts, 'attempt')}{retry}): {o.last_error}\n"
            )
    if result.webhooks and not result.outcomes:
        print("nothing due", file=sys.stderr)
