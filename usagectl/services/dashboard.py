"""The live dashboard: one frame's data, refreshed cheaply.

A :class:`Dashboard` keeps the last frame's data and, per :meth:`Dashboard.refresh`:

1. reads the config file again when its size or mtime changed (one ``stat``): a quota, a
   budget or a member's team set in another shell shows in the next frame;
2. (watch mode) syncs the registered sources, but only when a source's file listing or a
   file's size / mtime changed since the last sync (one ``stat`` per file; a sync is also
   forced every ``resync_seconds`` so an unfinished last line is flushed as ``sync`` does);
3. reads the database's change token (:func:`usagectl.store.dashboard.change_token`), but
   only when the database file or its WAL changed size or mtime since the last read (every
   commit changes one of them): an idle dashboard does not open the database at all;
4. re-queries the panels only when the token or the config changed, the local day changed,
   or the data is older than ``max_age_seconds`` (the month-end projection moves with the clock).

It opens the database per step and closes it at once (never holds it between refreshes), and
not at all while nothing changed, so an import started beside it rarely meets its read lock
(and waits one out: :mod:`usagectl.store.connection`). A busy database (another process
writing) becomes ``state="busy"`` with the last data kept; the next refresh tries again.

The month overview, model distribution and projection come from
:func:`usagectl.services.reports.month`; budgets from
:func:`usagectl.services.budgets.budget_status`; anomalies from an injected provider
``(ctx, req) -> list[dict]`` (keys day/series/kind/severity/detail).
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from usagectl.config import effective_timezone
from usagectl.errors import DatabaseBusyError, UsagectlError
from usagectl.models import Filters, Report
from usagectl.services.budget_config import LEVEL_ORDER
from usagectl.services.budgets import BudgetState, budget_status
from usagectl.services.context import AppContext
from usagectl.services.reports import ReportRequest, build_filters, month
from usagectl.services.rollup import rollup
from usagectl.timeutil import date_range, day_start_utc, days_in_month, local_today

if TYPE_CHECKING:
    from usagectl.store.sources import SourceRow

AnomalyProvider = Callable[[AppContext, ReportRequest], list[dict[str, Any]]]
State = Literal["ok", "busy", "error"]
SERIES_DAYS = 30
TOP_N = 5
FEED_N = 8
# the complete days before today that the Anomalies panel covers: what the CLI's provider asks
# ``recent_anomalies`` for (usagectl.cli.dashboard)
ANOMALY_DAYS = 7
SEVERITY_ORDER = ("critical", "high", "medium", "low")  # of an anomaly, worst first
_UNREAD: Any = object()  # the config file not read by the dashboard yet


def _clock() -> datetime:
    """The wall clock (tests replace it)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class DayPoint:
    day: date
    tokens: int
    cost_usd: Decimal | None  # None: nothing priced that day
    unpriced_tokens: int = 0  # of ``tokens``, those with no price (NOT in ``cost_usd``)


@dataclass(frozen=True)
class TopRow:
    name: str
    tokens: int
    cost_usd: Decimal | None  # of the priced usage only
    unpriced_requests: int
    unpriced_tokens: int

    @property
    def all_unpriced(self) -> bool:
        """No known cost: nothing priced, or every token of the group unpriced (a priced request
        of 0 tokens costs $0.00, which must not stand for the unpriced ones)."""
        return self.cost_usd is None or (self.unpriced_requests > 0 and self.unpriced_tokens == self.tokens)


@dataclass(frozen=True)
class DashboardData:
    """Everything one frame shows; money is Decimal, tokens int."""

    month: Report  # ``report month`` of the current month (overview, rows per day, models section)
    today: date
    today_tokens: int
    today_cost_usd: Decimal | None
    series: tuple[DayPoint, ...]  # the last 30 local days, oldest first, today last
    top_kind: str  # "member" or "feature"
    top: tuple[TopRow, ...]
    budgets: tuple[BudgetState, ...]  # worst first: by level, then percent (config order on a tie)
    feed: tuple[dict[str, Any], ...]  # newest first: ts, event_id, model, member, feature, source, tokens, cost
    anomalies: tuple[dict[str, Any], ...]  # worst first: severity, the total series, newest day
    anomaly_error: str | None
    anomaly_command: tuple[str, ...]  # the command listing them all (:func:`anomalies_command`)
    token: tuple[Any, ...]
    queried_at: datetime

    def overview(self, key: str) -> Any:
        return next((v for k, _, v in self.month.overview if k == key), None)


