"""006: ``events`` keeps ``event_id`` and ``message_id`` uncompressed (``extra`` stays zstd).

The ids are a different text on every row (message and request ids), which no method
shrinks much: zstd stores the 1M event ids of the Claude Code benchmark in 41 MB instead of
77, the message ids in 22 instead of 33, and costs 0.63 + 0.26 s of CPU to write them, against
0.14 + 0.08 s uncompressed (benchmarks/RESULTS-claude-code.md, round 7). A first import is
the one time all of them are written at once, and its target is seconds; the file grows by
~47 MB per million events (130 -> ~177 MB), still a thirteenth of the logs it came from.
Reading them back (dedup against stored ids) gets no slower: there is nothing to decompress.

Like migration 5, the table is recreated only while it is empty (a table with rows keeps its
storage: see ``_rebuild.recreate_empty_events``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from usagectl.store.migrations._rebuild import recreate_empty_events

if TYPE_CHECKING:
    import duckdb

COMPRESSION = {"event_id": "uncompressed", "message_id": "uncompressed", "extra": "zstd"}


def apply(con: duckdb.DuckDBPyConnection) -> None:
    recreate_empty_events(con, COMPRESSION)
