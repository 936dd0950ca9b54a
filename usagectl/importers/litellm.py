"""LiteLLM proxy ``LiteLLM_SpendLogs`` exports (FORMATS.md section 6): one row per request.

Two shapes: CSV from psql ``\\copy "LiteLLM_SpendLogs" TO ... CSV HEADER`` (columns found by
header name, never by position; ``metadata``/``request_tags`` are JSON in quoted fields) and
JSON from ``GET /spend/logs`` (an array of row objects, JSON Lines, or a ``{"data": [...]}`` page).

Token buckets (exclusive, PRODUCT.md) come from the row's counts and its usage object (the
response's usage), read from the first of these that logs the cache (any cache key, 0 included),
else from the first present:

1. ``metadata.usage_object`` (null for pass-through rows, absent from older rows);
2. ``metadata.additional_usage_values``: the same usage without its three totals, which LiteLLM
   writes on every row (``spend_tracking_utils.get_logging_payload``), older rows included;
3. the ``usage`` column of early ``GET /spend/logs`` rows (LiteLLM PR #1575), the only place their
   counts were: read only when metadata holds neither object above.

The counts are the ``prompt_tokens``/``completion_tokens`` columns; a row without them (a JSON
export may leave them out) takes them from those objects, in the same order. Then:

* chat-completions call types follow OpenAI: ``prompt_tokens`` INCLUDES cache reads and writes,
  so uncached input = prompt - cache_read - cache_creation;
* ``anthropic_messages`` may follow Anthropic (prompt EXCLUDES the cache, LiteLLM PR #23342):
  decided per row - Anthropic-style when ``prompt_tokens`` is smaller than the cache it would
  have to contain, or when the usage object is Anthropic's own shape (``input_tokens`` with cache keys);
* the 5m/1h split of cache writes is often not logged (LiteLLM #15056): all writes count as 5m
  unless a split is present, at ``cache_creation`` (Anthropic's shape) or
  ``prompt_tokens_details.cache_creation_token_details`` (LiteLLM's chat usage);
* ``cache_hit == "True"`` rows were served by LiteLLM's own cache (spend 0, tokens copied from the
  original call): zero billed tokens, the copied counts kept in ``extra.cached_response_tokens``;
* ``status == "failure"`` rows are requests with status error and no tokens.

``api_key`` is the key alias (``metadata.user_api_key_alias``) when there is one, the ``api_key``
column (the virtual key's SHA-256) then kept as ``extra.api_key_hash``; else that column.
``spend`` is kept exactly (Decimal from the text) as ``reported_cost_usd``. Timestamps without a
zone are UTC. The daily aggregate tables (``LiteLLM_DailyUserSpend`` ...) are refused: they are
sums of the same requests. The ``messages``/``response`` columns (prompts, when
``store_prompts_in_spend_logs`` is on) are never copied; every other column the mapping does not
use is kept in ``extra`` as it is, and the metadata keys it does not use under ``extra.metadata``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, cast

from usagectl.errors import InputError
from usagectl.importers._csv import csv_records, header_problem, other_separator
from usagectl.importers._pages import plain
from usagectl.importers._values import (
    _Bad,
    _clean,
    _int,
    _json,
    _loads,
    _money,
    _no_constant,
    _obj,
    _show,
    _text,
    _ts,
    anthropic_tier,
)
from usagectl.models import Record, json_failure, not_an_object

# LiteLLM_SpendLogs columns (schema.prisma order); headers are matched case-insensitively
COLUMNS = (
    "request_id", "call_type", "api_key", "spend", "total_tokens", "prompt_tokens", "completion_tokens",
    "startTime", "endTime", "request_duration_ms", "completionStartTime", "model", "model_id", "model_group",
    "custom_llm_provider", "api_base", "user", "metadata", "cache_hit", "cache_key", "request_tags", "team_id",
    "organization_id", "end_user", "requester_ip_address", "messages", "response", "session_id", "status",
    "mcp_namespaced_tool_name", "agent_id", "proxy_server_request",
)  # fmt: skip
_CANON = {c.lower(): c for c in COLUMNS}
_EXACT = frozenset(COLUMNS)
_PRIVATE = ("messages", "response", "proxy_server_request")  # prompt/response text: never copied
# the billed tier in a response's JSON text (the only thing read of it)
_RESPONSE_TIER = re.compile(r'"service_tier"\s*:\s*"([A-Za-z_]{1,40})"')
# the columns and metadata keys mapped above (onto the event or named keys of ``extra``): every
# other column (cache_key, requester_ip_address, a column of a later LiteLLM) is kept in ``extra``
# as it is, and every other metadata key under ``extra.metadata``
_MAPPED = frozenset(COLUMNS) - {"cache_key", "requester_ip_address"}
_META_MAPPED = frozenset((
    "usage_object", "error_information", "user_api_key_alias", "user_api_key_org_id", "user_api_key_team_alias",
    "spend_logs_metadata", "user_api_key_user_id", "user_api_key_team_id",
))  # fmt: skip
_DAILY = ("date", "api_requests", "successful_requests")
_DAILY_WHY = (
    "this is a LiteLLM daily aggregate table (columns date, api_requests, successful_requests), not "
    "LiteLLM_SpendLogs: its rows are sums of the same requests SpendLogs holds, so importing it would "
    "count them twice. Export LiteLLM_SpendLogs instead (psql \\copy or GET /spend/logs)"
)

# ---------------------------------------------------------------- one row -> canonical fields


def _num(where: dict[str, Any], key: str, path: str) -> int | None:
    """A count of a usage object, ``path`` naming where it sits (a JSON integer, nearly always:
    checked without building its name)."""
    value = where.get(key)
    if value is None or (type(value) is int and 0 <= value < 2**63):
        return value
    return _int(value, f"{path}{key}")


# where a row's usage object (the response's usage) is logged, in order of precedence
_USAGE_OBJECT = "metadata.usage_object"
_ADDITIONAL = "metadata.additional_usage_values"
_USAGE_COLUMN = "usage"
# the keys that say a usage object logged the cache (a count of 0 says it too)
_CACHE_KEYS = (
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "cache_creation",
    "cache_creation_token_details",
)
_CACHE_DETAIL_KEYS = ("cached_tokens", "cache_creation_tokens", "cache_creation_token_details")


def _logs_cache(usage: dict[str, Any]) -> bool:
    """Whether a usage object says anything about the cache (counts of 0 included)."""
    for key in _CACHE_KEYS:
        if usage.get(key) is not None:
            return True
    for details in (usage.get("prompt_tokens_details"), usage.get("input_tokens_details")):
        if isinstance(details, dict) and any(details.get(k) is not None for k in _CACHE_DETAIL_KEYS):
            return True
    return False


def _usage_objects(
    uo: dict[str, Any] | None, meta: dict[str, Any], row: dict[str, Any], counts_missing: bool
) -> list[tuple[str, dict[str, Any]]]:
    """The usage objects a row logs, in order of precedence (module docstring): the non-empty
    ``metadata.usage_object`` and ``metadata.additional_usage_values``, else the ``usage`` column
    of early ``/spend/logs`` rows. When the row has no counts of its own that column is the only
    place left, so one that is not a JSON object is a reject, never 0 tokens."""
    found = [(name, obj) for name, obj in ((_USAGE_OBJECT, uo), (_ADDITIONAL, meta.get("additional_usage_values")))
             if isinstance(obj, dict) and obj]  # fmt: skip
    if found or row.get("usage") in (None, ""):
        return found
    try:
        column = _json(row["usage"], _USAGE_COLUMN)
    except _Bad:
        if counts_missing:
            raise
        return found
    if isinstance(column, dict) and column:
        return [(_USAGE_COLUMN, column)]
    if counts_missing and column is not None:
        raise _Bad(f"usage: not a JSON object ({_show(column)})")
    return found


def _tokens(
    prompt: int, completion: int, uo: dict[str, Any] | None, extra: dict[str, Any], call_type: str | None = None,
    provider: str | None = None, source: str = _USAGE_OBJECT,
) -> dict[str, int]:  # fmt: skip
    """Exclusive buckets from the row's counts and its usage object ``uo`` (logged at ``source``).
    ``prompt_tokens`` smaller than the cache it would hold is read Anthropic's way (the cache
    apart) only where that way can be LiteLLM's: an ``anthropic_messages`` call, or a call of no
    stated type to a provider that is not OpenAI's; elsewhere it is a row that contradicts
    itself, a reject."""
    if uo is None:
        extra["usage"] = "no metadata.usage_object: input_tokens = prompt_tokens, cache unknown"
        return {"input_tokens": prompt, "output_tokens": completion}

    at = source + "."
    ptd, itd = _obj(uo.get("prompt_tokens_details")), _obj(uo.get("input_tokens_details"))
    otd = _obj(uo.get("completion_tokens_details")) or _obj(uo.get("output_tokens_details"))
    read = _num(uo, "cache_read_input_tokens", at)
    if read is None:
        read = _num(ptd, "cached_tokens", at + "prompt_tokens_details.") or _num(
            itd, "cached_tokens", at + "input_tokens_details."
        )
    write = _num(uo, "cache_creation_input_tokens", at)
    if write is None:
        write = _num(ptd, "cache_creation_tokens", at + "prompt_tokens_details.")
    read, write = read or 0, write or 0
    w5, w1 = _write_split(uo, ptd, at)
    if not write:  # a split without its total (or a total of 0): the split counts
        write = w5 + w1
    if w5 + w1 != write:
        if write:
            extra["cache_write_split"] = "5m/1h split not logged (LiteLLM #15056): all cache writes counted as 5m"
        w5, w1 = write, 0
    anthropic_shape = (
        "input_tokens" in uo
        and "prompt_tokens" not in uo
        and not itd
        and any(k in uo for k in ("cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation"))
    )
    if anthropic_shape:
        uncached = _num(uo, "input_tokens", at) or 0
        extra["input_convention"] = f"anthropic: {source.removeprefix('metadata.')}.input_tokens excludes the cache"
    elif prompt < read + write:
        if not _anthropic_possible(call_type, provider):
            raise _Bad(
                f"cache reads and writes in {source} ({read + write}) exceed prompt_tokens ({prompt}), "
                f"which holds them for call type {call_type or '(none)'} of provider {provider or '(none)'}"
            )
        uncached = prompt
        extra["input_convention"] = "anthropic: prompt_tokens excludes the cache (smaller than the cache)"
    else:
        uncached = prompt - read - write
        if read or write:
            extra["input_convention"] = "openai: prompt_tokens includes cache reads and writes"
    reasoning = _num(otd, "reasoning_tokens", at + "completion_tokens_details.") or 0
    web = _num(_obj(uo.get("server_tool_use")), "web_search_requests", at + "server_tool_use.") or 0
    return {
        "input_tokens": uncached,
        "cache_read_tokens": read,
        "cache_write_5m_tokens": w5,
        "cache_write_1h_tokens": w1,
        "output_tokens": completion,
        "reasoning_tokens": reasoning,
        "web_search_requests": web,
    }


def _write_split(uo: dict[str, Any], ptd: dict[str, Any], at: str) -> tuple[int, int]:
    """The 5m and 1h cache writes of a usage object's split, (0, 0) when none is logged. Anthropic's
    own shape puts it at ``cache_creation``; LiteLLM's chat usage (``PromptTokensDetailsWrapper``)
    at ``prompt_tokens_details.cache_creation_token_details``; the first one present counts."""
    for key, where in (
        ("cache_creation", uo),
        ("cache_creation_token_details", uo),
        ("cache_creation_token_details", ptd),
    ):
        split = _obj(where.get(key))
        if split:
            path = f"{at}{'prompt_tokens_details.' if where is ptd else ''}{key}."
            w5 = _num(split, "ephemeral_5m_input_tokens", path) or 0
            return w5, _num(split, "ephemeral_1h_input_tokens", path) or 0
    return 0, 0


def _usage_for_cache(objects: list[tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any] | None]:
    """The usage object the cache is read from: the first that logs it, else the first (a row
    may log the same usage twice, and an older one only in ``additional_usage_values``)."""
    if len(objects) > 1:
        for source, usage in objects:
            if _logs_cache(usage):
                return source, usage
    return objects[0] if objects else (_USAGE_OBJECT, None)


def _counts(objects: list[tuple[str, dict[str, Any]]], counted: dict[str, int | None]) -> str | None:
    """Fills the counts a row leaves out (a JSON export may drop the columns) from its usage
    objects, in their order: named as chat completions name them, else as Anthropic and the
    Responses API do. Returns where the prompt or completion count came from (None: from the
    row's own columns, or nowhere)."""
    taken = None
    for name, alias in (
        ("prompt_tokens", "input_tokens"),
        ("completion_tokens", "output_tokens"),
        ("total_tokens", ""),
    ):
        if counted[name] is not None:
            continue
        for source, obj in objects:
            key = name if obj.get(name) is not None else alias
            value = _int(obj.get(key), f"{source}.{key}") if key else None
            if value is not None:
                counted[name] = value
                taken = taken or (source if name != "total_tokens" else None)
                break
    return taken


def _anthropic_possible(call_type: str | None, provider: str | None) -> bool:
    """Whether a row's ``prompt_tokens`` may leave the cache out (FORMATS.md section 6: the chat
    completions call types follow OpenAI, cache inside; only ``anthropic_messages`` may follow
    Anthropic). A row without its call type: unless its provider is OpenAI's (or Azure's)."""
    if call_type:
        return call_type == "anthropic_messages"
    return not (provider or "").lower().startswith(("openai", "azure", "text-completion-openai"))


def _fields(row: dict[str, Any], unmapped: list[str] | None = None) -> dict[str, Any]:
    """A row's canonical fields. ``unmapped``: the row's keys the mapping does not use, in the
    row's order, when the reader knows them (a CSV header's); else worked out here."""
    request_id = _text(row.get("request_id"), "request_id")
    if request_id is None:
        raise _Bad("request_id: missing (it is the primary key of LiteLLM_SpendLogs)")
    meta = _json(row.get("metadata"), "metadata")
    if meta is not None and not isinstance(meta, dict):
        raise _Bad("metadata: not a JSON object")
    meta = meta or {}
    uo = meta.get("usage_object")
    if uo is not None and not isinstance(uo, dict):
        raise _Bad("metadata.usage_object: not a JSON object")
    extra: dict[str, Any] = {}
    start = _ts(row.get("startTime"), "startTime")
    try:  # endTime and completionStartTime feed the latency, not usage: a bad one is dropped
        end = _ts(row.get("endTime"), "endTime")
    except _Bad as bad:
        if start is None:
            raise
        end, extra["endTime_ignored"] = None, str(bad)
    if start is None:
        if end is None:
            raise _Bad("startTime: missing")
        start, extra["ts_from"] = end, "endTime (startTime missing)"
    status = (_text(row.get("status"), "status") or "success").lower()
    if status not in ("success", "failure"):
        raise _Bad(f"status: unknown value ({_show(status)}); expected success or failure")
    prompt = _int(row.get("prompt_tokens"), "prompt_tokens")
    completion = _int(row.get("completion_tokens"), "completion_tokens")
    total = _int(row.get("total_tokens"), "total_tokens")
    objects = _usage_objects(uo, meta, row, counts_missing=prompt is None and completion is None)
    from_object = None
    if prompt is None or completion is None or total is None:  # a CSV row has all three
        counted = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
        from_object = _counts(objects, counted)
        prompt, completion, total = counted["prompt_tokens"], counted["completion_tokens"], counted["total_tokens"]
    source, usage = _usage_for_cache(objects)
    call_type = _text(row.get("call_type"), "call_type")
    provider = _text(row.get("custom_llm_provider"), "custom_llm_provider")
    tokens = _tokens(prompt or 0, completion or 0, usage, extra, call_type, provider, source)
    if usage is not None and source != _USAGE_OBJECT:
        why = "metadata.usage_object logs no cache" if uo else "no metadata.usage_object"
        extra["usage"] = f"{why}: cache and details read from {source}" + (
            f" (token counts from {from_object}: the row has no prompt_tokens/completion_tokens)" if from_object else ""
        )
    spend = _money(row.get("spend"), "spend")
    hit = row.get("cache_hit")  # a string in the table ("True"); a JSON export may write a boolean
    cache_hit = str(hit) if isinstance(hit, bool) else _text(hit, "cache_hit")
    if (cache_hit or "").lower() == "true":  # LiteLLM's own response cache: nothing was billed
        extra["cached_response_tokens"] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": total,
        }
        if spend:
            extra["cache_hit_spend"] = str(spend)
        tokens, spend = {}, Decimal(0)
    error = _obj(meta.get("error_information"))
    if status == "failure":
        if any(tokens.values()):
            extra["failure_logged_tokens"] = tokens
        tokens = {}
    if not tokens:  # nothing billed: notes on how tokens were split would only mislead
        for note in ("usage", "input_convention", "cache_write_split"):
            extra.pop(note, None)
    if tokens.get("reasoning_tokens", 0) > tokens.get("output_tokens", 0):
        raise _Bad(f"reasoning_tokens ({tokens['reasoning_tokens']}) exceed completion_tokens ({completion or 0})")
    try:  # a latency is not usage: a bad one is dropped, never the request
        duration = _int(row.get("request_duration_ms"), "request_duration_ms")
    except _Bad as bad:
        duration, extra["request_duration_ms_ignored"] = None, str(bad)
    if duration is None and end is not None and end >= start:
        duration = int((end - start).total_seconds() * 1000)
    try:
        first_token = _ts(row.get("completionStartTime"), "completionStartTime")
    except _Bad as bad:
        first_token, extra["completionStartTime_ignored"] = None, str(bad)
    model_group = _text(row.get("model_group"), "model_group")
    key_alias = _text(meta.get("user_api_key_alias"), "metadata.user_api_key_alias")
    key_hash = _text(row.get("api_key"), "api_key")
    error_type = None
    if status == "failure":
        error_type = _text(error.get("error_class"), "error_class") or _text(error.get("error_code"), "error_code")
        error_type = error_type or "error"
    extra.update(
        {
            "call_type": call_type,
            "end_user": _text(row.get("end_user"), "end_user"),
            "key_alias": key_alias,
            # the api_key column (the virtual key's SHA-256) when the alias names the key instead
            "api_key_hash": key_hash if key_alias and key_hash != key_alias else None,
            "tags": _json(row.get("request_tags"), "request_tags") or None,
            "api_base": _text(row.get("api_base"), "api_base"),
            "cache_hit": cache_hit,
            "model_group": model_group,
            "model_id": _text(row.get("model_id"), "model_id"),
            "organization_id": _text(row.get("organization_id"), "organization_id")
            or _text(meta.get("user_api_key_org_id"), "metadata.user_api_key_org_id"),
            "team_alias": _text(meta.get("user_api_key_team_alias"), "metadata.user_api_key_team_alias"),
            "agent_id": _text(row.get("agent_id"), "agent_id"),
            "spend_logs_metadata": meta.get("spend_logs_metadata") or None,
            "time_to_first_token_ms": int((first_token - start).total_seconds() * 1000)
            if first_token is not None and first_token >= start
            else None,
            "usage_object": uo,
        }
    )
    if status == "failure" and error:
        extra["error"] = {k: error.get(k) for k in ("error_code", "error_class", "llm_provider") if error.get(k)}
        message = error.get("error_message")
        if isinstance(message, str) and message:
            extra["error"]["error_message"] = message[:500]
    # usually the two unmapped SpendLogs columns (cache_key, requester_ip_address), mostly empty
    if unmapped is None:
        unmapped = [k for k in row if k not in _MAPPED]
    for key in [k for k in unmapped if row[k] not in (None, "")]:
        # a column named like a key written above (``tags``) goes under ``extra.columns``
        (extra.setdefault("columns", {}) if key in extra else extra)[key] = plain(row[key])
    rest = {k: plain(v) for k, v in meta.items() if k not in _META_MAPPED and v not in (None, "", {}, [])}
    if rest:
        extra["metadata"] = rest
    return {
        "event_id": "litellm:" + request_id,
        "ts": start,
        "source": "litellm",
        "provider": provider.lower() if provider else None,
        "model_raw": _text(row.get("model"), "model") or model_group,
        "requests": 1,
        **tokens,
        "member": _text(row.get("user"), "user")
        or _text(meta.get("user_api_key_user_id"), "metadata.user_api_key_user_id"),
        "team": _text(row.get("team_id"), "team_id")
        or _text(meta.get("user_api_key_team_id"), "metadata.user_api_key_team_id"),
        "api_key": key_alias or key_hash,
        "tool": _text(row.get("mcp_namespaced_tool_name"), "mcp_namespaced_tool_name"),
        "session_id": _text(row.get("session_id"), "session_id"),
        "latency_ms": duration,
        "status": "error" if status == "failure" else "success",
        "error_type": error_type,
        "reported_cost_usd": spend,
        "service_tier": _tier(row, uo, provider),
        "extra": {k: v for k, v in extra.items() if v is not None},
    }


