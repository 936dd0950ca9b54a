"""Generate the demo dataset into a database and return a context that reports on it."""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from usagectl.config import MemberInfo, _user_data_dir, effective_timezone
from usagectl.models import ImportSummary
from usagectl.services.context import AppContext, make_context
from usagectl.services.imports import import_paths
from usagectl.timeutil import local_today

DEMO_QUOTA_TOKENS = 600_000_000


def default_demo_db() -> Path:
    return _user_data_dir() / "usagectl-demo.duckdb"


def run_demo(
    db: Path | None, config: Path | None, *, days: int = 90, seed: int = 7
) -> tuple[AppContext, ImportSummary]:
    from usagectl.services.demo import DEMO_MEMBERS, generate_events, write_jsonl

    base = make_context(config, db)
    path = db if db is not None else default_demo_db()
    if db is None:
        # the default demo database is ours: start it afresh so "90 days ending today" holds
        for p in (path, path.with_name(path.name + ".wal")):
            if p.exists():
                p.unlink()
    members = dict(base.config.members)
    for name, info in DEMO_MEMBERS.items():
        members.setdefault(name, MemberInfo(info.get("team"), info.get("department"), info.get("cost_center")))
    cfg = dataclasses.replace(
        base.config,
        members=members,
        monthly_token_quota=base.config.monthly_token_quota or DEMO_QUOTA_TOKENS,
    )
    ctx = AppContext(config=cfg, db_path=path)
    now = datetime.now(UTC)
    today = local_today(effective_timezone(None, cfg), now)
    events = generate_events(today, days=days, seed=seed, now=now)
    with tempfile.TemporaryDirectory(prefix="usagectl-demo-") as tmp:
        out = Path(tmp) / "demo-events.jsonl"
        write_jsonl(events, out)
        summary = import_paths(ctx, [out], fmt="jsonl")
    return ctx, summary
