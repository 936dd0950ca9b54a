"""``usagectl notify``: work out which webhook events are due, and deliver each once.

Due events (idempotency key in brackets; one ledger row per key and webhook URL):

* ``budget.threshold`` — every budget whose ``threshold_crossed`` is set
  [``budget.threshold:{scope}:{period}:{period_start}:{threshold}:amount={limit}`` (``tokens=``
  for a token budget); the plan quota uses the scope ``plan-quota``]. Only the highest threshold
  crossed is sent; lower thresholds of the same period and limit not yet delivered are recorded
  as ``superseded`` and never sent. A limit changed mid-period makes its thresholds due again.
  A ledger row written before the limit was in the key (no ``:amount=`` end) stands for the
  event of the same limit (``_resolve``): an unchanged budget is not alerted twice.
* ``usage.daily_summary`` — yesterday in the zone [``usage.daily_summary:{date}``].
* ``usage.anomaly`` — yesterday's cost or tokens, when ``usagectl.services.spikes`` says so
  [``usage.anomaly:{date}:{metric}``].
* ``invoice.monthly`` — the previous calendar month [``invoice.monthly:{YYYY-MM}``].

A key delivered to a URL is never sent there again. A key that failed is sent again on each
run (the body recorded at its first attempt, same ``id``) for ``RETRY_WINDOW`` after it was
first tried, even when it is no longer due; in the webhook's current format when that changed
since (``plan``). A key still due is retried for as long as it is due (a budget period still
running, last month's invoice): after ``RETRY_WINDOW`` with this run's numbers, not the stale
ones recorded. A real run holds the database open for writing
from reading the ledger to recording its last attempt (so no POST is made whose outcome cannot
be recorded: a busy database stops the run, exit 3, before anything is sent), and a lock file
next to the database (``usagectl.store.run_lock``) around the whole run, so an overlapping run
stops with exit 3 instead of sending the same keys again.
Payload data and Slack texts: ``usagectl.services.webhooks``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from usagectl.config import effective_timezone
from usagectl.errors import ExitCode, UsagectlError
from usagectl.models import counted
from usagectl.services import spikes
from usagectl.services import webhooks as wh
from usagectl.services.context import AppContext
from usagectl.services.webhook_config import Webhook, parse_webhooks, secret_for
from usagectl.services.webhooks import Event
from usagectl.store import deliveries as ledger
from usagectl.store.connection import connect
from usagectl.store.run_lock import exclusive_run
from usagectl.timeutil import local_today

if TYPE_CHECKING:
    import duckdb

RETRY_WINDOW = timedelta(days=7)


class DeliveryFailed(UsagectlError):
    """Some due webhook deliveries failed in this run (exit 1); they are retried next run."""

    exit_code = ExitCode.UNEXPECTED


def _utcnow() -> datetime:
    """The clock (tests replace it)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Delivery:
    """One POST this run will make (or would make, with ``--dry-run``)."""

    webhook: Webhook
    event_type: str
    key: str
    payload_id: str
    body: str
    retry: bool = False  # failed in an earlier run: the body recorded then
    previous_attempts: int = 0


@dataclass(frozen=True)
class Superseded:
    webhook_url: str
    event_type: str
    key: str
    by_key: str


@dataclass(frozen=True)
class Outcome:
    delivery: Delivery
    status: Literal["delivered", "failed", "would_send"]
    attempts: int = 0  # HTTP attempts in this run
    last_status: int | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class NotifyResult:
    dry_run: bool
    tz: str
    webhooks: int
    outcomes: tuple[Outcome, ...] = ()
    superseded: tuple[Superseded, ...] = ()
    missing_secrets: tuple[str, ...] = ()  # dry run only: env vars a real run would need
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def as_dict(self) -> dict[str, Any]:
        import json
        from decimal import Decimal

        return {
            "dry_run": self.dry_run,
            "tz": self.tz,
            "webhooks": self.webhooks,
            "deliveries": [
                {
                    "type": o.delivery.event_type,
                    "key": o.delivery.key,
                    "id": o.delivery.payload_id,
                    "url": o.delivery.webhook.url,
                    "format": o.delivery.webhook.format,
                    "status": o.status,
                    "retry": o.delivery.retry,
                    "attempts": o.attempts,
                    "previous_attempts": o.delivery.previous_attempts,
                    "last_status": o.last_status,
                    "last_error": o.last_error,
                    "body": json.loads(o.delivery.body, parse_float=Decimal),
                }
                for o in self.outcomes
            ],
            "superseded": [
                {"type": s.event_type, "key": s.key, "url": s.webhook_url, "by": s.by_key} for s in self.superseded
            ],
            "failed": len(self.failed),
            "missing_secrets": list(self.missing_secrets),
            "notes": list(self.notes),
        }


