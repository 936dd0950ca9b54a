"""Config lookup order and errors that name the file, the key and the problem."""

from __future__ import annotations

import json
import os
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import run
from usagectl.config import (
    effective_timezone,
    load_config,
    local_timezone_name,
    reset_warnings,
    resolve_db_path,
    similar_member,
)
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


def test_member_changes_carry_forward_and_start_at_midnight_in_the_display_zone(tmp_path: Path) -> None:
    """Berlin is +02:00 on 2026-10-01 and +01:00 on 2026-11-01, so the two dates start at
    2026-09-30 22:00 and 2026-10-31 23:00 UTC; a datetime with an offset is that instant."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[display]\ntimezone = "Europe/Berlin"\n'
        '[members.bob]\nteam = "growth"\ndepartment = "sales"\n'
        # written out of order: they are sorted by time
        '[[members.bob.changes]]\nfrom = 2026-11-01\ndepartment = "engineering"\n'
        '[[members.bob.changes]]\nfrom = 2026-10-01\nteam = "platform"\n'
        '[[members.bob.changes]]\nfrom = 2026-12-01T09:30:00-05:00\ncost_center = "cc-9"\n'
        '[[members.bob.changes]]\nfrom = "2027-01-01"\nteam = "ml"\n'
    )
    periods = load_config(cfg).members["bob"].periods()
    utc = UTC
    assert [(p.valid_from, p.valid_to, p.team, p.department, p.cost_center) for p in periods] == [
        (None, datetime(2026, 9, 30, 22, tzinfo=utc), "growth", "sales", None),
        (datetime(2026, 9, 30, 22, tzinfo=utc), datetime(2026, 10, 31, 23, tzinfo=utc), "platform", "sales", None),
        (datetime(2026, 10, 31, 23, tzinfo=utc), datetime(2026, 12, 1, 14, 30, tzinfo=utc), "platform", "engineering",
         None),
        (datetime(2026, 12, 1, 14, 30, tzinfo=utc), datetime(2026, 12, 31, 23, tzinfo=utc), "platform", "engineering",
         "cc-9"),
        (datetime(2026, 12, 31, 23, tzinfo=utc), None, "ml", "engineering", "cc-9"),
    ]  # fmt: skip
    assert load_config(cfg).members["bob"].names("team") == {"growth", "platform", "ml"}


def test_member_change_dates_are_utc_without_a_display_zone(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[members.bob]\nteam = "a"\n[[members.bob.changes]]\nfrom = 2026-10-01\nteam = "b"\n')
    first, second = load_config(cfg).members["bob"].periods()
    assert first.valid_to == second.valid_from == datetime(2026, 10, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[members.bob.changes]]\nteam = "x"\n',
            "[[members.bob.changes]] #1 from: must be a date (2026-10-01) or a date and time (2026-10-01T09:00:00+02:00), got nothing",
        ),
        (
            '[[members.bob.changes]]\nfrom = "soon"\nteam = "x"\n',
            "#1 from: must be a date (2026-10-01) or a date and time (2026-10-01T09:00:00+02:00), got 'soon'",
        ),
        ("[[members.bob.changes]]\nfrom = 2026-10-01\n", "#1 changes nothing: give team, department or cost_center"),
        ('[[members.bob.changes]]\nfrom = 2026-10-01\nteem = "x"\n', "#1 unknown key teem"),
        ('[members.bob]\nchanges = "x"\n', "[members.bob] changes: must be an array of tables"),
        (  # no UTC instant: an OverflowError (exit 1) before
            '[display]\ntimezone = "Asia/Tokyo"\n[[members.bob.changes]]\nfrom = 0001-01-01\nteam = "x"\n',
            "#1 from: 0001-01-01 is out of range (years 1 to 9999 in UTC)",
        ),
        (
            '[[members.bob.changes]]\nfrom = 9999-12-31T23:00:00-05:00\nteam = "x"\n',
            "#1 from: 9999-12-31T23:00:00-05:00 is out of range",
        ),
        (
            '[[members.bob.changes]]\nfrom = 2026-10-01\nteam = "x"\n'
            '[[members.bob.changes]]\nfrom = 2026-10-01T00:00:00Z\nteam = "y"\n',
            "[members.bob] two changes from 2026-10-01T00:00:00+00:00",
        ),
    ],
)
def test_bad_member_changes_name_the_change(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert message in err.value.message


@pytest.mark.parametrize(("given", "day"), [("sun", "sunday"), ("Tues", "tuesday"), ("SATURDAY", "saturday")])
def test_week_start_takes_what_the_option_takes(tmp_path: Path, given: str, day: str) -> None:
    """`--week-start sun` worked, `week_start = "sun"` in the config was refused (QA finding)."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[display]\nweek_start = "{given}"\n')
    assert load_config(cfg).week_start == day


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[plan]\nmonthly_token_quota = -5\n", "[plan] monthly_token_quota: must be a positive integer, got -5"),
        ('[plan]\nmonthly_token_quota = "lots"\n', "[plan] monthly_token_quota: must be a positive integer"),
        ('[display]\ntimezone = "Mars/Base"\n', "[display] timezone: unknown time zone 'Mars/Base'"),
        ('[display]\ntimezone = "localtime"\n', "[display] timezone: 'localtime' is a file of the zone folder"),
        # a region folder of the zone database (QA: IsADirectoryError, "unexpected error" exit 1)
        ('[display]\ntimezone = "Asia"\n', "[display] timezone: unknown time zone 'Asia'"),
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


