"""Generate the demo dataset into a database and return a context that reports on it."""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from usagectl.config import Config, MemberInfo, _user_data_dir, effective_timezone
from usagectl.errors import UsageError
from usagectl.models import ImportSummary, counted
from usagectl.services.context import AppContext, make_context
from usagectl.services.imports import import_paths
from usagectl.timeutil import local_today

DEMO_QUOTA_TOKENS = 600_000_000
# Two years of history: ~220 events a day at the start, growing; more would make the demo slow
# without showing anything new.
MAX_DEMO_DAYS = 730
# The first line of every config the demo writes: a file that starts otherwise is not ours to replace.
DEMO_CONFIG_HEADER = "# Written by `usagectl demo`"
# The demo imports its events from this file in a temporary folder named with this prefix:
# the import batches recorded with such a path are the demo's own.
DEMO_TMP_PREFIX = "usagectl-demo-"
DEMO_EVENTS_FILE = "demo-events.jsonl"
_DEMO_FILE_REGEX = rf"[/\\]{DEMO_TMP_PREFIX}[^/\\]*[/\\]{DEMO_EVENTS_FILE.replace('.', '[.]')}$"


@dataclasses.dataclass(frozen=True)
class DemoRun:
    """What the demo made: the context that reports on it, the import summary, and the config
    written beside the database (None when a file of someone else's already sits there)."""

    ctx: AppContext
    summary: ImportSummary
    config_path: Path | None


def default_demo_db() -> Path:
    return _user_data_dir() / "usagectl-demo.duckdb"


def demo_config_path(db: Path) -> Path:
    """The demo's config lives beside its database and is named after it
    (``usagectl-demo.duckdb`` -> ``usagectl-demo.toml``)."""
    return db.with_suffix(".toml")


def run_demo(db: Path | None, config: Path | None, *, days: int = 90, seed: int = 7) -> DemoRun:
    from usagectl.services.demo import DEMO_MEMBERS, generate_events, write_jsonl

    # before anything is deleted: 0 or fewer days made no data (a ValueError deep in the
    # generator), and a huge number overflowed the date arithmetic (both "unexpected error")
    if not 1 <= days <= MAX_DEMO_DAYS:
        raise UsageError(f"--days {days}: must be between 1 and {MAX_DEMO_DAYS}")
    base = make_context(config, db)
    path = db if db is not None else default_demo_db()
    # the default path too: a user who pointed USAGECTL_DB at it and imported real logs (as the
    # README's first steps suggest) lost them to the next `usagectl demo` without a word
    _refuse_foreign_database(path, default=db is None)
    # the default demo database is ours, and a --db one is checked to hold only the demo's own
    # data: start it afresh, so "N days ending today" and "same seed, same data" hold. Adding
    # to it mixed two datasets: demo event ids are numbered by position, so a new window or
    # seed reused the old ids for other events (dropped as duplicates) and added the rest.
    for p in (path, path.with_name(path.name + ".wal")):
        if p.exists():
            p.unlink()
    # the demo's own quota and members, never the active config's (a project's ./usagectl.toml):
    # a 5M quota showed 2,002 % used and was saved into the demo config; display settings are kept
    members = {
        name: MemberInfo(info.get("team"), info.get("department"), info.get("cost_center"))
        for name, info in DEMO_MEMBERS.items()
    }
    cfg = dataclasses.replace(base.config, members=members, monthly_token_quota=DEMO_QUOTA_TOKENS)
    ctx = AppContext(config=cfg, db_path=path)
    now = datetime.now(UTC)
    today = local_today(effective_timezone(None, cfg), now)
    events = generate_events(today, days=days, seed=seed, now=now)
    with tempfile.TemporaryDirectory(prefix=DEMO_TMP_PREFIX) as tmp:
        out = Path(tmp) / DEMO_EVENTS_FILE
        write_jsonl(events, out)
        summary = import_paths(ctx, [out], fmt="jsonl")
    return DemoRun(ctx, summary, _write_demo_config(path, cfg))


def _refuse_foreign_database(path: Path, *, default: bool = False) -> None:
    """A database holding anything the demo did not write (a real database named with ``--db``,
    a path pasted from another command, or the default demo database that real logs were
    imported into) is refused: the demo deletes and rewrites its database, so those events
    would be lost, and its ~20k synthetic events would mix into real reports. Its own demo
    database (only demo imports in it) is deleted and written afresh."""
    from usagectl.store import status as store_status
    from usagectl.store.connection import connect

    if not path.exists():
        return
    with connect(path, read_only=True) as con:
        found = store_status.foreign_content(con, _DEMO_FILE_REGEX)
    if found:
        what = ", ".join(counted(n, k) for k, n in found.items())
        raise UsageError(
            f"{path} holds data not written by the demo ({what}): the demo does not add its synthetic events to it",
            hint=(
                f"keep your data: move {path.name} away (or use it with USAGECTL_DB), or run the demo with "
                "--db NEW_PATH"
                if default
                else "name a new path (--db usagectl-demo.duckdb), or leave out --db for the default demo database"
            ),
        )


def _write_demo_config(db: Path, cfg: Config) -> Path | None:
    """Write the quota and member mapping the demo reported with beside its database, so that
    later reports on that database (``USAGECTL_CONFIG=...``) show the same quota and teams;
    they would otherwise live only in this process. A file there that the demo did not write
    is left alone (None)."""
    import tomli_w

    target = demo_config_path(db)
    if target.exists():
        try:
            first = target.read_text(encoding="utf-8").split("\n", 1)[0]
        except (OSError, UnicodeDecodeError):
            return None
        if not first.startswith(DEMO_CONFIG_HEADER):
            return None
    target.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"{DEMO_CONFIG_HEADER}: its plan quota and member mapping, for reports on {db.name}.\n"
        "# Rewritten by every `usagectl demo` that writes that database.\n\n"
    )
    target.write_text(header + tomli_w.dumps(_demo_config_data(db, cfg)), encoding="utf-8")
    return target


def _demo_config_data(db: Path, cfg: Config) -> dict[str, Any]:
    """The effective demo config as TOML data: the database (relative to the config, which sits
    beside it), the display settings the demo ran with, the quota and every member's mapping."""
    display: dict[str, Any] = {}
    if cfg.timezone:
        display["timezone"] = cfg.timezone
    if cfg.week_start != "monday":
        display["week_start"] = cfg.week_start
    data: dict[str, Any] = {"database": {"path": db.name}}
    if display:
        data["display"] = display
    if cfg.pricing_dir is not None:
        data["pricing"] = {"dir": str(cfg.pricing_dir.resolve())}
    data["plan"] = {"monthly_token_quota": cfg.monthly_token_quota}
    data["members"] = {
        name: {k: v for k, v in dataclasses.asdict(info).items() if v is not None}
        for name, info in sorted(cfg.members.items())
    }
    return data
