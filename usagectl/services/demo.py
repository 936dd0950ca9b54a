"""Demo data: ninety days of a small team's LLM usage as canonical events.

Stdlib only and deterministic: the same arguments give byte-identical output (one
``random.Random(seed)``, no clock, no global RNG, no time-zone database; the two zones used
follow their DST rules in code). The data is shaped to exercise every report:

* 8 members in 3 teams and 2 departments (``DEMO_MEMBERS``); most events carry the member's
  team/department/cost center, some carry only the member (so the config mapping matters) and
  a few carry no member at all (the nightly batch job and a shared Slack bot).
* chats of 3-30 messages whose context grows (so cache reads grow), agent runs with heavy
  cache reads, nightly batch jobs (``service_tier`` "batch"), integrations, web search, document
  and image analysis with files reused across chats, mobile (some voice) and API platforms.
* weekdays far above weekends, working hours 08-19 in each member's zone with a lunch dip, a
  slow growth over the window, and three spike days: an agent loop (about 5x a normal day),
  a big document analysis (requests over 200k input on claude-sonnet-4-5) and a campaign launch.
* about 1.5 % of events on a model the price tables do not know (``mistral-large-2411``) and
  about 1 % failed requests (``status`` "error", zero tokens).

Token fields follow the canonical, exclusive buckets: ``input_tokens`` is the uncached input,
and ``message_tokens + context_tokens + file_tokens`` equals ``input_tokens + cache_read_tokens
+ cache_write_5m_tokens + cache_write_1h_tokens`` on every successful request.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from usagectl.models import EVENT_COLUMN_NAMES

__all__ = [
    "DEMO_MEMBERS",
    "DEMO_MEMBER_ZONES",
    "EXAMPLES_END",
    "generate_events",
    "write_csv",
    "write_examples",
    "write_jsonl",
]

DEMO_MEMBERS: dict[str, dict[str, str]] = {
    "alice": {"team": "platform", "department": "engineering", "cost_center": "cc-100"},
    "bob": {"team": "platform", "department": "engineering", "cost_center": "cc-100"},
    "carol": {"team": "growth", "department": "marketing", "cost_center": "cc-200"},
    "david": {"team": "growth", "department": "marketing", "cost_center": "cc-200"},
    "erin": {"team": "research", "department": "engineering", "cost_center": "cc-300"},
    "frank": {"team": "research", "department": "engineering", "cost_center": "cc-300"},
    "grace": {"team": "growth", "department": "marketing", "cost_center": "cc-200"},
    "heidi": {"team": "platform", "department": "engineering", "cost_center": "cc-100"},
}
DEMO_MEMBER_ZONES: dict[str, str] = {
    name: ("America/New_York" if name in ("carol", "frank") else "Europe/Berlin") for name in DEMO_MEMBERS
}
# The fixed end date of the committed samples in examples/canonical/.
EXAMPLES_END = date(2026, 11, 20)

_MS_DAY = 86_400_000
_MS_HOUR = 3_600_000
_MS_MIN = 60_000
_EPOCH = date(1970, 1, 1)

# Relative activity of each member: (chat, agents, code review).
_ACTIVITY: dict[str, tuple[float, float, float]] = {
    "alice": (1.6, 1.0, 1.0),
    "bob": (1.35, 1.2, 0.8),
    "carol": (1.0, 0.1, 0.0),
    "david": (0.9, 0.1, 0.0),
    "erin": (0.8, 0.6, 0.5),
    "frank": (0.65, 0.4, 0.4),
    "grace": (0.5, 0.0, 0.0),
    "heidi": (0.4, 0.5, 0.6),
}
_PROJECTS: dict[str, tuple[str, ...]] = {
    "platform": ("agent-platform", "billing-service", "internal-tools"),
    "growth": ("q3-campaign", "website-relaunch", "newsletter"),
    "research": ("eval-harness", "market-research", "churn-study"),
}

# canonical id -> (provider, raw forms as logged with weights, output tokens/s, reasoning share)
_MODELS: dict[str, tuple[str, tuple[tuple[str, int], ...], int, tuple[float, float] | None]] = {
    "claude-sonnet-4-5": (
        "anthropic",
        (("claude-sonnet-4-5", 5), ("claude-sonnet-4-5-20250929", 4), ("anthropic/claude-sonnet-4-5", 1)),
        65,
        None,
    ),
    "claude-haiku-4-5": (
        "anthropic",
        (("claude-haiku-4-5", 5), ("claude-haiku-4-5-20251001", 3), ("anthropic/claude-haiku-4-5", 2)),
        140,
        None,
    ),
    "claude-opus-4-1": ("anthropic", (("claude-opus-4-1", 5), ("claude-opus-4-1-20250805", 5)), 35, None),
    "gpt-4o": ("openai", (("gpt-4o", 6), ("gpt-4o-2024-08-06", 3), ("openai/gpt-4o", 1)), 90, None),
    "gpt-4o-mini": ("openai", (("gpt-4o-mini", 7), ("gpt-4o-mini-2024-07-18", 3)), 130, None),
    "gpt-4.1-mini": ("openai", (("gpt-4.1-mini", 5), ("gpt-4.1-mini-2025-04-14", 5)), 120, None),
    "gpt-5": ("openai", (("gpt-5", 6), ("gpt-5-2025-08-07", 4)), 70, (0.4, 0.8)),
    "o4-mini": ("openai", (("o4-mini", 5), ("o4-mini-2025-04-16", 5)), 110, (0.5, 0.85)),
    "gemini-2.5-flash": (
        "google",
        (("gemini-2.5-flash", 8), ("google/gemini-2.5-flash", 2)),
        180,
        (0.2, 0.6),
    ),
    "gemini-2.5-pro": ("google", (("gemini-2.5-pro", 1),), 80, (0.3, 0.7)),
    # Not in any price table: the demo shows unpriced usage.
    "mistral-large-2411": (
        "mistral",
        (("mistral-large-2411", 7), ("mistral/mistral-large-2411", 3)),
        60,
        None,
    ),
}
_UNKNOWN_MODEL = "mistral-large-2411"
# Providers whose price tables price a server-side web search call (web_search_per_1k): the demo
# searches only there, so its searches are priced (a search elsewhere would be unpriced usage).
_SEARCH_PRICED = frozenset(("anthropic",))

_W = tuple[tuple[str, float], ...]
_MODEL_MIX: dict[str, _W] = {
    "chat": (
        ("gpt-4o", 40),
        ("claude-sonnet-4-5", 25),
        ("gpt-4o-mini", 20),
        ("claude-haiku-4-5", 4),
        ("gemini-2.5-flash", 4),
        ("gpt-5", 3),
        ("gemini-2.5-pro", 1.5),
        ("claude-opus-4-1", 1),
    ),
    "agents": (
        ("claude-sonnet-4-5", 70),
        ("gpt-4.1-mini", 10),
        ("claude-opus-4-1", 7),
        ("gpt-5", 8),
        ("o4-mini", 5),
    ),
    # server-side web search only on models whose price table has a per-call rate (Anthropic's):
    # a search on gpt-4o or Gemini has no price in the tables and would be unpriced
    "web-search": (("claude-sonnet-4-5", 70), ("claude-haiku-4-5", 30)),
    "analysis": (("claude-sonnet-4-5", 45), ("gpt-4o", 30), ("gemini-2.5-pro", 15), ("claude-opus-4-1", 10)),
    "code-review": (("claude-sonnet-4-5", 50), ("o4-mini", 20), ("gpt-4.1-mini", 20), ("gpt-5", 10)),
    "batch-summaries": (("gpt-4o-mini", 60), ("claude-haiku-4-5", 40)),
    "integration": (("gpt-4o-mini", 50), ("gpt-4o", 30), ("claude-haiku-4-5", 20)),
}

_TITLES: dict[str, tuple[str, ...]] = {
    "platform": (
        "Refactor billing service",
        "Postgres index tuning",
        "Incident postmortem summary",
        "Kubernetes autoscaling question",
        "API rate limiter design",
        "Terraform module cleanup",
        "Flaky test investigation",
        "Migration plan for queues",
        "On-call runbook draft",
        "gRPC error handling",
    ),
    "growth": (
        "Q3 Marketing Analysis",
        "Campaign copy ideas",
        "Newsletter draft November",
        "Landing page A/B test review",
        "Competitor pricing research",
        "Social media calendar",
        "Customer persona refresh",
        "SEO keyword brainstorm",
        "Webinar outline",
        "Press release edits",
    ),
    "research": (
        "Churn cohort deep-dive",
        "Eval harness metrics",
        "Survey results summary",
        "Literature review: RAG",
        "Retention model features",
        "Statistical test choice",
        "Interview notes synthesis",
        "Benchmark results write-up",
        "Market sizing estimate",
        "Pricing elasticity notes",
    ),
}
_SEARCH_TITLES = (
    "Latest EU AI Act guidance",
    "Competitor launch news",
    "Conference speakers 2027",
    "Market data lookup",
    "Library release notes",
    "Industry benchmarks search",
)
_REVIEW_TITLES = (
    "PR review: payments retry",
    "PR review: auth middleware",
    "PR review: dashboard charts",
    "PR review: data pipeline",
    "PR review: eval runner",
    "PR review: CLI flags",
)
_AGENTS = ("repo-maintainer", "ci-fixer", "docs-writer", "data-cleaner")

# Files: (name, bytes, extracted tokens, kind, reuse weight). Images are analysed as images.
_FILES: tuple[tuple[str, int, int, str, float], ...] = (
    ("Annual_Report.pdf", 2_411_724, 12_500, "doc", 3.0),
    ("Q3_Marketing_Plan.pptx", 5_872_025, 6_800, "doc", 3.0),
    ("Customer_Survey_2026.xlsx", 842_113, 9_400, "doc", 2.0),
    ("Product_Roadmap.docx", 318_944, 4_100, "doc", 2.5),
    ("Board_Deck_Q3.pdf", 7_340_032, 8_900, "doc", 1.5),
    ("Competitor_Analysis.pdf", 1_258_291, 15_200, "doc", 2.0),
    ("Pricing_Study.pdf", 965_400, 11_300, "doc", 1.5),
    ("Brand_Guidelines.pdf", 14_680_064, 5_600, "doc", 1.0),
    ("Onboarding_Handbook.pdf", 2_097_152, 21_000, "doc", 1.0),
    ("Contract_Acme_MSA.pdf", 489_300, 18_700, "doc", 1.0),
    ("Churn_Cohorts.csv", 3_145_728, 24_500, "doc", 1.5),
    ("Support_Tickets_Oct.csv", 6_291_456, 38_000, "doc", 1.0),
    ("Architecture_Overview.md", 48_213, 7_900, "doc", 2.0),
    ("Incident_2026-09-14.md", 21_877, 3_300, "doc", 1.0),
    ("Sales_Pipeline.xlsx", 1_572_864, 13_800, "doc", 1.5),
    ("Research_Paper_RAG.pdf", 3_984_588, 19_600, "doc", 1.0),
    ("Market_Study_2026.pdf", 11_534_336, 96_000, "doc", 0.4),
    ("Annual_Report_2025_full.pdf", 18_874_368, 196_500, "doc", 0.2),
    ("whiteboard_sprint.png", 2_936_012, 1_450, "image", 1.5),
    ("dashboard_screenshot.png", 1_048_576, 1_200, "image", 1.5),
    ("receipt_scan.jpg", 734_003, 1_100, "image", 1.0),
    ("ad_mockup_v3.png", 4_194_304, 1_600, "image", 1.0),
)
_FILE_DOCS = tuple(f for f in _FILES if f[3] == "doc" and f[2] < 50_000)
_FILE_IMAGES = tuple(f for f in _FILES if f[3] == "image")
_FILE_BY_NAME = {f[0]: f for f in _FILES}

# Local hour weights: working hours 08-19 with a lunch dip; mobile leans to commute and evening.
_HOURS_WORK: _W = tuple(
    (str(h), w)
    for h, w in enumerate((0.15, 0.55, 0.95, 1.0, 0.95, 0.45, 0.5, 0.9, 1.0, 0.9, 0.7, 0.45, 0.12, 0.08, 0.06), start=7)
)
_HOURS_MOBILE: _W = tuple(
    (str(h), w)
    for h, w in enumerate((0.5, 0.7, 0.4, 0.4, 0.4, 0.8, 0.7, 0.35, 0.35, 0.4, 0.6, 0.8, 0.8, 0.7, 0.5, 0.3), start=7)
)

# ---------------------------------------------------------------------------------------------
# time helpers (no tz database: the two zones' rules are fixed by law since 2007 / 1996)


def _day_ms(d: date) -> int:
    return (d - _EPOCH).days * _MS_DAY


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


def _last_sunday(year: int, month: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def _utc_offset_ms(zone: str, d: date) -> int:
    """UTC offset of ``zone`` at local noon of ``d``."""
    if zone == "America/New_York":
        dst = _nth_sunday(d.year, 3, 2) <= d < _nth_sunday(d.year, 11, 1)
        return (-4 if dst else -5) * _MS_HOUR
    dst = _last_sunday(d.year, 3) <= d < _last_sunday(d.year, 10)
    return (2 if dst else 1) * _MS_HOUR


def _iso(ms: int) -> str:
    dt = datetime(1970, 1, 1) + timedelta(milliseconds=ms)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


# ---------------------------------------------------------------------------------------------
# the generator


def _pick(rng: random.Random, weighted: _W | tuple[tuple[str, int], ...]) -> str:
    total = sum(w for _, w in weighted)
    x = rng.random() * total
    for value, w in weighted:
        x -= w
        if x < 0:
            return value
    return weighted[-1][0]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _lognorm(rng: random.Random, median: float, sigma: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(median * math.exp(rng.gauss(0.0, sigma)))))


class _Cache:
    """Prompt-cache state of one conversation: what the previous call left cached, and when."""

    __slots__ = ("enabled", "last_ms", "one_hour", "prefix")

    def __init__(self, enabled: bool, one_hour: bool = False) -> None:
        self.prefix = 0
        self.last_ms = -(10**15)
        self.enabled = enabled
        self.one_hour = one_hour


class _Gen:
    def __init__(self, seed: int, scale: float) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.scale = scale
        self.rows: list[tuple[int, int, dict[str, Any]]] = []
        self._ids = 0
        self.file_ids = {
            name: "file-" + hashlib.sha1(f"demo-file:{name}".encode()).hexdigest()[:20] for name, *_ in _FILES
        }

    # -- small helpers ------------------------------------------------------------------------
    def uid(self, prefix: str, n: int = 16) -> str:
        self._ids += 1
        return prefix + hashlib.sha1(f"{self.seed}:{prefix}:{self._ids}".encode()).hexdigest()[:n]

    def local_start(self, d: date, zone: str, hours: _W) -> int:
        rng = self.rng
        hour = int(_pick(rng, hours))
        local = _day_ms(d) + hour * _MS_HOUR + rng.randrange(_MS_HOUR)
        return local - _utc_offset_ms(zone, d)

    def model_attrs(self, mix: _W, member: str | None, attrs: dict[str, Any]) -> str:
        rng = self.rng
        unknown_share = 0.07 if member in ("erin", "frank") else 0.008
        if attrs.get("feature") in ("chat", "analysis") and rng.random() < unknown_share:
            model = _UNKNOWN_MODEL
        else:
            model = _pick(rng, mix)
        provider, raws, _, _ = _MODELS[model]
        attrs["provider"] = provider
        attrs["model"] = model
        attrs["model_raw"] = _pick(rng, raws)
        return model

    def base_attrs(self, member: str | None, feature: str, platform: str, *, org_share: float = 0.8) -> dict[str, Any]:
        rng = self.rng
        attrs: dict[str, Any] = {"source": "demo", "requests": 1, "service_tier": "standard"}
        if member is not None:
            attrs["member"] = member
            info = DEMO_MEMBERS[member]
            if rng.random() < org_share:  # else only the config mapping knows the team
                attrs.update(info)
            attrs["project"] = rng.choice(_PROJECTS[info["team"]])
            attrs["workspace"] = "agents-prod" if feature == "agents" else info["team"]
        attrs["feature"] = feature
        attrs["platform"] = platform
        return attrs

    # -- one request ---------------------------------------------------------------------------
    def call(
        self,
        ts: int,
        attrs: dict[str, Any],
        cache: _Cache,
        *,
        message: int,
        context: int,
        file: int = 0,
        output: int,
        tool: str | None = None,
        tool_output: int | None = None,
        web_searches: int = 0,
        file_name: str | None = None,
        extra: dict[str, Any] | None = None,
        message_id: str | None = None,
        error_rate: float = 0.01,
    ) -> int:
        """Emit one request (preceded, now and then, by a failed attempt); return its latency."""
        rng = self.rng
        model = attrs["model"]
        provider, _, tps, reasoning = _MODELS[model]
        if rng.random() < error_rate:
            err = dict(attrs)
            kinds: _W = (
                ("rate_limit", 5),
                ("overloaded", 3 if provider == "anthropic" else 0),
                ("server_error", 1.5),
                ("timeout", 1),
            )
            etype = _pick(rng, kinds)
            lat = rng.randint(60_000, 120_000) if etype == "timeout" else rng.randint(40, 900)
            err.update(
                input_tokens=0,
                cache_read_tokens=0,
                output_tokens=0,
                status="error",
                error_type=etype,
                latency_ms=lat,
                message_id=self.uid("msg_", 20),
            )
            if provider == "anthropic":
                err.update(cache_write_5m_tokens=0, cache_write_1h_tokens=0)
            if tool:
                err["tool"] = tool
            if extra:
                err["extra"] = dict(extra)
            self.emit(ts, err)
            ts += lat + rng.randint(1_000, 20_000)  # the client retries

        total = message + context + file
        inp, read, w5, w1h = self.split_cache(provider, model, total, context, cache, ts)
        if reasoning is not None:
            lo, hi = reasoning
            reason = round(output * rng.uniform(lo, hi))
        else:
            reason = None
        ev = dict(attrs)
        ev["input_tokens"] = inp
        ev["cache_read_tokens"] = read
        if provider == "anthropic":
            ev["cache_write_5m_tokens"] = w5
            ev["cache_write_1h_tokens"] = w1h
        ev["output_tokens"] = output
        if reason is not None:
            ev["reasoning_tokens"] = reason
        if web_searches:
            ev["web_search_requests"] = web_searches
        if tool:
            ev["tool"] = tool
        ev["message_id"] = message_id or self.uid("msg_", 20)
        ev["message_tokens"] = message
        ev["context_tokens"] = context
        ev["file_tokens"] = file
        if tool_output is not None:
            ev["tool_output_tokens"] = min(tool_output, output)
        ttft = 250 + (inp + w5 + w1h) * 0.02 + read * 0.003 + rng.randint(0, 600)
        latency = round(ttft + output * 1000 / (tps * rng.uniform(0.75, 1.25)))
        ev["latency_ms"] = latency
        ev["status"] = "success"
        if file_name is not None:
            name, size, *_ = _FILE_BY_NAME[file_name]
            ev["file_id"] = self.file_ids[name]
            ev["file_name"] = name
            ev["file_bytes"] = size
        if extra:
            ev["extra"] = dict(extra)
        self.emit(ts, ev)
        return latency

    def split_cache(
        self, provider: str, model: str, total: int, context: int, cache: _Cache, ts: int
    ) -> tuple[int, int, int, int]:
        """Split a request's input into (uncached, cache read, 5m write, 1h write)."""
        rng = self.rng
        gap = ts - cache.last_ms
        cache.last_ms = ts
        if not cache.enabled:
            return total, 0, 0, 0
        if provider == "anthropic":
            ttl = _MS_HOUR if cache.one_hour else 5 * _MS_MIN
            hit = cache.prefix > 0 and gap <= ttl and rng.random() < 0.97
            read = min(cache.prefix, total) if hit else 0
            tail = min(rng.randint(3, 40), total - read)
            write = total - read - tail
            w1h = 0
            if cache.one_hour and read == 0:
                w1h = min(write, context)  # the system prompt and tools, kept for an hour
            cache.prefix = read + write
            return tail, read, write - w1h, w1h
        if provider in ("openai", "google"):
            floor = 1024 if model != "gemini-2.5-pro" else 2048
            p_hit = 0.9 if provider == "openai" else 0.6
            ttl = 10 * _MS_MIN
            prefix = cache.prefix
            cache.prefix = total
            if total >= floor and prefix >= floor and gap <= ttl and rng.random() < p_hit:
                read = min(prefix, total) // 128 * 128
                return total - read, read, 0, 0
            return total, 0, 0, 0
        return total, 0, 0, 0

    def emit(self, ts: int, ev: dict[str, Any]) -> None:
        self.rows.append((ts, len(self.rows), ev))

    # -- conversations -------------------------------------------------------------------------
    def output_tokens(self, model: str, median: float, hi: int = 4000) -> int:
        reasoning = _MODELS[model][3]
        if reasoning is not None:
            median *= 1.8
            hi = int(hi * 1.5)
        return _lognorm(self.rng, median, 0.7, 100, hi)

    def chat(
        self,
        start: int,
        member: str,
        *,
        feature: str = "chat",
        platform: str = "web",
        n_msgs: int | None = None,
        model: str | None = None,
        file_name: str | None = None,
        title: str | None = None,
    ) -> None:
        rng = self.rng
        team = DEMO_MEMBERS[member]["team"]
        attrs = self.base_attrs(member, feature, platform)
        if model is None:
            model = self.model_attrs(_MODEL_MIX[feature], member, attrs)
        else:
            provider, raws, _, _ = _MODELS[model]
            attrs.update(provider=provider, model=model, model_raw=_pick(rng, raws))
        attrs["api_key"] = "key-chat-mobile" if platform == "mobile" else "key-chat-web"
        attrs["session_id"] = self.uid("chat_")
        if title is None:
            if feature == "web-search":
                title = rng.choice(_SEARCH_TITLES)
            else:
                title = rng.choice(_TITLES[team])
        attrs["chat_title"] = title
        if n_msgs is None:
            if feature == "web-search":
                n_msgs = rng.randint(1, 4)
            else:
                n_msgs = min(30, 3 + int(rng.expovariate(1 / 6.5)))
                if model == _UNKNOWN_MODEL:
                    n_msgs = min(n_msgs, 12)  # keeps the unpriced share steady across seeds
        provider = attrs["provider"]
        cache = _Cache(enabled=provider != "anthropic" or rng.random() < 0.75)
        context = rng.randint(300, 2_500)  # system prompt
        # A file: analysis sessions always attach one; some chats attach a document or an image.
        attach_at = -1
        tool_default: str | None = None
        if feature == "analysis":
            attach_at = 0
            tool_default = "document_analysis"
            if file_name is None:
                file_name = self.pick_file(_FILE_DOCS)
        elif file_name is None and feature == "chat":
            r = rng.random()
            if r < 0.07:
                file_name = self.pick_file(_FILE_DOCS)
            elif r < 0.11:
                file_name = self.pick_file(_FILE_IMAGES)
        if file_name is not None and attach_at < 0:
            attach_at = rng.randrange(min(n_msgs, 3))
        engineer = DEMO_MEMBERS[member]["department"] == "engineering"
        ts = start
        for k in range(n_msgs):
            msg = _lognorm(rng, 120, 1.0, 8, 3_000)
            extra = None
            if platform == "mobile" and rng.random() < 0.35:
                seconds = rng.randint(4, 75)
                extra = {"voice": True, "audio_seconds": seconds}
                msg = max(msg, seconds * 3)
            file = 0
            fname = None
            tool = tool_default
            tool_out: int | None = None
            searches = 0
            if k == attach_at and file_name is not None:
                fname = file_name
                file = _FILE_BY_NAME[file_name][2]
                tool = "image_analysis" if _FILE_BY_NAME[file_name][3] == "image" else "document_analysis"
            if feature == "web-search":
                tool = "web_search"
                searches = rng.randint(1, 3)
                msg = _lognorm(rng, 60, 0.6, 8, 600)
            elif tool is None and engineer and rng.random() < 0.12:
                tool = "code_generation"
            out = self.output_tokens(model, 420 if feature != "web-search" else 650)
            if tool == "code_generation":
                tool_out = round(out * rng.uniform(0.3, 0.7))
            elif tool == "web_search":
                tool_out = rng.randint(20, 90) * searches
            elif tool in ("document_analysis", "image_analysis") and fname is not None:
                tool_out = rng.randint(0, 200)
            if feature == "web-search":
                # search results come back as input the next turn reads
                search_ctx = rng.randint(1_500, 6_000) * searches
            else:
                search_ctx = 0
            lat = self.call(
                ts,
                attrs,
                cache,
                message=msg,
                context=context,
                file=file,
                output=out,
                tool=tool,
                tool_output=tool_out,
                web_searches=searches,
                file_name=fname,
                extra=extra,
            )
            context += msg + file + out + search_ctx
            pause = rng.expovariate(1 / 80_000) + 8_000
            if rng.random() < 0.05:
                pause += rng.randint(15, 45) * _MS_MIN  # a meeting in between
            ts += lat + int(pause)

    def pick_file(self, pool: tuple[tuple[str, int, int, str, float], ...]) -> str:
        return _pick(self.rng, tuple((f[0], f[4]) for f in pool))

    def agent_run(
        self,
        start: int,
        member: str | None,
        *,
        calls: int | None = None,
        model: str | None = None,
        agent: str | None = None,
        context0: int | None = None,
        growth: tuple[int, int] = (800, 5_000),
        cap: int = 150_000,
        loop: bool = False,
        error_rate: float = 0.01,
    ) -> None:
        rng = self.rng
        if member is None:
            attrs: dict[str, Any] = {
                "source": "demo",
                "requests": 1,
                "service_tier": "standard",
                "team": "platform",
                "department": "engineering",
                "cost_center": "cc-100",
                "project": "support-triage",
                "workspace": "agents-prod",
                "feature": "agents",
                "platform": "api",
            }
        else:
            attrs = self.base_attrs(member, "agents", "api")
        if model is None:
            model = self.model_attrs(_MODEL_MIX["agents"], member, attrs)
        else:
            provider, raws, _, _ = _MODELS[model]
            attrs.update(provider=provider, model=model, model_raw=_pick(rng, raws))
        agent = agent or rng.choice(_AGENTS)
        attrs["api_key"] = "key-agents-prod"
        attrs["session_id"] = self.uid("run_")
        if calls is None:
            calls = min(90, 6 + int(rng.expovariate(1 / 18)))
            if model == "claude-sonnet-4-5" and rng.random() < 0.08:
                # a long session that runs past 200k input before compacting (long-context rates)
                calls, cap = rng.randint(50, 80), rng.randint(205_000, 235_000)
        cache = _Cache(enabled=True, one_hour=attrs["provider"] == "anthropic" and rng.random() < 0.5)
        context = context0 if context0 is not None else rng.randint(14_000, 26_000)
        ts = start
        extra = {"agent": agent}
        searches = attrs["provider"] in _SEARCH_PRICED  # elsewhere the agent has no web search tool
        for step in range(calls):
            msg = _lognorm(rng, 900, 0.9, 20, 12_000)  # the tool result or instruction of this turn
            if loop:
                msg = rng.randint(600, 1_400)
            out = self.output_tokens(model, 380, 2_500)
            r = rng.random()
            tool = "code_generation" if r < 0.6 else ("web_search" if r < 0.75 and searches else None)
            tool_out = rng.randint(40, 600) if tool else None
            lat = self.call(
                ts,
                attrs,
                cache,
                message=msg,
                context=context,
                output=out,
                tool=tool,
                tool_output=tool_out,
                web_searches=1 if tool == "web_search" else 0,
                extra=extra,
                error_rate=error_rate,
            )
            if loop:
                # the same failing step again: the context barely moves
                context = max(context0 or 60_000, context + rng.randint(-2_000, 2_000))
            else:
                context += msg + out
                if context > cap:  # the agent compacts its history
                    context = rng.randint(25_000, 40_000)
                    cache.prefix = 0
                context += int(rng.uniform(*growth)) if step % 4 == 3 else 0
            ts += lat + rng.randint(800, 20_000)

    def batch_night(self, d: date, n: int) -> None:
        rng = self.rng
        model = _pick(rng, _MODEL_MIX["batch-summaries"])
        provider, raws, _, _ = _MODELS[model]
        job = f"batch_{d:%Y%m%d}_" + self.uid("", 6)
        attrs: dict[str, Any] = {
            "source": "demo",
            "provider": provider,
            "model": model,
            "model_raw": _pick(rng, raws),
            "requests": 1,
            "service_tier": "batch",
            "team": "platform",
            "department": "engineering",
            "cost_center": "cc-100",
            "project": "nightly-digest",
            "workspace": "batch",
            "api_key": "key-batch-nightly",
            "feature": "batch-summaries",
            "platform": "api",
            "session_id": job,
        }
        ts = _day_ms(d) + rng.randint(60, 150) * _MS_MIN + rng.randrange(_MS_MIN)
        cache = _Cache(enabled=False)
        for _ in range(n):
            out = _lognorm(rng, 350, 0.5, 100, 1_200)
            msg = _lognorm(rng, 4_000, 0.5, 600, 16_000)
            self.call(
                ts,
                attrs,
                cache,
                message=msg,
                context=rng.randint(250, 450),
                output=out,
                extra={"batch_id": job},
                error_rate=0.003,
            )
            ts += rng.randint(400, 9_000)

    def integration(self, d: date, member: str | None, service: str) -> None:
        rng = self.rng
        feature = "analysis" if service in ("notion", "salesforce") else "chat"
        if member is None:  # the shared Slack bot
            attrs: dict[str, Any] = {
                "source": "demo",
                "requests": 1,
                "service_tier": "standard",
                "project": "support-bot",
                "workspace": "integrations",
                "feature": feature,
                "platform": "integration",
            }
            zone = "Europe/Berlin"
        else:
            attrs = self.base_attrs(member, feature, "integration", org_share=0.6)
            attrs["workspace"] = "integrations"
            zone = DEMO_MEMBER_ZONES[member]
        attrs["integration"] = service
        attrs["api_key"] = "key-integrations"
        self.model_attrs(_MODEL_MIX["integration"], None, attrs)
        attrs["session_id"] = self.uid("thread_")
        size = {"gmail": 3_800, "slack": 1_400, "notion": 3_000, "salesforce": 2_600}[service]
        ts = self.local_start(d, zone, _HOURS_WORK)
        cache = _Cache(enabled=True)
        context = rng.randint(200, 900)
        for _ in range(rng.randint(1, 3)):
            msg = _lognorm(rng, size, 0.6, 200, 30_000)
            out = self.output_tokens(attrs["model"], 260, 1_500)
            extra = {"channel": rng.choice(("#support", "#sales", "#general"))} if service == "slack" else None
            lat = self.call(ts, attrs, cache, message=msg, context=context, output=out, extra=extra)
            context += msg + out
            ts += lat + rng.randint(20_000, 600_000)


