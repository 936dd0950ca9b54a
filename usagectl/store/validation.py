"""SQL that validates staged text columns into typed canonical columns.

Every canonical column is staged as text; these expressions turn each into its type or into a
reason (``input_tokens: negative (-3)``), so a bad value becomes a reject instead of a NULL or a
crash. ``checked_select`` is the same validation for a stager that fills only some columns with
values it already typed (the Claude Code stager).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from usagectl.models import (
    EVENT_COLUMN_NAMES,
    EVENT_COLUMNS,
    MAX_COUNT,
    MONEY_LIMIT,
    MONEY_LIMIT_TEXT,
    NO_GEO,
    STANDARD_TIERS,
    ZERO_DEFAULT_INTS,
    sql_list,
)

_KINDS = dict(EVENT_COLUMNS)
# An integer as text (SQL regular expression): ``12``, ``+5``, ``12.0``, ``007``. Whitespace
# around it is allowed, as by the cast to BIGINT that makes the value: a CSV written with ", "
# separators has `` 50`` in its cells (headers and timestamps are read through spaces too).
_INT_TEXT = "\\s*\\+?[0-9]+(\\.0*)?\\s*"
# a count in scientific notation (``1e3``, ``2.5E+2``): an integer when its value is whole, as
# JSON's 1e3 is read in JSONL (its value exact through DECIMAL, never a binary float)
_EXP_TEXT = "\\s*\\+?[0-9]+(\\.[0-9]+)?[eE]\\+?[0-9]{1,2}\\s*"
# zero with a minus sign (a float column's -0.0, as Parquet and pandas write it): zero, not negative
_NEG_ZERO = "\\s*-0+(\\.0*)?\\s*"


# the stored service tier: lower case; "", "default" and "auto" are standard; a tier in an
# inference geo keeps it as ``@geo`` unless the geo is the default (``models.NO_GEO``)
_WS = "' ' || chr(9) || chr(10) || chr(13)"  # what str.strip() removes in the price book, as SQL trims it
_T = f"lower(trim(coalesce(service_tier, ''), {_WS}))"
_BASE = f"trim(split_part({_T}, '@', 1), {_WS})"
_GEO = f"trim(substr({_T}, strpos({_T}, '@') + 1), {_WS})"
_PLAIN_SQL = sql_list(STANDARD_TIERS)
_TIER = (  # the common spellings first: a plain comparison, no string functions
    "CASE WHEN service_tier IS NULL OR service_tier = 'standard' THEN 'standard' "
    f"WHEN NOT contains({_T}, '@') THEN CASE WHEN {_T} IN {_PLAIN_SQL} THEN 'standard' ELSE {_T} END "
    f"ELSE CASE WHEN {_BASE} IN {_PLAIN_SQL} THEN 'standard' ELSE {_BASE} END "
    f"|| CASE WHEN {_GEO} IN {sql_list(NO_GEO)} THEN '' ELSE '@' || {_GEO} END END"
)


def _q(name: str) -> str:
    """Quote an identifier (names come from the allow-list or a file header)."""
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _int_fast_ok(c: str) -> str:
    """True for the common case: absent, or plain non-negative digits up to ``MAX_COUNT``
    (checked by a cast round trip, far cheaper than a regular expression; a round trip leaves
    no leading zeros, so the bound is a length test, not a second cast of every value)."""
    q = _q(c)
    limit = str(MAX_COUNT)
    return (
        f"({q} IS NULL OR (coalesce(TRY_CAST({q} AS UBIGINT)::VARCHAR = {q}, false) "
        f"AND (length({q}) < {len(limit)} OR {q} = '{limit}')))"
    )


def _int_checks(c: str) -> tuple[str, str]:
    """(reason or NULL, value) of an integer column staged as text. ``12.0`` and ``+5`` are
    integers; ``12.5``, ``-3``, ``abc`` and counts beyond ``MAX_COUNT`` are rejected with a reason.

    ``ok`` is never NULL for any text: ``CASE WHEN NOT ok`` gives no reason for a NULL, so a
    count the bound's cast cannot hold (2^64 and more) would pass and be stored as its default."""
    q = _q(c)
    exact = f"TRY_CAST({q} AS DECIMAL(38, 6))"
    ok = (
        f"({_int_fast_ok(c)} OR (regexp_full_match({q}, '{_INT_TEXT}') "
        f"AND coalesce(TRY_CAST(regexp_extract({q}, '[0-9]+') AS UBIGINT) <= {MAX_COUNT}, false)) "
        f"OR (regexp_full_match({q}, '{_EXP_TEXT}') AND coalesce({exact} = trunc({exact}) "
        f"AND {exact} <= {MAX_COUNT}, false)) "
        f"OR regexp_full_match({q}, '{_NEG_ZERO}'))"
    )
    reason = (
        f"CASE WHEN NOT {ok} THEN '{c}: ' || CASE "
        f"WHEN regexp_full_match({q}, '\\s*-[0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?\\s*') THEN 'negative' "
        f"WHEN regexp_full_match({q}, '{_INT_TEXT}') OR (regexp_full_match({q}, '{_EXP_TEXT}') "
        f"AND {exact} = trunc({exact})) THEN 'too large (over 10^15)' "
        f"WHEN TRY_CAST({q} AS DOUBLE) IS NOT NULL AND regexp_full_match({q}, '\\s*[0-9.eE+-]+\\s*') THEN 'not an integer' "
        f"ELSE 'not a number' END || ' (' || left({q}, 40) || ')' END"
    )
    value = f"coalesce(TRY_CAST({q} AS BIGINT), TRY_CAST({exact} AS BIGINT))"
    if c in ZERO_DEFAULT_INTS:
        value = f"coalesce({value}, 0)"
    elif c == "requests":
        value = f"coalesce({value}, 1)"
    return reason, value


