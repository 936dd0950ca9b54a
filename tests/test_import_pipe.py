"""Import from a pipe (``/dev/stdin``, a FIFO, ``<(…)``): read once, imported whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from tests.helpers import run, run_json

# 3 gpt-4o events: 1M + 2M input tokens on 2026-10-31 and 4M on 2026-11-01 (UTC)
TZ_JSONL = (
    '{"event_id":"t1","ts":"2026-10-31T18:00:00Z","model":"gpt-4o","input_tokens":1000000,"output_tokens":0}\n'
    '{"event_id":"t2","ts":"2026-10-31T18:20:00Z","model":"gpt-4o","input_tokens":2000000,"output_tokens":0}\n'
    '{"event_id":"t3","ts":"2026-11-01T09:00:00Z","model":"gpt-4o","input_tokens":4000000,"output_tokens":0}\n'
)


@contextmanager
def fifo_with(tmp_path: Path, data: str, name: str = "events.jsonl") -> Iterator[Path]:
    """A named pipe that a thread writes ``data`` into once, as ``cat f |`` would."""
    fifo = tmp_path / name
    os.mkfifo(fifo)

    def write() -> None:
        with fifo.open("w", encoding="utf-8") as fh:
            fh.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield fifo
    finally:
        writer.join(timeout=10)


def _daily(db: Path) -> dict[str, object]:
    doc = run_json("report", "daily", "--since", "2026-10-31", "--until", "2026-11-01", "--db", str(db))
    assert isinstance(doc, dict)
    return doc


def _assert_all_three(db: Path) -> None:
    doc = _daily(db)
    # hand: 7,000,000 input tokens x $2.50/M = $17.50; 10-31: 3M -> $7.50, 11-01: 4M -> $10.00
    assert doc["totals"]["requests"] == 3  # type: ignore[index]
    assert doc["totals"]["input_tokens"] == 7_000_000  # type: ignore[index]
    assert doc["totals"]["cost_usd"] == 17.5  # type: ignore[index]
    assert [(r["date"], r["cost_usd"]) for r in doc["rows"]] == [("2026-10-31", 7.5), ("2026-11-01", 10)]  # type: ignore[attr-defined]


def _batches(db: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT path, records, imported FROM import_batches ORDER BY batch_id").fetchall()
    finally:
        con.close()


def test_a_fifo_is_read_once_and_imported_whole_under_its_own_name(tmp_path: Path, db_path: Path) -> None:
    cmd = [sys.executable, "-m", "usagectl", "import", "--format", "jsonl", "--json", "--db", str(db_path)]
    with fifo_with(tmp_path, TZ_JSONL) as fifo:
        # a subprocess with a timeout: reading the FIFO a second time would wait for a writer forever
        done = subprocess.run([*cmd, str(fifo)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["records"], doc["imported"], doc["rejected"]) == (3, 3, 0)
    _assert_all_three(db_path)
    assert _batches(db_path) == [(str(fifo), 3, 3)]


def test_stdin_pipe_then_the_regular_file_adds_nothing_and_loses_nothing(tmp_path: Path, db_path: Path) -> None:
    regular = tmp_path / "tz.jsonl"
    regular.write_text(TZ_JSONL, encoding="utf-8")
    spool = tmp_path / "tmp"  # a temp dir of its own: other programs' files come and go in /tmp
    spool.mkdir()
    cmd = [sys.executable, "-m", "usagectl", "import", "/dev/stdin", "--db", str(db_path)]
    with regular.open("rb") as src:  # a real pipe: `cat tz.jsonl | usagectl import /dev/stdin`
        cat = subprocess.Popen(["cat"], stdin=src, stdout=subprocess.PIPE)
        env = {**os.environ, "TMPDIR": str(spool)}
        done = subprocess.run(cmd, stdin=cat.stdout, capture_output=True, text=True, check=False, env=env)
        assert cat.stdout is not None
        cat.stdout.close()
        cat.wait()
    assert done.returncode == 0, done.stderr
    assert "3 imported" in done.stderr
    assert _batches(db_path) == [("/dev/stdin", 3, 3)]
    # the spooled copy is gone from the temp dir
    assert list(spool.iterdir()) == []
    run("import", str(regular), "--db", str(db_path))
    _assert_all_three(db_path)  # 3 events, not 6, and not 0


def test_a_batch_that_hashed_a_pipe_but_read_nothing_does_not_hide_the_file(tmp_path: Path, db_path: Path) -> None:
    """What an older usagectl left behind: a batch with the content's fingerprint, size 0
    (the stat of a pipe) and no events. The regular file is imported, not "unchanged"."""
    regular = tmp_path / "tz.jsonl"
    regular.write_text(TZ_JSONL, encoding="utf-8")
    run("import", str(regular), "--db", str(db_path))
    con = duckdb.connect(str(db_path))
    try:
        con.execute("DELETE FROM events")
        con.execute("UPDATE import_batches SET file_size = 0, records = 0, imported = 0")
    finally:
        con.close()
    doc = run_json("import", str(regular), "--db", str(db_path))
    assert doc["imported"] == 3
    _assert_all_three(db_path)


def test_a_pipe_cannot_be_a_source(tmp_path: Path, db_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    result = run("source", "add", str(fifo), "--db", str(db_path), expect=2)
    assert "a source must be one that can be read again" in result.stderr


def test_binary_piped_to_stdin_fails_naming_dev_stdin_without_printing_it(tmp_path: Path, db_path: Path) -> None:
    """QA: 3,000 random bytes piped to ``usagectl import /dev/stdin`` printed ~240 bytes of raw
    binary in the error, which named the spooled copy (``/tmp/usagectl-stdin-…``). The error
    names ``/dev/stdin`` (README: a pipe is imported under the name given), shows no control
    byte, and says the input is binary data rather than quoting it."""
    import random

    rnd = random.Random(7)
    garbage = bytes(rnd.randrange(256) for _ in range(3000))
    spool = tmp_path / "tmp"
    spool.mkdir()
    env = {**os.environ, "TMPDIR": str(spool)}
    cmd = [sys.executable, "-m", "usagectl", "import", "/dev/stdin", "--db", str(db_path)]
    done = subprocess.run(cmd, input=garbage, capture_output=True, check=False, env=env)
    assert done.returncode == 4
    err = done.stderr.decode("utf-8")
    last = err.strip().splitlines()[-1]
    assert last == (
        "usagectl: error: 1 file could not be read: /dev/stdin: line 1: binary data (bytes that are not UTF-8 text), "
        "not CSV text"
    )
    assert "usagectl-stdin" not in err and str(spool) not in err
    assert not any((ch < " " and ch != "\n") or "\x7f" <= ch <= "\x9f" for ch in err), err
    assert list(spool.iterdir()) == []


def test_a_dash_reads_standard_input(tmp_path: Path, db_path: Path) -> None:
    """`usagectl import -` is standard input, as for cat (it said "-: no such file or directory"):
    the three events of the pipe, under the name /dev/stdin."""
    done = subprocess.run(
        [sys.executable, "-m", "usagectl", "import", "-", "--db", str(db_path)],
        input=TZ_JSONL, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _batches(db_path) == [("/dev/stdin", 3, 3)]
    _assert_all_three(db_path)


def test_a_full_temp_folder_is_not_an_unreadable_pipe(tmp_path: Path, db_path: Path, monkeypatch: Any) -> None:
    """QA: `cat ev.jsonl | TMPDIR=<full tmpfs> usagectl import -` said "/dev/stdin: cannot read:
    No space left on device", exit 4 (an input that could not be read); the input was fine, the
    temp folder the pipe is copied into was full. The copy is written to /dev/full here (every
    write fails with ENOSPC, as on a full disk): exit 3 (README: a full disk), a message naming
    the pipe, the temp folder and the reason, no database created, no copy left behind."""
    import tempfile

    spool = tmp_path / "spool"
    spool.mkdir()
    real_mkstemp = tempfile.mkstemp

    def full_mkstemp(suffix: str | None = None, prefix: str | None = None, *args: Any, **kwargs: Any) -> Any:
        if prefix != "usagectl-stdin-":
            return real_mkstemp(suffix, prefix, *args, **kwargs)
        copy = spool / f"{prefix}x{suffix}"
        copy.touch()
        return os.open("/dev/full", os.O_WRONLY), str(copy)

    monkeypatch.setattr(tempfile, "mkstemp", full_mkstemp)
    with fifo_with(tmp_path, TZ_JSONL) as fifo:
        err = run("import", str(fifo), "--db", str(db_path), expect=3).stderr
    assert err.splitlines()[0] == (
        f"usagectl: error: cannot copy {fifo} to the temp folder {spool} (a pipe is read from a copy there): "
        "No space left on device"
    )
    assert "hint: set TMPDIR to a folder with room" in err
    assert "cannot read" not in err
    assert not db_path.exists()  # nothing was imported: no empty database either
    assert list(spool.iterdir()) == []


def test_a_pipe_that_fails_to_read_is_still_an_input_error(tmp_path: Path) -> None:
    """The other side of the full temp folder: a read of the input that fails (EIO from a broken
    device here) stays an input error, exit 4, naming the input, and not the temp folder."""
    import errno
    import io

    import pytest

    from usagectl.errors import InputError
    from usagectl.services.imports import _copy_stream

    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(InputError) as caught, (tmp_path / "copy").open("wb") as dst:
        _copy_stream(io.BufferedReader(Broken()), dst, Path("/dev/stdin"))
    assert caught.value.message == "/dev/stdin: cannot read: Input/output error"
    assert caught.value.exit_code == 4