def _tier(row: dict[str, Any], uo: dict[str, Any] | None, provider: str | None) -> str | None:
    """The billed service tier: Anthropic's usage object (as LiteLLM keeps it) says the tier, fast
    mode and inference geo; other providers' tier is the one their response reports
    (``response.service_tier``: OpenAI's default / priority / flex; only that key is read of the
    private response). None: standard."""
    uo = uo or {}
    prov = (provider or "").lower()
    if prov == "anthropic" or (not prov and any(k in uo for k in ("speed", "inference_geo"))):
        return anthropic_tier(uo.get("service_tier"), uo.get("speed"), uo.get("inference_geo"))
    tier = uo.get("service_tier")
    if not isinstance(tier, str):
        response = row.get("response")
        if isinstance(response, dict):
            tier = response.get("service_tier")
        elif isinstance(response, str) and (found := _RESPONSE_TIER.search(response)):
            tier = found.group(1)  # the response's own key, not one quoted in its text (escaped there)
    return (tier.strip().lower() or None) if isinstance(tier, str) else None  # "": standard, as absent


def _raw(row: dict[str, Any]) -> str:
    kept = {k: v for k, v in row.items() if k not in _PRIVATE}
    return _clean(json.dumps(kept, default=str, ensure_ascii=False))


def _record(rec: int, line: int | None, row: dict[str, Any], unmapped: list[str] | None = None) -> Record:
    try:
        return Record(rec, line, fields=_fields(row, unmapped))
    except _Bad as bad:
        return Record(rec, line, problem=_clean(str(bad)), raw=_raw(row))


