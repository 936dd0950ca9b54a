"""Registered sources: a directory (or file) of logs of one format that ``usagectl sync`` reads
incrementally. Registering stores the absolute path and the format; removing forgets the sync
state but never the events already imported (usagectl's history outlives the agents' logs).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from usagectl.errors import InputError, UsageError
from usagectl.importers import canonical, registry
from usagectl.importers._walk import file_paths, real_paths
from usagectl.models import Column, Report
from usagectl.services.context import AppContext
from usagectl.store import sources as st

if TYPE_CHECKING:
    import duckdb

SNIFF_FILES = 5  # files of a directory sniffed per format when guessing a source's format
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class AddedSource:
    name: str
    path: str
    format: str
    files: int  # files of the format found there now
    # with no file of the format there now: the format the files that are there look like
    looks_like: str | None = None


@dataclass(frozen=True)
class RemovedSource:
    name: str
    files: int  # files whose sync state was forgotten
    events: int  # events from its files (its syncs' and earlier imports by hand), which stay
    cost_lines: int = 0  # billed cost lines from its files (a cost report's source), which stay too
    bills: bool = False  # its format is a cost report's: it holds billed cost lines, not events


def _gone(path: str) -> bool:
    """Whether ``path`` is no longer there: a file of a folder that cannot be listed (no
    permission) is hidden, not gone (``os.path.exists`` says False for both)."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def list_files(root: Path, fmt: str) -> list[tuple[str, str]]:
    """The files of a source (paths as text) with the format each is read as: the importer's
    own ``files(root)``, or for the canonical formats the canonical listing (format from the
    extension; ``auto`` keeps every canonical file). Reads no file; raises FileNotFoundError
    when root is gone, PermissionError when a folder above it cannot be searched."""
    root.stat()  # FileNotFoundError, or PermissionError (Path.exists raises it too)
    if fmt in registry.CANONICAL or fmt == "auto":
        if root.is_file():
            return [(str(root), fmt if fmt != "auto" else canonical.detect_format(root))]
        return [(p, f) for p, f in _canonical_files(root) if fmt in ("auto", f)]
    imp = registry.get(fmt)
    if imp is None:
        raise UsageError(f"format {fmt!r} is not available in this usagectl (known: {', '.join(registry.names())})")
    if root.is_file():
        return [(str(root), fmt)]
    fast = getattr(imp, "file_paths", None)  # the same listing as plain strings (big trees)
    if fast is not None:
        return [(p, fmt) for p in fast(root)]
    return [(str(p), fmt) for p in imp.files(root)]


def _canonical_kind(name: str) -> str | None:
    low = name.lower()
    if low.endswith(".gz"):
        low = low[:-3]
    return canonical._EXT.get(os.path.splitext(low)[1])


def _canonical_files(root: Path) -> list[tuple[str, str]]:
    """The canonical listing (``canonical.iter_input_files``: files not starting with a dot,
    with a canonical extension, symlinked folders followed as ``rglob`` does there) by one walk
    over plain strings (``_walk.file_paths``): no stat per file and no Path objects, several
    times faster than ``rglob`` (a no-op sync is mostly this walk)."""
    found: list[tuple[str, str]] = []
    for path in file_paths(str(root), _is_canonical):
        kind = _canonical_kind(os.path.basename(path))
        if kind is not None:
            found.append((path, kind))
    found.sort()
    return found


def _is_canonical(name: str) -> bool:
    return not name.startswith(".") and _canonical_kind(name) is not None