def test_non_utf8_config_is_exit_2_naming_the_byte(tmp_path: Path) -> None:
    """Bytes 00 01 are ASCII (valid UTF-8); ff at index 2 can start no UTF-8 sequence."""
    cfg = tmp_path / "binary.toml"
    cfg.write_bytes(b"\x00\x01\xff\xfe[plan]\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert err.value.message == f"config {cfg}: not valid UTF-8 text (byte 0xff at position 2)"
    result = run("report", "month", "--config", str(cfg), "--db", str(tmp_path / "x.duckdb"), expect=2)
    assert "not valid UTF-8 text" in result.stderr and "unexpected" not in result.stderr
    result = run("budget", "set", "global", "100", "--config", str(cfg), expect=2)
    assert "not valid UTF-8 text" in result.stderr
    assert cfg.read_bytes() == b"\x00\x01\xff\xfe[plan]\n"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("[plan]\nmonthly_token_quota = 1.5\n", "got 1.5"),
        ("[[budgets]]\nscope = 'global'\ntokens = 2.5\n", "got 2.5"),
        ("[[budgets]]\nscope = 'global'\namount = 5\nthresholds = [75.5, 90, true]\n", "got [75.5, 90, true]"),
    ],
)
def test_bad_values_are_shown_as_written(tmp_path: Path, text: str, shown: str) -> None:
    """The value as TOML writes it, never Python's Decimal('1.5')."""
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    result = run("budget", "list", "--config", str(cfg), expect=2)
    assert result.stderr.rstrip().endswith(shown) and "Decimal" not in result.stderr


def test_unknown_keys_are_warned_about_once(tmp_path: Path) -> None:
    cfg = tmp_path / "typo.toml"
    cfg.write_text(
        "foo = 1\nmonthly_token_quota = 5\n[plan]\nmonthly_token_qouta = 1000\n"
        '[display]\nweekstart = "sunday"\ncolour = "red"\n[nonsense]\nx = 1\n[mystuff]\ny = 2\n'
        '[[budgets]]\nscope = "global"\namount = 5\n'
    )
    result = run("budget", "set", "team:x", "10", "--config", str(cfg))  # loads the config twice
    warnings = [line for line in result.stderr.splitlines() if line.startswith("usagectl: warning:")]
    prefix = f"usagectl: warning: config {cfg}:"
    assert warnings == [
        f"{prefix} unknown top-level key foo, ignored",
        f"{prefix} unknown top-level key monthly_token_quota, ignored (did you mean [plan] monthly_token_quota?)",
        f"{prefix} [plan] unknown key monthly_token_qouta, ignored (did you mean monthly_token_quota?)",
        f"{prefix} [display] unknown key weekstart, ignored (did you mean week_start?)",
        f"{prefix} [display] unknown key colour, ignored (known: timezone, week_start, currency)",
        f"{prefix} unknown section [nonsense], ignored",
        f"{prefix} unknown section [mystuff], ignored",
    ]
    assert load_config(cfg).monthly_token_quota is None  # warned, not used


@pytest.mark.parametrize(
    ("tz", "zone"),
    [
        (":Asia/Kolkata", "Asia/Kolkata"),
        (":/usr/share/zoneinfo/Asia/Kolkata", "Asia/Kolkata"),
        (":UTC", "UTC"),
        (":/usr/share/zoneinfo/posix/Asia/Kolkata", "Asia/Kolkata"),  # the posix/ and right/ copies
        (":/usr/share/zoneinfo/right/Europe/Berlin", "Europe/Berlin"),
        ("posix/Europe/Berlin", "Europe/Berlin"),  # a relative path: read as the same zone (QA)
        (":right/Asia/Kolkata", "Asia/Kolkata"),
    ],
)
def test_tz_with_a_leading_colon_names_a_zone(monkeypatch: pytest.MonkeyPatch, tz: str, zone: str) -> None:
    """POSIX: TZ=":Asia/Kolkata" names the zoneinfo file Asia/Kolkata (as `date` reads it)."""
    monkeypatch.setenv("TZ", tz)
    assert local_timezone_name() == zone
    assert effective_timezone(None, load_config(None)) == zone


