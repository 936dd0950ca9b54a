"""Generate N canonical usage events as JSONL, fast, for timing imports at 1M and 10M events.

    python benchmarks/gen_events.py --events 1000000 --out benchmarks/data/events-1m.jsonl
    python benchmarks/gen_events.py --events 10000000 --out benchmarks/data/events-10m.jsonl \\
        --files 64 --days 365 --seed 1 --bad-lines 0.001

Every column is a hash of the row number (``hash(j, seed, 'salt') % k``) computed by DuckDB in
one ``COPY (SELECT ... FROM range(N)) TO ...`` per file, so nothing loops over rows in Python.
The shape follows the demo data (usagectl/services/demo.py): the same members, teams, models
(one the price tables do not know), features, platforms, integrations and files; sessions of
4-23 messages whose context grows; agent runs heavy on cache reads, some over 200k input;
nightly batch requests; about 1 % failed requests with zero tokens.

Timestamps run forward through the file (``--days`` days ending 2026-11-25, millisecond
precision, ``Z``), denser on weekdays and working hours, growing slowly over the period; with
``--files K`` each file is the next slice of time, like daily log files. About ``--dup-rate``
(1 %) of the events are written twice, the copy right after the original, as real logs repeat
lines; ``--events`` counts lines written, duplicates included. ``--bad-lines R`` appends
``round(R * events)`` malformed lines (spread over the files, written with Python after DuckDB).
Keys with no value are left out, as real logs do.
"""

from __future__ import annotations

import argparse
import bisect
import json
import random
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from usagectl.models import EVENT_COLUMN_NAMES, EVENT_COLUMNS

END = date(2026, 11, 25)
LUT_SIZE = 1 << 16  # resolution of the time mapping (row -> timestamp)

