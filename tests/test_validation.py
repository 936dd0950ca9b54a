"""The generic validation of staged text columns (``store/validation.py``), column by column:
every bad text gives a reason (never a NULL that lets the row through with a default), and
the value expressions never raise for a row that carries a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from usagectl.models import EVENT_COLUMN_NAMES, EVENT_COLUMNS
from usagectl.store import validation

INT_COLUMNS = [c for c, kind in EVENT_COLUMNS if kind == "int"]
TS = "2025-11-03T10:00:00Z"


def _validate(rows: list[dict[str, str | None]]) -> list[dict[str, Any]]:
    """``_validation_select`` over ``rows`` staged as text (absent keys are NULL), in order."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    cols = ", ".join(f'"{c}" VARCHAR' for c in EVENT_COLUMN_NAMES)
    con.execute(f"CREATE TEMP TABLE _stage (_rec BIGINT, _line BIGINT, _raw VARCHAR, _problem VARCHAR, {cols}, "
                "_unknown VARCHAR, _fi BIGINT)")  # fmt: skip
    for i, r in enumerate(rows, 1):
        vals = [i, None, None, None] + [r.get(c) for c in EVENT_COLUMN_NAMES] + [r.get("_unknown"), 0]
        con.execute(f"INSERT INTO _stage VALUES ({', '.join('?' for _ in vals)})", vals)
    got = con.execute(validation._validation_select("jsonl", "_fi") + " ORDER BY _rec").fetchall()
    names = ["_rec", "_line", "_raw", "_reason", *EVENT_COLUMN_NAMES, "_fi"]
    return [dict(zip(names, g)) for g in got]


# 2^64 = 18446744073709551616 does not fit UBIGINT (the bound's cast): it must not pass as NULL
TOO_LARGE = ["18446744073709551616", "99999999999999999999999", "18446744073709551615", "1000000000000001"]


@pytest.mark.parametrize("column", INT_COLUMNS)
def test_counts_beyond_the_bound_are_rejected_in_every_integer_column(column: str) -> None:
    # the output as large as the part, so reasoning / tool output never exceed it (their own check)
    rows = [{"ts": TS, column: v, "output_tokens": v} if column != "output_tokens" else {"ts": TS, column: v}
            for v in [*TOO_LARGE, str(10**15)]]  # fmt: skip
    got = _validate(rows)
    for v, row in zip(TOO_LARGE, got):
        assert f"{column}: too large (over 10^15) ({v})" in row["_reason"].split("; "), row["_reason"]
    # 10^15 itself is the largest count accepted, stored as it is
    assert got[-1]["_reason"] is None
    assert got[-1][column] == 10**15


# a CSV written with ", " separators: each cell after the first starts with a space
SPACED = [" 50", "50 ", " +50 ", "\t50.0 ", " 050"]


@pytest.mark.parametrize("column", INT_COLUMNS)
def test_spaces_around_a_count_are_read_through_in_every_integer_column(column: str) -> None:
    rows = [{"ts": TS, column: v, "output_tokens": "50"} if column != "output_tokens" else {"ts": TS, column: v}
            for v in SPACED]  # fmt: skip
    for v, row in zip(SPACED, _validate(rows)):
        assert row["_reason"] is None, (v, row["_reason"])
        assert row[column] == 50, v  # by hand: " 50", "+50", "50.0" and "050" are all fifty


def test_spaces_around_a_reported_cost_are_read_through() -> None:
    got = _validate([{"ts": TS, "reported_cost_usd": v} for v in (" 0.5", "0.5 ", " 5e-1 ")])
    assert [(r["_reason"], r["reported_cost_usd"]) for r in got] == [(None, Decimal("0.5"))] * 3


def test_a_spaced_reasoning_count_is_still_compared_with_the_output() -> None:
    """Reasoning is part of the output: `` 500`` reasoning of 100 output is a reject, with
    spaces or without, not a row the comparison skips because its text has a space."""
    got = _validate([{"ts": TS, "reasoning_tokens": " 500", "tool_output_tokens": "+200 ", "output_tokens": "100 "}])
    assert got[0]["_reason"].split("; ") == [
        "reasoning_tokens exceeds output_tokens (reasoning is part of output)",
        "tool_output_tokens (200) exceeds output_tokens (100)",
    ]