@pytest.mark.parametrize("tz", ["IST-5:30", "Bogus/Zone", "Europe", ":/usr/share/zoneinfo/Europe"])
def test_tz_that_is_no_zone_falls_back_to_utc_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tz: str
) -> None:
    monkeypatch.setenv("TZ", tz)
    reset_warnings()
    assert effective_timezone(None, load_config(None)) == "UTC"
    err = capsys.readouterr().err
    assert err == f"usagectl: warning: TZ={tz} is not an IANA time zone (such as Asia/Kolkata): using UTC\n"
    assert effective_timezone("Europe/Berlin", load_config(None)) == "Europe/Berlin"  # --tz: TZ not read


@pytest.mark.parametrize("tz", ["localtime", "posixrules"])
def test_zone_folder_files_that_are_no_zone_are_refused(tmp_path: Path, tz: str) -> None:
    """`--tz localtime` loaded /usr/share/zoneinfo/localtime, ran the reports, then crashed the
    partitioned export in DuckDB (QA): refused up front, exit 2."""
    result = run("report", "daily", "--tz", tz, "--db", str(tmp_path / "x.duckdb"), expect=2)
    assert f"--tz: {tz!r} is a file of the zone folder, not a time zone" in result.stderr


@pytest.mark.parametrize("tz", ["America", "Etc", "__pycache__", "x" * 300])
def test_a_zone_folder_or_a_too_long_name_is_an_unknown_zone(tmp_path: Path, tz: str) -> None:
    """QA: ``--tz America`` (a region folder of the zone database: IsADirectoryError) and a name
    of 300 characters (longer than a file name may be: "File name too long") were "unexpected
    error", exit 1; they are the usage error ``--tz Amerika`` gives, exit 2."""
    result = run("report", "month", "--tz", tz, "--db", str(tmp_path / "x.duckdb"), expect=2)
    assert f"--tz: unknown time zone {tz!r} (use an IANA name such as Europe/Berlin)" in result.stderr
    assert "unexpected" not in result.stderr


def _fifo_with(tmp_path: Path, text: str) -> tuple[Path, threading.Thread]:
    """A FIFO, as a shell's ``--config <(printf …)`` gives one, and the thread that writes
    ``text`` into it once (open blocks until the config is read)."""
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "w", encoding="utf-8") as fh:
            fh.write(text)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return fifo, writer


def test_dev_null_is_an_empty_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--config /dev/null`` (the usual "no config") was "config file /dev/null does not exist"."""
    config = load_config(Path("/dev/null"))
    assert (config.path, config.data, config.monthly_token_quota) == (Path("/dev/null"), {}, None)
    run("pricing", "list", "--config", "/dev/null", "--json")
    monkeypatch.setenv("USAGECTL_CONFIG", "/dev/null")
    run("pricing", "list", "--json")


def test_a_fifo_config_is_read_and_kept_for_a_second_read(tmp_path: Path) -> None:
    """``--config <(…)`` was "does not exist". A stream gives its text once: a second read in the
    same command (budget set, the dashboard's refresh) gets the same text, not an empty config."""
    from usagectl.config import read_toml

    fifo, writer = _fifo_with(tmp_path, '[[budgets]]\nscope = "global"\namount = 5\nperiod = "month"\n')
    out = run("budget", "list", "--config", str(fifo), "--json").stdout
    writer.join(5)
    assert [(r["scope"], r["limit"]) for r in json.loads(out)["rows"]] == [("global", 5)]
    again: list[dict[str, object]] = []
    reader = threading.Thread(target=lambda: again.append(read_toml(fifo)), daemon=True)
    reader.start()
    reader.join(5)  # a second open of the FIFO without a writer would block
    if reader.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # let it go before failing
    assert again == [{"budgets": [{"scope": "global", "amount": 5, "period": "month"}]}]


def test_a_config_that_is_no_regular_file_is_never_written(tmp_path: Path) -> None:
    """budget set replaced the file by its atomic rename: a FIFO (``<(…)``) became a regular file,
    and run as root, /dev/null did. This test never names /dev/null (run against code without
    the check it would replace the machine's), nor gives the command a FIFO (that code opened it
    again and again, and would hang): a socket file is no regular file either."""
    from usagectl.config import default_config_write_path

    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "c.sock"))
        err = run("budget", "set", "global", "100", "--config", str(tmp_path / "c.sock"), expect=2).stderr
    assert err == f"usagectl: error: config file {tmp_path / 'c.sock'} is not a regular file: cannot write to it\n"
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"config\.fifo is not a regular file: cannot write to it"):
        default_config_write_path(fifo)  # before anything opens it


