"""``usagectl status``: the quick usage overview as one line (shell prompt, tmux, editor).

Today's tokens and cost, this month's tokens against the plan quota, and the worst budget
level. One read-only connection and ONE query for the usage: the one-pass cube of the
current calendar month (in the chosen zone; the whole month, so usage dated after now, a clock
ahead, is counted as ``report month`` counts it) by local date, over the month's rows only (the
range predicate on ``ts`` lets DuckDB skip the other row groups by their zone maps); today
is that cube's row of today. Budgets, when any are configured, are
:func:`usagectl.services.budgets.budget_status` (its own short connection).

Money is Decimal; ``cost_usd`` None means nothing of the period was priced, and unpriced
requests are counted apart (never $0).

A prompt runs ``status`` every few seconds while the database rarely changes, so
:func:`cached_status_line` keeps the last answer in the user cache dir, keyed on the database
file and its WAL (size, mtime), the config file, the zone, the filters and the local day; a
hit costs a few ``stat`` calls and never imports duckdb. The key also holds the usagectl version
and the files of a user ``[pricing] dir`` (an edited price table changes the answer); an entry is
still used for at most ``CACHE_SECONDS``, as a guard. Commands that write the database
(``import``, ``sync``, the dashboard's sync) recompute the entry as they finish
(:func:`warm_cache`), so a prompt's status after new data is a hit too.

The config's part of the key is the file's stat taken BEFORE the config the answer was computed
with was read (:func:`reread_config`, or the caller's ``config_stat``): a process that read the
config long ago (a dashboard running for hours, a long import) must never file its answer under
the stat of a file edited since (QA: a budget set while a dashboard ran was hidden from
``status`` as a cache hit). A file edited between that stat and the read only makes the next
``status`` compute again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from usagectl import __version__
from usagectl.config import Config, effective_timezone, find_config_path, parse_config, read_toml
from usagectl.errors import ConfigError, UsagectlError
from usagectl.models import Filters
from usagectl.services.cache_dir import cache_file, file_stat, write_json
from usagectl.services.context import AppContext
from usagectl.services.reports import HUNDRED, ReportRequest
from usagectl.services.rollup import empty, rollup, total
from usagectl.timeutil import day_start_utc, days_in_month, local_today

LEVELS = ("ok", "warning", "caution", "critical", "exceeded")
CACHE_SECONDS = 3600.0
_MONEY = ("today_cost_usd", "month_cost_usd", "quota_pct", "worst_pct")


def _clock() -> datetime:
    """The wall clock (tests replace it)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class StatusLine:
    day: date
    tz: str
    today_tokens: int
    today_cost_usd: Decimal | None
    today_unpriced_requests: int
    month: str  # YYYY-MM
    month_tokens: int
    month_cost_usd: Decimal | None
    month_unpriced_requests: int
    quota_tokens: int | None
    quota_pct: Decimal | None  # month tokens * 100 / quota, exact (shown rounded down, JSON to 0.01)
    budgets: int  # budgets configured
    worst_level: str | None  # None when no budget is configured
    worst_budget: str | None  # label of the budget at the worst level (highest percent)
    worst_pct: Decimal | None  # its percent, exact (shown rounded down, JSON to 0.01)

    def as_dict(self, where: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
        """The JSON contract (``report``, ``filters``, ``rows``, ``totals``) and, kept for the
        scripts written before it, ``date``, ``tz``, ``today``, ``month`` and ``budgets``. The
        rows are the two periods, today and the month; the totals are the month's (today is part
        of it), to its last day: usage dated after now is in them, as in ``report month``, so the
        range says so (QA: it said ``until`` today). ``where``: the filters the usage was asked with.
        The used shares are rounded down (99.996 % is 99.99, as everywhere a share of a quota is)."""
        from usagectl.render.formats import used_pct_machine

        first = self.day.replace(day=1)
        last = self.day.replace(day=days_in_month(self.day.year, self.day.month))
        today = {
            "total_tokens": self.today_tokens,
            "cost_usd": self.today_cost_usd,
            "unpriced_requests": self.today_unpriced_requests,
        }
        month = {
            "total_tokens": self.month_tokens,
            "cost_usd": self.month_cost_usd,
            "unpriced_requests": self.month_unpriced_requests,
        }
        return {
            "report": "status",
            "filters": {
                "since": first,
                "until": last,
                "tz": self.tz,
                **{k: list(v) for k, v in (where or {}).items() if v},
            },
            "rows": [
                {"period": "today", "since": self.day, "until": self.day, **today},
                {"period": "month", "since": first, "until": last, **month},
            ],
            "totals": month,
            "date": self.day,
            "tz": self.tz,
            "today": today,
            "month": {
                "month": self.month,
                **month,
                "quota_tokens": self.quota_tokens,
                "quota_pct": None if self.quota_pct is None else used_pct_machine(self.quota_pct),
            },
            "budgets": {
                "count": self.budgets,
                "worst_level": self.worst_level,
                "worst_budget": self.worst_budget,
                "worst_pct": None if self.worst_pct is None else used_pct_machine(self.worst_pct),
            },
        }


def status_line(ctx: AppContext, req: ReportRequest | None = None) -> StatusLine:
    """The status of today and this month in the zone of ``req.tz`` (else config, else local),
    with ``req.where`` filters applied to the usage (budgets keep their own scopes)."""
    from usagectl.services.budgets import budget_status, load_budgets
    from usagectl.store import reports as q
    from usagectl.store.connection import connect

    req = req or ReportRequest()
    now = req.now.astimezone(UTC) if req.now else _clock()
    tz = effective_timezone(req.tz, ctx.config)
    today = local_today(tz, now)
    first = today.replace(day=1)
    where = dict(req.where)
    if "model" in where:
        book = ctx.pricebook()
        where["model"] = tuple(book.resolve(m) or m for m in where["model"])
    last = first.replace(day=days_in_month(first.year, first.month))
    # the whole month: usage dated after now (a clock ahead) is in the month's tokens, cost and
    # quota %, as in `report month`, `budget status` and the dashboard
    flt = Filters(
        start=day_start_utc(first, tz),
        end=day_start_utc(last + timedelta(days=1), tz),
        tz=tz,
        since=first,
        until=last,
        where=where,
    )
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, flt)
        cube = q.cube(con, flt, ["date"])
    month_sums = total(cube)
    today_sums = rollup(cube, ["date"]).get((today,), empty())
    quota = ctx.config.monthly_token_quota
    month_tokens = int(month_sums["total_tokens"])
    worst = worst_label = worst_pct = None
    budgets = load_budgets(ctx)
    if budgets:
        states = budget_status(ctx, tz=tz, now=now, clock=True)
        top = max(states, key=lambda s: (LEVELS.index(s.level), s.percent))
        worst, worst_label, worst_pct = top.level, top.budget.label, top.percent
    return StatusLine(
        day=today,
        tz=tz,
        today_tokens=int(today_sums["total_tokens"]),
        today_cost_usd=_cost(today_sums),
        today_unpriced_requests=int(today_sums["unpriced_requests"]),
        month=f"{today.year:04d}-{today.month:02d}",
        month_tokens=month_tokens,
        month_cost_usd=_cost(month_sums),
        month_unpriced_requests=int(month_sums["unpriced_requests"]),
        quota_tokens=quota,
        quota_pct=Decimal(month_tokens) * HUNDRED / quota if quota else None,
        budgets=len(budgets),
        worst_level=worst,
        worst_budget=worst_label,
        worst_pct=worst_pct,
    )


