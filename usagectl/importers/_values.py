"""Value checkers shared by the log importers: each turns one field of a source record into
a canonical value or raises ``Bad`` with a reason that names the source's own field."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from usagectl.models import (
    MAX_COUNT,
    MONEY_LIMIT,
    MONEY_LIMIT_TEXT,
    NO_GEO,
    STANDARD_TIERS,
    json_failure,
    json_kind,
    without_lone_surrogate,
    without_lone_surrogates_in,
)

# the minutes and seconds of a UTC offset after a time (``10:00:00+05:30``, ``+0530``, ``+05:30:15``):
_OFFSET_PARTS = re.compile(
    r"[Tt ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d*)?)?)?\s*[+-]\d{2}(?::?(\d{2}))?(?::?(\d{2})(?:[.,]\d*)?)?\s*$"
)  # a time of an hour alone (``T12+05:99``) too, and offset seconds with a fraction


def from_iso(text: str) -> datetime:
    """``datetime.fromisoformat(text)``, but an offset's minutes or seconds over 59 are no
    timestamp (Python takes ``+05:99`` as +06:39; ISO 8601 and the store's SQL check do not).
    Raises ValueError."""
    m = _OFFSET_PARTS.search(text)
    if m and any(part is not None and int(part) > 59 for part in m.groups()):
        raise ValueError(f"UTC offset out of range: {text!r}")
    return datetime.fromisoformat(text)


_DIGITS = re.compile(r"\+?0*([0-9]{1,30})(?:\.0*)?")
_NEGATIVE = re.compile(r"-\s*[0-9]+(?:\.[0-9]*)?")


class _Bad(Exception):
    """A record that cannot become an event; the message is the reject reason."""


# ---------------------------------------------------------------- value parsing


def _clean(text: str) -> str:
    """Text safe to store: undecodable bytes (surrogate escapes) become U+FFFD, and so does a lone
    surrogate that is no such escape (a JSON ``"\\ud800"`` without its pair)."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return without_lone_surrogate(text)


def _show(value: Any) -> str:
    """A bad value as a reason quotes it: numbers and text as they are, the other JSON values
    by their JSON names (``null``, ``true``), bytes by their size (not Python's ``None`` or
    ``b'\\xff'``)."""
    if value is None or isinstance(value, (bool, dict, list, tuple)):
        return json_kind(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"{len(bytes(value))} bytes of binary"
    return _clean(str(value))[:40]


def _text(value: Any, name: str) -> str | None:
    if type(value) is str:  # the common case first: a LiteLLM row reads ~25 fields through here
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool | dict | list):
        raise _Bad(f"{name}: expected text, found {json_kind(value)}")
    return str(value)


def _int(value: Any, name: str) -> int | None:
    """A token count: a non-negative integer up to ``MAX_COUNT`` (``12.0`` is 12); None when absent."""
    kind = type(value)  # the common cases first: a JSON integer, or plain digits in CSV text
    if kind is int:
        if 0 <= value <= MAX_COUNT:
            return value  # type: ignore[no-any-return]
    elif kind is str and 0 < len(value) < 16 and value.isascii() and value.isdigit():
        return int(value)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise _Bad(f"{name}: not a number ({_show(value)})")
    if isinstance(value, str):
        text = value.strip()
        m = _DIGITS.fullmatch(text)
        if m is None:
            if _NEGATIVE.fullmatch(text):
                raise _Bad(f"{name}: negative ({_show(text)})")
            try:
                number = Decimal(text)
            except InvalidOperation:
                raise _Bad(f"{name}: not a number ({_show(text)})") from None
            return _int(number, name)
        if len(m.group(1)) > 19:
            raise _Bad(f"{name}: too large (over 10^15) ({_show(text)})")
        n = int(m.group(1))
    elif isinstance(value, int):
        n = value
    else:
        number = Decimal(str(value)) if isinstance(value, float) else value
        if not number.is_finite():
            raise _Bad(f"{name}: not a number ({_show(value)})")
        if number.adjusted() > 19:
            raise _Bad(f"{name}: too large (over 10^15) ({_show(value)})")
        if number != number.to_integral_value():
            raise _Bad(f"{name}: not an integer ({_show(value)})")
        n = int(number)
    if n < 0:
        raise _Bad(f"{name}: negative ({n})")
    if n > MAX_COUNT:  # the store's bound, and its words: a reader's reject says where it is
        raise _Bad(f"{name}: too large (over 10^15) ({_show(n)})")
    return n


def _money(value: Any, name: str) -> Decimal | None:
    """Exact USD from the exported text (``0.05175``, ``5.175e-05``); never through float."""
    if value is None or value == "":
        return None
    # text (a CSV cell, nearly always) needs no test of its type
    if type(value) is not str and (isinstance(value, bool) or not isinstance(value, int | float | Decimal | str)):
        raise _Bad(f"{name}: not a number ({_show(value)})")
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(str(value))
    except InvalidOperation:
        raise _Bad(f"{name}: not a number ({_show(value)})") from None
    if not amount.is_finite():
        raise _Bad(f"{name}: not a number ({_show(value)})")
    if amount < 0:
        raise _Bad(f"{name}: negative ({_show(value)})")
    if amount.copy_abs() > MONEY_LIMIT:
        raise _Bad(f"{name}: out of range ({_show(value)}; {MONEY_LIMIT_TEXT})")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -18:  # far below the store's 12 decimals
        amount = amount.quantize(Decimal("1e-18"), context=Context(prec=60))
    return amount


def _ts(value: Any, name: str) -> datetime | None:
    """ISO 8601 / psql ``timestamp(3)``; a timestamp without a zone is UTC."""
    text = _text(value, name)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            # no UTC offset, so nothing for ``from_iso``'s range check to refuse (its pattern
            # needs an offset at the end, which ``fromisoformat`` would have read); ``combine``
            # costs a third of ``replace(tzinfo=UTC)`` (a LiteLLM row has two or three of these)
            return datetime.combine(parsed, parsed.time(), UTC)
        return from_iso(text).astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Bad(f"{name}: not a timestamp ({_show(text)})") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def exact_decimal(text: str) -> Decimal:
    """A JSON number with a fraction or an exponent, exactly (the decoders' ``parse_float``). A
    number no stored column could hold (``1e1000000``; ``1e-9999999999999999999``, which Decimal
    itself refuses) raises ValueError, which the readers report as a bad record, never a crash:
    arithmetic on such a Decimal overflows."""
    try:
        d = Decimal(text)
    except ArithmeticError:
        d = None
    if d is None or (d and not -1000 <= d.adjusted() <= 1000):
        raise ValueError(f"number out of range ({text[:40]})")
    return d


_DECODER = json.JSONDecoder(parse_float=exact_decimal, parse_constant=_no_constant)


def _loads(text: str) -> Any:
    # one decoder for every call (``json.loads`` with arguments builds a new one per call: a
    # fifth of a LiteLLM row's two metadata parses); a text starting with a byte order mark
    # goes through ``json.loads`` for its own error
    if text[:1] == "\ufeff":
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    return without_lone_surrogates(_DECODER.decode(text), text)


def without_lone_surrogates(obj: Any, text: str) -> Any:
    """``obj`` decoded from the JSON ``text``, with every lone surrogate (a ``"\\ud800"``
    escape without its pair: valid JSON, but no UTF-8 text can hold it, so hashing or storing
    it fails) replaced by U+FFFD. Only a text with such an escape is walked."""
    if "\\ud" not in text and "\\uD" not in text:
        return obj
    return without_lone_surrogates_in(obj)


def _json(value: Any, name: str) -> Any:
    if type(value) is not str:  # text (a CSV cell) skips the tests of the other kinds
        if value is None or isinstance(value, dict | list):
            return value
        if not isinstance(value, str):
            raise _Bad(f"{name}: expected JSON, found {_show(value)}")
    if not value.strip():
        return None
    try:
        return _loads(value)
    except json.JSONDecodeError as exc:
        raise _Bad(f"{name}: not valid JSON: {json_failure(exc)}") from None
    except (ValueError, RecursionError) as exc:
        raise _Bad(f"{name}: not valid JSON ({_show(exc)})") from None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def anthropic_tier(tier: Any, speed: Any, geo: Any = None) -> str | None:
    """The service tier of an Anthropic row with ``speed`` (fast mode): the logged ``tier`` when
    the speed is absent or standard; the speed itself when the tier is plain (``fast`` is priced
    per model; an unknown speed is an unknown tier, so unpriced with its name, never standard);
    both, as ``tier+speed``, when they contradict each other (fast mode is not available with
    Batch or Priority Tier): an unknown tier, unpriced and visible. An inference ``geo`` other
    than the default (``models.NO_GEO``) follows as ``@geo`` (``standard@us``: US-only inference,
    priced by the table's ``inference_geo`` multiplier). SQL twin:
    ``usagectl.store.stagers.claude_code`` (``service_tier``)."""
    t = (tier.strip().lower() or None) if isinstance(tier, str) else None  # "": standard, as absent
    s = speed.strip().lower() if isinstance(speed, str) else ""
    if s not in ("", "standard"):
        t = s if (t or "") in STANDARD_TIERS else f"{t}+{s}"
    # a geo that is not text keeps its JSON text, as the SQL twin reads it (json_extract_string)
    # (a number read exactly, as a Decimal, is its text: 1.5 -> "1.5"; QA: json.dumps raised)
    g = (
        geo if isinstance(geo, str) or geo is None
        else str(geo) if isinstance(geo, Decimal)
        else json.dumps(geo, separators=(",", ":"), default=str)
    )  # fmt: skip
    g = (g or "").strip().lower()
    return t if g in NO_GEO else f"{t or 'standard'}@{g}"