def _count_value(c: str) -> str:
    """A count staged as text, as a number for comparisons: absent is 0; plain digits by an
    integer cast, another spelling of a whole non-negative number (``1.2e1``, `` 12.0``) by
    its exact decimal; anything else (negative, fractional, no number) NULL, so that no
    comparison speaks for it (its own check rejects it).

    The integer cast only for text it gives back unchanged: the cast rounds ``12.5`` to 13 and
    reads ``0x10`` as 16, and a comparison with such a value quoted a count the record never
    held (QA: "tool_output_tokens (570) exceeds output_tokens (13)" for an output of 12.5)."""
    q = _q(c)
    d = f"TRY_CAST({q} AS DECIMAL(38, 6))"
    whole = f"regexp_full_match({q}, '{_INT_TEXT}|{_EXP_TEXT}|{_NEG_ZERO}')"
    return (
        f"CASE WHEN {q} IS NULL OR trim({q}) = '' THEN 0 "
        f"WHEN TRY_CAST({q} AS UBIGINT)::VARCHAR = {q} THEN TRY_CAST({q} AS UBIGINT) "
        f"WHEN {whole} AND {d} >= 0 AND {d} = trunc({d}) THEN {d} END"
    )


def _rough_count(c: str) -> str:
    """``_count_value`` without its guard, for the cheap test that every row passes through
    (the guard's round trip through text costs a third more): it takes ``12.5`` for 13, but a
    row with such a count fails that count's own cheap test, and the reasons of a row that
    fails use ``_count_value``."""
    q = _q(c)
    d = f"TRY_CAST({q} AS DECIMAL(38, 6))"
    return (
        f"CASE WHEN {q} IS NULL OR trim({q}) = '' THEN 0 ELSE coalesce(TRY_CAST({q} AS UBIGINT), "
        f"CASE WHEN {d} >= 0 AND {d} = trunc({d}) THEN {d} END) END"
    )


def _shown(value: str, c: str) -> str:
    """A count of ``_count_value`` as the integer it is (``9``, not ``9.000000``), else as given."""
    return f"coalesce(TRY_CAST({value} AS BIGINT)::VARCHAR, {_q(c)})"


