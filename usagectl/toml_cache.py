"""TOML documents parsed once per content: the packaged price tables are parsed by every priced
command (~20 ms of ``tomllib``, a pure-Python parser, for 48 KB: a tenth of a report's time), so
the parsed document is kept in the user cache dir under the hash of the file's bytes, as JSON that
the C decoder reads back in ~1 ms. The key is the content itself: an edited file is a new key, so
nothing can go stale; a cache that cannot be read or written only costs speed.

The JSON keeps every TOML value exactly: strings, integers and booleans as themselves, floats
(parsed as ``Decimal``) as JSON numbers with the same digits (read back with ``parse_float=Decimal``),
and what JSON has no number or literal for in tagged objects: non-finite decimals, dates, times
and datetimes (with their offset, or none)."""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

FORMAT = 1  # bump when the encoding below changes: old entries are then never read
_TAG = "\x00toml"  # the key of a tagged value (no TOML key of a price table starts with NUL)


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/usagectl``, else ``~/.cache/usagectl``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "usagectl"


def loads(data: bytes, text: str) -> dict[str, Any]:
    """``tomllib.loads(text, parse_float=Decimal)`` of ``text`` (the decoded ``data``), from the
    cache when these bytes were parsed before. Raises what ``tomllib`` raises for a bad document
    (only a document that parsed is cached)."""
    path = _entry(data)
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal, object_hook=_untag)
        return doc
    except (OSError, ValueError, TypeError, KeyError):  # none yet, or unreadable: parse
        pass
    doc = tomllib.loads(text, parse_float=Decimal)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(_dumps(doc), encoding="utf-8")
        os.replace(tmp, path)
    except (OSError, ValueError):
        pass
    return doc


def _entry(data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()[:32]
    return cache_root() / "toml" / f"{digest}-v{FORMAT}.json"


def _dumps(value: Any) -> str:
    """JSON of a parsed TOML value, exact (see the module's docstring)."""
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k) + ":" + _dumps(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dumps(v) for v in value) + "]"
    if isinstance(value, Decimal):
        text = str(value)
        return text if value.is_finite() else _tagged("decimal", text)
    if isinstance(value, datetime):  # before date: a datetime is a date too
        return _tagged("datetime", value.isoformat())
    if isinstance(value, date):
        return _tagged("date", value.isoformat())
    if isinstance(value, time):
        return _tagged("time", value.isoformat())
    if isinstance(value, (str, bool, int)):
        return json.dumps(value)
    raise ValueError(f"not a TOML value: {type(value).__name__}")


def _tagged(kind: str, text: str) -> str:
    return json.dumps({_TAG: kind, "v": text})


_READ: dict[str, Callable[[str], Any]] = {
    "decimal": Decimal,
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
}


def _untag(obj: dict[str, Any]) -> Any:
    kind = obj.get(_TAG)
    return obj if kind is None else _READ[kind](obj["v"])