def previous_month(day: date) -> str:
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def collect_events(ctx: AppContext, wanted: set[str], tz: str, now: datetime, *, clock: bool = True) -> list[Event]:
    """Every event of the ``wanted`` types that is due at ``now`` (read-only; nothing is sent).
    ``clock``: ``now`` is the clock, so a budget counts its period's usage dated after it, as
    ``budget status`` does; a rebuild of an earlier attempt's events passes False (as then)."""
    events: list[Event] = []
    today = local_today(tz, now)
    yesterday = today - timedelta(days=1)
    if "budget.threshold" in wanted:
        from usagectl.services.budgets import budget_status

        for state in budget_status(ctx, tz=tz, now=now, clock=clock):
            if state.threshold_crossed is not None:
                events.append(wh.budget_event(state, now))
    if wanted & {"usage.anomaly", "usage.daily_summary"}:
        usage = spikes.load_daily_usage(ctx, yesterday - timedelta(days=spikes.LOOKBACK_DAYS), yesterday, tz)
        if "usage.anomaly" in wanted:
            for anomaly in spikes.detect(usage, yesterday):
                if anomaly.verdict.anomalous:
                    events.append(wh.anomaly_event(anomaly, tz, now))
        if "usage.daily_summary" in wanted:
            events.append(wh.daily_summary_event(usage, yesterday, now))
    if "invoice.monthly" in wanted:
        from usagectl.services import reports

        month = previous_month(today)
        report = reports.month(ctx, reports.ReportRequest(tz=tz, now=now), month)
        events.append(wh.invoice_event(report, month, now))
    return events


def _body(hook: Webhook, event: Event, key: str | None = None) -> str:
    """The body of ``event`` for ``hook``; ``key`` (the id's key) when the ledger knows the event
    under another key than its own (``_resolve``)."""
    if hook.format == "slack":
        return wh.body_json({"text": event.text})
    return wh.body_json(wh.envelope(event.type, key or event.key, event.data, event.created))


def _resolve(
    rows: dict[tuple[str, str], ledger.LedgerRow], key: str, url: str, event: Event, *, same_limit: bool = False
) -> tuple[str, ledger.LedgerRow | None]:
    """The key the ledger knows this event (or one of the lower thresholds it supersedes) by for
    ``url``, and its row. A budget alert's key ends with the budget's limit; a ledger written
    before that holds the key without it (``wh.legacy_key``). Such a row is this event's when
    its recorded body was about the same limit, or when it does not say (a body that cannot be
    read: never alert twice). A superseded row has no body; a threshold passed over at one limit
    is not due again at that limit as the spend grows, so one due now was passed over at another;
    unless ``same_limit``: the threshold above it was found in the older ledger for this limit,
    and the superseded rows beside it are of that limit too (the first run after an upgrade
    superseded them again, and said so, for budgets that had not changed: QA)."""
    row = rows.get((key, url))
    legacy = wh.legacy_key(key)
    if row is not None or legacy is None:
        return key, row
    old = rows.get((legacy, url))
    if old is None:
        return key, None
    same = wh.recorded_for_limit(old.payload, event)
    if same is False or (same is None and old.status == ledger.SUPERSEDED and not same_limit):
        return key, None
    return legacy, old


def _recorded_body_fits(row: ledger.LedgerRow, hook: Webhook, now: datetime) -> bool:
    """Whether a failed delivery's recorded body can be sent again as it is: it is in the
    webhook's current ``format`` (a hook switched from json to slack gets a Slack body), and
    its first attempt is less than ``RETRY_WINDOW`` old. Only an event still due is retried
    after that (a budget's period still running, last month's invoice), and its old numbers
    (spend, percentage, projection) would be stale: it goes with this run's."""
    return wh.body_format(row.payload) == hook.format and row.created_at >= now - RETRY_WINDOW


