"""Provider billing data: billed cost lines, the fetch-shape rule of provider buckets, and the
queries of ``usagectl reconcile``.

* ``import_cost_lines``: one file of cost-report lines (``openai-costs``, ``anthropic-cost``) into
  ``billed_costs`` in ONE transaction, like ``ingest.import_staged``: an ``import_batches`` row,
  rejects with file, line and reason, dedup by ``line_id``: a re-fetch of a line replaces it,
  never adds to it, and as a day's cost only grows, the copy with the larger amount is the later
  fetch whichever file is imported first (rule ``max-amount``).
* ``stage_usage_buckets``: the stager of the usage-report importers (``openai-usage``,
  ``anthropic-usage``): it settles fetch shapes against the stored events, then stages the records
  for ``ingest.import_staged`` as usual.
* ``settle_shapes``: rows fetched with different ``group_by`` sets (or bucket widths) describe the
  same usage twice; summing them double counts. Of two overlapping shapes the coarser one gives
  way (see ``_loser``), but for usage only when the finer side holds at least as much usage over
  the coarser bucket (a partial hourly fetch, or a per-model fetch filtered to some models, must
  not wipe a day's total), and, when both are grouped by model, at least as much of every model
  (a fetch filtered to one model must not wipe the others): otherwise the finer rows give way. Applied inside a file and against
  what is stored (same source).
"""

from __future__ import annotations

import decimal
import gc
import json
import pickle
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from usagectl.models import MONEY_LIMIT, MONEY_LIMIT_TEXT, Record, counted
from usagectl.store import ingest
from usagectl.store.tables import load_temp_table, rows_as_dicts, temp_tables
from usagectl.store.transactions import rollback

if TYPE_CHECKING:
    import duckdb

Resolver = Callable[[list[str]], dict[str, tuple[str | None, str | None]]]

# billed_costs columns an importer fills (``model`` is resolved here, ``source``/``batch_id`` set here)
LINE_TEXT = (
    "line_id", "provider", "model_raw", "line_item", "token_type", "service_tier", "context_window",
    "workspace", "project", "api_key", "description", "quantity_unit",
)  # fmt: skip
LINE_FIELDS = frozenset((*LINE_TEXT, "start_ts", "end_ts", "amount_usd", "quantity", "extra"))
_REQUIRED_TEXT = ("line_id", "provider")
_AMOUNT_LIMIT = Decimal(MONEY_LIMIT)  # models.MONEY_LIMIT (the column, DECIMAL(38, 12), holds more)
_QUANTITY_LIMIT = Decimal(10) ** 32 - Decimal("1e-6")  # the largest DECIMAL(38, 6) holds
_PICO = Decimal("1e-12")
_MICRO = Decimal("1e-6")
MODEL_DIMS = frozenset(("model", "line_item", "description"))  # a grouping that tells the model


# --------------------------------------------------------------------------- fetch shapes


class Shape(NamedTuple):
    """How a provider row was fetched: its group-by set and its bucket."""

    sig: tuple[str, ...]
    start: datetime
    end: datetime


def _span(s: Shape) -> str:
    return f"{s.start:%Y-%m-%dT%H:%MZ}–{s.end:%Y-%m-%dT%H:%MZ}"


def _sig(s: Shape) -> str:
    return "[" + ", ".join(s.sig) + "]" if s.sig else "nothing (a total)"


_KINDS = {
    "coarser": "these rows are the coarser grouping",
    "no-model": "these rows have no model while the others do",
    "different": "the groupings differ and the earlier fetch gives way",
    "wider": "these buckets are wider",
    "misaligned": "the bucket boundaries differ and the earlier fetch gives way",
    "partial": "these rows hold less usage than it",
    "refetched": "it is the same bucket and grouping fetched again, and the earlier fetch gives way",
}

MOVED = ingest.MOVED  # how the reason of a stored row moved to rejects starts
ALREADY_STORED = "already stored"  # in the reason of a file's row that gives way to a stored one
# rejects (``FROM rejects``) that are records which could not be imported: not the stored rows
# another fetch shape replaced (under MOVED), nor a file's rows that gave way on arrival to stored
# rows of another shape (kept in ``set_aside``); both are kept for reference and may come back,
# their usage is in the rows that won
NOT_IMPORTED_SQL = (
    f"NOT starts_with(coalesce(rejects.reason, ''), '{MOVED}') AND NOT EXISTS (SELECT 1 FROM set_aside x "
    "WHERE x.batch_id = rejects.batch_id AND x.record = rejects.record)"
)

# The usage counters of a shape's rows, compared to tell a complete finer fetch from a partial one
COUNTERS = (
    "input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "output_tokens",
    "web_search_requests", "requests",
)  # fmt: skip
_TOKENS = 5  # the first five counters are tokens
Totals = tuple[int, ...]


def _loser(a: Shape, b: Shape) -> tuple[Shape, str]:
    """Which of two overlapping, different shapes gives way (``a`` was fetched earlier)."""
    sa, sb = set(a.sig), set(b.sig)
    if sa < sb:
        return a, "coarser"
    if sb < sa:
        return b, "coarser"
    if sa != sb:
        a_model, b_model = bool(sa & MODEL_DIMS), bool(sb & MODEL_DIMS)
        if a_model != b_model:
            return (b if a_model else a), "no-model"
        return a, "different"
    wa, wb = a.end - a.start, b.end - b.start
    if wa != wb:
        return (a if wa > wb else b), "wider"
    return a, "misaligned"


def _overlap(a: Shape, b: Shape) -> bool:
    """Whether the buckets of two shapes overlap in time."""
    return a.start < b.end and b.start < a.end


def _as_fetched(s: Shape, fetched: Mapping[Shape, tuple[str, ...]]) -> Shape:
    """``s`` with the group-by of the fetch it came from (``Record.fetch_sig``), when known: a
    bucket whose rows all leave a grouped dimension null is weighed as its fetch."""
    sig = fetched.get(s)
    return s if sig is None else Shape(sig, s.start, s.end)


def _overlapping_pairs(shapes: Sequence[Shape]) -> Iterable[tuple[int, int]]:
    """(i, j), i < j, for every two shapes whose buckets overlap (a sweep over start times)."""
    order = sorted(range(len(shapes)), key=lambda k: (shapes[k].start, shapes[k].end))
    active: list[int] = []
    for k in order:
        s = shapes[k]
        active = [j for j in active if shapes[j].end > s.start]
        for j in active:
            yield (min(j, k), max(j, k))
        active.append(k)


class _Judge:
    """Decides overlapping pairs of one pool of shapes (the file, or the file and the store).

    With ``totals`` (usage per shape) the shape ``_loser`` prefers keeps the pair only when its
    side holds at least as much of every counter over the wider of the two buckets: both
    sides are summed over their family there (rows of the same group-by set and width whose
    buckets lie inside it), so two complete hours replace their day while one hour of it does
    not. Between the file and the store (``settled``: each side counts no usage twice), a
    side's family is all its rows inside the span, of any grouping and width: hours of a
    partial finer fetch and the complete hours that gave way to them together hold their day.
    Without ``totals`` ``_loser`` alone decides. ``described`` words the comparison (what the
    winner holds of the loser's) for the reason."""

    def __init__(
        self,
        pool: Sequence[Shape],
        totals: Mapping[Shape, Totals] | None,
        described: Callable[[Totals, Totals], str] | None = None,
        by_model: Mapping[Shape, Mapping[str, Totals]] | None = None,
        fetched: Mapping[Shape, tuple[str, ...]] | None = None,
        incoming: Collection[Shape] = (),
        settled: bool = False,
    ) -> None:
        self.pool = pool
        # each side holds no two shapes that count the same usage (the stored rows, and the
        # file's rows that survived their own settling): a side's usage over a span is then
        # all its shapes inside it, whatever their grouping or width
        self.settled = settled
        self.totals = totals
        self.by_model = by_model
        self.described = described or _usage_words
        self.width = max((len(t) for t in totals.values()), default=0) if totals else 0
        self.fetched = fetched or {}
        self.incoming = frozenset(incoming)  # the file's shapes (the others are stored)

    def _as_fetched(self, s: Shape) -> Shape:
        return _as_fetched(s, self.fetched)

    def _family(self, like: Shape, span: Shape) -> list[Shape]:
        """The shapes summed with ``like`` over ``span``: of the same (fetched) grouping and width
        (any, when ``settled``), inside the span, and on the same side (the file's, or the stored
        ones): a fetch is weighed on its own rows, never with the other side's copies of the
        same buckets. On the stored side, once settled, not the stored shapes kept apart from
        ``like`` (no model in common): they stay beside it whichever side wins, so they are no
        part of the usage it stands for (a day fetched half an hour in, holding one model, and
        the complete hours of the other model stored beside it)."""
        width = like.end - like.start
        sig = self._as_fetched(like).sig
        side = like in self.incoming
        return [
            s
            for s in self.pool
            if (self.settled or (self._as_fetched(s).sig == sig and s.end - s.start == width))
            and span.start <= s.start
            and s.end <= span.end
            and (s in self.incoming) == side
            and (side or not self.settled or s == like or not self.apart(s, like))
        ]

    def _sum(self, like: Shape, span: Shape) -> Totals:
        assert self.totals is not None
        out = [0] * self.width
        for s in self._family(like, span):
            for k, n in enumerate(self.totals.get(s, ())):
                out[k] += n
        return tuple(out)

    def _sum_models(self, like: Shape, span: Shape) -> dict[str, list[int]]:
        assert self.by_model is not None
        out: dict[str, list[int]] = {}
        for s in self._family(like, span):
            for model, counts in self.by_model.get(s, {}).items():
                acc = out.setdefault(model, [0] * len(counts))
                for k, n in enumerate(counts):
                    acc[k] += n
        return out

    def _short_model(self, winner: Shape, loser: Shape, span: Shape) -> str | None:
        """A model whose usage the winner holds less of than the loser, no counter of it more (a
        fetch filtered to some models holds none of the others), when both are grouped by model;
        else None. A model of which each side holds more of some counter (one fetch filtered to a
        workspace or key, the other fetched before usage grew) is no reason to swap: the finer
        side, which holds more usage in all, stays."""
        if self.by_model is None or not (set(winner.sig) & MODEL_DIMS and set(loser.sig) & MODEL_DIMS):
            return None
        won, lost = self._sum_models(winner, span), self._sum_models(loser, span)
        for model, counts in sorted(lost.items()):
            if self.settled and not model:  # rows of a fetch not grouped by model: no model to compare
                continue
            have = won.get(model, [0] * len(counts))
            pairs = list(zip(have, counts, strict=True))
            if any(h < n for h, n in pairs) and all(h <= n for h, n in pairs):
                return model
        return None

    def _holds(self, x: Shape, y: Shape) -> bool:
        """Whether shape ``x`` holds at least as much of every counter as ``y`` (and of every
        model, when both are grouped by model)."""
        assert self.totals is not None
        zero = (0,) * self.width
        if not all(h >= n for h, n in zip(self.totals.get(x, zero), self.totals.get(y, zero), strict=True)):
            return False
        if self.by_model is None or not (set(x.sig) & MODEL_DIMS and set(y.sig) & MODEL_DIMS):
            return True
        mx, my = self.by_model.get(x, {}), self.by_model.get(y, {})
        return all(all(h >= n for h, n in zip(mx.get(m, (0,) * len(c)), c, strict=True)) for m, c in my.items())

    def apart(self, a: Shape, b: Shape) -> bool:
        """Whether two overlapping shapes, both grouped by model, hold no model in common (fetches
        filtered to different models): their rows never count the same usage, so both stay."""
        if self.by_model is None or not (set(a.sig) & MODEL_DIMS and set(b.sig) & MODEL_DIMS):
            return False
        ma, mb = set(self.by_model.get(a, {})), set(self.by_model.get(b, {}))
        return bool(ma) and bool(mb) and "" not in ma | mb and not ma & mb

    def decide(self, a: Shape, b: Shape) -> tuple[Shape, Shape, str, str]:
        """(loser, winner, kind, detail) of two overlapping shapes, ``a`` fetched earlier."""
        fa, fb = self._as_fetched(a), self._as_fetched(b)
        if self.totals is not None and fa == fb:
            # one bucket of one grouping under two identities (in one copy a grouped dimension
            # is null in every row): the copy holding at least as much of everything stays, the
            # later one when they are equal; when neither does, the earlier gives way
            zero = (0,) * self.width
            ta, tb = self.totals.get(a, zero), self.totals.get(b, zero)
            if self._holds(b, a) or not self._holds(a, b):
                return a, b, "refetched", ""
            return b, a, "partial", f" ({self.described(ta, tb)})"
        gives_way, kind = _loser(fa, fb)
        loser, winner = (a, b) if gives_way is fa else (b, a)
        if self.totals is None:
            return loser, winner, kind, ""
        if loser.start <= winner.start and winner.end <= loser.end:
            span = loser
        elif winner.start <= loser.start and loser.end <= winner.end:
            span = winner
        else:
            return loser, winner, kind, ""  # neither bucket holds the other: no common span to compare
        won, lost = self._sum(winner, span), self._sum(loser, span)
        over = "" if span == loser else f" over {_span(span)}"  # the coarser bucket is the span as a rule
        if all(w >= x for w, x in zip(won, lost, strict=True)):
            short = self._short_model(winner, loser, span)
            if short is None:
                return loser, winner, kind, ""
            return winner, loser, "partial", f" (not all of its usage of {short}{over})"
        both_by_model = self.by_model is not None and bool(set(winner.sig) & MODEL_DIMS and set(loser.sig) & MODEL_DIMS)
        if (
            not both_by_model
            and not all(x >= w for w, x in zip(won, lost, strict=True))
            and sum(won[:_TOKENS]) > sum(lost[:_TOKENS])
        ):
            # neither holds all of the other's usage (one fetch filtered, to a workspace, a key or
            # a tier, the other fetched before usage grew): whichever gives way loses some, so the
            # side holding more tokens stays. Not between fetches both grouped by model: there a
            # stored side is weighed without the shapes of the other models (``_family``), and
            # a model one fetch lacks decides (``_short_model``)
            held = f"{sum(won[:_TOKENS]):,} tokens against {sum(lost[:_TOKENS]):,}"
            return loser, winner, kind, f" (neither holds all of the other's usage: it holds {held}{over})"
        return winner, loser, "partial", f" ({self.described(won, lost)}{over})"