# A timestamp: what DuckDB casts, epoch milliseconds or seconds, or RFC 3339 with a lowercase
# ``t`` or ``z`` (RFC 3339 5.6 allows them; DuckDB's cast takes only upper case: in that
# shape of digits, ``-``, ``:``, ``.`` and ``+``, upper() changes nothing but the two letters).
# DuckDB's cast takes any two digits as an offset's hours, minutes or seconds (``+99:00`` moves
# the event four days); ISO 8601 allows hours up to 23 and minutes and seconds up to 59
# (``timeutil.from_iso``, the Python readers' rule). Only a text not ending in ``Z`` is searched for such an offset.
_BAD_OFFSET = (
    "CASE WHEN suffix(ts, 'Z') THEN false ELSE regexp_matches(ts, ':[0-9]{2}([.,][0-9]*)?[+-]"
    "(2[4-9]|[3-9][0-9]|[0-9]{2}:?[6-9][0-9]|[0-9]{2}:?[0-9]{2}:?[6-9][0-9])(:?[0-9]{2})*\\s*$') END"
)
_TS_VALUE = (
    "CASE WHEN TRY_CAST(ts AS TIMESTAMPTZ) IS NOT NULL "  # the guard inside: outside, it doubles the cost
    f"THEN CASE WHEN {_BAD_OFFSET} THEN NULL ELSE TRY_CAST(ts AS TIMESTAMPTZ) END "
    "WHEN regexp_full_match(ts, '[0-9]{12,13}') THEN make_timestamptz(CAST(ts AS BIGINT) * 1000) "
    "WHEN regexp_full_match(ts, '[0-9]{9,10}(\\.[0-9]+)?') THEN make_timestamptz(CAST(CAST(ts AS DECIMAL(20,6)) * 1000000 AS BIGINT)) "
    "WHEN regexp_full_match(ts, '\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9:.]+([Zz]|[+-][0-9:]+)?\\s*') "
    f"THEN CASE WHEN {_BAD_OFFSET} THEN NULL ELSE TRY_CAST(upper(ts) AS TIMESTAMPTZ) END END"
)


