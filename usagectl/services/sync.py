"""``usagectl sync``: read what is new in every registered source.

Per file, against the state the last sync left in ``source_files``:

* same size and mtime: unchanged, costs one ``stat`` (no open, no hash);
* a line format that can resume (canonical JSONL, an importer with ``resumable`` true or,
  when it does not say, ``.jsonl`` files) and whose first ``offset`` bytes still hash to
  ``head_sha256``: only the complete lines after ``offset`` are copied to a temporary file and
  imported, with ``line_offset`` so rejects name the real file and its real line numbers. A
  last line without its newline waits for the next sync (the agent is still writing it),
  unless it is a complete JSON value already, or it is still there, unchanged, at the next
  sync (a crash left it truncated: it is then imported, and rejected as malformed);
* head changed or file shorter than ``offset``: rewritten, read again from the start;
* any other format (Parquet, CSV, SQLite, JSON pages, importers whose records depend on earlier
  lines such as ``codex``): the whole file is imported again when it changed; event ids make
  that idempotent. A JSON-lines or CSV file of these (a Codex rollout, a LiteLLM export) whose
  last line is still being written is imported up to its last newline; the line waits for the
  next sync, as above (a CSV row without its newline always waits one sync: it cannot show
  that it is whole). A CSV row read as it is that the writer then finishes (the file grows
  from inside it) replaces what was read of it: the batch that read it gives way
  (``cut_rows``: so does one an import by hand read, and an import by hand of the finished file
  replaces what a sync read), as a Claude Code line read cut off gives way by the max-usage rule.

The new state is written in the import's own transaction (through the store's
``before_commit_hook``), so a crash leaves either both or neither. The new tails of a source's
Claude Code files are copied first and imported together, in one transaction that also writes
all their states (a file per batch row, with its own line offset); a first sync's files of a
Claude Code or Codex tree likewise go in one transaction. Files that disappeared from a
source keep their events; they are only counted as gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from usagectl.errors import Interrupted, UsagectlError, UsageError, was_interrupted, write_failure
from usagectl.importers import registry
from usagectl.importers._walk import unreadable_folders
from usagectl.models import FileImportResult, ImportSummary
from usagectl.services import cut_rows, sync_ledger
from usagectl.services.context import AppContext
from usagectl.services.sources import AddedSource, default_agent_dirs, detect_sources, list_files
from usagectl.store import sources as st

if TYPE_CHECKING:
    import duckdb

    from usagectl.services.imports import FileStep

# What only a sync that reads files needs (the import machinery, DuckDB) is imported where it
# is used: a sync with nothing new answers from the ledger without it.

BLOCK = 1 << 20
ProgressFn = Callable[[str, int, int], None]  # (file, done, total)


@dataclass
class SourceSync:
    """What one sync did for one source. ``summary.files`` holds only the files read."""

    name: str
    format: str
    path: str
    files: int = 0  # files of the source now
    unchanged: int = 0
    gone: int = 0  # files synced before and no longer there (their events stay)
    waiting: int = 0  # files whose half-written last line waits for the next sync
    quiet_reads: int = 0  # files read that gave no result of their own (emptied, new and empty)
    missing: bool = False  # the source's path itself is gone
    error: str | None = None  # the source could not be listed at all
    summary: ImportSummary = field(default_factory=ImportSummary)
    digest: str | None = None  # of the listing this sync planned from (``sync_ledger.digest``)
    listing: sync_ledger.Listing = field(default_factory=list, repr=False)  # that listing
    listed_at: int = 0  # when it began (ns since the epoch)

    @property
    def read(self) -> int:
        """Files read that had something new (a file read whole and found the same, as a
        ``touch``ed CSV, is unchanged: QA)."""
        return sum(1 for f in self.summary.files if not f.folder and not f.skipped_unchanged) + self.quiet_reads

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "format": self.format, "path": self.path}
        out.update(self.summary.as_dict())
        out.update(
            files=self.files,
            read=self.read,
            unchanged=self.unchanged,
            waiting=self.waiting,
            gone=self.gone,
            missing=self.missing,
            error=self.error,
        )
        return out


@dataclass
class SyncResult:
    sources: list[SourceSync] = field(default_factory=list)
    detected: list[AddedSource] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[FileImportResult]:
        return [f for s in self.sources for f in s.summary.failed]

    def as_dict(self) -> dict[str, Any]:
        keys = ("records", "imported", "duplicates", "rejected", "replaced")
        totals: dict[str, Any] = {k: sum(getattr(s.summary, k) for s in self.sources) for k in keys}
        totals.update(
            sources=len(self.sources),
            files=sum(s.files for s in self.sources),
            read=sum(s.read for s in self.sources),
            unchanged=sum(s.unchanged for s in self.sources),
            waiting=sum(s.waiting for s in self.sources),  # QA: the totals left it out
            gone=sum(s.gone for s in self.sources),
            failed_files=len(self.failed),
            seconds=round(self.seconds, 3),
        )
        return {
            "sources": [s.as_dict() for s in self.sources],
            "detected": [{"name": d.name, "path": d.path, "format": d.format} for d in self.detected],
            "messages": list(self.messages),
            "totals": totals,
        }


@dataclass(frozen=True)
class _Todo:
    source: str
    path: Path
    fmt: str
    size: int
    mtime_us: int
    state: st.FileState | None
    flush_partial: bool  # the unfinished last line was already there, unchanged, last time


class _LazyResolver:
    """Loads the price tables only when a file is actually imported (a no-op sync never does)."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._fn: Callable[[list[str]], dict[str, tuple[str | None, str | None]]] | None = None

    def __call__(self, raws: list[str]) -> dict[str, tuple[str | None, str | None]]:
        if self._fn is None:
            from usagectl.services.imports import resolver

            self._fn = resolver(self._ctx.pricebook())
        return self._fn(raws)


