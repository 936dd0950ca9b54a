"""Import files into the store: canonical events (JSONL, CSV, Parquet) and every registered
log format (``usagectl.importers.registry``)."""

from __future__ import annotations

import errno
import hashlib
import importlib
import os
import stat
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from usagectl.config import warn
from usagectl.errors import (
    DatabaseError,
    InputError,
    Interrupted,
    OutOfMemory,
    UsagectlError,
    UsageError,
    ran_out_of_memory,
    shown_bytes,
    was_interrupted,
    write_failure,
    write_failure_hint,
)
from usagectl.importers import _pages, canonical, registry
from usagectl.importers._walk import resolve_stat, unreadable_folders
from usagectl.models import FileImportResult, ImportSummary, Record, counted
from usagectl.services import cut_rows
from usagectl.services.context import AppContext
from usagectl.store import ingest
from usagectl.store.connection import connect_early
from usagectl.store.memory import set_memory_limit

if TYPE_CHECKING:
    import duckdb

    from usagectl.pricing import PriceBook

IMPORT_MEMORY_LIMIT = "800MB"  # an import's DuckDB memory limit, unless USAGECTL_MEMORY_LIMIT says another
ProgressFn = Callable[[str, int, int], None]  # (event, done_files, total_files)
FileStep = Callable[[str, int], None]  # (file, its place in the batch's new files): a batch's reader reached it
Resolver = Callable[[list[str]], dict[str, tuple[str | None, str | None]]]


def fingerprint(path: Path, fmt: str | None = None) -> str:
    """The hash of a file's bytes; for a SQLite format, with its write-ahead log's: rows a
    writer holding the database open in WAL mode has committed are only in ``<file>-wal``."""
    from usagectl.services.sync_ledger import SQLITE_FORMATS

    h = hashlib.sha256()
    parts = [path]
    if fmt in SQLITE_FORMATS:
        wal = path.with_name(path.name + "-wal")
        if wal.is_file():
            parts.append(wal)
    for part in parts:
        with part.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return "sha256:" + h.hexdigest()


def expand(
    paths: Sequence[Path],
    fmt: str,
    unreadable: list[tuple[str, str]] | None = None,
    origins: list[int] | None = None,
) -> list[tuple[Path | str, str]]:
    """Files to read with their format: directories are walked by the format's own rules. A
    directory of a format read as one batch gives its files as text (``file_paths``: a
    ``Path`` per file of a 12k-file tree costs ~0.1 s, and the batch only needs the text). A
    path that names nothing (a typo) or lies under a folder that cannot be searched goes to
    ``unreadable`` (path, reason), when given, and the others are read; else it is an error.
    ``origins``, when given, gets the index in ``paths`` of each file returned (the import
    lists its results in the order the paths were given)."""
    imp = registry.get(fmt)  # the format was checked by the caller (``registry.require_name``)
    out: list[tuple[Path | str, str]] = []
    for i, path in enumerate(paths):
        try:
            path.stat()
        except PermissionError as exc:
            if unreadable is None:
                raise InputError(f"{path}: cannot read: {exc.strerror}") from None
            unreadable.append((str(path), f"cannot read: {exc.strerror}"))
            continue
        except OSError:  # no such file, or a file on the way: one input that cannot be read
            if unreadable is None:
                raise InputError(f"{path}: no such file or directory") from None
            unreadable.append((str(path), "no such file or directory"))
            continue
        if path.is_dir():
            files: Sequence[Path | str]
            if imp is not None and getattr(imp, "batch_files", False) and hasattr(imp, "file_paths"):
                files = imp.file_paths(path)
            elif imp is not None:
                files = imp.files(path)
            else:
                found = {p for p, _ in canonical.iter_input_files([path], "auto")}
                if fmt == "auto":  # and what only a format's own rules list (llm's logs.db, ...)
                    for other in registry.importers().values():
                        found.update(other.files(path))
                    _warn_unlisted_logs(path, found)
                files = sorted(found)
        else:
            files = [path]
        if not files and len(paths) > 1 and not unreadable_folders(path):  # alone: "no importable files"
            what = f"no {fmt} files" if fmt != "auto" else "no files usagectl can import"
            warn(f"{_shown(path)}: {what} in this folder (nothing imported from it)")
        listed = [(f, fmt) for f in files] if fmt != "auto" else _detected(path, files)
        out.extend(listed)
        if origins is not None:
            origins.extend([i] * len(listed))
    return out


