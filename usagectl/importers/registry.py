"""Finds the format importers: every module of this package with an ``IMPORTER`` object."""

from __future__ import annotations

import importlib
import pkgutil
import zlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from usagectl.importers.base import Importer

CANONICAL = ("jsonl", "csv", "parquet")
_NOT_IMPORTERS = {"base", "registry", "canonical"}


@cache
def importers() -> dict[str, Importer]:
    import usagectl.importers as pkg

    found: dict[str, Importer] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name in _NOT_IMPORTERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"usagectl.importers.{info.name}")
        imp = getattr(module, "IMPORTER", None)
        if imp is not None:
            found[imp.name] = imp
    return dict(sorted(found.items(), key=lambda kv: (kv[1].sniff_order, kv[0])))


def names() -> list[str]:
    return ["auto", *CANONICAL, *importers()]


def require_name(name: str) -> None:
    """A usage error unless ``name`` is a format usagectl can import (``auto`` included)."""
    if name not in names():
        from usagectl.errors import UsageError

        raise UsageError(f"unknown format {name!r} (choose from {', '.join(names())})")


def get(name: str) -> Importer | None:
    return importers().get(name)


def bills(name: str) -> bool:
    """Whether format ``name`` stores billed cost lines (the cost reports), not events."""
    return getattr(get(name), "target", "events") == "billed_costs"


def formats_without_extra_key(key: str) -> list[str]:
    """The formats whose importer declares the keys of its ``extra`` (``extra_keys``) and
    ``key`` is not one of them: no event of their batches has ``key`` in ``extra``."""
    return [name for name, imp in importers().items() if key not in getattr(imp, "extra_keys", {key})]


HEAD = 65536  # what every file is sniffed from first: enough for nearly every log
# A file no importer recognises from its first 64 KiB, and longer than that, is sniffed again
# from this much before it is taken for canonical: a Claude Code transcript may open with a
# pasted image of hundreds of KiB, a saved 1-minute usage page with a day's empty buckets
# before its first row. Only unrecognised long files pay for it (canonical ones, mostly).
LONG_HEAD = 8 * 1024 * 1024


def _head(path: Path, size: int = HEAD) -> bytes | None:
    from usagectl.importers.canonical import open_text_or_binary

    try:  # a .gz file is sniffed by its content, as every importer reads it
        with open_text_or_binary(path) as fh:
            head = fh.read(size)
    except (OSError, EOFError):  # unreadable, or a .gz shorter than its header says
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        # a byte that is not UTF-8 (or a character cut at the head's end) would make the
        # sniffers' json.loads refuse the line, and a Claude Code file whose first record holds
        # one be read as canonical JSONL: the format is told by structure, the importer rejects
        # the record for its bytes
        head = head.decode("utf-8", "replace").encode("utf-8")
    return head


def _heads(path: Path) -> Iterator[bytes]:
    """The file's first 64 KiB, then (when the caller did not stop at it and the file goes on)
    its first ``LONG_HEAD`` bytes: the format is told by content whatever the size of the
    first records, and a file recognised from its first 64 KiB is read no further."""
    head = _head(path)
    if head is None:
        return
    yield head
    if len(head) >= HEAD and _inconclusive(head):
        longer = _head(path, LONG_HEAD)
        if longer is not None and len(longer) > len(head):
            yield longer


def _inconclusive(head: bytes) -> bool:
    """Whether a head no importer recognised may still belong to one: its first line runs past
    it (a Claude Code line with a pasted image, a page saved on one line), or it reads like a
    saved page of time buckets whose first buckets are empty (``"results": []``). A head of
    whole lines that are none of those (canonical JSONL or CSV: most long files) is decided: a
    re-sniff of 8 MiB would cost such an import ~65 ms per file for nothing."""
    if b"\n" not in head:
        return True
    return b'"results"' in head and (b'"starting_at"' in head or b'"start_time"' in head)


def _recognises(imp: Importer, path: Path, head: bytes) -> bool:
    try:
        return bool(imp.sniff(path, head))
    except Exception:  # a sniffer must not raise; one that does simply does not match
        return False


def sniff(path: Path) -> str | None:
    """The name of the first importer that recognises the file, else None (canonical)."""
    for head in _heads(path):
        for name, imp in importers().items():
            if _recognises(imp, path, head):
                return name
    return None


def detect(path: Path) -> str:
    """The format ``--format auto`` reads a file as: the first importer that recognises it
    (``sniff``); else the importer whose container the file is (``magic``: a SQLite database
    that is not an llm logs.db goes to the llm reader, whose error says why it cannot be read,
    as with ``--format llm``); else canonical, by extension or content (a binary file is never
    read as CSV for want of a better guess)."""
    from usagectl.importers.canonical import detect_format

    return sniff(path) or container(path) or detect_format(path)


def container(path: Path) -> str | None:
    """The name of the importer whose file signature (``magic``) the file starts with, else None."""
    from usagectl.importers.canonical import open_text_or_binary

    magics = [(name, magic) for name, imp in importers().items() if (magic := getattr(imp, "magic", b""))]
    if not magics:
        return None
    try:
        with open_text_or_binary(path) as fh:
            head = fh.read(max(len(m) for _, m in magics))
    except (OSError, EOFError, zlib.error):  # unreadable, or a broken .gz: the reader says so
        return None
    return next((name for name, magic in magics if head.startswith(magic)), None)


def holds_no_usage(path: Path) -> bool:
    """Whether the file is saved Admin API report pages without a single result row
    (``_pages.empty_report``): a period without usage, which a usage and a cost report alike
    report so, and which no importer reads a record from."""
    from usagectl.importers._pages import empty_report

    return any(empty_report(head) is not None for head in _heads(path))


def is_error_page(path: Path) -> bool:
    """Whether the file starts with a provider's error envelope (``_pages.error_envelope``): a
    page saved from a failed call, which every provider importer rejects alike."""
    from usagectl.importers._pages import error_envelope

    head = _head(path)
    return head is not None and error_envelope(head) is not None


def sniff_as(path: Path, name: str) -> bool:
    """Whether importer ``name`` recognises the file (False for an unreadable one)."""
    imp = get(name)
    if imp is None:
        return False
    for head in _heads(path):
        if _recognises(imp, path, head):
            return True
        if any(_recognises(other, path, head) for other in importers().values()):
            return False  # told apart from its first 64 KiB: no need to read further
    return False
