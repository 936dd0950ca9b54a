"""005: ``events`` keeps its unique-per-row text (``event_id``, ``message_id``, ``extra``) with
zstd instead of DuckDB's default dictionary + FSST.

Those three columns hold a different value on nearly every row (message and request ids,
line uuids), where a dictionary cannot help and FSST's symbol tables cost more than they
save. Measured on the 1M-record Claude Code tree (benchmarks/RESULTS-claude-code.md, round
6): writing the events took 3.5 instead of 4.3 s of CPU, and the file is 130 instead of
167 MB; reading those columns back (dedup against stored ids, ``extra`` lookups) costs the
same. The other columns keep DuckDB's own choice (dictionaries suit model, project, ...).

DuckDB cannot change a column's compression in place, so the table is recreated, in the
migration's transaction, from its own catalog (same columns, types, defaults and NOT NULLs),
but only while it is EMPTY (a new database, or one nothing was imported into yet). A table
that holds events keeps its storage: rebuilding it would leave the old table's blocks free
inside the file, which DuckDB does not give back (1M events: 171 MB grew to 302 MB), and
would cost seconds at the first command after an upgrade. A database file whose storage
format predates zstd for text (written by DuckDB before 1.2) keeps its table too: there the
clause is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from usagectl.store.migrations._rebuild import recreate_empty_events

if TYPE_CHECKING:
    import duckdb

ZSTD_COLUMNS = ("event_id", "message_id", "extra")


def apply(con: duckdb.DuckDBPyConnection) -> None:
    recreate_empty_events(con, dict.fromkeys(ZSTD_COLUMNS, "zstd"))