def resumable(fmt: str, path: Path) -> bool:
    """Can this file be read from where the last sync stopped (append-only lines, each line
    a record on its own)?"""
    if path.suffix.lower() == ".gz" or fmt in ("csv", "parquet", "auto"):
        return False
    if fmt == "jsonl":  # a .json file (an array, pretty-printed) is one document: read whole
        return path.suffix.lower() != ".json"
    imp = registry.get(fmt)
    if imp is None or getattr(imp, "target", "events") != "events":
        return False
    flag = getattr(imp, "resumable", None)
    if flag is not None:
        return bool(flag)
    return path.suffix.lower() in (".jsonl", ".ndjson")


def _check_sources(names: Sequence[str], sources: Sequence[st.SourceRow], looked: Sequence[Path] | None = None) -> None:
    """``UsageError`` (exit 2) when a named source is not registered, or none is. ``looked``:
    the folders ``--detect`` looked for (none of them there): named, not suggested again."""
    unknown = sorted(set(names) - {s.name for s in sources})
    if unknown:
        raise UsageError(
            f"no source named {', '.join(map(repr, unknown))}", hint="usagectl source list shows the sources"
        )
    if not sources and looked is not None:
        raise UsageError(
            "no sources registered, and --detect found none of the agents' folders: " + ", ".join(map(str, looked)),
            hint="register your logs with usagectl source add PATH (CLAUDE_CONFIG_DIR and CODEX_HOME move the "
            "agents' folders)",
        )
    if not sources:
        raise UsageError(
            "no sources registered",
            hint="register one with usagectl source add PATH, or the agents' default directories with sync --detect",
        )


def sync(
    ctx: AppContext,
    names: Sequence[str] = (),
    *,
    detect: bool = False,
    progress: ProgressFn | None = None,
    env: dict[str, str] | None = None,
    home: Path | None = None,
) -> SyncResult:
    started = time.perf_counter()
    result = SyncResult()
    ledger = sync_ledger.settled(ctx, names, default_agent_dirs(env, home) if detect else None, list_files)
    if ledger is not None:  # nothing changed since a sync that left every source settled
        result.sources = [
            SourceSync(s["name"], s["format"], s["path"], files=s["files"], unchanged=s["unchanged"], gone=s["gone"])
            for s in ledger
        ]
        result.seconds = time.perf_counter() - started
        return result
    from usagectl.services.imports import prepare_import_connection, within_import_memory
    from usagectl.store.connection import connect
    from usagectl.store.ingest import last_batch_id

    settled: list[dict[str, Any]] | None = None
    looked = [d for d, _ in default_agent_dirs(env, home)] if detect else None
    if not ctx.db_path.exists() and not (looked and any(os.path.isdir(d) for d in looked)):
        _check_sources(names, [], looked)  # no sources in it, none to detect: refused without creating it
    with within_import_memory("sync"), connect(ctx.db_path) as con:  # out of memory: say which limit
        if detect:
            result.detected, result.messages = detect_sources(con, env, home)
        sources = st.list_sources(con, list(names) or None)
        _check_sources(names, sources, looked)
        plans = [_plan(con, s) for s in sources]
        total = sum(len(todo) for _, todo in plans)
        if total:
            prepare_import_connection(con)
            first = last_batch_id(con)
            try:
                _read_sources(con, plans, _LazyResolver(ctx), progress, total)
            except (Exception, KeyboardInterrupt) as exc:
                stopped = _stopped(con, ctx.db_path, first, plans, exc)
                if stopped is None:
                    raise
                raise stopped from exc
        now = datetime.now(UTC)
        for res, todos in plans:
            if res.error is None:
                st.mark_synced(con, res.name, now)
            if todos:
                res.waiting = st.waiting_files(con, res.name)
        settled = _settled(con, sources, plans if not total else None, result.messages)
    if settled is not None:  # after the close: the ledger holds the database as it is now
        sync_ledger.record(ctx, names, settled)
    result.sources = [res for res, _ in plans]
    result.seconds = time.perf_counter() - started
    return result