def _cost(sums: dict[str, Any]) -> Decimal | None:
    """$0 when there was no request; None (unpriced, never $0) when requests had no price."""
    if sums["cost_usd"] is None and not sums["requests"] and not sums.get("unpriced_requests"):
        return Decimal(0)
    return sums["cost_usd"]  # type: ignore[no-any-return]


def _pricing_stats(folder: Path | None) -> list[Any]:
    """Each folder of price tables the book is read from (the packaged tables or
    ``$USAGECTL_PRICING_DIR`` in their place, then a user ``[pricing] dir``), with the name, size
    and mtime of each table: a changed table, or another folder named by the variable, is another
    key (QA: ``$USAGECTL_PRICING_DIR`` was left out, and the cached cost outlived it)."""
    from usagectl.pricing import pricing_dirs, table_files

    try:
        folders = pricing_dirs(folder)
    except UsagectlError:  # a folder that is gone: the status itself says so
        folders = [folder] if folder is not None else []
    out: list[Any] = []
    for f in folders:
        # the files the book loads, no other: an editor's lock file is not a change of prices
        try:
            tables = [[p.name, *(file_stat(p) or ())] for p in table_files(Path(f))]
        except OSError:
            tables = []
        out.append([str(f), tables])
    return out


def _cache_file(db_path: Path) -> Path:
    return cache_file(db_path, "status")