def _usage_words(won: Totals, lost: Totals) -> str:
    requests = f", {won[-1]:,} of its {lost[-1]:,} requests" if lost[-1] else ""
    return f"{sum(won[:_TOKENS]):,} of its {sum(lost[:_TOKENS]):,} tokens{requests}"


def _amount_words(won: Totals, lost: Totals) -> str:
    """Cost lines: their amounts, held in picodollars (``_line_totals``)."""
    return f"${Decimal(won[0]) * _PICO:,.2f} of its ${Decimal(lost[0]) * _PICO:,.2f}"


def settle_shapes(
    stored: Sequence[Shape],
    incoming: Sequence[Shape],
    *,
    stored_where: Mapping[Shape, str] | None = None,
    totals: Mapping[Shape, Totals] | None = None,
    described: Callable[[Totals, Totals], str] | None = None,
    by_model: Mapping[Shape, Mapping[str, Totals]] | None = None,
    fetched: Mapping[Shape, tuple[str, ...]] | None = None,
    incoming_where: Mapping[Shape, str] | None = None,
) -> tuple[dict[Shape, str], dict[Shape, str]]:
    """(incoming shapes to reject, stored shapes to remove), each with its reason.

    ``incoming`` is in file order (a later fetch in the file is later); everything stored is
    earlier than the file. Shapes equal to one of the file's are not a conflict: the same key
    is replaced row by row. ``totals``: the usage of each shape's rows (``COUNTERS``; the file's
    for its shapes, the store's for the others); with it a finer shape replaces a coarser one
    only when it is at least as complete (see ``_Judge``), so usage is never lost. ``by_model``:
    the same per model of each shape; with it, when both shapes are grouped by model, the finer
    one must hold at least as much of every model (a fetch filtered to some models does not).
    ``fetched``: the group-by of the fetch a shape came from (incoming: ``Record.fetch_sig``;
    stored: ``extra.fetch_group_by``), when wider than its own (its rows leave a grouped
    dimension null: the default workspace, no user); the shape is weighed as that fetch, in the
    comparison and in the families. Two shapes grouped by model that share no model are left
    alone (``_Judge.apart``). ``incoming_where``: where an incoming shape that is not the file's
    own came from (a row that gave way earlier, weighed again), said in the reason of a stored
    shape it replaces instead of "in a newer import"."""
    where = stored_where or {}
    came = incoming_where or {}
    bad_in = _settle_file(incoming, totals, described, by_model, fetched)
    bad_stored: dict[Shape, str] = {}
    survivors = [s for s in incoming if s not in bad_in]
    mine = set(survivors)
    others = [s for s in stored if s not in mine]
    both = [*others, *survivors]
    n_stored = len(others)
    judge = _Judge(both, totals, described, by_model, fetched, survivors, settled=True)
    lost: dict[Shape, list[tuple[Shape, str]]] = {}  # each shape's pairs lost: (winner, reason)
    for i, j in _overlapping_pairs(both):
        if (i < n_stored) == (j < n_stored):
            continue  # stored vs stored (history) or file vs file (settled above)
        if judge.apart(both[i], both[j]):
            continue
        loser, winner, kind, detail = judge.decide(both[i], both[j])
        if loser in mine:
            reason = _reason(loser, winner, kind, f"{ALREADY_STORED} (from {where.get(winner, '?')})", detail)
        else:
            reason = MOVED + _reason(loser, winner, kind, came.get(winner, "in a newer import"), detail)
        lost.setdefault(loser, []).append((winner, reason))
    # as in the file: a row gives way only to one that stays (a file's bucket that loses to a
    # stored day and beats a stored hour of another model's fetch leaves that hour in place)
    for shape, reason in _beaten(both, lost).items():
        (bad_in if shape in mine else bad_stored)[shape] = reason
    return bad_in, bad_stored


def _settle_file(
    incoming: Sequence[Shape], totals: Mapping[Shape, Totals] | None,
    described: Callable[[Totals, Totals], str] | None, by_model: Mapping[Shape, Mapping[str, Totals]] | None,
    fetched: Mapping[Shape, tuple[str, ...]] | None,
) -> dict[Shape, str]:  # fmt: skip
    """The file's shapes that give way to others of the file (``settle_shapes``' first step)."""
    judge = _Judge(incoming, totals, described, by_model, fetched, incoming)
    lost: dict[Shape, list[tuple[Shape, str]]] = {}  # each shape's pairs lost: (winner, reason)
    for i, j in _overlapping_pairs(incoming):
        if judge.apart(incoming[i], incoming[j]):
            continue
        loser, winner, kind, detail = judge.decide(incoming[i], incoming[j])
        lost.setdefault(loser, []).append((winner, _reason(loser, winner, kind, "in this file", detail)))
    return _beaten(incoming, lost)


def _beaten(shapes: Sequence[Shape], lost: Mapping[Shape, Sequence[tuple[Shape, str]]]) -> dict[Shape, str]:
    """The shapes that give way, with the reason, from the pairs each lost (``lost``): a shape
    gives way to a winner that itself stays. A shape that lost only to shapes that give way
    stays: three fetches of one day in a file (a partial finer one A, a stale day B, a complete
    hourly C) settle as B gives way to C, then C's hours to A's equal, finer ones, while A,
    which lost only to B, stays. Worked from the shapes that lose to none; where the pairs form
    a cycle with no such shape, every shape that lost a pair gives way, as a pair decides."""
    out: dict[Shape, str] = {}
    while True:
        pending = [s for s in shapes if s not in out and any(w not in out for w, _ in lost.get(s, ()))]
        if not pending:
            return out  # the shapes left lost only to shapes that give way (or nothing): they stay
        staying = {s for s in shapes if s not in out and all(w in out for w, _ in lost.get(s, ()))}
        beaten = {s: next((r for w, r in lost[s] if w in staying), "") for s in pending}
        beaten = {s: r for s, r in beaten.items() if r}
        if not beaten:  # a cycle: each pair's loser gives way
            out.update({s: next(r for w, r in lost[s] if w not in out) for s in pending})
            return out
        out.update(beaten)


def _reason(loser: Shape, winner: Shape, kind: str, where: str, detail: str = "") -> str:
    verb = "covers only part of" if kind == "partial" else "overlaps"
    return (
        f"bucket {_span(loser)} grouped by {_sig(loser)} {verb} bucket {_span(winner)} grouped by "
        f"{_sig(winner)} {where}: {_KINDS[kind]}{detail}; summing both would double count"
    )


def _shape_of(ts: Any, end: Any, extra: Any) -> Shape | None:
    if not isinstance(extra, dict) or not isinstance(ts, datetime):
        return None
    group_by = extra.get("group_by")
    if isinstance(end, str):
        try:
            end = datetime.fromisoformat(end)
        except ValueError:
            return None
    if not isinstance(end, datetime) or not isinstance(group_by, list):
        return None
    sig = tuple(str(g) for g in group_by)
    if len(_SIGS) < 1024:  # the few group-bys, each held once by all the shapes of it
        sig = _SIGS.setdefault(sig, sig)
    return Shape(sig, ts.astimezone(UTC), end.astimezone(UTC))


_SIGS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _ordered(shapes: Iterable[Shape | None]) -> list[Shape]:
    return list(dict.fromkeys(s for s in shapes if s is not None))