def plan(
    hooks: tuple[Webhook, ...],
    events: list[Event],
    rows: dict[tuple[str, str], ledger.LedgerRow],
    failed: list[ledger.LedgerRow],
    now: datetime,
    rebuilt: dict[str, Event] | None = None,
) -> tuple[list[Delivery], list[Superseded], list[ledger.LedgerRow]]:
    """What to send, what to supersede, and the failed rows that cannot be retried (their body
    is in another format and their event could not be evaluated again), from the due events,
    the ledger and ``rebuilt``: failed events no longer due, evaluated again as of their first
    attempt (by key; see ``_rebuild``). Pure."""
    rebuilt = rebuilt or {}
    deliveries: list[Delivery] = []
    superseded: list[Superseded] = []
    stuck: list[ledger.LedgerRow] = []
    planned: set[tuple[str, str]] = set()
    for hook in hooks:
        for event in events:
            if not hook.wants(event.type):
                continue
            key, row = _resolve(rows, event.key, hook.url, event)
            older = key != event.key  # found under the key of an older ledger, for this limit
            for lower_key in event.supersedes:
                lower, lower_row = _resolve(rows, lower_key, hook.url, event, same_limit=older)
                if lower_row is None or lower_row.status == ledger.FAILED:
                    superseded.append(Superseded(hook.url, event.type, lower, key))
                    planned.add((lower, hook.url))  # never retried once superseded
            if row is not None and row.status in (ledger.DELIVERED, ledger.SUPERSEDED):
                continue
            planned.add((key, hook.url))
            if row is not None and _recorded_body_fits(row, hook, now):  # failed before: the same body again
                deliveries.append(Delivery(hook, event.type, key, row.payload_id, row.payload, True, row.attempts))
            else:  # new, or failed before in another format or 7 days ago: this run's event
                body = _body(hook, event, key)
                retry, attempts = (True, row.attempts) if row is not None else (False, 0)
                deliveries.append(Delivery(hook, event.type, key, wh.event_id(key), body, retry, attempts))
    by_url = {h.url: h for h in hooks}
    for row in failed:
        target = by_url.get(row.webhook_url)
        if target is None or not target.wants(row.event_type) or (row.idempotency_key, row.webhook_url) in planned:
            continue
        planned.add((row.idempotency_key, row.webhook_url))
        body = row.payload
        if not _recorded_body_fits(row, target, now):
            again = rebuilt.get(row.idempotency_key)
            if again is None:
                stuck.append(row)
                continue
            body = _body(target, again, row.idempotency_key)
        deliveries.append(
            Delivery(target, row.event_type, row.idempotency_key, row.payload_id, body, True, row.attempts)
        )
    return deliveries, superseded, stuck


def _rebuild(
    ctx: AppContext,
    hooks: tuple[Webhook, ...],
    events: list[Event],
    failed: list[ledger.LedgerRow],
    zone: str,
    now: datetime,
) -> dict[str, Event]:
    """The events of failed rows no longer due whose recorded body is in another format than
    their webhook's now, evaluated again as of their first attempt (``created_at``: the clock of
    the run that found them due), by key. A key not found then (usage imported since moved a
    budget past another threshold, or the zone changed) is left out."""
    by_url = {h.url: h for h in hooks}
    due = set(_with_legacy_keys([e.key for e in events]))
    wanted: dict[datetime, set[str]] = {}
    for row in failed:
        hook = by_url.get(row.webhook_url)
        if hook is None or not hook.wants(row.event_type) or row.idempotency_key in due:
            continue
        if not _recorded_body_fits(row, hook, now):
            wanted.setdefault(row.created_at, set()).add(row.event_type)
    found: dict[str, Event] = {}
    for when, types in wanted.items():
        for event in collect_events(ctx, types, zone, when.astimezone(UTC), clock=False):
            found[event.key] = event
            legacy = wh.legacy_key(event.key)
            if legacy is not None:  # a row of an older ledger: the event of the limit then in force
                found.setdefault(legacy, event)
    return found


def _with_legacy_keys(keys: list[str]) -> list[str]:
    """``keys`` and the keys an older ledger holds the budget alerts among them by (``_resolve``)."""
    return keys + [old for k in keys if (old := wh.legacy_key(k)) is not None]


def _send(
    con: duckdb.DuckDBPyConnection,
    d: Delivery,
    secret: str,
    now: datetime,
    sleep: wh.Sleep | None,
    rand: Callable[[], float] | None,
) -> Outcome:
    def record(attempt: wh.Attempt) -> None:
        ledger.record_attempt(  # on the run's connection, held since before the first POST
            con,
            key=d.key,
            url=d.webhook.url,
            event_type=d.event_type,
            payload_id=d.payload_id,
            payload=d.body,
            ok=attempt.ok,
            status=attempt.status,
            error=attempt.error,
            now=now,
        )

    result = wh.deliver(
        d.webhook.url,
        event_type=d.event_type,
        delivery_id=d.payload_id,
        body=d.body,
        secret=secret,
        timeout=d.webhook.timeout_seconds,
        max_attempts=d.webhook.max_attempts,
        on_attempt=record,
        sleep=sleep,
        rand=rand,
    )
    last = result.last
    return Outcome(d, "delivered" if result.ok else "failed", len(result.attempts), last.status, last.error)


