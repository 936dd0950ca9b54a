"""A CSV row read cut off, that its writer then finished: what was read of it gives way.

A CSV row without its newline cannot show that it is whole. A sync leaves such a last row for
one sync, then reads it as it is (a crash may have left it so); an import by hand reads it at
once. When the writer then finishes the row (the file grows from inside it), the batch that
read it gives way to the finished row, whichever of ``sync`` and ``import`` read it and
whichever of them reads the finished file: its events are set aside, the file is read whole
again, and the finished row takes the place of what was read of it (counted as replaced; with
an event_id the stored cut copy would otherwise win, and without one both would count). The
batch's other rows come back from the same bytes.
"""

from __future__ import annotations

import contextlib
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
    that batch's events are set aside first and the file is read even if these bytes were seen
    before; as many of its imported events as were set aside count as replaced. If the import
    stores nothing (the file cannot be read now), they are put back.

    Two transactions, not one: ``imports.import_file`` opens its own, and the store has no hook
    inside it before the INSERT. A crash between them leaves the set-aside events out until the
    file is read again (a sync's state is written only with the import: its next sync does)."""
    batch = cut_row_read(con, path, fmt, end)
    if batch is None:
        return run(True)
    given_way = st.set_aside_events(con, batch)
    try:
        result = _counted_as_replaced(lambda: run(False), given_way)
    except BaseException:
        with contextlib.suppress(Exception):  # the failure matters more; the file is read again later
            st.put_back_events(con)
        raise
    if result.error:
        st.put_back_events(con)
    else:
        st.forget_set_aside(con)
    return result


def _counted_as_replaced(run: Callable[[], FileImportResult], given_way: int) -> FileImportResult:
    """``run`` an import of which up to ``given_way`` imported events take the place of the
    events set aside for it: counted as replaced in its batch row, in its own transaction (the
    store's ``before_commit_hook``, after any hook already set: a sync's file state), and in
    its result."""
    from usagectl.store import ingest

    counted: list[bool] = []
    previous = ingest.before_commit_hook

    def hook(con: duckdb.DuckDBPyConnection) -> None:
        previous(con)
        st.count_replaced(con, st.current_batch_id(con), given_way)
        counted.append(True)

    ingest.before_commit_hook = hook
    try:
        result = run()
    finally:
        ingest.before_commit_hook = previous
    if counted and not result.error:  # as ``st.count_replaced`` counted them in the batch
        took = min(given_way, result.imported)
        result.imported -= took
        result.replaced += took
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
