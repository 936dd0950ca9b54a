"""Stored cost: each event's cost, computed on write by the cost engine (``priced_events.sql``)
and kept in ``events.cost_usd`` with the identity of the applied rate (``priced_model``,
``price_from``, ``price_band``), so reports read it instead of joining the price periods.

Never stale: meta ``pricing_fingerprint`` names the price tables and the engine version the
stored costs come from, and holds only while EVERY event was priced under it. A write
connection prepared with ``prepare_write`` re-prices all events first when it differs (one
transaction) and prices the rows each import inserts (same transaction as the import); an
import on a connection that was not prepared clears the fingerprint instead. Reports use the
stored costs only when the fingerprint matches their price book, else the engine itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from usagectl import __version__
from usagectl.store.tables import load_temp_table

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    import duckdb

    from usagectl.pricing import PriceBook

FINGERPRINT_KEY = "pricing_fingerprint"
ENGINE_FILES = ("priced_events.sql", "priced_events_stored.sql", "priced_events_rated.sql")
PER_MILLION = Decimal(1_000_000)
RATE = "DECIMAL(18,12)"
_SESSION = "_pricing_session"  # temp table: the fingerprint this write connection prices with


@cache
def sql_text(name: str) -> str:
    return resources.files("usagectl.store.queries").joinpath(name).read_text(encoding="utf-8")


@cache
def engine_version() -> str:
    """Changes with the engine's SQL and with usagectl's version (model resolution, rules)."""
    digest = hashlib.sha256(__version__.encode())
    for name in ENGINE_FILES:
        digest.update(b"\0" + sql_text(name).encode())
    return digest.hexdigest()[:16]


def pricing_fingerprint(book: PriceBook) -> str:
    return f"{book.fingerprint}:{engine_version()}"


def stored_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [FINGERPRINT_KEY]).fetchone()
    return str(row[0]) if row else None


def _per_token(rate_per_million: Decimal) -> Decimal:
    value = rate_per_million / PER_MILLION
    if value != value.quantize(Decimal("1e-12")):
        raise ValueError(f"rate {rate_per_million}/M has more than 6 decimals")
    return value


def load_price_rates(con: duckdb.DuckDBPyConnection, book: PriceBook) -> None:
    """Session table price_rates: one row per ``PriceBook.rate_rows()``, ``rate_id`` its index."""
    load_temp_table(
        con,
        "price_rates",
        [
            ("rate_id", "BIGINT"),
            ("model", "VARCHAR"),
            ("service_tier", "VARCHAR"),
            ("valid_from", "TIMESTAMPTZ"),
            ("valid_to", "TIMESTAMPTZ"),
            ("min_input_exclusive", "BIGINT"),
            ("max_input_inclusive", "BIGINT"),
            ("long_context", "BOOLEAN"),
            ("input_rate", RATE),
            ("cache_read_rate", RATE),
            ("cache_write_5m_rate", RATE),
            ("cache_write_1h_rate", RATE),
            ("output_rate", RATE),
            ("web_search_rate", RATE),
        ],
        [
            (
                i,
                r.model,
                r.service_tier,
                r.valid_from,
                r.valid_to,
                r.min_input_exclusive,
                r.max_input_inclusive,
                r.min_input_exclusive > 0,
                _per_token(r.rates.input),
                _per_token(r.rates.cache_read),
                _per_token(r.rates.cache_write_5m),
                _per_token(r.rates.cache_write_1h),
                _per_token(r.rates.output),
                r.rates.web_search_per_call,
            )
            for i, r in enumerate(book.rate_rows())
        ],
    )


def load_model_map(con: duckdb.DuckDBPyConnection, book: PriceBook, raws: Iterable[str]) -> None:
    mapping = []
    for raw in raws:
        model = book.resolve(raw)
        mapping.append((raw, model, book.provider_of(model) if model else None))
    load_temp_table(
        con, "model_map", [("model_raw", "VARCHAR"), ("model", "VARCHAR"), ("provider", "VARCHAR")], mapping
    )


def create_views(con: duckdb.DuckDBPyConnection, *, stored: bool) -> None:
    """Session views over ALL events (callers filter on ts; the filter reaches the scan):
    ``priced_events_live`` (the engine), and ``priced_events`` / ``priced_events_rated`` (with
    ``rate_id``): the stored costs when ``stored``, else the engine (which always has rate_id)."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW priced_events_live AS {sql_text('priced_events.sql')}")
    if stored:
        con.execute(f"CREATE OR REPLACE TEMP VIEW priced_events AS {sql_text('priced_events_stored.sql')}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW priced_events_rated AS {sql_text('priced_events_rated.sql')}")
    else:
        con.execute("CREATE OR REPLACE TEMP VIEW priced_events AS SELECT * FROM priced_events_live")
        con.execute("CREATE OR REPLACE TEMP VIEW priced_events_rated AS SELECT * FROM priced_events_live")