def _names(keys: list[str]) -> list[str]:
    """Keys (or CSV headers) under the SpendLogs column names, matched case-insensitively. A key
    spelled exactly as the column wins over other spellings (``model`` over ``Model``), then the
    first of them; a spelling that loses keeps its own name (so it lands in ``extra``)."""
    taken = {k for k in keys if k in _EXACT}
    out: list[str] = []
    for k in keys:
        canon = None if k in _EXACT else _CANON.get(k.strip().lower())
        if canon is not None and canon not in taken:
            taken.add(canon)
            out.append(canon)
        else:
            out.append(k if canon is None or k in _EXACT else k.strip())
    return out


def _canonical_row(obj: dict[str, Any]) -> dict[str, Any]:
    keys = [str(k) for k in obj]
    return dict(zip(_names(keys), obj.values(), strict=True))


# ---------------------------------------------------------------- files


def _open(path: Path) -> IO[bytes]:
    return cast(IO[bytes], gzip.open(path, "rb")) if path.suffix.lower() == ".gz" else path.open("rb")


def _read_csv(path: Path, fb: IO[bytes]) -> Iterator[Record]:
    text = io.TextIOWrapper(fb, encoding="utf-8-sig", errors="surrogateescape", newline="")
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 28))  # prompts stored in messages can be long
    records = csv_records(text)
    first = next(records, None)
    while first is not None and first.values is not None and not "".join(first.values).strip():
        first = next(records, None)  # blank lines before the header (a file of blank lines: nothing)
    if first is None:
        return
    if first.values is None:
        raise InputError(f"{path}: line {first.line}: cannot read the CSV header: {first.problem}")
    if problem := header_problem(first.values):
        raise InputError(f"{path}: line {first.line}: {problem}, not a LiteLLM_SpendLogs export")
    if problem := other_separator(first.values, "request_id", _CSV_ADVICE):
        raise InputError(f"{path}: line {first.line}: {problem}")
    header = _header(path, first.line, first.values)
    unmapped = _unmapped(header)
    rec = 0
    for csv_rec in records:
        line, values = csv_rec.line, csv_rec.values
        if values is None:
            rec += 1
            yield Record(rec, line, problem=csv_rec.problem, raw=_cut_raw(csv_rec.raw, header))
            continue
        if not values or values == [""]:
            continue  # blank line
        joined = "\n".join(values)
        # a header names request_id: one lower() of the row rules nearly every row out at once
        if "request_id" in joined.lower() and _is_header(values):
            # exports concatenated (cat a.csv b.csv): the next one's header, maybe of a newer
            # LiteLLM with more columns
            header = _header(path, line, values)
            unmapped = _unmapped(header)
            continue
        rec += 1
        if len(values) != len(header):
            out = io.StringIO()
            csv.writer(out, lineterminator="").writerow(values)
            hint = " (JSON columns such as metadata must be quoted, as psql \\copy ... CSV does)"
            problem = f"expected {len(header)} fields, found {len(values)}" + (
                hint if len(values) > len(header) else ""
            )
            yield Record(rec, line, problem=problem, raw=_clean(out.getvalue()))
            continue
        try:  # undecodable bytes are surrogate escapes, which UTF-8 cannot encode: one test per row
            joined.encode("utf-8")
        except UnicodeEncodeError:
            yield Record(rec, line, problem="not valid UTF-8 text", raw=_raw(dict(zip(header, values))))
            continue
        # an empty cell is NULL, as psql writes it; so is \N, psql's NULL marker in text format
        # (and in CSV exported WITH NULL '\N'): _NULLS.get(v, v) maps both to None in C
        yield _record(rec, line, dict(zip(header, map(_NULLS.get, values, values))), unmapped)


