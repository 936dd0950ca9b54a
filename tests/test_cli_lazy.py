"""The pruned command tree runs exactly the command the full tree would run."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import typer.main

from usagectl import __version__
from usagectl.cli import app
from usagectl.cli._lazy import pruned
from usagectl.store.connection import connect


def _paths(cmd: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, sub in getattr(cmd, "commands", {}).items():
        path = (*prefix, name)
        out.append(path)
        out.extend(_paths(sub, path))
    return out


def _walk(cmd: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        cmd = cmd.commands[name]
    return cmd


def _shape(cmd: Any) -> list[tuple[Any, ...]]:
    return [
        (
            p.name,
            tuple(p.opts),
            p.required,
            p.multiple,
            getattr(p.type, "name", type(p.type).__name__),
            p.default if not callable(p.default) else None,
        )
        for p in cmd.params
    ]


def test_every_command_path_builds_the_same_command_when_pruned() -> None:
    full = typer.main.get_command(app)
    paths = _paths(full)
    assert len(paths) > 40  # the whole tree was walked
    for path in paths:
        small = typer.main.get_command(pruned(app, [*path, "--some-option"]))
        want, got = _walk(full, path), _walk(small, path)
        assert _shape(got) == _shape(want), path
        assert (got.help, type(got)) == (want.help, type(want)), path
        # only the path itself was built: the root holds one command
        assert list(small.commands) == [path[0]], path


def test_pruning_keeps_the_full_tree_for_listings_and_typos() -> None:
    assert pruned(app, []) is app
    assert pruned(app, ["--help"]) is app
    assert pruned(app, ["no-such-command"]) is app
    report = pruned(app, ["report", "--help"])
    (group,) = report.registered_groups
    full_group = next(g for g in app.registered_groups if g.name == "report")
    assert group.typer_instance is full_group.typer_instance  # `report --help` lists every report


def test_main_runs_a_pruned_command_and_reports_a_typo_like_the_full_tree(tmp_path: Any) -> None:
    env_db = str(tmp_path / "u.duckdb")
    with connect(tmp_path / "u.duckdb"):  # an empty database (a report refuses a missing --db)
        pass
    ok = subprocess.run(
        [sys.executable, "-c", "from usagectl.cli import main; main()", "report", "daily", "--db", env_db, "--json"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert '"report": "daily"' in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-c", "from usagectl.cli import main; main()", "report", "dialy"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "No such command 'dialy'" in bad.stderr


def test_report_by_two_levels_builds_only_the_first_dimension() -> None:
    """``report by model,project`` (and ``Model``) is parsed by the ``by`` group itself: the
    pruned tree keeps the command that parsing runs, not the whole group."""
    for arg in ("model,project", "Model", " model , project"):
        small = typer.main.get_command(pruned(app, ["report", "by", arg, "--top", "3"]))
        by = _walk(small, ("report", "by"))
        assert list(by.commands) == ["model"], arg
    unknown = typer.main.get_command(pruned(app, ["report", "by", "nope,project"]))
    assert len(_walk(unknown, ("report", "by")).commands) > 10  # the error lists every dimension


def test_a_two_level_breakdown_runs_the_same_through_the_pruned_tree(tmp_path: Any) -> None:
    from tests.helpers import run, write_jsonl

    db = tmp_path / "u.duckdb"
    events = [
        {"event_id": "a", "ts": "2026-11-20T10:00:00Z", "model_raw": "gpt-4o", "project": "p1", "input_tokens": 10},
        {"event_id": "b", "ts": "2026-11-20T11:00:00Z", "model_raw": "gpt-4o", "project": "p2", "input_tokens": 20},
        {
            "event_id": "c",
            "ts": "2026-11-20T12:00:00Z",
            "model_raw": "gpt-4o-mini",
            "project": "p1",
            "input_tokens": 40,
        },
    ]
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db))
    args = [
        "report",
        "by",
        "Model,Project",
        "--since",
        "2026-11-20",
        "--until",
        "2026-11-20",
        "--db",
        str(db),
        "--json",
    ]
    res = subprocess.run(
        [sys.executable, "-c", "from usagectl.cli import main; main()", *args], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    rows = [(r["model"], r["project"], r["input_tokens"]) for r in __import__("json").loads(res.stdout)["rows"]]
    assert sorted(rows) == [("gpt-4o", "p1", 10), ("gpt-4o", "p2", 20), ("gpt-4o-mini", "p1", 40)]
    assert res.stdout == run(*args).stdout  # the full tree, in process


def test_version_alone_builds_no_command_and_prints_what_the_full_tree_prints() -> None:
    """`usagectl --version` built all ~80 commands before its eager option ran (0.6 s here, more
    than a report). Alone it now needs none of them: the pruned app has no command, and prints
    the same line as the full tree, exit 0. With anything after it the full tree decides."""
    from typer.testing import CliRunner

    bare = pruned(app, ["--version"])
    assert bare.registered_commands == [] and bare.registered_groups == []
    full, alone = (CliRunner().invoke(a, ["--version"]) for a in (app, bare))
    assert (alone.exit_code, alone.stdout) == (full.exit_code, full.stdout) == (0, f"usagectl {__version__}\n")
    assert pruned(app, ["--version", "--help"]) is app