def _parse_stored(
    rows: Iterable[tuple[Any, ...]],
) -> tuple[list[Shape], dict[Shape, str], dict[Shape, tuple[Any, ...]], dict[Shape, tuple[Any, ...]]]:
    """Stored shapes from rows (start, end, group_by, path, *more): the shapes, where each came
    from, its key columns, and the ``more`` columns of its row (aggregates of its rows)."""
    shapes: list[Shape] = []
    where: dict[Shape, str] = {}
    keys: dict[Shape, tuple[Any, ...]] = {}
    more: dict[Shape, tuple[Any, ...]] = {}
    for start, end, group_by, path, *rest in rows:
        try:
            sig = tuple(str(g) for g in json.loads(group_by)) if group_by else None
            end_ts = datetime.fromisoformat(end) if isinstance(end, str) else end
        except (ValueError, TypeError):
            continue
        if sig is None or not isinstance(end_ts, datetime) or not isinstance(start, datetime):
            continue
        s = Shape(sig, start.astimezone(UTC), end_ts.astimezone(UTC))
        shapes.append(s)
        where[s] = path or "?"
        keys[s] = (start, end, group_by)
        more[s] = tuple(rest)
    return shapes, where, keys, more


_EVICT = "_evict"  # the stored rows of losing shapes: (start, end, group_by, reason)


def _mark_evictions(
    con: duckdb.DuckDBPyConnection, losers: Mapping[Shape, str], keys: Mapping[Shape, tuple[Any, ...]]
) -> None:
    """Record which stored rows lose to finer shapes, in TEMP TABLE ``_evict`` (made even when
    empty, so a table left by an import that failed is never applied to another one)."""
    load_temp_table(
        con,
        _EVICT,
        [("s", "TIMESTAMPTZ"), ("e", "VARCHAR"), ("g", "VARCHAR"), ("why", "VARCHAR")],
        [(keys[s][0], keys[s][1], keys[s][2], why) for s, why in losers.items()],
    )


def _apply_evictions(con: duckdb.DuckDBPyConnection, table: str, end_match: str, source: str, batch_id: int) -> int:
    """Inside the import's transaction: move the rows ``_mark_evictions`` recorded to ``rejects``
    (under ``batch_id``, the import that brought the finer rows) and delete them."""
    start_col = "ts" if table == "events" else "start_ts"
    match = (
        f"t.source = ? AND t.{start_col} = x.s AND {end_match} AND json_extract(t.extra, '$.group_by')::VARCHAR = x.g"
    )
    con.execute(
        "INSERT INTO rejects (batch_id, file, line, record, reason, raw) "
        f"SELECT ?, coalesce(b.path, '?'), NULL, NULL, x.why, left(to_json(t)::VARCHAR, ?) "
        f"FROM {table} t JOIN {_EVICT} x ON {match} LEFT JOIN import_batches b ON b.batch_id = t.batch_id",
        [batch_id, ingest.RAW_MAX, source],
    )
    row = con.execute(f"DELETE FROM {table} t USING {_EVICT} x WHERE {match}", [source]).fetchone()
    con.execute(f"DROP TABLE {_EVICT}")
    return int(row[0]) if row else 0


# --------------------------------------------------------------------------- usage buckets (events)

_EVENT_END = "json_extract_string(t.extra, '$.bucket_end')"
_EVENT_END_MATCH = _EVENT_END + " = x.e"


def stage_usage_buckets(
    con: duckdb.DuckDBPyConnection, path: Path, records: Iterable[Record], source: str
) -> list[str]:
    """Stage usage-bucket records (``ingest.stage_records``) after settling fetch shapes: of two
    overlapping shapes, in the file or against the stored events of ``source``, the loser's
    rows are rejected (incoming) or moved to rejects (stored); see ``settle_shapes``, which gets
    the usage of every shape so that a partial finer fetch never replaces a coarser one.
    Staging runs before the import's transaction, so the stored rows are only marked here; the
    importer's ``before_insert`` hook, ``evict_coarser``, moves them inside it (a failed import
    moves nothing). Records carry ``extra.bucket_end`` and ``extra.group_by``.

    The rows that gave way earlier around the span (stored rows moved to rejects, and rows of
    earlier files rejected on arrival, kept in ``set_aside``: ``_Ghost``) are weighed with the
    file's rows (``_weighed``; a bucket of the file that such a row holds more of is stood for by
    it), and come back when they win, or when no staying row overlaps them any more
    (``_holes``): with rolling hourly windows, hours that each gave way to a day fetched mid-day
    come back when they, or later hours, hold more than that day. A moved row comes back as it
    was stored, a rejected one as a record of this file (its reject goes).

    No record of the file is held as an object while its shapes are settled (``_settled_stage``):
    a year of 1-minute OpenAI usage pages (315k records) held 600 MB of them."""
    # the readers, settling and staging make many small objects and no cycles: the cyclic
    # collector's passes over those held (as in ``ingest.stage_records``) took 9 s of the 60 of
    # a year of 1-minute pages
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _settled_stage(con, records, source)
    finally:
        if collecting:
            gc.enable()


def _settled_stage(con: duckdb.DuckDBPyConnection, records: Iterable[Record], source: str) -> list[str]:
    """``stage_usage_buckets``: the records wait packed (``_Packed``) while the file's shapes are
    settled on lean copies of them (``_lean``), and are staged as they are unpacked."""
    packed = _Packed()
    recs = _lean_records(records, packed)
    mine = len(recs)
    done = _settle_buckets(con, recs, source, fields_of=packed.fields)
    problems = {i: r.problem for i, r in enumerate(recs[:mine]) if r.problem}  # the file's rejects
    returning = recs[mine:]  # rows set aside earlier that come back (``_settle_buckets``)
    del recs
    _mark_evictions(con, done.bad_stored, done.keys)
    _mark_learned(con, done.learned, done.keys)
    _load_returns(con, done.back, done.gone, done.aside)
    # in chunks smaller than the default: a chunk's staged texts and Arrow arrays, and DuckDB's
    # copy, come on top of what is held
    unknown = ingest.stage_records(con, chain(packed.unpacked(problems), returning), chunk_rows=_CHUNK_ROWS)
    if mine >= ingest.SMALL_CHUNK:  # what Arrow's allocator kept of the chunks for reuse goes back
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    return unknown


_CHUNK_ROWS = 10_000
_SETTLED = ("ts", "event_id", "model_raw", *COUNTERS)  # what settling reads of a record's fields
_SETTLED_EXTRA = ("bucket_end", "group_by")  # and of its extra (``_shape_of``)


def _lean_records(records: Iterable[Record], packed: _Packed) -> list[Record]:
    """What settling reads of each of ``records`` (``_lean``), each record packed as it comes."""
    recs: list[Record] = []
    for r in records:
        recs.append(_lean(r, recs[-1] if recs else None))
        packed.add(r)
    packed.seal()
    return recs


def _lean(r: Record, before: Record | None) -> Record:
    """What settling reads of ``r`` (``_settle_buckets``: its number, problem, fetch's group-by,
    and the fields ``_SETTLED``, ``_SETTLED_EXTRA``): a fifth of the record. ``before``: the lean
    record before it, whose extra it shares when the same (the rows of a bucket)."""
    if r.problem:  # no shape: settling reads no field of it
        return Record(r.rec, None, problem=r.problem, fetch_sig=r.fetch_sig)
    fields = {k: r.fields[k] for k in _SETTLED if k in r.fields}
    if "extra" in r.fields:
        extra = r.fields["extra"]
        if isinstance(extra, dict):
            extra = {k: extra[k] for k in _SETTLED_EXTRA if k in extra}
            last = before.fields.get("extra") if before is not None else None
            if isinstance(last, dict) and last.keys() == extra.keys() and all(last[k] is v for k, v in extra.items()):
                extra = last
        fields["extra"] = extra
    return Record(r.rec, None, fields=fields, problem=r.problem, fetch_sig=r.fetch_sig)


class _Packed:
    """A file's records, put aside while its shapes are settled on their lean copies (``_lean``):
    pickled and compressed a block at a time, ~70 bytes a record instead of ~1,400 held as
    objects (a year of OpenAI usage pages, 315k records, held 460 MB of them through settling
    and staging), and staged as they are unpacked (``unpacked``), a block at a time."""

    _BLOCK = 4096

    def __init__(self) -> None:
        self.blocks: list[bytes] = []
        self.pending: list[tuple[Any, ...]] = []  # the records of the block being filled
        self._opened: tuple[int, list[tuple[Any, ...]]] = (-1, [])  # the block read last (``fields``)

    def add(self, r: Record) -> None:
        self.pending.append((r.rec, r.line, r.fields, r.problem, r.raw, r.fetch_sig, r.repeats))
        if len(self.pending) == self._BLOCK:
            self.seal()

    def seal(self) -> None:
        """Pack the records added since the last block."""
        if self.pending:
            self.blocks.append(zlib.compress(pickle.dumps(self.pending, protocol=pickle.HIGHEST_PROTOCOL), 1))
            self.pending = []

    def _block(self, b: int) -> list[tuple[Any, ...]]:
        return cast("list[tuple[Any, ...]]", pickle.loads(zlib.decompress(self.blocks[b])))

    def fields(self, i: int) -> Mapping[str, Any]:
        """The fields of the record ``i`` (0-based) added (sealed), for a record that gives way."""
        b, k = divmod(i, self._BLOCK)
        if self._opened[0] != b:
            self._opened = (b, self._block(b))
        return cast("Mapping[str, Any]", self._opened[1][k][2])

    def unpacked(self, problems: Mapping[int, str]) -> Iterator[Record]:
        """The records added, in order, each with its problem from ``problems`` (by 0-based index)
        when it has one there; each block let go of once unpacked."""
        self._opened = (-1, [])
        i = 0
        for b in range(len(self.blocks)):
            rows = self._block(b)
            self.blocks[b] = b""
            for rec, line, fields, problem, raw, fetch_sig, repeats in rows:
                yield Record(
                    rec, line, fields=fields, problem=problems.get(i, problem), raw=raw, fetch_sig=fetch_sig,
                    repeats=repeats,
                )  # fmt: skip
                i += 1


class _Settled(NamedTuple):
    """What ``_settle_buckets`` decided beyond the records it marks: the stored shapes that give
    way (and why) with their key columns, the stored shapes that learn their fetch's group-by, and
    the rows that come back or are set aside (``_BACK``, ``_GONE``, ``_ASIDE``)."""

    bad_stored: dict[Shape, str]
    keys: dict[Shape, tuple[Any, ...]]
    learned: dict[Shape, tuple[str, ...]]
    back: list[tuple[int, str]]
    gone: list[tuple[int, int]]
    aside: list[tuple[int, str]]