def _detected(path: Path, files: Sequence[Path | str]) -> list[tuple[Path | str, str]]:
    """The files ``path`` gave under ``--format auto``, each with the format its content shows."""
    detected = [(f, registry.detect(Path(f))) for f in files]
    if not path.is_dir():
        return detected
    # a folder holds other files too (llm's keys.json beside its logs.db)
    skipped = [f for f, f_fmt in detected if not may_hold_events(Path(f), f_fmt)]
    if skipped:
        names = ", ".join(_shown(Path(f).relative_to(path)) for f in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        warn(
            f"{_shown(path)}: skipped {counted(len(skipped), 'file')} that hold no usage events "
            f"(JSON or CSV without a ts field): {names}{more}; give a file by name to import it anyway"
        )
        detected = [(f, f_fmt) for f, f_fmt in detected if f not in skipped]
    return detected


_DB_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def _warn_unlisted_logs(folder: Path, found: set[Path] | set[Path | str]) -> None:
    """A folder read with --format auto lists llm's databases by their name, ``logs.db``: one
    under another name (``logs-backup.db``) was passed over without a word. Named in a warning
    (a SQLite file of another kind, llm's ``embeddings.db``, is not)."""
    llm = registry.get("llm")
    listed = {str(f) for f in found}
    other = []
    # one walk of names (a tree of 12k files: ~0.1 s; three rglobs took 0.6 s, 2 s cold)
    for d, _dirs, here in os.walk(folder, onerror=lambda _e: None):
        for name in here:
            if not name.lower().endswith(_DB_SUFFIXES):
                continue
            f = Path(d) / name
            if str(f) in listed or not f.is_file():
                continue
            try:
                with open(f, "rb") as fh:
                    head = fh.read(100)
            except OSError:
                continue
            if llm is not None and llm.sniff(f, head):
                other.append(f)
    if other:
        names = ", ".join(_shown(f.relative_to(folder)) for f in sorted(other)[:5])
        more = f" and {len(other) - 5} more" if len(other) > 5 else ""
        warn(
            f"{_shown(folder)}: skipped {counted(len(other), 'llm database')} not named logs.db: {names}{more}; "
            "give a file by name to import it"
        )


_BINARY_FORMATS = frozenset(("parquet", "llm"))  # files that are not text
_PAGED = frozenset(("openai-usage", "anthropic-usage", "openai-costs", "anthropic-cost"))  # saved API pages


def _not_text(source: Path, path: Path, fmt: str) -> str | None:
    """The error of a file given a text format that is no UTF-8 text: UTF-16 (a byte order mark;
    Windows PowerShell 5 writes ``> file`` so) or a SQLite database (llm's logs.db). Read as UTF-8
    lines, every line of it was a reject of garbage, or a header of binary bytes was quoted."""
    try:
        with canonical.open_text_or_binary(source) as fh:
            head = fh.read(16)
    except (OSError, EOFError, zlib.error):
        return None  # the reader says what is wrong
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return (
            f"{path}: UTF-16 text (it starts with a UTF-16 byte order mark); usagectl reads UTF-8: "
            "convert it first (iconv -f UTF-16 -t UTF-8)"
        )
    if head == b"SQLite format 3\x00":
        return f"{path}: a SQLite database, not {fmt} text (an llm logs.db is read with --format llm or auto)"
    return None


def _blank(path: Path) -> bool:
    """Whether the file holds nothing but white space, after a byte order mark (an unreadable one
    counts as not blank)."""
    try:
        with canonical.open_text_or_binary(path) as fh:
            return not fh.read(65536).removeprefix(b"\xef\xbb\xbf").strip() and not fh.read(1)
    except (OSError, EOFError, zlib.error):
        return False


def may_hold_events(path: Path, fmt: str) -> bool:
    """Whether a canonical JSON or CSV file found in a folder can hold events: its start names a
    ``ts`` field (every event has one). A folder walked under ``--format auto`` also holds files
    of other programs, some secret (llm keeps ``keys.json``, its API keys, beside ``logs.db``):
    read as events, each would be stored whole in ``rejects``. Other formats are their
    importers' business; an unreadable file is left to the reader to report."""
    if fmt not in ("jsonl", "csv"):
        return True
    try:
        with canonical.open_text_or_binary(path) as fh:
            head = fh.read(65536)
    except (OSError, EOFError, zlib.error):
        return True
    if not head.strip():
        return True
    if fmt == "jsonl":
        return b'"ts"' in head
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("utf-8", "replace")
    return "ts" in {h.strip().strip('"').strip().lower() for h in first.split(",")}


def resolver(book: PriceBook) -> Resolver:
    def resolve(raws: list[str]) -> dict[str, tuple[str | None, str | None]]:
        out: dict[str, tuple[str | None, str | None]] = {}
        for raw in raws:
            model = book.resolve(raw)
            out[raw] = (model, book.provider_of(model) if model else None)
        return out

    return resolve


def memory_limit_variable() -> str | None:
    """``USAGECTL_MEMORY_LIMIT`` as set; None when unset or empty (the default then, as an empty
    ``USAGECTL_DB`` is unset: QA)."""
    return os.environ.get("USAGECTL_MEMORY_LIMIT", "").strip() or None


def prepare_import_connection(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET checkpoint_threshold = '1MB'")
    # bounded memory: DuckDB spills to a temp directory beside the database instead
    limit = memory_limit_variable() or IMPORT_MEMORY_LIMIT
    try:
        set_memory_limit(con, limit)
    except ValueError:
        raise UsageError(f"USAGECTL_MEMORY_LIMIT={limit!r} is not a memory size (for example 800MB or 2GB)") from None


@contextmanager
def within_import_memory(what: str = "import") -> Iterator[None]:
    """DuckDB running out of memory in an import or sync, said as such (QA: it was "narrow the
    command (--since/--until, filters)", which an import does not take): a
    ``USAGECTL_MEMORY_LIMIT`` the user set is too small (exit 2); under the default, an
    ``OutOfMemory`` (exit 1). Both name the variable that raises it."""
    try:
        yield
    except Exception as exc:
        if not ran_out_of_memory(exc):
            raise
        given = memory_limit_variable()
        if given is not None:
            raise UsageError(
                f"USAGECTL_MEMORY_LIMIT={given} is too small for this {what}: DuckDB ran out of memory",
                hint=f"run again with a larger USAGECTL_MEMORY_LIMIT (the default is {IMPORT_MEMORY_LIMIT})",
            ) from None
        raise OutOfMemory(
            f"the {what} ran out of memory under its default limit of {IMPORT_MEMORY_LIMIT}",
            hint="free memory (other programs), or run again with a larger limit, e.g. USAGECTL_MEMORY_LIMIT=2GB",
        ) from None


def import_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: str,
    resolve: Resolver,
    *,
    read_path: Path | None = None,
    source_name: str | None = None,
    line_offset: int = 0,
    skip_unchanged: bool = True,
    fp: str | None = None,
    spooled: bool = False,
) -> FileImportResult:
    """Import one file in one transaction. ``read_path`` is what is actually read (a sync
    reads the new tail of ``path`` from a temporary copy; a pipe is read from its spooled
    copy, ``spooled``); rejects and batches name ``path``, a pipe's as the user gave it
    (resolving ``/dev/stdin`` gives ``/proc/…/pipe:[n]``, which names nothing)."""
    t0 = time.perf_counter()
    result = FileImportResult(path=str(path), format=fmt)
    if registry.bills(fmt):
        result.stored_as = "cost lines"
    source = read_path or path
    # a file that cannot be read as such is this file's error (the others are imported)
    problem = _not_utf8(os.fspath(path))
    if problem is None and fmt not in _BINARY_FORMATS:
        problem = _not_text(source, path, fmt)
    if problem is not None:
        result.path = _shown(path)
        result.error = problem
        result.seconds = time.perf_counter() - t0
        return result
    try:
        stat = source.stat()
        fp = fp or fingerprint(source, fmt)
    except OSError as exc:  # this file's error (permission denied, gone): the others are imported
        result.error = f"{path}: cannot read: {exc.strerror or exc}"
        result.seconds = time.perf_counter() - t0
        return result
    if skip_unchanged:
        previous = ingest.find_unchanged_batch(con, fp, fmt, stat.st_size)
        if previous is not None:
            result.skipped_unchanged = True
            result.batch_id = previous
            result.seconds = time.perf_counter() - t0
            return result
    info = ingest.BatchInfo(
        source=fmt,
        path=path if spooled else path.resolve(),
        file_size=stat.st_size,
        file_mtime=datetime.fromtimestamp(stat.st_mtime, UTC),
        fingerprint=fp,
        source_name=source_name,
        line_offset=line_offset,
    )
    try:
        counts, warnings, notes = _run(con, info, source, fmt, resolve)
    except InputError as exc:  # this file is unreadable: nothing of it stored, go on
        if ran_out_of_memory(exc):  # the limit's fault, not the file's: within_import_memory names it
            raise
        result.error = _as_given(exc.message, source, path)
        result.seconds = time.perf_counter() - t0
        return result
    except Exception as exc:  # the reader gave up on the input (rolled back): the file's fault
        problem = None if was_interrupted(exc) else _input_failure(exc, source)
        if problem is None:
            raise
        result.error = f"{path}: cannot be read as {fmt}: {_as_given(problem, source, path)}"
        result.seconds = time.perf_counter() - t0
        return result
    result.records = counts.records
    result.imported = counts.imported
    result.duplicates = counts.duplicates
    result.rejected = counts.rejected
    result.replaced = counts.replaced
    result.batch_id = counts.batch_id
    result.warnings = warnings
    result.notes.extend(notes)
    result.seconds = time.perf_counter() - t0
    return result


def _as_given(message: str, read: Path, path: Path) -> str:
    """A reader's message about the file it read, naming the file as the user gave it: a pipe's
    spooled copy (``/tmp/usagectl-stdin-…``) is ``/dev/stdin``, a sync's copy of a tail is the log."""
    return message if read == path else message.replace(str(read), str(path))


def _input_failure(exc: Exception, source: Path) -> str | None:
    """What went wrong reading ``source`` when ``exc`` is the input's fault, else None: a
    corrupt or truncated compressed file, seen by DuckDB's reader (its message names the
    file) or by Python's (locating rejected lines). A database error is not the input's."""
    import gzip
    import zlib

    from usagectl.store.engine import core as duckdb

    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, (gzip.BadGzipFile, EOFError, zlib.error)):
        return text
    if isinstance(exc, (duckdb.IOException, duckdb.InvalidInputException)) and source.name in str(exc):
        return text.removeprefix("IO Error: ").removeprefix("Invalid Input Error: ")
    return None


