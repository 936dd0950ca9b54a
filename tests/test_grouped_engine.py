"""The report engine prices after aggregating (``store.grouped``); it must give exactly what the
per-event engine (``priced_events.sql``) and the Python price book give, for every key, zone
and filter, across a price-period boundary, the 200k band edge, tiers and unknown models."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run, write_jsonl
from tests.test_cost_engine import _events
from usagectl.config import MemberChange, MemberInfo
from usagectl.models import Filters
from usagectl.pricing import load_pricebook
from usagectl.services.rollup import rollup
from usagectl.store import reports as q
from usagectl.store.connection import connect
from usagectl.store.grouped import offset_segments

MEMBERS = {"ana": MemberInfo("core", "eng", "cc-1"), "bo": MemberInfo("ml", "eng", None), "cy": MemberInfo()}


def _rich_events() -> list[dict[str, Any]]:
    rnd = random.Random(11)
    out = _events(700, seed=5)
    for e in out:
        e["member"] = rnd.choice(["ana", "bo", "cy", "dee", None])
        e["team"] = rnd.choice([None, None, None, "ops"])  # the event's own team wins over the mapping
        e["feature"] = rnd.choice(["chat", "review", None])
        e["provider"] = rnd.choice([None, None, "openai"])
        if rnd.random() < 0.1:
            e["model"] = "gpt-4o"  # a canonical name beside the logged one
    edge = {"model_raw": "claude-sonnet-4-5", "output_tokens": 100, "member": "ana"}
    out += [
        # the o3 price change: the last instant of the old period and the first of the new
        {"event_id": "b0", "ts": "2025-06-09T23:59:59Z", "model_raw": "o3", "input_tokens": 1000},
        {"event_id": "b1", "ts": "2025-06-10T00:00:00Z", "model_raw": "o3", "input_tokens": 1000},
        # the band edge: 200,000 is the base band, 200,001 the long-context band
        {**edge, "event_id": "c0", "ts": "2025-07-01T12:00:00Z", "input_tokens": 200_000},
        {**edge, "event_id": "c1", "ts": "2025-07-01T12:00:00Z", "input_tokens": 200_001},
        {**edge, "event_id": "c2", "ts": "2025-07-01T12:00:00Z", "input_tokens": 200_001, "requests": 3},
        # buckets that state their band (Anthropic usage rows): every request over 200k, or none
        {
            **edge,
            "event_id": "c3",
            "ts": "2025-07-01T13:00:00Z",
            "input_tokens": 150_000,
            "requests": 0,
            "extra": {"context_window": "200k-1M"},
        },
        {
            **edge,
            "event_id": "c4",
            "ts": "2025-07-01T13:00:00Z",
            "input_tokens": 900_000,
            "requests": 0,
            "extra": {"context_window": "0-200k"},
        },
    ]
    return out


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("grouped")
    db = tmp / "g.duckdb"
    events = _rich_events()
    run("import", str(write_jsonl(tmp / "e.jsonl", events)), "--db", str(db))
    return db, events


def _flt(tz: str, **where: tuple[str, ...]) -> Filters:
    return Filters(start=datetime(2025, 4, 1, tzinfo=UTC), end=datetime(2025, 10, 1, tzinfo=UTC), tz=tz, where=where)


KEYSETS = [
    [], ["date"], ["month"], ["weekday", "hour"], ["model"], ["provider"], ["team"], ["department", "cost_center"],
    ["member", "feature"], ["date", "model", "service_tier"], ["hour", "team"],
]  # fmt: skip


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe"])
def test_grouped_cube_equals_the_per_event_cube(loaded: tuple[Path, list[dict[str, Any]]], tz: str) -> None:
    db, _ = loaded
    book = load_pricebook()
    flt = _flt(tz)
    with connect(db, read_only=True) as con:
        q.prepare_session(con, book, MEMBERS, flt)
        for keys in KEYSETS:
            fast = rollup(q.cube(con, flt, keys), [*keys, "unpriced_raw"])
            slow = rollup(q.cube_per_event(con, flt, keys), [*keys, "unpriced_raw"])
            assert fast == slow, (tz, keys)
            assert len(fast) >= 2  # priced and unpriced rows both present


@pytest.mark.parametrize(
    "where",
    [
        {"model": ("o3", "gpt-4o")},
        {"provider": ("openai",)},
        {"team": ("core", "ops")},
        {"department": ("eng",)},
        {"cost_center": ("cc-1",)},
        {"member": ("ana", "dee"), "feature": ("chat",)},
        {"service_tier": ("batch",), "model": ("claude-sonnet-4-5",)},
    ],
)
def test_grouped_filters_equal_the_per_event_filters(
    loaded: tuple[Path, list[dict[str, Any]]], where: dict[str, tuple[str, ...]]
) -> None:
    db, _ = loaded
    flt = _flt("Europe/Berlin", **where)
    with connect(db, read_only=True) as con:
        q.prepare_session(con, load_pricebook(), MEMBERS, flt)
        for keys in ([], ["date", "member"], ["model", "team"]):
            fast = rollup(q.cube(con, flt, keys), [*keys, "unpriced_raw"])
            slow = rollup(q.cube_per_event(con, flt, keys), [*keys, "unpriced_raw"])
            assert fast == slow, (where, keys)
        total = q.aggregate(con, flt, [])[0]
    assert total["requests"] > 0, where


# members whose mapping changes inside the range, one change at an instant that is no day start
MOVING = {
    "ana": MemberInfo(
        "core", "eng", "cc-1",
        changes=(
            MemberChange(datetime(2025, 6, 15, tzinfo=UTC), team="ml"),
            MemberChange(datetime(2025, 8, 1, 7, 13, tzinfo=UTC), department="research", cost_center="cc-2"),
        ),
    ),
    "bo": MemberInfo("ml", "eng", None),
    "cy": MemberInfo(changes=(MemberChange(datetime(2025, 7, 20, tzinfo=UTC), team="late"),)),
}  # fmt: skip


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kathmandu"])
def test_member_changes_group_as_the_per_event_engine(loaded: tuple[Path, list[dict[str, Any]]], tz: str) -> None:
    """The grouped engine splits its classes at each change, so it agrees with the per-event join
    on the event's own ts; and the mapping did move usage (the cube differs from a static one)."""
    db, _ = loaded
    book, flt = load_pricebook(), _flt(tz)
    keysets = [["team"], ["department", "cost_center"], ["date", "team"], ["member", "team", "month"]]
    with connect(db, read_only=True) as con:
        q.prepare_session(con, book, MOVING, flt)
        for keys in keysets:
            fast = rollup(q.cube(con, flt, keys), [*keys, "unpriced_raw"])
            assert fast == rollup(q.cube_per_event(con, flt, keys), [*keys, "unpriced_raw"]), keys
        moved = rollup(q.cube(con, flt, ["team"]), ["team"])
        for where in ({"team": ("ml",)}, {"department": ("research",)}, {"team": ("late", "core")}):
            f = _flt(tz, **where)
            assert rollup(q.cube(con, f, ["member"]), ["member"]) == rollup(
                q.cube_per_event(con, f, ["member"]), ["member"]
            )
        q.prepare_session(con, book, MEMBERS, flt)
        static = rollup(q.cube(con, flt, ["team"]), ["team"])
    assert ("late",) in moved and ("late",) not in static
    assert moved[("ml",)]["requests"] > static[("ml",)]["requests"]