_NULLS: dict[str, None] = {"": None, "\\N": None}


_CSV_ADVICE = "export it with psql \\copy \"LiteLLM_SpendLogs\" TO 'spend.csv' CSV HEADER"


def _header(path: Path, line: int, values: list[str]) -> list[str]:
    """The SpendLogs columns a CSV header names (``_names``), checked: no column twice, not a
    daily aggregate table, a request_id column."""
    header = _names([h.strip() for h in values])
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise InputError(f"{path}: line {line}: the header names {', '.join(map(repr, twice))} more than once")
    names = {h.lower() for h in header}
    if all(d in names for d in _DAILY):
        raise InputError(f"{path}: {_DAILY_WHY}")
    if "request_id" not in names:
        shown = _clean(", ".join(header))[:200]
        raise InputError(f"{path}: no request_id column: not a LiteLLM_SpendLogs export (header: {shown})")
    return header


def _unmapped(header: list[str]) -> list[str]:
    """The columns of a CSV header the mapping does not use, in the header's order (they go to
    ``extra`` when they hold a value): worked out once per header, not per row."""
    return [h for h in header if h not in _MAPPED]


def _is_header(values: list[str]) -> bool:
    """Whether a record is a SpendLogs header (a column named request_id, and most of the others
    SpendLogs columns too), not a request: no request is keyed by the text ``request_id``."""
    named = [v.strip().lower() for v in values]
    return "request_id" in named and 2 * sum(1 for v in named if v in _CANON) > len(named)