def _validation_parts(default_source: str, cols: Collection[str]) -> tuple[str, list[str]]:
    """(reason SQL, value SQLs) validating the text columns ``cols`` of a staged row (the
    others are absent: an absent column never has a reason, see ``_absent_value``)."""
    reasons: list[str] = []
    values: list[str] = []
    fast: list[str] = []
    for c, kind in EVENT_COLUMNS:
        if c not in cols:
            continue
        q = _q(c)
        if kind == "int":
            r, v = _int_checks(c)
            reasons.append(r)
            values.append(f"{v} AS {q}")
            fast.append(_int_fast_ok(c))
        elif kind == "ts":
            reasons.append(
                "CASE WHEN ts IS NULL OR trim(ts) = '' THEN 'missing ts' "
                f"WHEN ({_TS_VALUE}) IS NULL THEN 'ts: not a timestamp (' || left(ts, 40) || ')' "
                f"WHEN ({_TS_VALUE}) < TIMESTAMPTZ '2000-01-01' OR ({_TS_VALUE}) > TIMESTAMPTZ '2100-01-01' "
                "THEN 'ts: out of range (' || left(ts, 40) || '; usage times must lie from 2000-01-01 to 2100-01-01)' END"
            )
            values.append(f"({_TS_VALUE}) AS ts")
        elif kind == "money":
            mv = f"coalesce(TRY_CAST({q} AS DECIMAL(38,12)), TRY_CAST(TRY_CAST({q} AS DOUBLE) AS DECIMAL(38,12)))"
            reasons.append(  # a number too large for the column, or over models.MONEY_LIMIT: out of range
                f"CASE WHEN {q} IS NULL THEN NULL "
                f"WHEN {mv} IS NULL AND NOT coalesce(isfinite(TRY_CAST({q} AS DOUBLE)), false) "
                f"THEN '{c}: not a number (' || left({q}, 40) || ')' "
                f"WHEN {mv} IS NULL OR abs({mv}) > {MONEY_LIMIT} "
                f"THEN '{c}: out of range (' || left({q}, 40) || '; {MONEY_LIMIT_TEXT})' END"
            )
            values.append(f"{mv} AS {q}")
        elif kind == "json":
            reasons.append(f"CASE WHEN {q} IS NOT NULL AND NOT json_valid({q}) THEN '{c}: not valid JSON' END")
            # text that is not JSON is NULL here (its row is a reject, with the reason above):
            # every cast to JSON below would raise, and the SELECT computes the value of the
            # rejected rows too, so one bad cell would fail the whole import
            merged = (
                f"CASE WHEN {q} IS NOT NULL AND NOT json_valid({q}) THEN NULL "
                f"WHEN _unknown IS NULL OR _unknown = '{{}}' THEN {q} "
                f"WHEN {q} IS NULL THEN _unknown "
                # a key both top-level and in the given extra: the given extra's stays, and the
                # top-level ones go under "fields" (never dropped)
                f"WHEN json_type({q}) = 'OBJECT' AND len(list_intersect(json_keys(_unknown), json_keys({q}))) = 0 "
                f"THEN json_merge_patch(_unknown, {q})::VARCHAR "
                f"WHEN json_type({q}) = 'OBJECT' THEN json_merge_patch({q}, json_object('fields', _unknown::JSON))::VARCHAR "
                f"ELSE json_object('extra', {q}::JSON, 'fields', _unknown::JSON)::VARCHAR END"
            )
            if c == "extra":  # a given object in key order when the id hashes it (EXTRA_ID_SQL)
                named = "nullif(event_id, '') IS NOT NULL OR " if "event_id" in cols else ""
                merged = f"CASE WHEN {named}{q} IS NULL THEN {merged} ELSE {sorted_json_sql(f'({merged})')} END"
            values.append(f"({merged})::JSON AS {q}")
        elif c == "status":
            reasons.append(
                "CASE WHEN status IS NOT NULL AND lower(trim(status)) NOT IN ('success', 'error') "
                "THEN 'status: must be success or error (' || left(status, 40) || ')' END"
            )
            values.append("lower(trim(nullif(status, ''))) AS status")
        elif c == "service_tier":  # one spelling per tier: pricing joins on it (QA: "default@us")
            values.append(f"{_TIER} AS service_tier")
        elif c == "source":
            values.append(f"coalesce(nullif(source, ''), {_lit(default_source)}) AS source")
        else:
            values.append(f"nullif({q}, '') AS {q}")
    # a part of output is never more than it: compared as the counts they are (12, 12.0, +12,
    # 1.2e1 alike; QA: an exponent form was not compared at all); a count that is no count has
    # its own reason
    if "reasoning_tokens" in cols:  # absent: 0, never more than the output
        part, out = _count_value("reasoning_tokens"), _count_value("output_tokens")
        reasons.append(
            f"CASE WHEN {part} > {out} THEN 'reasoning_tokens exceeds output_tokens (reasoning is part of output)' END"
        )
    if "tool_output_tokens" in cols:  # a part of output (message show splits output into response and tools)
        part, out = _count_value("tool_output_tokens"), _count_value("output_tokens")
        reasons.append(
            f"CASE WHEN {part} > {out} "
            f"THEN 'tool_output_tokens (' || {_shown(part, 'tool_output_tokens')} || ') exceeds output_tokens (' "
            f"|| {_shown(out, 'output_tokens')} || ')' END"
        )
    for c, check in (
        (
            "ts",
            f"TRY_CAST(ts AS TIMESTAMPTZ) BETWEEN TIMESTAMPTZ '2000-01-01' AND TIMESTAMPTZ '2100-01-01' AND NOT {_BAD_OFFSET}",
        ),
        (
            "reported_cost_usd",
            f"(reported_cost_usd IS NULL OR abs(TRY_CAST(reported_cost_usd AS DECIMAL(38,12))) <= {MONEY_LIMIT})",
        ),
        ("extra", "(extra IS NULL OR json_valid(extra))"),
        ("status", "(status IS NULL OR status IN ('success', 'error'))"),
        ("reasoning_tokens", f"coalesce({_rough_count('reasoning_tokens')} <= {_rough_count('output_tokens')}, true)"),
        (
            "tool_output_tokens",
            f"coalesce({_rough_count('tool_output_tokens')} <= {_rough_count('output_tokens')}, true)",
        ),
    ):
        if c in cols:
            fast.append(check)
    # the cheap test clears almost every row; only the others get the detailed reasons
    reason_sql = (
        f"CASE WHEN _problem IS NOT NULL THEN _problem WHEN {' AND '.join(fast) or 'true'} THEN NULL "
        f"ELSE nullif(concat_ws('; ', {', '.join(reasons) or 'NULL'}), '') END"
    )
    return reason_sql, values


def _validation_select(default_source: str, fi_sql: str = "0::BIGINT") -> str:
    reason_sql, values = _validation_parts(default_source, EVENT_COLUMN_NAMES)
    return f"SELECT _rec, _line, _raw, {reason_sql} AS _reason, {', '.join(values)}, {fi_sql} AS _fi FROM _stage"


