"""Import files of canonical events (JSONL, CSV, Parquet) into the store."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from usagectl.errors import InputError
from usagectl.importers import canonical
from usagectl.models import FileImportResult, ImportSummary
from usagectl.services.context import AppContext
from usagectl.store import ingest
from usagectl.store.connection import connect

IMPORT_MEMORY_LIMIT = os.environ.get("USAGECTL_MEMORY_LIMIT", "800MB")
ProgressFn = Callable[[str, int, int], None]  # (event, done_files, total_files)


def fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def import_paths(
    ctx: AppContext,
    paths: Sequence[Path],
    *,
    fmt: str = "auto",
    progress: ProgressFn | None = None,
) -> ImportSummary:
    started = time.perf_counter()
    files = list(canonical.iter_input_files(paths, fmt))
    if not files:
        raise InputError("no importable files found in " + ", ".join(str(p) for p in paths))
    book = ctx.pricebook()

    def resolve(raws: list[str]) -> dict[str, tuple[str | None, str | None]]:
        out: dict[str, tuple[str | None, str | None]] = {}
        for raw in raws:
            model = book.resolve(raw)
            out[raw] = (model, book.provider_of(model) if model else None)
        return out

    summary = ImportSummary()
    with connect(ctx.db_path) as con:
        con.execute("SET preserve_insertion_order = true")
        # bounded memory: DuckDB spills to a temp directory beside the database instead
        con.execute(f"SET memory_limit = '{IMPORT_MEMORY_LIMIT}'")
        for done, (path, file_fmt) in enumerate(files):
            if progress:
                progress(str(path), done, len(files))
            t0 = time.perf_counter()
            result = FileImportResult(path=str(path), format=file_fmt)
            try:
                stat = path.stat()
                fp = fingerprint(path)
            except OSError as exc:
                raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
            previous = ingest.find_unchanged_batch(con, fp)
            if previous is not None:
                result.skipped_unchanged = True
                result.batch_id = previous
                result.seconds = time.perf_counter() - t0
                summary.files.append(result)
                continue
            info = ingest.BatchInfo(
                source=file_fmt,
                path=path.resolve(),
                file_size=stat.st_size,
                file_mtime=datetime.fromtimestamp(stat.st_mtime, UTC),
                fingerprint=fp,
            )
            stage, locate = _stager(path, file_fmt)
            try:
                counts, warnings = ingest.import_staged(
                    con, info, stage, resolve, locate_rejects=locate, default_source=file_fmt
                )
            except InputError as exc:  # this file is unreadable: nothing of it stored, go on
                result.error = exc.message
                result.seconds = time.perf_counter() - t0
                summary.files.append(result)
                continue
            result.records = counts.records
            result.imported = counts.imported
            result.duplicates = counts.duplicates
            result.rejected = counts.rejected
            result.batch_id = counts.batch_id
            result.warnings = warnings
            result.seconds = time.perf_counter() - t0
            summary.files.append(result)
        if progress:
            progress("", len(files), len(files))
    summary.seconds = time.perf_counter() - started
    return summary


def _stager(
    path: Path, fmt: str
) -> tuple[Callable[..., list[str]], Callable[[set[int]], dict[int, tuple[int, str]]] | None]:
    if fmt == "jsonl":
        return (lambda con: ingest.stage_jsonl(con, path)), (lambda recs: canonical.locate_jsonl_records(path, recs))
    if fmt == "parquet":
        return (lambda con: ingest.stage_parquet(con, path)), None
    if fmt == "csv":
        return (lambda con: ingest.stage_csv(con, canonical.read_csv_chunks(path))), None
    raise InputError(f"{path}: unknown format {fmt!r}")