def _read_sources(
    con: duckdb.DuckDBPyConnection,
    plans: list[tuple[SourceSync, list[_Todo]]],
    resolve: _LazyResolver,
    progress: ProgressFn | None,
    total: int,
) -> None:
    """Read the planned files, source after source, into each source's summary: a first sync's
    groups (and changed files read whole, of the same formats) one transaction each, the new tails of a source's files synced before (Claude Code)
    one transaction per format, the other files one transaction each."""
    import tempfile

    from usagectl.services.imports import file_step

    done = 0
    with tempfile.TemporaryDirectory(prefix="usagectl-sync-") as tmp:
        for res, todos in plans:
            t0 = time.perf_counter()
            planned = list(todos)
            groups, tails, todos = _split(todos)
            for fmt, group in groups.items():
                if progress:
                    progress(os.path.dirname(group[0].path), done, total)
                results, later = _sync_many(con, res.name, fmt, group, resolve, file_step(progress, done, total))
                res.summary.files.extend(results)
                todos.extend(later)
                done += len(group) - len(later)
            for group in tails.values():
                if progress:
                    progress(os.path.dirname(group[0].path), done, total)
                res.summary.files.extend(_sync_tails(con, group, resolve, Path(tmp)))
                done += len(group)
            for todo in todos:
                if progress:
                    progress(str(todo.path), done, total)
                file_result = _sync_file(con, todo, resolve, Path(tmp))
                if file_result is not None:
                    res.summary.files.append(file_result)
                done += 1
            quiet_unchanged, res.quiet_reads = _nothing_new(con, res, planned)
            res.unchanged += quiet_unchanged + sum(1 for f in res.summary.files if f.skipped_unchanged)
            res.summary.seconds = time.perf_counter() - t0
    if progress:
        progress("", total, total)


def _nothing_new(con: duckdb.DuckDBPyConnection, res: SourceSync, planned: list[_Todo]) -> tuple[int, int]:
    """Of the files the plan sent to be read, those that gave no result of their own, as
    (unchanged, read) (QA: "3 files, 0 read, 2 unchanged" left them out): a file synced before
    that was ``touch``ed (the same size, nothing new) is unchanged; one emptied, rewritten to
    nothing new or new and empty was read. Not counted: a file gone meanwhile, one with a result
    (an error, under its own or its shown name: a name that is not UTF-8), and one waiting with a
    half-written last line (the source's line counts those)."""
    from usagectl.errors import shown_bytes

    seen = {f.path for f in res.summary.files}
    quiet = [t for t in planned if str(t.path) not in seen and shown_bytes(t.path) not in seen and t.path.exists()]
    if not quiet:
        return 0, 0
    states = st.file_states(con, res.name)
    unchanged = read = 0
    for t in quiet:
        now = states.get(str(t.path))
        if now is not None and now.offset < now.size:
            continue  # waiting for its last line
        if t.state is not None and t.size == t.state.size and t.state.offset >= t.state.size:
            unchanged += 1
        else:
            read += 1
    return unchanged, read


def _stopped(
    con: duckdb.DuckDBPyConnection,
    db_path: Path,
    first: int,
    plans: list[tuple[SourceSync, list[_Todo]]],
    exc: BaseException,
) -> UsagectlError | None:
    """The error for a sync stopped by Ctrl-C or a full disk, saying what it kept: each file
    (a first sync's group, a source's new tails) is committed on its own, with its state (or
    their states), so what was committed stays and the next sync reads the rest. None for any
    other failure (raised as it is)."""
    from usagectl.services.imports import committed, kept_on_full_disk, kept_text

    results = [f for res, _ in plans for f in res.summary.files]
    if was_interrupted(exc):
        files, events = committed(con, first, results)
        kept = kept_text(files, events) if files else "nothing was imported"
        return Interrupted(f"interrupted; {kept}; the next sync reads the rest")
    reason = write_failure(exc)
    if reason is not None and not isinstance(exc, UsagectlError):
        return kept_on_full_disk(con, db_path, first, results, reason)
    return None


def _settled(
    con: duckdb.DuckDBPyConnection,
    sources: list[st.SourceRow],
    plans: list[tuple[SourceSync, list[_Todo]]] | None,
    messages: list[str],
) -> list[dict[str, Any]] | None:
    """The ledger entry's sources when a sync now would read nothing (``plans``: this sync's own,
    when it read nothing; else planned again), None when some file still waits or a source
    could not be listed."""
    if messages:
        return None
    final = plans if plans is not None else [_plan(con, s) for s in sources]
    if any(todos or res.error or res.missing or res.digest is None or res.summary.failed for res, todos in final):
        return None
    return [
        {"name": r.name, "format": r.format, "path": r.path, "files": r.files, "unchanged": r.unchanged,
         "gone": r.gone, "digest": r.digest, "listing": r.listing, "listed_at": r.listed_at}
        for r, _ in final
    ]  # fmt: skip


