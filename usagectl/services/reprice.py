"""`usagectl pricing reprice`: compute every event's stored cost again with the current price
tables (``store.stored_cost``), in one transaction."""

from __future__ import annotations

import time

from usagectl.models import Column, Report
from usagectl.services.context import AppContext
from usagectl.store import stored_cost
from usagectl.store.connection import connect


def reprice(ctx: AppContext) -> Report:
    """Re-price all events even when the stored fingerprint already matches (a repair)."""
    book = ctx.pricebook()
    started = time.perf_counter()
    with connect(ctx.db_path) as con:
        result = stored_cost.prepare_write(con, book, force=True)
    seconds = round(time.perf_counter() - started, 2)
    changed = result.previous != result.fingerprint
    note = (
        "The price tables (or the cost engine) changed since the costs were stored: they follow the new ones now."
        if changed and result.previous is not None
        else "Stored costs are current; reports read them instead of pricing each event."
    )
    return Report(
        name="pricing-reprice",
        title="Stored costs computed again",
        filters={},
        columns=(Column("events", "Events priced", "int"),),
        rows=({"events": result.events},),
        totals={"events": result.events},
        overview=(
            ("events", "Events priced", result.events),
            ("previous_fingerprint", "Previous pricing fingerprint", result.previous or "(none)"),
            ("fingerprint", "Pricing fingerprint", result.fingerprint),
            ("seconds", "Seconds", seconds),
        ),
        notes=(note,),
    )