def _load_returns(
    con: duckdb.DuckDBPyConnection, back: Sequence[tuple[int, str]], gone: Sequence[tuple[int, int]],
    aside: Sequence[tuple[int, str]],
) -> None:  # fmt: skip
    """The rows that come back and those set aside, for ``bring_back`` in the import's transaction."""
    load_temp_table(con, _BACK, [("batch_id", "BIGINT"), ("raw", "VARCHAR")], back)
    load_temp_table(con, _GONE, [("batch_id", "BIGINT"), ("record", "BIGINT")], gone)
    load_temp_table(con, _ASIDE, [("record", "BIGINT"), ("raw", "VARCHAR")], aside)


def _settle_buckets(
    con: duckdb.DuckDBPyConnection, recs: list[Record], source: str,
    fields_of: Callable[[int], Mapping[str, Any]] | None = None,
) -> _Settled:  # fmt: skip
    """``stage_usage_buckets``' settling, without the staging: a record of ``recs`` that gives
    way gets its ``problem``; the records set aside earlier that come back are appended to
    ``recs`` (numbered after them). ``fields_of(i)``: the fields of ``recs[i]`` when the record
    holds only what settling reads (``_lean``), for those of a record that gives way."""
    bad_stored: dict[Shape, str] = {}
    keys: dict[Shape, tuple[Any, ...]] = {}
    learned: dict[Shape, tuple[str, ...]] = {}
    back: list[tuple[int, str]] = []  # moved rows that come back: (reject's batch, raw)
    gone: list[tuple[int, int]] = []  # rows set aside that come back: (batch, record)
    aside: list[tuple[int, str]] = []  # this file's rows that give way: (record, fields as JSON)
    con.execute("DROP TABLE IF EXISTS _back_count")  # the count of an earlier file's import
    shapes = _record_shapes(recs)
    incoming = _ordered(shapes)
    if incoming:
        lo = min(s.start for s in incoming) - timedelta(days=2)  # widest bucket: 1 day
        hi = max(s.end for s in incoming)
        sums = ", ".join(f"coalesce(sum(t.{c}), 0)" for c in COUNTERS)
        # per shape and model (the model as the rows name it): the shapes' totals are their sums
        rows = con.execute(
            f"SELECT t.ts, {_EVENT_END}, json_extract(t.extra, '$.group_by')::VARCHAR, any_value(b.path), "
            "max(json_extract(t.extra, '$.fetch_group_by')::VARCHAR), "
            f"coalesce(t.model_raw, ''), {sums} FROM events t LEFT JOIN import_batches b ON b.batch_id = t.batch_id "
            f"WHERE t.source = ? AND t.ts >= ? AND t.ts < ? AND {_EVENT_END} IS NOT NULL GROUP BY ALL",
            [source, lo, hi + timedelta(days=1)],  # and the day after: what the rows that gave way overlap
        ).fetchall()
        shapes_stored, where, keys, _more = _parse_stored(rows)
        stored = _ordered(shapes_stored)  # a row per shape and model: each shape once
        by_model: dict[Shape, dict[str, Totals]] = {}
        # the group-by of the fetch a bucket came from, when wider than the bucket's own
        fetched: dict[Shape, tuple[str, ...]] = {}
        for ts, end, group_by, path_, fetch_group_by, model, *counts in rows:
            for shape in _parse_stored([(ts, end, group_by, path_)])[0]:
                by_model.setdefault(shape, {})[str(model)] = tuple(int(n) for n in counts)
                wider = _fetch_sig(fetch_group_by)
                if wider is not None and set(shape.sig) < set(wider):
                    fetched[shape] = wider
        mine = _incoming_by_model(recs, shapes)
        wider_in = _wider_fetches(recs, shapes)
        # a stored bucket this file holds again, the same usage, from a fetch known to be
        # grouped wider: the stored rows learn that group-by (they stay: an equal copy is kept)
        learned = {
            sh: sig
            for sh, sig in wider_in.items()
            if sh not in fetched and sh in by_model and by_model[sh] == mine.get(sh)
        }
        by_model |= mine
        fetched |= wider_in
        # the rows that gave way earlier around the span (the stored rows read above hold every
        # row that overlaps one of them) are weighed with the file's: rolling windows that each
        # held less than a stored day fetched mid-day, and so gave way to it one by one, replace
        # it together (``_weighed``)
        ghosts = _ghosts(con, source, (lo + timedelta(days=1), hi + timedelta(days=1)))
        for g, ghost in ghosts.items():
            if g not in by_model and ghost.sig is not None and set(g.sig) < set(ghost.sig):
                fetched[g] = ghost.sig
        held = set(stored)
        # a bucket the file holds again (fetched mid-hour) that a copy set aside earlier holds more
        # of: that copy stands for it, weighed as above, and the file's rows of it give way
        cand = {
            g
            for g in ghosts
            if g in mine and g not in held and _holds_more(ghosts[g].by_model, mine[g])
            and not any(sh != g and _overlap(sh, g) for sh in incoming)
        }  # fmt: skip
        fuller = {
            g: f"bucket {_span(g)} grouped by {_sig(g)} holds less than its copy set aside earlier (from "
               f"{ghosts[g].path}): {_usage_words(_summed(mine[g].values()), _summed(ghosts[g].by_model.values()))}; "
               "that copy stands for it, summing both would double count"
            # by the rule only: the usage check depends on the file's rows, so a copy it let in
            # here could be left out below, and its bucket lost with the file's copy
            for g in _weighed(ghosts, stored, [sh for sh in incoming if sh not in cand], fetched)
            if g in cand
        }  # fmt: skip
        incoming = [sh for sh in incoming if sh not in fuller]
        # a bucket of the file that a copy set aside earlier holds other models of (fetches
        # filtered to some models, grouped by model), the file holding at least as much of each
        # model both name: parts of one bucket, weighed together as the file's; the copy's rows of
        # the other models come back when the file's rows stay. Only models no stored row over
        # the bucket names: a model a stored row names has its usage there already (a day of it
        # that the copy gave way to), not in a total that names no model
        parts = {}
        for g in ghosts:
            if not (g in mine and g not in held and g in incoming and set(g.sig) & MODEL_DIMS):
                continue
            theirs, ours = ghosts[g].by_model, mine[g]
            named = {m for s in stored if _overlap(s, g) for m in by_model.get(s, {})}
            extra = set(theirs) - set(ours) - named
            if (
                extra
                and _names_models(ours)
                and _names_models(theirs)
                and all(_at_least(ours[m], theirs[m]) for m in set(ours) & set(theirs))
            ):
                parts[g] = _only_models(ghosts[g], extra)
        for g, part in parts.items():
            by_model[g] = {**part.by_model, **mine[g]}
        weighed = _weighed(ghosts, stored, incoming, fetched, by_model)
        for g in weighed:
            by_model[g] = ghosts[g].by_model
        totals = {shape: _total(per) for shape, per in by_model.items()}
        came = {g: f"that gave way earlier and comes back with this import (from {ghosts[g].path})" for g in weighed}
        bad_in, bad_stored = settle_shapes(
            stored, [*weighed, *incoming], stored_where=where, totals=totals, by_model=by_model, fetched=fetched,
            incoming_where=came,
        )  # fmt: skip
        for i, (r, s) in enumerate(zip(recs, shapes, strict=True)):
            if s is not None and (s in fuller or s in bad_in):
                r.problem = fuller.get(s) or bad_in[s]
                aside.append((r.rec, _fields_json(r.fields if fields_of is None else fields_of(i))))
        # rows that gave way earlier come back: those weighed with the file's that stay, and the
        # others that fall into holes (no staying row overlaps them any more)
        returning = [g for g in (*weighed, *sorted(parts)) if g not in bad_in]
        staying = [sh for sh in stored if sh not in bad_stored] + [sh for sh in incoming if sh not in bad_in]
        rest = {g: ghost for g, ghost in ghosts.items() if g not in returning}
        for g in [*returning, *_holes(rest, [*staying, *returning])]:
            ghost = parts.get(g) or ghosts[g]
            back.extend(ghost.moved)
            for batch_id, record, fields in ghost.rejected:
                recs.append(Record(len(recs) + 1, None, fields=fields))
                gone.append((batch_id, record))
    return _Settled(bad_stored, keys, learned, back, gone, aside)


def _record_shapes(recs: Sequence[Record]) -> list[Shape | None]:
    """The shape of each record (None for a reject). The rows of one bucket hold the same
    start, end and group-by (the same objects, as the readers make them) and share one shape:
    one each took ~170 bytes of every row of a large file while it was settled."""
    shapes: list[Shape | None] = []
    last: tuple[Any, Any, Any, Shape | None] | None = None  # the row before: its ts, end, group_by, shape
    for r in recs:
        if r.problem:
            shapes.append(None)
            continue
        extra = r.fields.get("extra")
        ts, end = r.fields.get("ts"), (extra or {}).get("bucket_end")
        if not isinstance(extra, dict):
            shapes.append(_shape_of(ts, end, extra))
            continue
        group_by = extra.get("group_by")
        if last is None or ts is not last[0] or end is not last[1] or group_by is not last[2]:
            last = (ts, end, group_by, _shape_of(ts, end, extra))
        shapes.append(last[3])
    return shapes


def _total(per_model: Mapping[str, Totals]) -> Totals:
    """``_summed`` of a shape's usage per model; a shape of one model (nearly all of a file's) keeps
    that model's tuple, not a copy of it."""
    if len(per_model) == 1:
        (only,) = per_model.values()
        if len(only) == len(COUNTERS) and all(type(n) is int for n in only):
            return only
    return _summed(per_model.values())


_BACK = "_back"  # moved rows that come back: (batch_id, raw) of their rows in rejects
_GONE = "_gone"  # rows set aside by earlier imports that come back: (batch_id, record)
_ASIDE = "_aside"  # this file's rows that give way on arrival: (record, fields as JSON)


class _Ghost(NamedTuple):
    """A bucket that gave way earlier, as one import set it aside (``origin``): its rows moved to
    rejects by that import (``moved``: the reject's batch and raw, the stored row as JSON: all
    the bucket's stored rows then, whichever imports they came from) or that import's rows
    rejected on arrival (``rejected``: batch, record number, canonical fields), a file it came
    from, its usage per model, and the group-by of its fetch when known."""

    origin: int
    path: str
    moved: list[tuple[int, str]]
    rejected: list[tuple[int, int, dict[str, Any]]]
    by_model: dict[str, Totals]
    sig: tuple[str, ...] | None