def _cut_raw(raw: str | None, header: list[str]) -> str | None:
    """The raw text of a record cut at an unclosed quote, as the other rejects keep it: when
    its fields line up with the header, as JSON without the prompt columns (the open field
    may be ``messages``)."""
    if raw is None:
        return None
    values = next(csv.reader(io.StringIO(raw, newline=""), strict=False), [])
    if len(values) == len(header):
        return _raw(dict(zip(header, values)))
    return _clean(raw)


def _check_first(path: Path, obj: Any) -> None:
    if isinstance(obj, dict) and all(d in {str(k).lower() for k in obj} for d in _DAILY):
        raise InputError(f"{path}: {_DAILY_WHY}")


def _object_record(path: Path, rec: int, line: int | None, obj: Any) -> Record:
    if rec == 1:
        _check_first(path, obj)
    if not isinstance(obj, dict):
        return Record(rec, line, problem=not_an_object(obj), raw=_cut_private(json.dumps(obj, default=str)[:4000]))
    return _record(rec, line, _canonical_row(obj))


class _Walk:
    """Reads JSON values one after the other from ``text``, counting lines as it goes."""

    _WS = re.compile(r"\s*")

    def __init__(self, text: str, pos: int = 0) -> None:
        self.text, self.pos, self.line, self.counted = text, pos, 1, 0
        self.decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constant)

    def skip(self) -> str:
        """Skips whitespace; the next character ('' at the end)."""
        self.pos = self._WS.match(self.text, self.pos).end()  # type: ignore[union-attr]  # \s* always matches
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def here(self) -> int:
        """The line the next value starts on."""
        self.line += self.text.count("\n", self.counted, self.pos)
        self.counted = self.pos
        return self.line

    def value(self) -> Any:
        """The value at ``pos`` (raises ValueError/RecursionError when it does not parse)."""
        obj, self.pos = self.decoder.raw_decode(self.text, self.pos)
        return obj