def checked_select(default_source: str, text_cols: Collection[str], typed: Mapping[str, str], from_sql: str) -> str:
    """The SELECT a self-validating stager (``prechecked``) makes ``_checked`` from: ``from_sql``
    gives ``_rec``, ``_fi``, ``_problem`` and the canonical columns ``text_cols`` as text, which
    get exactly the checks and conversions of the generic path; ``typed`` maps further
    canonical columns to SQL of their final type that the stager vouches for (constants, JSON
    it built itself). Columns in neither are absent (``_absent_value``) and not stored."""
    assert "ts" in text_cols and "extra" not in text_cols and not set(text_cols) & set(typed)
    reason_sql, values = _validation_parts(default_source, text_cols)
    values += [f"{sql} AS {_q(c)}" for c, sql in typed.items()]
    return (
        f"SELECT _rec, NULL::BIGINT AS _line, NULL::VARCHAR AS _raw, {reason_sql} AS _reason, "
        f"{', '.join(values)}, _fi FROM ({from_sql})"
    )


def _absent_value(c: str, default_source: str) -> str:
    """What the generic validation makes of a column that was not staged (NULL text)."""
    kind = _KINDS[c]
    if kind == "int":
        return "1::BIGINT" if c == "requests" else "0::BIGINT" if c in ZERO_DEFAULT_INTS else "NULL::BIGINT"
    if c == "source":
        return _lit(default_source)
    if c == "service_tier":
        return "'standard'"
    return {"ts": "NULL::TIMESTAMPTZ", "money": "NULL::DECIMAL(38,12)", "json": "NULL::JSON"}.get(kind, "NULL::VARCHAR")


# The content an event without an id is identified by: every canonical column but ``source``
# (the same rows read as CSV and as JSONL are the same events) and ``event_id`` itself. Rows that
# differ in any of them (a team, a status, an unknown column kept in ``extra``) are different
# events; until migration 7 the attribution columns, status, files, reported cost and extra were
# left out, and rows differing only there were taken for copies.
_ID_PARTS = (
    "provider", "model_raw", "model", "service_tier", "member", "project", "workspace", "api_key",
    "feature", "tool", "integration", "platform", "session_id", "message_id",
    "team", "department", "cost_center", "chat_title", "status", "error_type", "file_id", "file_name",
)  # fmt: skip


def sorted_json_sql(x: str) -> str:
    """SQL of the JSON text ``x`` with an object's top-level keys in order (a value that is no
    object, or whose keys are in order already, as it is). Each value is found by its JSON
    Pointer (``~`` and ``/`` escaped) and written minified; a key that repeats is written once,
    with its first value (as DuckDB's reader reads it)."""
    keys = f"json_keys({x})"
    rebuilt = (
        f"'{{' || array_to_string(list_transform(list_sort(list_distinct({keys})), lambda k: to_json(k)::VARCHAR || ':' "
        f"|| json_extract({x}, '/' || replace(replace(k, '~', '~0'), '/', '~1'))::VARCHAR), ',') || '}}'"
    )
    return f"CASE WHEN json_type({x}) <> 'OBJECT' OR {keys} = list_sort({keys}) THEN {x} ELSE {rebuilt} END"


# ``extra`` as the id hashes it: minified, an empty object as none. Its top-level keys are in
# order: the stagers keep a file's unknown columns so, and validation puts a given ``extra``
# object so (``sorted_json_sql``): a CSV keeps its unknown columns in header order, a JSONL
# file's are sorted, and an ``extra`` object may come in any order, and the same content must get
# the same id (QA: the same event from a CSV and a JSONL file was stored twice).
def extra_id_sql(extra: str = "extra") -> str:
    return f"coalesce(nullif(json({extra})::VARCHAR, '{{}}'), '')"


EXTRA_ID_SQL = extra_id_sql()


def _event_id_sql(given: Mapping[str, str] | None = None, extra: str = EXTRA_ID_SQL) -> str:
    """SQL of the id of an event without one, over its validated columns (``_checked``).
    ``given``: SQL to use for some columns instead of their own (migration 7 recomputes stored
    ids with ``model`` and ``provider`` as the file gave them: the import fills them in later).
    ``extra``: the SQL of ``extra``'s part (migration 10 recomputes ids hashed over it as written)."""
    col = dict(given or {})
    ints = [c for c, k in EVENT_COLUMNS if k == "int"]
    parts = (
        ["strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ')"]
        + [f"coalesce({col.get(c, _q(c))}, '')" for c in _ID_PARTS]
        + [f"coalesce({_q(c)}::VARCHAR, '')" for c in ints]
        + ["coalesce(reported_cost_usd::VARCHAR, '')", f"({extra})"]
    )
    return "'h:' || left(sha256(concat_ws(chr(31), " + ", ".join(parts) + ")), 32)"
