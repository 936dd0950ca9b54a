"""Ctrl-C (SIGINT) in any command: one "interrupted" line on stderr and exit 130, never the
"unexpected error … report it" of a bug; an import rolls back the file it was reading and
says what was kept; an export leaves no partial or unverified --out file.

DuckDB reports SIGINT during a query as ``RuntimeError("Query interrupted")`` or
``InterruptException`` rather than KeyboardInterrupt, and a cleanup statement on the aborted
transaction then raises a ``TransactionException`` with the interruption as its context. The
tests raise those exceptions from patched functions: deterministic, no signal timing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.helpers import run, write_jsonl
from usagectl.errors import was_interrupted
from usagectl.store import export as store_export
from usagectl.store import ingest

EVENTS = [{"event_id": f"E{i}", "ts": "2026-11-03T10:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1000}
          for i in range(3)]  # fmt: skip
ARGS = ("--since", "2026-11-01", "--until", "2026-11-30")


def _count(db: Path, table: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def db(tmp_path: Path, db_path: Path) -> Path:
    run("import", str(write_jsonl(tmp_path / "a.jsonl", EVENTS)), "--db", str(db_path))
    return db_path


def _query_interrupted(*args: object, **kwargs: object) -> None:
    raise RuntimeError("Query interrupted")


def _masked_interrupt() -> BaseException:
    """What an import showed: the cleanup's TransactionException hiding the interrupted query."""
    try:
        try:
            raise RuntimeError("Query interrupted")
        except RuntimeError:
            raise duckdb.TransactionException("Current transaction is aborted (please ROLLBACK)") from None
    except duckdb.TransactionException as exc:
        exc.__suppress_context__ = False  # `from None` above only to build the chain by hand
        return exc


def test_was_interrupted_sees_through_the_chain() -> None:
    assert was_interrupted(KeyboardInterrupt())
    assert was_interrupted(duckdb.InterruptException("INTERRUPT Error: Interrupted!"))
    assert was_interrupted(RuntimeError("Query interrupted"))
    assert was_interrupted(_masked_interrupt())
    assert not was_interrupted(RuntimeError("something else"))
    assert not was_interrupted(duckdb.TransactionException("Current transaction is aborted"))


