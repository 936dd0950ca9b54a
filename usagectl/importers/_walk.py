"""Listing an agent's log tree: the files below a folder, symlinked folders followed once.

Agents' log trees (``~/.claude/projects``, ``~/.codex/sessions``) are sometimes partly symlinks:
a project or a month moved to another disk and linked back. ``Path.rglob`` does not enter a
symlinked folder, so its files would be skipped without a word; ccusage follows such links.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable

_NAME = operator.attrgetter("name")


def file_paths(root: str, wanted: Callable[[str], bool]) -> list[str]:
    """The files below ``root`` whose name ``wanted`` accepts, as text, in the order ``Path``
    sorts them (by path components: each folder's entries by name, a folder's files where its
    name sorts), from ``os.scandir``'s cached entry types (no ``stat`` per file, no ``Path`` per
    file: a no-op ``sync`` of a 12k-file tree is mostly this walk). Unreadable folders are
    skipped, as ``rglob`` does. Symlinked folders are entered, each real folder once: a link back
    to a folder above, or to one the walk reaches anyway, is walked one time."""
    out: list[str] = []
    seen: set[str] = set()  # the real paths of the folders walked

    def walk(folder: str, real: str) -> None:
        seen.add(real)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=_NAME)
        except PermissionError:
            return
        for entry in entries:
            try:  # a symlink loop or an unreadable target is not a file (as Path.is_file says)
                if wanted(entry.name) and entry.is_file():
                    out.append(entry.path)
                if entry.is_dir():
                    below = os.path.realpath(entry.path) if entry.is_symlink() else os.path.join(real, entry.name)
                    if below not in seen:
                        walk(entry.path, below)
            except OSError:
                continue

    walk(root, os.path.realpath(root))
    return out