def notify(
    ctx: AppContext,
    *,
    dry_run: bool = False,
    tz: str | None = None,
    now: datetime | None = None,
    sleep: wh.Sleep | None = None,
    rand: Callable[[], float] | None = None,
) -> NotifyResult:
    """Evaluate what is due, deliver it (or, with ``dry_run``, only say what would be sent).

    Raises ``ConfigError`` (exit 2) for a bad ``[[webhooks]]`` table or, before anything is
    sent, for an unset ``secret_env`` variable, and ``DatabaseBusyError`` (exit 3) when another
    real run on the same database has not finished: two overlapping runs would both read the
    same keys as due and send each twice. Failed deliveries do not raise here: they are
    in ``NotifyResult.failed`` (the command turns them into exit 1).
    """
    hooks = parse_webhooks(ctx.config)
    zone = effective_timezone(tz, ctx.config)
    clock = (now or _utcnow()).astimezone(UTC)
    if not hooks:
        where = f"in {ctx.config.path}" if ctx.config.path else "(no config file found)"
        return NotifyResult(dry_run, zone, 0, notes=(f"no [[webhooks]] configured {where}: nothing to do",))
    if dry_run:
        return _run(ctx, hooks, zone, clock, dry_run=True, sleep=sleep, rand=rand)
    if not ctx.db_path.exists():  # a missing --db is exit 4 before the lock file is made next to it
        with connect(ctx.db_path, read_only=True):  # (the default database is created, as for a report)
            pass
    with exclusive_run(ctx.db_path, "notify", "usagectl notify"):  # raises DatabaseBusyError (exit 3)
        return _run(ctx, hooks, zone, clock, dry_run=False, sleep=sleep, rand=rand)


def _run(
    ctx: AppContext,
    hooks: tuple[Webhook, ...],
    zone: str,
    clock: datetime,
    *,
    dry_run: bool,
    sleep: wh.Sleep | None,
    rand: Callable[[], float] | None,
) -> NotifyResult:
    """Plan against the ledger and deliver. A real run holds the notify lock around all of it,
    so that the ledger it reads cannot change under it by another run's sends, and holds the
    database open for writing from reading the ledger to recording its last attempt: a POST is
    only made when its outcome can be recorded. (Opening the database after the POST failed
    when another process held it then: the receiver had the event and the ledger did not, so
    the next run sent it again.) A busy database stops the run before it sends anything."""
    wanted = {e for h in hooks for e in h.events}
    events = collect_events(ctx, wanted, zone, clock)  # read-only connections, all closed again
    keys = _with_legacy_keys([e.key for e in events] + [k for e in events for k in e.supersedes])
    urls = [h.url for h in hooks]
    # the ledger read on its own read-only connection: only a notify run writes it, and a real
    # run holds the notify lock, so it is the same when the run opens the database for writing
    with connect(ctx.db_path, read_only=True) as con:
        rows = ledger.fetch(con, keys, urls)
        failed = ledger.failed_since(con, urls, clock - RETRY_WINDOW)
    todo, superseded, stuck = plan(
        hooks, events, rows, failed, clock, _rebuild(ctx, hooks, events, failed, zone, clock)
    )
    notes = tuple(
        f"note: {row.idempotency_key} failed earlier for {row.webhook_url}, in {wh.body_format(row.payload)} format; "
        "its webhook's format has changed since and the event cannot be evaluated again: it is not retried"
        for row in stuck
    )
    if dry_run:
        missing = sorted({d.webhook.secret_env for d in todo if not _has_secret(d.webhook, ctx)})
        outcomes = tuple(Outcome(d, "would_send") for d in todo)
        return NotifyResult(True, zone, len(hooks), outcomes, tuple(superseded), tuple(missing), notes)
    with connect(ctx.db_path) as con:  # busy: DatabaseBusyError (exit 3), nothing sent
        secrets = {d.webhook.url: secret_for(d.webhook, ctx.config) for d in todo}  # all checked before any POST
        for s in superseded:
            ledger.mark_superseded(
                con,
                key=s.key,
                url=s.webhook_url,
                event_type=s.event_type,
                payload_id=wh.event_id(s.key),
                reason=f"superseded by {s.by_key}",
                now=clock,
            )
        outcomes = tuple(_send(con, d, secrets[d.webhook.url], clock, sleep, rand) for d in todo)
    return NotifyResult(False, zone, len(hooks), outcomes, tuple(superseded), notes=notes)


def _has_secret(hook: Webhook, ctx: AppContext) -> bool:
    try:
        secret_for(hook, ctx.config)
    except UsagectlError:
        return False
    return True


def raise_for_failures(result: NotifyResult) -> None:
    """``DeliveryFailed`` (exit 1) listing every failed delivery, when there is one."""
    failed = result.failed
    if not failed:
        return
    lines = []
    for o in failed:
        why = o.last_error or (f"HTTP {o.last_status}" if o.last_status else "failed")
        lines.append(
            f"{o.delivery.key} -> webhooks[{o.delivery.webhook.index}] ({counted(o.attempts, 'attempt')}: {why})"
        )
    raise DeliveryFailed(
        f"{len(failed)} of {len(result.outcomes)} webhook deliveries failed: " + "; ".join(lines),
        hint="they are retried on the next `usagectl notify`; `usagectl notify --dry-run` shows what is pending",
    )