def _plan(con: duckdb.DuckDBPyConnection, src: st.SourceRow) -> tuple[SourceSync, list[_Todo]]:
    """Which files of a source need reading: one stat per file, no reads."""
    res = SourceSync(src.name, src.format, src.path, listed_at=time.time_ns())
    states = st.file_states(con, src.name)
    try:
        files = list_files(Path(src.path), src.format)
    except FileNotFoundError:
        res.missing = True
        res.gone = len(states)
        return res, []
    except PermissionError as exc:  # a folder above the source cannot be searched: nothing gone
        error = f"{src.path}: cannot read: {exc.strerror}; its files were not synced"
        res.summary.files.append(FileImportResult(path=src.path, format=src.format, error=error))
        return res, []
    except UsageError as exc:
        res.error = exc.message
        return res, []
    res.files = len(files)
    listed: set[str] = set()
    todos: list[_Todo] = []
    res.listing = listing = sync_ledger.stat_listing(files)
    res.digest = sync_ledger.digest(listing)
    for key, fmt, s in listing:
        listed.add(key)
        if isinstance(s, FileNotFoundError):  # removed since it was listed
            res.digest = None
            continue
        if isinstance(s, OSError):  # cannot even stat it: the read reports why
            todos.append(_Todo(src.name, Path(key), fmt, 0, 0, states.get(key), False))
            continue
        state = states.get(key)
        mtime_us = s.st_mtime_ns // 1000
        if state is not None and state.size == s.st_size and state.mtime_us == mtime_us:
            if state.offset < state.size and (resumable(fmt, Path(key)) or _line_file(Path(key), fmt)):
                todos.append(_Todo(src.name, Path(key), fmt, s.st_size, mtime_us, state, True))
            else:
                res.unchanged += 1
            continue
        todos.append(_Todo(src.name, Path(key), fmt, s.st_size, mtime_us, state, False))
    blocked = unreadable_folders(src.path)
    for folder, why in blocked:  # its files are not gone, and new ones in it are not read: an error
        error = f"{folder}: cannot read the folder: {why}; its files were not synced"
        res.summary.files.append(FileImportResult(path=folder, format=src.format, error=error, folder=True))
    hidden = tuple(os.path.join(folder, "") for folder, _ in blocked)
    shut = {folder for folder, _ in blocked}  # a symlinked file that cannot be reached is hidden too
    res.gone = sum(1 for p in states if p not in listed and p not in shut and not p.startswith(hidden))
    return res, todos


def _split(todos: list[_Todo]) -> tuple[dict[str, list[_Todo]], dict[str, list[_Todo]], list[_Todo]]:
    """Of a format imported many files per transaction (Claude Code and Codex trees), grouped by
    format: the files to read whole (never synced, or changed files of a format that is read
    whole on every change: Codex rollouts), and the files synced before whose new tail can be
    read (``resumable``, with a SQL stager: Claude Code); and the others, read file by file."""
    groups: dict[str, list[_Todo]] = {}
    tails: dict[str, list[_Todo]] = {}
    single: list[_Todo] = []
    for todo in todos:
        imp = registry.get(todo.fmt)
        many = imp is not None and getattr(imp, "batch_files", False) and todo.path.suffix.lower() != ".gz"
        if many and (todo.state is None or not resumable(todo.fmt, todo.path)):
            groups.setdefault(todo.fmt, []).append(todo)
        elif many and getattr(imp, "stager", None) and resumable(todo.fmt, todo.path):
            tails.setdefault(todo.fmt, []).append(todo)
        else:
            single.append(todo)
    return groups, tails, single


def _whole_state(todo: _Todo) -> st.FileState | None:
    """The state after reading a whole file that ends with a newline (hashing it, counting its
    lines); None when its last line is unfinished (then it is read file by file)."""
    whole = hashlib.sha256()
    lines = 0
    last = b""
    with todo.path.open("rb") as fh:
        remaining = todo.size
        while remaining > 0:
            block = fh.read(min(BLOCK, remaining))
            if not block:
                return None
            remaining -= len(block)
            whole.update(block)
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        return None
    return st.FileState(todo.size, todo.mtime_us, todo.size, lines, whole.hexdigest())


