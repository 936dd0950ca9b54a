"""Anthropic Admin API usage: saved pages of ``GET /v1/organizations/usage_report/messages``
(FORMATS.md §1a).

One event per result row (a bucket × the page's group-by values). Input is NET of the cache at
Anthropic: ``uncached_input_tokens`` excludes cache reads and writes, so it is ``input_tokens`` as
is; writes are split 5m/1h (``cache_creation.ephemeral_*``). The report has NO request count:
``requests = 0`` ("unknown"), and a bucket aggregates many requests, so its summed input cannot
decide the long-context tier; ``context_window`` (kept in ``extra``) does: a "200k-1M" row holds
only requests over 200k and is priced at the long-context rates (``band_input``, set on insert). ``workspace_id`` null in a
page grouped by workspace is the default workspace (stored as ``default``). ``results: []`` is no
usage; an error envelope is a reject, never zero usage. Re-fetches replace, never add: usage in a
bucket only grows, so the copy with the larger usage wins whichever file is imported first
(``conflict = "max-usage"``); other group-by sets are settled by ``usagectl.store.billing.stage_usage_buckets``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from usagectl.importers import _pages, anthropic_cost
from usagectl.importers._values import anthropic_tier
from usagectl.models import Record

NAME = "anthropic-usage"
DIMS = (
    "api_key_id", "workspace_id", "model", "service_tier", "context_window",
    "inference_geo", "speed", "account_id", "service_account_id",
)  # fmt: skip
_EXTRA_DIMS = ("context_window", "inference_geo", "speed", "account_id", "service_account_id")
_KEY = re.compile(rb'"uncached_input_tokens"\s*:')
_COUNTED = ("uncached_input_tokens", "cache_creation", "cache_read_input_tokens", "output_tokens", "server_tool_use")


def stage(con: Any, path: Path) -> list[str]:
    """The stager ``usagectl.services.imports`` calls (``IMPORTER.stager``)."""
    from usagectl.store.billing import stage_usage_buckets

    return stage_usage_buckets(con, path, IMPORTER.read(path), NAME)


class AnthropicUsageImporter:
    name = NAME
    description = "Anthropic Admin API usage_report/messages pages (JSON page, array of pages, or JSONL)"
    conflict = "max-usage"
    # saved pages are read whole when the file grows: a page continues the fetch of the page
    # before it (``has_more``), whose group-by decides what its null dimensions mean
    resumable = False
    before_insert = "usagectl.store.billing:evict_coarser"  # stored coarser shapes go, in the transaction
    sniff_order = 20
    stager = "usagectl.importers.anthropic_usage:stage"

    def sniff(self, path: Path, head: bytes) -> bool:
        # as a KEY: a cost report names "uncached_input_tokens" as a token_type value; or a saved
        # Anthropic error page (rejected as such); or a page of a period without usage (every
        # bucket's results empty: no record, whichever report it came from)
        if _KEY.search(head) is not None and b'"starting_at"' in head:
            return True
        if anthropic_cost.cost_rows_in(head):  # a saved cost report that opens with an error page
            return False
        return _pages.error_envelope(head) == "anthropic" or _pages.empty_report(head) == "anthropic"

    def files(self, root: Path) -> list[Path]:
        return _pages.files(root)

    def read(self, path: Path) -> Iterator[Record]:
        return _pages.anthropic_records(path, DIMS, _record)


def _record(
    rec: int, line: int | None, start: datetime, end: datetime, row: Any, sig: tuple[str, ...], by_workspace: bool
) -> Record:
    raw = _pages.dumps(row)[: _pages.RAW_MAX]
    if not isinstance(row, dict):
        return Record(rec, line, problem="result: not an object", raw=raw)
    problems: list[str] = []
    counts: dict[str, int] = {}
    for key in ("uncached_input_tokens", "cache_read_input_tokens", "output_tokens"):
        counts[key], problem = _pages.count(row, key, required=True)
        if problem:
            problems.append(problem)
    for outer, inner in (("cache_creation", "ephemeral_5m_input_tokens"), ("cache_creation", "ephemeral_1h_input_tokens"),
                         ("server_tool_use", "web_search_requests")):  # fmt: skip
        part = row.get(outer)
        if part is not None and not isinstance(part, dict):
            if f"{outer}: not an object" not in problems:  # one reason per field (it holds two counts)
                problems.append(f"{outer}: not an object")
            part = None
        counts[inner], problem = _pages.count(part or {}, inner, label=f"{outer}.{inner}")
        if problem:
            problems.append(problem)
    if row.get("cache_creation") is None and row.get("cache_creation_input_tokens"):
        problems.append("cache_creation_input_tokens without the 5m/1h split (cache_creation): cannot price the writes")
    dims: dict[str, str | None] = {}
    for key in DIMS:
        dims[key], problem = _pages.text_or_none(row, key)
        if problem:
            problems.append(problem)
    if problems:
        return Record(rec, line, problem="; ".join(problems), raw=raw)
    key = _pages.key_hash(_pages.iso(start), _pages.iso(end), list(sig), [dims[d] for d in sig])
    workspace = dims["workspace_id"] or ("default" if by_workspace else None)
    extra: dict[str, Any] = {
        "bucket_end": _pages.iso(end),
        "group_by": _pages.group_by(sig),
        "requests_unknown": True,
        **{d: dims[d] for d in _EXTRA_DIMS if dims[d] is not None},
        "usage": _pages.plain({k: v for k, v in row.items() if k in _COUNTED or k not in DIMS}),
    }
    if "model" not in sig:
        extra["unpriced_reason"] = "page not grouped by model"
    fields: dict[str, Any] = {
        "event_id": f"{NAME}:{key}",
        "ts": start,
        "source": NAME,
        "provider": "anthropic",
        "model_raw": dims["model"],
        "requests": 0,  # the usage report gives no request count
        "input_tokens": counts["uncached_input_tokens"],
        "cache_read_tokens": counts["cache_read_input_tokens"],
        "cache_write_5m_tokens": counts["ephemeral_5m_input_tokens"],
        "cache_write_1h_tokens": counts["ephemeral_1h_input_tokens"],
        "output_tokens": counts["output_tokens"],
        "web_search_requests": counts["web_search_requests"],
        # fast mode bills at the model's fast rates (pricing/anthropic.toml): its own tier
        "service_tier": anthropic_tier(dims["service_tier"], dims["speed"], dims["inference_geo"]),
        "workspace": workspace,
        "api_key": dims["api_key_id"],
        "extra": extra,
    }
    return Record(rec, line, fields=fields, raw=raw)


IMPORTER = AnthropicUsageImporter()
