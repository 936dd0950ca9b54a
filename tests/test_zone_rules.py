"""Which zone rules usagectl reads, and that every local day comes from those rules.

Python's ``zoneinfo`` takes the system's files before the tzdata package, whatever their ages;
DuckDB's ``timezone()`` has a third copy. QA found the three disagreeing by an hour (Casablanca
from 2026-09-21, Vancouver from 2026-11-01), so a partitioned export lost a month of events.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import usagectl
from tests.helpers import run, run_json, write_jsonl


@pytest.fixture
def tzpath() -> Iterator[None]:
    saved = zoneinfo.TZPATH
    yield
    zoneinfo.reset_tzpath(to=saved)
    zoneinfo.ZoneInfo.clear_cache()


def _system(root: Path, version: str) -> Path:
    root.mkdir()
    (root / "tzdata.zi").write_text(f"# version {version}\n# more\n", encoding="ascii")
    return root


def test_the_newer_package_wins_over_an_older_system_copy(tmp_path: Path, tzpath: None) -> None:
    import tzdata

    older = _system(tmp_path / "old", "1999a")
    zoneinfo.reset_tzpath(to=[str(older)])
    usagectl._newest_zone_rules()
    assert zoneinfo.TZPATH == ()  # the tzdata package only
    newer = _system(tmp_path / "new", "9999z")
    zoneinfo.reset_tzpath(to=[str(newer)])
    usagectl._newest_zone_rules()
    assert zoneinfo.TZPATH == (str(newer),)
    assert tzdata.IANA_VERSION < "9999z"


def test_a_system_copy_that_does_not_say_its_version_is_kept(tmp_path: Path, tzpath: None) -> None:
    (tmp_path / "plain").mkdir()
    zoneinfo.reset_tzpath(to=[str(tmp_path / "plain")])
    usagectl._newest_zone_rules()
    assert zoneinfo.TZPATH == (str(tmp_path / "plain"),)
    (tmp_path / "mac").mkdir()
    (tmp_path / "mac" / "+VERSION").write_text("1999a\n", encoding="ascii")
    assert usagectl._version_of(str(tmp_path / "mac")) == "1999a"


@pytest.fixture
def private_zone(tmp_path: Path, tzpath: None) -> str:
    """A zone only Python knows: the rules of Asia/Kathmandu (+05:45 since 1986) under a name
    DuckDB's own zone database does not have, so any local day DuckDB computed would fail."""
    root = tmp_path / "zones"
    (root / "Test").mkdir(parents=True)
    data = resources.files("tzdata").joinpath("zoneinfo", "Asia", "Kathmandu").read_bytes()
    (root / "Test" / "Himalaya").write_bytes(data)
    zoneinfo.reset_tzpath(to=[str(root)])
    zoneinfo.ZoneInfo.clear_cache()
    return "Test/Himalaya"


def test_local_days_partitions_and_per_event_rows_follow_pythons_rules(
    tmp_path: Path, db_path: Path, private_zone: str
) -> None:
    """+05:45: 2026-09-30T18:00Z is 23:45 on Sep 30; 18:30Z is 00:15 on Oct 1; 2026-10-31T18:14Z
    is 23:59 on Oct 31; 18:15Z is 00:00 on Nov 1. gpt-4o-mini $0.60 per 1M output: 1,000,000
    output tokens = $0.60 each."""
    base = {"model": "gpt-4o-mini", "input_tokens": 0, "output_tokens": 1_000_000}
    events = [
        {**base, "event_id": "a", "ts": "2026-09-30T18:00:00Z"},
        {**base, "event_id": "b", "ts": "2026-09-30T18:30:00Z"},
        {**base, "event_id": "c", "ts": "2026-10-31T18:14:00Z"},
        {**base, "event_id": "d", "ts": "2026-10-31T18:15:00Z"},
    ]
    run("import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", str(db_path))
    span = ("--since", "2026-09-01", "--until", "2026-11-30", "--tz", private_zone, "--db", str(db_path))
    daily = run_json("report", "daily", *span)
    assert [(r["date"], r["requests"]) for r in daily["rows"] if r["requests"]] == [
        ("2026-09-30", 1), ("2026-10-01", 1), ("2026-10-31", 1), ("2026-11-01", 1)]  # fmt: skip
    out = tmp_path / "parts"
    run("export", "--parquet", "--partition-by", "month", "--out", str(out), *span)
    months = {p.parent.name: sorted(pq.read_table(p).column("event_id").to_pylist()) for p in out.rglob("*.parquet")}
    assert months == {"month=2026-09": ["a"], "month=2026-10": ["b", "c"], "month=2026-11": ["d"]}
    # the optimizer's local days and the reconcile web-search days go through the same rules
    hourly = run_json("report", "hourly", *span)
    assert hourly["totals"]["requests"] == 4