def _ends_with_newline(todo: _Todo) -> bool:
    """Whether the file's last byte (at the size the listing saw) is a newline: one small read
    (``os.pread`` on a bare descriptor: a third of a buffered open's cost, which 12k session
    files of a first sync pay before the import starts)."""
    if todo.size <= 0:
        return False
    if not hasattr(os, "pread"):  # Windows
        with todo.path.open("rb") as fh:
            fh.seek(todo.size - 1)
            return fh.read(1) == b"\n"
    fd = os.open(todo.path, os.O_RDONLY)
    try:
        return os.pread(fd, 1, todo.size - 1) == b"\n"
    finally:
        os.close(fd)


def _whole_states(todos: list[_Todo]) -> list[st.FileState | None]:
    """``_whole_state`` of each file; None also for a file that went away or became unreadable
    since it was listed (no state is then recorded, and the next sync reads it again)."""
    out: list[st.FileState | None] = []
    for todo in todos:
        try:
            out.append(_whole_state(todo))
        except OSError:
            out.append(None)
    return out


def _sync_many(
    con: duckdb.DuckDBPyConnection, name: str, fmt: str, todos: list[_Todo], resolve: _LazyResolver,
    step: FileStep | None = None,
) -> tuple[list[FileImportResult], list[_Todo]]:  # fmt: skip
    """Many files read whole (a first sync, or changed Codex rollouts): one transaction for all
    (``imports.import_batch``), then their states and the source name on their batches in a
    second one. A crash between the two only makes the next sync read those files again, which
    adds nothing (event ids).

    A file whose last line is unfinished waits for the file-by-file path. The others are hashed
    whole and their lines counted (their resume state) on a second thread WHILE DuckDB imports
    them: ``hashlib`` releases the GIL, and so does DuckDB, so the ~3 s of hashing a 2.3 GB tree
    overlaps the import instead of preceding it. ``step``: the import's progress through the
    files (``imports.import_batch``)."""
    from concurrent.futures import ThreadPoolExecutor

    ready: list[_Todo] = []
    later: list[_Todo] = []
    results: list[FileImportResult] = []
    for todo in todos:
        try:
            ends = _ends_with_newline(todo)
        except FileNotFoundError:
            continue
        except OSError as exc:
            results.append(_unreadable(todo, exc))
            continue
        (ready if ends else later).append(todo)
    if not ready:
        return results, later
    from usagectl.services.imports import import_batch

    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing = pool.submit(_whole_states, ready)
        imported = import_batch(con, [t.path for t in ready], fmt, resolve, progress=step)
        whole = hashing.result()
    states = [
        (str(t.path), replace(state, last_batch_id=r.batch_id))
        for t, state, r in zip(ready, whole, imported, strict=True)
        if not r.error and state is not None
    ]
    claimed = [r.batch_id for r in imported if r.batch_id is not None and not r.error and not r.skipped_unchanged]
    st.record_files(con, name, states, claimed, _now())
    return results + imported, later


@contextlib.contextmanager
def _state_in_import(todo: _Todo, state: st.FileState) -> Iterator[list[bool]]:
    """Write the file's new sync state inside the import's transaction (just before COMMIT).
    Yields a list that holds True once it was written."""
    from usagectl.store import ingest

    written: list[bool] = []
    previous = ingest.before_commit_hook

    def hook(con: duckdb.DuckDBPyConnection) -> None:
        previous(con)  # a test's crash simulation still runs first
        batch = st.current_batch_id(con)
        st.save_file_state(con, todo.source, str(todo.path), replace(state, last_batch_id=batch), _now())
        written.append(True)

    ingest.before_commit_hook = hook
    try:
        yield written
    finally:
        ingest.before_commit_hook = previous


def _import(
    con: duckdb.DuckDBPyConnection, todo: _Todo, state: st.FileState, run: Callable[[], FileImportResult]
) -> FileImportResult:
    """``run`` the import of the file, its new sync state written in the same transaction."""
    with _state_in_import(todo, state) as written:
        result = run()
    if result.error:  # nothing of it stored: leave the state as it was, the next sync tries again
        return result
    if not written:  # no transaction of ours (unchanged content seen before, or a store path without the hook)
        st.save_file_state(con, todo.source, str(todo.path), replace(state, last_batch_id=result.batch_id), _now())
    return result


def _import_giving_way(
    con: duckdb.DuckDBPyConnection,
    todo: _Todo,
    state: st.FileState,
    end: int,
    run: Callable[[bool], FileImportResult],
) -> FileImportResult:
    """``_import`` of a file read whole up to byte ``end``; ``run(skip_unchanged)`` imports it.
    When that finishes a CSV row an earlier batch (a sync's or an import by hand) read cut off,
    as it was, that batch gives way to the finished row (``cut_rows.import_giving_way``); if
    the import stores nothing, the file's state stays as it was and the next sync reads it again.
    A name that is not UTF-8 goes straight to the import, which refuses it (QA: the cut-row
    lookup handed it to DuckDB first: "unexpected error", exit 1, on every sync)."""
    from usagectl.services.imports import _not_utf8

    if _not_utf8(os.fspath(todo.path)):
        return _import(con, todo, state, lambda: run(False))
    return cut_rows.import_giving_way(
        con, todo.path, todo.fmt, end, lambda skip: _import(con, todo, state, lambda: run(skip))
    )


