"""Claude Code transcripts: ``~/.claude/projects/<project>/<session>.jsonl`` (FORMATS.md section 3).

Only lines with ``message.usage`` are usage (assistant lines, or lines without ``type``);
user, summary, system and file-history lines and ``<synthetic>`` messages are skipped
silently. Buckets: ``input_tokens`` excludes the cache; ``cache_read_tokens`` =
``cache_read_input_tokens``; cache writes from ``usage.cache_creation`` (5m / 1h) when that
object exists and adds up to a non-zero ``cache_creation_input_tokens``, else all of
``cache_creation_input_tokens`` at 5m (a split that does not add up is noted in
``extra.cache_write_split``). ``costUSD`` (older builds)
is kept as ``reported_cost_usd``, never added. ``project`` is the project directory name
(``-home-alice-src-webapp``), else the last part of ``cwd``.

Dedup (conflict rule ``max-usage``): ``event_id = "claude-code:<message.id>:<requestId>"``
(requestId empty when absent: gateways; an id holding ``:`` or ``%`` percent-encoded, ``id_part``), so the lines of one response (one per content
block, partial streaming lines first, copies in resumed sessions) collapse to the copy with
the largest usage; a message without an id is keyed by its requestId alone, else by a hash of
its session, model and input side (not its output: a partial streaming line has less; nor
the line's own timestamp: each content-block line has its own). A sidechain
line (``isSidechain``) whose ``message.id`` a main-chain line also has is a replay (dup #4)
and is kept out (``sidechain_replays``, just before the insert), whichever file came first.

Speed: imports read whole trees with DuckDB (``stager``, many files in one transaction, see
``usagectl.services.imports``); ``read`` is the same mapping in Python, used to explain the
few rejected lines and for callers that want records.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from usagectl.errors import InputError
from usagectl.importers._values import anthropic_tier, from_iso
from usagectl.importers._walk import file_paths as walk_files
from usagectl.importers.canonical import locate_jsonl_records, open_text_or_binary
from usagectl.models import (
    LONE_SURROGATE,
    SPLIT_OFF_NOTE,
    ConflictRule,
    Record,
    has_lone_surrogate,
    json_failure,
    not_an_object,
)

NAME = "claude-code"


def _is_jsonl(name: str) -> bool:
    return name.endswith(".jsonl")


RAW_MAX = 4000
# what keys a message with neither a message id nor a request id: its session, model and input
# side (the context a request sends grows with every turn), not its output, which a partial
# streaming line has lower than the final line (max-usage keeps the final one)
_HASHED = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
           "ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")  # fmt: skip


def default_roots() -> list[Path]:
    """The projects directories Claude Code writes to that exist: each ``projects/`` of the
    comma-separated ``CLAUDE_CONFIG_DIR`` when it is set, else ``~/.config/claude/projects``
    and ``~/.claude/projects``."""
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        bases = [Path(p.strip()).expanduser() for p in env.split(",") if p.strip()]
    else:
        home = Path.home()
        bases = [home / ".config" / "claude", home / ".claude"]
    out: list[Path] = []
    for base in bases:
        root = base / "projects"
        if root.is_dir() and root not in out:
            out.append(root)
    return out


def _int(value: Any, key: str) -> tuple[int | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, f"message.usage.{key}: not a number ({str(value)[:40]})"
    if isinstance(value, float) and not value.is_integer():
        return None, f"message.usage.{key}: not an integer ({value})"
    n = int(value)
    if n < 0:
        return None, f"message.usage.{key}: negative ({n})"
    if n >= 2**63:
        return None, f"message.usage.{key}: too large ({n})"
    return n, None


def parse_line(text: str, project_dir: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """(fields, None) for a usage line, (None, reason) for a bad one, (None, "") to skip."""
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        msg = json_failure(exc) if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        return None, f"not valid JSON: {msg}"
    if ("\\ud" in text or "\\uD" in text) and has_lone_surrogate(obj):
        return None, LONE_SURROGATE
    if not isinstance(obj, dict):
        return None, not_an_object(obj)
    message = obj.get("message")
    usage = message.get("usage") if isinstance(message, dict) else None
    kind = obj.get("type")
    if usage is None or (kind is not None and kind != "assistant"):
        return None, ""
    model = message.get("model") if isinstance(message, dict) else None
    if model == "<synthetic>":
        return None, ""
    if not isinstance(usage, dict):
        return None, "message.usage: not an object"
    problems: list[str] = []
    vals: dict[str, int | None] = {}
    cc = usage.get("cache_creation")
    sources = {
        "input_tokens": usage.get("input_tokens"),
        "cache_read_input_tokens": usage.get("cache_read_input_tokens"),
        "output_tokens": usage.get("output_tokens"),
        "cache_creation_input_tokens": usage.get("cache_creation_input_tokens"),
    }
    if isinstance(cc, dict):
        sources["ephemeral_5m_input_tokens"] = cc.get("ephemeral_5m_input_tokens")
        sources["ephemeral_1h_input_tokens"] = cc.get("ephemeral_1h_input_tokens")
    stu = usage.get("server_tool_use")
    sources["web_search_requests"] = stu.get("web_search_requests") if isinstance(stu, dict) else None
    for key, value in sources.items():
        vals[key], problem = _int(value, key)
        if problem:
            problems.append(problem)
    if sources["input_tokens"] is None and sources["output_tokens"] is None:
        problems.append("message.usage: no token counts (input_tokens and output_tokens missing)")
    ts = obj.get("timestamp")
    if not isinstance(ts, str) or not ts.strip():
        problems.append("missing ts")
    else:
        try:
            from_iso(ts.strip())
        except ValueError:
            problems.append(f"ts: not a timestamp ({ts[:40]})")
    if problems:
        return None, "; ".join(problems)
    mid = message.get("id") if isinstance(message, dict) else None
    req = obj.get("requestId")
    if isinstance(mid, str) and mid:
        event_id = f"{NAME}:{id_part(mid)}:{id_part(req) if isinstance(req, str) else ''}"
    elif isinstance(req, str) and req:  # no message id: the request id alone names the response
        event_id = f"{NAME}:r:{id_part(req)}"
    else:
        # the same text as the SQL stager hashes (concat_ws skips NULLs), and which parts are
        # there unless they are the usual ones (all, or all but the 5m/1h split): without it, a
        # line without cache_read and one without cache_creation of the same number collide
        parts = (obj.get("sessionId"), model, *(sources.get(k) for k in _HASHED))
        key = "\x1f".join(str(x) for x in parts if x is not None)
        there = [x is not None for x in parts]
        if not (all(there[:5]) and there[5] == there[6]):
            key += "\x1e" + "".join("1" if t else "0" for t in there)
        event_id = f"{NAME}:h:" + hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()
    cwd = obj.get("cwd")
    cwd_base = cwd.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] if isinstance(cwd, str) else None
    side = obj.get("isSidechain")
    extra = {
        "requestId": req,
        "uuid": obj.get("uuid"),
        "version": obj.get("version"),
        "gitBranch": obj.get("gitBranch"),
        "isSidechain": side if isinstance(side, bool) else None,
        "cwd": cwd,
        "speed": usage.get("speed"),
    }
    # no split, or one that does not add up to a non-zero total: all of the total at 5m
    total = vals["cache_creation_input_tokens"]
    whole = not isinstance(cc, dict) or (
        bool(total) and (vals["ephemeral_5m_input_tokens"] or 0) + (vals["ephemeral_1h_input_tokens"] or 0) != total
    )
    if whole and isinstance(cc, dict):
        extra["cache_write_split"] = SPLIT_OFF_NOTE
    cost = obj.get("costUSD")
    fields: dict[str, Any] = {
        "event_id": event_id,
        "ts": ts,
        "source": NAME,
        "provider": "anthropic",
        "model_raw": model if isinstance(model, str) else None,
        "requests": 1,
        "input_tokens": vals["input_tokens"],
        "cache_read_tokens": vals["cache_read_input_tokens"],
        "cache_write_5m_tokens": vals["cache_creation_input_tokens"] if whole else vals["ephemeral_5m_input_tokens"],
        "cache_write_1h_tokens": None if whole else vals.get("ephemeral_1h_input_tokens"),
        "output_tokens": vals["output_tokens"],
        "web_search_requests": vals["web_search_requests"],
        "service_tier": anthropic_tier(usage.get("service_tier"), usage.get("speed"), usage.get("inference_geo")),
        "project": project_dir or cwd_base or None,
        "session_id": obj.get("sessionId") if isinstance(obj.get("sessionId"), str) else None,
        "message_id": mid if isinstance(mid, str) else None,
        "reported_cost_usd": str(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None,
        "extra": {k: v for k, v in extra.items() if v is not None},
    }
    return fields, None


# The start of a user or assistant line as Claude Code writes it, cut by the sniffed head:
# ``{"parentUuid":...,"sessionId":"...",...,"type":"user","message":{...`` (the keys before
# ``message`` are short; a canonical event has neither ``sessionId`` nor a ``message`` object).
_CUT_FIRST_LINE = re.compile(
    rb'^\s*\{(?=[^\n]{0,2000}?"sessionId"\s*:\s*")(?=[^\n]{0,2000}?"type"\s*:\s*"(?:user|assistant)")'
    rb'[^\n]{0,2000}?"message"\s*:\s*\{'
)
# Lines only Claude Code writes, besides user and assistant lines: a resumed session's
# ``{"type":"summary","summary":...,"leafUuid":...}`` and the file-history snapshots.
_OWN_LINES = {"summary": "leafUuid", "file-history-snapshot": "snapshot"}


def _is_transcript_line(line: bytes) -> bool:
    """A complete Claude Code line: a user or assistant line (``sessionId`` and a ``message``
    object; one without ``type`` too, which usagectl counts), a system line (``sessionId`` and a
    ``uuid`` or ``parentUuid``: a transcript may open with many), a summary or a file-history snapshot."""
    if not line.startswith(b"{") or not (b'"sessionId"' in line or b'"leafUuid"' in line or b'"snapshot"' in line):
        return False
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return False
    if not isinstance(obj, dict):
        return False
    kind = obj.get("type")
    if kind in ("assistant", "user", None):
        return "sessionId" in obj and isinstance(obj.get("message"), dict)
    if kind == "system":
        return "sessionId" in obj and ("uuid" in obj or "parentUuid" in obj)
    own = _OWN_LINES.get(kind) if isinstance(kind, str) else None
    return own is not None and own in obj


def project_of(path: Path | str) -> str | None:
    """The directory right below the LAST ``projects`` directory on the path that has a
    directory below it (``~/projects/backup/.claude/projects/-home-bob-app/s.jsonl`` is
    ``-home-bob-app``; ``.../projects/projects/s.jsonl`` is ``projects``), if any. ``/`` and
    ``\\`` both separate. The DuckDB stager names its events' projects with this too."""
    text = str(path)
    if "\\" in text:
        text = text.replace("\\", "/")
    parts = [part for part in text.split("/") if part]  # as Path.parts: no empty ones
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "projects" and i + 1 < len(parts) - 1:
            return parts[i + 1]
    return None


