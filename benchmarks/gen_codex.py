"""Generate a Codex CLI sessions tree shaped like real ones (deterministic by seed).

    python benchmarks/gen_codex.py OUT_DIR --sessions 1000 [--seed 7]

``OUT_DIR/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``, one file per session, as Codex
writes them (FORMATS.md section 4): a ``session_meta`` line, a ``turn_context`` naming the
model, then per turn a user message, a few ``response_item`` lines (reasoning, function
calls and their output, the answer: ~0.5-3 KB each) and an ``event_msg``/``token_count``
with the CUMULATIVE ``total_token_usage`` and the call's ``last_token_usage``; a third of the
token_counts are repeated unchanged (UI refreshes, which count nothing), and some turns
switch the model. 10-60 turns per session, so 1,000 sessions are ~30k counted calls in
~150 MB, a heavy user's few months of ``~/.codex/sessions``.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

MODELS = ("gpt-5-codex", "gpt-5-codex", "gpt-5-codex", "gpt-5", "gpt-5.1-codex")
START = datetime(2026, 8, 1, tzinfo=UTC)
WORDS = (
    "the quick function returns a value from the cache when the test passes and the build is green "
    "refactor module import error handling retry request response token session file project branch"
).split()


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


class Gen:
    def __init__(self, out: Path, sessions: int, seed: int) -> None:
        self.out = out
        self.sessions = sessions
        self.rnd = random.Random(seed)
        self.calls = 0
        self.texts = [" ".join(self.rnd.choice(WORDS) for _ in range(self.rnd.randint(60, 400))) for _ in range(256)]

    def line(self, ts: datetime, kind: str, payload: dict[str, object]) -> str:
        return json.dumps({"timestamp": _ts(ts), "type": kind, "payload": payload}, separators=(",", ":"))

    def session(self, n: int) -> tuple[datetime, str, list[str]]:
        r = self.rnd
        sid = str(uuid.UUID(int=r.getrandbits(128), version=4))
        t = START + timedelta(days=n * 120 / self.sessions, seconds=r.randint(0, 36000))
        cwd = f"/home/dev/src/{r.choice(WORDS)}-{r.randint(1, 40)}"
        model = r.choice(MODELS)
        meta = {"id": sid, "timestamp": _ts(t), "cwd": cwd, "originator": "codex_cli_rs", "cli_version": "0.63.0",
                "source": "cli", "model_provider": "openai",
                "git": {"commit_hash": f"{r.getrandbits(160):040x}", "branch": "main",
                        "repository_url": f"git@github.com:acme/{cwd.rsplit('/', 1)[-1]}.git"}}  # fmt: skip
        lines = [self.line(t, "session_meta", meta)]
        lines.append(self.line(t, "turn_context", {"cwd": cwd, "approval_policy": "on-request", "model": model,
                                                   "effort": "medium", "summary": "auto"}))  # fmt: skip
        total = {"input_tokens": 0, "cached_input_tokens": 0, "output_tokens": 0, "reasoning_output_tokens": 0}
        for _ in range(r.randint(10, 60)):
            t += timedelta(seconds=r.randint(20, 600))
            if r.random() < 0.05:
                model = r.choice(MODELS)
                lines.append(self.line(t, "turn_context", {"cwd": cwd, "model": model, "effort": "high"}))
            lines.append(self.line(t, "event_msg", {"type": "user_message", "message": r.choice(self.texts)[:300]}))
            for _ in range(r.randint(1, 4)):
                t += timedelta(seconds=r.randint(1, 30))
                kind = r.choice(("reasoning", "function_call", "function_call_output", "message"))
                lines.append(self.line(t, "response_item", {"type": kind, "content": [{"type": "output_text",
                                                                                      "text": r.choice(self.texts)}]}))  # fmt: skip
            prompt = r.randint(2_000, 60_000)
            cached = r.randint(0, prompt)
            out = r.randint(50, 4_000)
            reasoning = r.randint(0, out)
            last = {"input_tokens": prompt, "cached_input_tokens": cached, "output_tokens": out,
                    "reasoning_output_tokens": reasoning}  # fmt: skip
            for k in total:
                total[k] += last[k]
            info = {"total_token_usage": {**total, "total_tokens": total["input_tokens"] + total["output_tokens"]},
                    "last_token_usage": {**last, "total_tokens": prompt + out}, "model_context_window": 272000}  # fmt: skip
            t += timedelta(milliseconds=r.randint(100, 900))
            lines.append(self.line(t, "event_msg", {"type": "token_count", "info": info}))
            self.calls += 1
            if r.random() < 0.33:  # a refresh of the same totals: counts nothing
                t += timedelta(milliseconds=r.randint(100, 900))
                lines.append(self.line(t, "event_msg", {"type": "token_count", "info": info}))
        return START + timedelta(days=n * 120 / self.sessions), sid, lines

    def run(self) -> None:
        size = 0
        for n in range(self.sessions):
            day, sid, lines = self.session(n)
            folder = self.out / "sessions" / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
            folder.mkdir(parents=True, exist_ok=True)
            text = "\n".join(lines) + "\n"
            (folder / f"rollout-{day:%Y-%m-%dT%H-%M-%S}-{sid}.jsonl").write_text(text)
            size += len(text)
        print(f"{self.sessions} sessions, {self.calls} counted calls, {size / 1e6:.1f} MB in {self.out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    Gen(a.out, a.sessions, a.seed).run()


if __name__ == "__main__":
    main()
