"""DuckDB, imported at its cheapest.

``import duckdb`` costs ~0.1 s: its Python package sets up the relational API, the sources
that let DuckDB scan Python Arrow objects, and reads its version through importlib.metadata.
The engine itself is the extension module ``_duckdb`` that the package re-exports
(``duckdb.connect is _duckdb.connect``; the same connection class and exceptions), and it loads
in ~15 ms. A report takes ~0.3 s from start to exit, so the store opens databases and catches
errors through ``core``. Code that hands a Python Arrow object to DuckDB (``con.register``) or
uses the relational API (``con.sql(...).to_arrow_reader``) calls ``full()`` first: it imports
the package, which adds those to the connection class, so connections opened before gain them
too. Without it DuckDB says "Python Arrow objects cannot be scanned: the duckdb package did not
set up duckdb._sources".
"""

from __future__ import annotations

from pathlib import PurePath
from types import ModuleType

try:
    import _duckdb as core
except ImportError:  # a DuckDB laid out differently: the package (slower to import, same API)
    import duckdb as core  # type: ignore[no-redef]

__all__ = ["OFFLINE", "compression_of", "connect", "core", "full", "literal"]

# DuckDB fetches and loads a known extension on demand: opening a SQLite file would download
# sqlite_scanner from extensions.duckdb.org. usagectl is local-first and needs none (json,
# parquet and icu are built into the engine), so every connection is opened with both off.
OFFLINE = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def connect(database: str, *, read_only: bool = False) -> core.DuckDBPyConnection:
    """A DuckDB connection that never installs or loads an extension by itself."""
    return core.connect(database, read_only=read_only, config=dict(OFFLINE))


def full() -> ModuleType:
    """The ``duckdb`` package, imported (Arrow scans of Python objects and the relational API)."""
    import duckdb

    return duckdb


def literal(path: str) -> str:
    """``path`` as DuckDB's file readers take it literally. They read every path as a glob
    pattern: a file named ``s?.jsonl`` would also read ``s1.jsonl`` beside it (or, with ``*``,
    every file that matches), so ``*``, ``?`` and ``[`` are each put in brackets, which match
    that one character (``[*]``, ``[?]``, ``[[]``)."""
    return path.translate(_GLOB) if any(c in path for c in "*?[") else path


_GLOB = str.maketrans({"*": "[*]", "?": "[?]", "[": "[[]"})


def compression_of(path: str | PurePath) -> str:
    """The ``compression`` to give DuckDB's JSON readers for ``path``: by its suffix, never left
    to the reader, which takes the text after a ``?`` for a URL's query and so read ``q?.jsonl.gz``
    as plain text (QA)."""
    suffix = PurePath(path).suffix.lower()
    return {".gz": "gzip", ".zst": "zstd"}.get(suffix, "none")