@dataclass(frozen=True)
class Frame:
    """One refresh: the state of the database, the data (the last good data when busy)."""

    now: datetime
    tz: str
    state: State
    message: str | None
    data: DashboardData | None
    requeried: bool  # the panels were queried again in this refresh
    imported: int = 0  # events the sync of this refresh imported
    sync_notes: tuple[str, ...] = ()
    exit_code: int = 0  # what ``--once`` exits with: 3 busy, else the error's code
    error: UsagectlError | None = None  # the failure itself, for ``--once`` to report as any command does


@dataclass
class Dashboard:
    ctx: AppContext
    req: ReportRequest = field(default_factory=ReportRequest)
    watch: bool = True
    anomalies: AnomalyProvider | None = None
    max_age_seconds: float = 60.0
    resync_seconds: float = 30.0
    feed_size: int = FEED_N
    _data: DashboardData | None = None
    _snapshot: dict[str, Any] | None = None
    _synced_at: float = 0.0
    _anomaly_cache: tuple[Any, ...] | None = None  # (token, day, anomalies, error)
    _config_stat: Any = _UNREAD  # the config file's (size, mtime) when self.ctx.config was read
    _peeked: tuple[Any, ...] | None = None  # (database and WAL stats, token, sources) of the last read

    def refresh(self) -> Frame:
        now = self.req.now.astimezone(UTC) if self.req.now else _clock()
        tz = effective_timezone(self.req.tz, self.ctx.config)
        imported: int = 0
        notes: tuple[str, ...] = ()
        try:
            reread = self._reread_config()
            tz = effective_timezone(self.req.tz, self.ctx.config)  # the config may set another zone
            token, sources = self._peek()
            if self.watch and sources:
                synced, imported, notes = self._sync(sources)
                if synced:
                    token, _ = self._peek()
            data = self._data
            if data is None or reread or self._stale(data, token, now, tz):
                data = self._query(now, tz, token)
                self._data = data
                return Frame(now, tz, "ok", None, data, True, imported, notes)
            return Frame(now, tz, "ok", None, data, False, imported, notes)
        except DatabaseBusyError as exc:  # the renderer says "retrying" where it does (live, not --once)
            return Frame(now, tz, "busy", exc.message, self._data, False, exit_code=int(exc.exit_code), error=exc)
        except UsagectlError as exc:
            return Frame(now, tz, "error", exc.message, self._data, False, exit_code=int(exc.exit_code), error=exc)

    # ---------------------------------------------------------------- steps

    def _reread_config(self) -> bool:
        """Read the config file again when its size or mtime changed since it was read (always
        on the first refresh: the stat of the command's own read is not known). True when it was
        read. The stat is taken before the read, so an edit during it is read at the next refresh;
        a file that does not parse (half written) is an error frame and is read again next time."""
        from usagectl.config import find_config_path
        from usagectl.services.cache_dir import file_stat
        from usagectl.services.status_line import reread_config

        if self._config_stat is not _UNREAD:
            path = self.ctx.config.path or find_config_path(None)[0]
            if file_stat(path) == self._config_stat:
                return False
        self.ctx, self._config_stat = reread_config(self.ctx)
        self._anomaly_cache = None  # members' teams, price tables: the anomalies may differ too
        return True

    def _peek(self) -> tuple[tuple[Any, ...], list[SourceRow]]:
        """The change token and the sources; the last ones again, without opening the database,
        while neither the file nor its WAL changed size or mtime (every commit writes one of them).
        Taken before the read, the stats can only be older than what was read: a write during it
        is read at the next refresh."""
        from usagectl.services.cache_dir import file_stat

        db = self.ctx.db_path
        stats = (file_stat(db), file_stat(db.with_name(db.name + ".wal")))
        if self._peeked is not None and self._peeked[0] == stats:
            return self._peeked[1], self._peeked[2]
        token, sources = _peek(db)
        self._peeked = (stats, token, sources)
        return token, sources

    def _stale(self, data: DashboardData, token: tuple[Any, ...], now: datetime, tz: str) -> bool:
        return (
            token != data.token
            or local_today(tz, now) != data.today
            or (now - data.queried_at).total_seconds() >= self.max_age_seconds
        )

    def _sync(self, sources: list[SourceRow]) -> tuple[bool, int, tuple[str, ...]]:
        """(synced at all, events imported, notes on files that could not be read)."""
        from usagectl.services.sync import sync

        snapshot = _source_snapshot(sources)
        due = time.monotonic() - self._synced_at >= self.resync_seconds
        if snapshot == self._snapshot and not due:
            return False, 0, ()
        result = sync(self.ctx)
        self._snapshot, self._synced_at = snapshot, time.monotonic()
        notes = tuple(f.error or f.path for f in result.failed)  # each error names its path
        imported = sum(s.summary.imported + s.summary.replaced for s in result.sources)
        if imported:
            from usagectl.services.status_line import warm_cache

            warm_cache(self.ctx)  # a `usagectl status` in another pane stays a cache hit
        return True, imported, notes

    def _anomalies(
        self, req: ReportRequest, token: tuple[Any, ...], today: date
    ) -> tuple[tuple[dict[str, Any], ...], str | None]:
        """The provider's anomalies, asked again only when the data or the day changed (they are
        about complete past days: the clock alone does not move them)."""
        if self.anomalies is None:
            return (), None
        cached = self._anomaly_cache
        if cached is not None and cached[:2] == (token, today):
            return cached[2], cached[3]
        try:
            found, error = _worst_anomalies_first(self.anomalies(self.ctx, req)), None
        except DatabaseBusyError:
            raise
        except Exception as exc:  # an optional panel must not take the dashboard down
            found, error = (), f"anomalies unavailable: {exc}"
        self._anomaly_cache = (token, today, found, error)
        return found, error

    def _query(self, now: datetime, tz: str, token: tuple[Any, ...]) -> DashboardData:
        from usagectl.store import dashboard as dq
        from usagectl.store import reports as q
        from usagectl.store.connection import connect

        req = replace(self.req, now=now)
        month_req = replace(req, since=None, until=None)
        report = month(self.ctx, month_req)
        today = local_today(tz, now)
        # the chart: the 30 days up to today, or up to the day of an --until given alone
        series_flt = build_filters(
            self.ctx, req, default=lambda end: ((end or today) - timedelta(days=SERIES_DAYS - 1), end or today)
        )
        first = today.replace(day=1)
        last = first.replace(day=days_in_month(first.year, first.month))
        # the whole month, as the month panel (``report month``) and the budgets count it: usage
        # dated after now (a clock ahead) too
        month_flt = Filters(
            start=day_start_utc(first, tz), end=day_start_utc(last + timedelta(days=1), tz), tz=tz,
            since=first, until=last, where=series_flt.where,
        )  # fmt: skip
        union = replace(
            series_flt, start=min(series_flt.start, month_flt.start), end=max(series_flt.end, month_flt.end)
        )
        with connect(self.ctx.db_path, read_only=True) as con:
            q.prepare_session(con, self.ctx.pricebook(), self.ctx.config.members, union)
            # two narrow cubes measured faster than one by (date, member, feature) on 10M events
            by_day = rollup(q.cube(con, series_flt, ["date"]), ["date"])
            people = q.cube(con, month_flt, ["member", "feature"])
            # the feed as before: up to the end of today (or of the chart's range)
            feed_flt = replace(union, end=max(series_flt.end, day_start_utc(today + timedelta(days=1), tz)))
            feed = dq.latest_events(con, feed_flt, self.feed_size)
        series = tuple(
            DayPoint(d, int(row.get("total_tokens", 0)), row.get("cost_usd"), int(row.get("unpriced_tokens", 0)))
            for d in date_range(series_flt.since, series_flt.until)
            for row in (by_day.get((d,), {}),)
        )
        top_kind, top = _top(people)
        today_row = next((r for r in report.rows if r["date"] == today), {})
        budgets = _worst_budgets_first(budget_status(self.ctx, tz=tz, now=now, clock=True))
        anomalies, anomaly_error = self._anomalies(req, token, today)
        return DashboardData(
            month=report,
            today=today,
            today_tokens=int(today_row.get("total_tokens", 0)),
            today_cost_usd=today_row.get("cost_usd", Decimal(0)),  # None: today's requests are all unpriced
            series=series,
            top_kind=top_kind,
            top=top,
            budgets=budgets,
            feed=tuple(feed),
            anomalies=anomalies,
            anomaly_error=anomaly_error,
            anomaly_command=anomalies_command(req, tz, today),
            token=token,
            queried_at=now,
        )