def _why(exc: BaseException) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return _clean(json_failure(exc, line=True))[:120]
    return _clean(str(exc))[:120]


def _read_json_values(path: Path, text: str) -> Iterator[Record]:
    """Rows from JSON values written one after another (``curl ... >> spend.json`` for each
    page): arrays of rows and pages of the UI endpoint (``{"data": [...], ...}``), each row with
    the line it starts on, read element by element: a value cut short keeps the rows before the
    cut, and the rest of the file is one reject saying so."""
    w = _Walk(text)
    rec = 0
    read_to = 0  # the end of the last row read: a reject for the rest holds the text from there

    def broken(why: str, raw: str | None = None) -> Record:
        if raw is None:  # the text after the last row read; None when nothing is left (cut after a row)
            raw = _cut_private(text[read_to : read_to + 4000].strip(" \t\r\n,")) or None
        return Record(
            rec + 1, w.here(), problem=f"not valid JSON: {why}; the rest of the file could not be read", raw=raw
        )

    def elements() -> Iterator[Record]:  # at '[': its rows, then past ']'
        nonlocal rec, read_to
        w.pos += 1
        if w.skip() == "]":
            w.pos += 1
            return
        while True:
            if not w.skip():
                raise _Cut("truncated: the array is not closed")
            if w.skip() == "[":  # an array of arrays (pages saved as one array): its rows
                yield from elements()
            else:
                line = w.here()
                start = w.pos
                try:
                    obj = w.value()
                except (ValueError, RecursionError) as exc:
                    raise _Cut(_why(exc), _cut_private(text[start : start + 4000])) from None
                rec += 1
                read_to = w.pos
                yield _object_record(path, rec, line, obj)
            nxt = w.skip()
            if nxt == "]":
                w.pos += 1
                return
            if nxt != ",":
                raise _Cut(
                    "expected ',' or ']' after an array element" if nxt else "truncated: the array is not closed"
                )
            w.pos += 1

    def page() -> Iterator[Record]:  # at '{': a page's rows, or the object as one row
        nonlocal rec
        start, line = w.pos, w.here()
        w.pos += 1
        found_data = False
        while True:
            ch = w.skip()
            if ch == "}":
                w.pos += 1
                break
            if ch == ",":
                w.pos += 1
                continue
            if ch != '"':
                raise _Cut("expected a key in an object" if ch else "truncated: an object is not closed")
            try:
                key = w.value()
            except (ValueError, RecursionError) as exc:
                raise _Cut(_why(exc)) from None
            if w.skip() != ":":
                raise _Cut("expected ':' after a key")
            w.pos += 1
            if w.skip() == "[" and key == "data":
                found_data = True
                yield from elements()
                continue
            try:
                w.value()
            except (ValueError, RecursionError) as exc:
                raise _Cut(_why(exc)) from None
        if not found_data:  # not a page: one row object
            rec += 1
            yield _object_record(path, rec, line, w.decoder.decode(text[start : w.pos]))

    try:
        while True:
            ch = w.skip()
            if not ch:
                return
            if ch == "[":
                yield from elements()
            elif ch == "{":
                yield from page()
            else:
                yield broken(f"unexpected text after a value ({_show(text[w.pos : w.pos + 20])})")
                return
    except _Cut as cut:
        yield broken(cut.why, cut.raw)


