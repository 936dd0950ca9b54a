"""Every command has help and is in the README; layers import only what they may."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from tests.helpers import run, write_jsonl
from usagectl.cli import app

ROOT = Path(__file__).resolve().parent.parent


def _commands(group: typer.Typer, prefix: str = "") -> list[str]:
    import typer.main

    click_group = typer.main.get_command(group)
    out: list[str] = []

    def walk(cmd, path: str) -> None:  # type: ignore[no-untyped-def]
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, f"{path} {name}".strip())
        else:
            out.append(path)

    walk(click_group, prefix)
    return out


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = _commands(app)
    assert {"import", "demo", "report month", "report daily", "report by model", "db status", "pricing check"} <= set(
        commands
    )
    for cmd in commands:
        result = run(*cmd.split(), "--help")
        assert "Usage:" in result.stdout
        assert f"usagectl {cmd}" in readme, f"README does not mention `usagectl {cmd}`"


def test_version() -> None:
    assert run("--version").stdout.startswith("usagectl ")


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(','.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(out.strip().split(","))


def test_help_path_does_not_import_heavy_libraries() -> None:
    mods = _loaded_after(
        "import sys; sys.argv = ['usagectl', '--help']\nfrom usagectl.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass"
    )
    for heavy in ("duckdb", "pandas", "pyarrow"):
        assert heavy not in mods, heavy


def test_layers_below_cli_do_not_import_typer_or_rich() -> None:
    mods = _loaded_after(
        "import usagectl.services.reports, usagectl.services.imports, usagectl.services.admin, "
        "usagectl.store.ingest, usagectl.store.reports, usagectl.pricing, usagectl.config, usagectl.importers.canonical"
    )
    assert "typer" not in mods and "rich" not in mods
    assert "duckdb" not in mods  # imported inside the functions that need it


def test_only_the_store_imports_duckdb() -> None:
    offenders = []
    for path in (ROOT / "usagectl").rglob("*.py"):
        rel = path.relative_to(ROOT / "usagectl")
        if rel.parts[0] == "store":
            continue
        text = path.read_text(encoding="utf-8")
        if "import duckdb" in text and "TYPE_CHECKING" not in text.split("import duckdb")[0][-200:]:
            offenders.append(str(rel))
    assert offenders == [], offenders


def test_every_package_directory_is_packaged() -> None:
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "usagectl").rglob("__init__.py")}
    assert found <= listed, found - listed


def test_json_and_another_format_together_are_a_usage_error() -> None:
    """--json is shorthand for --format json: with a different --format (either order) the
    caller asked for two formats, exit 2 naming both; with --format json it agrees."""
    for args in (("--json", "--format", "csv"), ("--format", "csv", "--json"), ("--json", "-f", "table")):
        result = run("pricing", "list", *args, expect=2)
        wanted = args[args.index("--format") + 1] if "--format" in args else args[args.index("-f") + 1]
        assert f"--json and --format {wanted} conflict" in result.stderr
        assert result.stdout == ""
    assert run("pricing", "list", "--json", "--format", "json").stdout.startswith("{")
    assert run("pricing", "list", "--format", "csv").stdout.startswith("model")
    # the status line has its own formats (line, json)
    result = run("status", "--json", "--format", "line", expect=2)
    assert "--json and --format line conflict" in result.stderr


def test_out_of_memory_in_any_command_is_said_as_such(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_path: Path
) -> None:
    """DuckDB running out of memory outside an export (whose own limit has its message) is a
    resource this machine lacks, not an "unexpected error … report it": one line, exit 1."""

    from usagectl import cli
    from usagectl.services import reports

    class OutOfMemoryException(Exception):  # DuckDB's exception, told by its type name
        pass

    def out_of_memory(*_: object, **__: object) -> None:
        raise OutOfMemoryException(
            "Out of Memory Error: could not allocate block of size 256.0 KiB (1.0 GiB/1.0 GiB used)"
        )

    run("import", str(write_jsonl(db_path.parent / "e.jsonl", [{"ts": "2025-11-03T10:00:00Z", "model_raw": "gpt-4o"}])),
        "--db", str(db_path))  # fmt: skip
    monkeypatch.setattr(reports, "month", out_of_memory)
    monkeypatch.setattr(sys, "argv", ["usagectl", "report", "month", "--db", str(db_path)])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    err = capsys.readouterr().err
    assert exit_.value.code == 1
    assert "usagectl: error: DuckDB ran out of memory: Out of Memory Error: could not allocate" in err
    assert "unexpected error" not in err and "report it" not in err


def test_every_report_with_by_writes_filters_by_as_a_list_of_dimension_names(tmp_path: Path) -> None:
    """QA: `filters.by` was a list in `report by` and `anomalies` (there with the store's names,
    `api_key`), a string in `report team`, `report compare` and `forecast` (null without --by):
    one key, three shapes. Now a list of the dimensions as the command line spells them (`api-key`,
    `cost-center`), empty without --by. One event is enough: the filters echo the options."""
    db = tmp_path / "u.duckdb"
    write_jsonl(tmp_path / "e.jsonl", [{"ts": "2026-11-02T10:00:00Z", "provider": "anthropic",
                                       "model": "claude-sonnet-4-5", "input_tokens": 10, "output_tokens": 5,
                                       "member": "ann", "cost_center": "cc-1", "api_key": "k1"}])  # fmt: skip
    run("import", str(tmp_path / "e.jsonl"), "--db", str(db))
    # a range that has happened (forecast and anomalies refuse an --until after today)
    span = ["--since", "2026-11-01", "--until", "2026-11-20", "--tz", "UTC", "--db", str(db)]
    given = {
        "report by cost-center": ["report", "by", "cost-center", *span],
        "report by model,cost-center": ["report", "by", "model,cost-center", *span],
        "report team": ["report", "team", "--by", "cost-center", *span],
        "report compare": [
            "report",
            "compare",
            "--period",
            "2026-11",
            "--by",
            "cost-center",
            "--tz",
            "UTC",
            *span[-2:],
        ],
        "anomalies": ["anomalies", "--by", "api-key", *span],
        "forecast": ["forecast", "--by", "api-key", *span],
    }
    found = {name: json.loads(run(*args, "--json").stdout)["filters"]["by"] for name, args in given.items()}
    assert found == {
        "report by cost-center": ["cost-center"],
        "report by model,cost-center": ["model", "cost-center"],
        "report team": ["cost-center"],
        "report compare": ["cost-center"],
        "anomalies": ["api-key"],
        "forecast": ["api-key"],
    }
    plain = {
        name: json.loads(run(*args, "--json").stdout)["filters"]["by"]
        for name, args in (("anomalies", ["anomalies", *span]), ("forecast", ["forecast", "--db", str(db)]))
    }
    assert plain == {"anomalies": [], "forecast": []}
