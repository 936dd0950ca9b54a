"""Generate the demo dataset into a database and return a context that reports on it."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from usagectl.config import Config, MemberInfo, _user_data_dir, effective_timezone
from usagectl.errors import DatabaseError, Interrupted, UsageError, os_reason, was_interrupted
from usagectl.models import ImportSummary, counted
from usagectl.services.context import AppContext, make_context
from usagectl.services.imports import import_paths
from usagectl.store.connection import refuse_name_not_utf8
from usagectl.timeutil import local_today

DEMO_QUOTA_TOKENS = 600_000_000
# Two years of history: ~220 events a day at the start, growing; more would make the demo slow
# without showing anything new.
MAX_DEMO_DAYS = 730
# The demo builds its database in a folder beside it named with this prefix, marked as at work
# by an OS lock on the file BUILD_MARK in it (``_build_beside``, ``_clear_abandoned``).
BUILD_PREFIX = ".usagectl-demo-build-"
BUILD_MARK = ".building"
UNMARKED_BUILD_SECONDS = 3600
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
    from usagectl.services.demo import DEMO_MEMBERS, generate_events

    # before anything is written: 0 or fewer days made no data (a ValueError deep in the
    # generator), and a huge number overflowed the date arithmetic (both "unexpected error")
    if not 1 <= days <= MAX_DEMO_DAYS:
        raise UsageError(f"--days {days}: must be between 1 and {MAX_DEMO_DAYS}")
    base = make_context(config, db)
    path = db if db is not None else default_demo_db()
    # before any folder is made: refused later, by the opening of the database being built, it
    # named that build path (.usagectl-demo-build-<random suffix>/...) and left the named folder behind (QA)
    refuse_name_not_utf8(path)
    # the default path too: a user who pointed USAGECTL_DB at it and imported real logs (as the
    # README's first steps suggest) lost them to the next `usagectl demo` without a word
    _refuse_foreign_database(path, default=db is None)
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
    # the default demo database is ours, and a --db one is checked to hold only the demo's own
    # data: it is written afresh, so "N days ending today" and "same seed, same data" hold. Adding
    # to it mixed two datasets: demo event ids are numbered by position, so a new window or
    # seed reused the old ids for other events (dropped as duplicates) and added the rest.
    summary = _build_beside(path, lambda new: _import_events(dataclasses.replace(ctx, db_path=new), events))
    return DemoRun(ctx, summary, _write_demo_config(path, cfg))


def _import_events(ctx: AppContext, events: list[dict[str, Any]]) -> ImportSummary:
    """Import ``events`` into ``ctx.db_path`` from a JSONL file in a temporary folder (its
    name marks the batch as the demo's own: ``_DEMO_FILE_REGEX``)."""
    from usagectl.services.demo import write_jsonl

    # beside the database being built (``_build_beside``), so that a run killed outright leaves
    # one folder, which the next run removes (``_clear_abandoned``)
    with tempfile.TemporaryDirectory(prefix=DEMO_TMP_PREFIX, dir=ctx.db_path.parent) as tmp:
        out = Path(tmp) / DEMO_EVENTS_FILE
        write_jsonl(events, out)
        return import_paths(ctx, [out], fmt="jsonl")


def _build_beside(path: Path, build: Callable[[Path], ImportSummary]) -> ImportSummary:
    """``build`` the new demo database in a temporary folder beside ``path`` (same file system),
    then move it over ``path`` in one rename: a run that stops before (Ctrl-C, SIGTERM, a full
    disk) leaves the old demo database as it was and removes what it built. The old one was
    deleted first, and an interrupted run left none, or an empty one, under a message saying
    "the database is as it was" (QA). The folder is marked as at work (``BUILD_MARK``) while the
    build runs, so that a run killed outright (SIGKILL) leaves a folder the next one removes."""
    from usagectl.store.closing import settle

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"database {path} cannot be created: {os_reason(exc)}") from exc
    from usagectl.store.run_lock import alive_mark

    _clear_abandoned(path.parent)
    existed, moved = path.exists(), False
    try:
        building = tempfile.TemporaryDirectory(prefix=BUILD_PREFIX, dir=path.parent)
    except OSError as exc:  # a folder it cannot write (QA: "unexpected error: PermissionError", exit 1)
        raise DatabaseError(
            f"database {path} cannot be written: {path.parent}: {exc.strerror or exc}",
            hint="choose a folder you can write (--db PATH)",
        ) from exc
    try:
        with building as tmp, alive_mark(Path(tmp) / BUILD_MARK):
            new = Path(tmp) / path.name
            summary = build(new)
            settle(new)  # its writer may still be closing on a background thread (``close_when_done``)
            with _signals_held():  # a Ctrl-C now comes after the move, not between its steps
                _move_over(new, path)
                moved = True
    except (Exception, KeyboardInterrupt) as exc:
        if moved or not was_interrupted(exc):
            raise
        kept = (
            f"{path} is as it was (the demo replaces it only once the new one is complete)"
            if existed
            else "no demo database was written"
        )
        raise Interrupted(f"interrupted; {kept}") from exc
    return summary


def _clear_abandoned(folder: Path) -> None:
    """Remove the build folders of demo runs killed outright (SIGKILL, a power cut: no clean-up
    ran) from ``folder``: one whose mark no process holds any more, or one without a mark, from a
    version before the mark, once it is an hour old (a new run's folder stands without its mark
    only for the moment between the two). A running demo's folder is left alone. QA: each killed
    run left its build folder and a temporary JSONL, and no later run removed them."""
    import shutil
    import time

    from usagectl.store.run_lock import is_abandoned

    try:
        found = [p for p in folder.iterdir() if p.name.startswith(BUILD_PREFIX)]
    except OSError:
        return
    for build in found:
        try:
            if build.is_symlink() or not build.is_dir():
                continue
            mark = build / BUILD_MARK
            old = not mark.exists() and time.time() - build.stat().st_mtime > UNMARKED_BUILD_SECONDS
        except OSError:
            continue
        if old or is_abandoned(mark):
            shutil.rmtree(build, ignore_errors=True)


def _move_over(new: Path, path: Path) -> None:
    """Put the finished database ``new`` in the place of ``path``, its write-ahead log too. The
    old WAL goes first: an old database without its WAL is an older state of it, whereas the
    new one beside the old WAL would have the old transactions replayed into it. ``new`` has no
    WAL once its writer closed (DuckDB checkpoints on close); if one is left, it follows."""
    wal, new_wal = _wal(path), _wal(new)
    wal.unlink(missing_ok=True)
    os.replace(new, path)
    if new_wal.exists():
        os.replace(new_wal, wal)


def _wal(db: Path) -> Path:
    return db.with_name(db.name + ".wal")


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done, then act as they would have (raised
    again under their own handler: a KeyboardInterrupt, as a rule). Python runs signal handlers
    in the main thread only; elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    old = {
        sig: signal.signal(sig, lambda signum, _frame: caught.append(signum)) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        if caught:
            signal.raise_signal(caught[0])


def _refuse_foreign_database(path: Path, *, default: bool = False) -> None:
    """A database holding anything the demo did not write (a real database named with ``--db``,
    a path pasted from another command, or the default demo database that real logs were
    imported into) is refused: the demo deletes and rewrites its database, so those events
    would be lost, and its ~20k synthetic events would mix into real reports. Its own demo
    database (only demo imports in it) is deleted and written afresh."""
    from usagectl.store import status as store_status
    from usagectl.store.connection import connect_as_is

    if not path.exists():
        return
    with connect_as_is(path) as con:  # an old demo database is looked at, not upgraded
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