_PRIVATE_KEY = re.compile(r'"(?:' + "|".join(_PRIVATE) + r')"\s*:', re.IGNORECASE)


def _cut_private(text: str) -> str:
    """The text of a row that does not parse, up to its first prompt column (never copied)."""
    m = _PRIVATE_KEY.search(text)
    return _clean(text if m is None else text[: m.start()] + "…")


class _Cut(Exception):
    def __init__(self, why: str, raw: str | None = None) -> None:
        super().__init__(why)
        self.why, self.raw = why, raw


def _read_jsonl(path: Path, data: bytes) -> Iterator[Record]:
    rec = 0
    for lineno, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        rec += 1
        shown = _cut_private(raw.decode("utf-8", "surrogateescape"))
        try:
            obj = _loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            yield Record(rec, lineno, problem="not valid UTF-8 text", raw=shown)
            continue
        except json.JSONDecodeError as exc:
            yield Record(rec, lineno, problem=f"not valid JSON: {json_failure(exc)}", raw=shown)
            continue
        except (ValueError, RecursionError) as exc:
            yield Record(rec, lineno, problem=f"not valid JSON: {_show(exc)}", raw=shown)
            continue
        yield _object_record(path, rec, lineno, obj)


_PAGE_START = re.compile(r'\s*\{\s*"data"\s*:\s*\[')