def _run(
    con: duckdb.DuckDBPyConnection, info: ingest.BatchInfo, path: Path, fmt: str, resolve: Resolver
) -> tuple[ingest.BatchCounts, list[str], list[str]]:
    """Import one file: its counts, warnings and notes."""
    if fmt in registry.CANONICAL:
        left_out: set[str] = set()
        stage, locate = _canonical_stager(path, fmt, left_out)
        settled: list[bool] = []  # whether the file held provider usage buckets (billing settled them)

        def settle(c: duckdb.DuckDBPyConnection, batch_id: int) -> int | None:
            from usagectl.store.billing import settle_checked_buckets

            moved = settle_checked_buckets(c, batch_id, fmt)
            settled.append(moved is not None)
            return moved

        one, warnings = ingest.import_staged(
            con,
            info,
            stage,
            resolve,
            locate_rejects=locate,
            default_source=fmt,
            max_usage_sources=_max_usage_sources(),
            settle=settle,
            before_commit=lambda c, ids: _bring_back(c, ids) if any(settled) else None,
        )
        if any(settled):
            warnings = [*warnings, *_moved_note(con, one)]
        return one, warnings, ([canonical.derived_note(left_out)] if left_out else [])
    imp = registry.get(fmt)
    if imp is None:
        raise InputError(f"{path}: unknown format {fmt!r}")
    target = getattr(imp, "target", "events")
    if target == "billed_costs":
        billing: Any = importlib.import_module("usagectl.store.billing")
        counts, warnings = billing.import_cost_lines(con, info, imp.read(path), resolve=resolve)
        return counts, [*warnings, *_moved_note(con, counts, usage=False)], []
    stager = getattr(imp, "stager", None)  # "module:function" of a SQL stager in the store
    if stager:
        module, func = stager.split(":")
        fn = getattr(importlib.import_module(module), func)
        locate = getattr(imp, "locate", None)
        counts, warnings = ingest.import_staged_files(
            con,
            [info],
            lambda c: fn(c, path),
            resolve,
            locate_rejects=(lambda _fi, recs: locate(path, recs)) if locate else None,
            default_source=fmt,
            conflict=imp.conflict,
            before_insert=_hook(imp),
            prechecked=getattr(imp, "prechecked", False),
            before_commit=_bring_back if getattr(imp, "before_insert", None) == _SETTLES_SHAPES else None,
        )
        if getattr(imp, "before_insert", None) == _SETTLES_SHAPES:
            warnings = [*warnings, *_moved_note(con, counts[0])]
        return counts[0], warnings, []
    one, warnings = ingest.import_staged(
        con, info, lambda c: ingest.stage_records(c, imp.read(path)), resolve, default_source=fmt, conflict=imp.conflict
    )
    return one, warnings, []


_SETTLES_SHAPES = "usagectl.store.billing:evict_coarser"  # the hook of the provider usage importers


def _max_usage_sources() -> frozenset[str]:
    """The formats whose copies of an event follow "max-usage" (Claude Code, the provider usage
    pages): a canonical file's rows of such a source (an event export of them) follow it too, so
    the copy with the larger usage wins whichever was imported first (QA: a partial streaming
    line stored first kept the export's final copy out)."""
    return frozenset(
        name
        for name, imp in registry.importers().items()
        if imp.conflict == "max-usage" and getattr(imp, "target", "events") == "events"
    )