def _weighed(
    ghosts: Mapping[Shape, _Ghost], stored: Sequence[Shape], incoming: Sequence[Shape],
    fetched: Mapping[Shape, tuple[str, ...]], by_model: Mapping[Shape, Mapping[str, Totals]] | None = None,
) -> list[Shape]:  # fmt: skip
    """The buckets that gave way earlier (``ghosts``) weighed with a file's rows, as fetched
    before them, older imports first: those no row of the file overlaps (the file's own copy
    decides those) and that no stored row has the same shape of, and whose pair with every
    overlapping stored row is decided whichever of the two was fetched first (a coarser grouping,
    a wider bucket, rows without a model: by the rule, or by usage where the finer side holds
    less), so that they come back only by usage, never by a rule of fetch order: an earlier fetch
    that a later one of another grouping replaced stays replaced. With ``by_model`` (the usage of
    the file's and the stored shapes), a pair the rule would decide by fetch order (another
    grouping of as many dimensions) is weighed too when usage decides it either way
    (``_usage_bound``)."""

    held = {*stored, *incoming}
    out: list[Shape] = []
    bound: list[Shape] = []
    order = sorted(ghosts, key=lambda g: (ghosts[g].origin, g.start, g.end, g.sig))
    for g in order:
        if g in held or any(_overlap(s, g) for s in incoming):
            continue
        fg = _as_fetched(g, fetched)
        over = [_as_fetched(s, fetched) for s in stored if _overlap(s, g)]
        (out if all((_loser(s, fg)[0] is s) == (_loser(fg, s)[0] is s) for s in over) else bound).append(g)
    if by_model is None or not bound:
        return out
    more = set(_usage_bound(ghosts, stored, incoming, fetched, by_model, out, bound))
    return [g for g in order if g in more or g in out]


def _usage_bound(
    ghosts: Mapping[Shape, _Ghost], stored: Sequence[Shape], incoming: Sequence[Shape],
    fetched: Mapping[Shape, tuple[str, ...]], by_model: Mapping[Shape, Mapping[str, Totals]],
    weighed: Sequence[Shape], cands: Sequence[Shape],
) -> list[Shape]:  # fmt: skip
    """Of the buckets that gave way earlier ``cands``, each with a stored row the rule would
    decide by fetch order, those whose every pair with a stored row is decided the same whichever
    of the two was fetched first once usage is weighed: weighed with ``weighed`` and the file
    (settled as in ``settle_shapes``), their side holds more than the stored row over the wider
    bucket, or less. Worked to a fixpoint: each one dropped changes its side's sums."""
    cands = list(cands)
    while cands:
        pool = [*weighed, *cands, *incoming]
        per = {**by_model, **{g: ghosts[g].by_model for g in (*weighed, *cands)}}
        totals = {sh: _summed(m.values()) for sh, m in per.items()}
        survivors = [sh for sh in pool if sh not in _settle_file(pool, totals, None, per, fetched)]
        others = [sh for sh in stored if sh not in set(survivors)]
        judge = _Judge([*others, *survivors], totals, None, per, fetched, survivors, settled=True)
        drop = {
            c
            for c in cands
            if c not in survivors
            or any(
                _overlap(s, c) and not judge.apart(s, c) and judge.decide(s, c)[0] != judge.decide(c, s)[0]
                for s in others
            )
        }
        if not drop:
            return cands
        cands = [c for c in cands if c not in drop]
    return []


def _wider_fetches(recs: Sequence[Record], shapes: Sequence[Shape | None]) -> dict[Shape, tuple[str, ...]]:
    """The group-by of the fetch each of a file's shapes came from (``Record.fetch_sig``), where
    wider than the shape's own (its rows leave a grouped dimension null)."""
    return {
        s: r.fetch_sig
        for r, s in zip(recs, shapes, strict=True)
        if s is not None and r.fetch_sig is not None and set(s.sig) < set(r.fetch_sig)
    }


def _at_least(a: Totals, b: Totals) -> bool:
    """Whether usage ``a`` holds at least as much of every counter as ``b``."""
    return all(x >= y for x, y in zip(a, b, strict=True))


def _holds_more(a: Mapping[str, Totals], b: Mapping[str, Totals]) -> bool:
    """Whether usage per model ``a`` holds at least as much of every counter of every model as
    ``b``, and more of one."""
    zero = (0,) * len(COUNTERS)
    pairs = [(a.get(m, zero), b.get(m, zero)) for m in {*a, *b}]
    return all(_at_least(p, q) for p, q in pairs) and any(p != q for p, q in pairs)


def _fields_json(fields: Mapping[str, Any]) -> str:
    """A record's canonical fields as JSON (``set_aside.raw``): each value as staging writes it
    (``ingest.staged_text``), ``extra`` as an object."""
    out: dict[str, Any] = {k: ingest.staged_text(v) for k, v in fields.items() if k != "extra"}
    out["extra"] = fields.get("extra")
    return json.dumps(out, default=str)


def _holes(ghosts: Mapping[Shape, _Ghost], staying: Sequence[Shape]) -> list[Shape]:
    """The buckets that gave way earlier (``ghosts``) that come back: those no staying row
    overlaps at all (stored or of this file, whatever its models: a bucket beside a fetch kept
    apart stays out, as the order the fetches came in decided), so that their usage is counted
    by nothing else (what each gave way to has itself given way since, to rows that do not cover
    its span), settled among themselves as the rows of one file are, older imports first."""
    free = [g for g in ghosts if not any(_overlap(s, g) for s in staying)]
    if not free:
        return []
    free.sort(key=lambda g: (ghosts[g].origin, g.start, g.end, g.sig))
    models = {g: ghosts[g].by_model for g in free}
    wider = {g: sig for g in free if (sig := ghosts[g].sig) is not None and set(g.sig) < set(sig)}
    totals = {g: _summed(models[g].values()) for g in free}
    lost, _ = settle_shapes([], free, totals=totals, by_model=models, fetched=wider)
    return [g for g in free if g not in lost]


def _ghosts(con: duckdb.DuckDBPyConnection, source: str, window: tuple[datetime, datetime]) -> dict[Shape, _Ghost]:
    """The buckets of ``source`` that gave way earlier and lie inside ``window`` (so every stored
    row that could overlap one is weighed with it): of one bucket's copies (each set aside by
    one import), the one with the most usage (the latest when equal)."""
    start, end = window
    if start >= end:
        return {}
    counters = ", ".join(f"coalesce(TRY_CAST(json_extract_string(x.raw, '$.{c}') AS BIGINT), 0)" for c in COUNTERS)
    fields = (
        "TRY_CAST(json_extract_string(x.raw, '$.ts') AS TIMESTAMPTZ) AS ts, json_extract_string(x.raw, '$.extra.bucket_end'), "
        "json_extract(x.raw, '$.extra.group_by')::VARCHAR, json_extract(x.raw, '$.extra.fetch_group_by')::VARCHAR, "
        f"coalesce(json_extract_string(x.raw, '$.model_raw'), ''), {counters}"
    )
    rows = con.execute(
        # moved rows: the stored row as JSON, under the batch that moved it (its own is in the JSON)
        f"SELECT * FROM (SELECT 'moved', x.batch_id, NULL, x.raw, x.file, {fields} FROM rejects x "
        "WHERE x.line IS NULL AND starts_with(x.reason, ?) AND json_valid(x.raw) "
        "AND json_extract_string(x.raw, '$.source') = ? "
        "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = json_extract_string(x.raw, '$.event_id')) "
        # rows rejected on arrival whose reject is still there (their file was not read again)
        f"UNION ALL SELECT 'rejected', x.batch_id, x.record, x.raw, b.path, {fields} "
        # of the source the row names: an event export's rows were set aside by a canonical import
        "FROM set_aside x JOIN import_batches b ON b.batch_id = x.batch_id "
        "WHERE json_valid(x.raw) AND coalesce(json_extract_string(x.raw, '$.source'), b.source) = ? "
        "AND EXISTS (SELECT 1 FROM rejects r WHERE r.batch_id = x.batch_id AND r.record = x.record)) "
        "WHERE ts >= ? AND ts < ?",
        [MOVED, source, source, start, end],
    ).fetchall()
    copies: dict[Shape, dict[int, _Ghost]] = {}
    for kind, batch_id, record, raw, path, ts, end_text, group_by, fetch_group_by, model, *counts in rows:
        found = _parse_stored([(ts, end_text, group_by, None)])[0]
        if not found or not (start <= found[0].start and found[0].end <= end):
            continue
        shape = found[0]
        ghost = copies.setdefault(shape, {}).get(int(batch_id))
        if ghost is None:
            ghost = _Ghost(int(batch_id), str(path or "?"), [], [], {}, _fetch_sig(fetch_group_by))
            copies[shape][int(batch_id)] = ghost
        if kind == "moved":
            ghost.moved.append((int(batch_id), str(raw)))
        else:
            ghost.rejected.append((int(batch_id), int(record), json.loads(raw)))
        acc = ghost.by_model.get(str(model), (0,) * len(COUNTERS))
        ghost.by_model[str(model)] = tuple(a + int(n) for a, n in zip(acc, counts, strict=True))
    return {shape: _parts_joined(list(per.values())) for shape, per in copies.items()}


def _parts_joined(copies: list[_Ghost]) -> _Ghost:
    """Of the copies of one bucket set aside by several imports, the one with the most usage (the
    latest when equal); when every row of every copy names its model, each model as the copy
    holding the most of it has it (fetches filtered to some models, each of which gave way on its
    own, are parts of one bucket; usage in a bucket only grows, so of two copies of one model the
    one holding more is the later fetch)."""

    def weight(by_model: Mapping[str, Totals]) -> int:
        return sum(sum(c) for c in by_model.values())

    copies.sort(key=lambda g: (weight(g.by_model), g.origin), reverse=True)
    first = copies[0]
    if len(copies) == 1 or not all(_names_models(g.by_model) for g in copies):
        return first
    best: dict[str, _Ghost] = {}
    for g in copies:  # the most usage first, so an equal later copy of a model does not displace
        for model, totals in g.by_model.items():
            if model not in best or (sum(totals), g.origin) > (sum(best[model].by_model[model]), best[model].origin):
                best[model] = g
    if all(g is first for g in best.values()):
        return first
    parts = [_only_models(g, {m for m, h in best.items() if h is g}) for g in copies if g in best.values()]
    return _Ghost(
        first.origin,
        first.path,
        [r for g in parts for r in g.moved],
        [r for g in parts for r in g.rejected],
        {m: t for g in parts for m, t in g.by_model.items()},
        first.sig,
    )


def _only_models(ghost: _Ghost, models: set[str]) -> _Ghost:
    """The rows of ``ghost`` of ``models`` only (the empty name: rows without a model)."""
    return ghost._replace(
        moved=[(b, raw) for b, raw in ghost.moved if (json.loads(raw).get("model_raw") or "") in models],
        rejected=[(b, r, f) for b, r, f in ghost.rejected if (f.get("model_raw") or "") in models],
        by_model={m: t for m, t in ghost.by_model.items() if m in models},
    )


def _names_models(by_model: Mapping[str, Totals]) -> bool:
    """Whether every row of a bucket names its model (the empty name: a row without one)."""
    return bool(by_model) and "" not in by_model


