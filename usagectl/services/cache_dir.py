"""Files usagectl keeps in the user cache dir (``$XDG_CACHE_HOME/usagectl``, else
``~/.cache/usagectl``), one per database and kind: answers that are exact while the files
they were computed from are unchanged (the status line, the sync ledger)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def cache_file(db_path: Path, kind: str) -> Path:
    """``<cache dir>/usagectl/<kind>-<hash of the database's real path>.json``. The hash is of
    the name's bytes as the file system has them: a name that is not UTF-8 (a Latin-1 folder,
    held by Python as surrogate escapes) failed ``str.encode()`` (QA: ``status --db`` of such a
    name was "unexpected error: UnicodeEncodeError", exit 1, not the refusal every other
    command gives); a UTF-8 name has the same bytes either way, so existing entries keep their key."""
    from usagectl.toml_cache import cache_root

    try:
        real = db_path.resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13): opening it says why
        real = Path(os.path.abspath(db_path))
    digest = hashlib.sha256(os.fsencode(real)).hexdigest()[:16]
    return cache_root() / f"{kind}-{digest}.json"


def file_stat(path: Path | None) -> tuple[int, int] | None:
    """(size, mtime in ns) of a file, None when it is not there."""
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def write_json(path: Path, doc: Any) -> None:
    """Replace ``path`` with ``doc`` atomically; a cache that cannot be written only costs speed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
