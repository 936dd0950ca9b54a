"""The zone name of a zoneinfo file that is a copy, not a link.

A machine's ``/etc/localtime`` (or a file ``$TZ`` names) is usually a symlink into a zoneinfo
folder, whose path names the zone. Some container images copy the file instead; its name then
says nothing, and usagectl used UTC. The zone is the one whose file in the zone database has
the same bytes (as tzlocal finds it). Several names can share one file (``US/Eastern`` is
``America/New_York``): the rules are the same whichever is chosen, and a name the database
lists in ``zone1970.tab`` (its main zones) is preferred, then an Area/City name, then the first
in sorted order, so the answer does not depend on the order of a folder listing.
"""

from __future__ import annotations

import functools
import os
import sysconfig
from pathlib import Path

# names in a zoneinfo folder that are no zone of their own, and its leap-second and POSIX copies
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory", "leapseconds", "tzdata.zi", "leap-seconds.list"})
_COPIES = ("posix", "right")
_REGIONS = ("Africa/", "America/", "Antarctica/", "Arctic/", "Asia/", "Atlantic/", "Australia/", "Europe/",
            "Indian/", "Pacific/")  # fmt: skip


def zone_of_copy(path: str) -> str | None:
    """The zone whose zoneinfo file has the same bytes as ``path`` (None: not a zoneinfo file,
    unreadable, or no zone database found holds it)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return _zone_of_copy(os.path.realpath(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _zone_of_copy(path: str, size: int, _mtime_ns: int) -> str | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read(size + 1)
    except OSError:
        return None
    if not data.startswith(b"TZif") or len(data) != size:
        return None
    for root in _roots():
        names = [name for name, candidate in _files(root, size) if _same(candidate, data)]
        if names:
            return min(names, key=lambda n: (n not in _main_zones(root), not n.startswith(_REGIONS), n))
    return None


def _roots() -> list[Path]:
    """The zone databases a copied file may come from: the system's (where Python looks by default:
    ``PYTHONTZPATH``, else its build's ``TZPATH``; usagectl may have switched ``zoneinfo`` to the
    newer tzdata package, but a copied /etc/localtime has the system's bytes), then tzdata's."""
    paths = os.environ.get("PYTHONTZPATH") or sysconfig.get_config_var("TZPATH") or ""
    roots = [Path(p) for p in paths.split(os.pathsep) if os.path.isabs(p)]
    try:
        import tzdata  # type: ignore[import-untyped]

        roots.append(Path(tzdata.__file__).parent / "zoneinfo")
    except ImportError:
        pass
    return [r for r in roots if r.is_dir()]


def _files(root: Path, size: int) -> list[tuple[str, str]]:
    """(zone name, file path) of the files under ``root`` of ``size`` bytes, copies left out."""
    out: list[tuple[str, str]] = []
    for folder, dirs, files in os.walk(root):
        if folder == str(root):
            dirs[:] = [d for d in dirs if d not in _COPIES]
        for name in files:
            if name in _NOT_ZONES or name.endswith((".tab", ".py", ".pyc")) or name.startswith(("_", ".")):
                continue
            full = os.path.join(folder, name)
            try:
                if os.path.getsize(full) != size:
                    continue
            except OSError:
                continue
            out.append((os.path.relpath(full, root).replace(os.sep, "/"), full))
    return out


def _same(path: str, data: bytes) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(data) + 1) == data
    except OSError:
        return False


@functools.lru_cache(maxsize=4)
def _main_zones(root: Path) -> frozenset[str]:
    """The zones ``zone1970.tab`` lists (third column), empty when the database has none."""
    try:
        text = (root / "zone1970.tab").read_text(encoding="utf-8")
    except OSError:
        return frozenset()
    return frozenset(
        line.split("\t")[2] for line in text.splitlines() if line and not line.startswith("#") and line.count("\t") >= 2
    )
