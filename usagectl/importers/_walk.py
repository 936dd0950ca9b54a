"""Listing an agent's log tree: the files below a folder, symlinked folders followed once.

Agents' log trees (``~/.claude/projects``, ``~/.codex/sessions``) are sometimes partly symlinks:
a project or a month moved to another disk and linked back. ``Path.rglob`` does not enter a
symlinked folder, so its files would be skipped without a word; ccusage follows such links.
"""

from __future__ import annotations

import operator
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

_NAME = operator.attrgetter("name")


def file_paths(root: str, wanted: Callable[[str], bool], unreadable: list[tuple[str, str]] | None = None) -> list[str]:
    """The files below ``root`` whose name ``wanted`` accepts, as text, in the order ``Path``
    sorts them (by path components: each folder's entries by name, a folder's files where its
    name sorts), from ``os.scandir``'s cached entry types (no ``stat`` per file, no ``Path`` per
    file: a no-op ``sync`` of a 12k-file tree is mostly this walk). A folder that cannot be
    listed (no permission) is skipped, as ``rglob`` does, and added to ``unreadable`` as (path,
    the OS's reason) when a list is given. Symlinked folders are entered, each real folder once: a
    link back to a folder above, or to one the walk reaches anyway, is walked one time."""
    out: list[str] = []
    seen: set[str] = set()  # the real paths of the folders walked

    def walk(folder: str, real: str) -> None:
        seen.add(real)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=_NAME)
        except PermissionError as exc:
            if unreadable is not None:
                unreadable.append((folder, exc.strerror or str(exc)))
            return
        for entry in entries:
            try:  # a symlink loop or an unreadable target is not a file (as Path.is_file says)
                if wanted(entry.name) and entry.is_file():
                    out.append(entry.path)
                if entry.is_dir():
                    below = os.path.realpath(entry.path) if entry.is_symlink() else os.path.join(real, entry.name)
                    if below not in seen:
                        walk(entry.path, below)
            except PermissionError as exc:  # a symlink whose target is behind a folder it cannot search
                if unreadable is not None:
                    unreadable.append((entry.path, f"{exc.strerror or exc} (a symlink whose target cannot be reached)"))
            except OSError:
                continue

    walk(root, os.path.realpath(root))
    return out


def unreadable_folders(root: str | Path) -> list[tuple[str, str]]:
    """The folders below ``root`` (itself included) that cannot be listed, with the OS's reason,
    walked as ``file_paths`` walks: what a listing of any format skipped. Their files are neither
    imported nor gone: the caller says so (an unreadable file is an error; so is a folder)."""
    out: list[tuple[str, str]] = []
    if os.path.isdir(root):
        file_paths(str(root), _nothing, out)
    return out


def _nothing(name: str) -> bool:
    return False


def resolve_stat(path: str, parents: dict[str, str]) -> tuple[str, os.stat_result]:
    """``Path(path).resolve()`` and its ``stat()``, for many files of few directories: the
    real path of each directory is looked up once (``resolve`` walks every component of every
    path: ~1 s for a 12k-file tree) and a file that is not a symlink costs one ``lstat``. Text
    in, text out: building or printing a ``Path`` per file costs as much as the ``lstat``."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        real = Path(path).resolve()
        return str(real), real.stat()
    folder, name = os.path.split(path)
    return os.path.join(real_dir(folder, parents), name), st


def real_dir(folder: str, cache: dict[str, str]) -> str:
    """``os.path.realpath(folder)``, from its parent's (cached) real path and one ``lstat`` of
    its own: ``realpath`` checks every component of every path, ~10 ``lstat`` per folder of a
    Claude Code tree (2.6k folders), while siblings share all but the last."""
    real = cache.get(folder)
    if real is None:
        up, name = os.path.split(folder)
        if not up or up == folder or name in ("", ".", "..") or os.path.islink(folder):
            real = os.path.realpath(folder)
        else:
            real = os.path.join(real_dir(up, cache), name)
        cache[folder] = real
    return real


def real_paths(paths: Iterable[str]) -> dict[str, str]:
    """The real path of each listed path that is not its own (a file under a symlinked folder,
    or a symlink itself): what an import records for the file. Paths that are gone are left out."""
    parents: dict[str, str] = {}
    out: dict[str, str] = {}
    for path in paths:
        try:
            real = resolve_stat(path, parents)[0]
        except OSError:
            continue
        if real != path:
            out[path] = real
    return out