def _bring_back(con: duckdb.DuckDBPyConnection, ids: list[int]) -> None:
    from usagectl.store.billing import bring_back

    bring_back(con, ids)


# fetches of which neither holds all of the other's usage (billing._Judge.decide): more tokens stay
_OR_MORE = " (or, where neither holds all of the other's, more tokens)"


def _moved_note(con: duckdb.DuckDBPyConnection, counts: ingest.BatchCounts, *, usage: bool = True) -> list[str]:
    """The warning for stored rows this import moved to rejects because its rows of another fetch
    shape replace them (or, for usage, hold more). Usage rows count in the file's replaced count;
    cost lines (no record of the file) only in this note."""
    from usagectl.store.billing import lines_given_way, moved_rows, rows_back, set_aside_rows

    moved, back = moved_rows(con, counts.batch_id), rows_back(con) if usage else 0
    aside = set_aside_rows(con, counts.batch_id) if usage else lines_given_way(con, counts.batch_id)
    notes = []
    if aside:
        it, its = ("it", "its") if aside == 1 else ("they", "their")
        what, held = ("row", "usage") if usage else ("cost line", "amount")
        notes.append(
            f"{counted(aside, what)} of this file gave way on arrival to stored {what}s of another fetch shape that "
            f"hold {its} {held}{_OR_MORE if usage else ''}: counted as rejected, kept in `usagectl db rejects` with "
            "the reason, not summed"
            # a usage row set aside comes back when what it gave way to is replaced (``bring_back``)
            + (f"; {it} come{'s' if aside == 1 else ''} back if what {it} gave way to is replaced" if usage else "")
        )
    if moved:
        what, held = ("usage", _OR_MORE) if usage else ("amount", "")
        notes.append(
            f"{counted(moved, 'stored row')} of another fetch shape (a coarser grouping or bucket, or a finer one "
            f"with less {what}) gave way to this file's rows, which hold its {what}{held}: kept for reference in "
            "`usagectl db rejects`, not summed"
        )
    if back:
        it, its = ("it", "its") if back == 1 else ("they", "their")
        notes.append(
            f"{counted(back, 'row')} that gave way in an earlier import came back (one rejected then counts as a "
            f"record of this file): what {it} had given way to is gone, and no stored row holds {its} usage"
        )
    return notes


def import_paths(
    ctx: AppContext,
    paths: Sequence[Path],
    *,
    fmt: str = "auto",
    progress: ProgressFn | None = None,
) -> ImportSummary:
    """Import the files ``paths`` name; the results are listed in the order the paths were
    given. A path that cannot be read (it names nothing, or a folder on the way cannot be
    searched) is its own error and the others are imported; when no path gives a file to
    read, those errors are the summary (no database is created for it)."""
    started = time.perf_counter()
    registry.require_name(fmt)  # before anything opens
    try:
        with within_import_memory():
            summary = _import_paths(ctx, paths, fmt, progress)
    except _NothingToRead as nothing:
        summary = ImportSummary(files=nothing.results)
    summary.seconds = time.perf_counter() - started
    return summary


class _NothingToRead(Exception):
    """No path gave a file to read, and some could not be read: their errors (``results``).
    Raised out of ``connect_early``'s block, which then removes a database it created."""

    def __init__(self, results: list[FileImportResult]) -> None:
        super().__init__()
        self.results = results


def _import_paths(ctx: AppContext, paths: Sequence[Path], fmt: str, progress: ProgressFn | None) -> ImportSummary:
    # the database opens (and a new one is created and migrated) while the files are listed
    with connect_early(ctx.db_path) as opened, ExitStack() as cleanup:
        spooled = _spool_streams(paths, cleanup)
        hidden: list[tuple[str, str]] = []  # paths that name nothing or lie under a folder that cannot be searched
        origins: list[int] = []  # the given path of each file
        listed = [spooled.get(p, p) for p in paths]
        files = expand(listed, fmt, hidden, origins)
        blocked = _blocked(paths, listed, hidden, fmt)
        if not files:
            if blocked:
                raise _NothingToRead(_in_given_order(blocked))
            raise InputError("no importable files found in " + ", ".join(str(p) for p in paths))
        given = {copy: name for name, copy in spooled.items()}
        resolve = resolver(ctx.pricebook())
        summary = ImportSummary()
        batched: dict[str, list[Path | str]] = {}  # formats read as one batch per import (Claude Code trees)
        single: list[tuple[Path, str]] = []
        at: list[int] = []  # the given path of each single file's result, then of each batched one's
        batched_at: dict[str, list[int]] = {}
        for (path, file_fmt), origin in zip(files, origins, strict=True):
            imp = registry.get(file_fmt)
            if imp is not None and getattr(imp, "batch_files", False) and path not in given:
                batched.setdefault(file_fmt, []).append(path)
                batched_at.setdefault(file_fmt, []).append(origin)
            else:
                single.append((Path(path), file_fmt))
                at.append(origin)
        at.extend(origin for group in batched_at.values() for origin in group)  # as ``_import_all`` adds them
        con = opened()
        prepare_import_connection(con)
        run = _Run(ingest.last_batch_id(con))
        try:
            _import_all(con, single, batched, resolve, summary, progress, len(files), given, run)
        except (Exception, KeyboardInterrupt) as exc:
            if was_interrupted(exc):
                raise Interrupted(f"interrupted; {_kept(con, run, summary)}") from exc
            reason = write_failure(exc)
            if reason is not None and not isinstance(exc, UsagectlError):
                kept = kept_on_full_disk(con, ctx.db_path, run.first, summary.files, reason)
                if kept is not None:
                    raise kept from exc
            raise
        # while the spooled copies exist: a pipe cannot be sniffed again
        _explain_nothing(summary.files, fmt, {str(name): copy for name, copy in spooled.items()})
        # with the paths that could not be read (not imported, an error: exit 4), in the order given
        summary.files[:] = _in_given_order([*zip(at, summary.files, strict=True), *blocked])
    return summary


