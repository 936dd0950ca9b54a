"""Config lookup order and errors that name the file, the key and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run
from usagectl.config import load_config, local_timezone_name, resolve_db_path
from usagectl.errors import ConfigError


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> None:
    assert load_config().path is None  # nothing anywhere: empty config
    user = tmp_path / "home" / ".config" / "usagectl" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("[plan]\nmonthly_token_quota = 1\n")
    assert load_config().monthly_token_quota == 1
    (isolated_env / "usagectl.toml").write_text("[plan]\nmonthly_token_quota = 2\n")
    assert load_config().monthly_token_quota == 2
    env = tmp_path / "env.toml"
    env.write_text("[plan]\nmonthly_token_quota = 3\n")
    monkeypatch.setenv("USAGECTL_CONFIG", str(env))
    assert load_config().monthly_token_quota == 3
    flag = tmp_path / "flag.toml"
    flag.write_text("[plan]\nmonthly_token_quota = 4\n")
    assert load_config(flag).monthly_token_quota == 4


def test_database_path_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[database]\npath = "data/u.duckdb"\n')
    config = load_config(cfg)
    assert resolve_db_path(None, config) == tmp_path / "data" / "u.duckdb"
    monkeypatch.setenv("USAGECTL_DB", str(tmp_path / "env.duckdb"))
    assert resolve_db_path(None, config) == tmp_path / "env.duckdb"
    assert resolve_db_path(tmp_path / "flag.duckdb", config) == tmp_path / "flag.duckdb"
    monkeypatch.delenv("USAGECTL_DB")
    assert resolve_db_path(None, load_config(None)).name == "usage.duckdb"


def test_members_timezone_and_pricing_dir(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[display]\ntimezone = "Europe/Berlin"\nweek_start = "Sunday"\n'
        '[members.alice]\nteam = "platform"\ndepartment = "eng"\ncost_center = "cc-1"\n'
        '[pricing]\ndir = "prices"\n'
    )
    c = load_config(cfg)
    assert c.timezone == "Europe/Berlin" and c.week_start == "sunday"
    assert c.members["alice"].team == "platform" and c.members["alice"].cost_center == "cc-1"
    assert c.pricing_dir == tmp_path / "prices"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[plan]\nmonthly_token_quota = -5\n", "[plan] monthly_token_quota: must be a positive integer, got -5"),
        ('[plan]\nmonthly_token_quota = "lots"\n', "[plan] monthly_token_quota: must be a positive integer"),
        ('[display]\ntimezone = "Mars/Base"\n', "[display] timezone: unknown time zone 'Mars/Base'"),
        ('[display]\nweek_start = "someday"\n', "[display] week_start: must be a weekday name"),
        ('[display]\ncurrency = "EUR"\n', "[display] currency: only USD is supported"),
        ('[members.bob]\nteem = "x"\n', "[members.bob] unknown key teem"),
        ("plan = 3\n", "[plan] must be a table"),
        ("[plan\n", "not valid TOML"),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert str(cfg) in err.value.message
    assert message in err.value.message


def test_bad_config_is_exit_2_without_traceback(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[display]\ntimezone = "Nowhere/City"\n')
    result = run("report", "daily", "--config", str(cfg), "--db", str(tmp_path / "x.duckdb"), expect=2)
    assert "Nowhere/City" in result.stderr and "Traceback" not in result.stderr


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(("tz", "shown"), [("Etc/UTC", "UTC"), ("Zulu", "UTC"), ("UTC", "UTC"),
                                          ("Europe/Berlin", "Europe/Berlin"), ("Etc/GMT+5", "Etc/GMT+5")])  # fmt: skip
def test_local_zone_calls_utc_by_its_name(monkeypatch: pytest.MonkeyPatch, tz: str, shown: str) -> None:
    """A machine whose zone is Etc/UTC (most containers) gets reports "in UTC", not "in Etc/UTC";
    other zones keep their names (Etc/GMT+5 is not UTC)."""
    monkeypatch.setenv("TZ", tz)
    assert local_timezone_name() == shown
