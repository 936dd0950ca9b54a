"""The data of the month PDF, gathered from the existing report services.

``month_pdf_data`` returns plain Reports (no drawing here): the month overview (overview panel,
daily rows, model distribution), the team report (members; teams, departments and cost centers
with the shared cost allocated), budgets vs actual in the month, and any extra Reports to
append, e.g. the optimization opportunities of ``usagectl.services.optimize.optimize_report``
(pass it as ``opportunities``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from usagectl.config import effective_timezone
from usagectl.models import Report
from usagectl.services.context import AppContext
from usagectl.services.reports import ReportRequest, build_filters
from usagectl.timeutil import day_start_utc, days_in_month, local_today, month_or_range, parse_month

OPPORTUNITIES_TITLE = "Top optimization opportunities"
TOP_OPPORTUNITIES = 10
NOT_BEGUN = (
    "The period has not begun (it starts on {first}, {tz}): no spend to set against the budgets yet. "
    "The budgets configured, with their limits:"
)


@dataclass(frozen=True)
class PdfReport:
    title: str
    period: str  # e.g. "2026-11 (Europe/Berlin)"
    generated: datetime  # UTC
    month: Report  # overview panel, daily rows, "models" section
    team: Report  # member rows; "teams", "departments", "cost_centers" sections
    # budgets vs actual in the month; before the month begins, the budgets with their limits and
    # no spend (see budgets_intro); None: no budgets configured
    budgets: Report | None
    extras: tuple[Report, ...] = ()  # appended after the standard sections, in order
    budgets_intro: str | None = None  # the line above the budget table: as of a past day, or not begun

    def section(self, report: Report, key: str) -> Any:
        return next((s for s in report.sections if s.key == key), None)


def month_pdf_data(
    ctx: AppContext,
    req: ReportRequest,
    month: str | None = None,
    *,
    opportunities: Report | None = None,
    extras: tuple[Report, ...] = (),
) -> PdfReport:
    """Everything the month PDF shows, for one calendar month in the zone (default: this month)
    or the --since/--until range. ``opportunities`` (a Report with rows of rule, description,
    events, saving_usd_month) becomes the "Top optimization opportunities" table."""
    from usagectl.services import reports
    from usagectl.services.team import team

    tz = effective_timezone(req.tz, ctx.config)
    now = req.now.astimezone(UTC) if req.now else datetime.now(UTC)
    overview = reports.month(ctx, req, month)
    span_req = month_request(ctx, req, month)
    flt = build_filters(ctx, span_req)
    team_report = team(ctx, span_req)
    budgets, budgets_intro = _budgets(ctx, tz, now, flt.since, flt.until)
    period = str(dict((k, v) for k, _l, v in overview.overview).get("period", f"{flt.since} – {flt.until}"))
    more = tuple(extras)
    if opportunities is not None:  # best first: the top ten, under the title the PDF promises
        top = dataclasses.replace(opportunities, title=OPPORTUNITIES_TITLE, rows=opportunities.rows[:TOP_OPPORTUNITIES])
        more = (top, *more)
    return PdfReport(
        title="LLM usage and cost report",
        period=period,
        generated=now,
        month=overview,
        team=team_report,
        budgets=budgets,
        extras=more,
        budgets_intro=budgets_intro,
    )


def month_request(ctx: AppContext, req: ReportRequest, month: str | None = None) -> ReportRequest:
    """``req`` with since/until set to the report's calendar month (YYYY-MM, default: the current
    month in the zone), unless it already has a --since/--until range: the request to hand to
    other services (team, optimize) so they cover the same period as the PDF."""
    month_or_range(month, req.since, req.until)
    if req.since or req.until:
        return req
    tz = effective_timezone(req.tz, ctx.config)
    now = req.now.astimezone(UTC) if req.now else datetime.now(UTC)
    year, mon = parse_month(month) if month is not None else (local_today(tz, now).year, local_today(tz, now).month)
    first, last = date(year, mon, 1), date(year, mon, days_in_month(year, mon))
    return dataclasses.replace(req, since=first.isoformat(), until=last.isoformat())


def _budgets(ctx: AppContext, tz: str, now: datetime, first: date, last: date) -> tuple[Report | None, str | None]:
    """Budgets as of the report's last moment (its end, or now if earlier): the period that holds
    it and the spend up to it, so a past range is not shown with later spend; and the line to
    put above them. A period that has not begun has no spend to set against the budgets: they
    are listed with their limits, and the line says so. (None, None): no budgets configured."""
    from usagectl.services.budgets import budget_status, list_report, status_report

    end = day_start_utc(last + timedelta(days=1), tz) - timedelta(microseconds=1)
    at = min(now, end)
    if at < day_start_utc(first, tz):
        listed = list_report(ctx)
        if not listed.rows:
            return None, None
        # where each budget is set (budgets[0]) is for the config's owner, not the report's reader
        columns = tuple(c for c in listed.columns if c.key != "source")
        return dataclasses.replace(listed, columns=columns), NOT_BEGUN.format(first=first, tz=tz)
    # a range through now counts the period's usage dated after now, as `budget status` does
    states = budget_status(ctx, tz=tz, now=at, clock=at >= now)
    if not states:
        return None, None
    report = status_report(states, tz, as_of=local_today(tz, at) if at < now else None)
    return report, next((n for n in report.notes if n.startswith("As of ")), None)
