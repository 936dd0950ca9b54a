"""`usagectl optimize`: ranked opportunities, each with the events it covers and the $/month it
would save, computed by REPRICING those events with the price tables (never a percentage).

Saving = priced cost of the covered events − their cost repriced as the rule proposes;
$/month = saving × 30 / days in the range (default: the last 30 complete days, so = saving).
The table shows the covered events' cost and the saving in the range side by side, then the
saving / month. An opportunity of fewer than ``MIN_EVENTS`` events is kept but named in a note:
a one-off's $/month holds only if such usage recurs.
Unpriced events are never covered. The rules overlap (a long chat's request can be covered by
prompt caching and by context management) and each reprices its events in aggregate, not per
event, so there is no exact de-duplicated total: the report has no total saving, only each
rule's (a sum of them would overstate what can be saved). Rules and thresholds (module constants):

* ``model-selection``: successful single requests with total input ≤ ``SIMPLE_MAX_INPUT`` and
  output ≤ ``SIMPLE_MAX_OUTPUT`` tokens on a model of ``CHEAPER_MODEL`` → that cheaper model of
  the same provider, same tier and time.
* ``batching``: standard-tier requests on a platform of ``NON_INTERACTIVE_PLATFORMS`` whose
  feature is not in ``INTERACTIVE_FEATURES`` → the batch tier of the same model (where it has one).
* ``standard-speed``: requests in fast mode (Anthropic, 2-6x the standard rates) or at the priority
  tier → the standard tier of the same model (the same tokens, slower).
* ``prompt-caching``: chats with ≥ ``CACHE_MIN_REQUESTS`` requests of ≥ ``CACHE_MIN_INPUT``
  uncached input tokens whose cache reads are < ``CACHE_MAX_READ_PCT`` % of their input → the
  repeated context + file tokens written to the cache once, then read from it.
* ``context-management``: chats of ≥ ``CONTEXT_MIN_REQUESTS`` requests whose input grew to ≥
  ``CONTEXT_MIN_PEAK`` tokens and ≥ ``CONTEXT_GROWTH`` × the first request's → every request
  over ``CONTEXT_CAP`` input tokens repriced with its input scaled down to the cap (summarise or
  trim the history).
* ``file-summary``: files of ≥ ``FILE_MIN_TOKENS`` extracted tokens read in ≥ ``FILE_MIN_CHATS``
  chats → every read after the first carries a summary of 1/``FILE_SUMMARY_DIV`` of the tokens.
* ``agent-tasks``: the same task repeated by hand. A task is one (member, feature, tool, model)
  with a feature or a tool; its runs are successful single requests at the standard or priority
  tier on an interactive platform (NOT one of ``NON_INTERACTIVE_PLATFORMS``, so the batching rule
  never counts the same events), whose feature is not in ``AGENT_FEATURES`` (already an agent),
  and that open their chat (a conversation's follow-up turns are not runs of a task). Covered:
  the runs whose total input and context tokens are both within ±``AGENT_SIZE_PCT`` % of the
  task's medians, when ≥ ``AGENT_MIN_REQUESTS`` of them fall on ≥ ``AGENT_MIN_DAYS`` local days,
  at most ``AGENT_MAX_PER_DAY`` a day on average (more is a loop, not a person).
  Model of the saving: the task runs as one scheduled agent job, so it goes through the batch
  tier of the same model (a job can wait; models without a batch price are not covered), and its
  repeated instruction prefix (the context tokens) is written to the prompt cache by the day's
  first run (5-minute write rate, the runs of one job follow each other) and read from it by
  the day's later runs, all at the batch rates. The output is unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from usagectl.config import effective_timezone
from usagectl.models import Column, Filters, Report, counted
from usagectl.services.context import AppContext
from usagectl.services.reports import ReportRequest, _now, build_filters, past_until
from usagectl.timeutil import day_start_utc, local_today

SIMPLE_MAX_INPUT = 2_000
SIMPLE_MAX_OUTPUT = 500
CHEAPER_MODEL: dict[str, str] = {
    "gpt-4o": "gpt-4o-mini",
    "gpt-4.1": "gpt-4.1-mini",
    "gpt-5": "gpt-5-mini",
    "gpt-5.1": "gpt-5-mini",
    "gpt-6.2-sol": "gpt-6-luna",
    "o3": "o4-mini",
    "claude-opus-5-5": "claude-sonnet-5-5",
    "claude-opus-5": "claude-sonnet-5",
    "claude-opus-4-8": "claude-sonnet-5",
    "claude-opus-4-7": "claude-sonnet-4-6",
    "claude-opus-4-6": "claude-sonnet-4-6",
    "claude-opus-4-5": "claude-sonnet-4-5",
    "claude-opus-4-1": "claude-sonnet-4-5",
    "claude-sonnet-5-5": "claude-haiku-5-5",
    "claude-sonnet-5": "claude-haiku-4-5",
    "claude-sonnet-4-6": "claude-haiku-4-5",
    "claude-sonnet-4-5": "claude-haiku-4-5",
    "claude-sonnet-4": "claude-haiku-4-5",
    "claude-3-5-sonnet": "claude-3-5-haiku",
    "gemini-2.5-pro": "gemini-2.5-flash",
}
PREMIUM_TIERS = ("fast", "priority")
NON_INTERACTIVE_PLATFORMS = ("api", "batch", "cron", "ci", "server")
INTERACTIVE_FEATURES = ("chat", "agents", "web-search", "code-review", "voice")
CACHE_MIN_INPUT = 8_000
CACHE_MAX_READ_PCT = 10
CACHE_MIN_REQUESTS = 3
CONTEXT_MIN_REQUESTS = 10
CONTEXT_MIN_PEAK = 60_000
CONTEXT_GROWTH = 3
CONTEXT_CAP = 32_000
FILE_MIN_TOKENS = 5_000
FILE_MIN_CHATS = 3
FILE_SUMMARY_DIV = 10
AGENT_FEATURES = ("agents", "coding-agent")
AGENT_SIZE_PCT = 15
AGENT_MIN_REQUESTS = 10
AGENT_MIN_DAYS = 5
AGENT_MAX_PER_DAY = 20
DEFAULT_DAYS = 30
MIN_EVENTS = 10  # fewer covered events: the $/month carries a "may not recur" caveat
MICRO = Decimal("0.000001")


def _opportunity(rule: str, description: str, rows: list[dict[str, Any]], days: int, unit: str) -> dict[str, Any]:
    events = sum(int(r["events"]) for r in rows)
    cost = sum((r["cost"] for r in rows if r["cost"] is not None), Decimal(0))
    alt = sum((r["alt_cost"] for r in rows if r["alt_cost"] is not None), Decimal(0))
    saving = cost - alt
    models = ", ".join(f"{r['model']}{' → ' + r['alt'] if r.get('alt') else ''} ({int(r['events']):,})" for r in rows)
    return {
        "rule": rule,
        "description": description,
        "events": events,
        "detail": f"{unit}: {models}" if rows else "",
        "cost_usd": cost,
        "repriced_usd": alt,
        "saving_usd": saving,
        "saving_usd_month": (saving * 30 / days).quantize(MICRO),
    }


def _few_events_note(rows: list[dict[str, Any]]) -> list[str]:
    """The opportunities resting on fewer than ``MIN_EVENTS`` events: their $/month assumes the
    range's usage recurs every month, which a handful of requests (one priority call) does not
    show. They stay listed (the saving in the range is real), with the caveat."""
    few = [f"{r['rule']} ({r['events']:,})" for r in rows if r["events"] < MIN_EVENTS]
    if not few:
        return []
    return [
        f"Few events: {', '.join(few)} {'rests' if len(few) == 1 else 'rest'} on fewer than {MIN_EVENTS} events "
        "in the range: a one-off may not recur, so the saving / month holds only if such usage repeats."
    ]


def _so_far(flt: Filters, req: ReportRequest) -> Filters:
    """``flt`` cut at today when it runs past it; a range that has not begun has no usage (no
    rows) and stays as it is."""
    today = local_today(flt.tz, _now(req))
    if not flt.since <= today < flt.until:
        return flt
    return replace(flt, until=today, end=day_start_utc(today + timedelta(days=1), flt.tz))


def optimize_report(ctx: AppContext, req: ReportRequest, *, through_today: bool = False) -> Report:
    """Rows (best first): ``rule``, ``description``, ``events``, ``detail``, ``cost_usd`` (of the
    covered events), ``repriced_usd``, ``saving_usd`` (in the range) and ``saving_usd_month``
    (Decimal, × 30 / days). Rules with nothing to save are left out. An --until after today is a
    usage error (``past_until``); ``through_today`` (the month PDF's month in progress) cuts
    such a range at today instead, so the month's days to come do not divide the saving."""
    from usagectl.store import reports as q
    from usagectl.store import series as sq
    from usagectl.store.connection import connect

    tz = effective_timezone(req.tz, ctx.config)
    yesterday = local_today(tz, _now(req)) - timedelta(days=1)
    # the 30 days up to yesterday, or up to the day of an --until given alone
    flt = build_filters(
        ctx, req, default=lambda end: ((end or yesterday) - timedelta(days=DEFAULT_DAYS - 1), end or yesterday)
    )
    # the days still to come have no usage yet: counted, they would divide the saving per month
    flt = _so_far(flt, req) if through_today else past_until(flt, req)
    days = (flt.until - flt.since).days + 1
    with connect(ctx.db_path, read_only=True) as con:
        q.prepare_session(con, ctx.pricebook(), ctx.config.members, flt)
        found = [
            _opportunity(
                "model-selection",
                f"Simple requests (input ≤ {SIMPLE_MAX_INPUT:,}, output ≤ {SIMPLE_MAX_OUTPUT:,} tokens) on an "
                "expensive model: use the cheaper model of the same provider",
                sq.reprice_model(con, flt, CHEAPER_MODEL, SIMPLE_MAX_INPUT, SIMPLE_MAX_OUTPUT),
                days,
                "requests",
            ),
            _opportunity(
                "batching",
                "Non-interactive work at the standard tier: send it through the batch API",
                sq.reprice_batch(con, flt, NON_INTERACTIVE_PLATFORMS, INTERACTIVE_FEATURES),
                days,
                "requests",
            ),
            _opportunity(
                "standard-speed",
                "Requests in fast mode or at the priority tier: run those that can wait at standard speed",
                sq.reprice_standard(con, flt, PREMIUM_TIERS),
                days,
                "requests",
            ),
            _opportunity(
                "prompt-caching",
                f"Chats re-sending ≥ {CACHE_MIN_INPUT:,} input tokens with under {CACHE_MAX_READ_PCT} % cache reads: "
                "cache the repeated context",
                sq.reprice_caching(con, flt, CACHE_MIN_INPUT, CACHE_MAX_READ_PCT, CACHE_MIN_REQUESTS),
                days,
                "requests",
            ),
            _opportunity(
                "context-management",
                f"Long chats whose context keeps growing (to ≥ {CONTEXT_MIN_PEAK:,} tokens): summarise the history "
                f"to {CONTEXT_CAP:,} tokens",
                sq.reprice_context(con, flt, CONTEXT_MIN_REQUESTS, CONTEXT_MIN_PEAK, CONTEXT_GROWTH, CONTEXT_CAP),
                days,
                "requests",
            ),
            _opportunity(
                "file-summary",
                f"Large files (≥ {FILE_MIN_TOKENS:,} tokens) re-read in ≥ {FILE_MIN_CHATS} chats: summarise once",
                sq.reprice_files(con, flt, FILE_MIN_TOKENS, FILE_MIN_CHATS, FILE_SUMMARY_DIV),
                days,
                "re-reads",
            ),
            _opportunity(
                "agent-tasks",
                f"The same task started by hand again and again (one member, feature, tool and model; input and "
                f"context within ±{AGENT_SIZE_PCT} % of its median; ≥ {AGENT_MIN_REQUESTS} new chats on "
                f"≥ {AGENT_MIN_DAYS} days; interactive, so never the batching rule's events): run it as a scheduled "
                "agent job at the batch tier, its context read from the prompt cache after the day's first run",
                sq.reprice_agent_tasks(
                    con,
                    flt,
                    exclude_platforms=NON_INTERACTIVE_PLATFORMS,
                    agent_features=AGENT_FEATURES,
                    tolerance_pct=AGENT_SIZE_PCT,
                    min_requests=AGENT_MIN_REQUESTS,
                    min_days=AGENT_MIN_DAYS,
                    max_per_day=AGENT_MAX_PER_DAY,
                ),
                days,
                "requests",
            ),
        ]
    rows = sorted((r for r in found if r["saving_usd"] > 0), key=lambda r: (-r["saving_usd_month"], r["rule"]))
    return Report(
        name="optimize",
        title=f"Optimization opportunities {flt.since} – {flt.until} ({tz})",
        filters=flt.as_dict(),
        columns=(
            Column("rule", "Rule"),
            Column("description", "Opportunity"),
            Column("events", "Events", "int"),
            Column("detail", "Detail", in_table=False),
            # the cost and the saving over the range side by side, then the saving scaled to a
            # month: a "cost now" beside a monthly saving read as saving more than was spent
            Column("cost_usd", "Cost in range", "money"),
            Column("repriced_usd", "Repriced", "money", in_table=False),
            Column("saving_usd", "Saving in range", "money"),
            Column("saving_usd_month", "Saving / month", "money"),
        ),
        rows=tuple(rows),
        totals={"opportunities": len(rows)},  # no summed saving: the rules overlap
        notes=(
            f"Cost and saving in range: the covered events of {flt.since} – {flt.until} ({counted(days, 'day')}); "
            f"saving / month = saving in range × 30 / {days} days. Each saving reprices the covered events with the "
            "price tables. Rules overlap (one request may be covered by several), so there is no total: the savings "
            "do not add up.",
            *_few_events_note(rows),
            "Unpriced usage is never covered (it has no price to save from).",
        ),
    )