def test_spaces_do_not_hide_the_true_reason() -> None:
    got = _validate([{"ts": TS, "input_tokens": v} for v in (" -3", " 12.5 ", " 2000000000000000 ", " lots")])
    assert [r["_reason"] for r in got] == [
        "input_tokens: negative ( -3)",
        "input_tokens: not an integer ( 12.5 )",
        "input_tokens: too large (over 10^15) ( 2000000000000000 )",
        "input_tokens: not a number ( lots)",
    ]


NASTY = ["see ticket 42", "{", "[1", "99999999999999999999999", "-1e400", "1e400", "NaN", "9999999999999",
         "9999999999.99999999999999", "2025-13-45T99:00:00Z", "", " ", "'", "\\", "\x00x"]  # fmt: skip


@pytest.mark.parametrize("unknown", [None, '{"note": "hi"}'])
def test_no_value_expression_raises_for_any_text_in_any_column(unknown: str | None) -> None:
    """The SELECT computes the values of the rejected rows too: a cast that raises for one bad
    cell would fail the whole import instead of rejecting that record."""
    rows: list[dict[str, str | None]] = [
        {"ts": TS, c: text, "_unknown": unknown} if c != "ts" else {"ts": text, "_unknown": unknown}
        for c in EVENT_COLUMN_NAMES
        for text in NASTY
    ]
    got = _validate(rows)
    assert len(got) == len(rows)
    # every text that is not JSON in extra is a reject of its own, and stores nothing
    # (by hand: the numbers, and NaN that DuckDB's JSON reader takes, are JSON)
    not_json = ["see ticket 42", "{", "[1", "2025-13-45T99:00:00Z", "", " ", "'", "\\", "\x00x"]
    for r, row in zip(rows, got):
        if "extra" in r:
            bad = r["extra"] in not_json
            assert (row["_reason"] == "extra: not valid JSON") == bad, (r, row["_reason"])
            assert (row["extra"] is None) == bad, (r, row["extra"])


@pytest.mark.parametrize(
    ("extra", "unknown", "stored"),
    [
        ('{"k": 1}', None, {"k": 1}),
        ('{"k": 1}', '{"note": "hi"}', {"k": 1, "note": "hi"}),  # an object merges with the unknown columns
        ("[1, 2]", '{"note": "hi"}', {"extra": [1, 2], "fields": {"note": "hi"}}),  # anything else is nested
        (None, '{"note": "hi"}', {"note": "hi"}),
    ],
)
def test_valid_extra_is_kept_and_merged(extra: str | None, unknown: str | None, stored: dict[str, Any]) -> None:
    (row,) = _validate([{"ts": TS, "extra": extra, "_unknown": unknown}])
    assert row["_reason"] is None
    assert json.loads(row["extra"]) == stored


def test_rfc3339_lowercase_t_and_z_are_the_same_instant_as_upper_case() -> None:
    texts = ["2025-11-03T10:00:00z", "2025-11-03t10:00:00Z", "2025-11-03t10:00:00z", " 2025-11-03T10:00:00z ",
             "2025-11-03t12:00:00+02:00", "2025-11-03T10:00:00.5z"]  # fmt: skip
    got = _validate([{"ts": t} for t in [*texts, "2025-13-03T10:00:00z"]])
    ten = datetime(2025, 11, 3, 10, 0, tzinfo=UTC)  # by hand: 12:00 at +02:00 is 10:00 UTC
    assert [(r["_reason"], r["ts"]) for r in got[:-1]] == [(None, ten)] * 5 + [(None, ten + timedelta(seconds=0.5))]
    # a 13th month is still no timestamp, in either case
    assert got[-1]["_reason"] == "ts: not a timestamp (2025-13-03T10:00:00z)"