def _blocked(
    paths: Sequence[Path], listed: Sequence[Path], hidden: list[tuple[str, str]], fmt: str
) -> list[tuple[int, FileImportResult]]:
    """The errors of what could not be read, each with the index of its given path: the paths
    ``expand`` put in ``hidden`` (``listed``: the paths it was given) and the folders that
    cannot be listed under each path."""
    index: dict[str, int] = {}
    for i, p in enumerate(listed):
        index.setdefault(str(p), i)
    out = [(index.get(p, len(paths)), FileImportResult(path=p, format=fmt, error=f"{p}: {why}")) for p, why in hidden]
    out.extend(
        (i, FileImportResult(path=folder, format=fmt, error=f"{folder}: cannot read the folder: {why}", folder=True))
        for i, p in enumerate(paths)
        for folder, why in unreadable_folders(p)
    )
    return out


def _in_given_order(results: list[tuple[int, FileImportResult]]) -> list[FileImportResult]:
    """``results`` (each with the index of the path it came from) in the order the paths were
    given; the results of one path keep their order."""
    return [r for _, r in sorted(results, key=lambda pair: pair[0])]


def _spool_streams(paths: Sequence[Path], cleanup: ExitStack) -> dict[Path, Path]:
    """{given path: its copy} for each input that is not a regular file or a folder (a pipe,
    ``/dev/stdin``, ``<(…)``): it can be read only once, and an import reads a file more than
    once (the fingerprint, the format sniffer, the reader, the rejects' lines). Each is copied
    once into the system temp dir (keeping its suffix for the format), removed by ``cleanup``.
    The input failing is an ``InputError`` (exit 4); the temp dir failing (full, a quota, a
    file size limit) is not the input's fault: ``_spool_failure`` (exit 3, naming the folder)."""
    out: dict[Path, Path] = {}
    for path in paths:
        try:
            mode = path.stat().st_mode
        except OSError:
            continue  # missing or unreadable: ``expand`` / ``import_file`` say so
        if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or path in out:
            continue
        try:
            fd, name = tempfile.mkstemp(prefix="usagectl-stdin-", suffix="".join(path.suffixes[-2:]))
        except OSError as exc:  # no usable temp folder at all names none (``filename`` None)
            folder = str(Path(exc.filename).parent) if exc.filename else os.environ.get("TMPDIR", "")
            raise _spool_failure(path, folder, exc) from exc
        copy = Path(name)
        cleanup.callback(copy.unlink, missing_ok=True)
        try:
            in_fh = path.open("rb")
        except OSError as exc:
            os.close(fd)
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        try:
            with in_fh, os.fdopen(fd, "wb") as out_fh:  # closing flushes: a full disk can show there too
                _copy_stream(in_fh, out_fh, path)
        except OSError as exc:  # only writes get here: ``_copy_stream`` turns a failed read into InputError
            raise _spool_failure(path, str(copy.parent), exc) from exc
        out[path] = copy
    return out


def _copy_stream(src: BinaryIO, dst: BinaryIO, path: Path) -> None:
    """Copy ``src`` (the input ``path``) into ``dst`` in 1 MiB blocks. A failed read is the
    input's (``InputError``, exit 4); a failed write is raised as the OSError it is: QA's full
    temp dir said "/dev/stdin: cannot read: No space left on device" for a fine input."""
    while True:
        try:
            block = src.read(1 << 20)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        if not block:
            return
        dst.write(block)


def _spool_failure(path: Path, folder: str, exc: OSError) -> DatabaseError:
    """A pipe that could not be copied into the temp folder ``folder``: exit 3, as for a full
    disk under the database (README: Exit codes), naming the folder, the OS's reason and the
    way out (``TMPDIR`` chooses the folder, Python's ``tempfile`` reads it)."""
    what = "standard input" if path == Path("/dev/stdin") else str(path)
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EFBIG:  # RLIMIT_FSIZE (ulimit -f): another folder has the same limit
        hint = "raise the limit (ulimit -f unlimited) and run the command again"
    else:
        hint = "set TMPDIR to a folder with room that can be written, and run the command again"
    where = f"the temp folder {folder}" if folder else "a temp folder"
    return DatabaseError(f"cannot copy {what} to {where} (a pipe is read from a copy there): {reason}", hint=hint)


@dataclass
class _Run:
    """What an interrupted import needs to say what it kept: ``first``, the newest batch before
    it began (``ingest.batches_after``), and ``started``, how many results the files it began
    will have added to the summary (a file not yet in it was being read). ``started`` grows
    BEFORE a file is read, so a Ctrl-C between the two never hides a file in flight."""

    first: int
    started: int = 0


def _import_all(
    con: duckdb.DuckDBPyConnection,
    single: list[tuple[Path, str]],
    batched: dict[str, list[Path | str]],
    resolve: Resolver,
    summary: ImportSummary,
    progress: ProgressFn | None,
    total: int,
    given: dict[Path, Path],
    run: _Run,
) -> None:
    """Import the files one transaction each (a batched format: one for its group), adding
    each result to ``summary`` as it is committed. ``given``: {spooled copy: the pipe's name}."""
    done = 0
    for path, file_fmt in single:
        name = given.get(path)
        if progress:
            progress(str(name or path), done, total)
        run.started += 1
        if name is None:
            summary.files.append(_import_named(con, path, file_fmt, resolve))
        else:
            summary.files.append(import_file(con, name, file_fmt, resolve, read_path=path, spooled=True))
        done += 1
    for file_fmt, group in batched.items():
        if progress:
            progress(os.path.dirname(group[0]), done, total)
        run.started += len(group)
        step = file_step(progress, done, total)
        summary.files.extend(import_batch(con, group, file_fmt, resolve, progress=step))
        done += len(group)
    if progress:
        progress("", total, total)


def file_step(progress: ProgressFn | None, done: int, total: int) -> FileStep | None:
    """The progress of a batch's files as its reader reaches each (QA: a Codex tree of 1,800
    files showed "0/1800" for 20 s, then done): file ``i`` of the batch is ``done + i``."""
    if progress is None:
        return None
    shown = progress
    return lambda name, i: shown(name, done + i, total)


