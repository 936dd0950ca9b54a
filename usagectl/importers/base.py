"""What every importer of a real log format provides (no database code here).

An importer module defines a module-level ``IMPORTER`` object following ``Importer``; the
registry finds it by itself (no list to edit). It reads a file of its format and yields
``Record``s (``usagectl.models.Record``): one per source record, with the canonical event
columns it could fill (PRODUCT.md), or with ``problem`` set when the record cannot become an
event (it then lands in ``rejects`` with file, line and reason; a bad record never stops the
file). The store validates the fields as it validates canonical files (tokens non-negative
integers, a timestamp, ...), so an importer only maps and explains.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from usagectl.models import ConflictRule, Record

__all__ = ["ConflictRule", "Importer", "Record"]


class Importer(Protocol):
    name: str  # the --format name
    description: str
    conflict: ConflictRule  # what a second record with an already known event_id does
    sniff_order: int  # lower sniffs first in --format auto (specific formats before generic ones)
    # Optional: ``extra_keys`` (frozenset of str), every key the importer may write into
    # ``extra``, when it builds ``extra`` itself and never copies a source's own fields there.
    # Reports use it to skip reading ``extra`` of such batches for keys it cannot hold (a
    # voice message's ``"voice"``); absent means any key may occur.
    # Optional: ``magic`` (bytes), the signature every file of the format's container starts
    # with (SQLite's header for llm). ``--format auto`` gives a file that starts with it and that
    # no importer recognises to this importer (``registry.detect``): its reader says why the file
    # cannot be imported (a SQLite database of another app, a truncated one), where the canonical
    # fallback would read the binary file as CSV.

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when the file (given its first 64 KiB; when no importer recognises that and the
        file is longer, its first 8 MiB: ``registry.sniff``) is of this format. The head may end
        in the middle of a line."""
        ...

    def files(self, root: Path) -> list[Path]:
        """The files of this format below a directory, sorted."""
        ...

    def read(self, path: Path) -> Iterator[Record]:
        """Every record of the file, in file order."""
        ...
