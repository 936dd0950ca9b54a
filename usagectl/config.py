"""The config file (one TOML) and the paths of the config and the database.

Lookup order for the config: ``--config``, ``$USAGECTL_CONFIG``, ``./usagectl.toml``, then
``$XDG_CONFIG_HOME/usagectl/config.toml`` (``~/.config/...``). A missing file is an empty
config; a file that is named explicitly must exist.

Lookup order for the database: ``--db``, ``$USAGECTL_DB``, ``[database] path`` in the config
(relative to the config file), then ``$XDG_DATA_HOME/usagectl/usage.duckdb``.
"""

from __future__ import annotations

import difflib
import itertools
import os
import stat
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from usagectl.errors import ConfigError
from usagectl.models import noun

# Every section usagectl reads and the keys it reads there: the one list that unknown keys are
# checked against. None: the section's own loader rejects unknown keys itself (arrays of tables,
# [members.NAME], [tax]), so the warning only checks that the section exists.
SECTION_KEYS: dict[str, tuple[str, ...] | None] = {
    "plan": ("monthly_token_quota",),
    "display": ("timezone", "week_start", "currency"),
    "members": None,
    "pricing": ("dir",),
    "database": ("path",),
    "budgets": None,
    "webhooks": None,
    "credits": None,
    "tax": None,
    "billing": ("start",),
    "focus": ("billing_account_id", "billing_account_name"),
    "team": ("allocate",),
}

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def weekday_name(value: str) -> str | None:
    """``monday`` … ``sunday`` for a weekday name or its first three letters or more,
    case-insensitive (``Sun``, ``tues``); None for anything else."""
    name = value.strip().lower()
    for day in WEEKDAYS:
        if name == day or (len(name) >= 3 and day.startswith(name)):
            return day
    return None


_MEMBER_FIELDS = ("team", "department", "cost_center")


@dataclass(frozen=True)
class MemberChange:
    """From ``start`` (a UTC instant) on, the given fields replace the member's earlier values;
    a field left None keeps the value it had."""

    start: datetime
    team: str | None = None
    department: str | None = None
    cost_center: str | None = None


@dataclass(frozen=True)
class MemberPeriod:
    """The member's team, department and cost center over [valid_from, valid_to) (None: unbounded)."""

    valid_from: datetime | None
    valid_to: datetime | None
    team: str | None
    department: str | None
    cost_center: str | None


@dataclass(frozen=True)
class MemberInfo:
    """A member's mapping: the values before the first change, then each change in time order."""

    team: str | None = None
    department: str | None = None
    cost_center: str | None = None
    changes: tuple[MemberChange, ...] = ()

    def periods(self) -> list[MemberPeriod]:
        """The mapping as consecutive periods, the values carried forward through each change."""
        values = (self.team, self.department, self.cost_center)
        out: list[MemberPeriod] = []
        start: datetime | None = None
        for change in self.changes:
            out.append(MemberPeriod(start, change.start, *values))
            given = (change.team, change.department, change.cost_center)
            values = tuple(new if new is not None else old for new, old in zip(given, values, strict=True))  # type: ignore[assignment]
            start = change.start
        out.append(MemberPeriod(start, None, *values))
        return out

    def names(self, column: str) -> set[str]:
        """Every value ``column`` (team, department, cost_center) takes in any period."""
        return {v for p in self.periods() if (v := getattr(p, column)) is not None}


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
    """Where a command that edits the config writes when no file exists yet. ConfigError (exit 2)
    for one that exists and is no regular file: ``--config /dev/null`` or ``<(…)`` is read as a
    config, but the atomic replace would put a file in place of the device (or fail on a pipe)."""
    path, _ = find_config_path(explicit)
    assert path is not None
    if path.exists() and not path.is_file():
        raise ConfigError(f"config file {path} is not a regular file: cannot write to it")
    return path


def load_config(explicit: Path | None = None) -> Config:
    path, must_exist = find_config_path(explicit)
    # a config named explicitly may be a stream: /dev/null (no config, a common idiom), a FIFO
    # or a shell's <(…) (both were "does not exist"); the default location is read only as a file
    readable = path is not None and (path.is_file() or (must_exist and path.exists() and not path.is_dir()))
    if path is None or not readable:
        if must_exist and path is not None and path.is_dir():
            raise ConfigError(f"config file {path} is a directory, not a file")
        if must_exist and path is not None:
            raise ConfigError(f"config file {path} does not exist")
        return Config(path=None)
    data = read_toml(path)
    config = parse_config(data, path)
    for message in unknown_keys(data, path):
        warn(message)
    return config


