"""The top-level keys of a large JSON Lines file, sampled across it.

``store.ingest.stage_jsonl`` reads the keys of every record of a file up to ``FULL_SCAN_BYTES``
(DuckDB parses each object once more: ~0.2 s per 84 MB). Above that, a full second parse would
cost a tenth of the import, so the keys come from the first 5,000 records (DuckDB) and from
windows spread evenly over the file and its end (here): a column that appears only after the
start (a field added to the logs later) is found when it is in any window's lines."""

from __future__ import annotations

import json
from pathlib import Path

FULL_SCAN_BYTES = 32 * 1024 * 1024
WINDOWS = 16  # the windows are spread over the file: the first starts at 0, the last ends at its end
WINDOW_BYTES = 64 * 1024


def sampled_keys(path: Path) -> set[str]:
    """Keys of the JSON objects on the whole lines of ``WINDOWS + 1`` windows spread over a plain
    (uncompressed) file; lines that do not parse are skipped (the import rejects them)."""
    keys: set[str] = set()
    size = path.stat().st_size
    with path.open("rb") as f:
        for k in range(WINDOWS + 1):
            at = max(0, (size - WINDOW_BYTES) * k // WINDOWS)
            f.seek(at)
            lines = f.read(WINDOW_BYTES).split(b"\n")
            # the first and last may be cut by the window; the last window's last line ends the
            # file (a last line without a newline is whole)
            for line in lines[1:] if at + WINDOW_BYTES >= size else lines[1:-1]:
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    keys.update(obj)
    return keys
