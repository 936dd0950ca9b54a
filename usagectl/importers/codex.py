"""OpenAI Codex CLI rollout logs (``~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl``), FORMATS.md §4.

Each file is walked in order. ``session_meta`` names the session (``payload.id``), its cwd,
CLI version, originator and git info; ``turn_context`` sets the model of the usage that
follows it; ``event_msg``/``token_count`` carries a CUMULATIVE ``info.total_token_usage``.
One event per model call:

* usage = the total minus the previous total of this file; an event whose total did not move
  is a UI / rate-limit refresh that adds nothing (ccusage#1288 overcount): after a counted
  call it is read as a copy of that call (``Record.repeats``), which the store counts among the
  file's duplicates (``report duplicates``: Dup in file) without staging it; the first event's usage is its total; a
  total that goes down (a counter reset) counts ``last_token_usage``, unless it is a stale
  snapshot written out of order (``stale``: under 2 % or under two calls below the total before
  it), which adds nothing and leaves the baseline at the higher total.
* ``token_usage_record`` lines (CLI >= 0.151) duplicate token_count with response-local
  ``payload.usage``. Rule, per file: token_count events count until the file's first
  ``token_usage_record``; from that line on only records count (token_count lines are
  ignored). At the switch, a record whose ``thread_token_usage`` equals the total of the
  token_count just counted is that same response and is skipped. A file written only by a
  new CLI therefore counts records, an old file counts token_count, and a session resumed
  with a newer CLI counts each part once. Appending lines never changes what was counted
  before them, so event ids stay stable while a file grows.
* Buckets (OpenAI convention, inputs are gross): ``input = input - cached - cache_write``
  (Codex >= 0.145 reports ``cache_write_input_tokens`` inside ``input_tokens``, as cached
  input is: codex-acp#509, ccusage#1663), ``cache_read = cached``, ``cache_write_5m =
  cache_write``, ``output = output`` (reasoning included), ``reasoning = reasoning_output``.
* Model: the latest ``turn_context.model``; without one (September 2025 builds) ``gpt-5`` is
  assumed and ``extra.model_assumed`` is true, as ccusage does.

Event identity (the dedup key, rule ``keep``), chosen so that copies never count twice:

* token_count: ``codex:`` + a hash of the EDGE of the cumulative counter the event
  represents, (total before, total after). Forked / sub-agent / resumed rollouts and copied
  or "goal" files repeat the parent's token_count events with the parent's totals, so a
  copy has the very same edges whatever file or session id it sits under; appended lines
  add new edges and leave the old ones alone; an ordinal would shift in a copy that starts
  elsewhere and a session-scoped key would not match a fork's replay. The first edge of a
  counter (from zero) is also keyed on the session that owns it (the latest ``session_meta``
  before it: a fork copies its parent's ``session_meta`` ahead of the replay), so two
  unrelated sessions whose first call used the same tokens both count.
* token_usage_record: ``codex:resp:<response_id>`` (globally unique; copied verbatim in
  replays); without a response id, the edge of ``thread_token_usage``.

Forks: besides the ids, a file that declares a parent (``forked_from_id``, a sub-agent's
``source.subagent.thread_spawn.parent_thread_id``, or a second ``session_meta`` before any
usage) replays the parent's history as a sub-second burst rewritten to the fork instant;
usage lines in that burst (lines from the first on, each within 1 s of the line before) only
set the baseline and are not counted, so the replay never lands on the fork's day even when
the parent's file is gone. So do usage lines timed before the file's own ``session_meta``: a
sub-agent (of a sub-agent, too) may replay its parents' calls with their original times, and
a call cannot end before its own session began. A sub-agent whose own first call answers
within 1 s of a burst replay would be taken for replay (the ccusage heuristic has the same limit).
A fork that names no parent is told by its burst alone: when two counts that advance the counter
both come within 1 s of the file's first line (each line within 1 s of the one before), both
(and the rest of that chain) are replay, baseline only (a new session's first two calls never
both answer within a second of its start); a single count there is counted.

A count that follows a rejected line (its delta may span a lost count) is marked
``extra.after_reject`` (the time of the count before it); ``store.codex_gaps`` then keeps it from
counting calls twice beside an undamaged copy of the session.

Bad lines (invalid JSON, usage numbers that are negative, fractional, too large or missing, a
timestamp that does not parse) become rejects with line and text; unknown line types,
``response_item``/``compacted`` lines and ``info: null`` token_counts are ignored. A line that
begins as Codex writes a response item, a compaction or an event other than token_count
(most of a file's bytes) and ends with ``}`` is not parsed at all (only its time is read while
a fork's replay may be running), so damage inside it is not a reject: it held nothing to count. Deltas
depend on the earlier lines of a file, so a sync must re-read a grown file from the start
(``resumable = False``); the edge ids make that idempotent.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from usagectl.errors import InputError
from usagectl.importers._values import from_iso, without_lone_surrogates
from usagectl.importers._walk import file_paths as walk_files
from usagectl.importers.canonical import open_text_or_binary
from usagectl.models import MAX_COUNT, ConflictRule, Record, json_failure, not_an_object

NAME = "codex"
ASSUMED_MODEL = "gpt-5"
BURST_GAP_SECONDS = 1.0
_MAX_INT = MAX_COUNT  # the store's bound of one count (models.MAX_COUNT)
_ENVELOPES = {"session_meta", "turn_context", "event_msg", "token_usage_record", "response_item", "compacted"}
_FIRST_META = re.compile(rb'^\s*\{[^\n]{0,400}?"type"\s*:\s*"session_meta"')
_UUID_TAIL = re.compile(r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")
# A line that says up front that it carries nothing to count (a response item, a compaction,
# an event other than token_count / thread_settings_applied: most of a file's bytes), written
# as Codex writes it and ending with "}", is not parsed: only its time is read, while a fork's
# replay may still be running. Anything else (other key order, escapes, a cut-off line) is.
_PASSIVE = re.compile(
    rb'\{"timestamp":"([^"\\]{1,64})","type":"(?:response_item"|compacted"|event_msg","payload":\{"type":"'
    rb'(?!token_count"|thread_settings_applied")[a-z_]{1,64}")'
)
_TIMED = ("event_msg", "token_usage_record")  # line types whose own time is used (besides see_time)
_BOM = b"\xef\xbb\xbf"
_TIERS = {"priority": "priority", "fast": "priority", "default": "standard", "auto": "standard", "standard": "standard",
          "flex": "flex"}  # fmt: skip


# what ``_token_count`` returns for a re-emitted total after a counted call
_REPEAT: dict[str, Any] = {}


class Usage(NamedTuple):
    input: int
    cached: int
    write: int
    output: int
    reasoning: int

    def minus(self, other: Usage) -> Usage:
        return Usage(*(a - b for a, b in zip(self, other)))

    def core(self) -> tuple[int, int, int, int]:
        """What every CLI version reports (older totals lack cache writes)."""
        return (self.input, self.cached, self.output, self.reasoning)

    def weight(self) -> int:
        """The size the regression test compares: input + cached + output + reasoning (the sum
        the other Codex readers compare, so that a file is told the same way everywhere)."""
        return self.input + self.cached + self.output + self.reasoning


def stale(total: Usage, high: Usage, last: Usage | None) -> bool:
    """Whether a running total below the one before (``high``) is a stale snapshot written out of
    order, not a counter reset: it falls short by under 2 %, or by less than twice the call it
    reports (``last_token_usage``). Real rollouts hold such snapshots, which then resume from the
    higher total (tokscale#308); counting ``last`` and lowering the baseline there counts calls
    twice. A reset starts over: its first total is its one call (``total == last``), never stale,
    however large that call is beside the total before."""
    if last is not None and total == last:
        return False  # a fresh counter: its total is its first call (a reset, as a snapshot of the
        # counter's very first call would look too: counted, as a reset is)
    now, before = total.weight(), high.weight()
    if not 0 < now <= before:
        return False  # nothing, or a sum that grew while a counter fell: not a snapshot of before
    call = last.weight() if last is not None else 0
    return now * 100 >= before * 98 or (call > 0 and now + 2 * call >= before)


ZERO = Usage(0, 0, 0, 0, 0)
_KEYS = (  # (field, required)
    ("input_tokens", True),
    ("cached_input_tokens", False),
    ("cache_write_input_tokens", False),
    ("output_tokens", True),
    ("reasoning_output_tokens", False),
)


def _count(value: Any, where: str, required: bool) -> tuple[int, str | None]:
    if value is None:
        return 0, (f"{where}: missing" if required else None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0, f"{where}: not a number ({json.dumps(value)[:40]})"
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return 0, f"{where}: not an integer ({value!r})"
        value = int(value)
    if value < 0:
        return 0, f"{where}: negative ({value})"
    if value > _MAX_INT:
        return 0, f"{where}: too large (over 10^15) ({str(value)[:40]})"
    return value, None


def parse_usage(obj: Any, where: str) -> tuple[Usage | None, str | None]:
    """A TokenUsage object -> (Usage, None), or (None, problem). ``None`` in -> (None, None)."""
    if obj is None:
        return None, None
    if not isinstance(obj, dict):
        return None, f"{where}: not an object"
    values: list[int] = []
    for key, required in _KEYS:
        value = obj.get(key)
        if type(value) is int and 0 <= value <= _MAX_INT:  # nearly always: no checks to spell out
            values.append(value)
            continue
        n, problem = _count(value, f"{where}.{key}", required)
        if problem:
            return None, problem
        values.append(n)
    return Usage(*values), None


def parse_ts(value: Any) -> datetime | None:
    """ISO 8601 (``Z``, offset, or none = UTC) or Unix seconds/milliseconds -> aware UTC."""
    try:
        if isinstance(value, str):
            ts = from_iso(value.strip())
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            ts = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return ts if 2000 <= ts.year < 2100 else None


def _edge_id(before: Usage, after: Usage, owner: str) -> str:
    # the first edge of a counter is scoped to its session; later edges are unique by themselves
    scope = owner if before == ZERO else "*"
    key = f"{scope}|{','.join(map(str, before))}|{','.join(map(str, after))}"
    return f"{NAME}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def _last_part(text: str) -> str | None:
    part = re.split(r"[\\/]", text.rstrip("/\\"))[-1]
    if part.endswith(".git"):
        part = part[:-4]
    return part or None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


class _File:
    """The state of one walk through a rollout file."""

    def __init__(self, path: Path) -> None:
        m = _UUID_TAIL.search(path.stem)
        self.fallback_sid = m.group(1) if m else path.stem
        self.sid: str | None = None  # the file's own session (first session_meta)
        self.owner: str | None = None  # the session of the latest session_meta (a fork's parent during replay)
        self.project: str | None = None
        self.extra: dict[str, Any] = {}
        # the ``extra`` of events that add nothing of their own, per (model assumed, effort): one
        # dict shared by them (read, never changed; staging encodes a shared dict once)
        self.shared_extra: dict[tuple[bool, str | None], dict[str, Any]] = {}
        self.metas = 0
        self.forked = False
        self.parent: str | None = None  # the parent session the file names (fork, sub-agent)
        self.spawned_at: datetime | None = None  # the time of the file's own session_meta
        self.model: str | None = None
        self.effort: str | None = None
        self.tier: str | None = None
        self.prev: Usage | None = None  # the latest total of the token_count counter
        self.counted_total: Usage | None = None  # total of the latest token_count that was counted
        # the fields of the latest token_count when it was counted: a re-emit of its total is
        # yielded as a copy of it (same event id), so the store counts it as a duplicate
        self.repeatable: dict[str, Any] | None = None
        self.records = False  # a token_usage_record was seen: they count from now on
        self.usage_seen = False
        self.chain_alive = True  # every line so far within BURST_GAP_SECONDS of the one before
        self.last_ts: datetime | None = None
        self.first_ts: datetime | None = None  # the time of the file's first timed line
        self.damaged = False  # a line was rejected since the latest counted token_count
        self.counted_ts: datetime | None = None  # the time of the latest counted token_count
        # the file's first count is held back (by ``read``) while the lines are within the
        # file's first BURST_GAP_SECONDS (``at_start``): a fork that names no parent replays its
        # history as such a burst, told by a second count that advances within it (``_token_count``)
        self.holding = False

    def see_time(self, ts: datetime | None) -> None:
        if ts is None or not self.chain_alive:
            return
        if self.first_ts is None:
            self.first_ts = ts
        if self.last_ts is not None and abs((ts - self.last_ts).total_seconds()) > BURST_GAP_SECONDS:
            self.chain_alive = False
        self.last_ts = ts

    @property
    def replaying(self) -> bool:
        return self.forked and self.chain_alive

    @property
    def at_start(self) -> bool:
        """Whether the latest timed line is within BURST_GAP_SECONDS of the file's first one (a
        fork's replay burst follows its session_meta at once; no new session's call is answered
        that soon)."""
        return (
            self.chain_alive and self.first_ts is not None and self.last_ts is not None
            and (self.last_ts - self.first_ts).total_seconds() <= BURST_GAP_SECONDS
        )  # fmt: skip

    def before_spawn(self, ts: datetime) -> bool:
        """Usage at ``ts`` in a file that names its parent, from before the file's own session
        began: the parent's calls replayed with their original times (a sub-agent's or fork's
        copy of its parent's history, nested or not), never the file's own."""
        return self.parent is not None and self.spawned_at is not None and ts < self.spawned_at

    def meta(self, payload: dict[str, Any], ts: datetime | None) -> None:
        sid = _str(payload.get("id"))
        self.metas += 1
        if self.metas > 1 and not self.usage_seen:
            self.forked = True  # the parent's session_meta copied ahead of its replayed history
        self.owner = sid or self.owner
        if self.sid is not None or self.metas > 1:
            return
        self.sid = sid
        git: dict[str, Any] = payload["git"] if isinstance(payload.get("git"), dict) else {}
        cwd = _str(payload.get("cwd"))
        spawn: Any = payload.get("source")
        for key in ("subagent", "thread_spawn"):
            spawn = spawn.get(key) if isinstance(spawn, dict) else None
        parent = _str(payload.get("forked_from_id")) or (
            _str(spawn.get("parent_thread_id")) if isinstance(spawn, dict) else None
        )
        self.forked = self.forked or parent is not None
        # the line's time, else the payload's (a session_meta without a line time)
        self.parent, self.spawned_at = parent, ts or parse_ts(payload.get("timestamp"))
        repo = _str(git.get("repository_url"))
        self.project = (_last_part(repo) if repo else None) or (_last_part(cwd) if cwd else None)
        extra: dict[str, Any] = {
            "cwd": cwd,
            "cli_version": _str(payload.get("cli_version")),
            "originator": _str(payload.get("originator")),
            "model_provider": _str(payload.get("model_provider")),
            "forked_from": parent,
        }
        if git:
            extra["git"] = {k: git[k] for k in ("repository_url", "branch", "commit_hash") if _str(git.get(k))}
        self.extra = {k: v for k, v in extra.items() if v}
        self.shared_extra.clear()


def _is_rollout(name: str) -> bool:
    """A rollout file's name: ``rollout-*.jsonl``, or gzipped (``.jsonl.gz``: an archive of
    old sessions; read decompressed, as a single file given by hand is)."""
    return name.startswith("rollout-") and name.endswith((".jsonl", ".jsonl.gz"))


def _unzipped(name: str) -> str:
    return name[:-3] if name.endswith(".gz") else name


class CodexImporter:
    name = NAME
    description = "OpenAI Codex CLI rollout logs (~/.codex/sessions/**/rollout-*.jsonl)"
    conflict: ConflictRule = "keep"
    sniff_order = 20
    resumable = False  # usage is a delta against earlier lines: a grown file is re-read from the start
    batch_files = True  # a directory is imported in one transaction (thousands of session files)
    extra_keys = frozenset({  # see base.Importer
        "cwd", "cli_version", "originator", "model_provider", "forked_from", "git", "counter_reset", "channel",
        "turn_id", "model_assumed", "effort", "after_reject",
    })  # fmt: skip
    before_insert = "usagectl.store.codex_gaps:spanning_deltas"

    def sniff(self, path: Path, head: bytes) -> bool:
        try:
            if _FIRST_META.match(head):  # the session_meta line may be longer than the head
                return True
            for raw in head.split(b"\n")[:200]:
                if b'"payload"' not in raw:
                    continue
                try:
                    obj = json.loads(raw)
                except (ValueError, RecursionError):
                    continue
                if isinstance(obj, dict) and obj.get("type") in _ENVELOPES and isinstance(obj.get("payload"), dict):
                    return True
            return False
        except Exception:
            return False

    def files(self, root: Path) -> list[Path]:
        """``rollout-*.jsonl`` (or ``.jsonl.gz``) below ``root`` (symlinked folders followed
        once: a month moved to another disk and linked back); a file name found under both
        ``sessions/`` and ``archived_sessions/`` (gzipped or not) is read from ``sessions/`` only."""
        found = [Path(p) for p in walk_files(str(root), _is_rollout)]

        def archived(p: Path) -> bool:
            return "archived_sessions" in p.relative_to(root).parts[:-1]

        live = {_unzipped(p.name) for p in found if not archived(p)}
        return sorted(p for p in found if not (archived(p) and _unzipped(p.name) in live))

    def read(self, path: Path) -> Iterator[Record]:
        try:
            fh = open_text_or_binary(path)  # .gz read decompressed
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
        state = _File(path)
        rec = 0
        held: tuple[int, dict[str, Any]] | None = None  # the first count, while it may be a replay
        with fh:  # a session file is read whole (a few MB at most): line by line costs more
            try:
                data = fh.read()
            except OSError as exc:
                raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
        if data.startswith(_BOM):
            data = data[len(_BOM) :]  # a byte order mark alone is an empty file
        for lineno, raw in enumerate(data.split(b"\n"), 1):
            if not raw.strip():
                continue
            fields, problem = _line(state, raw)
            if held is not None and (state.forked or not state.at_start or problem is not None):
                state.holding = False
                if not state.forked:  # past the file's first second first: the held count is its own
                    rec += 1
                    yield Record(rec, held[0], held[1])
                held = None
            if fields is None and problem is None:
                continue
            if fields is _REPEAT:  # a re-emitted total: the copy of the call counted last
                rec += 1
                yield Record(rec, lineno, state.repeatable or {}, repeats=True)
                continue
            if problem is None and not rec and state.parent is None and not state.forked and state.at_start:
                held, state.holding = (lineno, fields or {}), True
                continue
            rec += 1
            if problem is not None:
                state.damaged = True
                yield Record(rec, lineno, {}, problem, raw.rstrip(b"\r").decode("utf-8", errors="replace"))
            else:
                yield Record(rec, lineno, fields or {})
        if held is not None:  # the file ends inside its first chain: a count of its own
            yield Record(rec + 1, held[0], held[1])


def _line(state: _File, raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """(fields, None) for a counted event, (None, problem) for a bad line, (None, None) to skip."""
    passive = _PASSIVE.match(raw)
    if passive and raw.rstrip().endswith(b"}"):
        if state.chain_alive:
            state.see_time(parse_ts(passive.group(1).decode("utf-8", errors="replace")))
        return None, None
    try:
        # decoded here (json.loads of bytes guesses their encoding first, for every line)
        text = (raw[3:] if raw.startswith(_BOM) else raw).decode("utf-8")
        obj = without_lone_surrogates(json.loads(text), text)
    except RecursionError:
        return None, "not valid JSON: nested too deeply"
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text ({exc.reason})"
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {json_failure(exc)}"
    except ValueError as exc:
        return None, f"not valid JSON: {exc}"
    if not isinstance(obj, dict):
        return None, not_an_object(obj)
    kind, payload = obj.get("type"), obj.get("payload")
    # the time of a line matters to usage lines, and to every line while a fork's replay may
    # still be running (see_time); the other lines (most of a file) skip the parse
    ts = parse_ts(obj.get("timestamp")) if state.chain_alive or kind in _TIMED else None
    state.see_time(ts)
    if not isinstance(payload, dict):
        return None, None  # unknown or legacy shape: nothing to count
    if kind == "session_meta":
        state.meta(payload, ts)
    elif kind == "turn_context":
        state.model = _str(payload.get("model")) or state.model
        state.effort = _str(payload.get("effort")) or state.effort
    elif kind == "event_msg" and payload.get("type") == "thread_settings_applied":
        settings = payload.get("thread_settings")
        if isinstance(settings, dict) and "service_tier" in settings:
            tier = settings.get("service_tier")
            # an unknown tier ("ultrafast") is kept as logged: unpriced with its name, never standard
            name = tier.strip().lower() if isinstance(tier, str) else ""
            state.tier = _TIERS.get(name, name) or None
    elif kind == "event_msg" and payload.get("type") == "token_count":
        return _token_count(state, obj, payload, ts)
    elif kind == "token_usage_record":
        return _usage_record(state, obj, payload, ts)
    return None, None


def _bad_ts(obj: dict[str, Any]) -> str:
    value = obj.get("timestamp")
    return "timestamp: missing" if value is None else f"timestamp: not a timestamp ({json.dumps(value)[:40]})"


def _token_count(
    state: _File, obj: dict[str, Any], payload: dict[str, Any], ts: datetime | None
) -> tuple[dict[str, Any] | None, str | None]:
    info = payload.get("info")
    if info is None:
        if "info" not in payload and ("input_tokens" in payload or "output_tokens" in payload):
            # counts beside the type, not in info (a layout some builds are said to write): per
            # call or a running total cannot be told, so never read as either, nor passed over
            return (
                None,
                "token_count: counts in the payload itself, not in info (a layout not read: per call or running total?)",
            )
        return None, None  # a rate-limit-only refresh
    if not isinstance(info, dict):
        return None, "token_count: info is not an object"
    total, problem = parse_usage(info.get("total_token_usage"), "info.total_token_usage")
    if problem:
        return None, problem
    if total is None:
        return None, "info.total_token_usage: missing (cannot tell new usage from a repeated event)"
    last, problem = parse_usage(info.get("last_token_usage"), "info.last_token_usage")
    if problem:
        return None, problem
    if ts is None:
        return None, _bad_ts(obj)
    prev = state.prev if state.prev is not None else ZERO
    state.usage_seen = True
    if state.records or total == state.prev:
        state.prev = total
        if state.repeatable is not None and not state.records and not (state.holding and state.at_start):
            # a re-emitted total: a copy of the call it repeats, which the store counts as a
            # duplicate (``report duplicates``: Dup in file) without staging it (``read`` yields it
            # as ``Record.repeats``). Not while the file's first count is held back: that count may
            # still turn out to be a fork's replay
            return _REPEAT, None
        return None, None  # counted through token_usage_record, or a re-emitted total of nothing counted
    grew = all(t >= p for t, p in zip(total, prev))
    if not grew and stale(total, prev, last):
        return None, None  # a stale snapshot: adds nothing, and the baseline stays the higher total
    delta = total.minus(prev) if grew else (last if last is not None else total)
    if state.replaying or delta == ZERO or state.before_spawn(ts):
        state.prev, state.repeatable = total, None
        return None, None  # a fork's copy of its parent's history (baseline only), or nothing used
    if state.holding and state.at_start:
        # a second count within the first sub-second chain of lines: no call answers that fast
        # after another at a session's start, so both copy a parent's history (a fork that does
        # not name its parent): baseline only, as a declared fork's burst is
        state.prev, state.repeatable = total, None
        state.forked = True
        return None, None
    problem = _inconsistent(delta)
    if problem is not None:
        # rejected, and the baseline stays where it was: the next count's delta spans this line
        # (marked ``after_reject``), as it spans a line that does not parse
        return None, problem
    state.prev, state.repeatable = total, None
    state.counted_total = total
    extra: dict[str, Any] = {"counter_reset": True} if not grew else {}
    if state.damaged:
        # a rejected line lies between this count and the one before: its delta may span calls
        # that a copy without the damage counts one by one (``store.codex_gaps``)
        extra["after_reject"] = state.counted_ts.isoformat() if state.counted_ts else "start"
        state.damaged = False
    state.counted_ts = ts
    model = _str(info.get("model")) or _str(payload.get("model"))
    fields, problem = _fields(state, _edge_id(prev, total, state.owner or state.fallback_sid), ts, delta, model, extra)
    state.repeatable = fields
    return fields, problem


def _usage_record(
    state: _File, obj: dict[str, Any], payload: dict[str, Any], ts: datetime | None
) -> tuple[dict[str, Any] | None, str | None]:
    usage, problem = parse_usage(payload.get("usage"), "payload.usage")
    if problem:
        return None, problem
    if usage is None:
        return None, "payload.usage: missing"
    thread, problem = parse_usage(payload.get("thread_token_usage"), "payload.thread_token_usage")
    if problem:
        return None, problem
    if ts is None:
        return None, _bad_ts(obj)
    first = not state.records
    state.records = True
    state.usage_seen = True
    if first and thread is not None and state.counted_total is not None:
        if thread.core() == state.counted_total.core():
            return None, None  # its token_count came first and was counted
    if state.replaying or usage == ZERO or state.before_spawn(ts):
        return None, None
    response_id = _str(payload.get("response_id"))
    if response_id is not None:
        event_id = f"{NAME}:resp:{response_id}"
    elif thread is not None and all(t >= u for t, u in zip(thread, usage)):
        event_id = _edge_id(thread.minus(usage), thread, state.owner or state.fallback_sid)
    else:
        key = f"{state.sid or state.fallback_sid}|{ts.isoformat()}|{','.join(map(str, usage))}"
        event_id = f"{NAME}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
    extra: dict[str, Any] = {"channel": "token_usage_record"}
    turn = _str(payload.get("turn_id"))
    if turn:
        extra["turn_id"] = turn
    fields, problem = _fields(state, event_id, ts, usage, _str(payload.get("model")), extra)
    if fields is not None:
        fields["message_id"] = response_id
    return fields, problem


def _inconsistent(d: Usage) -> str | None:
    """Why a call's usage cannot be (cached input and cache writes are inside the input, reasoning
    inside the output), or None."""
    if d.input - d.cached - d.write < 0:
        return (
            f"cached_input_tokens + cache_write_input_tokens ({d.cached} + {d.write}) exceed input_tokens ({d.input})"
        )
    if d.reasoning > d.output:
        return f"reasoning_output_tokens ({d.reasoning}) exceed output_tokens ({d.output})"
    return None


def _fields(
    state: _File, event_id: str, ts: datetime, d: Usage, model: str | None, more: dict[str, Any]
) -> tuple[dict[str, Any] | None, str | None]:
    problem = _inconsistent(d)
    if problem is not None:
        return None, problem
    uncached = d.input - d.cached - d.write
    model = model or state.model
    assumed = model is None
    extra = None if more else state.shared_extra.get((assumed, state.effort))
    if extra is None:
        extra = dict(state.extra)
        if assumed:
            extra["model_assumed"] = True
        if state.effort:
            extra["effort"] = state.effort
        extra.update(more)
        if not more:
            state.shared_extra[(assumed, state.effort)] = extra
    if model is None:
        model = ASSUMED_MODEL
    return {
        "event_id": event_id,
        "ts": ts,
        "source": NAME,
        "provider": "openai",
        "model_raw": model,
        "requests": 1,
        "input_tokens": uncached,
        "cache_read_tokens": d.cached,
        "cache_write_5m_tokens": d.write,
        "output_tokens": d.output,
        "reasoning_tokens": d.reasoning,
        "service_tier": state.tier,
        "project": state.project,
        "feature": "coding-agent",
        "tool": "codex",
        "platform": "cli",
        "session_id": state.sid or state.fallback_sid,
        "extra": extra,
    }, None


IMPORTER = CodexImporter()
