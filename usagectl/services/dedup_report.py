"""``usagectl report duplicates``: per import batch, how many records added nothing and why."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from usagectl.config import effective_timezone
from usagectl.errors import UsageError
from usagectl.models import Column, Report, Section
from usagectl.services.context import AppContext
from usagectl.store import sources as st
from usagectl.store.connection import connect
from usagectl.timeutil import day_start_utc, local_today, parse_date

RULES: dict[str, str] = {
    "keep": "keep: a record whose event id is already known (earlier in the file or stored) adds nothing; "
    "the first copy stays",
    "replace": "replace: a later copy of an event id replaces the stored one (re-fetched provider buckets), "
    "never adds to it",
    "max-usage": "max-usage: of the copies of an event id the one with the largest usage (tokens and requests) "
    "wins, whatever the order they were imported in (streaming lines written before the final one, copies "
    "across files, provider buckets fetched before they were complete)",
    "max-amount": "max-amount: of the copies of a billed cost line the one with the largest amount wins, whatever "
    "the order they were imported in (a re-fetch of a day that was not over replaces the earlier fetch)",
}
SIDECHAIN = (
    "claude-code: a sub-agent or /btw (sidechain) line replaying a main-chain message (the same message id, "
    "a new request id) adds nothing (Dup stored, or Dup in file), and a stored sidechain copy is replaced when "
    "the main-chain copy arrives (Replaced): their event ids differ, the message is one"
)
REEMIT = (
    "codex: a token_count whose running total did not move (a re-emit, e.g. a rate-limit refresh) repeats the call "
    "before it and is read as a copy of it (Dup in file, or Dup stored when the file is read again); it adds nothing"
)
COUNTS = st.DEDUP_COUNTS
DEFAULT_TOP = 50  # batches listed; an import of ~/.claude/projects makes one per file (10k+)
_COUNT_COLUMNS = (
    Column("records", "Records", "int"),
    Column("imported", "Imported", "int"),
    Column("dup_in_file", "Dup in file", "int"),
    Column("dup_stored", "Dup stored", "int"),
    Column("replaced", "Replaced", "int"),
)


def duplicates_report(
    ctx: AppContext,
    since: str | None = None,
    until: str | None = None,
    tz: str | None = None,
    now: datetime | None = None,
    top: int | None = DEFAULT_TOP,
) -> Report:
    """Batches imported in [since, until] (calendar days of their import time in ``tz``).

    ``top`` (None or 0: all) limits the rows to the batches that dropped the most records
    (duplicates and replaced; ties by batch), listed in that order; the totals and the section
    per format and rule cover every batch of the range.

    ``dup_in_file``: valid records whose event id came again later in the same file;
    ``dup_stored``: records whose event id was already stored and that changed nothing (or, once
    per id, that another file of the same import won; with max-usage, a copy that a later file's
    larger one beats counts so here, where file by file it would have been replaced);
    ``replaced``: stored events (or cost lines) this batch replaced (rules replace, max-usage and
    max-amount).
    ``imported`` counts new event ids only, so records = imported + dup_in_file + dup_stored
    + replaced + rejected."""
    zone = effective_timezone(tz, ctx.config)
    today = local_today(zone, (now or datetime.now(UTC)).astimezone(UTC))
    first = parse_date(since, today=today, option="--since") if since is not None else None
    last = parse_date(until, today=today, option="--until") if until is not None else None
    if first and last and last < first:
        raise UsageError(f"--until {last} is before --since {first}")
    if top is not None and top < 0:
        raise UsageError(f"--top {top}: must be 0 (all) or more")
    start = day_start_utc(first, zone) if first else None
    end = day_start_utc(last + timedelta(days=1), zone) if last else None
    with connect(ctx.db_path, read_only=True) as con:
        groups = st.dedup_groups(con, start, end)
        batches = sum(g["batches"] for g in groups)
        folded = bool(top) and batches > (top or 0)
        rows = st.dedup_batches(con, start, end, top if folded else None)
        reread, reread_records = st.reread_batches(con, start, end)
    for r in rows:
        r["imported_at"] = r["imported_at"].astimezone(UTC).replace(microsecond=0) if r["imported_at"] else None
        r["file"] = r["file"] or None  # the table's column; the path is in json/csv
    totals: dict[str, Any] = {k: sum(g[k] for g in groups) for k in COUNTS}
    totals["batches"] = batches
    # the rules of the batches shown, and Claude Code's rule across event ids when it has batches
    used = {g["rule"] for g in groups}
    notes = [text for rule, text in RULES.items() if rule in used]
    if any(g["format"] == "claude-code" for g in groups):
        notes.append(SIDECHAIN)
    if any(g["format"] == "codex" for g in groups):
        notes.append(REEMIT)
    if reread:
        notes.insert(
            0,
            f"{reread:,} {'batch' if reread == 1 else 'batches'} read again a file that an earlier batch read (a "
            "grown file of a format that cannot resume, such as a Codex rollout, llm's logs.db, a CSV or a JSON "
            "export, is read whole on every sync); most of the "
            f'{reread_records:,} "Dup stored" records among them are lines already imported from that file, not '
            "copies in the logs.",
        )
    if folded:
        notes.insert(
            0,
            f"Showing the {top:,} of {batches:,} batches that dropped the most records (duplicates and replaced), "
            "most first (`--top 0` lists all); totals cover all.",
        )
    by_rule = Section(
        "by_rule",
        "By format and rule",
        (
            Column("format", "Format"),
            Column("rule", "Rule"),
            Column("batches", "Batches", "int"),
            *_COUNT_COLUMNS,
            Column("rejected", "Rejected", "int"),
        ),
        tuple(groups),
    )
    return Report(
        name="duplicates",
        title="Duplicates dropped per import batch",
        filters={
            "since": first.isoformat() if first else None,
            "until": last.isoformat() if last else None,
            "tz": zone,
            "top": top or None,
        },
        columns=(
            Column("batch_id", "Batch", "int", abbreviate=False),
            Column("file", "File"),
            Column("path", "Path", in_table=False),
            # on a narrow terminal these go first (in this order) rather than fold names and headers
            Column("format", "Format", narrow_drop=3),
            Column("source", "Source", narrow_drop=1),
            Column("imported_at", "Imported (UTC)", "date", narrow_drop=2),
            *_COUNT_COLUMNS[:4],
            # the section below sums the replaced and the rules: at 80 columns they go before
            # a session file's 42-character name folds
            dataclasses.replace(_COUNT_COLUMNS[4], narrow_drop=6),
            Column("rejected", "Rejected", "int", narrow_drop=4),
            Column("duplicates", "Duplicates", "int", in_table=False),
            Column("rule", "Rule", narrow_drop=5),
        ),
        rows=tuple(rows),
        totals=totals,
        sections=(by_rule,),
        notes=tuple(notes),
    )