def _import_or_wait(
    con: duckdb.DuckDBPyConnection,
    todo: _Todo,
    state: st.FileState,
    complete: bool,
    run: Callable[[], FileImportResult],
) -> FileImportResult | None:
    """Import what was copied, or, when nothing complete was there yet, only remember the file's
    size: a partial line still there, unchanged, at the next sync is then noticed and flushed."""
    if not complete:
        st.save_file_state(con, todo.source, str(todo.path), replace(state, last_batch_id=_last(todo)), _now())
        return None
    return _import(con, todo, state, run)


def _now() -> datetime:
    return datetime.now(UTC)


def _unreadable(todo: _Todo, exc: OSError) -> FileImportResult:
    return FileImportResult(path=str(todo.path), format=todo.fmt, error=f"{todo.path}: cannot read: {exc.strerror}")


def _sync_file(
    con: duckdb.DuckDBPyConnection, todo: _Todo, resolve: _LazyResolver, tmpdir: Path
) -> FileImportResult | None:
    from usagectl.services.imports import fingerprint, import_file

    if resumable(todo.fmt, todo.path):
        return _sync_tail(con, todo, resolve, tmpdir)
    if _line_file(todo.path, todo.fmt) and not todo.flush_partial:
        try:
            cut = _complete_lines_end(todo)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return _unreadable(todo, exc)
        if cut < todo.size:
            return _sync_complete_lines(con, todo, resolve, tmpdir, cut)
    try:
        fp = fingerprint(todo.path, todo.fmt)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _unreadable(todo, exc)
    state = st.FileState(todo.size, todo.mtime_us, todo.size, 0, fp.removeprefix("sha256:"))
    return _import_giving_way(
        con,
        todo,
        state,
        todo.size,
        lambda skip: import_file(
            con, todo.path, todo.fmt, resolve, source_name=todo.source, fp=fp, skip_unchanged=skip
        ),
    )


def _line_file(path: Path, fmt: str) -> bool:
    """A file of lines read whole on every change, whose last line may be half-written: JSON
    lines (Codex rollouts, saved pages as JSONL) and CSV (a cut row may still hold all its
    columns, its last number cut short), by name, or a file of any name read as canonical CSV."""
    return cut_rows.csv_file(path, fmt) or path.suffix.lower() in (".jsonl", ".ndjson")


def _complete_lines_end(todo: _Todo) -> int:
    """Where the file's complete lines end: its size, or the end of its last newline when a
    last line without one is still being written (a JSON line: not yet a whole JSON value; a
    CSV row: always, and the newline must lie outside a quoted field, which may span lines)."""
    if todo.size <= 0 or _ends_with_newline(todo):  # the usual case: one byte read
        return todo.size
    with todo.path.open("rb") as fh:
        if cut_rows.csv_file(todo.path, todo.fmt):
            return _csv_rows_end(fh, todo.size)
        pos = todo.size
        while pos > 0:
            start = max(0, pos - BLOCK)
            fh.seek(start)
            block = fh.read(pos - start)
            nl = block.rfind(b"\n")
            if nl >= 0:
                cut = start + nl + 1
                break
            pos = start
        else:
            cut = 0
        if cut == todo.size:
            return cut
        fh.seek(cut)
        rest = fh.read(todo.size - cut)
    return todo.size if not rest.strip() or _complete_json(rest) else cut


def _csv_rows_end(fh: BinaryIO, size: int) -> int:
    """Where the complete rows of a CSV whose last row has no newline end: after the last
    newline outside a quoted field (an odd number of quotes before a newline puts it inside
    one; ``""`` counts two), or its size when only blanks follow that newline. A rare path: the
    quotes of the whole file are counted, block by block, then the newlines are tried from the
    end."""
    total = 0
    fh.seek(0)
    for block in iter(lambda: fh.read(BLOCK), b""):
        total += block.count(b'"')
    after = 0  # quotes from the newline tried to the end of the file
    pos, last = size, True
    while pos > 0:
        start = max(0, pos - BLOCK)
        fh.seek(start)
        block = fh.read(pos - start)
        end = len(block)
        while (nl := block.rfind(b"\n", 0, end)) >= 0:
            after += block.count(b'"', nl + 1, end)
            cut = start + nl + 1
            if last:
                last = False
                fh.seek(cut)
                if not fh.read(size - cut).strip():
                    return size
            if (total - after) % 2 == 0:
                return cut
            end = nl
        after += block.count(b'"', 0, end)
        pos = start
    return 0