def _top(cube: list[dict[str, Any]]) -> tuple[str, tuple[TopRow, ...]]:
    """Members when the month has more than one named member, else features."""
    members = rollup(cube, ["member"])
    kind = "member" if len([k for k in members if k[0] is not None]) > 1 else "feature"
    groups = members if kind == "member" else rollup(cube, ["feature"])
    rows = [
        TopRow(
            k[0] if k[0] is not None else "(none)",
            int(v["total_tokens"]),
            v["cost_usd"],
            int(v["unpriced_requests"]),
            int(v["unpriced_tokens"]),
        )
        for k, v in groups.items()
    ]
    rows.sort(key=lambda r: (-(r.cost_usd or 0), -r.tokens, r.name))
    return kind, tuple(rows[:TOP_N])


def anomalies_command(req: ReportRequest, tz: str, today: date) -> tuple[str, ...]:
    """The ``usagectl anomalies`` command that lists exactly the panel's anomalies: its
    ``ANOMALY_DAYS`` complete days by date (QA: the bare command checks 14 days, and listed
    others; ``--since 7d`` would be today and the 6 days before, not the 7 days up to
    yesterday), the dashboard's ``--tz`` (the dates are days of its zone) and its filters. Each
    option and its value make one part, so a folded hint never splits them."""
    until = today - timedelta(days=1)
    since = until - timedelta(days=ANOMALY_DAYS - 1)
    parts = ["usagectl", "anomalies", "--by member", "--by model", f"--since {since}", f"--until {until}"]
    if req.tz:  # else the command's own default zone is the dashboard's (config, else the machine's)
        parts.append(f"--tz {shlex.quote(tz)}")
    for key, values in req.where.items():
        parts += [f"--{key.replace('_', '-')} {shlex.quote(v)}" for v in values]
    return tuple(parts)


