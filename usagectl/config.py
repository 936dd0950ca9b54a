"""The config file (one TOML) and the paths of the config and the database.

Lookup order for the config: ``--config``, ``$USAGECTL_CONFIG``, ``./usagectl.toml``, then
``$XDG_CONFIG_HOME/usagectl/config.toml`` (``~/.config/...``). A missing file is an empty
config; a file that is named explicitly must exist.

Lookup order for the database: ``--db``, ``$USAGECTL_DB``, ``[database] path`` in the config
(relative to the config file), then ``$XDG_DATA_HOME/usagectl/usage.duckdb``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from usagectl.errors import ConfigError
from usagectl.models import noun

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class MemberInfo:
    team: str | None = None
    department: str | None = None
    cost_center: str | None = None


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    data: dict[str, Any] = field(default_factory=dict)
    db_path: Path | None = None
    monthly_token_quota: int | None = None
    timezone: str | None = None
    week_start: str = "monday"
    currency: str = "USD"
    members: dict[str, MemberInfo] = field(default_factory=dict)
    pricing_dir: Path | None = None


def _user_config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "usagectl"


def _user_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "usagectl"


def find_config_path(explicit: Path | None = None) -> tuple[Path | None, bool]:
    """Return (path, must_exist)."""
    if explicit is not None:
        return explicit, True
    env = os.environ.get("USAGECTL_CONFIG")
    if env:
        return Path(env), True
    local = Path.cwd() / "usagectl.toml"
    if local.is_file():
        return local, True
    user = _user_config_dir() / "config.toml"
    return user, False


def default_config_write_path(explicit: Path | None = None) -> Path:
    """Where a command that edits the config writes when no file exists yet."""
    path, _ = find_config_path(explicit)
    assert path is not None
    return path


def load_config(explicit: Path | None = None) -> Config:
    path, must_exist = find_config_path(explicit)
    if path is None or not path.is_file():
        if must_exist and path is not None and path.is_dir():
            raise ConfigError(f"config file {path} is a directory, not a file")
        if must_exist and path is not None:
            raise ConfigError(f"config file {path} does not exist")
        return Config(path=None)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"config {path}: cannot read: {exc.strerror}") from exc
    return parse_config(data, path)


def _table(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"config {path}: [{key}] must be a table, got {type(value).__name__}")
    return value


def _opt_str(table: dict[str, Any], key: str, where: str, path: Path) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"config {path}: {where} {key}: must be a non-empty string, got {value!r}")
    return value


def parse_config(data: dict[str, Any], path: Path) -> Config:
    plan = _table(data, "plan", path)
    quota = plan.get("monthly_token_quota")
    if quota is not None and (isinstance(quota, bool) or not isinstance(quota, int) or quota <= 0):
        raise ConfigError(f"config {path}: [plan] monthly_token_quota: must be a positive integer, got {quota!r}")

    display = _table(data, "display", path)
    tz = _opt_str(display, "timezone", "[display]", path)
    if tz is not None:
        validate_timezone(tz, where=f"config {path}: [display] timezone")
    week_start = (_opt_str(display, "week_start", "[display]", path) or "monday").lower()
    if week_start not in WEEKDAYS:
        raise ConfigError(f"config {path}: [display] week_start: must be a weekday name, got {week_start!r}")
    currency = _opt_str(display, "currency", "[display]", path) or "USD"
    if currency.upper() != "USD":
        raise ConfigError(
            f"config {path}: [display] currency: only USD is supported (prices are in USD), got {currency!r}"
        )

    members: dict[str, MemberInfo] = {}
    for name, info in _table(data, "members", path).items():
        if not isinstance(info, dict):
            raise ConfigError(f"config {path}: [members.{name}] must be a table")
        unknown = set(info) - {"team", "department", "cost_center"}
        if unknown:
            raise ConfigError(
                f"config {path}: [members.{name}] unknown {noun(len(unknown), 'key')} {', '.join(sorted(unknown))} "
                "(allowed: team, department, cost_center)"
            )
        members[name] = MemberInfo(
            team=_opt_str(info, "team", f"[members.{name}]", path),
            department=_opt_str(info, "department", f"[members.{name}]", path),
            cost_center=_opt_str(info, "cost_center", f"[members.{name}]", path),
        )

    pricing = _table(data, "pricing", path)
    pricing_dir_s = _opt_str(pricing, "dir", "[pricing]", path)
    pricing_dir = (path.parent / Path(pricing_dir_s).expanduser()) if pricing_dir_s else None

    database = _table(data, "database", path)
    db_s = _opt_str(database, "path", "[database]", path)
    db_path = (path.parent / Path(db_s).expanduser()) if db_s else None

    return Config(
        path=path,
        data=data,
        db_path=db_path,
        monthly_token_quota=quota,
        timezone=tz,
        week_start=week_start,
        currency="USD",
        members=members,
        pricing_dir=pricing_dir,
    )


def validate_timezone(name: str, *, where: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not name.strip():
        raise ConfigError(f"{where}: empty")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{where}: unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from exc
    return name


def resolve_db_path(explicit: Path | None, config: Config) -> Path:
    if explicit is not None:
        return explicit
    env = os.environ.get("USAGECTL_DB")
    if env:
        return Path(env)
    if config.db_path is not None:
        return config.db_path
    return default_db_path()


def default_db_path() -> Path:
    """The database used when neither --db, $USAGECTL_DB nor the config names one."""
    return _user_data_dir() / "usage.duckdb"


# the zone database's other names for UTC (a container's /etc/localtime is often Etc/UTC)
_UTC_NAMES = frozenset({"Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Universal", "Zulu"})


def local_timezone_name() -> str:
    """The machine's IANA zone, or UTC when it cannot be told (and for any other name of UTC,
    so that reports say "UTC" rather than "Etc/UTC")."""
    name = "UTC"
    tz = os.environ.get("TZ")
    if tz and not tz.startswith(":"):
        name = tz
    else:
        try:
            target = os.path.realpath("/etc/localtime")
            marker = "zoneinfo/"
            if marker in target:
                name = target.split(marker, 1)[1]
        except OSError:
            pass
    return "UTC" if name in _UTC_NAMES else name


def effective_timezone(cli_tz: str | None, config: Config) -> str:
    if cli_tz is not None:  # --tz "" (an unset variable in a script) is an error, not "not given"
        return validate_timezone(cli_tz, where="--tz")
    if config.timezone:
        return config.timezone
    name = local_timezone_name()
    try:
        return validate_timezone(name, where="local time zone")
    except ConfigError:
        return "UTC"
