"""`usagectl doctor`: what may be wrong with the data, each finding with the command that fixes
or explains it.

Checks (over the chosen range, default the last 30 days, in the report's time zone):

* **gaps** — calendar days without any event, per source, between the source's first event and
  yesterday (today is not over, so it is never a gap);
* **unpriced** — models without a price, with their volume;
* **no-team** — members whose events have no team, neither on the event nor in the config (the
  fix names a ``[members.NAME]`` entry that differs only in case or by a close spelling: names
  are matched exactly);
* **cost-mismatch** — per source and model, the cost the source reported beside the computed
  cost (over the events that have both) differs by more than 5 % and more than $0.01;
* **future** — events later than now + 5 minutes (the whole database, whatever the range);
* **budget-scope** — budgets whose scope no event in the whole database matches (a typo such
  as ``member:Alice`` for alice: the budget stays at 0 and never fires);
* **rejects** — records that could not be imported (info);
* **timezone** — the zone in effect and where it came from (info).

Severities: ``error`` > ``warning`` > ``info``. The command exits 0; ``--strict`` fails (exit 1)
when a finding is a warning or worse.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from usagectl.config import (
    Config,
    effective_timezone,
    similar_member,
    tz_variable_zone,
    unknown_keys,
    unusable_tz_variable,
)
from usagectl.errors import StrictCheckFailed
from usagectl.models import Column, Report, counted
from usagectl.services.config_check import config_errors
from usagectl.services.context import AppContext
from usagectl.services.reports import ReportRequest, build_filters, requests_text
from usagectl.store import doctor as dq
from usagectl.store import reports as q
from usagectl.store.connection import connect
from usagectl.timeutil import local_today

SEVERITIES = ("error", "warning", "info")
FUTURE_SLACK = timedelta(minutes=5)
MISMATCH_PCT = Decimal(5)
MISMATCH_USD = Decimal("0.01")
MAX_RUNS = 5
MAX_MEMBERS = 20

COLUMNS: tuple[Column, ...] = (
    Column("severity", "Severity"),
    Column("check", "Check"),
    Column("subject", "Subject"),
    Column("detail", "Finding"),
    Column("fix", "Fix / explain"),
    Column("count", "Count", "int", in_table=False),
    Column("data", "Data", in_table=False),
)


@dataclass(frozen=True)
class DoctorRequest:
    since: str | None = None
    until: str | None = None
    tz: str | None = None
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)
    now: datetime | None = None


def timezone_origin(cli_tz: str | None, config: Config) -> str:
    """Where the zone in effect comes from (mirrors ``config.effective_timezone``)."""
    if cli_tz:
        return "--tz"
    if config.timezone:
        return f"config {config.path}: [display] timezone" if config.path else "config [display] timezone"
    bad_tz = unusable_tz_variable()
    if bad_tz is not None:
        return f"TZ set to {bad_tz}, not an IANA zone, using UTC"
    if tz_variable_zone() is not None:
        return "local: the TZ environment variable"
    target = os.path.realpath("/etc/localtime")
    if "zoneinfo/" in target:
        return "local: /etc/localtime"
    from usagectl.zonefile import zone_of_copy

    if zone_of_copy(target):
        return "local: /etc/localtime (a copy of the zone's file)"
    return "fallback: the local zone could not be told"


def _finding(severity: str, check: str, subject: str, detail: str, fix: str, count: int | None = None,
             **data: Any) -> dict[str, Any]:  # fmt: skip
    return {"severity": severity, "check": check, "subject": subject, "detail": detail, "fix": fix, "count": count,
            "data": data}  # fmt: skip


def _runs(days: list[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for d in days:
        if runs and runs[-1][1] + timedelta(days=1) == d:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def _run_text(run: tuple[date, date]) -> str:
    a, b = run
    return str(a) if a == b else f"{a} – {b} ({(b - a).days + 1} days)"


def _without_missing_prices(ctx: AppContext) -> tuple[AppContext, list[dict[str, Any]]]:
    """A config whose ``[pricing] dir`` is not a folder stops every other command (exit 2); doctor
    says so as a finding and checks the rest with the packaged price tables (QA: the README's
    example config named one that did not exist, and doctor died on it like the rest)."""
    folder = ctx.config.pricing_dir
    if folder is None or folder.expanduser().is_dir():
        return ctx, []
    what = "is not a directory" if folder.expanduser().exists() else "does not exist"
    where = f"config {ctx.config.path}" if ctx.config.path else "config"
    finding = _finding(
        "error", "pricing-dir", "[pricing] dir", f"{folder} {what}: every priced command stops on it (exit 2)",
        f"create it and put your price tables in it, or remove `dir` from [pricing] in {where}; "
        "this check used the packaged price tables", path=str(folder),
    )  # fmt: skip
    return replace(ctx, config=replace(ctx.config, pricing_dir=None)), [finding]


def doctor(ctx: AppContext, req: DoctorRequest) -> Report:
    ctx, findings = _without_missing_prices(ctx)
    tz = effective_timezone(req.tz, ctx.config)
    now = (req.now or datetime.now(UTC)).astimezone(UTC)
    today = local_today(tz, now)
    rreq = ReportRequest(since=req.since, until=req.until, tz=req.tz, where=req.where, now=now)
    # the 30 days up to today, or up to the day of an --until given alone
    flt = build_filters(ctx, rreq, default=lambda end: ((end or today) - timedelta(days=29), end or today))
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, flt)
        facts = dq.range_facts(con, flt)
        spans = dq.source_spans(con)
        future = dq.future_events(con, now + FUTURE_SLACK)
        rejects = dq.rejected_records(con)
        unused = _unused_budgets(ctx, con)
        mapped = dq.members_with_usage(con, list(ctx.config.members))
        named = dq.named_units(con)

    days, models, members = facts["days"], facts["models"], facts["members"]
    findings += _gaps(days, spans, flt.since, min(flt.until, today - timedelta(days=1)), tz)
    findings += _unpriced(models)
    findings += _no_team(members, ctx.config, mapped)
    findings += _mismatch(models)
    findings += _config_findings(ctx.config)
    for f in future:
        findings.append(_finding(
            "error", "future", f["source"],
            f"{f['events']:,} events after now + 5 min (latest {f['last_ts'].astimezone(UTC).isoformat()})",
            "check the clock and time zone of the machine that wrote these logs (timestamps without an offset "
            "are read as UTC); `usagectl db status` shows the event range", f["events"], source=f["source"],
            first=f["first_ts"], last=f["last_ts"]))  # fmt: skip
    for label in unused:
        findings.append(_finding(
            "warning", "budget-scope", label, "no usage in the database has ever matched this budget's scope: "
            "it stays at 0 and never fires", _unused_fix(label, named), budget=label))  # fmt: skip
    if rejects:
        findings.append(_finding("info", "rejects", "import", f"{counted(rejects, 'record')} could not be imported",
                                 "`usagectl db rejects` lists them with file, line and reason", rejects))  # fmt: skip
    origin = timezone_origin(req.tz, ctx.config)
    findings.append(_finding("info", "timezone", tz, f"days and months are calendar days in {tz} ({origin})",
                             "pass --tz ZONE, or set [display] timezone = \"ZONE\" in the config", tz=tz,
                             origin=origin))  # fmt: skip
    findings.sort(key=lambda f: SEVERITIES.index(f["severity"]))
    counts = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}
    events = sum(int(m["requests"] or 0) for m in models)
    overview: tuple[tuple[str, str, Any], ...] = (
        ("range", "Range", f"{flt.since} – {flt.until}"),
        ("timezone", "Time zone", f"{tz} ({origin})"),
        ("requests", "Requests in range", events),
        ("errors", "Errors", counts["error"]),
        ("warnings", "Warnings", counts["warning"]),
        ("infos", "Info", counts["info"]),
    )
    return Report(
        name="doctor",
        title=f"Doctor {flt.since} – {flt.until} ({tz})",
        filters=flt.as_dict(),
        columns=COLUMNS,
        rows=tuple(findings),
        totals=dict(counts),
        overview=overview,
    )


def _config_findings(config: Config) -> list[dict[str, Any]]:
    """Each config section that a command would reject when it reads it (an error: ``notify`` or
    ``invoice`` would exit 2 later), and each key usagectl does not read (a warning: a typo)."""
    out = [
        _finding(
            "error",
            "config",
            section,
            exc.message,
            exc.hint or "fix this section of the config file (the README shows its keys)",
            section=section,
        )
        for section, exc in config_errors(config)
    ]
    if config.path is not None:
        out += [
            _finding("warning", "config-key", str(config.path), message, "check the spelling of the key, or remove it")
            for message in unknown_keys(config.data, config.path)
        ]
    return out


# the budget scopes that hold through an event's own column or its member's mapping
_UNITS = {"member:": "member", "team:": "team", "department:": "department", "cost-center:": "cost_center"}


def _unused_fix(label: str, named: set[str]) -> str:
    """What to do about a budget no usage ever matched: usually a misspelled name; but when no
    stored event names a member, nor the scope's own unit (agent logs: Claude Code and Codex name
    none), a member, team, department or cost-center budget cannot match, however it is spelled
    (QA: a new user's `budget set team:platform` over Claude Code logs was told to check the
    spelling; and a misspelled team over events that name their team is the spelling's fault)."""
    unit = next((u for prefix, u in _UNITS.items() if label.lower().startswith(prefix)), None)
    if unit is not None and not named & {"member", unit}:
        return (
            "no stored event names a member: Claude Code and Codex logs carry none, so usage reaches a member, "
            "team, department or cost center only from logs that name their member (provider usage exports by "
            "user, LiteLLM, canonical events with a member column); `usagectl budget rm` it, or budget the "
            "agents' usage as a whole (global), by project or by model"
        )
    return "check the name (case-sensitive): `usagectl budget set` / `usagectl budget rm`"


def _unused_budgets(ctx: AppContext, con: Any) -> list[str]:
    """Labels of the budgets whose scope matches no event at all (none when the budgets do not load:
    every command that reads them reports that config error itself)."""
    from usagectl.errors import ConfigError
    from usagectl.services.budgets import load_budgets, never_used

    try:
        budgets = load_budgets(ctx)
    except ConfigError:
        return []
    unused = never_used(con, ctx.pricebook(), budgets)
    return [b.label for b in budgets if b.scope in unused]


def _gaps(days: list[dict[str, Any]], spans: list[dict[str, Any]], since: date, until: date,
          tz: str) -> list[dict[str, Any]]:  # fmt: skip
    zone = ZoneInfo(tz)
    have: dict[str, set[date]] = {}
    for d in days:
        local = datetime.fromtimestamp(int(d["qh"]) * 900, UTC).astimezone(zone).date()
        have.setdefault(d["source"], set()).add(local)
    out = []
    for span in sorted(spans, key=lambda s: s["source"]):
        first = local_today(tz, span["first_ts"])
        lo = max(since, first)
        if lo > until:
            continue
        seen = have.get(span["source"], set())
        missing = [lo + timedelta(days=i) for i in range((until - lo).days + 1)]
        missing = [d for d in missing if d not in seen]
        if not missing:
            continue
        runs = _runs(missing)
        shown = ", ".join(_run_text(r) for r in runs[:MAX_RUNS])
        more = f" and {len(runs) - MAX_RUNS} more" if len(runs) > MAX_RUNS else ""
        out.append(_finding(
            "warning", "gaps", span["source"], f"{counted(len(missing), 'day')} without data: {shown}{more}",
            "import the logs of those days (`usagectl import PATH`) or run `usagectl sync`; a quiet day "
            "(weekend, holiday) explains itself", len(missing), days=[d.isoformat() for d in missing]))  # fmt: skip
    return out


def _unpriced(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One finding per unpriced logged name and cause: an unknown or unpriced model, or web
    searches on a model whose table has no per-call rate (``no_web_price``)."""
    acc: dict[tuple[str, bool], list[int]] = {}
    for m in models:
        if m["unpriced_raw"] is not None:
            a = acc.setdefault((m["unpriced_raw"], bool(m["no_web_price"])), [0, 0, 0, 0])
            a[0] += int(m["counted_requests"] or 0)
            a[1] += int(m["total_tokens"] or 0)
            a[2] += int(m["web_search_requests"] or 0)
            a[3] += int(m["requests"] or 0)
    out = []
    # ``req``: a provider bucket without a request count is one request, as in every report's
    # unpriced_requests; the text names such buckets (``requests_text``)
    for (raw, web), (req, tok, calls, logged) in sorted(acc.items(), key=lambda kv: (-kv[1][1], kv[0])):
        detail = f"{requests_text(logged, req)} / {counted(tok, 'token')} have no price and are not in any cost"
        fix = (
            "`usagectl pricing check` says why (an unknown model, a service tier or inference geo its table does "
            "not price, no price for those days); add the model or that price to a table in your [pricing] dir"
        )
        if web:
            detail += f": no web-search price ({counted(calls, 'call')})"
            fix = (
                "`usagectl pricing check` lists them; add web_search_per_1k to this model's price in your [pricing] dir"
            )
        extra = {"web_search_requests": calls} if web else {}
        out.append(_finding("warning", "unpriced", raw, detail, fix, req, model=raw, requests=req,
                            total_tokens=tok, **extra))  # fmt: skip
    return out


def _no_team(members: list[dict[str, Any]], config: Config, mapped: set[str]) -> list[dict[str, Any]]:
    teams_in_use = bool(config.members) or any(m["has_team"] for m in members)
    severity = "warning" if teams_in_use else "info"
    lacking = sorted((m for m in members if m["member"] is not None and not m["has_team"]),
                     key=lambda m: (-int(m["total_tokens"] or 0), m["member"]))  # fmt: skip
    where = f" in {config.path}" if config.path else " in the config"
    # an entry that maps usage of its own, in the range or ever (``mapped``), is a real member and
    # no misspelling of another's name (QA: ann, a member of last quarter, was offered for anne)
    seen = {m["member"] for m in members} | mapped
    spare = [name for name in config.members if name not in seen]
    out = []
    for m in lacking[:MAX_MEMBERS]:
        near = similar_member(m["member"], spare)
        out.append(_finding(
            severity, "no-team", m["member"],
            f"{int(m['requests']):,} requests / {int(m['total_tokens']):,} tokens with no team (event or config)",
            _no_team_fix(m["member"], near, where), int(m["requests"]), member=m["member"],
            total_tokens=int(m["total_tokens"]), similar_entry=near))  # fmt: skip
    if len(lacking) > MAX_MEMBERS:
        rest = lacking[MAX_MEMBERS:]
        out.append(_finding(severity, "no-team", f"{len(rest)} more members", ", ".join(m["member"] for m in rest),
                            f"add [members.NAME] team = \"...\"{where}", len(rest)))  # fmt: skip
    return out


def _no_team_fix(member: str, near: str | None, where: str) -> str:
    """The fix for a member without a team; with the config entry that differs from the member's
    name only in case or by a close spelling (``[members.Alice]`` for alice), which is most
    likely the mapping meant for it: names are matched exactly, so it maps no usage of the range."""
    add = f'add [members.{member}] team = "..."'
    if near is None:
        return f"{add}{where}"
    return (
        f"did you mean [members.{near}]{where}? Member names must match the logs exactly (case-sensitive): "
        f"rename it [members.{member}], or {add}"
    )


def _mismatch(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    acc: dict[tuple[str, str], list[Any]] = {}
    for m in models:
        if not m["compared_events"]:
            continue
        a = acc.setdefault((m["source"], m["model"] or "(none)"), [0, Decimal(0), Decimal(0)])
        a[0] += int(m["compared_events"])
        a[1] += m["computed_usd"] or Decimal(0)
        a[2] += m["reported_usd"] or Decimal(0)
    out = []
    for (source, model), (n, computed, reported) in sorted(acc.items()):
        diff = computed - reported
        pct = diff * 100 / reported if reported else None
        if abs(diff) <= MISMATCH_USD or (pct is not None and abs(pct) <= MISMATCH_PCT):
            continue
        pct_text = f"{pct:+.1f}%" if pct is not None else "reported $0"
        out.append(_finding(
            "warning", "cost-mismatch", f"{source} / {model}",
            f"computed ${computed:,.6f} vs reported ${reported:,.6f} over {n:,} events ({pct_text})",
            f"`usagectl pricing show {model}` shows the rates applied; `usagectl reconcile` compares with billed "
            "cost reports; a source pricing at another rate (discount, old table) explains it", n, source=source,
            model=model, computed_usd=computed, reported_usd=reported, diff_usd=diff,
            diff_pct=pct))  # fmt: skip
    return out


def strict_failure(report: Report) -> StrictCheckFailed | None:
    """The error ``doctor --strict`` exits with (1) when a finding is a warning or worse."""
    bad = report.totals.get("error", 0) + report.totals.get("warning", 0)
    if not bad:
        return None
    return StrictCheckFailed(
        f"doctor: {counted(bad, 'finding')} of severity warning or worse", hint="see the Fix column"
    )