def _import_named(con: duckdb.DuckDBPyConnection, path: Path, fmt: str, resolve: Resolver) -> FileImportResult:
    """``import_file`` of a file an import names or finds. A CSV whose cut last row an earlier
    batch read as it was (a sync's, or an import by hand), finished by its writer since, gives
    way as in a sync (``cut_rows``): the finished row replaces what was read of it (both
    copies counted otherwise, and no later sync told them apart)."""
    try:
        end = path.stat().st_size
    except OSError:
        end = None  # ``import_file`` says why
    if end is None or _not_utf8(os.fspath(path)):  # a name the store cannot hold is refused there
        return import_file(con, path, fmt, resolve)
    return cut_rows.import_giving_way(
        con, path, fmt, end, lambda skip: import_file(con, path, fmt, resolve, skip_unchanged=skip)
    )


def _stored(results: Sequence[FileImportResult]) -> list[FileImportResult]:
    """The results of files this run committed (a skipped or unreadable file stored nothing)."""
    return [f for f in results if not f.skipped_unchanged and f.error is None]


def committed(con: duckdb.DuckDBPyConnection, first: int, results: Sequence[FileImportResult]) -> tuple[int, int]:
    """(files, new events) a run that stopped early committed: counted in the database (the
    batches above ``first``), since a Ctrl-C can land after a file's COMMIT and before its
    result was noted. A database that can no longer answer (DuckDB invalidates it after some
    failed writes) leaves the results noted, exact for a failure raised by the write itself."""
    from usagectl.store.engine import core as duckdb_core

    try:
        return ingest.batches_after(con, first)
    except duckdb_core.Error:
        stored = _stored(results)
        return len(stored), sum(f.imported for f in stored)


def kept_text(files: int, events: int) -> str:
    """How a stopped import or sync says what stayed (the same words for Ctrl-C and a full disk)."""
    return f"kept what was imported before it ({counted(files, 'file')}, {counted(events, 'new event')})"


def _kept(con: duckdb.DuckDBPyConnection, run: _Run, summary: ImportSummary) -> str:
    """What an import interrupted by Ctrl-C left in the database: each file (or batched group)
    is its own transaction, so the files committed before the interruption stay and the one
    being read, unless its COMMIT had returned, was rolled back."""
    files, events = committed(con, run.first, summary.files)
    if not files:
        return "nothing was imported; the database is as it was"
    reading = run.started - len(summary.files)  # results the file(s) in flight have not added yet
    noted = len(_stored(summary.files))
    if reading <= 0 or files > noted:  # none was being read, or its COMMIT returned (counted above)
        return kept_text(files, events)
    what = "the file being read was" if reading == 1 else f"the {reading:,} files being read together were"
    return f"{kept_text(files, events)}; {what} not imported"


def kept_on_full_disk(
    con: duckdb.DuckDBPyConnection,
    db_path: Path,
    first: int,
    results: Sequence[FileImportResult],
    reason: str = "no space left on device",
) -> DatabaseError | None:
    """The full-disk error of an import or sync that committed files before the disk filled
    (one transaction per file or group: those stay); None when it committed none, for the
    store's own "this command's changes were not stored"."""
    files, events = committed(con, first, results)
    if not files:
        return None
    return DatabaseError(
        f"database {db_path}: {reason}; {kept_text(files, events)}; "
        "the file being written when it stopped was not stored",
        hint=write_failure_hint(reason),
    )


def _explain_nothing(results: list[FileImportResult], fmt: str, copies: dict[str, Path]) -> None:
    """A file that gave nothing (no record, no reject) says why instead of a silent zero: one
    read with a named log format that this format's sniffer does not recognise warns what it
    looks like; one read as canonical CSV whose only line is a header without a ``ts`` column (a
    ``.txt`` of prose named on the command line) warns that it holds no records; saved report
    pages of a period without usage (every bucket's ``results: []``, FORMATS.md §1: not an
    error) get a note. An empty file, a canonical file without rows, and a log its format
    recognises that holds no usage yet (a Claude Code session of user lines only) get nothing.
    A file whose every record was rejected under a named format that another format recognises
    says which (its rejects alone read "missing ts", "start_time: not a number (null)", ...).
    ``copies``: {a pipe's name: its spooled copy}, what is read for it."""
    for r in results:
        if r.error or r.skipped_unchanged:
            continue
        path = copies.get(r.path) or Path(r.path)
        if r.format in _PAGED and r.records and _pages.ends_open(path):
            r.warnings.append(
                'its last page says "has_more": true: the rest of that fetch is not in this file (import the '
                "file that holds its next pages too, or fetch them)"
            )
        if r.records and r.rejected == r.records:
            if fmt == "auto" and r.format in _CANONICAL and not _canonical_names(path, r.format):
                # read as canonical events only because no log format recognised it: say so, and
                # not that unknown columns were kept (nothing was)
                r.warnings[:] = [
                    w for w in r.warnings if not w.startswith(("unknown columns kept", "unknown column kept"))
                ]
                r.warnings.append(
                    "every record was rejected: no log format recognised this file, and its records are not "
                    "canonical events (no ts field); name its format with --format (`usagectl import --help` "
                    "lists them)"
                )
                continue
            other = registry.sniff(path) if fmt != "auto" else None
            # a saved error response is rejected by the usage and the cost importer alike: it
            # "looks like" the usage format only because that sniffer claims error pages
            if other and other != r.format and not registry.is_error_page(path):
                r.warnings.append(f"every record was rejected; it looks like {other} (try --format auto)")
            continue
        if r.records or r.rejected:
            continue
        if r.format == "csv":
            header = canonical.csv_header(path)
            if header and not any(h.strip().lower() == "ts" for h in header):
                r.warnings.append(
                    "no records found: its first line, read as a CSV header, names no ts column "
                    "(not canonical events; name a log format with --format)"
                )
            continue
        if registry.get(r.format) is None:
            continue
        if _blank(path):  # an empty file (a session just opened): nothing to say about its format
            continue
        if fmt != "auto" and not registry.sniff_as(path, fmt):
            other = registry.sniff(path)
            looks = f"it looks like {other} (try --format auto)" if other else f"it does not look like the {fmt} format"
            r.warnings.append(f"no {fmt} records found; {looks}")
        elif registry.holds_no_usage(path):
            r.notes.append("no usage in this file: its buckets hold no result rows (a period without usage)")


_CANONICAL = ("jsonl", "csv", "parquet")