def _worst_budgets_first(states: list[BudgetState]) -> tuple[BudgetState, ...]:
    """Exceeded first, then critical, caution, warning, ok; the higher percent first within a
    level, config order on a tie. The panel shows the first few: an exceeded budget listed 7th
    in the config must be among them (QA: only the first 6 in config order were shown, all "ok")."""
    return tuple(sorted(states, key=lambda s: (-LEVEL_ORDER.index(s.level), -s.percent)))


def _worst_anomalies_first(found: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """By severity (critical, high, medium, low, anything else), then the ``total`` series (its
    detail names who caused it), then the newest day; the provider's order on a tie."""

    def key(a: dict[str, Any]) -> tuple[int, bool]:
        sev = str(a.get("severity", ""))
        rank = SEVERITY_ORDER.index(sev) if sev in SEVERITY_ORDER else len(SEVERITY_ORDER)
        return rank, a.get("series") != "total"

    by_day = sorted(found, key=lambda a: str(a.get("day", "")), reverse=True)  # stable: ties keep order
    return tuple(sorted(by_day, key=key))


def _peek(db_path: Path) -> tuple[tuple[Any, ...], list[SourceRow]]:
    """The change token and the registered sources, in one short read-only connection."""
    from usagectl.store import dashboard as dq
    from usagectl.store import sources as st
    from usagectl.store.connection import connect

    with connect(db_path, read_only=True) as con:
        return dq.change_token(con), st.list_sources(con)


def _source_snapshot(sources: list[SourceRow]) -> dict[str, Any]:
    """Per registered source: its files with size and mtime (stats only, no reads)."""
    from usagectl.services.sources import list_files

    snap: dict[str, Any] = {}
    for src in sources:
        try:
            files = list_files(Path(src.path), src.format)
        except (OSError, UsagectlError) as exc:
            snap[src.name] = repr(exc)
            continue
        stats = []
        for path, _fmt in files:
            try:
                s = os.stat(path)
            except OSError:
                continue
            stats.append((path, s.st_size, s.st_mtime_ns))
        snap[src.name] = tuple(stats)
    return snap