def test_grouped_total_equals_the_python_price_book(loaded: tuple[Path, list[dict[str, Any]]]) -> None:
    """Independent path: the sum of ``PriceBook.cost`` over the fixture's events."""
    db, events = loaded
    book = load_pricebook()
    flt = _flt("UTC")
    expected = Decimal(0)
    unpriced = 0
    for e in events:
        ts = datetime.strptime(e["ts"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if not flt.start <= ts < flt.end:
            continue
        usage = dict(
            ts=ts, service_tier=e.get("service_tier"), requests=e.get("requests", 1),
            input_tokens=e.get("input_tokens", 0), cache_read_tokens=e.get("cache_read_tokens", 0),
            cache_write_5m_tokens=e.get("cache_write_5m_tokens", 0),
            cache_write_1h_tokens=e.get("cache_write_1h_tokens", 0), output_tokens=e.get("output_tokens", 0),
            web_search_requests=e.get("web_search_requests", 0),
            band_input=200_001 if e.get("extra", {}).get("context_window") == "200k-1M" else None,
        )  # fmt: skip
        # the logged name first; when it resolves to nothing, the canonical name the source gave
        cost = book.cost(model_raw=e.get("model_raw"), **usage).total
        if cost is None and book.resolve(e["model_raw"]) is None and e.get("model"):
            cost = book.cost(model_raw=e["model"], **usage).total
        if cost is None:
            unpriced += e.get("requests", 1)
        else:
            expected += cost
    with connect(db, read_only=True) as con:
        q.prepare_session(con, book, MEMBERS, flt)
        total = q.aggregate(con, flt, [])[0]
    assert total["cost_usd"] == expected
    assert total["unpriced_requests"] == unpriced > 0


def test_offset_segments_follow_the_zone() -> None:
    year = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    h = 3_600_000
    # US daylight time 2025: from 2025-03-09 02:00 EST (07:00Z) to 2025-11-02 02:00 EDT (06:00Z)
    assert offset_segments("America/New_York", *year) == [
        (year[0], -5 * h),
        (datetime(2025, 3, 9, 7, tzinfo=UTC), -4 * h),
        (datetime(2025, 11, 2, 6, tzinfo=UTC), -5 * h),
    ]
    assert offset_segments("Asia/Kathmandu", *year) == [(year[0], 5 * h + 45 * 60_000)]
    assert offset_segments("UTC", *year) == [(year[0], 0)]


def test_zone_with_odd_offsets_groups_per_event(tmp_path: Path, db_path: Path) -> None:
    """Monrovia was UTC−00:44:30 in 1971: 00:30Z is still the previous local day, 00:50Z is not.
    (Imports refuse such old instants, so the rows are written straight into the table.)"""
    run("import", str(write_jsonl(tmp_path / "m.jsonl", [])), "--db", str(db_path))  # creates the schema
    with connect(db_path) as con:
        for i, (ts, n) in enumerate([("1971-01-02 00:30:00+00", 10), ("1971-01-02 00:50:00+00", 20)]):
            con.execute(
                "INSERT INTO events (event_id, ts, source, batch_id, model_raw, input_tokens) "
                "VALUES (?, ?::TIMESTAMPTZ, 'test', 1, 'gpt-4o', ?)",
                [f"m{i}", ts, n],
            )
    flt = Filters(datetime(1971, 1, 1, tzinfo=UTC), datetime(1971, 2, 1, tzinfo=UTC), tz="Africa/Monrovia")
    with connect(db_path, read_only=True) as con:
        q.prepare_session(con, load_pricebook(), {}, flt)
        got = rollup(q.cube(con, flt, ["date"]), ["date"])
    assert {str(k[0]): v["input_tokens"] for k, v in got.items()} == {"1971-01-01": 10, "1971-01-02": 20}


@pytest.mark.parametrize(
    ("tz", "day"),
    [("UTC", "2025-10-31T23:{t}Z"), ("Europe/Berlin", "2025-10-24T21:{t}Z")],  # 23:59:59.x CEST on Oct 24
)
def test_the_last_microseconds_of_a_day_stay_in_it(tmp_path: Path, db_path: Path, tz: str, day: str) -> None:
    """Timestamps with microseconds (LiteLLM, Python's isoformat): ``.9995`` s and later of a
    local day's last second belong to that day and hour, not the next (``epoch_ms`` rounded them
    up; QA finding). Each event's input is a power of two, so every bucket names its events."""
    fracs = [("59:59.999999", 1), ("59:59.9995", 2), ("59:59.9994", 4), ("59:59.999", 8)]
    events = [
        {"event_id": f"f{i}", "ts": day.format(t=t), "model_raw": "gpt-4o-mini", "input_tokens": n}
        for i, (t, n) in enumerate(fracs)
    ]
    events.append({"event_id": "next", "ts": day.format(t="59:59.999999").replace("59:59.999999", "59:59"),
                   "model_raw": "gpt-4o-mini", "input_tokens": 16})  # fmt: skip
    run("import", str(write_jsonl(tmp_path / "f.jsonl", events)), "--db", str(db_path))
    flt = Filters(datetime(2025, 10, 20, tzinfo=UTC), datetime(2025, 11, 5, tzinfo=UTC), tz=tz)
    local_day = "2025-10-31" if tz == "UTC" else "2025-10-24"
    with connect(db_path, read_only=True) as con:
        q.prepare_session(con, load_pricebook(), {}, flt)
        for keys, want in ((["date"], {local_day: 31}), (["hour"], {"23": 31}), (["month"], {"2025-10": 31})):
            fast = rollup(q.cube(con, flt, keys), keys)
            slow = rollup(q.cube_per_event(con, flt, keys), keys)
            assert {str(k[0]): v["input_tokens"] for k, v in fast.items()} == want, keys  # 1+2+4+8+16
            assert fast == slow, keys


@pytest.mark.parametrize(
    "start,end",
    [
        (datetime(2025, 6, 20, tzinfo=UTC), datetime(2025, 9, 1, tzinfo=UTC)),  # after the o3 change
        (datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 6, 10, tzinfo=UTC)),  # ends on it
        (datetime(2025, 6, 10, tzinfo=UTC), datetime(2025, 6, 11, tzinfo=UTC)),  # starts on it
    ],
)
def test_ranges_that_hold_no_price_change(loaded: tuple[Path, list[dict[str, Any]]], start: Any, end: Any) -> None:
    db, _ = loaded
    flt = Filters(start=start, end=end, tz="UTC")
    with connect(db, read_only=True) as con:
        q.prepare_session(con, load_pricebook(), MEMBERS, flt)
        for keys in ([], ["model"], ["date", "model"]):
            fast = rollup(q.cube(con, flt, keys), [*keys, "unpriced_raw"])
            assert fast == rollup(q.cube_per_event(con, flt, keys), [*keys, "unpriced_raw"]), keys
            assert fast


def test_chat_parts_priced_after_grouping_equal_the_per_event_ones(tmp_path: Path) -> None:
    # report chats sums per (chat, unpriced name) from priced groups; the per-event engine is the
    # reference: the same rows, to the last decimal, first and last instants included, also
    # under a member filter (members map to teams; the event's own team wins)
    from usagectl.store.chats import chat_parts

    rnd = random.Random(3)
    events = _rich_events()
    for e in events:
        e["session_id"] = rnd.choice([None, *(f"chat-{i}" for i in range(25))])
        e["web_search_requests"] = rnd.choice([0, 0, 0, 2])  # priced only where a table has a rate
    db = tmp_path / "c.duckdb"
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db))
    book = load_pricebook()
    for flt in (_flt("UTC"), _flt("Asia/Kathmandu", member=("ana", "bo"))):
        with connect(db, read_only=True) as con:
            q.prepare_session(con, book, MEMBERS, flt)
            fast = chat_parts(con, flt)
            slow = chat_parts(con, flt, per_event=True)
        assert len(fast) > 25 and any(r["unpriced_raw"] for r in fast) and any(r["cost_usd"] for r in fast)
        assert fast == slow