@pytest.mark.parametrize(
    "raised", [KeyboardInterrupt(), RuntimeError("Query interrupted"), duckdb.InterruptException("Interrupted!")]
)
def test_report_interrupted_in_a_query_exits_130(db: Path, monkeypatch: pytest.MonkeyPatch, raised: Exception) -> None:
    from usagectl.store import reports as q

    def interrupted(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setattr(q, "cube", interrupted)
    result = run("report", "by", "model", *ARGS, "--db", str(db), expect=130)
    assert result.stderr == "usagectl: interrupted\n"


def test_import_interrupted_rolls_back_and_says_nothing_was_imported(
    tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = [_count(db, t) for t in ("events", "import_batches", "rejects")]
    monkeypatch.setattr(ingest, "before_commit_hook", _query_interrupted)
    more = [e | {"event_id": e["event_id"] + "b"} for e in EVENTS]
    result = run("import", str(write_jsonl(tmp_path / "b.jsonl", more)), "--db", str(db), expect=130)
    assert result.stderr.endswith("usagectl: interrupted; nothing was imported; the database is as it was\n")
    assert [_count(db, t) for t in ("events", "import_batches", "rejects")] == before == [3, 1, 0]


def test_import_interrupted_at_the_second_file_says_what_was_kept(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits = []

    def second_interrupted(con: object) -> None:
        commits.append(1)
        if len(commits) == 2:
            raise RuntimeError("Query interrupted")

    monkeypatch.setattr(ingest, "before_commit_hook", second_interrupted)
    first = write_jsonl(tmp_path / "1.jsonl", EVENTS)
    second = write_jsonl(tmp_path / "2.jsonl", [e | {"event_id": e["event_id"] + "b"} for e in EVENTS])
    result = run("import", str(first), str(second), "--db", str(db_path), expect=130)
    # file 1 committed its 3 events; file 2 was rolled back
    assert result.stderr.endswith(
        "usagectl: interrupted; kept what was imported before it (1 file, 3 new events); "
        "the file being read was not imported\n"
    )
    assert _count(db_path, "events") == 3


def test_parquet_export_interrupted_leaves_no_file(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The COPY has written the file; reading its totals back is interrupted: the file is not
    left behind as if the export had succeeded (and an older file of that name is kept)."""
    out = tmp_path / "x.parquet"
    monkeypatch.setattr(store_export, "written_totals", _query_interrupted)
    assert run("export", "--parquet", *ARGS, "--out", str(out), "--db", str(db), expect=130).stderr == (
        "usagectl: interrupted\n"
    )
    assert list(tmp_path.glob("*x.parquet*")) == []
    out.write_bytes(b"older export")
    run("export", "--parquet", *ARGS, "--out", str(out), "--db", str(db), expect=130)
    assert out.read_bytes() == b"older export"
    assert [p.name for p in tmp_path.glob("*x.parquet*")] == ["x.parquet"]


def test_partitioned_export_interrupted_leaves_no_folder(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "parts"
    monkeypatch.setattr(store_export, "written_totals", _query_interrupted)
    run("export", "--parquet", "--partition-by", "month", *ARGS, "--out", str(out), "--db", str(db), expect=130)
    assert not out.exists()


@pytest.mark.parametrize("fmt", ["--csv", "--pdf"])
def test_file_export_interrupted_leaves_no_file(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    from usagectl.services import export as svc

    out = tmp_path / f"x.{fmt[2:]}"
    report = "by-model"
    real = svc.build_report

    def interrupted_after_build(*args: object, **kwargs: object) -> object:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        if fmt == "--pdf":
            monkeypatch.setattr("usagectl.render.pdf.write_report_pdf", _write_then_interrupt)
        else:
            monkeypatch.setattr("usagectl.cli.export._report_text", _write_then_interrupt)
        return result

    monkeypatch.setattr(svc, "build_report", interrupted_after_build)
    run("export", fmt, "--report", report, *ARGS, "--out", str(out), "--db", str(db), expect=130)
    assert list(tmp_path.glob(f"*x.{fmt[2:]}*")) == []


def _write_then_interrupt(result: object, *args: object) -> None:
    """Half a file written (to the path, or to the open stream: the last argument), then Ctrl-C."""
    target = args[-1]
    if isinstance(target, Path):
        target.write_bytes(b"%PDF-1.4 partial")
    else:
        target.write("partial")  # type: ignore[attr-defined]
    raise KeyboardInterrupt


class _InterruptingConnection:
    """A DuckDB connection whose queries containing ``marker`` are interrupted (as DuckDB
    raises Ctrl-C mid-query); everything else runs on the real connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, marker: str) -> None:
        self._con = con
        self._marker = marker

    def execute(self, sql: str, *args: object) -> object:
        if self._marker in sql:
            raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")
        return self._con.execute(sql, *args)  # type: ignore[arg-type]


def test_import_interrupted_in_the_key_scan_exits_130(
    tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in stage_jsonl's scan for unknown columns was taken for an unparseable file: the
    import went on (exit 0) and the file's unknown columns were dropped without a warning."""
    real = ingest.stage_jsonl
    monkeypatch.setattr(
        ingest,
        "stage_jsonl",
        lambda con, path, *rest: real(_InterruptingConnection(con, "json_keys"), path, *rest),  # type: ignore[arg-type]
    )
    more = [e | {"event_id": e["event_id"] + "b", "cost_usd": 1} for e in EVENTS]
    result = run("import", str(write_jsonl(tmp_path / "b.jsonl", more)), "--db", str(db), expect=130)
    assert result.stderr.endswith("usagectl: interrupted; nothing was imported; the database is as it was\n")
    assert _count(db, "events") == 3  # the fixture's 3, none of b.jsonl


def test_import_interrupted_while_staging_is_not_an_unreadable_file(
    tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DuckDB interrupt out of the stager was reported as "cannot be read" (a file error)."""

    def interrupted(con: object, path: Path, *rest: object) -> list[str]:
        raise duckdb.InterruptException("INTERRUPT Error: Interrupted!")

    monkeypatch.setattr(ingest, "stage_jsonl", interrupted)
    more = [e | {"event_id": e["event_id"] + "b"} for e in EVENTS]
    result = run("import", str(write_jsonl(tmp_path / "b.jsonl", more)), "--db", str(db), expect=130)
    assert "cannot be read" not in result.stderr
    assert _count(db, "events") == 3


def test_drop_staged_on_the_way_to_commit_passes_an_interrupt_on(db: Path) -> None:
    """Dropping the scratch tables before COMMIT: an interrupt there stops the import; on an
    error path (the default) the original error matters more and cleanup failures are ignored."""
    with duckdb.connect(str(db)) as con:
        con_ = _InterruptingConnection(con, "duckdb_views")
        ingest._drop_staged(con_)  # type: ignore[arg-type]
        with pytest.raises(duckdb.InterruptException):
            ingest._drop_staged(con_, failing=False)  # type: ignore[arg-type]