def _canonical_names(path: Path, fmt: str) -> bool:
    """Whether a file read as canonical events names a ``ts`` field in its first record (True
    when the names cannot be read: nothing is said then)."""
    names = canonical.first_names(path, fmt)
    return names is None or any(n.strip().lower() == "ts" for n in names if isinstance(n, str))


def _canonical_stager(
    path: Path, fmt: str, left_out: set[str]
) -> tuple[Callable[..., list[str]], Callable[[set[int]], ingest.Located] | None]:
    """The stager of a canonical file and its rejects' locator; the derived columns of an
    event export that the import leaves out are added to ``left_out`` (``canonical.export_derived``)."""
    if fmt == "jsonl":
        document = canonical.read_json_document(path, left_out)  # a .json array or export, not JSONL
        if document is not None:
            return (lambda con: ingest.stage_records(con, document)), None

        def stage(con: Any) -> list[str]:
            try:
                return ingest.stage_jsonl(con, path, left_out)
            except ingest.CaseClash as clash:  # keys DuckDB's reader cannot take apart: each line in Python
                ingest.stage_records(con, canonical.read_jsonl_records(path, left_out))
                return clash.keys

        return stage, (lambda recs: canonical.locate_jsonl_records(path, recs))
    if fmt == "parquet":
        return (lambda con: ingest.stage_parquet(con, path, left_out)), None
    if fmt == "csv":
        stage_csv = lambda con: ingest.stage_csv(con, canonical.read_csv_chunks(path), left_out)  # noqa: E731
        return stage_csv, (lambda recs: canonical.locate_csv_records(path, recs))
    raise InputError(f"{path}: unknown format {fmt!r}")


def _hook(imp: Any) -> Any:
    """The importer's before-insert step ("module:function" in the store), if any."""
    spec = getattr(imp, "before_insert", None)
    if not spec:
        return None
    module, func = spec.split(":")
    return getattr(importlib.import_module(module), func)


def stat_fingerprint(path: Path | str, stat: os.stat_result) -> str:
    """Identity of an append-only log file without reading it: path, size and mtime (ns).
    Claude Code only appends to its transcripts; a file that changed is read again whole and
    the conflict rule keeps what is already stored from counting twice."""
    return f"stat:{stat.st_size}:{stat.st_mtime_ns}:{path}"


def _shown(path: Path | str) -> str:
    """A path as text that can be printed and stored: bytes of a name that are not UTF-8 (a
    file system hands them over as surrogate escapes) as ``\\xe9``."""
    return shown_bytes(path)