_LEARN = "_learn"  # stored buckets that learn their fetch's group-by: (start, end, group_by, fetch_group_by)


def _mark_learned(
    con: duckdb.DuckDBPyConnection, learned: Mapping[Shape, tuple[str, ...]], keys: Mapping[Shape, tuple[Any, ...]]
) -> None:
    load_temp_table(
        con,
        _LEARN,
        [("s", "TIMESTAMPTZ"), ("e", "VARCHAR"), ("g", "VARCHAR"), ("f", "VARCHAR")],
        [(keys[s][0], keys[s][1], keys[s][2], json.dumps(list(sig))) for s, sig in learned.items() if s in keys],
    )


def _apply_learned(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Inside the import's transaction: the stored rows ``_mark_learned`` recorded get their
    fetch's group-by in ``extra.fetch_group_by``; an Anthropic row without a workspace, of a
    fetch grouped by workspace, is the default workspace's (as the importer names it)."""
    if not temp_tables(con, _LEARN):
        return
    match = f"t.source = ? AND t.ts = x.s AND {_EVENT_END} = x.e AND json_extract(t.extra, '$.group_by')::VARCHAR = x.g"
    con.execute(
        "UPDATE events t SET extra = json_merge_patch(t.extra, json_object('fetch_group_by', x.f::JSON)), "
        "workspace = CASE WHEN t.workspace IS NULL AND t.source = 'anthropic-usage' "
        "AND list_contains(CAST(x.f::JSON AS VARCHAR[]), 'workspace_id') THEN 'default' ELSE t.workspace END "
        f"FROM {_LEARN} x WHERE {match}",
        [source],
    )
    con.execute(f"DROP TABLE {_LEARN}")


def _fetch_sig(text: Any) -> tuple[str, ...] | None:
    """A stored ``extra.fetch_group_by`` (JSON text of a list), or None."""
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return tuple(str(g) for g in value) if isinstance(value, list) else None


def _incoming_by_model(recs: Sequence[Record], shapes: Sequence[Shape | None]) -> dict[Shape, dict[str, Totals]]:
    """The usage (``COUNTERS``) of the file's valid rows per shape and model (as the rows name it).
    Copies of one row (the same ``event_id``: a fetch saved twice, or re-fetched into the same
    file) count once, as their largest copy: that is the one the max-usage rule stores."""
    out: dict[Shape, dict[str, Totals]] = {}
    for i in _largest_copies(recs, shapes):
        r, s = recs[i], shapes[i]
        if s is None:  # not returned: a row without a shape is no bucket
            continue
        per = out.setdefault(s, {})
        model = str(r.fields.get("model_raw") or "")
        counts, have = _counts(r), per.get(model)
        per[model] = counts if have is None else tuple(a + b for a, b in zip(have, counts, strict=True))
    return out


def _counts(r: Record) -> Totals:
    return tuple(n if isinstance(n, int) and not isinstance(n, bool) else 0 for n in map(r.fields.get, COUNTERS))


def _largest_copies(recs: Sequence[Record], shapes: Sequence[Shape | None]) -> list[int]:
    """The index of the largest copy of each row of ``recs`` that has a shape (the last of equal
    ones), in the order the rows first come: a row is its shape and ``event_id`` (a row without
    an id is a row of its own). When no row comes twice (nearly always), each is its own largest
    copy, and nothing is held per row: it took 300 MB for a year of 1-minute buckets (315k rows)."""
    ids = [
        (r.fields.get("event_id") or i) if s is not None else None
        for i, (r, s) in enumerate(zip(recs, shapes, strict=True))
    ]
    if not _repeats(ids):
        return [i for i, s in enumerate(shapes) if s is not None]
    best: dict[tuple[Shape, Any], int] = {}
    for i, (r, s) in enumerate(zip(recs, shapes, strict=True)):
        if s is None:
            continue
        j = best.setdefault((s, ids[i]), i)
        if j != i and sum(_counts(r)) >= sum(_counts(recs[j])):
            best[(s, ids[i])] = i
    return list(best.values())


def _repeats(ids: Iterable[Any]) -> bool:
    """Whether a value other than None comes twice among ``ids``."""
    seen: set[Any] = set()
    for x in ids:
        if x is not None:
            if x in seen:
                return True
            seen.add(x)
    return False


def _summed(parts: Iterable[Totals]) -> Totals:
    out = [0] * len(COUNTERS)
    for counts in parts:
        for k, n in enumerate(counts):
            out[k] += n
    return tuple(out)


def moved_rows(con: duckdb.DuckDBPyConnection, batch_id: int) -> int:
    """How many stored rows (events or cost lines) the import ``batch_id`` moved to rejects
    because another fetch shape of theirs won (``_apply_evictions``): they are not counted as
    records of the file, so its summary says so apart."""
    row = con.execute(
        "SELECT count(*) FROM rejects WHERE batch_id = ? AND line IS NULL AND starts_with(reason, ?)",
        [batch_id, MOVED],
    ).fetchone()
    return int(row[0]) if row else 0


def lines_given_way(con: duckdb.DuckDBPyConnection, batch_id: int) -> int:
    """How many cost lines of the import ``batch_id`` gave way on arrival to stored lines of
    another fetch shape (``_settle_lines``): rejects of the file, whose summary says why apart."""
    row = con.execute(
        "SELECT count(*) FROM rejects WHERE batch_id = ? AND line IS NOT NULL AND contains(reason, ?)",
        [batch_id, ALREADY_STORED],
    ).fetchone()
    return int(row[0]) if row else 0


def set_aside_rows(con: duckdb.DuckDBPyConnection, batch_id: int) -> int:
    """How many of the import ``batch_id``'s rows gave way on arrival to stored rows of another
    fetch shape that hold their usage (``bring_back`` sets them aside): they are rejects of the
    file, and its summary says why apart."""
    row = con.execute("SELECT count(*) FROM set_aside WHERE batch_id = ?", [batch_id]).fetchone()
    return int(row[0]) if row else 0


def evict_coarser(con: duckdb.DuckDBPyConnection, batch_ids: list[int]) -> dict[int, int]:
    """The usage importers' ``before_insert`` hook (see ``ingest.BeforeInsert``): inside the
    transaction, the stored rows ``stage_usage_buckets`` marked are moved to rejects under
    this import's batch; nothing is kept out of the insert. Returns how many stored rows gave
    way, as this batch's replaced count: the file's rows hold their usage, nothing was lost (they
    stay in rejects for reference only, under a reason starting with ``MOVED``)."""
    moved = _evict_marked(con, batch_ids[0], "_files")
    con.execute("CREATE OR REPLACE TEMP TABLE _skip (_rid BIGINT)")
    con.execute("CREATE OR REPLACE TEMP TABLE _drop_stored (event_id VARCHAR)")
    return {batch_ids[0]: moved} if moved else {}


def _evict_marked(con: duckdb.DuckDBPyConnection, batch_id: int, files: str) -> int:
    """Move the stored rows ``stage_usage_buckets`` marked to rejects under ``batch_id`` (and
    record the group-by stored rows learned); how many were moved. ``files``: the table that
    names the import's source (``_files`` before the insert, ``import_batches`` after it)."""
    source = con.execute(f"SELECT source FROM {files} WHERE batch_id = ? LIMIT 1", [batch_id]).fetchone()
    moved = _apply_evictions(con, "events", _EVENT_END_MATCH, str(source[0]) if source else "", batch_id)
    _apply_learned(con, str(source[0]) if source else "")
    return moved


def bring_back(con: duckdb.DuckDBPyConnection, batch_ids: list[int]) -> None:
    """The usage importers' ``before_commit`` (called even when the file has no row to insert,
    unlike ``evict_coarser``), inside the import's transaction after its rejects are written: the
    moved rows ``stage_usage_buckets`` brings back go back to ``events`` as they were stored
    (their own import's batch) and leave ``rejects``; the rows set aside that come back (staged
    as records of this file) leave ``rejects`` and ``set_aside``; this file's rows that give way
    on arrival are set aside. TEMP TABLE ``_back_count`` holds how many rows came back."""
    batch_id = batch_ids[0]
    made = temp_tables(con, _BACK, _GONE, _ASIDE, _EVICT)
    if _EVICT in made:  # the file had no row to insert (``evict_coarser`` did not run): rows that
        _evict_marked(con, batch_id, "import_batches")  # came back may still replace stored ones
    n = 0
    if _BACK in made:
        described = con.execute("DESCRIBE events").fetchall()
        cols = [
            f"json_extract(x.raw, '$.{name}')::JSON AS {name}"
            if str(kind).upper() == "JSON"
            else f"CAST(json_extract_string(x.raw, '$.{name}') AS {kind}) AS {name}"
            for name, kind, *_ in described
        ]
        row = con.execute(
            f"INSERT INTO events BY NAME SELECT {', '.join(cols)} FROM {_BACK} x "
            "WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = json_extract_string(x.raw, '$.event_id'))"
        ).fetchone()
        n += int(row[0]) if row else 0
        con.execute(
            f"DELETE FROM rejects r USING {_BACK} x WHERE r.batch_id = x.batch_id AND r.raw = x.raw "
            "AND r.line IS NULL AND starts_with(r.reason, ?)",
            [MOVED],
        )
        con.execute(f"DROP TABLE {_BACK}")
    if _GONE in made:
        row = con.execute(f"SELECT count(*) FROM {_GONE}").fetchone()
        n += int(row[0]) if row else 0
        con.execute(f"DELETE FROM rejects r USING {_GONE} x WHERE r.batch_id = x.batch_id AND r.record = x.record")
        con.execute(f"DELETE FROM set_aside r USING {_GONE} x WHERE r.batch_id = x.batch_id AND r.record = x.record")
        con.execute(f"DROP TABLE {_GONE}")
    if _ASIDE in made:
        con.execute(f"INSERT INTO set_aside (batch_id, record, raw) SELECT ?, record, raw FROM {_ASIDE}", [batch_id])
        con.execute(f"DROP TABLE {_ASIDE}")
    # rows whose reject is gone (their file was read again: it decides anew) are weighed no more
    con.execute(
        "DELETE FROM set_aside x WHERE NOT EXISTS "
        "(SELECT 1 FROM rejects r WHERE r.batch_id = x.batch_id AND r.record = x.record)"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _back_count AS SELECT {n}::BIGINT AS n")


# the formats whose rows are provider usage buckets settled by fetch shape (``stage_usage_buckets``)
PAGE_SOURCES = ("anthropic-usage", "openai-usage")
_BACK_STAGE = "_stage_back"  # the rows set aside earlier that come back with a canonical file


def settle_checked_buckets(con: duckdb.DuckDBPyConnection, batch_id: int, default_source: str) -> int | None:
    """A canonical file's rows of a provider usage source (an event export of them: each keeps its
    ``source`` and ``extra.bucket_end`` / ``extra.group_by``), settled as that source's importer
    settles its pages (``stage_usage_buckets``): against the stored rows of the source and against
    each other, each source on its own (QA: an export of a day fetched by workspace, imported
    where the day fetched by model was stored, counted the day twice). The other rows of the file
    are not touched.

    Runs in the import's transaction (``ingest.import_staged_files``' ``settle``) on the validated
    rows, TEMP TABLE ``_checked``: a row that gives way gets its reason (a reject of the file, set
    aside by ``bring_back``, which must run before COMMIT); the stored rows that give way move to
    rejects under ``batch_id`` at once; rows set aside earlier that come back are validated into
    ``_checked`` as records of this file. Returns how many stored rows gave way, or None when the
    file holds no such row (then nothing was done)."""
    marks = ", ".join("?" for _ in PAGE_SOURCES)
    sources = [
        str(r[0])
        for r in con.execute(
            f"SELECT DISTINCT source FROM _checked WHERE _reason IS NULL AND source IN ({marks}) "
            "AND json_extract_string(extra, '$.bucket_end') IS NOT NULL ORDER BY source",
            list(PAGE_SOURCES),
        ).fetchall()
    ]
    if not sources:
        return None
    moved = 0
    back: list[tuple[int, str]] = []
    gone: list[tuple[int, int]] = []
    aside: list[tuple[int, str]] = []
    returning: list[Record] = []
    for source in sources:
        recs = _checked_records(con, source)
        mine = len(recs)
        done = _settle_buckets(con, recs, source)
        lost = [(r.rec, r.problem) for r in recs[:mine] if r.problem]
        if lost:
            load_temp_table(con, "_lost", [("rec", "BIGINT"), ("why", "VARCHAR")], lost)
            con.execute(
                "UPDATE _checked SET _reason = x.why FROM _lost x WHERE _checked._fi = 0 AND _checked._rec = x.rec"
            )
            con.execute("DROP TABLE _lost")
        _mark_evictions(con, done.bad_stored, done.keys)
        moved += _apply_evictions(con, "events", _EVENT_END_MATCH, source, batch_id)
        _mark_learned(con, done.learned, done.keys)
        _apply_learned(con, source)
        back += done.back
        gone += done.gone
        aside += done.aside
        returning += recs[mine:]
    if returning:
        _check_returning(con, returning, default_source)
    _load_returns(con, back, gone, aside)
    return moved


def _checked_records(con: duckdb.DuckDBPyConnection, source: str) -> list[Record]:
    """The valid bucket rows of ``source`` in ``_checked`` as records (numbered as the file's), each
    with its fetch's group-by when its ``extra`` kept one (``extra.fetch_group_by``)."""
    from usagectl.models import EVENT_COLUMN_NAMES

    cols = ", ".join(f'"{c}"' for c in EVENT_COLUMN_NAMES)
    rows = con.execute(
        f"SELECT _rec, {cols} FROM _checked WHERE _fi = 0 AND _reason IS NULL AND source = ? "
        "AND json_extract_string(extra, '$.bucket_end') IS NOT NULL ORDER BY _rec",
        [source],
    ).fetchall()
    out: list[Record] = []
    for rec, *values in rows:
        fields = {c: v for c, v in zip(EVENT_COLUMN_NAMES, values, strict=True) if v is not None}
        extra = json.loads(fields["extra"]) if isinstance(fields.get("extra"), str) else fields.get("extra")
        fields["extra"] = extra
        wider = extra.get("fetch_group_by") if isinstance(extra, dict) else None
        sig = tuple(str(g) for g in wider) if isinstance(wider, list) else None
        out.append(Record(int(rec), None, fields=fields, fetch_sig=sig))
    return out


def _check_returning(con: duckdb.DuckDBPyConnection, recs: Sequence[Record], default_source: str) -> None:
    """Rows set aside earlier that come back with a canonical file: validated into ``_checked``
    as its records, numbered after its own (as a page file's are, ``stage_usage_buckets``)."""
    from usagectl.store.validation import _validation_select

    last = con.execute("SELECT coalesce(max(_rec), 0) FROM _checked WHERE _fi = 0").fetchone()
    for i, r in enumerate(recs, 1):
        r.rec = int(last[0] if last else 0) + i
    ingest.stage_records(con, recs, table=_BACK_STAGE)
    # the validation reads ``_stage`` (the file's own, still needed for its rejects): named so here
    con.execute(
        f"INSERT INTO _checked SELECT * FROM (WITH _stage AS (SELECT * FROM {_BACK_STAGE}) "
        f"{_validation_select(default_source)})"
    )
    con.execute(f"DROP TABLE {_BACK_STAGE}")


def rows_back(con: duckdb.DuckDBPyConnection) -> int:
    """How many rows that gave way earlier the last usage import on ``con`` brought back
    (``bring_back``)."""
    if not temp_tables(con, "_back_count"):
        return 0  # no usage import on this connection yet
    row = con.execute("SELECT n FROM _back_count").fetchone()
    return int(row[0]) if row else 0


# --------------------------------------------------------------------------- cost lines


def _check_line(fields: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    unknown = set(fields) - LINE_FIELDS
    if unknown:
        raise ValueError(f"cost importer produced non-billed_costs fields: {sorted(unknown)}")
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name in LINE_TEXT:
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(f"{name}: not text ({str(value)[:40]})")
            value = None
        out[name] = value or None
    for name in _REQUIRED_TEXT:
        if not out[name] and not any(p.startswith(name + ":") for p in problems):
            problems.append(f"{name}: missing")
    for name in ("start_ts", "end_ts"):
        value = fields.get(name)
        if not isinstance(value, datetime) or value.tzinfo is None:
            problems.append(f"{name}: missing or not an aware timestamp")
            value = None
        out[name] = value
    if out["start_ts"] and out["end_ts"] and out["end_ts"] <= out["start_ts"]:
        problems.append("end_ts: not after start_ts")
    out["amount_usd"], problem = _exact(
        fields.get("amount_usd"), "amount_usd", _AMOUNT_LIMIT, _PICO, required=True, bound=f"; {MONEY_LIMIT_TEXT}"
    )
    if problem:
        problems.append(problem)
    out["quantity"], problem = _exact(fields.get("quantity"), "quantity", _QUANTITY_LIMIT, _MICRO, required=False)
    if problem:
        problems.append(problem)
    extra = fields.get("extra")
    if extra is not None and not isinstance(extra, dict):
        problems.append("extra: not an object")
        extra = None
    out["extra"] = json.dumps(extra, separators=(",", ":"), default=str) if extra else None
    return (None, "; ".join(problems)) if problems else (out, None)


def _exact(
    value: Any, name: str, limit: Decimal, step: Decimal, *, required: bool, bound: str = ""
) -> tuple[Decimal | None, str | None]:
    """A Decimal (or int) amount, never a float, within ±``limit`` (``bound`` says so in the
    reason); rounded half-even to the column's scale."""
    if value is None:
        return None, (f"{name}: missing" if required else None)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None, f"{name}: not an exact number ({str(value)[:40]})"
    d = Decimal(value)
    # the bound itself included (an export rounds $999,999,999,999.999999999999 to $10^12);
    # copy_abs(), unlike abs(), does not round, so 1e1000000 cannot overflow
    if not d.is_finite() or d.copy_abs() > limit:
        return None, f"{name}: out of range ({str(value)[:40]}{bound})"
    # a wide context: DECIMAL(38, 12) holds 26 integer digits, more than the default 28-digit
    # precision leaves room for once 12 decimals are added
    return d.quantize(step, context=decimal.Context(prec=60)), None


def _default_resolver() -> Resolver:
    # The import service does not hand a resolver to cost imports yet: use the packaged price
    # tables. `reconcile` resolves model_raw again with the user's full price book anyway.
    from usagectl.pricing import load_pricebook

    book = load_pricebook()

    def resolve(raws: list[str]) -> dict[str, tuple[str | None, str | None]]:
        out: dict[str, tuple[str | None, str | None]] = {}
        for raw in raws:
            model = book.resolve(raw)
            out[raw] = (model, book.provider_of(model) if model else None)
        return out

    return resolve


_INSERT_COLS = ("line_id", "source", "provider", "start_ts", "end_ts", "model", "model_raw", "line_item", "token_type",
                "service_tier", "context_window", "workspace", "project", "api_key", "description", "amount_usd",
                "quantity", "quantity_unit", "batch_id", "extra")  # fmt: skip
_INSERT_TYPES = {"start_ts": "TIMESTAMPTZ", "end_ts": "TIMESTAMPTZ", "amount_usd": "DECIMAL(38,12)",
                 "quantity": "DECIMAL(38,6)", "batch_id": "BIGINT", "extra": "JSON"}  # fmt: skip
_BILLED_END_MATCH = "t.end_ts = CAST(x.e AS TIMESTAMPTZ)"


def import_cost_lines(
    con: duckdb.DuckDBPyConnection,
    info: ingest.BatchInfo,
    records: Iterable[Record],
    resolve: Resolver | None = None,
) -> tuple[ingest.BatchCounts, list[str]]:
    """Import one file of cost lines in one transaction (see the module docstring).

    Amounts are exact Decimals (an int is accepted, a float is rejected) rounded half-even to
    the column's 12 decimals. Returns the batch counts (``duplicates`` = lines repeated in the
    file; ``replaced`` = stored lines a re-fetch replaced) and warnings for the summary."""
    recs = list(records)  # reading the file may raise InputError: nothing is written then
    rejects: list[tuple[int | None, int, str, str | None]] = []  # (line, record, reason, raw)
    good: list[tuple[Record, dict[str, Any]]] = []
    for r in recs:
        if r.problem:
            rejects.append((r.line, r.rec, r.problem, r.raw))
            continue
        row, problem = _check_line(r.fields)
        if problem or row is None:
            rejects.append((r.line, r.rec, problem or "invalid", r.raw))
        else:
            good.append((r, row))
    con.execute("BEGIN TRANSACTION")
    try:
        ingest.after_begin_hook(con)
        batch_id = int(con.execute("SELECT nextval('import_batch_seq')").fetchone()[0])  # type: ignore[index]
        con.execute(
            "INSERT INTO import_batches (batch_id, source, path, file_size, file_mtime, fingerprint, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                batch_id,
                info.source,
                str(info.path),
                info.file_size,
                info.file_mtime,
                info.fingerprint,
                datetime.now(UTC),
            ],
        )
        readable = [batch_id] if good else []  # valid lines: the file was read in its right format
        good = _settle_lines(con, info.source, good, rejects, batch_id)
        latest: dict[str, dict[str, Any]] = {}
        for _, row in good:  # max-amount: of a line's copies in the file the largest wins (a tie: the last)
            kept = latest.get(row["line_id"])
            if kept is None or abs(row["amount_usd"]) >= abs(kept["amount_usd"]):
                latest.pop(row["line_id"], None)
                latest[row["line_id"]] = row
        dup_in_file = len(good) - len(latest)
        raws = sorted({row["model_raw"] for row in latest.values() if row["model_raw"]})
        mapping = (resolve or _default_resolver())(raws) if raws else {}
        rows = [
            [{**row, "source": info.source, "model": mapping.get(row["model_raw"] or "", (None, None))[0],
              "batch_id": batch_id}[c] for c in _INSERT_COLS]
            for row in latest.values()
        ]  # fmt: skip
        load_temp_table(con, "_lines", [(c, _INSERT_TYPES.get(c, "VARCHAR")) for c in _INSERT_COLS], rows)
        # against what is stored: a stored copy with a smaller amount gives way (a re-fetch of a
        # day that was not over, whichever file comes first); an equal or larger one stays
        bigger = "abs(b.amount_usd) >= abs(l.amount_usd)"
        kept_row = con.execute(
            f"SELECT count(*) FROM _lines l WHERE EXISTS (SELECT 1 FROM billed_costs b WHERE b.line_id = l.line_id AND {bigger})"
        ).fetchone()
        dup_stored = int(kept_row[0]) if kept_row else 0
        if dup_stored:
            con.execute(
                f"DELETE FROM _lines l WHERE EXISTS (SELECT 1 FROM billed_costs b WHERE b.line_id = l.line_id AND {bigger})"
            )
        stale = con.execute(
            "SELECT count(*) FROM billed_costs WHERE line_id IN (SELECT line_id FROM _lines)"
        ).fetchone()
        replaced = int(stale[0]) if stale else 0
        if replaced:
            con.execute("DELETE FROM billed_costs WHERE line_id IN (SELECT line_id FROM _lines)")
        con.execute(f"INSERT INTO billed_costs ({', '.join(_INSERT_COLS)}) SELECT * FROM _lines")
        con.execute("DROP TABLE _lines")
        rejects.sort(key=lambda x: x[1])
        load_temp_table(
            con,
            "_rej",
            [("line", "BIGINT"), ("record", "BIGINT"), ("reason", "VARCHAR"), ("raw", "VARCHAR")],
            [(ln, rec, why, raw[: ingest.RAW_MAX] if raw else None) for ln, rec, why, raw in rejects],
        )
        load_temp_table(
            con,
            "_this",
            [("batch_id", "BIGINT"), ("path", "VARCHAR"), ("source", "VARCHAR"), ("line_offset", "BIGINT")],
            [(batch_id, str(info.path), info.source, info.line_offset)],
        )
        ingest.supersede_rejects(con, "_this", readable)  # also a wrong --format's rejects of the file
        con.execute("DROP TABLE _this")
        con.execute(
            "INSERT INTO rejects (batch_id, file, line, record, reason, raw) "
            "SELECT ?, ?, line + ?, record, reason, raw FROM _rej ORDER BY record",
            [batch_id, str(info.path), info.line_offset],
        )
        con.execute("DROP TABLE _rej")
        imported = len(latest) - dup_stored - replaced  # new line ids
        con.execute(
            "UPDATE import_batches SET finished_at = ?, records = ?, imported = ?, duplicates = ?, rejected = ?, "
            "dup_in_file = ?, dup_stored = ?, replaced = ?, dedup_rule = 'max-amount', source_name = ? "
            "WHERE batch_id = ?",
            [datetime.now(UTC), len(recs), imported, dup_in_file + dup_stored, len(rejects), dup_in_file, dup_stored,
             replaced, info.source_name, batch_id],
        )  # fmt: skip
        ingest.before_commit_hook(con)
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    warnings = []
    no_model = sum(1 for row in latest.values() if not row["model_raw"])
    if no_model:
        warnings.append(
            f"{counted(no_model, 'cost line')} {'names' if no_model == 1 else 'name'} no model "
            "(not grouped by description/line_item, or not token costs): "
            "reconcile shows them as (unattributed)"
        )
    counts = ingest.BatchCounts(
        batch_id, len(recs), imported, dup_in_file + dup_stored, len(rejects), dup_in_file, dup_stored, replaced
    )
    return counts, warnings


def _settle_lines(
    con: duckdb.DuckDBPyConnection,
    source: str,
    good: list[tuple[Record, dict[str, Any]]],
    rejects: list[tuple[int | None, int, str, str | None]],
    batch_id: int,
) -> list[tuple[Record, dict[str, Any]]]:
    shapes = [_shape_of(row["start_ts"], row["end_ts"], r.fields.get("extra")) for r, row in good]
    incoming = _ordered(shapes)
    if not incoming:
        return good
    lo = min(s.start for s in incoming) - timedelta(days=2)
    hi = max(s.end for s in incoming)
    stored_rows = con.execute(
        "SELECT t.start_ts, t.end_ts, json_extract(t.extra, '$.group_by')::VARCHAR, any_value(b.path), "
        "sum(abs(t.amount_usd)), max(json_extract(t.extra, '$.fetch_group_by')::VARCHAR) "
        "FROM billed_costs t LEFT JOIN import_batches b ON b.batch_id = t.batch_id "
        "WHERE t.source = ? AND t.start_ts >= ? AND t.start_ts < ? GROUP BY ALL",
        [source, lo, hi],
    ).fetchall()
    stored, where, keys, more = _parse_stored(stored_rows)
    totals: dict[Shape, Totals] = {s: (_picos(m[0]),) for s, m in more.items()}
    totals.update(_line_totals(good, shapes))
    # the group-by of the fetch a bucket came from, when wider than the bucket's own (its lines
    # leave a dimension null): weighed as that fetch, as usage buckets are
    fetched = {s: sig for s, m in more.items() if (sig := _fetch_sig(m[1])) is not None and set(s.sig) < set(sig)}
    fetched |= _wider_fetches([r for r, _ in good], shapes)
    bad_in, bad_stored = settle_shapes(
        stored, incoming, stored_where=where, totals=totals, described=_amount_words, fetched=fetched
    )
    kept = []
    for (r, row), s in zip(good, shapes, strict=True):
        if s is not None and s in bad_in:
            rejects.append((r.line, r.rec, bad_in[s], r.raw))
        else:
            kept.append((r, row))
    _mark_evictions(con, bad_stored, keys)
    _apply_evictions(con, "billed_costs", _BILLED_END_MATCH, source, batch_id)
    return kept


def _picos(amount: Any) -> int:
    return int(Decimal(amount or 0) / _PICO)


def _line_totals(good: Sequence[tuple[Record, dict[str, Any]]], shapes: Sequence[Shape | None]) -> dict[Shape, Totals]:
    """The billed amount of the file's valid cost lines per shape, in picodollars and without
    sign (a credit line is part of what a fetch holds as much as a charge is): a finer fetch
    replaces a coarser one only when it holds at least as much (``settle_shapes``). Copies of
    one line (the same ``line_id``) count once, as the largest: the copy max-amount keeps."""
    largest: dict[tuple[Shape, Any], int] = {}
    for (_, row), s in zip(good, shapes, strict=True):
        if s is not None:
            key = (s, row["line_id"])
            largest[key] = max(largest.get(key, 0), abs(_picos(row["amount_usd"])))
    out: dict[Shape, int] = {}
    for (s, _), n in largest.items():
        out[s] = out.get(s, 0) + n
    return {s: (n,) for s, n in out.items()}


# --------------------------------------------------------------------------- reconcile queries


def _in(column: str, values: Sequence[str], params: list[Any]) -> str:
    if not values:
        return ""
    params.extend(values)
    return f" AND {column} IN ({', '.join('?' for _ in values)})"


def billed_providers(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT provider FROM billed_costs WHERE start_ts >= ? AND start_ts < ? ORDER BY 1", [start, end]
    ).fetchall()
    return [str(r[0]) for r in rows]


def known_providers(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every provider named by a stored event or billed cost line (any date)."""
    rows = con.execute(
        "SELECT provider FROM events WHERE provider IS NOT NULL UNION SELECT provider FROM billed_costs ORDER BY 1"
    ).fetchall()
    return [str(r[0]) for r in rows]


def known_sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every ``source`` of a stored event (the importer that read it: ``openai-usage``, …)."""
    rows = con.execute("SELECT DISTINCT source FROM events WHERE source IS NOT NULL ORDER BY 1").fetchall()
    return [str(r[0]) for r in rows]


def billed_span(con: duckdb.DuckDBPyConnection) -> tuple[date, date] | None:
    """The first and last UTC day of every billed cost line stored, or None when there is none."""
    row = con.execute(
        "SELECT CAST(timezone('UTC', min(start_ts)) AS DATE), CAST(timezone('UTC', max(start_ts)) AS DATE) "
        "FROM billed_costs"
    ).fetchone()
    return (row[0], row[1]) if row and row[0] is not None else None


def billed_by_day(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, providers: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Billed amounts per UTC day (of the line's bucket start), provider and model as stored
    (``model``, ``model_raw``; the caller resolves names with its price book)."""
    params: list[Any] = [start, end]
    where = _in("provider", providers, params)
    cur = con.execute(
        "SELECT CAST(timezone('UTC', start_ts) AS DATE) AS date, provider, model, model_raw, "
        "sum(amount_usd) AS billed_usd, count(*)::BIGINT AS lines "
        f"FROM billed_costs WHERE start_ts >= ? AND start_ts < ?{where} GROUP BY ALL ORDER BY ALL",
        params,
    )
    return rows_as_dicts(cur)


def usage_facts(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, providers: Sequence[str] = ()
) -> dict[str, Any]:
    """What a reader of a reconciliation must know about the usage side of the range."""
    params: list[Any] = [start, end]
    where = "ts >= ? AND ts < ?" + _in("provider", providers, params)
    tokens = "input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_tokens"
    # the tier as stored: ``priority``, or ``priority@us`` for usage served in one geography
    priority = "provider = 'anthropic' AND split_part(service_tier, '@', 1) = 'priority'"
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE {priority}), "
        f"coalesce(sum({tokens}) FILTER (WHERE {priority}), 0), "
        "count(*) FILTER (WHERE source = 'anthropic-usage' "
        "AND json_extract_string(extra, '$.context_window') = '200k-1M'), "
        "count(*) FILTER (WHERE source IN ('openai-usage', 'anthropic-usage') AND model_raw IS NULL AND model IS NULL) "
        f"FROM events WHERE {where}",
        params,
    ).fetchone()
    assert row is not None
    sources = con.execute(
        f"SELECT coalesce(provider, '?'), source, count(*)::BIGINT FROM events WHERE {where} GROUP BY ALL ORDER BY ALL",
        params,
    ).fetchall()
    return {
        "priority_rows": int(row[0]),
        "priority_tokens": int(row[1]),
        "long_context_buckets": int(row[2]),
        "unmodelled_buckets": int(row[3]),
        "sources": [(str(p), str(s), int(n)) for p, s, n in sources],
    }