def test_an_offset_iso_8601_does_not_allow_is_no_timestamp_and_the_others_keep_their_instant() -> None:
    """QA: DuckDB's cast takes any two digits as an offset's hours or minutes: ``+99:00`` moved
    the event four days back, ``-30:00`` one day on. ISO 8601 allows hours up to 23 and minutes
    and seconds up to 59; the Python readers (``_values.from_iso``) follow the same rule."""
    from usagectl.importers._values import from_iso

    bad = ["2026-11-01T10:00:00+99:00", "2026-11-01T10:00:00+05:99", "2026-11-01T10:00:00-30:00",
           "2026-11-01T10:00:00+24:00", "2026-11-01T10:00+99", "2026-11-01T10:00:00+05:30:75",
           "2026-11-01t10:00:00+99:00", "2026-11-01T10:00:00.250-2400"]  # fmt: skip
    for text in [*bad, "2026-11-10T12+05:99", "2026-11-10T12:00:00+05:30:99.5", "2026-11-10 12:00-0575"]:
        with pytest.raises(ValueError):  # Python's reader takes these, the minutes or seconds over 59
            from_iso(text.upper())
    good = {  # by hand: local time minus the offset
        "2026-11-01T10:00:00+23:59": datetime(2026, 10, 31, 10, 1, tzinfo=UTC),
        "2026-11-01T10:00:00-23:59": datetime(2026, 11, 2, 9, 59, tzinfo=UTC),
        "2026-11-01T10:00:00+0530": datetime(2026, 11, 1, 4, 30, tzinfo=UTC),
        "2026-11-01T10:00:00+05:30:15": datetime(2026, 11, 1, 4, 29, 45, tzinfo=UTC),
        "2026-11-01T10:00:00.5-12:00": datetime(2026, 11, 1, 22, 0, 0, 500000, tzinfo=UTC),
        "2026-11-01T10:00:00+02": datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
        "2026-11-30": datetime(2026, 11, 30, tzinfo=UTC),  # a date alone: its "-30" is no offset
        "2026-11-01T10:00:00.000Z": datetime(2026, 11, 1, 10, 0, tzinfo=UTC),
    }
    for text, instant in good.items():
        parsed = from_iso(text)
        assert (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)) == instant
    got = _validate([{"ts": t} for t in [*bad, *good]])
    assert [r["_reason"] for r in got[: len(bad)]] == [f"ts: not a timestamp ({t})" for t in bad]
    assert [(r["_reason"], r["ts"]) for r in got[len(bad) :]] == [(None, v) for v in good.values()]


@pytest.mark.parametrize("column", INT_COLUMNS)
def test_a_negative_zero_is_zero_in_every_integer_column(column: str) -> None:
    """QA (fuzz): a float column's -0.0 (Parquet, pandas) was rejected as "negative (-0.0)"
    where JSONL's -0 was read as 0. It is zero; -1 and -0.5 stay rejects."""
    values = ["-0.0", "-0", " -00.000 "]
    rows = [{"ts": TS, column: v, "output_tokens": "5"} if column != "output_tokens" else {"ts": TS, column: v}
            for v in [*values, "-1", "-0.5"]]  # fmt: skip
    got = _validate(rows)
    for v, row in zip(values, got):
        assert row["_reason"] is None, (v, row["_reason"])
        assert row[column] == 0
    assert f"{column}: negative (-1)" in got[3]["_reason"]
    assert f"{column}: negative (-0.5)" in got[4]["_reason"]


def test_a_count_that_is_no_count_is_not_compared_as_a_rounded_value() -> None:
    """An output of 12.5 is no count: its own reason says so, and no comparison speaks for a
    value it never held (QA: "tool_output_tokens (570) exceeds output_tokens (13)"). By hand:
    12.5 against a part of 570 or 13 (above and at the rounded 13), 0x10 (never 16) against 20,
    and a part of 13.5 (never 14) against an output of 13 give only their own reason."""
    got = _validate([
        {"ts": TS, "output_tokens": "12.5", "tool_output_tokens": "570"},
        {"ts": TS, "output_tokens": "12.5", "tool_output_tokens": "13", "reasoning_tokens": "14"},
        {"ts": TS, "output_tokens": "0x10", "tool_output_tokens": "20"},
        {"ts": TS, "output_tokens": "13", "tool_output_tokens": "13.5", "reasoning_tokens": "13.5"},
    ])  # fmt: skip
    assert [r["_reason"] for r in got] == [
        "output_tokens: not an integer (12.5)",
        "output_tokens: not an integer (12.5)",
        "output_tokens: not a number (0x10)",
        "reasoning_tokens: not an integer (13.5); tool_output_tokens: not an integer (13.5)",
    ]