MEMBERS = (  # name, team, department, cost center, weight
    ("alice", "platform", "engineering", "cc-100", 16),
    ("bob", "platform", "engineering", "cc-100", 14),
    ("carol", "growth", "marketing", "cc-200", 10),
    ("david", "growth", "marketing", "cc-200", 9),
    ("erin", "research", "engineering", "cc-300", 8),
    ("frank", "research", "engineering", "cc-300", 7),
    ("grace", "growth", "marketing", "cc-200", 5),
    ("heidi", "platform", "engineering", "cc-100", 5),
)
PROJECTS = {
    "platform": ("agent-platform", "billing-service", "internal-tools"),
    "growth": ("q3-campaign", "website-relaunch", "newsletter"),
    "research": ("eval-harness", "market-research", "churn-study"),
}
# canonical id, provider, raw form as logged by some clients, reasoning model
MODELS = (
    ("gpt-4o", "openai", "gpt-4o-2024-08-06", False),
    ("claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5-20250929", False),
    ("gpt-4o-mini", "openai", "gpt-4o-mini-2024-07-18", False),
    ("claude-haiku-4-5", "anthropic", "anthropic/claude-haiku-4-5", False),
    ("claude-opus-4-1", "anthropic", "claude-opus-4-1-20250805", False),
    ("gpt-4.1-mini", "openai", "gpt-4.1-mini-2025-04-14", False),
    ("gpt-5", "openai", "gpt-5-2025-08-07", True),
    ("o4-mini", "openai", "o4-mini-2025-04-16", True),
    ("gemini-2.5-flash", "google", "google/gemini-2.5-flash", True),
    ("gemini-2.5-pro", "google", "gemini-2.5-pro", True),
    ("mistral-large-2411", "mistral", "mistral/mistral-large-2411", False),  # unpriced
)
M = {m[0]: n for n, m in enumerate(MODELS)}
# feature -> model weights (by canonical id)
MODEL_MIX: dict[str, dict[str, float]] = {
    "chat": {
        "gpt-4o": 38, "claude-sonnet-4-5": 24, "gpt-4o-mini": 20, "claude-haiku-4-5": 4, "gemini-2.5-flash": 4,
        "gpt-5": 3, "gemini-2.5-pro": 1.5, "claude-opus-4-1": 1, "mistral-large-2411": 2.5,
    },
    "agents": {"claude-sonnet-4-5": 70, "gpt-4.1-mini": 10, "claude-opus-4-1": 7, "gpt-5": 8, "o4-mini": 5},
    "web-search": {"gpt-4o": 50, "claude-sonnet-4-5": 30, "gemini-2.5-flash": 20},
    "analysis": {
        "claude-sonnet-4-5": 42, "gpt-4o": 30, "gemini-2.5-pro": 15, "claude-opus-4-1": 10, "mistral-large-2411": 3,
    },
    "code-review": {"claude-sonnet-4-5": 50, "o4-mini": 20, "gpt-4.1-mini": 20, "gpt-5": 10},
    "batch-summaries": {"gpt-4o-mini": 60, "claude-haiku-4-5": 40},
}  # fmt: skip
FEATURES: dict[str, float] = {
    "chat": 62,
    "agents": 16,
    "web-search": 5,
    "analysis": 5,
    "code-review": 5,
    "batch-summaries": 7,
}
TITLES = (
    "Q3 Marketing Analysis", "Refactor billing service", "Churn cohort deep-dive", "Campaign copy ideas",
    "Incident postmortem summary", "Competitor pricing research", "Eval harness metrics", "SQL query help",
    "Newsletter draft November", "API rate limiter design", "Survey results summary", "Quarterly OKR draft",
)  # fmt: skip
FILES = (  # name, bytes, extracted tokens
    ("Annual_Report.pdf", 2_411_724, 12_500), ("Q3_Marketing_Plan.pptx", 5_872_025, 6_800),
    ("Customer_Survey_2026.xlsx", 842_113, 9_400), ("Product_Roadmap.docx", 318_944, 4_100),
    ("Board_Deck_Q3.pdf", 7_340_032, 8_900), ("Competitor_Analysis.pdf", 1_258_291, 15_200),
    ("Pricing_Study.pdf", 965_400, 11_300), ("Brand_Guidelines.pdf", 14_680_064, 5_600),
    ("Onboarding_Handbook.pdf", 2_097_152, 21_000), ("Contract_Acme_MSA.pdf", 489_300, 18_700),
    ("Churn_Cohorts.csv", 3_145_728, 24_500), ("Support_Tickets_Oct.csv", 6_291_456, 38_000),
    ("Architecture_Overview.md", 48_213, 7_900), ("Sales_Pipeline.xlsx", 1_572_864, 13_800),
    ("Research_Paper_RAG.pdf", 3_984_588, 19_600), ("Market_Study_2026.pdf", 11_534_336, 96_000),
    ("whiteboard_sprint.png", 2_936_012, 1_450), ("dashboard_screenshot.png", 1_048_576, 1_200),
    ("receipt_scan.jpg", 734_003, 1_100), ("ad_mockup_v3.png", 4_194_304, 1_600),
)  # fmt: skip
# UTC hour weights: Berlin working hours (06-17 UTC) plus New York (12-23 UTC), lunch dips
HOUR_W = (0.3, 1.5, 0.5, 0.2, 0.3, 0.8, 3, 7, 9, 9, 6, 5, 7, 10, 10, 8, 7, 6, 4, 3.5, 2.5, 2, 1.5, 0.8)


def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _list(values: Sequence[object]) -> str:
    return "[" + ", ".join(_q(v) if isinstance(v, str) else str(v) for v in values) + "]"


def _pick(expr: str, weights: Mapping[str, float], out: Mapping[str, str]) -> str:
    """CASE over a uniform integer ``expr`` in [0, 10000) choosing by weight."""
    total = sum(weights.values())
    parts, acc = [], 0.0
    items = list(weights.items())
    for key, w in items[:-1]:
        acc += w
        parts.append(f"WHEN {expr} < {round(acc / total * 10000)} THEN {out[key]}")
    return f"CASE {' '.join(parts)} ELSE {out[items[-1][0]]} END"


