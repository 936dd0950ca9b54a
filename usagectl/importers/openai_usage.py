"""OpenAI Admin API usage: saved pages of ``GET /v1/organization/usage/completions``
(FORMATS.md §2a).

One event per result row (a bucket × the page's group-by values), ``requests`` =
``num_model_requests``. Input is GROSS of the cache at OpenAI: ``input_tokens`` includes
``input_cached_tokens`` (and, in the 2026-07 spec, ``input_cache_write_tokens``), so the uncached
input is ``input_uncached_tokens`` when given, else ``input − cached − cache write``. Reasoning is
inside ``output_tokens``; audio fields are kept in ``extra`` and never added on top. A row of a
page not grouped by model has no model and stays unpriced. An error page is a reject, never zero
usage. A re-fetch of a bucket replaces it, never adds to it: usage in a bucket only grows, so the
copy with the larger usage wins whichever file is imported first (``conflict = "max-usage"``);
rows of another group-by set for an overlapping bucket are settled by
``usagectl.store.billing.stage_usage_buckets``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from usagectl.importers import _pages, openai_costs
from usagectl.models import Record

NAME = "openai-usage"
RESULT_OBJECT = "organization.usage.completions.result"
DIMS = ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier")
_TEXT_DIMS = {"project_id": "project", "user_id": "member", "api_key_id": "api_key", "model": "model_raw"}
_NEW_SPEC_KEYS = ("input_uncached_tokens", "input_cache_write_tokens", "input_text_tokens", "output_text_tokens")


def stage(con: Any, path: Path) -> list[str]:
    """The stager ``usagectl.services.imports`` calls (``IMPORTER.stager``)."""
    from usagectl.store.billing import stage_usage_buckets

    return stage_usage_buckets(con, path, IMPORTER.read(path), NAME)


class OpenAIUsageImporter:
    name = NAME
    description = "OpenAI Admin API usage/completions pages (JSON page, array of pages, or JSONL)"
    conflict = "max-usage"
    # saved pages are read whole when the file grows: a page continues the fetch of the page
    # before it (``has_more``), whose group-by decides what its null dimensions mean
    resumable = False
    before_insert = "usagectl.store.billing:evict_coarser"  # stored coarser shapes go, in the transaction
    sniff_order = 20
    stager = "usagectl.importers.openai_usage:stage"

    def sniff(self, path: Path, head: bytes) -> bool:
        # or a saved OpenAI error page (rejected as such), or a page of a period without usage
        # (every bucket's results empty: no record, whichever report it came from)
        if b'"' + RESULT_OBJECT.encode() + b'"' in head:
            return True
        if b'"' + openai_costs.RESULT_OBJECT.encode() + b'"' in head:  # a cost report opening with an error
            return False
        return _pages.error_envelope(head) == "openai" or _pages.empty_report(head) == "openai"

    def files(self, root: Path) -> list[Path]:
        return _pages.files(root)

    def read(self, path: Path) -> Iterator[Record]:
        return _pages.openai_records(path, "/usage/completions", DIMS, _bucket, _record)


def _bucket(bucket: Any) -> _pages.OpenAIBucket:
    rows, problem = _results(bucket)
    start, end, span = _bucket_times(bucket)
    return rows, start, end, problem or span


def _results(bucket: Any) -> tuple[list[Any] | None, str | None]:
    if not isinstance(bucket, dict):
        return None, "bucket: not an object"
    rows = _pages.openai_rows(bucket)  # the rows the reader weighed the fetch's group-by by
    return rows, None if rows is not None else "bucket: no results array"


def _bucket_times(bucket: Any) -> tuple[datetime | None, datetime | None, str | None]:
    if not isinstance(bucket, dict):
        return None, None, "bucket: not an object"
    start, p1 = _pages.unix_time(bucket.get("start_time"), "start_time")
    end, p2 = _pages.unix_time(bucket.get("end_time"), "end_time")
    problem = p1 or p2 or _pages.bucket_range(start, end)
    return start, end, problem


def _record(
    rec: int, line: int | None, bucket: dict[str, Any], start: datetime, end: datetime, row: Any, sig: tuple[str, ...]
) -> Record:
    raw = _pages.dumps(row)[: _pages.RAW_MAX]
    if not isinstance(row, dict):
        return Record(rec, line, problem="result: not an object", raw=raw)
    obj = row.get("object")
    if obj != RESULT_OBJECT:  # another endpoint's result (embeddings, images, ...): not completions usage
        what = "missing" if obj is None else f"{obj!r} is not a completions result ({RESULT_OBJECT})"
        return Record(rec, line, problem=f"object: {what}", raw=raw)
    problems: list[str] = []
    counts: dict[str, int] = {}
    for key, required in (("input_tokens", True), ("output_tokens", True), ("num_model_requests", True),
                          ("input_cached_tokens", False), ("input_cache_write_tokens", False)):  # fmt: skip
        counts[key], problem = _pages.count(row, key, required=required)
        if problem:
            problems.append(problem)
    if row.get("input_uncached_tokens") is not None:
        uncached, problem = _pages.count(row, "input_uncached_tokens")
        if problem:
            problems.append(problem)
        elif (
            not problems
            and uncached + counts["input_cached_tokens"] + counts["input_cache_write_tokens"] > (counts["input_tokens"])
        ):  # the parts of input_tokens cannot hold more than it
            problems.append(
                f"input_uncached_tokens ({uncached}) + input_cached_tokens ({counts['input_cached_tokens']}) + "
                f"input_cache_write_tokens ({counts['input_cache_write_tokens']}) exceed input_tokens "
                f"({counts['input_tokens']})"
            )
    else:
        uncached = counts["input_tokens"] - counts["input_cached_tokens"] - counts["input_cache_write_tokens"]
        if uncached < 0 and not problems:
            problems.append(
                f"input_cached_tokens ({counts['input_cached_tokens']}) + input_cache_write_tokens "
                f"({counts['input_cache_write_tokens']}) exceed input_tokens ({counts['input_tokens']})"
            )
    dims: dict[str, str | None] = {}
    for key in (*_TEXT_DIMS, "service_tier"):
        dims[key], problem = _pages.text_or_none(row, key)
        if problem:
            problems.append(problem)
    batch = row.get("batch")
    if batch is not None and not isinstance(batch, bool):
        problems.append(f"batch: not true/false ({str(batch)[:40]})")
    if problems:
        return Record(rec, line, problem="; ".join(problems), raw=raw)
    start_s, end_s = bucket["start_time"], bucket["end_time"]
    key = _pages.key_hash(int(start_s), int(end_s), list(sig), [row.get(d) for d in sig])
    usage = _pages.plain({k: v for k, v in row.items() if k not in _TEXT_DIMS and k not in ("object", "service_tier")})
    extra: dict[str, Any] = {
        "bucket_end": _pages.iso(end),
        "group_by": _pages.group_by(sig),
        "spec": "2026-07" if any(k in row for k in _NEW_SPEC_KEYS) else "before 2026-07",
        "usage": usage,
    }
    if "model" not in sig:
        extra["unpriced_reason"] = "page not grouped by model"
    if batch is True and dims["service_tier"] not in (None, "default", "batch"):
        extra["service_tier_logged"] = dims["service_tier"]  # priced as batch; what the row also said stays
    fields: dict[str, Any] = {
        "event_id": f"{NAME}:{key}",
        "ts": start,
        "source": NAME,
        "provider": "openai",
        "model_raw": dims["model"],
        "requests": counts["num_model_requests"],
        "input_tokens": max(uncached, 0),
        "cache_read_tokens": counts["input_cached_tokens"],
        "cache_write_5m_tokens": counts["input_cache_write_tokens"],
        "output_tokens": counts["output_tokens"],
        "service_tier": "batch" if batch is True else dims["service_tier"],
        "member": dims["user_id"],
        "project": dims["project_id"],
        "api_key": dims["api_key_id"],
        "extra": extra,
    }
    return Record(rec, line, fields=fields, raw=raw)


IMPORTER = OpenAIUsageImporter()