def detect_format(path: Path) -> str:
    """The format of a file or directory, from content (registered log formats first, in their
    sniff order) and then the canonical extensions. Raises UsageError when nothing fits."""
    if path.is_file():
        found = registry.sniff(path)
        if found:
            return found
        fmt = canonical.detect_format(path)
        suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
        if fmt == "csv" and (not suffixes or suffixes[-1] != ".csv"):
            raise UsageError(
                f"{path}: not a recognisable usage log",
                hint=f"name its format with --format (one of {', '.join(registry.names()[1:])})",
            )
        return fmt
    seen: dict[str, Path] = {}  # format -> a file of it
    for name, imp in registry.importers().items():
        try:
            candidates = imp.files(path)[:SNIFF_FILES]
        except Exception:
            continue
        # a page of a period without usage is claimed by a provider's usage and cost formats
        # alike: it tells neither (a folder of cost pages may start with a quiet day)
        hit = next((f for f in candidates if registry.sniff_as(f, name) and not registry.holds_no_usage(f)), None)
        if hit is not None:
            seen[name] = hit
    # a source has ONE format: its sync would read another kind's files with the wrong one (a
    # folder of usage and cost pages, read as usage: every cost line a reject; canonical events
    # beside an llm logs.db: never read at all)
    mixed_hint = (
        "register each kind from its own directory "
        "(`usagectl import DIR` reads a mixed directory, detecting each file's format)"
    )
    if len(seen) == 1:
        name = next(iter(seen))
        stray = _canonical_beside(path, name)
        if stray is not None:
            raise UsageError(
                f"{path}: holds {name} logs ({seen[name].relative_to(path)}) and canonical events "
                f"({stray.relative_to(path)})",
                hint=mixed_hint,
            )
        return name
    if seen:
        kinds_found = "; ".join(f"{name} ({hit.relative_to(path)})" for name, hit in seen.items())
        raise UsageError(f"{path}: holds logs of {len(seen)} formats: {kinds_found}", hint=mixed_hint)
    kinds = {f for _, f in _canonical_files(path)}
    if len(kinds) == 1:
        return kinds.pop()
    if kinds:
        return "auto"  # canonical files of several kinds: each read by its extension
    raise UsageError(
        f"{path}: no recognisable usage logs found",
        hint=f"name the format with --format (one of {', '.join(registry.names()[1:])})",
    )


def _canonical_beside(root: Path, fmt: str) -> Path | None:
    """A file of canonical events in a folder of ``fmt`` logs: a canonical file that format does
    not list, or (a small listing: provider pages, LiteLLM exports) lists but does not
    recognise; one that names a ``ts`` field (``imports.may_hold_events``: llm keeps its
    ``keys.json`` beside ``logs.db``). None when there is none."""
    from usagectl.services.imports import may_hold_events

    imp = registry.get(fmt)
    if imp is None:
        return None
    try:
        listed = set(imp.files(root))
    except Exception:
        return None
    small = len(listed) <= _SNIFF_ALL
    for name, kind in _canonical_files(root):
        f = Path(name)
        if f in listed and (not small or registry.sniff_as(f, fmt)):
            continue
        if may_hold_events(f, kind) and registry.sniff(f) is None:
            return f
    return None


_SNIFF_ALL = 200  # a listing this small has every file sniffed (a Claude Code tree: thousands)


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


def derive_name(fmt: str, path: Path, taken: set[str]) -> str:
    """``claude-code``, else ``claude-code-<dir>``, else numbered: short names a user can type."""
    base = fmt if fmt != "auto" else "canonical"
    candidates = [base]
    if _slug(path.name):
        candidates.append(f"{base}-{_slug(path.name)}")
    if _slug(path.parent.name):
        candidates.append(f"{base}-{_slug(path.parent.name)}-{_slug(path.name)}".rstrip("-"))
    for c in candidates:
        if c not in taken:
            return c
    n = 2
    while f"{candidates[-1]}-{n}" in taken:
        n += 1
    return f"{candidates[-1]}-{n}"


def _absolute(path: Path) -> Path:
    """The path a source is registered under: absolute, symlinks kept. A source added as
    ``~/.claude/projects`` that is a link follows the link when it is pointed elsewhere (the
    logs moved to another disk); resolved once, it kept reading the old target."""
    return Path(os.path.abspath(path.expanduser()))