def generate_events(
    end: date,
    *,
    days: int = 90,
    seed: int = 7,
    now: datetime | None = None,
    scale: float = 1.0,
) -> list[dict[str, Any]]:
    """Canonical demo events for the ``days`` days ending on ``end`` (UTC, inclusive), by time.

    Deterministic: the same arguments give the same events. ``now`` (aware, or naive = UTC)
    drops events after it, so a demo ending today shows nothing in the future; event ids are
    given before that cut, so events keep their ids whatever ``now`` is. ``scale`` multiplies
    the volume (1.0 gives about 20k events for 90 days). Keys with no value are left out; keys
    follow ``EVENT_COLUMNS`` order.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if scale <= 0:
        raise ValueError("scale must be positive")
    g = _Gen(seed, scale)
    rng = g.rng
    start = end - timedelta(days=days - 1)
    start_ms, end_ms = _day_ms(start), _day_ms(end) + _MS_DAY

    # Spike days at fixed places of the window, moved to a weekday.
    spikes: dict[int, str] = {}
    if days >= 21:
        for frac, kind in ((0.38, "documents"), (0.68, "agent-loop"), (0.86, "campaign")):
            i = min(days - 1, round((days - 1) * frac))
            while (start + timedelta(days=i)).weekday() >= 5 or i in spikes:
                i = i + 1 if i + 1 < days else i - 3
            spikes[i] = kind

    for i in range(days):
        d = start + timedelta(days=i)
        weekend = d.weekday() >= 5
        trend = 0.8 + 0.45 * (i / max(days - 1, 1))
        day_noise = rng.uniform(0.85, 1.15)
        f = trend * day_noise * scale
        spike = spikes.get(i)
        for member, (w_chat, w_agent, w_review) in _ACTIVITY.items():
            zone = DEMO_MEMBER_ZONES[member]
            team = DEMO_MEMBERS[member]["team"]
            wk = 0.07 if weekend else 1.0
            boost = 3.0 if spike == "campaign" and team == "growth" else 1.0
            # chats on the web and on mobile
            for _ in range(_poisson(rng, 2.5 * w_chat * wk * f * boost)):
                g.chat(g.local_start(d, zone, _HOURS_WORK), member)
            for _ in range(_poisson(rng, 0.3 * w_chat * (0.3 if weekend else 1.0) * f)):
                g.chat(g.local_start(d, zone, _HOURS_MOBILE), member, platform="mobile")
            for _ in range(_poisson(rng, 0.6 * w_chat * wk * f * boost)):
                g.chat(g.local_start(d, zone, _HOURS_WORK), member, feature="web-search")
            w_analysis = 0.16 if team in ("growth", "research") else 0.05
            for _ in range(_poisson(rng, w_analysis * w_chat * wk * f)):
                g.chat(g.local_start(d, zone, _HOURS_WORK), member, feature="analysis")
            for _ in range(_poisson(rng, 0.6 * w_review * wk * f)):
                g.chat(
                    g.local_start(d, zone, _HOURS_WORK),
                    member,
                    feature="code-review",
                    platform="api",
                    n_msgs=rng.randint(1, 6),
                    title=rng.choice(_REVIEW_TITLES),
                )
            for _ in range(_poisson(rng, 0.32 * w_agent * (0.15 if weekend else 1.0) * f)):
                g.agent_run(g.local_start(d, zone, _HOURS_WORK), member)
            # integrations the member set up
            for service, lam in (("gmail", 1.6), ("slack", 0.6), ("notion", 0.25), ("salesforce", 0.45)):
                if service == "salesforce" and team != "growth":
                    continue
                for _ in range(_poisson(rng, lam * w_chat * wk * f * 0.6)):
                    g.integration(d, member, service)
        # shared resources: the Slack bot and a triage agent with no member
        for _ in range(_poisson(rng, (0.5 if weekend else 1.5) * f)):
            g.integration(d, None, "slack")
        if not weekend and rng.random() < 0.35 * min(1.0, scale * 3):
            g.agent_run(
                g.local_start(d, "Europe/Berlin", _HOURS_WORK),
                None,
                agent="support-triage",
                model="claude-haiku-4-5",
                calls=rng.randint(4, 12),
            )
        # the nightly batch job (smaller on weekends)
        g.batch_night(d, max(1, round((rng.randint(3, 6) * scale) if weekend else (rng.randint(8, 16) * f))))

        if spike == "agent-loop":
            # bob's ci-fixer agent retries the same failing step all afternoon and evening
            t0 = _day_ms(d) + 13 * _MS_HOUR + rng.randrange(_MS_HOUR) - _utc_offset_ms("Europe/Berlin", d)
            g.agent_run(
                t0,
                "bob",
                calls=max(10, round(220 * scale)),
                model="claude-sonnet-4-5",
                agent="ci-fixer",
                context0=68_000,
                loop=True,
                error_rate=0.04,
            )
        elif spike == "documents":
            # carol's due diligence: whole reports, the biggest over 200k input on claude-sonnet-4-5
            for fname, model, n in (
                ("Annual_Report_2025_full.pdf", "claude-sonnet-4-5", 9),
                ("Market_Study_2026.pdf", "gemini-2.5-pro", 7),
                ("Annual_Report_2025_full.pdf", "claude-sonnet-4-5", 5),
                ("Board_Deck_Q3.pdf", "gpt-4o", 6),
                ("Competitor_Analysis.pdf", "claude-opus-4-1", 5),
            ):
                g.chat(
                    g.local_start(d, "America/New_York", _HOURS_WORK),
                    "carol",
                    feature="analysis",
                    model=model,
                    file_name=fname,
                    n_msgs=n,
                    title="Annual report due diligence",
                )
    # Long-context usage now and then outside the spike: a reread of the full annual report.
    for i in range(days // 30):
        d = start + timedelta(days=min(days - 1, 40 + 17 * i) if days > 45 else i)
        g.chat(
            g.local_start(d, "Europe/Berlin", _HOURS_WORK),
            "david",
            feature="analysis",
            model="claude-sonnet-4-5",
            file_name="Annual_Report_2025_full.pdf",
            n_msgs=3,
        )

    rows = [r for r in g.rows if start_ms <= r[0] < end_ms]
    rows.sort(key=lambda r: (r[0], r[1]))
    cut: int | None = None
    if now is not None:
        aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        delta = aware.astimezone(UTC).replace(tzinfo=None) - datetime(1970, 1, 1)
        cut = delta.days * _MS_DAY + delta.seconds * 1000 + delta.microseconds // 1000
    width = max(6, len(str(len(rows))))
    events: list[dict[str, Any]] = []
    for n, (ts, _, ev) in enumerate(rows, 1):
        if cut is not None and ts > cut:
            break
        ev["event_id"] = f"demo-{n:0{width}d}"
        ev["ts"] = _iso(ts)
        events.append({k: ev[k] for k in EVENT_COLUMN_NAMES if ev.get(k) is not None})
    return events


# ---------------------------------------------------------------------------------------------
# writers


def write_jsonl(events: list[dict[str, Any]], path: Path) -> int:
    """One compact JSON object per line (UTF-8, ``\\n``); returns the number of lines written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for ev in events:
            fh.write(json.dumps(ev, ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")
    return len(events)


def write_csv(events: list[dict[str, Any]], path: Path) -> int:
    """CSV with the canonical header (``EVENT_COLUMNS`` order); ``extra`` as JSON text, null as
    an empty cell. Returns the number of data rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(EVENT_COLUMN_NAMES)
        for ev in events:
            row = []
            for name in EVENT_COLUMN_NAMES:
                v = ev.get(name)
                if v is None:
                    row.append("")
                elif name == "extra":
                    row.append(json.dumps(v, ensure_ascii=False, separators=(",", ":")))
                else:
                    row.append(str(v))
            w.writerow(row)
    return len(events)


def _bad_lines(good: list[dict[str, Any]]) -> list[str]:
    """The lines of ``bad-lines.jsonl``; examples/README.md describes each one by line number.

    Every line's ``event_id`` is ``bad-lines-NN`` with NN its line number."""
    picks = iter(good[:: max(1, len(good) // 12)])

    def ev(lineno: int, **changes: Any) -> dict[str, Any]:
        out = dict(next(picks))
        out["event_id"] = f"bad-lines-{lineno:02d}"
        for key, value in changes.items():
            if value is _DROP:
                del out[key]
            else:
                out[key] = value
        return out

    def line(obj: dict[str, Any]) -> str:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    truncated = line(ev(11))
    return [
        line(ev(1)),
        line(ev(2)),
        '{"event_id":"bad-lines-03","ts":"2026-11-19T09:14:02.118Z","source":"demo",model:gpt-4o}',
        line(ev(4, ts=_DROP)),
        line(ev(5, input_tokens=-120)),
        line(ev(6)),
        line(ev(7, output_tokens=12.5)),
        line(ev(8, output_tokens="n/a")),
        line(ev(9, ts="2026-11-31T25:61:00Z")),
        line(ev(10)),
        truncated[: len(truncated) // 2],  # cut mid-record, and no newline after it
    ]


_DROP = object()


def write_examples(dir: Path, end: date = EXAMPLES_END) -> list[Path]:
    """Write the small canonical samples under ``dir/canonical`` and return their paths.

    ``sample.jsonl`` and ``sample.csv`` hold the same ~220 events (3 days); ``bad-lines.jsonl``
    mixes good lines with malformed ones (see examples/README.md)."""
    out = dir / "canonical"
    # seed 227 at this scale gives a small sample that still has every provider, feature and
    # platform, a failed request, files and unpriced usage
    events = generate_events(end, days=3, seed=227, scale=0.25)
    for ev in events:  # ids of their own: imported into the demo's database, they are not its events
        ev["event_id"] = "sample-" + str(ev["event_id"]).removeprefix("demo-")
    jsonl, csv_path, bad = out / "sample.jsonl", out / "sample.csv", out / "bad-lines.jsonl"
    write_jsonl(events, jsonl)
    write_csv(events, csv_path)
    successes = [ev for ev in events if ev.get("status") == "success"]
    with bad.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(_bad_lines(successes)))  # the last line stays truncated, no newline
    return [jsonl, csv_path, bad]
