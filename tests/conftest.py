from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: timing belongs in benchmarks/, and on a slow, busy machine (CI, two
# shared cores) hypothesis' default 200 ms deadline fails examples that are merely slow.
settings.register_profile("usagectl", deadline=None)
settings.load_profile("usagectl")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point config, data dirs and the database at tmp_path; no user config leaks in."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    for var in ("USAGECTL_CONFIG", "USAGECTL_DB", "USAGECTL_PRICING_DIR", "USAGECTL_DEBUG", "TZ"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("NO_COLOR", "1")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "usage.duckdb"