def _same_place(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same file or folder (through symlinks)."""
    return os.path.realpath(a) == os.path.realpath(b)


def _register(
    con: duckdb.DuckDBPyConnection, path: Path, fmt: str, name: str | None, existing: list[st.SourceRow]
) -> AddedSource:
    taken = {s.name for s in existing}
    if name is not None:
        if not name.strip():
            raise UsageError("--name must not be empty")
        if name in taken:
            raise UsageError(f"a source named {name!r} is already registered", hint="choose another --name")
    for s in existing:
        if _same_place(s.path, path) and s.format == fmt:
            raise UsageError(f"{path} is already registered as source {s.name!r} ({fmt})")
    name = name or derive_name(fmt, path, taken)
    if name.endswith(st.REMOVED):  # the label of a removed source's batches: its events would count here
        raise UsageError(
            f"a source name must not end with {st.REMOVED!r} (a removed source's label): {name!r}",
            hint="choose another --name",
        )
    files = len(list_files(path, fmt))
    st.add_source(con, name, str(path), fmt, datetime.now(UTC))
    return AddedSource(name, str(path), fmt, files)


def add_source(ctx: AppContext, path: Path, fmt: str | None = None, name: str | None = None) -> AddedSource:
    # a pipe or a device (``/dev/stdin``, ``<(…)``): a sync could not read it again. Asked of
    # the path as given: resolving ``/dev/stdin`` gives a ``pipe:[n]`` name that does not exist.
    try:
        path.stat()
    except PermissionError as exc:  # a folder above it cannot be searched
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except OSError:
        pass  # missing: said below
    if path.exists() and not (path.is_file() or path.is_dir()):
        raise UsageError(f"{path}: not a file or folder; a source must be one that can be read again on every sync")
    root = _absolute(path)
    if not root.exists():
        raise InputError(f"{path}: no such file or directory")
    try:  # the database keeps the path as text (a name of bytes that are not UTF-8 has none)
        str(root).encode("utf-8")
    except UnicodeEncodeError:
        shown = str(root).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise InputError(f"{shown}: cannot be a source: its name is not UTF-8 (rename the file or folder)") from None
    explicit = fmt not in (None, "auto")
    if not explicit:
        fmt = detect_format(root)
    else:
        registry.require_name(str(fmt))
    from usagectl.store.connection import connect

    with connect(ctx.db_path) as con:
        added = _register(con, root, str(fmt), name, st.list_sources(con))
    if explicit and root.is_dir() and not _holds(root, added.format):
        try:
            other = detect_format(root)
        except UsageError:  # nothing there that any format reads (yet)
            other = None
        if other is not None and other != added.format:
            added = replace(added, looks_like=other)
    return added


def _holds(root: Path, fmt: str) -> bool:
    """Whether a folder holds a file that format ``fmt`` recognises (its first files sniffed;
    a canonical format recognises what no log format claims)."""
    imp = registry.get(fmt)
    if imp is None:
        return False  # canonical: told by detect_format, which claims log formats first
    try:
        candidates = imp.files(root)[:SNIFF_FILES]
    except OSError:
        return False
    return any(registry.sniff_as(f, fmt) for f in candidates)


def default_agent_dirs(env: Mapping[str, str] | None = None, home: Path | None = None) -> list[tuple[Path, str]]:
    """The agent log directories ``sync --detect`` looks for, with their formats (existing or not)."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    dirs: list[tuple[Path, str]] = [(home / ".claude" / "projects", "claude-code")]
    xdg = env.get("XDG_CONFIG_HOME")
    dirs.append((home / ".config" / "claude" / "projects", "claude-code"))
    if xdg:
        dirs.append((Path(xdg) / "claude" / "projects", "claude-code"))
    for entry in env.get("CLAUDE_CONFIG_DIR", "").split(","):
        if entry.strip():
            dirs.append((Path(entry.strip()).expanduser() / "projects", "claude-code"))
    codex_home = env.get("CODEX_HOME", "").strip()
    codex = Path(codex_home).expanduser() if codex_home else home / ".codex"
    dirs.append((codex / "sessions", "codex"))
    dirs.append((codex / "archived_sessions", "codex"))  # archived rollouts (FORMATS.md §4)
    out: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for d, fmt in dirs:
        path = _absolute(d)
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            out.append((path, fmt))
    return out


def detect_sources(
    con: duckdb.DuckDBPyConnection, env: Mapping[str, str] | None = None, home: Path | None = None
) -> tuple[list[AddedSource], list[str]]:
    """Register the default agent directories that exist and are not registered yet.
    Returns (registered, messages about what was skipped)."""
    added: list[AddedSource] = []
    messages: list[str] = []
    for path, fmt in default_agent_dirs(env, home):
        try:
            if not path.is_dir():
                continue
        except PermissionError as exc:  # ~/.claude not searchable (a sudo run's leftovers)
            messages.append(f"{path}: cannot read: {exc.strerror}; not registered")
            continue
        existing = st.list_sources(con)
        if any(_same_place(s.path, path) for s in existing):
            continue
        if registry.get(fmt) is None:
            messages.append(f"{path}: {fmt} logs found, but this usagectl has no {fmt} importer; not registered")
            continue
        added.append(_register(con, path, fmt, None, existing))
    return added, messages


def remove_source(ctx: AppContext, name: str) -> RemovedSource:
    from usagectl.store.connection import connect

    with connect(ctx.db_path) as con:
        found = st.list_sources(con, [name])
        if not found:
            raise UsageError(f"no source named {name!r}", hint="usagectl source list shows the registered sources")
        st.use_real_paths(con, real_paths(st.source_file_paths(con)))
        events = st.events_of_source(con, name)
        # counted as `source list` counts them, before the batches are relabelled
        lines = st.overview(con).get(name, {}).get("cost_lines", 0)
        files = st.remove_source(con, name)
    return RemovedSource(name, files, events, lines, registry.bills(found[0].format))


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).replace(microsecond=0)