def time_lut(days: int, seed: int) -> list[int]:
    """Inverse CDF of the event intensity over the period, sampled at LUT_SIZE + 1 points (epoch ms).

    Intensity per 15 minutes = day weight (weekday 1, weekend 0.12, a slow growth, some noise,
    two spike days) x UTC hour weight."""
    rng = random.Random(seed)
    start = END - timedelta(days=days - 1)
    start_ms = (start - date(1970, 1, 1)).days * 86_400_000
    spikes = {round((days - 1) * 0.68): 4.0, round((days - 1) * 0.38): 2.0} if days >= 21 else {}
    weights: list[float] = []
    for d in range(days):
        day = start + timedelta(days=d)
        dw = (0.12 if day.weekday() >= 5 else 1.0) * (0.8 + 0.45 * d / max(days - 1, 1))
        dw *= rng.uniform(0.85, 1.15) * spikes.get(d, 1.0)
        for slot in range(96):
            weights.append(dw * HOUR_W[slot // 4])
    cum = [0.0]
    for w in weights:
        cum.append(cum[-1] + w)
    total = cum[-1]
    slot_ms = 15 * 60_000
    lut = []
    for qi in range(LUT_SIZE + 1):
        p = total * qi / LUT_SIZE
        s = min(len(weights) - 1, max(0, bisect.bisect_right(cum, p) - 1))
        frac = (p - cum[s]) / weights[s] if weights[s] else 0.0
        lut.append(start_ms + s * slot_ms + min(slot_ms - 1, int(frac * slot_ms)))
    lut[-1] = start_ms + days * 86_400_000 - 1
    return lut


def build_sql(lo: int, hi: int, n_unique: int, seed: int, dup_per_10k: int) -> str:
    """The SELECT producing one JSON line per row j in [lo, hi) (duplicates doubled)."""
    S = seed

    def u(j: str, salt: str, k: int) -> str:  # a uniform integer in [0, k) from the row or session
        return f"(hash({j}, {S}, '{salt}') % {k})::BIGINT"

    members_list = _list([m[0] for m in MEMBERS])
    member_w = {str(n + 1): float(m[4]) for n, m in enumerate(MEMBERS)}
    member_w["0"] = 4.0  # shared: no member
    member_pick = _pick(u("sess", "member", 10000), member_w, {k: k for k in member_w})
    feature_names = list(FEATURES)
    feature_pick = _pick(u("sess", "feature", 10000), FEATURES, {f: str(n) for n, f in enumerate(feature_names)})
    model_case = (
        "CASE fi "
        + " ".join(
            f"WHEN {n} THEN {_pick(u('sess', 'model', 10000), MODEL_MIX[f], {m: str(M[m]) for m in MODEL_MIX[f]})}"
            for n, f in enumerate(feature_names)
        )
        + " END"
    )
    fx = {f: n for n, f in enumerate(feature_names)}
    teams = _list([m[1] for m in MEMBERS])
    depts = _list([m[2] for m in MEMBERS])
    ccs = _list([m[3] for m in MEMBERS])
    proj = _list([p for m in MEMBERS for p in PROJECTS[m[1]]])  # 3 per member, by member index
    models = _list([m[0] for m in MODELS])
    providers = _list([m[1] for m in MODELS])
    raws = _list([m[2] for m in MODELS])
    reasoning = _list([m[3] for m in MODELS])
    titles = _list(TITLES)
    fnames = _list([f[0] for f in FILES])
    fbytes = _list([f[1] for f in FILES])
    ftok = _list([f[2] for f in FILES])
    fids = _list([f"file-bench{n:04d}" for n in range(len(FILES))])
    integ = _pick(
        u("sess", "integ", 10000),
        {"gmail": 50, "slack": 25, "salesforce": 15, "notion": 10},
        {k: _q(k) for k in ("gmail", "slack", "salesforce", "notion")},
    )
    err_pick = _pick(
        u("j", "etype", 10000),
        {"rate_limit": 55, "overloaded": 20, "server_error": 15, "timeout": 10},
        {k: _q(k) for k in ("rate_limit", "overloaded", "server_error", "timeout")},
    )

    def s(name: str, expr: str) -> str:  # a string key (left out when NULL)
        return f"'\"{name}\":\"' || ({expr}) || '\"'"

    def n(name: str, expr: str) -> str:  # an integer key (left out when NULL)
        return f"'\"{name}\":' || ({expr})"

    return f"""
WITH r AS (
    SELECT i AS j, (i * {LUT_SIZE}) // {n_unique} AS q, (i * {LUT_SIZE}) % {n_unique} AS rem,
           i // 240 AS blk
    FROM range({lo}, {hi}) t(i)
),
s1 AS (
    SELECT r.j, lut.t0 + (lut.t1 - lut.t0) * r.rem // {n_unique} AS ts_ms,
           r.blk * 64 + (r.j % 240) // (4 + {u("r.blk", "slen", 20)}) AS sess,
           (r.j % 240) % (4 + {u("r.blk", "slen", 20)}) AS pos
    FROM r JOIN lut ON lut.q = r.q
),
s2 AS (
    SELECT *, {feature_pick} AS fi, {member_pick} AS mi FROM s1
),
s3 AS (
    SELECT *,
        {model_case} AS mo,
        CASE WHEN fi = {fx["batch-summaries"]} THEN 0 ELSE mi END AS mem,
        {u("sess", "org", 100)} < 80 AS org,
        {u("j", "err", 10000)} < 100 AS err,
        CASE WHEN fi IN ({fx["agents"]}, {fx["code-review"]}, {fx["batch-summaries"]}) THEN 'api'
             WHEN fi = {fx["chat"]} AND {u("sess", "plat", 100)} < 10 THEN 'integration'
             WHEN {u("sess", "plat", 100)} < 25 THEN 'mobile' ELSE 'web' END AS platform,
        pos = 0 AND (fi = {fx["analysis"]} OR (fi = {fx["chat"]} AND {u("sess", "file", 100)} < 8)) AS has_file,
        CASE WHEN fi = {fx["analysis"]} THEN {u("sess", "fidx", 16)} ELSE {u("sess", "fidx", len(FILES))} END
            AS fidx
    FROM s2
),
s4 AS (
    SELECT *,
        {providers}[mo + 1] AS provider,
        CASE
            WHEN fi = {fx["agents"]} THEN 200 + {u("j", "msg", 4000)}
            WHEN fi = {fx["batch-summaries"]} THEN 600 + {u("j", "msg", 8000)}
            WHEN fi = {fx["web-search"]} THEN 10 + {u("j", "msg", 200)} + pos * 4000
            ELSE 10 + ({u("j", "msg", 100)} * {u("j", "msg2", 100)}) // 10
        END AS msg,
        CASE
            WHEN fi = {fx["agents"]} AND mo = {M["claude-sonnet-4-5"]} AND {u("sess", "long", 100)} < 8
                THEN least(240000, 150000 + {u("sess", "sys", 12000)} + pos * (1500 + {u("sess", "grow", 5000)}))
            WHEN fi = {fx["agents"]}
                THEN least(150000, 14000 + {u("sess", "sys", 12000)} + pos * (1500 + {u("sess", "grow", 5000)}))
            WHEN fi = {fx["batch-summaries"]} THEN 250 + {u("j", "sys", 200)}
            ELSE 300 + {u("sess", "sys", 2200)} + pos * (250 + {u("sess", "grow", 900)})
                 + CASE WHEN fi = {fx["analysis"]} AND pos > 0 THEN {ftok}[fidx + 1] ELSE 0 END
        END AS ctx,
        CASE WHEN has_file THEN {ftok}[fidx + 1] ELSE 0 END AS file,
        100 + ({u("j", "out", 1000)} * {u("j", "out", 1000)} * {u("j", "out", 1000)}) // 260000 AS out,
        3 + {u("j", "tail", 30)} AS tail,
        {u("sess", "cache", 100)} < 80 AS cached,
        {u("j", "hit", 100)} < 88 AS hit
    FROM s3
),
s5 AS (
    SELECT *, msg + ctx + file AS tin,
        CASE
            WHEN NOT cached OR provider = 'mistral' OR fi = {fx["batch-summaries"]} THEN 0
            WHEN provider = 'anthropic' THEN CASE WHEN pos = 0 THEN 0 ELSE ctx END
            WHEN pos > 0 AND hit AND ctx >= 1024 THEN (ctx // 128) * 128
            ELSE 0
        END AS cr
    FROM s4
),
s6 AS (
    SELECT *,
        CASE WHEN provider = 'anthropic' AND cached AND fi <> {fx["batch-summaries"]}
             THEN greatest(0, tin - cr - least(tail, tin - cr)) ELSE 0 END AS cw,
        CASE WHEN fi = {fx["agents"]} AND pos = 0 AND {u("sess", "1h", 100)} < 50 THEN 1 ELSE 0 END AS one_h
    FROM s5
),
s7 AS (
    SELECT *,
        CASE WHEN provider = 'anthropic' THEN one_h * least(cw, ctx) ELSE 0 END AS cw1h,
        CASE WHEN {reasoning}[mo + 1] THEN out * (30 + {u("j", "rs", 50)}) // 100 END AS rsn,
        CASE WHEN fi = {fx["agents"]} THEN CASE WHEN {u("j", "tool", 100)} < 60 THEN 'code_generation'
                                                  WHEN {u("j", "tool", 100)} < 75 THEN 'web_search' END
             WHEN fi = {fx["web-search"]} THEN 'web_search'
             WHEN fi = {fx["code-review"]} THEN 'code_generation'
             WHEN fi = {fx["analysis"]} THEN 'document_analysis'
             WHEN has_file AND fidx >= 16 THEN 'image_analysis'
             WHEN has_file THEN 'document_analysis'
        END AS tool
    FROM s6
),
lines AS (
    SELECT j, '{{' || concat_ws(',',
        {s("event_id", f"'b{S}-' || lpad(j::VARCHAR, 10, '0')")},
        {s("ts", "strftime(epoch_ms(ts_ms), '%Y-%m-%dT%H:%M:%S.%gZ')")},
        '"source":"bench"',
        {s("provider", "provider")},
        {s("model", f"{models}[mo + 1]")},
        {s("model_raw", f"CASE WHEN {u('sess', 'raw', 10)} < 4 THEN {raws}[mo + 1] ELSE {models}[mo + 1] END")},
        '"requests":1',
        {n("input_tokens", "CASE WHEN err THEN 0 ELSE tin - cr - cw END")},
        {n("cache_read_tokens", "CASE WHEN err THEN 0 ELSE cr END")},
        CASE WHEN provider = 'anthropic' THEN
            {n("cache_write_5m_tokens", "CASE WHEN err THEN 0 ELSE cw - cw1h END")} || ',' ||
            {n("cache_write_1h_tokens", "CASE WHEN err THEN 0 ELSE cw1h END")} END,
        {n("output_tokens", "CASE WHEN err THEN 0 ELSE out END")},
        {n("reasoning_tokens", "CASE WHEN err THEN 0 ELSE rsn END")},
        CASE WHEN tool = 'web_search' AND NOT err THEN {n("web_search_requests", f"1 + {u('j', 'ws', 3)}")} END,
        {s("service_tier", f"CASE WHEN fi = {fx['batch-summaries']} THEN 'batch' ELSE 'standard' END")},
        CASE WHEN mem > 0 THEN {s("member", f"{members_list}[mem]")} END,
        CASE WHEN (mem > 0 AND org) THEN {s("team", f"{teams}[mem]")} || ',' || {s("department", f"{depts}[mem]")}
                                          || ',' || {s("cost_center", f"{ccs}[mem]")}
             WHEN fi = {
        fx["batch-summaries"]
    } THEN '"team":"platform","department":"engineering","cost_center":"cc-100"'
        END,
        CASE WHEN mem > 0 THEN {s("project", f"{proj}[(mem - 1) * 3 + 1 + {u('sess', 'proj', 3)}]")}
             WHEN fi = {fx["batch-summaries"]} THEN '"project":"nightly-digest"' END,
        {
        s(
            "workspace",
            f"CASE WHEN fi = {fx['agents']} THEN 'agents-prod' WHEN fi = {fx['batch-summaries']} "
            f"THEN 'batch' WHEN mem > 0 THEN {teams}[mem] ELSE 'shared' END",
        )
    },
        {
        s(
            "api_key",
            f"CASE WHEN platform = 'api' THEN 'key-' || {_list(feature_names)}[fi + 1] "
            f"WHEN platform = 'integration' THEN 'key-integrations' ELSE 'key-chat-' || platform END",
        )
    },
        {s("feature", f"{_list(feature_names)}[fi + 1]")},
        {s("tool", "tool")},
        CASE WHEN platform = 'integration' THEN {s("integration", integ)} END,
        {s("platform", "platform")},
        {
        s(
            "session_id",
            f"CASE WHEN fi = {fx['agents']} THEN 'run_' ELSE 'chat_' END || hex(hash(sess, {S}, 'sid'))",
        )
    },
        CASE WHEN fi IN ({fx["chat"]}, {fx["analysis"]}, {fx["web-search"]}) AND platform <> 'integration'
             THEN {s("chat_title", f"{titles}[1 + {u('sess', 'title', len(TITLES))}]")} END,
        {s("message_id", f"'msg_' || hex(hash(j, {S}, 'mid'))")},
        CASE WHEN NOT err THEN {n("message_tokens", "msg")} || ',' || {n("context_tokens", "ctx")} || ','
                               || {n("file_tokens", "file")} END,
        CASE WHEN tool IS NOT NULL AND NOT err THEN {n("tool_output_tokens", f"out * {u('j', 'to', 60)} // 100")} END,
        {
        n(
            "latency_ms",
            f"CASE WHEN err THEN 40 + {u('j', 'lat', 900)} ELSE 300 + (tin - cr) // 50 + cr // 400 "
            f"+ out * 12 + {u('j', 'lat', 800)} END",
        )
    },
        {s("status", "CASE WHEN err THEN 'error' ELSE 'success' END")},
        CASE WHEN err THEN {s("error_type", err_pick)} END,
        CASE WHEN has_file AND NOT err THEN {s("file_id", f"{fids}[fidx + 1]")} || ',' ||
            {s("file_name", f"{fnames}[fidx + 1]")} || ',' || {n("file_bytes", f"{fbytes}[fidx + 1]")} END,
        CASE WHEN platform = 'mobile' AND {u("j", "voice", 100)} < 30
                 THEN '"extra":{{"voice":true,"audio_seconds":' || (4 + {u("j", "asec", 70)}) || '}}'
             WHEN fi = {fx["agents"]}
                 THEN '"extra":{{"agent":"' || ['repo-maintainer', 'ci-fixer', 'docs-writer', 'data-cleaner']
                      [1 + {u("sess", "agent", 4)}] || '"}}' END
    ) || '}}' AS line
    FROM s7
)
SELECT unnest(CASE WHEN {u("j", "dup", 10000)} < {dup_per_10k} THEN [line, line] ELSE [line] END) AS line
FROM lines
"""


BAD_KINDS = ("truncated", "garbage", "missing_ts", "negative", "fraction", "string", "bad_ts", "array")


def bad_line(kind: str, good: dict[str, Any], n: int) -> str:
    ev = dict(good)
    ev["event_id"] = f"bad-{n:08d}"
    if kind == "truncated":
        text = json.dumps(ev, separators=(",", ":"))
        return text[: len(text) // 2]
    if kind == "garbage":
        return "<html><body>502 Bad Gateway</body></html>"
    if kind == "missing_ts":
        ev.pop("ts", None)
    elif kind == "negative":
        ev["input_tokens"] = -1 - n % 500
    elif kind == "fraction":
        ev["output_tokens"] = 12.5
    elif kind == "string":
        ev["output_tokens"] = "n/a"
    elif kind == "bad_ts":
        ev["ts"] = "2026-02-30T25:61:00Z"
    elif kind == "array":
        return json.dumps([ev], separators=(",", ":"))
    return json.dumps(ev, separators=(",", ":"))


def _first_lines(path: Path, k: int) -> list[str]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            out.append(line.rstrip("\n"))
            if len(out) >= k:
                break
    return out


def _last_lines(path: Path, nbytes: int) -> list[str]:
    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - nbytes))
        data = fh.read().decode("utf-8", errors="replace")
    lines = data.split("\n")
    if size > nbytes:
        lines = lines[1:]  # the first one is partial
    return [x for x in lines if x]


INT_KEYS = {name for name, kind in EVENT_COLUMNS if kind == "int"}
REQUIRED = {"event_id", "ts", "source", "provider", "model", "model_raw", "requests", "status"}


def check_event(line: str) -> dict[str, Any]:
    ev = json.loads(line)
    assert isinstance(ev, dict), line[:80]
    assert set(ev) <= set(EVENT_COLUMN_NAMES), set(ev) - set(EVENT_COLUMN_NAMES)
    assert REQUIRED <= set(ev), REQUIRED - set(ev)
    ts = datetime.fromisoformat(str(ev["ts"]))
    assert ts.tzinfo is not None and str(ev["ts"]).endswith("Z") and len(str(ev["ts"])) == 24
    for key in INT_KEYS & set(ev):
        assert type(ev[key]) is int and ev[key] >= 0, (key, ev[key])
    if "message_tokens" in ev:
        total = sum(
            int(ev.get(k, 0))
            for k in ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens")
        )
        assert int(ev["message_tokens"]) + int(ev["context_tokens"]) + int(ev["file_tokens"]) == total, ev
    assert int(ev.get("reasoning_tokens", 0)) <= int(ev["output_tokens"])
    return ev


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, required=True, help="lines to write, duplicates included")
    ap.add_argument("--out", type=Path, required=True, help="output .jsonl (with --files: name-000.jsonl ...)")
    ap.add_argument("--files", type=int, default=1, help="split into this many files (slices of time)")
    ap.add_argument("--days", type=int, default=365, help="days ending 2026-11-25 (default 365)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dup-rate", type=float, default=0.01, help="share of events written twice (default 0.01)")
    ap.add_argument("--bad-lines", type=float, default=0.0, help="share of malformed lines to append, e.g. 0.001")
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (default: all cores)")
    ap.add_argument("--verify-all", action="store_true", help="parse every line back with Python json")
    args = ap.parse_args(argv)
    if args.events < 1 or args.files < 1 or args.days < 1:
        ap.error("--events, --files and --days must be positive")

    t0 = time.perf_counter()
    n_bad = round(args.events * args.bad_lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.files == 1:
        paths = [args.out]
    else:
        width = max(3, len(str(args.files - 1)))
        paths = [args.out.with_name(f"{args.out.stem}-{k:0{width}d}{args.out.suffix}") for k in range(args.files)]

    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    dup_per_10k = round(args.dup_rate * 10000)

    def count_dups(n: int) -> int:
        sql = f"SELECT count(*) FROM range({n}) t(j) WHERE (hash(j, {args.seed}, 'dup') % 10000) < {dup_per_10k}"
        row = con.execute(sql).fetchone()
        return int(row[0]) if row else 0

    # as many unique events as make --events lines with their duplicates (exact, or off by one)
    target = args.events - n_bad
    n_unique = max(1, round(target / (1 + args.dup_rate)))
    for _ in range(6):
        nxt = max(1, target - count_dups(n_unique))
        if nxt == n_unique:
            break
        n_unique = nxt
    con.execute("SET preserve_insertion_order = true")
    lut = time_lut(args.days, args.seed)
    con.execute(
        "CREATE TEMP TABLE lut AS SELECT (generate_subscripts($l, 1) - 1)::BIGINT AS q, "
        "unnest($l) AS t0, unnest(list_concat($l[2:], [$l[-1]])) AS t1",
        {"l": lut},
    )
    bounds = [round(k * n_unique / args.files) for k in range(args.files + 1)]
    for k, path in enumerate(paths):
        sql = build_sql(bounds[k], bounds[k + 1], n_unique, args.seed, dup_per_10k)
        con.execute(
            f"COPY ({sql}) TO {_q(str(path))} "
            "(FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x01', NEW_LINE '\\n')"
        )
    t_sql = time.perf_counter() - t0

    # malformed lines, spread over the files, appended after DuckDB wrote them
    per_file = [n_bad // len(paths) + (1 if k < n_bad % len(paths) else 0) for k in range(len(paths))]
    if n_bad:
        sample = check_event(_first_lines(paths[0], 1)[0])
        serial = 0
        for path, count in zip(paths, per_file, strict=True):
            with path.open("a", encoding="utf-8", newline="\n") as fh:
                for _ in range(count):
                    fh.write(bad_line(BAD_KINDS[serial % len(BAD_KINDS)], sample, serial) + "\n")
                    serial += 1

    # verify: the head and tail of every file parse as canonical events (all lines with --verify-all)
    checked = 0
    for k, path in enumerate(paths):
        bad_here = per_file[k] if n_bad else 0
        if args.verify_all:
            failed = 0
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        check_event(line)
                    except (ValueError, AssertionError, KeyError, TypeError):
                        failed += 1
                    checked += 1
            assert failed == bad_here, f"{path}: {failed} lines failed, {bad_here} malformed were written"
            continue
        tail = _last_lines(path, (bad_here + 2500) * 1500)
        for line in _first_lines(path, 2000) + tail[max(0, len(tail) - bad_here - 2000) : len(tail) - bad_here]:
            check_event(line)
            checked += 1
    seconds = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in paths)
    dups = count_dups(n_unique)
    lines = n_unique + dups + n_bad
    print(
        f"wrote {lines:,} lines ({n_unique:,} events, {dups:,} duplicate lines, {n_bad:,} malformed) "
        f"in {len(paths)} file(s), {size / 1e6:,.1f} MB, {seconds:.1f} s (DuckDB {t_sql:.1f} s); "
        f"checked {checked:,} lines",
        file=sys.stderr,
    )
    print(json.dumps({
        "files": [str(p) for p in paths], "lines": lines, "events": n_unique, "duplicates": dups,
        "malformed": n_bad, "bytes": size, "seconds": round(seconds, 2), "generate_seconds": round(t_sql, 2),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