def use_stored(con: duckdb.DuckDBPyConnection, book: PriceBook) -> bool:
    """For a report: True when the stored costs come from this price book and engine."""
    return stored_fingerprint(con) == pricing_fingerprint(book)


# --------------------------------------------------------------------------- writing

_UPDATE = """
    UPDATE events SET
        cost_usd = p.cost, priced_model = r.model, price_from = r.valid_from, price_band = r.min_input_exclusive
    FROM priced_events_live p LEFT JOIN price_rates r ON r.rate_id = p.rate_id
    WHERE events.event_id = p.event_id{where}
"""


@dataclass(frozen=True)
class RepriceResult:
    events: int  # events priced again (0 when the stored costs were current)
    fingerprint: str
    previous: str | None


def prepare_write(con: duckdb.DuckDBPyConnection, book: PriceBook, *, force: bool = False) -> RepriceResult:
    """Ready a write connection to price what it imports; re-price every event first (one
    transaction) when the stored fingerprint is not this book's (or ``force``)."""
    fp = pricing_fingerprint(book)
    load_price_rates(con, book)
    load_model_map(con, book, [])  # each import adds its own names (``price_batches``)
    load_temp_table(con, "member_map", [("member", "VARCHAR"), ("team", "VARCHAR"), ("department", "VARCHAR"),
                                        ("cost_center", "VARCHAR")], [])  # fmt: skip
    create_views(con, stored=False)
    previous = stored_fingerprint(con)
    count = 0
    if force or previous != fp:
        raws = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT coalesce(model_raw, model) FROM events WHERE coalesce(model_raw, model) IS NOT NULL"
            ).fetchall()
        ]
        load_model_map(con, book, raws)
        con.execute("BEGIN TRANSACTION")
        try:
            res = con.execute(_UPDATE.format(where=""), {}).fetchone()
            count = int(res[0]) if res else 0
            con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [FINGERPRINT_KEY, fp])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    load_temp_table(con, _SESSION, [("fingerprint", "VARCHAR")], [(fp,)])
    return RepriceResult(count, fp, previous)


def price_batches(con: duckdb.DuckDBPyConnection, batch_ids: Sequence[int], new_models: str | None = None) -> None:
    """Inside an import's transaction: price the events of ``batch_ids``. ``new_models`` names
    a table (raw, model, provider) of the import's model names resolved by the same book. On a
    connection ``prepare_write`` did not ready, clear the fingerprint: reports then compute
    costs on the fly until the next write re-prices."""
    session = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [_SESSION]
    ).fetchone()
    current = (
        con.execute(f"SELECT any_value(fingerprint) FROM {_SESSION}").fetchone() if session and session[0] else None
    )
    if not current or current[0] is None or stored_fingerprint(con) != current[0]:
        con.execute("DELETE FROM meta WHERE key = ?", [FINGERPRINT_KEY])
        return
    if new_models:
        con.execute(
            f"INSERT INTO model_map SELECT raw, model, provider FROM {new_models} n "
            "WHERE NOT EXISTS (SELECT 1 FROM model_map m WHERE m.model_raw = n.raw)"
        )
    if not batch_ids:
        return
    params = {f"b{i}": b for i, b in enumerate(batch_ids)}
    keys = ", ".join(f"${k}" for k in params)
    con.execute(_UPDATE.format(where=f" AND events.batch_id IN ({keys}) AND p.batch_id IN ({keys})"), params)
