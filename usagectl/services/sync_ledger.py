"""The sync ledger: ``usagectl sync`` with nothing new, answered without opening the database.

Cron and editor hooks run ``sync`` every few minutes, and most runs find nothing new. A sync
whose sources were all settled when it finished (listing them again would read no file: every
file's size and mtime match its stored state, and no unfinished last line waits) writes a
ledger entry in the user cache dir: the database file and its WAL (size, mtime in ns) right
after the sync closed it, the usagectl version, the sources asked for and, per source, its
counts (files, unchanged, gone) and a digest of its listing (every file's path, format, size
and mtime in ns, in listing order).

The next ``sync`` of the same sources lists and stats the files (the cost of any no-op sync)
and compares: when the database is the same file (nothing wrote it since) and every digest is
the same, the stored state would make every file "unchanged", so the answer is the ledger's
counts, without importing DuckDB. Anything else (a file appended, added, removed or touched; an
import, ``source add``/``rm`` or any other write to the database; another usagectl version)
misses and runs the full sync, which writes the next entry. ``sync --detect`` hits only when
every agent directory it would register is registered already.

Most of that cost is walking the tree (thousands of folders), so the entry also keeps a
snapshot of the tree: every folder's mtime and every listed file's size and mtime. A folder's
mtime changes whenever an entry is added to it, removed or renamed, so when no folder and no
file changed, the listing is the one the digest was made from, and the answer needs one
``stat`` per folder and per file and no walk. As git does with its index ("racily clean"
entries), a folder whose mtime is within ``RACY_NS`` of when the listing started is not
trusted (an entry added in the same clock tick would not move it); then, and in a tree with
symlinks or unreadable folders, the full listing is compared as above, and a hit refreshes the
snapshot.

A hit writes no ``last_synced`` mark into the database (that would change the file the key
holds); the ledger keeps when each source was last checked, and ``source list`` shows the
later of the two (:func:`last_checked`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from usagectl import __version__
from usagectl.services.cache_dir import cache_file, file_stat, write_json
from usagectl.services.context import AppContext

Listing = list[tuple[str, str, os.stat_result | OSError]]  # (path, format, stat or why it failed)


# Formats whose files are SQLite databases: a writer in WAL mode appends to ``<file>-wal`` and
# leaves the main file's size and mtime alone until a checkpoint, often not before it closes
SQLITE_FORMATS = frozenset({"llm"})


def stat_listing(files: Sequence[tuple[str, str]]) -> Listing:
    """Each listed file with its ``os.stat`` (or the OSError it raised): no file is opened. A
    SQLite file's stat includes its write-ahead log (``with_wal``)."""
    out: Listing = []
    for key, fmt in files:
        try:
            out.append((key, fmt, with_wal(key) if fmt in SQLITE_FORMATS else os.stat(key)))
        except OSError as exc:
            out.append((key, fmt, exc))
    return out


def with_wal(path: str) -> os.stat_result:
    """The stat of a SQLite database as one file with its ``-wal``: the sizes added and the
    later mtime, so rows a writer has committed to the log (the database held open in WAL
    mode) count as a change, as they would once checkpointed into the main file."""
    st = os.stat(path)
    try:
        wal = os.stat(path + "-wal")
    except FileNotFoundError:
        return st
    fields = list(st)
    fields[6] = st.st_size + wal.st_size  # st_size
    fields[8] = max(st.st_mtime, wal.st_mtime)  # st_mtime (whole seconds)
    extra = {"st_mtime": max(st.st_mtime, wal.st_mtime), "st_mtime_ns": max(st.st_mtime_ns, wal.st_mtime_ns)}
    return os.stat_result(fields, extra)


def digest(listing: Listing) -> str:
    """A hash of every file's path, format, size and mtime (ns), in listing order."""
    text = "\n".join(
        f"{key}\0{fmt}\0{st.st_size}:{st.st_mtime_ns}"
        if isinstance(st, os.stat_result)
        else f"{key}\0{fmt}\0{type(st).__name__}"
        for key, fmt, st in listing
    )
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _key(ctx: AppContext, names: Sequence[str]) -> list[Any]:
    db = ctx.db_path
    return [__version__, str(db), file_stat(db), file_stat(db.with_name(db.name + ".wal")), sorted(names)]


def _now() -> datetime:
    return datetime.now(UTC)


RACY_NS = 2_000_000_000  # folders changed this close to the listing are not trusted


def record(ctx: AppContext, names: Sequence[str], sources: Sequence[Mapping[str, Any]]) -> None:
    """After a sync that left every source settled and closed the database: the entry the next
    sync compares with. ``sources``: name, format, path, files, unchanged, gone, digest, and
    ``listing`` (what the digest was made of) with ``listed_at`` (ns, when its listing began)."""
    now = _now().isoformat()
    keep = ("name", "format", "path", "files", "unchanged", "gone", "digest")
    entry = {"key": _key(ctx, names), "sources": [dict({k: s[k] for k in keep}, checked_at=now) for s in sources]}
    write_json(cache_file(ctx.db_path, "sync"), entry)
    _save_trees(ctx, {s["digest"]: _tree(s["path"], s["listing"], s["listed_at"]) for s in sources})