def _not_utf8(path: str) -> str | None:
    """The error of a file whose name (or folder's name) is not UTF-8: DuckDB, the database's
    text columns and the terminal all need UTF-8 text, so such a file cannot be read or named
    in a batch; the other files are imported. None for a UTF-8 name."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return f"{_shown(path)}: cannot be imported: its name is not UTF-8 (rename the file or folder)"
    return None


def _batch_stager(
    imp: Any, reals: list[str], sizes: list[int], names: list[str] | None = None, progress: FileStep | None = None
) -> Callable[[duckdb.DuckDBPyConnection], list[str]]:
    """How a batch of files is staged: the format's SQL stager over all of them (Claude Code),
    or its Python reader file after file into one stage (``ingest.stage_record_files``:
    Codex). A file the reader cannot read (unreadable, a corrupt ``.gz``) fails the batch with
    an ``InputError``, and ``import_batch`` then imports the files one by one."""
    stager = getattr(imp, "stager", None)
    if stager:
        module, func = str(stager).split(":")
        fn = getattr(importlib.import_module(module), func)

        def stage_sql(con: duckdb.DuckDBPyConnection) -> list[str]:
            unknown: list[str] = fn(con, reals, sizes, names=names, progress=progress)
            _storing(progress, len(reals))
            return unknown

        return stage_sql

    def stage(con: duckdb.DuckDBPyConnection) -> list[str]:
        import zlib

        current = reals[0]

        def records() -> Iterator[tuple[int, Record]]:
            nonlocal current
            for fi, real in enumerate(reals):
                current = real
                if progress is not None:
                    progress(names[fi] if names else real, fi)
                for record in imp.read(Path(real)):
                    yield fi, record

        try:
            unknown = ingest.stage_record_files(con, records())
        except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise InputError(f"{current}: cannot be read as {imp.name}: {exc}") from exc
        _storing(progress, len(reals))
        return unknown

    return stage


# what a batch's progress says once its files are read, while its rows are checked and stored
STORING = "checking and storing"


def _storing(progress: FileStep | None, files: int) -> None:
    """Every file of the batch read: the bar stands at the last one and says that the rows are
    being checked and stored (QA: on a 2 GB tree that took half the import, under the last
    file's name, which looked stuck)."""
    if progress is not None and files:
        progress(STORING, files - 1)


def import_batch(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[Path | str],
    fmt: str,
    resolve: Resolver,
    progress: FileStep | None = None,
) -> list[FileImportResult]:
    """Import many files of one format in ONE transaction (``ingest.import_staged_files``),
    staged by the format's SQL stager or its reader (``_batch_stager``).

    Design: one ``import_batches`` row per file (counts stay per file and add up; events and
    rejects carry their own file's batch id), identified by a stat fingerprint (path, size,
    mtime), so a re-import of an unchanged tree costs one ``stat`` per file and one query, and
    only new or changed files are read, all by one ``read_ndjson`` over the list. When the
    batch as a whole cannot be read (one unreadable file makes DuckDB's reader fail), the
    files are imported one by one so the others still get in."""
    t0 = time.perf_counter()
    imp = registry.get(fmt)
    assert imp is not None and getattr(imp, "batch_files", False)
    results: dict[int, FileImportResult] = {}
    todo: list[tuple[int, str, os.stat_result, str]] = []
    parents: dict[str, str] = {}
    for i, path in enumerate(paths):
        unnamed = _not_utf8(os.fspath(path))
        if unnamed:
            results[i] = FileImportResult(path=_shown(path), format=fmt, error=unnamed)
            continue
        try:
            real, st = resolve_stat(os.fspath(path), parents)
        except OSError as exc:
            results[i] = FileImportResult(path=str(path), format=fmt, error=f"{path}: cannot read: {exc.strerror}")
            continue
        todo.append((i, real, st, stat_fingerprint(real, st)))
    known = ingest.find_unchanged_batches(con, [fp for _, _, _, fp in todo], fmt)
    fresh = []
    for i, real, st, fp in todo:
        if fp in known:
            results[i] = FileImportResult(path=str(paths[i]), format=fmt, skipped_unchanged=True, batch_id=known[fp])
        else:
            fresh.append(BatchFile(i, str(paths[i]), real, real, st, fp))
    if fresh:
        _import_fresh(
            con, imp, fmt, fresh, resolve, results, t0, BATCH_RETRIES,
            alone=lambda f: import_file(con, Path(f.path), fmt, resolve, fp=f.fp), progress=progress,
        )  # fmt: skip
    return [results[i] for i in range(len(paths))]


@dataclass(frozen=True)
class BatchFile:
    """One file of a many-file transaction (``_import_fresh``). ``index``: its place in the
    caller's results; ``path``: as the caller names it (its result); ``real``: the path its
    batch row and rejects name; ``read``: what is read (the file itself, or a sync's copy of
    its new tail, then ``line_offset`` lines come before it); ``stat`` and ``fp``: of what is read."""

    index: int
    path: str
    real: str
    read: str
    stat: os.stat_result
    fp: str
    line_offset: int = 0


def import_copies(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[BatchFile],
    fmt: str,
    resolve: Resolver,
    *,
    source_name: str,
    alone: Callable[[BatchFile], FileImportResult],
    on_commit: Callable[[duckdb.DuckDBPyConnection, list[tuple[int, int]]], None],
) -> list[FileImportResult]:
    """Import many files of a ``batch_files`` format, read from copies (a sync's new tails), in
    ONE transaction as ``import_batch`` does: one batch row per file with its own fingerprint
    and ``line_offset``, no unchanged-file check. ``on_commit(con, [(index, batch_id)])`` runs
    in that transaction before COMMIT. When the batch cannot be read, the files go one by one
    through ``alone`` (the caller's own transaction per file), as in ``import_batch``."""
    imp = registry.get(fmt)
    assert imp is not None and getattr(imp, "batch_files", False)
    results: dict[int, FileImportResult] = {}
    _import_fresh(
        con, imp, fmt, list(files), resolve, results, time.perf_counter(), BATCH_RETRIES,
        alone=alone, source_name=source_name, on_commit=on_commit,
    )  # fmt: skip
    return [results[f.index] for f in files]


# How many times a batch that one named file made fail is read again without that file (the
# file then imported on its own) before the rest is imported file by file: one bad file in a
# 12k-file tree must not cost 12k transactions.
BATCH_RETRIES = 3


def _import_fresh(
    con: duckdb.DuckDBPyConnection,
    imp: Any,
    fmt: str,
    fresh: list[BatchFile],
    resolve: Resolver,
    results: dict[int, FileImportResult],
    t0: float,
    retries: int,
    *,
    alone: Callable[[BatchFile], FileImportResult],
    source_name: str | None = None,
    on_commit: Callable[[duckdb.DuckDBPyConnection, list[tuple[int, int]]], None] | None = None,
    progress: FileStep | None = None,
) -> None:
    """The batch part of ``import_batch`` and ``import_copies``: ``fresh`` in one transaction;
    results go to ``results`` by index (a file the batch could not take: ``alone(file)``)."""
    locate = getattr(imp, "locate", None)
    reads = [f.read for f in fresh]
    stage = _batch_stager(imp, reads, [f.stat.st_size for f in fresh], [f.path for f in fresh], progress)
    infos = [
        ingest.BatchInfo(source=fmt, path=f.real, file_size=f.stat.st_size,
                         file_mtime=datetime.fromtimestamp(f.stat.st_mtime, UTC), fingerprint=f.fp,
                         source_name=source_name, line_offset=f.line_offset)
        for f in fresh
    ]  # fmt: skip
    before_commit = None
    if on_commit is not None:
        hook = on_commit  # bound now: mypy keeps the narrowing inside the lambda

        def before_commit(c: duckdb.DuckDBPyConnection, ids: list[int]) -> None:
            hook(c, [(f.index, b) for f, b in zip(fresh, ids, strict=True)])

    try:
        counts, warnings = ingest.import_staged_files(
            con,
            infos,
            stage,
            resolve,
            locate_rejects=(lambda fi, recs: locate(Path(reads[fi]), recs)) if locate else None,
            default_source=fmt,
            conflict=imp.conflict,
            before_insert=_hook(imp),
            prechecked=getattr(imp, "prechecked", False),
            before_commit=before_commit,
        )
    except InputError as exc:
        # out of memory is no file's fault (QA: USAGECTL_MEMORY_LIMIT=10MB made every file "cannot be
        # read as claude-code", exit 4): the run stops and within_import_memory names the limit
        if ran_out_of_memory(exc):
            raise
        named = [k for k, f in enumerate(fresh) if _names(exc.message, f.read, f.real, f.path)]
        if len(named) == 1 and len(fresh) > 1 and retries > 0:  # that file alone, then the others again
            f = fresh[named[0]]
            results[f.index] = alone(f)
            rest = fresh[: named[0]] + fresh[named[0] + 1 :]
            _import_fresh(
                con, imp, fmt, rest, resolve, results, t0, retries - 1,
                alone=alone, source_name=source_name, on_commit=on_commit, progress=progress,
            )  # fmt: skip
            return
        for f in fresh:
            results[f.index] = alone(f)
    else:
        share = (time.perf_counter() - t0) / len(fresh)
        for f, c in zip(fresh, counts):
            results[f.index] = FileImportResult(
                path=f.path, format=fmt, records=c.records, imported=c.imported, duplicates=c.duplicates,
                rejected=c.rejected, replaced=c.replaced, batch_id=c.batch_id, seconds=share,
                warnings=list(warnings) if f is fresh[0] else [],
            )  # fmt: skip


def _names(message: str, *spellings: str) -> bool:
    """Whether a reader's error ``message`` names this file: DuckDB quotes the path it was
    reading (``while reading file "…"``), the Python readers start with it (``path: …``)."""
    return any(f'"{p}"' in message or message.startswith(f"{p}:") for p in spellings)