def test_similar_member_prefers_a_case_difference_to_a_close_spelling() -> None:
    """The [members] entry a logged member name was probably meant by (doctor's no-team hint):
    ALICE differs from alice only in case, so it wins; of two case variants the first in sort
    order; a name is never its own suggestion. A close spelling needs 5 characters or more and a
    difflib ratio of 0.8: jonathon for jonathan (2·7/16 = 0.875), carol for karol (2·4/10 = 0.8),
    not alicia for alice (2·4/11 ≈ 0.73). Short names only by case (QA: rob was offered for bob,
    2·2/6 ≈ 0.67): Bob for bob, nothing for rob."""
    assert similar_member("alice", ["alicia", "bob", "ALICE"]) == "ALICE"
    assert similar_member("alice", ["alicia", "bob"]) is None
    assert similar_member("jonathan", ["jonathon", "bob"]) == "jonathon"
    assert similar_member("carol", ["karol"]) == "karol"
    assert similar_member("alice", ["alicE", "Alice"]) == "Alice"
    assert similar_member("alice", ["alice"]) is None
    assert similar_member("bob", ["rob"]) is None
    assert similar_member("bob", ["rob", "Bob"]) == "Bob"


def test_tz_naming_a_link_to_a_zoneinfo_file_is_the_zone_it_points_to(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """QA: TZ=":/etc/localtime" (POSIX "the zone in that file", AWS's advice for Lambda and EC2)
    warned "not an IANA time zone" and used UTC. A TZ path with no zoneinfo/ in it is followed:
    a link to .../zoneinfo/Europe/Berlin is Europe/Berlin; /etc/localtime itself is the
    machine's zone, whatever TZ unset finds."""
    folder = tmp_path / "share" / "zoneinfo" / "Europe"
    folder.mkdir(parents=True)
    (folder / "Berlin").write_bytes(b"TZif")
    link = tmp_path / "localtime"
    link.symlink_to(folder / "Berlin")
    monkeypatch.setenv("TZ", f":{link}")
    reset_warnings()
    assert local_timezone_name() == "Europe/Berlin"
    assert effective_timezone(None, load_config(None)) == "Europe/Berlin"
    monkeypatch.delenv("TZ")
    machine = local_timezone_name()
    for tz in (":/etc/localtime", "/etc/localtime"):
        monkeypatch.setenv("TZ", tz)
        assert local_timezone_name() == machine, tz
        assert effective_timezone(None, load_config(None)) == machine, tz
    assert capsys.readouterr().err == ""  # no "not an IANA time zone" warning


def _tzdata_file(zone: str) -> Path:
    import tzdata  # type: ignore[import-untyped]

    return Path(tzdata.__file__).parent / "zoneinfo" / zone


def test_a_copy_of_a_zone_file_is_that_zone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """QA: a TZ naming a copy of a zone's file (not a link), and an /etc/localtime that is a copy
    (some container images), were "not an IANA time zone" and UTC. The zone is the one whose file
    has the same bytes: a copy of Europe/Berlin is Europe/Berlin; of US/Eastern (the same file as
    America/New_York, which zone1970.tab lists) America/New_York; a file that is no zone stays
    refused (the warning, UTC)."""
    import shutil

    berlin, eastern, other = tmp_path / "berlin", tmp_path / "eastern", tmp_path / "notes"
    shutil.copyfile(_tzdata_file("Europe/Berlin"), berlin)
    shutil.copyfile(_tzdata_file("US/Eastern"), eastern)
    other.write_bytes(b"not a zone file\n")
    reset_warnings()
    for tz, zone in ((f":{berlin}", "Europe/Berlin"), (str(eastern), "America/New_York")):
        monkeypatch.setenv("TZ", tz)
        assert effective_timezone(None, load_config(None)) == zone, tz
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("TZ", f":{other}")
    assert effective_timezone(None, load_config(None)) == "UTC"
    assert "is not an IANA time zone" in capsys.readouterr().err
    # /etc/localtime a copy, TZ unset: the machine's zone is the copy's
    monkeypatch.delenv("TZ")
    real = os.path.realpath
    monkeypatch.setattr(
        os.path, "realpath", lambda p, *a, **k: str(berlin) if p == "/etc/localtime" else real(p, *a, **k)
    )
    assert local_timezone_name() == "Europe/Berlin"