def id_part(value: str) -> str:
    """An id as a part of an event id: as it is, unless it holds ``:`` or ``%`` (then those
    percent-encoded, ``%`` first) or is ``r`` or ``h`` (then ``%r``, ``%h``, which no encoding
    makes): ``msg_A:x`` + ``req_B`` and ``msg_A`` + ``x:req_B`` were one key, and so were
    message ``r`` + request ``x`` and a message without an id of request ``x``. The usual ids
    (``msg_…``, ``req_…``) stay as they are, and with them the keys already stored. The SQL
    stager's ``_id_part`` is the same."""
    if ":" not in value and "%" not in value and value not in ("r", "h"):
        return value
    if value in ("r", "h"):
        return "%" + value
    return value.replace("%", "%25").replace(":", "%3A")


class ClaudeCodeImporter:
    name = NAME
    description = "Claude Code transcripts (~/.claude/projects/**/*.jsonl)"
    conflict: ConflictRule = "max-usage"
    sniff_order = 20
    stager = "usagectl.store.stagers.claude_code:stage"
    before_insert = "usagectl.store.stagers.claude_code:sidechain_replays"
    prechecked = True  # the stager validates and types its rows itself (ingest's ``prechecked``)
    batch_files = True  # a directory is imported as one batch (one transaction)
    # the keys of ``extra`` (this reader's and the stager's ``_TYPED["extra"]``): see base.Importer
    extra_keys = frozenset({"requestId", "uuid", "version", "gitBranch", "isSidechain", "cwd", "speed"})

    def sniff(self, path: Path, head: bytes) -> bool:
        """Every complete line of the head is looked at (a resumed session may open with
        hundreds of summary lines); a first line longer than the head (a pasted image) is
        recognised by how it starts."""
        try:
            if b"\n" not in head and _CUT_FIRST_LINE.match(head):
                return True
            for raw in head.splitlines():
                if _is_transcript_line(raw.strip()):
                    return True
            return False
        except Exception:
            return False

    def files(self, root: Path) -> list[Path]:
        """``sorted(p for p in root.rglob("*.jsonl") if p.is_file())``: see :meth:`file_paths`."""
        return [Path(p) for p in self.file_paths(root)]

    def file_paths(self, root: Path) -> list[str]:
        """:meth:`files` as plain strings, in the same order: ``*.jsonl`` below ``root``,
        symlinked folders (a project folder linked in from another disk) followed once
        (``_walk.file_paths``)."""
        return walk_files(str(root), _is_jsonl)

    def read(self, path: Path) -> Iterator[Record]:
        # the folder it was found in names the project (a project folder may be a symlink to
        # a folder elsewhere); a path without one (a bare file name) is named by where it is
        project = project_of(os.path.abspath(path)) or project_of(path.resolve())
        try:
            fh = open_text_or_binary(path)  # .gz read decompressed
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
        rec = 0
        with fh:
            for lineno, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                rec += 1
                if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark (DuckDB skips it too)
                    raw = raw[3:]
                text = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
                fields, problem = parse_line(text, project)
                if problem == "":
                    continue
                if fields is None:
                    yield Record(rec=rec, line=lineno, problem=problem, raw=text[:RAW_MAX])
                else:
                    yield Record(rec=rec, line=lineno, fields=fields)

    def locate(self, path: Path, recs: set[int]) -> dict[int, tuple[int, str, str | None]]:
        """(line, raw text, reason) of the given record numbers; reason None when the line
        itself parses as a usage record (the SQL reason stands), "" when it is not a record."""
        out: dict[int, tuple[int, str, str | None]] = {}
        for rec, found in locate_jsonl_records(path, recs).items():
            line, raw = found[0], found[1]
            fields, problem = parse_line(raw, None)
            if len(found) > 2 and problem != "":  # a record, with bytes DuckDB's reader refused
                problem = found[2]
            out[rec] = (line, raw, None if fields is not None and len(found) == 2 else problem)
        return out


IMPORTER = ClaudeCodeImporter()