def _read_json(path: Path, data: bytes) -> Iterator[Record]:
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith((b"[", b"{")):
        yield from _read_jsonl(path, data.lstrip(b"\xef\xbb\xbf"))
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if stripped.startswith(b"["):
            raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
        yield from _read_jsonl(path, data.lstrip(b"\xef\xbb\xbf"))
        return
    if stripped.startswith(b"{"):
        try:  # one object: a page of the UI endpoint or a single row
            whole = _loads(text)
        except (ValueError, RecursionError):
            whole = None
        if (
            isinstance(whole, dict)
            and isinstance(whole.get("results"), list)
            and any(isinstance(r, dict) and "date" in r for r in whole["results"][:1])
        ):
            raise InputError(f"{path}: {_DAILY_WHY}")
        if whole is None and not _first_is_page(text):
            yield from _read_jsonl(path, data.lstrip(b"\xef\xbb\xbf"))  # JSON Lines of rows
            return
    yield from _read_json_values(path, text)


def _first_is_page(text: str) -> bool:
    """Whether the first JSON value of ``text`` is a page of the UI endpoint (an object with a
    ``data`` array), whatever the order of its keys."""
    if _PAGE_START.match(text):
        return True
    try:
        first, _ = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constant).raw_decode(text.lstrip())
    except (ValueError, RecursionError):
        return False
    return isinstance(first, dict) and isinstance(first.get("data"), list)


def _head_text(head: bytes) -> str:
    if head.startswith(b"\x1f\x8b"):
        head = zlib.decompressobj(wbits=31).decompress(head, 65536)
    return head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")


class _LiteLLMImporter:
    name = "litellm"
    description = "LiteLLM proxy LiteLLM_SpendLogs export (psql CSV, or JSON from GET /spend/logs)"
    conflict = "keep"
    sniff_order = 30

    def sniff(self, path: Path, head: bytes) -> bool:
        try:
            text = _head_text(head)
            if text.startswith(("[", "{")):
                # LiteLLM's rows always carry startTime; a canonical event that keeps request_id
                # and spend as extra keys has ts instead
                if '"request_id"' in text and ('"call_type"' in text or '"spend"' in text) and '"startTime"' in text:
                    return True
                return all(f'"{d}"' in text for d in _DAILY)  # recognised, then refused with the reason
            first = next(csv.reader([text.split("\n", 1)[0].rstrip("\r")]), [])
            cols = {c.strip().lower() for c in first}
            # call_type is often left out of a SELECT or UI export; request_id, spend and
            # startTime together are LiteLLM's own column names. A header with ts is a canonical
            # file that keeps such columns as extra (LiteLLM's tables have no ts column)
            return "ts" not in cols and (
                {"request_id", "call_type", "spend"} <= cols
                or {"request_id", "spend", "starttime"} <= cols
                or {"request_id", "starttime", "prompt_tokens"} <= cols  # a SELECT without spend
                or {*_DAILY, "spend"} <= cols
            )
        except Exception:
            return False

    def files(self, root: Path) -> list[Path]:
        exts = (".csv", ".json", ".jsonl", ".ndjson")
        return sorted(
            p
            for p in root.rglob("*")
            if p.is_file() and not p.name.startswith(".") and p.name.lower().removesuffix(".gz").endswith(exts)
        )

    def read(self, path: Path) -> Iterator[Record]:
        try:
            with _open(path) as fb:
                is_json = fb.read(1024).lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"[", b"{"))
            with _open(path) as fb:
                if is_json:
                    yield from _read_json(path, fb.read())
                else:
                    yield from _read_csv(path, fb)
        except (OSError, EOFError, zlib.error) as exc:  # unreadable, or a broken .gz
            raise InputError(f"{path}: cannot read: {exc}") from exc


IMPORTER = _LiteLLMImporter()