def _service_per_event(con: Any, flt: Filters, dim: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The reference: the service report's sums over the per-event engine (``priced_events.sql``),
    one row per value of ``dim`` and one over all, and the exceptions per value."""
    base = q._filtered(flt)
    voice = "coalesce(json_extract(extra, '$.voice') = 'true'::JSON, false)"
    stats = con.execute(
        f"""SELECT {dim} AS key, grouping({dim}) AS g, sum(requests)::HUGEINT AS requests,
            sum(total_tokens)::HUGEINT AS total_tokens, sum(cost) AS cost_usd,
            coalesce(sum(requests) FILTER (WHERE cost IS NULL), 0)::HUGEINT AS unpriced_requests,
            quantile_cont(latency_ms, [0.5, 0.95]) AS latency, count(latency_ms) AS latency_events,
            coalesce(sum(requests) FILTER (WHERE status = 'error'), 0)::HUGEINT AS error_requests,
            coalesce(sum(requests) FILTER (WHERE status IS NOT NULL), 0)::HUGEINT AS status_requests,
            coalesce(sum(requests) FILTER (WHERE {voice}), 0)::HUGEINT AS voice_requests,
            sum(cost) FILTER (WHERE {voice}) AS voice_cost_usd
        FROM ({base.sql}) f GROUP BY GROUPING SETS (({dim}), ())""",
        base.params,
    ).fetchall()
    exc = con.execute(
        f"""SELECT {dim}, CASE WHEN status = 'error' THEN coalesce(error_type, '(unspecified)') END,
            CASE WHEN rate_id IS NULL THEN coalesce(cmodel, model_raw, '(none)') END,
            CASE WHEN rate_id IS NULL THEN no_web_price END,
            sum(requests)::HUGEINT, sum(total_tokens)::HUGEINT, sum(web_search_requests)::HUGEINT
        FROM ({base.sql}) f WHERE status = 'error' OR rate_id IS NULL GROUP BY 1, 2, 3, 4""",
        base.params,
    ).fetchall()
    return stats, exc


@pytest.mark.parametrize("where", [{}, {"team": ("core", "ops")}, {"model": ("gpt-4o", "o3")}])
def test_service_stats_priced_after_grouping_equal_the_per_event_ones(
    tmp_path: Path, where: dict[str, tuple[str, ...]]
) -> None:
    # report integrations / platforms sum per (value, status, error type, voice) from priced
    # groups, and take their latency percentiles from the events' own values carried per group
    from usagectl.store.analytics import service_stats

    rnd = random.Random(8)
    events = _rich_events()
    for e in events:
        e["integration"] = rnd.choice(["gmail", "slack", None])
        e["platform"] = rnd.choice(["web", "mobile", "api", None])
        e["status"] = rnd.choice(["success", "success", "error", None])
        if e["status"] == "error":
            e["error_type"] = rnd.choice(["timeout", "rate_limit", None])
        if rnd.random() < 0.7:
            e["latency_ms"] = rnd.randrange(20, 5000)
        if rnd.random() < 0.2:
            e["extra"] = {"voice": rnd.random() < 0.7, "audio_seconds": rnd.randrange(1, 60)}
        e["web_search_requests"] = rnd.choice([0, 0, 0, 2])  # unpriced where a table has no per-call rate
    db = tmp_path / "s.duckdb"
    run("import", str(write_jsonl(tmp_path / "s.jsonl", events)), "--db", str(db))
    flt = _flt("Europe/Berlin", **where)
    with connect(db, read_only=True) as con:
        q.prepare_session(con, load_pricebook(), MEMBERS, flt)
        for dim in ("integration", "platform"):
            got, got_exc = service_stats(con, flt, dim, voice=True)
            ref, ref_exc = _service_per_event(con, flt, dim)
            fast = {
                (r["key"], r["level"] != "key"): (
                    r["requests"], r["total_tokens"], r["cost_usd"], r["unpriced_requests"],
                    [r["latency_p50_ms"], r["latency_p95_ms"]], r["latency_events"], r["error_requests"],
                    r["status_requests"], r["voice_requests"], r["voice_cost_usd"],
                )
                for r in got
                if r["level"] in ("key", "all")
            }  # fmt: skip
            slow = {(k, bool(g)): (*rest[:4], list(rest[4]) if rest[4] else [None, None], *rest[5:])
                    for k, g, *rest in ref}  # fmt: skip
            if dim == "integration":  # its roll-ups are "with a value" and "without"; sum them for the total
                assert {r["level"] for r in got} == {"key", "some", "none"}
                slow = {k: v for k, v in slow.items() if not k[1]}
            assert fast == slow, (dim, where)
            assert sorted(map(tuple, ref_exc), key=str) == sorted(
                (
                    (r["key"], r["error_type"], r["unpriced_raw"], r["unpriced_web"], r["requests"],
                     r["total_tokens"], r["web_search_requests"])
                    for r in got_exc
                ),
                key=str,
            )  # fmt: skip
            assert any(r["unpriced_web"] for r in got_exc)  # the web-search cause is among them
            assert any(v[8] for v in slow.values()) and any(v[4][0] is not None for v in slow.values())
            assert any(v[3] for v in slow.values()) and ref_exc  # unpriced rows and errors both present


def _uncounted_buckets_db(tmp_path: Path) -> Path:
    """Provider buckets without a request count (``requests`` 0, as Anthropic's usage report
    stores them) of an unknown model, beside a counted event of it and priced usage. README: such
    a bucket counts as ONE unpriced request, per bucket, whatever a report groups by.

    2025-12-10: 24 hourly buckets h00..h23 of claude-mystery-9, 1,000 in + 100 out each: 24
                unpriced requests, 24 x 1,100 = 26,400 tokens (no chat)
    2025-12-11: bucket h09 of claude-mystery-9, 1,000 in + 100 out: 1 request, 1,100 tokens (no chat)
                M1 10:00 claude-mystery-9, requests 3, 2,000 in: 3 requests, 2,000 tokens (chat-1)
                P1 11:00 gpt-4o, 1 request, 1,000,000 in x $2.50/M = $2.50 (chat-1)
                P2 12:00 gpt-4o bucket (requests 0), 400,000 in x $2.50/M + 100,000 out x $10/M
                = $1.00 + $1.00 = $2.00: priced, so no unpriced request (no chat)
    Every claude-mystery-9 row is on platform "api" and file f1; P1 and P2 have neither.
    Unpriced: 12-10 24, 12-11 1 + 3 = 4, total 28 requests, 26,400 + 1,100 + 2,000 = 29,500
    tokens; requests 0 + 0 + 3 + 1 + 0 = 4; cost $2.50 + $2.00 = $4.50."""
    mystery = {"model_raw": "claude-mystery-9", "platform": "api", "file_id": "f1"}
    events: list[dict[str, Any]] = [
        {**mystery, "event_id": f"h{h:02d}", "ts": f"2025-12-10T{h:02d}:00:00Z", "requests": 0,
         "input_tokens": 1_000, "output_tokens": 100}
        for h in range(24)
    ]  # fmt: skip
    events += [
        {**mystery, "event_id": "h09b", "ts": "2025-12-11T09:00:00Z", "requests": 0, "input_tokens": 1_000,
         "output_tokens": 100},
        {**mystery, "event_id": "M1", "ts": "2025-12-11T10:00:00Z", "requests": 3, "input_tokens": 2_000,
         "session_id": "chat-1"},
        {"event_id": "P1", "ts": "2025-12-11T11:00:00Z", "model_raw": "gpt-4o", "input_tokens": 1_000_000,
         "session_id": "chat-1"},
        {"event_id": "P2", "ts": "2025-12-11T12:00:00Z", "model_raw": "gpt-4o", "requests": 0,
         "input_tokens": 400_000, "output_tokens": 100_000},
    ]  # fmt: skip
    db = tmp_path / "u.duckdb"
    run("import", str(write_jsonl(tmp_path / "u.jsonl", events)), "--db", str(db))
    return db


DEC = Filters(start=datetime(2025, 12, 1, tzinfo=UTC), end=datetime(2026, 1, 1, tzinfo=UTC), tz="UTC")


def test_a_bucket_without_a_request_count_is_one_unpriced_request_in_both_engines(tmp_path: Path) -> None:
    """``_uncounted_buckets_db``: 24 + 4 = 28 unpriced requests by the grouped engine and the
    per-event one, per day and in total, whatever the keys. (The grouped engine applied
    ``greatest(requests, 1)`` to a group's sum: the 24 buckets of 12-10 were 1 request, the
    bucket beside M1 none, 1 + 3 in total.)"""
    from usagectl.services.rollup import unpriced_models

    db = _uncounted_buckets_db(tmp_path)
    with connect(db, read_only=True) as con:
        q.prepare_session(con, load_pricebook(), {}, DEC)
        for keys in ([], ["date"], ["model"], ["date", "model"], ["month"], ["hour"], ["service_tier", "source"]):
            for engine in (q.cube, q.cube_per_event):
                cube = engine(con, DEC, keys)
                total = rollup(cube, [])[()]
                got = (total["unpriced_requests"], total["unpriced_tokens"], total["requests"], total["cost_usd"])
                assert got == (28, 29_500, 4, Decimal("4.5")), (keys, engine.__name__)
                (m,) = unpriced_models(cube)
                assert (m["model_raw"], m["requests"], m["unpriced_requests"]) == ("claude-mystery-9", 3, 28)
                if "date" in keys:
                    by_day = {str(k[0]): v["unpriced_requests"] for k, v in rollup(cube, ["date"]).items()}
                    assert by_day == {"2025-12-10": 24, "2025-12-11": 4}, (keys, engine.__name__)
        days = {str(r["date"]): (r["unpriced_requests"], r["cost_usd"]) for r in q.aggregate(con, DEC, ["date"])}
        by_model = {r["model"]: (r["unpriced_requests"], r["cost_usd"]) for r in q.aggregate(con, DEC, ["model"])}
    assert days == {"2025-12-10": (24, None), "2025-12-11": (4, Decimal("4.5"))}
    assert by_model == {"claude-mystery-9": (28, None), "gpt-4o": (0, Decimal("4.5"))}  # priced usage unaffected


def test_buckets_without_a_request_count_in_series_chats_files_and_platforms(tmp_path: Path) -> None:
    """``_uncounted_buckets_db`` through the other grouped queries. Daily series: 12-10 24,
    12-11 4. Chats: chat-1 holds M1 (3) and P1 (priced): 3; the usage without a chat holds the
    25 buckets of claude-mystery-9 (25) and P2 (priced): 25; the chats' unpriced model row
    counts 3. Files: f1 holds every claude-mystery-9 row, 24 + 1 + 3 = 28. Platforms: "api"
    28, the rest 0, all 28; the unpriced model of the exceptions 28. Both chat engines agree."""
    from usagectl.services.rollup import unpriced_models
    from usagectl.store.analytics import service_stats
    from usagectl.store.chats import chat_parts, chat_summary, file_summary
    from usagectl.store.series import daily_sets

    db = _uncounted_buckets_db(tmp_path)
    with connect(db, read_only=True) as con:
        q.prepare_session(con, load_pricebook(), {}, DEC)
        sets = daily_sets(con, DEC, ["model"])
        chats = chat_summary(con, DEC, None)
        assert chat_parts(con, DEC) == chat_parts(con, DEC, per_event=True)
        files, file_unpriced = file_summary(con, DEC)
        stats, exceptions = service_stats(con, DEC, "platform", voice=True)
    assert {str(r["date"]): r["unpriced_requests"] for r in sets[None]} == {"2025-12-10": 24, "2025-12-11": 4}
    mystery = {str(r["date"]): r["unpriced_requests"] for r in sets["model"] if r["key"] == "claude-mystery-9"}
    assert mystery == {"2025-12-10": 24, "2025-12-11": 4}
    assert [(r["session_id"], r["unpriced_requests"]) for r in chats["rows"]] == [("chat-1", 3)]
    assert (chats["chats"]["unpriced_requests"], chats["no_chat"]["unpriced_requests"]) == (3, 25)
    assert [(u["model_raw"], u["unpriced_requests"]) for u in chats["unpriced"]] == [("claude-mystery-9", 3)]
    assert [(f["file_id"], f["unpriced_requests"]) for f in files] == [("f1", 28)]
    assert [(u["model_raw"], u["unpriced_requests"]) for u in file_unpriced] == [("claude-mystery-9", 28)]
    by_level = {(r["level"], r["key"]): r["unpriced_requests"] for r in stats}
    assert by_level == {("key", "api"): 28, ("key", None): 0, ("all", None): 28}
    assert sum(r["voice_unpriced_requests"] for r in stats) == 0  # no voice message
    assert [(u["model_raw"], u["unpriced_requests"]) for u in unpriced_models(exceptions)] == [("claude-mystery-9", 28)]
