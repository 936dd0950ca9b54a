"""An empty option value (``--since "$SINCE"`` with the variable unset) is a usage error that
says so, never the option's default: a CI job would otherwise report the wrong range or zone,
and an empty path would name the current directory ("."), with a confusing message."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.helpers import run


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "daily", "--since", ""), "--since: empty"),
        (("report", "daily", "--until", ""), "--until: empty"),
        (("report", "daily", "--tz", ""), "--tz: empty"),
        (("report", "month", "--month", ""), "--month: empty"),
        (("cost", "--month", ""), "--month: empty"),
        (("invoice", "--month", ""), "--month: empty"),
        (("reconcile", "--month", ""), "--month: empty"),
        (("report", "compare", "--period", ""), "--period: empty"),
        (("report", "month", "--config", ""), "--config: empty path"),
        # taken as not given, the default report with exit 0 (QA)
        (("report", "by", "model", "--by", ""), "--by: empty"),
        (("report", "by", "--by", ""), "--by: empty"),
        (("report", "compare", "--period", "2026-11", "--vs", ""), "--vs: empty"),
        (("forecast", "--by", ""), "--by: empty"),
        (("anomalies", "--by", " "), "--by: empty"),
        (("report", "team", "--by", ""), "--by: empty"),
        (("export", "--memory-limit", ""), "--memory-limit: empty"),
        (("status", "--format", ""), "--format: empty"),
        (("export", "--out", ""), "--out: empty"),
    ],
)
def test_empty_value_is_a_usage_error(db_path: Path, args: tuple[str, ...], message: str) -> None:
    err = run(*args, "--db", str(db_path), expect=2).stderr
    assert f"usagectl: error: {message}\n" in err


@pytest.mark.parametrize("args", [("pricing", "list", "--at", ""), ("pricing", "show", "gpt-4o", "--at", "")])
def test_an_empty_at_is_a_usage_error(args: tuple[str, ...]) -> None:
    """`pricing list --at ""` listed today's prices with exit 0, as if --at had not been given."""
    assert run(*args, expect=2).stderr == "usagectl: error: --at: empty\n"


def test_an_empty_dimension_of_report_by_is_a_usage_error(db_path: Path) -> None:
    """`report by "$DIM"` with DIM unset: Click's usage block and "No such command ''" before."""
    err = run("report", "by", "", "--db", str(db_path), expect=2).stderr
    assert err.startswith("usagectl: error: report by: empty dimension; choose from model, provider, ")


@pytest.mark.parametrize("args", [("report", "daily"), ("demo", "--days", "1")])
def test_empty_db_path_is_a_usage_error(args: tuple[str, ...]) -> None:
    err = run(*args, "--db", "", expect=2).stderr
    assert err == "usagectl: error: --db: empty path\n"


@pytest.mark.parametrize(
    "args",
    [
        ("report", "by", "model", "--model", ""),
        ("report", "by", "model", "--member", "alice", "--member", ""),  # any one of the repeats
        ("report", "daily", "--provider", ""),
        ("report", "daily", "--team", " "),
        ("report", "daily", "--feature", ""),
        ("report", "daily", "--project", ""),
        ("report", "daily", "--department", ""),
        ("report", "daily", "--tool", ""),
        ("report", "daily", "--integration", ""),
        ("report", "daily", "--platform", ""),
        ("export", "--csv", "--member", ""),
        ("reconcile", "--source", ""),
    ],
)
def test_empty_filter_value_is_a_usage_error(db_path: Path, args: tuple[str, ...]) -> None:
    """An empty filter matched nothing: a $0 report with exit 0 (``--member "$MEMBER"`` unset)."""
    option = next(a for a, b in itertools.pairwise(args) if a.startswith("--") and not b.strip())
    err = run(*args, "--db", str(db_path), expect=2).stderr
    assert f"usagectl: error: {option}: empty\n" in err