def read_toml(path: Path) -> dict[str, Any]:
    """The config file parsed (floats as Decimal); ConfigError (exit 2) naming the file when it
    cannot be read, is not UTF-8 (with the byte and its position, so the user can find it) or is
    not TOML. Every reader of the config file goes through here."""
    try:
        raw = _config_bytes(path)
    except OSError as exc:
        raise ConfigError(f"config {path}: cannot read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config {path}: not valid UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start})",
            hint="save the file as UTF-8",
        ) from exc
    # a byte-order mark, as Notepad and PowerShell's Out-File write it, is no TOML statement
    # ("Invalid statement at line 1, column 1" said nothing of it): it is not part of the text
    text = text.removeprefix("\ufeff")
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path}: not valid TOML: {exc}") from exc


# the bytes of each config read from a stream (a FIFO, ``<(…)``, /dev/stdin), by path and inode:
# a stream gives its text once, and a command may read the config again (``budget set``, the
# dashboard's refresh), which would find it empty
_streams: dict[tuple[str, int, int], bytes] = {}


def _config_bytes(path: Path) -> bytes:
    st = path.stat()
    if stat.S_ISREG(st.st_mode):
        return path.read_bytes()
    key = (str(path), st.st_dev, st.st_ino)
    if key not in _streams:
        _streams[key] = path.read_bytes()
    return _streams[key]


_warned: set[str] = set()


def warn(message: str) -> None:
    """A warning on stderr, once per command: the config is loaded more than once by some commands
    (``budget set`` reads it to edit and again to check the scope), and a typo should be named once.
    Warnings never change the exit code."""
    if message not in _warned:
        _warned.add(message)
        from usagectl.models import printable

        print(f"usagectl: warning: {printable(message)}", file=sys.stderr)


def reset_warnings() -> None:
    """Start a new command (the CLI calls this first; tests run many commands in one process)."""
    _warned.clear()


