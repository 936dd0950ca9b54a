"""usagectl: where your LLM tokens and money go. Importing this package imports nothing heavy."""

import os
import zoneinfo

__version__ = "0.1.0"


def _version_of(root: str) -> str:
    """The zone database version of a zoneinfo folder ('' when it does not say): ``tzdata.zi``'s
    first line (Linux), else ``+VERSION`` (macOS)."""
    for name, prefix in (("tzdata.zi", "# version "), ("+VERSION", "")):
        try:
            with open(os.path.join(root, name), encoding="utf-8") as f:
                line = f.readline().strip()
        except (OSError, UnicodeDecodeError):
            continue
        if line.startswith(prefix) and line[len(prefix) :].strip():
            return line[len(prefix) :].strip()
    return ""


def _newest_zone_rules() -> None:
    """Read time zones from the newer of the system's zone database and the tzdata package.

    ``zoneinfo`` takes the system's files first, and a system's copy can lag by years (QA: Debian's
    2025b beside the package's 2026f: Vancouver's and Casablanca's 2026 rules differ by an hour), so
    "which day" would depend on the machine's updates. A system that does not say its version
    keeps its own files."""
    try:
        import tzdata  # type: ignore[import-untyped]
    except ImportError:
        return
    package = str(getattr(tzdata, "IANA_VERSION", ""))
    roots = [r for r in zoneinfo.TZPATH if os.path.isdir(r)]
    system = _version_of(roots[0]) if roots else ""
    if not roots or (system and package and (len(package), package) > (len(system), system)):
        zoneinfo.reset_tzpath(to=[])


_newest_zone_rules()
