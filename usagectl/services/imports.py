"""Import files into the store: canonical events (JSONL, CSV, Parquet) and every registered
log format (``usagectl.importers.registry``)."""

from __future__ import annotations

import hashlib
import importlib
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from usagectl.errors import InputError, UsageError
from usagectl.importers import canonical, registry
from usagectl.models import FileImportResult, ImportSummary
from usagectl.services.context import AppContext
from usagectl.store import ingest
from usagectl.store.connection import connect

if TYPE_CHECKING:
    import duckdb

    from usagectl.pricing import PriceBook

IMPORT_MEMORY_LIMIT = os.environ.get("USAGECTL_MEMORY_LIMIT", "800MB")
ProgressFn = Callable[[str, int, int], None]  # (event, done_files, total_files)
Resolver = Callable[[list[str]], dict[str, tuple[str | None, str | None]]]


def fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def expand(paths: Sequence[Path], fmt: str) -> list[tuple[Path, str]]:
    """Files to read with their format: directories are walked by the format's own rules."""
    if fmt not in registry.names():
        raise UsageError(f"unknown format {fmt!r} (choose from {', '.join(registry.names())})")
    imp = registry.get(fmt)
    out: list[tuple[Path, str]] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_dir():
            files = imp.files(path) if imp is not None else [p for p, _ in canonical.iter_input_files([path], "auto")]
        else:
            files = [path]
        for f in files:
            if fmt != "auto":
                out.append((f, fmt))
            else:
                out.append((f, registry.sniff(f) or canonical.detect_format(f)))
    return out


def resolver(book: PriceBook) -> Resolver:
    def resolve(raws: list[str]) -> dict[str, tuple[str | None, str | None]]:
        out: dict[str, tuple[str | None, str | None]] = {}
        for raw in raws:
            model = book.resolve(raw)
            out[raw] = (model, book.provider_of(model) if model else None)
        return out

    return resolve


def prepare_import_connection(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("SET preserve_insertion_order = true")
    # bounded memory: DuckDB spills to a temp directory beside the database instead
    con.execute(f"SET memory_limit = '{IMPORT_MEMORY_LIMIT}'")


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
) -> FileImportResult:
    """Import one file in one transaction. ``read_path`` is what is actually read (a sync
    reads the new tail of ``path`` from a temporary copy); rejects and batches name ``path``."""
    t0 = time.perf_counter()
    result = FileImportResult(path=str(path), format=fmt)
    source = read_path or path
    try:
        stat = source.stat()
        fp = fp or fingerprint(source)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if skip_unchanged:
        previous = ingest.find_unchanged_batch(con, fp)
        if previous is not None:
            result.skipped_unchanged = True
            result.batch_id = previous
            result.seconds = time.perf_counter() - t0
            return result
    info = ingest.BatchInfo(
        source=fmt,
        path=path.resolve(),
        file_size=stat.st_size,
        file_mtime=datetime.fromtimestamp(stat.st_mtime, UTC),
        fingerprint=fp,
        source_name=source_name,
        line_offset=line_offset,
    )
    try:
        counts, warnings = _run(con, info, source, fmt, resolve)
    except InputError as exc:  # this file is unreadable: nothing of it stored, go on
        result.error = exc.message
        result.seconds = time.perf_counter() - t0
        return result
    result.records = counts.records
    result.imported = counts.imported
    result.duplicates = counts.duplicates
    result.rejected = counts.rejected
    result.replaced = counts.replaced
    result.batch_id = counts.batch_id
    result.warnings = warnings
    result.seconds = time.perf_counter() - t0
    return result


def _run(
    con: duckdb.DuckDBPyConnection, info: ingest.BatchInfo, path: Path, fmt: str, resolve: Resolver
) -> tuple[ingest.BatchCounts, list[str]]:
    if fmt in registry.CANONICAL:
        stage, locate = _canonical_stager(path, fmt)
        return ingest.import_staged(con, info, stage, resolve, locate_rejects=locate, default_source=fmt)
    imp = registry.get(fmt)
    if imp is None:
        raise InputError(f"{path}: unknown format {fmt!r}")
    target = getattr(imp, "target", "events")
    if target == "billed_costs":
        billing: Any = importlib.import_module("usagectl.store.billing")
        return billing.import_cost_lines(con, info, imp.read(path))  # type: ignore[no-any-return]
    stager = getattr(imp, "stager", None)  # "module:function" of a SQL stager in the store
    if stager:
        module, func = stager.split(":")
        fn = getattr(importlib.import_module(module), func)
        locate = getattr(imp, "locate", None)
        return ingest.import_staged(
            con,
            info,
            lambda c: fn(c, path),
            resolve,
            locate_rejects=(lambda recs: locate(path, recs)) if locate else None,
            default_source=fmt,
            conflict=imp.conflict,
        )
    return ingest.import_staged(
        con, info, lambda c: ingest.stage_records(c, imp.read(path)), resolve, default_source=fmt, conflict=imp.conflict
    )


def import_paths(
    ctx: AppContext,
    paths: Sequence[Path],
    *,
    fmt: str = "auto",
    progress: ProgressFn | None = None,
) -> ImportSummary:
    started = time.perf_counter()
    files = expand(paths, fmt)
    if not files:
        raise InputError("no importable files found in " + ", ".join(str(p) for p in paths))
    resolve = resolver(ctx.pricebook())
    summary = ImportSummary()
    with connect(ctx.db_path) as con:
        prepare_import_connection(con)
        for done, (path, file_fmt) in enumerate(files):
            if progress:
                progress(str(path), done, len(files))
            summary.files.append(import_file(con, path, file_fmt, resolve))
        if progress:
            progress("", len(files), len(files))
    summary.seconds = time.perf_counter() - started
    return summary


def _canonical_stager(
    path: Path, fmt: str
) -> tuple[Callable[..., list[str]], Callable[[set[int]], dict[int, tuple[int, str]]] | None]:
    if fmt == "jsonl":
        return (lambda con: ingest.stage_jsonl(con, path)), (lambda recs: canonical.locate_jsonl_records(path, recs))
    if fmt == "parquet":
        return (lambda con: ingest.stage_parquet(con, path)), None
    if fmt == "csv":
        return (lambda con: ingest.stage_csv(con, canonical.read_csv_chunks(path))), None
    raise InputError(f"{path}: unknown format {fmt!r}")