def _sync_complete_lines(
    con: duckdb.DuckDBPyConnection, todo: _Todo, resolve: _LazyResolver, tmpdir: Path, cut: int
) -> FileImportResult | None:
    """A file read whole whose last line is half-written: its complete lines (the first ``cut``
    bytes) are imported from a copy and the state remembers ``cut``, so the next sync reads it
    whole again; if the line is still there, unchanged, then (a crash left it), it is flushed
    and rejected as malformed, as ``_sync_tail`` does (a CSV row: imported as it is). None when
    those lines were all read before (the source's line counts the file as waiting)."""
    from usagectl.services.imports import import_file

    tmp = tmpdir / todo.path.relative_to(todo.path.anchor)  # the same names for the importer
    tmp.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    try:
        with todo.path.open("rb") as fh, tmp.open("wb") as out:
            for block in cut_rows.head_blocks(fh, cut):
                out.write(block)
                digest.update(block)
        state = st.FileState(todo.size, todo.mtime_us, cut, 0, digest.hexdigest())
        fp = "sha256:" + digest.hexdigest()

        def run(skip_unchanged: bool) -> FileImportResult:
            return import_file(
                con, todo.path, todo.fmt, resolve, read_path=tmp, source_name=todo.source, fp=fp,
                skip_unchanged=skip_unchanged,
            )  # fmt: skip

        if not cut:
            return _import_or_wait(con, todo, state, False, lambda: run(True))
        result = _import_giving_way(con, todo, state, cut, run)
        # rows all read before: nothing to say of the file but that its last line waits, which
        # the source's line says ("1 with a half-written last line"), not "unchanged"
        return None if result.skipped_unchanged else result
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _unreadable(todo, exc)
    finally:
        tmp.unlink(missing_ok=True)


def _complete_json(text: bytes) -> bool:
    """A last line without its newline that is already a whole JSON value is complete."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class _Tail:
    """A file's new complete lines, copied to ``copy``: the state after them, the copy's
    fingerprint, the lines before them (``line_offset``) and how many bytes it holds."""

    todo: _Todo
    copy: Path
    state: st.FileState
    fp: str
    line_offset: int
    payload: int


def _read_tail(todo: _Todo, tmpdir: Path) -> _Tail | FileImportResult | None:
    """Copy the complete lines after the file's resume point to a file below ``tmpdir`` (the
    caller removes it): None when the file is gone, an error result when it cannot be opened."""
    try:
        fh = todo.path.open("rb")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _unreadable(todo, exc)
    with fh:
        start, lines, whole = _resume_point(fh, todo)
        # the copy keeps the real path below the temporary directory, so an importer that
        # takes names from the path (project, session) sees the same names
        tmp = tmpdir / todo.path.relative_to(todo.path.anchor)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tail = hashlib.sha256()
        consumed = new_lines = 0
        try:
            with tmp.open("wb") as out:
                pending: list[bytes] = []
                remaining = todo.size - start
                while remaining > 0:
                    block = fh.read(min(BLOCK, remaining))
                    if not block:  # shorter than it was a moment ago
                        break
                    remaining -= len(block)
                    cut = block.rfind(b"\n") + 1
                    if not cut:
                        pending.append(block)
                        continue
                    for part in (*pending, block[:cut]):
                        out.write(part)
                        whole.update(part)
                        tail.update(part)
                        consumed += len(part)
                    new_lines += block.count(b"\n", 0, cut)
                    pending = [block[cut:]] if cut < len(block) else []
                rest = b"".join(pending)
                payload = consumed
                if rest and (todo.flush_partial or _complete_json(rest)):
                    if rest.strip():
                        out.write(rest)
                        tail.update(rest)
                        payload += len(rest)
                    whole.update(rest)
                    consumed += len(rest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    state = st.FileState(todo.size, todo.mtime_us, start + consumed, lines + new_lines, whole.hexdigest())
    return _Tail(todo, tmp, state, "sha256:" + tail.hexdigest(), lines, payload)


def _tail_import(con: duckdb.DuckDBPyConnection, tail: _Tail, resolve: _LazyResolver) -> Callable[[], FileImportResult]:
    """The import of one file's copied tail in a transaction of its own."""
    from usagectl.services.imports import import_file

    todo = tail.todo
    return lambda: import_file(
        con,
        todo.path,
        todo.fmt,
        resolve,
        read_path=tail.copy,
        source_name=todo.source,
        line_offset=tail.line_offset,
        skip_unchanged=False,
        fp=tail.fp,
    )


def _sync_tail(
    con: duckdb.DuckDBPyConnection, todo: _Todo, resolve: _LazyResolver, tmpdir: Path
) -> FileImportResult | None:
    tail = _read_tail(todo, tmpdir)
    if not isinstance(tail, _Tail):
        return tail
    try:
        return _import_or_wait(con, todo, tail.state, tail.payload > 0, _tail_import(con, tail, resolve))
    finally:
        tail.copy.unlink(missing_ok=True)