def _tree(root: str, listing: Listing, listed_at: int) -> dict[str, Any] | None:
    """The snapshot of a source: its folders (mtime) and listed files (size, mtime), as paths
    relative to ``root``; None when the tree has a symlink or an unreadable folder."""
    prefix = root.rstrip(os.sep) + os.sep
    files = []
    for key, fmt, st in listing:
        if not isinstance(st, os.stat_result):
            return None
        row: list[Any] = [key[len(prefix) :] if key.startswith(prefix) else key, st.st_size, st.st_mtime_ns]
        files.append(row + [True] if fmt in SQLITE_FORMATS else row)  # True: stat it with its -wal
    dirs: list[list[Any]] = []
    if os.path.isdir(root):
        todo = [root]
        while todo:
            folder = todo.pop()
            try:
                st = os.lstat(folder)
                with os.scandir(folder) as it:
                    entries = list(it)
            except OSError:
                return None
            dirs.append([folder[len(prefix) :] if folder.startswith(prefix) else ".", st.st_mtime_ns])
            for entry in entries:
                if entry.is_symlink():
                    return None
                if entry.is_dir(follow_symlinks=False):
                    todo.append(entry.path)
    return {"root": root, "at": listed_at, "dirs": dirs, "files": files}


def _save_trees(ctx: AppContext, trees: Mapping[str, dict[str, Any] | None]) -> None:
    write_json(cache_file(ctx.db_path, "synctree"), {d: t for d, t in trees.items() if t is not None})


def _read(ctx: AppContext, kind: str = "sync") -> dict[str, Any] | None:
    try:
        doc = json.loads(cache_file(ctx.db_path, kind).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _same_tree(tree: Any) -> bool | None:
    """True when no folder and no file of the snapshot changed; False when one did; None when
    a folder is too recent to be trusted (compare the full listing instead). A large tree is
    compared by two threads, each statting every other file and folder (``os.stat`` lets go of
    the interpreter lock: 12k files and 5k folders take ~0.06 instead of ~0.09 s here)."""
    root = str(tree["root"])
    files, dirs, limit = tree["files"], tree["dirs"], int(tree["at"]) - RACY_NS
    n = _STAT_THREADS if len(files) + len(dirs) >= _PARALLEL_FROM else 1
    if n == 1:
        return _compared(root, files, dirs, limit)
    answers: list[bool | None] = [False] * n
    errors: list[Exception] = []

    def part(i: int) -> None:
        try:
            answers[i] = _compared(root, files[i::n], dirs[i::n], limit)
        except Exception as e:  # a damaged snapshot entry: raised where the caller catches it
            errors.append(e)

    threads = [threading.Thread(target=part, args=(i,), daemon=True) for i in range(1, n)]
    for t in threads:
        t.start()
    part(0)
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    if False in answers:
        return False
    return None if None in answers else True


_STAT_THREADS = 2
_PARALLEL_FROM = 2000  # files and folders: below that, starting a thread costs more than it saves


def _compared(root: str, files: Sequence[Any], dirs: Sequence[Any], limit: int) -> bool | None:
    """``_same_tree`` for these files and folders of the snapshot: False when one changed (or
    is gone), None when none did but a folder is too recent to trust, else True."""
    prefix = root.rstrip(os.sep) + os.sep
    stat, isabs = os.stat, os.path.isabs
    try:
        for entry in files:
            rel, size, mtime = entry[:3]
            path = rel if isabs(rel) else prefix + rel
            st = with_wal(path) if len(entry) > 3 else stat(path)
            if st.st_mtime_ns != mtime or st.st_size != size:
                return False
        racy = False
        for rel, mtime in dirs:
            if stat(root if rel == "." else prefix + rel).st_mtime_ns != mtime:
                return False
            racy = racy or mtime >= limit
    except OSError:
        return False
    return None if racy else True


def settled(
    ctx: AppContext,
    names: Sequence[str],
    detect_dirs: Sequence[tuple[Path, str]] | None,
    list_files: Any,
) -> list[dict[str, Any]] | None:
    """The ledger's sources (with their counts) when nothing changed since it was written, else
    None. ``detect_dirs``: the agent directories ``--detect`` would register (None without
    ``--detect``); ``list_files(root, fmt)`` lists a source as the sync does."""
    doc = _read(ctx)
    if doc is None or doc.get("key") != json.loads(json.dumps(_key(ctx, names))):
        return None
    trees = _read(ctx, "synctree") or {}
    refreshed: dict[str, dict[str, Any] | None] = {}
    try:
        sources = [dict(s) for s in doc["sources"]]
        registered = {str(s["path"]) for s in sources}
        if detect_dirs is not None and any(d.is_dir() and str(d) not in registered for d, _ in detect_dirs):
            return None  # --detect would register a new directory
        for s in sources:
            tree = trees.get(s["digest"])
            same = _same_tree(tree) if tree is not None else None
            if same is False:
                return None
            if same is None:  # no snapshot to trust: the full listing
                started = time.time_ns()
                listing = stat_listing(list_files(Path(s["path"]), s["format"]))
                if any(not isinstance(st, os.stat_result) for _, _, st in listing) or digest(listing) != s["digest"]:
                    return None
                refreshed[s["digest"]] = _tree(s["path"], listing, started)
    except (OSError, KeyError, TypeError, ValueError):
        return None  # a source gone, an unreadable folder, a damaged entry: the full sync says why
    now = _now().isoformat()
    for s in sources:
        s["checked_at"] = now
    write_json(cache_file(ctx.db_path, "sync"), dict(doc, sources=sources))
    if refreshed:
        _save_trees(ctx, {**{d: t for d, t in trees.items() if d not in refreshed}, **refreshed})
    return sources


def last_checked(ctx: AppContext) -> dict[str, datetime]:
    """When the ledger last found each source settled (name -> time, UTC)."""
    doc = _read(ctx)
    out: dict[str, datetime] = {}
    try:
        for s in (doc or {}).get("sources", []):
            out[str(s["name"])] = datetime.fromisoformat(s["checked_at"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return {}
    return out
