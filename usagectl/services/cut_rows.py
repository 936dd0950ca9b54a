"""A CSV row read cut off, that its writer then finished: what was read of it gives way.

A CSV row without its newline cannot show that it is whole. A sync leaves such a last row for
one sync, then reads it as it is (a crash may have left it so); an import by hand reads it at
once. When the writer then finishes the row (the file grows from inside it), the batch that
read it gives way to the finished row, whichever of ``sync`` and ``import`` read it and
whichever of them reads the finished file: in the import's one transaction its events are
deleted, the file is read whole again, and the finished row takes the place of what was read
of it (counted as replaced; with an event_id the stored cut copy would otherwise win, and
without one both would count). The batch's other rows come back from the same bytes (counted
as duplicates).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from usagectl.store import sources as st

if TYPE_CHECKING:
    import duckdb

    from usagectl.models import FileImportResult

BLOCK = 1 << 20


def csv_file(path: Path, fmt: str) -> bool:
    """A file read as CSV rows: by its format, or by its name (a LiteLLM export)."""
    return fmt == "csv" or path.suffix.lower() == ".csv"


def import_giving_way(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: str,
    end: int,
    run: Callable[[bool], FileImportResult],
) -> FileImportResult:
    """Import ``path``, read whole up to byte ``end``: ``run(skip_unchanged)`` imports it.
    When that finishes a CSV row an earlier batch read cut off, as it was (``cut_row_read``),
    the file is read even if these bytes were seen before, and that batch's events give way in
    the import's own transaction (deleted right after its BEGIN, before anything stored is
    read): what comes back of them as it was counts as duplicates, and as many of the others
    as took their place as replaced. A failed import rolls all of it back."""
    batch = cut_row_read(con, path, fmt, end)
    if batch is None:
        return run(True)
    from usagectl.store import ingest

    counted: list[tuple[int, int]] = []
    after_begin, before_commit = ingest.after_begin_hook, ingest.before_commit_hook

    def begin(con: duckdb.DuckDBPyConnection) -> None:
        after_begin(con)
        st.give_way(con, batch)

    def commit(con: duckdb.DuckDBPyConnection) -> None:
        before_commit(con)  # a sync's file state, written first as before
        counted.append(st.count_given_way(con, st.current_batch_id(con)))

    ingest.after_begin_hook, ingest.before_commit_hook = begin, commit
    try:
        result = run(False)
    finally:
        ingest.after_begin_hook, ingest.before_commit_hook = after_begin, before_commit
    if counted and not result.error:  # as ``st.count_given_way`` counted them in the batch
        back, replaced = counted[-1]
        result.imported -= back + replaced
        result.duplicates += back
        result.replaced += replaced
    return result


def cut_row_read(con: duckdb.DuckDBPyConnection, path: Path, fmt: str, end: int) -> int | None:
    """The batch whose events give way when this CSV is read up to ``end``: one that read it up
    to a last row without its newline (a sync that read the row as it was, still cut off one
    sync after, or an import by hand) and no batch read further since, when the file has grown
    from inside that row (the bytes it read still begin the file, and what follows them goes
    on with the row, not with its newline). None for any other format or growth: a row that
    was whole when read, or a file rewritten or truncated (read again from the start as it
    is); and when the file cannot be read (the import says why). One query in the usual case
    (no such batch); the bytes that batch read are hashed only when its last one is not a
    newline."""
    if not csv_file(path, fmt) or path.suffix.lower() == ".gz":
        return None
    reads = st.open_reads(con, str(path.resolve()), fmt, end)
    if not reads:
        return None
    try:
        with path.open("rb") as fh:
            for batch, size, fp in reads:
                fh.seek(size - 1)
                if fh.read(1) == b"\n":  # it read whole rows: an earlier, shorter read may not
                    continue
                after = fh.read(min(2, end - size)).removeprefix(b"\r")
                if not after or after.startswith(b"\n"):  # the row was whole as read: nothing to replace
                    return None
                return batch if _head_fingerprint(fh, size) == fp else None
    except OSError:
        return None
    return None


def head_blocks(fh: BinaryIO, size: int) -> Iterator[bytes]:
    """The first ``size`` bytes of ``fh`` from where it stands, in blocks (fewer at its end)."""
    remaining = size
    while remaining > 0:
        block = fh.read(min(BLOCK, remaining))
        if not block:
            return
        yield block
        remaining -= len(block)


def _head_fingerprint(fh: BinaryIO, size: int) -> str:
    """``imports.fingerprint`` of the file's first ``size`` bytes."""
    head = hashlib.sha256()
    fh.seek(0)
    for block in head_blocks(fh, size):
        head.update(block)
    return "sha256:" + head.hexdigest()