# The new tails of one read together are copied to the temporary directory first: past this
# many bytes of copies (files rewritten since the last sync are copied whole), the ones read
# so far are imported before the next are read.
TAILS_BYTES = 256 << 20


def _sync_tails(
    con: duckdb.DuckDBPyConnection, todos: list[_Todo], resolve: _LazyResolver, tmpdir: Path
) -> list[FileImportResult]:
    """Files of one source, synced before, of a format imported many files per transaction:
    their new tails are read as ``_sync_tail`` reads them, then imported in ONE transaction
    (``imports.import_copies``: a batch row per file, its own fingerprint and line offset) that
    also writes every file's new state. A file gone, unreadable or with nothing complete yet is
    handled as ``_sync_tail`` does; when the batch cannot be read, each file is imported on its
    own (``_sync_tail``'s transaction)."""
    results: dict[int, FileImportResult] = {}
    ready: dict[int, _Tail] = {}  # by the file's index in ``todos``
    size = 0
    try:
        for k, todo in enumerate(todos):
            tail = _read_tail(todo, tmpdir)
            if isinstance(tail, FileImportResult):
                results[k] = tail
            elif tail is not None and not tail.payload:  # only the size is remembered
                tail.copy.unlink(missing_ok=True)
                _import_or_wait(con, todo, tail.state, False, _tail_import(con, tail, resolve))
            elif tail is not None:
                ready[k] = tail
                size += tail.payload
                if size >= TAILS_BYTES:
                    _import_tails(con, ready, resolve, results)
                    ready, size = {}, 0
        _import_tails(con, ready, resolve, results)
    finally:
        for tail in ready.values():
            tail.copy.unlink(missing_ok=True)
    return [results[k] for k in sorted(results)]


def _import_tails(
    con: duckdb.DuckDBPyConnection,
    index: dict[int, _Tail],
    resolve: _LazyResolver,
    results: dict[int, FileImportResult],
) -> None:
    """Import copied tails (``_sync_tails``: {index: tail}) into ``results`` by that index; the
    copies are removed after."""
    from usagectl.services.imports import BatchFile, import_copies

    try:
        if len(index) == 1:  # one file: its own transaction, as ``_sync_tail``
            [(k, tail)] = index.items()
            results[k] = _import(con, tail.todo, tail.state, _tail_import(con, tail, resolve))
            return
        if not index:
            return
        files = [
            BatchFile(k, str(t.todo.path), str(t.todo.path.resolve()), str(t.copy), t.copy.stat(), t.fp, t.line_offset)
            for k, t in index.items()
        ]

        first = next(iter(index.values())).todo

        def states(c: duckdb.DuckDBPyConnection, done: list[tuple[int, int]]) -> None:
            saved = [(str(index[k].todo.path), replace(index[k].state, last_batch_id=b)) for k, b in done]
            st.save_file_states(c, first.source, saved, _now())

        def alone(f: BatchFile) -> FileImportResult:
            t = index[f.index]
            return _import(con, t.todo, t.state, _tail_import(con, t, resolve))

        imported = import_copies(
            con, files, first.fmt, resolve, source_name=first.source, alone=alone, on_commit=states
        )
        for f, r in zip(files, imported, strict=True):
            results[f.index] = r
    finally:
        for tail in index.values():
            tail.copy.unlink(missing_ok=True)


def _last(todo: _Todo) -> int | None:
    return todo.state.last_batch_id if todo.state else None


def _resume_point(fh: Any, todo: _Todo) -> tuple[int, int, Any]:
    """(byte offset to read from, lines before it, SHA-256 of the bytes before it), with ``fh``
    positioned there: the recorded offset when the bytes before it are still the same, else 0."""
    state = todo.state
    if state is None or state.offset == 0 or state.offset > todo.size:
        return 0, 0, hashlib.sha256()
    head = hashlib.sha256()
    remaining = state.offset
    last = b""
    while remaining:
        block = fh.read(min(BLOCK, remaining))
        if not block:
            break
        head.update(block)
        remaining -= len(block)
        last = block[-1:]
    if remaining or head.hexdigest() != state.head_sha256:  # rewritten or truncated
        fh.seek(0)
        return 0, 0, hashlib.sha256()
    start, lines = state.offset, state.lines
    if last != b"\n":  # the last line read had no newline then (complete JSON, or a flushed partial)
        nxt = fh.read(1)
        if nxt == b"\n":
            head.update(nxt)
            return start + 1, lines + 1, head
        if nxt:  # that line went on after all: read the file again (ids keep it from counting twice)
            fh.seek(0)
            return 0, 0, hashlib.sha256()
        fh.seek(start)
    return start, lines, head
