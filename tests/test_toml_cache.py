"""The parsed-TOML cache gives back exactly what tomllib parses, keyed by the file's bytes."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from usagectl import toml_cache

DOC = """
provider = "x"
count = 3
flag = true
rates = [2.5, 0.0000025, 1e-6, 1.0e3, -0.0, 3.0, inf, -inf, nan]
day = 2026-11-01
at = 07:32:00.5
local = 2026-11-01T07:32:00
utc = 2026-11-01T07:32:00Z
east = 2026-11-01T07:32:00.123456+05:30
"key with \\"quotes\\"" = "text with \\u00e9 and \\"quotes\\""

[[model]]
id = "m1"
aliases = ["a", "b"]
[model.prices]
input = 1.25
[[model]]
id = "m2"
nested = [[1, 2], [3.5]]
"""


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same types; decimals by their text (NaN, -0.0 and 1E+3 kept as written)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Decimal):
        return str(a) == str(b)
    return bool(a == b) and getattr(a, "tzinfo", None) == getattr(b, "tzinfo", None)


def test_a_cached_document_is_exactly_what_tomllib_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    data = DOC.encode()
    parsed = tomllib.loads(DOC, parse_float=Decimal)
    first = toml_cache.loads(data, DOC)
    assert _same(first, parsed)
    (entry,) = (toml_cache.cache_root() / "toml").iterdir()
    assert entry.name.endswith(f"-v{toml_cache.FORMAT}.json")

    def no_parse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("parsed again")

    monkeypatch.setattr(toml_cache.tomllib, "loads", no_parse)
    again = toml_cache.loads(data, DOC)  # from the cache: tomllib is not called
    assert _same(again, parsed)
    assert str(again["rates"][3]) == "1.0E+3" and str(again["rates"][8]) == "NaN"


def test_new_bytes_are_a_new_entry_and_a_broken_entry_is_parsed_again() -> None:
    toml_cache.loads(b"a = 1.5\n", "a = 1.5\n")
    edited = toml_cache.loads(b"a = 2.5\n", "a = 2.5\n")  # an edited file never gets the old values
    assert edited == {"a": Decimal("2.5")}
    entries = sorted((toml_cache.cache_root() / "toml").iterdir())
    assert len(entries) == 2
    for entry in entries:
        entry.write_text("{not json", encoding="utf-8")
    assert toml_cache.loads(b"a = 1.5\n", "a = 1.5\n") == {"a": Decimal("1.5")}


def test_a_bad_document_raises_as_tomllib_does_and_is_not_cached() -> None:
    with pytest.raises(tomllib.TOMLDecodeError):
        toml_cache.loads(b"a = = 1\n", "a = = 1\n")
    assert not (toml_cache.cache_root() / "toml").exists()


def test_an_unwritable_cache_only_costs_speed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # a file where the folder should be
    assert toml_cache.loads(b"a = 1.5\n", "a = 1.5\n") == {"a": Decimal("1.5")}