ConfigStat = tuple[int, int] | None
_NOW: Any = object()  # ``config_stat`` not given: the file's stat now


def reread_config(ctx: AppContext) -> tuple[AppContext, ConfigStat]:
    """``ctx`` with its config file read again, and that file's stat taken just before the read
    (the stat to key an answer computed with it). The file is the one ``ctx.config`` came from;
    when none existed, where ``load_config`` would look now (one written since is read). No
    unknown-key warnings: they were given when the command started, and a live screen has no
    room for them. ConfigError (exit 2) for a file that is gone or does not parse."""
    path = ctx.config.path or find_config_path(None)[0]
    stat = file_stat(path)
    if path is None or stat is None:
        if ctx.config.path is not None:
            raise ConfigError(f"config file {path} does not exist")
        return replace(ctx, config=Config(path=None)), None
    return replace(ctx, config=parse_config(read_toml(path), path)), stat


def cached_status_line(
    ctx: AppContext, req: ReportRequest | None = None, *, config_stat: ConfigStat = _NOW
) -> StatusLine:
    """:func:`status_line`, answered from the cache while nothing it depends on changed.
    ``config_stat``: the config file's stat taken before ``ctx.config`` was read (see the module
    docstring); not given, the stat now, right for a config read a moment ago."""
    req = req or ReportRequest()
    now = req.now.astimezone(UTC) if req.now else _clock()
    tz = effective_timezone(req.tz, ctx.config)
    db = ctx.db_path
    conf = file_stat(ctx.config.path) if config_stat is _NOW else config_stat
    key = json.dumps(
        [str(db), file_stat(db), file_stat(db.with_name(db.name + ".wal")), str(ctx.config.path), conf,
         tz, sorted((k, list(v)) for k, v in req.where.items()), local_today(tz, now).isoformat(),
         __version__, _pricing_stats(ctx.config.pricing_dir)]
    )  # fmt: skip
    path = _cache_file(db)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        age = now.timestamp() - float(doc["at"])
        if doc["key"] == key and 0 <= age < CACHE_SECONDS:
            return _from_json(doc["status"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cache, or an unreadable one: compute
    result = status_line(ctx, req)
    write_json(path, {"key": key, "at": now.timestamp(), "status": _to_json(result)})
    return result


def warm_cache(ctx: AppContext, *, now: datetime | None = None) -> bool:
    """After a command that wrote the database (import, sync): recompute the cached status line
    for the zone and filters it was last asked with, so the next ``usagectl status`` (a shell
    prompt, a tmux bar) is a cache hit instead of the first query after the change. Only when
    ``status`` has been used with this database (a cache file exists); never raises."""
    try:
        doc = json.loads(_cache_file(ctx.db_path).read_text(encoding="utf-8"))
        key = json.loads(doc["key"])
        tz, where = str(key[5]), {str(k): tuple(v) for k, v in key[6]}
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return False
    try:
        # the config as the next `status` will read it: this command's copy may be older
        fresh, stat = reread_config(ctx)
        cached_status_line(fresh, ReportRequest(tz=tz, where=where, now=now), config_stat=stat)
    except UsagectlError:
        return False  # e.g. busy, or a config being edited: the next status computes it
    return True


def _to_json(s: StatusLine) -> dict[str, Any]:
    out = asdict(s)
    out["day"] = s.day.isoformat()
    for k in _MONEY:
        out[k] = None if out[k] is None else str(out[k])  # exact: Decimal as text
    return out


def _from_json(doc: dict[str, Any]) -> StatusLine:
    doc = dict(doc)
    doc["day"] = date.fromisoformat(doc["day"])
    for k in _MONEY:
        doc[k] = None if doc[k] is None else Decimal(doc[k])
    return StatusLine(**doc)