def sources_report(ctx: AppContext) -> Report:
    """Registered sources: format, path, files tracked (and how many are gone), last sync, events."""
    from usagectl.services.sync_ledger import last_checked
    from usagectl.store.connection import connect

    with connect(ctx.db_path, read_only=True) as con:
        sources = st.list_sources(con)
        st.use_real_paths(con, real_paths(st.source_file_paths(con)))
        info = st.overview(con)
        all_events = st.events_of_all(con)
        all_lines = st.events_of_all(con, "billed_costs")
    checked = last_checked(ctx)  # syncs that found nothing new and did not write the database
    rows = []
    for s in sources:
        i = info.get(s.name, {"paths": [], "last_sync": None, "events": 0})
        gone = sum(1 for p in i["paths"] if _gone(p))
        last = _iso(i["last_sync"])
        seen = checked.get(s.name)
        if seen is not None and seen >= s.added_at and (last is None or seen > last):
            last = seen.replace(microsecond=0)
        rows.append(
            {
                "name": s.name,
                "format": s.format,
                "path": s.path,
                "files": len(i["paths"]),
                "gone": gone,
                "last_sync": last,
                "events": i["events"],
                "cost_lines": i.get("cost_lines", 0),
                "path_exists": not _gone(s.path),
            }
        )
    notes: tuple[str, ...] = ()
    if any(r["gone"] for r in rows):
        notes = ("Files gone from a source keep their events: usagectl's history outlives the agents' cleanup.",)
    return Report(
        name="sources",
        title="Registered sources",
        filters={},
        columns=(
            Column("name", "Name"),
            Column("format", "Format"),
            Column("path", "Path"),
            Column("files", "Files", "int"),
            Column("gone", "Gone", "int"),
            Column("last_sync", "Last sync (UTC)", "date"),
            Column("events", "Events", "int"),
            # a cost report's source holds billed cost lines (for reconcile), not events
            Column(
                "cost_lines",
                "Cost lines",
                "int",
                in_table=any(r["cost_lines"] or registry.bills(r["format"]) for r in rows),
            ),
            Column("path_exists", "Path exists", in_table=False),
        ),
        rows=tuple(rows),
        # each file and event once: sources may overlap (a folder and a folder inside it)
        totals={
            "sources": len(rows),
            "files": len({p for s in sources for p in info.get(s.name, {"paths": []})["paths"]}),
            "events": all_events,
            "cost_lines": all_lines,
        },
        notes=notes,
    )
