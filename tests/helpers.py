from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from usagectl.cli import app


def run(*args: str, expect: int | None = 0) -> Any:
    """Run the CLI in-process; check the exit code."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=True)
    if expect is not None and result.exit_code != expect:
        raise AssertionError(
            f"exit {result.exit_code} != {expect} for {args}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\n"
            f"exception: {result.exception!r}"
        )
    return result


def run_json(*args: str) -> Any:
    return json.loads(run(*args, "--json").stdout)


def write_jsonl(path: Path, records: list[Any]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