def _suggestion(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


SIMILAR_MEMBER_LENGTH = 5  # shorter member names get a hint for a case difference only
SIMILAR_MEMBER_RATIO = 0.8


def similar_member(name: str, configured: Iterable[str]) -> str | None:
    """The ``[members.NAME]`` entry a member of the logs was probably meant to match: one that
    differs only in case (``Alice`` for ``alice``), else, for names of 5 characters or more, a
    spelling at most one letter in five away (difflib ratio >= 0.8: ``jonathon`` for
    ``jonathan``). Short names are too near each other to guess from (QA: bob was offered rob,
    ratio 0.67). Only ever a hint: member names stay exact everywhere, since matching them
    ignoring case would move usage between teams without a word."""
    others = [n for n in configured if n != name]
    same = sorted(n for n in others if n.casefold() == name.casefold())
    if same:
        return same[0]
    if len(name) < SIMILAR_MEMBER_LENGTH:
        return None
    long_enough = [n for n in others if len(n) >= SIMILAR_MEMBER_LENGTH]
    close = difflib.get_close_matches(name, long_enough, n=1, cutoff=SIMILAR_MEMBER_RATIO)
    return close[0] if close else None


def unknown_keys(data: dict[str, Any], path: Path) -> list[str]:
    """One message per key or section that usagectl does not read (a typo such as
    ``monthly_token_qouta`` would otherwise silently disable the quota). A warning, not an error: a
    config written for a newer version, or with a user's own notes, still works."""
    out: list[str] = []
    sections = list(SECTION_KEYS)
    for name, value in data.items():
        if name not in SECTION_KEYS:
            if isinstance(value, dict):
                out.append(f"config {path}: unknown section [{name}], ignored{_suggestion(name, sections)}")
            else:
                owner = next((s for s, keys in SECTION_KEYS.items() if keys and name in keys), None)
                hint = f" (did you mean [{owner}] {name}?)" if owner else _suggestion(name, sections)
                out.append(f"config {path}: unknown top-level key {name}, ignored{hint}")
            continue
        keys = SECTION_KEYS[name]
        if keys is None or not isinstance(value, dict):
            continue
        for key in value:
            if key not in keys:
                hint = _suggestion(key, list(keys)) or f" (known: {', '.join(keys)})"
                out.append(f"config {path}: [{name}] unknown key {key}, ignored{hint}")
    return out


def shown(value: Any) -> str:
    """A config value the way it is written in TOML (``1.5``, ``'lots'``, ``[75, 90.5]``, ``true``),
    for error messages: never Python's ``Decimal('1.5')``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {shown(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    return repr(value)


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
        raise ConfigError(f"config {path}: {where} {key}: must be a non-empty string, got {shown(value)}")
    return value


def _change_start(value: Any, where: str, tz: str | None, path: Path) -> datetime:
    """A change's ``from``: a date is midnight in the config's [display] timezone (UTC without
    one, so the answer does not depend on the machine's zone); a datetime without an offset is
    read in that zone too; one with an offset is that instant."""
    from zoneinfo import ZoneInfo

    given = value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value or " " in value.strip() else date.fromisoformat(value)
        except ValueError:
            pass
    zone = ZoneInfo(tz) if tz else UTC
    try:
        if isinstance(value, datetime):
            instant = value if value.tzinfo is not None else value.replace(tzinfo=zone)
            return instant.astimezone(UTC)
        if isinstance(value, date):
            return datetime.combine(value, time(0), zone).astimezone(UTC)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it: no UTC instant
        raise ConfigError(
            f"config {path}: {where} from: {shown(given)} is out of range (years 1 to 9999 in UTC)"
        ) from None
    raise ConfigError(
        f"config {path}: {where} from: must be a date (2026-10-01) or a date and time "
        f"(2026-10-01T09:00:00+02:00), got {shown(given) if given is not None else 'nothing'}"
    )


def _member_changes(value: Any, name: str, tz: str | None, path: Path) -> tuple[MemberChange, ...]:
    """``[[members.NAME.changes]]``: each with ``from`` and one or more of team, department,
    cost_center; two changes at one instant are refused (which one wins would be a guess)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
        raise ConfigError(
            f"config {path}: [members.{name}] changes: must be an array of tables ([[members.{name}.changes]])"
        )
    out: list[MemberChange] = []
    for i, table in enumerate(value, 1):
        where = f"[[members.{name}.changes]] #{i}"
        unknown = set(table) - {*_MEMBER_FIELDS, "from"}
        if unknown:
            raise ConfigError(
                f"config {path}: {where} unknown {noun(len(unknown), 'key')} {', '.join(sorted(unknown))} "
                "(allowed: from, team, department, cost_center)"
            )
        fields = {k: _opt_str(table, k, where, path) for k in _MEMBER_FIELDS}
        if all(v is None for v in fields.values()):
            raise ConfigError(f"config {path}: {where} changes nothing: give team, department or cost_center")
        out.append(MemberChange(_change_start(table.get("from"), where, tz, path), **fields))
    out.sort(key=lambda c: c.start)
    for a, b in itertools.pairwise(out):
        if a.start == b.start:
            raise ConfigError(f"config {path}: [members.{name}] two changes from {a.start.isoformat()}")
    return tuple(out)


def parse_config(data: dict[str, Any], path: Path) -> Config:
    plan = _table(data, "plan", path)
    quota = plan.get("monthly_token_quota")
    if quota is not None and (isinstance(quota, bool) or not isinstance(quota, int) or quota <= 0):
        raise ConfigError(f"config {path}: [plan] monthly_token_quota: must be a positive integer, got {shown(quota)}")

    display = _table(data, "display", path)
    tz = _opt_str(display, "timezone", "[display]", path)
    if tz is not None:
        validate_timezone(tz, where=f"config {path}: [display] timezone")
    given = _opt_str(display, "week_start", "[display]", path) or "monday"
    week_start = weekday_name(given) or ""
    if not week_start:
        raise ConfigError(f"config {path}: [display] week_start: must be a weekday name, got {given!r}")
    currency = _opt_str(display, "currency", "[display]", path) or "USD"
    if currency.upper() != "USD":
        raise ConfigError(
            f"config {path}: [display] currency: only USD is supported (prices are in USD), got {currency!r}"
        )

    members: dict[str, MemberInfo] = {}
    for name, info in _table(data, "members", path).items():
        if not isinstance(info, dict):
            raise ConfigError(f"config {path}: [members.{name}] must be a table")
        unknown = set(info) - {*_MEMBER_FIELDS, "changes"}
        if unknown:
            raise ConfigError(
                f"config {path}: [members.{name}] unknown {noun(len(unknown), 'key')} {', '.join(sorted(unknown))} "
                "(allowed: team, department, cost_center, changes)"
            )
        members[name] = MemberInfo(
            team=_opt_str(info, "team", f"[members.{name}]", path),
            department=_opt_str(info, "department", f"[members.{name}]", path),
            cost_center=_opt_str(info, "cost_center", f"[members.{name}]", path),
            changes=_member_changes(info.get("changes"), name, tz, path),
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


# files of a system's zoneinfo folder that ZoneInfo loads but that name no zone: "localtime" is
# whatever the machine is set to (a report "in localtime" says nothing) and posixrules a template
_NOT_ZONES = frozenset({"localtime", "posixrules"})


def validate_timezone(name: str, *, where: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not name.strip():
        raise ConfigError(f"{where}: empty")
    if name in _NOT_ZONES:
        raise ConfigError(
            f"{where}: {name!r} is a file of the zone folder, not a time zone (use an IANA name such as Europe/Berlin)"
        )
    try:
        ZoneInfo(name)
    # OSError: a region folder of the zone database (America, Etc) is a directory to open, and a
    # name longer than a file name can be is "File name too long" (QA: "unexpected error", exit 1)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
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


def tz_variable_zone() -> str | None:
    """The zone ``$TZ`` names, None when it is unset or empty. POSIX lets TZ name a zoneinfo file
    after a colon (``:Asia/Kolkata``, ``:/usr/share/zoneinfo/Asia/Kolkata``): both are Asia/Kolkata,
    as for ``date``."""
    tz = os.environ.get("TZ", "").strip()
    if tz.startswith(":"):
        tz = tz[1:]
    marker = "zoneinfo/"
    if tz.startswith("/") and marker not in tz:
        # a link to a zoneinfo file, as ``:/etc/localtime`` (AWS's advice for Lambda and EC2;
        # QA: it was "not an IANA time zone", so UTC): the zone it points to; /etc/localtime
        # that names no zone is the machine's zone, as with TZ unset
        try:
            real = os.path.realpath(tz)
        except (OSError, ValueError):
            real = tz
        if marker not in real and os.path.normpath(tz) == "/etc/localtime":
            return None
        if marker not in real:  # a copy of a zone's file, not a link (QA): the zone with its bytes
            from usagectl.zonefile import zone_of_copy

            return zone_of_copy(real) or tz
        tz = real
    if marker in tz:
        tz = tz.split(marker, 1)[1]
    return _zone_of_path(tz) or None


def _zone_of_path(rest: str) -> str:
    """The zone of a path inside a zoneinfo folder: its ``posix/`` and ``right/`` (leap-second)
    copies name the same zones (``posix/Europe/Berlin`` is Europe/Berlin)."""
    for copy in ("posix/", "right/"):
        if rest.startswith(copy):
            return rest[len(copy) :]
    return rest


def unusable_tz_variable() -> str | None:
    """``$TZ`` as set, when it names no IANA zone (``IST-5:30``, ``bogus``): usagectl cannot use
    POSIX offset rules, so it uses UTC and says so (``effective_timezone`` warns, ``doctor`` tells)."""
    name = tz_variable_zone()
    if name is None:
        return None
    try:
        validate_timezone(name, where="TZ")
    except ConfigError:
        return os.environ.get("TZ")
    return None


def local_timezone_name() -> str:
    """The machine's IANA zone, or UTC when it cannot be told (and for any other name of UTC,
    so that reports say "UTC" rather than "Etc/UTC")."""
    name = tz_variable_zone() or "UTC"
    if tz_variable_zone() is None:
        try:
            target = os.path.realpath("/etc/localtime")
            marker = "zoneinfo/"
            if marker in target:
                name = _zone_of_path(target.split(marker, 1)[1])
            else:  # a copy of a zone's file, as some container images have (QA: it was UTC)
                from usagectl.zonefile import zone_of_copy

                name = zone_of_copy(target) or name
        except OSError:
            pass
    return "UTC" if name in _UTC_NAMES else name


def effective_timezone(cli_tz: str | None, config: Config) -> str:
    if cli_tz is not None:  # --tz "" (an unset variable in a script) is an error, not "not given"
        return validate_timezone(cli_tz, where="--tz")
    if config.timezone:
        return config.timezone
    bad_tz = unusable_tz_variable()
    if bad_tz is not None:
        warn(f"TZ={bad_tz} is not an IANA time zone (such as Asia/Kolkata): using UTC")
        return "UTC"
    name = local_timezone_name()
    try:
        return validate_timezone(name, where="local time zone")
    except ConfigError:
        return "UTC"
