"""Generate a Claude Code projects tree shaped like real ones (deterministic by seed).

    python benchmarks/gen_claude_code.py OUT_DIR --records 100000 [--seed 7]

``OUT_DIR/projects/<project>/<session>.jsonl`` plus sub-agent files under
``<project>/<session>/subagents/agent-<n>.jsonl``. Per assistant message (``--records`` of
them, all distinct): a user line before it (half the lines are user lines), sometimes a
summary or file-history-snapshot line; about 2 % extra lines are duplicates (one line per
content block, partial streaming lines with a low output count first, and resumed sessions
that copy the tail of an earlier session of the project into a new file); sidechain files
replay their parent's last message with a new requestId; ~0.1 % of lines are malformed
(truncated, often the last line of a file). About 80 assistant messages per session file and
~1 KB per line, so 1M records is ~2.1 GB in ~12.7k files, as PERFORMANCE.md describes.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

MODELS = (
    ("claude-sonnet-4-5-20250929", 60),
    ("claude-opus-4-1-20250805", 15),
    ("claude-haiku-4-5-20251001", 20),
    ("claude-sonnet-4-20250514", 5),
)
START = datetime(2026, 9, 1, tzinfo=UTC)
WORDS = (
    "the quick function returns a value from the cache when the test passes and the build is green "
    "refactor module import error handling retry request response token session file project branch"
).split()


class Gen:
    def __init__(self, out: Path, records: int, seed: int) -> None:
        self.out = out
        self.records = records
        self.rnd = random.Random(seed)
        self.n_msg = 0
        self.lines = 0
        self.files = 0
        self.malformed = 0
        self.dups = 0
        self.texts = [" ".join(self.rnd.choice(WORDS) for _ in range(self.rnd.randint(40, 140))) for _ in range(512)]
        self.model_pool = [m for m, w in MODELS for _ in range(w)]

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rnd.getrandbits(128), version=4))

    def rid(self, prefix: str, n: int = 24) -> str:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789"
        return prefix + "".join(self.rnd.choice(alphabet) for _ in range(n))

    def assistant(self, ctx: dict[str, str | bool], ts: datetime, model: str, gateway: bool) -> dict[str, object]:
        r = self.rnd
        cw = r.choice((0, 0, 0, r.randint(100, 20000)))
        one_hour = r.random() < 0.2
        usage: dict[str, object] = {
            "input_tokens": r.randint(1, 400),
            "cache_creation_input_tokens": cw,
            "cache_read_input_tokens": r.randint(0, 150000),
            "cache_creation": {
                "ephemeral_5m_input_tokens": 0 if one_hour else cw,
                "ephemeral_1h_input_tokens": cw if one_hour else 0,
            },
            "output_tokens": r.randint(20, 3000),
            "service_tier": "standard",
        }
        if r.random() < 0.05:
            usage["server_tool_use"] = {"web_search_requests": r.randint(1, 3)}
        rec: dict[str, object] = {
            "parentUuid": self.uid(),
            "isSidechain": ctx["sidechain"],
            "userType": "external",
            "cwd": ctx["cwd"],
            "sessionId": ctx["session"],
            "version": "2.0.31",
            "gitBranch": "main",
            "message": {
                "model": model,
                "id": ("chatcmpl-" if gateway else "msg_01") + self.rid("", 22),
                "type": "message",
                "role": "assistant",
                "content": [{"type": "text", "text": r.choice(self.texts)}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": usage,
            },
            "type": "assistant",
            "uuid": self.uid(),
            "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z",
        }
        if not gateway:
            rec["requestId"] = self.rid("req_011C")
        return rec

    def user(self, ctx: dict[str, str | bool], ts: datetime) -> dict[str, object]:
        return {
            "parentUuid": self.uid(),
            "isSidechain": ctx["sidechain"],
            "userType": "external",
            "cwd": ctx["cwd"],
            "sessionId": ctx["session"],
            "version": "2.0.31",
            "gitBranch": "main",
            "type": "user",
            "message": {"role": "user", "content": self.rnd.choice(self.texts)},
            "uuid": self.uid(),
            "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z",
        }

    def write(self, path: Path, lines: list[str]) -> None:
        r = self.rnd
        out: list[str] = []
        for i, line in enumerate(lines):
            if r.random() < 0.001 or (i == len(lines) - 1 and r.random() < 0.004):
                line = line[: r.randint(10, max(11, len(line) - 5))]  # truncated
                self.malformed += 1
            out.append(line)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
        self.lines += len(out)
        self.files += 1

    def session(self, project: str, cwd: str, n: int, ts: datetime, replay: list[str]) -> list[str]:
        """Write one session file of n new messages (after any replayed lines); returns its lines."""
        r = self.rnd
        sid = self.uid()
        ctx: dict[str, str | bool] = {"cwd": cwd, "session": sid, "sidechain": False}
        lines = list(replay)
        self.dups += len(replay)
        if r.random() < 0.3:
            lines.append(json.dumps({"type": "summary", "summary": "Refactor the importer", "leafUuid": self.uid()}))
        last: dict[str, object] | None = None
        for _ in range(n):
            ts += timedelta(seconds=r.randint(5, 600), milliseconds=r.randint(0, 999))
            lines.append(json.dumps(self.user(ctx, ts), separators=(",", ":")))
            model = r.choice(self.model_pool) if r.random() > 0.002 else "<synthetic>"
            rec = self.assistant(ctx, ts + timedelta(seconds=r.randint(1, 30)), model, gateway=r.random() < 0.03)
            self.n_msg += 1
            x = r.random()
            if x < 0.011:  # partial streaming line first
                usage = rec["message"]["usage"]  # type: ignore[index]
                partial = json.loads(json.dumps(rec))
                partial["message"]["usage"]["output_tokens"] = min(5, usage["output_tokens"])
                lines.append(json.dumps(partial, separators=(",", ":")))
                self.dups += 1
            elif x < 0.022:  # one line per content block, same usage
                lines.append(json.dumps(rec, separators=(",", ":")))
                self.dups += 1
            lines.append(json.dumps(rec, separators=(",", ":")))
            last = rec
        self.write(self.out / "projects" / project / f"{sid}.jsonl", lines)
        if last is not None and r.random() < 0.25:  # a sub-agent file: sidechain replay + its own calls
            sctx: dict[str, str | bool] = {"cwd": cwd, "session": sid, "sidechain": True}
            replayed = json.loads(json.dumps(last))
            replayed["isSidechain"] = True
            replayed["requestId"] = self.rid("req_011C")
            sub = [json.dumps(replayed, separators=(",", ":"))]
            self.dups += 1
            for _ in range(r.randint(2, 12)):
                if self.n_msg >= self.records:
                    break
                ts += timedelta(seconds=r.randint(1, 60))
                sub.append(json.dumps(self.user(sctx, ts), separators=(",", ":")))
                sub.append(
                    json.dumps(self.assistant(sctx, ts, r.choice(self.model_pool), False), separators=(",", ":"))
                )
                self.n_msg += 1
            self.write(self.out / "projects" / project / sid / "subagents" / f"agent-{self.rid('', 8)}.jsonl", sub)
        return lines

    def run(self) -> None:
        r = self.rnd
        n_projects = max(3, self.records // 5000)
        projects = [f"-home-dev-src-{'-'.join(r.choice(WORDS) for _ in range(2))}-{i}" for i in range(n_projects)]
        history: dict[str, list[str]] = {}
        while self.n_msg < self.records:
            project = r.choice(projects)
            cwd = "/" + project[1:].replace("-", "/")
            n = min(self.records - self.n_msg, r.randint(60, 140))
            ts = START + timedelta(seconds=r.randint(0, 60 * 86400))
            prior = history.get(project)
            replay: list[str] = []
            if prior and r.random() < 0.05:  # resumed session: copies the tail of an earlier one
                replay = prior[-r.randint(4, 20) :]
            history[project] = self.session(project, cwd, n, ts, replay)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    g = Gen(args.out, args.records, args.seed)
    g.run()
    size = sum(p.stat().st_size for p in args.out.rglob("*.jsonl"))
    facts = {
        "records": g.n_msg,
        "files": g.files,
        "lines": g.lines,
        "bytes": size,
        "duplicate_lines": g.dups,
        "malformed_lines": g.malformed,
        "seed": args.seed,
    }
    (args.out / "FACTS.json").write_text(json.dumps(facts, indent=1) + "\n")
    print(json.dumps(facts))


if __name__ == "__main__":
    main()
