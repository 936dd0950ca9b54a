"""Price tables (``pricing/*.toml``) and the pricing engine.

Units and rules (see ``docs/PRICING.md`` and ``pricing/README.md``):

* Rates are USD per 1,000,000 tokens, held as ``Decimal``; the tables are parsed with
  ``parse_float=Decimal`` so a float never exists. Web search is priced per call.
* The cost of a request is ``sum(bucket_tokens * rate / 1_000_000) + web_search_requests *
  web_search_per_call``, computed exactly (a 60-digit context, no quantize, no rounding).
  Rounding is the renderer's business.
* An unknown model, a timestamp outside every validity period, a service tier the table
  does not price, or web searches on a model whose table has no ``web_search_per_1k`` give
  ``total=None`` with a reason. Never $0.
* A long-context band (``[[model.price.over]]``) prices the WHOLE request (output too) once the
  request's total input (input + cache read + both cache writes) is strictly greater than the
  threshold. It can only be decided for a single request: rows aggregating many requests
  (``requests != 1``: many requests, or a count the source does not give) are priced on the base
  band and flagged ``long_context_undecided``, unless the row says which band its requests were
  in (``band_input``: Anthropic's context_window "200k-1M").

This module uses the standard library only (no duckdb, rich, typer, pandas).
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from decimal import Context, Decimal
from itertools import pairwise, product
from pathlib import Path
from typing import Any

from usagectl import toml_cache
from usagectl.errors import PricingError
from usagectl.models import NO_GEO, SERVICE_TIERS, STANDARD_TIERS

__all__ = [
    "AppliedRate",
    "CostBreakdown",
    "CostLine",
    "LongContextBand",
    "ModelInfo",
    "PriceBook",
    "PricePeriod",
    "RateRow",
    "Rates",
    "load_pricebook",
    "pricing_dirs",
    "table_files",
]

PRICING_DIR_ENV = "USAGECTL_PRICING_DIR"
MILLION = Decimal(1_000_000)
_THOUSAND = Decimal(1000)
_ZERO = Decimal(0)
# Wide enough that products of token counts and rates are never rounded.
_CTX = Context(prec=60)

_TOKEN_RATE_KEYS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")
_RATE_KEYS = _TOKEN_RATE_KEYS + ("web_search_per_1k",)
_PRICED_TIERS = tuple(t for t in SERVICE_TIERS if t != "standard")  # batch, flex, priority, fast
_PRICE_KEYS = frozenset(("from", "until", "source", "checked", "over", "inference_geo", *_RATE_KEYS, *_PRICED_TIERS))
_OVER_KEYS = frozenset(("threshold", *_RATE_KEYS, *_PRICED_TIERS))
_MODEL_KEYS = frozenset(("id", "name", "aliases", "price"))
_FILE_KEYS = frozenset(("provider", "tier_aliases", "model"))

# Token bucket (canonical event column) -> Rates attribute.
_BUCKET_RATE: tuple[tuple[str, str], ...] = (
    ("input_tokens", "input"),
    ("cache_read_tokens", "cache_read"),
    ("cache_write_5m_tokens", "cache_write_5m"),
    ("cache_write_1h_tokens", "cache_write_1h"),
    ("output_tokens", "output"),
)
WEB_SEARCH_BUCKET = "web_search_requests"


# --------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class Rates:
    """USD per 1M tokens for each bucket, all filled (table defaults already applied).

    ``web_search_per_call`` is USD per single server-side search call (``web_search_per_1k /
    1000``), None when the table gives none: a request that searched is then unpriced (the
    provider does charge per call; a missing rate is not a free call).
    """

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    web_search_per_call: Decimal | None = None

    def scaled(self, factor: Decimal, *, web: bool = True) -> Rates:
        """Every rate times ``factor``, exactly: web search too (when priced) unless ``web`` is
        False (a regional multiplier of the token rates)."""
        m = _CTX.multiply
        call = self.web_search_per_call
        return Rates(
            input=m(self.input, factor),
            output=m(self.output, factor),
            cache_read=m(self.cache_read, factor),
            cache_write_5m=m(self.cache_write_5m, factor),
            cache_write_1h=m(self.cache_write_1h, factor),
            web_search_per_call=m(call, factor) if web and call is not None else call,
        )

    def for_bucket(self, bucket: str) -> Decimal:
        """Rate per 1M tokens of a token bucket (``input_tokens``, ``cache_read_tokens`` …)."""
        for name, attr in _BUCKET_RATE:
            if name == bucket:
                value: Decimal = getattr(self, attr)
                return value
        raise KeyError(bucket)


# A service tier's price: a multiplier of the band's standard rates, or explicit rates.
TierPrice = Decimal | Rates


@dataclass(frozen=True)
class LongContextBand:
    """Rates for requests whose total input is strictly greater than ``threshold``.

    ``tiers`` holds the band's own tier prices; a tier missing here falls back to the period's
    tier only when that one is a multiplier (explicit rates never carry over).
    """

    threshold: int
    rates: Rates
    tiers: tuple[tuple[str, TierPrice], ...] = ()

    def tier(self, name: str) -> TierPrice | None:
        return dict(self.tiers).get(name)


@dataclass(frozen=True)
class PricePeriod:
    """One validity period of a model's price: ``valid_from`` inclusive, ``valid_to`` exclusive,
    both tz-aware UTC; ``None`` means unbounded on that side."""

    valid_from: datetime | None
    valid_to: datetime | None
    source: str
    checked: date
    rates: Rates  # standard tier, base band
    tiers: tuple[tuple[str, TierPrice], ...] = ()
    over: tuple[LongContextBand, ...] = ()  # sorted by threshold, ascending
    file: str = ""
    # (inference geo, multiplier of every token rate of every tier and band): Anthropic's
    # US-only inference, ``inference_geo = { us = 1.1 }``; usage logged in tier ``standard@us``
    geos: tuple[tuple[str, Decimal], ...] = ()

    def covers(self, ts: datetime) -> bool:
        if self.valid_from is not None and ts < self.valid_from:
            return False
        return self.valid_to is None or ts < self.valid_to

    def tier(self, name: str) -> TierPrice | None:
        return dict(self.tiers).get(name)


@dataclass(frozen=True)
class ModelInfo:
    id: str
    provider: str
    name: str
    aliases: tuple[str, ...]
    periods: tuple[PricePeriod, ...]  # sorted by valid_from (open start first)
    file: str = ""
    # (logged tier, tier it bills as) of the model's provider (``tier_aliases`` of any of its
    # files), used where a period does not price the logged tier itself: OpenAI renamed priority
    # to fast (``fast = "priority"``)
    tier_aliases: tuple[tuple[str, str], ...] = ()

    def tier_of(self, period: PricePeriod, tier: str) -> str:
        """The tier whose price bills usage logged in ``tier`` during ``period``: ``tier``
        itself when the period or one of its bands prices it, else its alias, if any."""
        alias = dict(self.tier_aliases).get(tier)
        if alias is None or period.tier(tier) is not None or any(b.tier(tier) is not None for b in period.over):
            return tier
        return alias


@dataclass(frozen=True)
class RateRow:
    """One flattened price row per (model, period, service tier, context band), for SQL joins.

    Match a usage row on ``model``, ``service_tier``, ``valid_from <= ts`` (or NULL),
    ``ts < valid_to`` (or NULL), and on the band:

    * a request row (``requests = 1``) with ``total_input = input + cache_read + cache_write_5m
      + cache_write_1h``: ``(min_input_exclusive = 0 OR total_input > min_input_exclusive) AND
      (max_input_inclusive IS NULL OR total_input <= max_input_inclusive)``;
    * a bucket row (``requests != 1``): the base band only (``min_input_exclusive = 0``), since the
      long-context band cannot be decided for an aggregate.

    A combination the tables do not price (e.g. an explicit-rate tier above a threshold without
    its own rates) has no row: the join finds nothing and the usage is unpriced.
    """

    model: str
    provider: str
    valid_from: datetime | None
    valid_to: datetime | None
    service_tier: str
    min_input_exclusive: int
    max_input_inclusive: int | None
    rates: Rates
    source: str
    checked: date
    file: str


@dataclass(frozen=True)
class AppliedRate:
    """What priced one request.

    ``threshold`` is the long-context threshold in play: the one exceeded when ``long_context``,
    else the base band's upper bound; ``None`` when the period has no long-context band.
    ``long_context_undecided`` is True when the row aggregates several requests and the period
    has a long-context band: the base band was used because the band cannot be decided.
    """

    model: str
    provider: str
    service_tier: str
    long_context: bool
    threshold: int | None
    rates: Rates
    valid_from: datetime | None
    valid_to: datetime | None
    source: str
    checked: date
    long_context_undecided: bool = False


@dataclass(frozen=True)
class CostLine:
    """One bucket of a request's cost. For ``web_search_requests`` ``rate_per_million`` is None
    and the per-call rate is ``applied.rates.web_search_per_call``."""

    bucket: str
    quantity: int
    rate_per_million: Decimal | None
    amount: Decimal


@dataclass(frozen=True)
class CostBreakdown:
    """Exact cost of one usage row; ``total`` is None (never 0) when it could not be priced,
    with ``unpriced_reason`` saying why. ``lines`` always lists the five token buckets then web
    search, in that order, when priced."""

    applied: AppliedRate | None
    lines: tuple[CostLine, ...]
    total: Decimal | None
    unpriced_reason: str | None


# --------------------------------------------------------------------------- table parsing


def _display(path: Path) -> str:
    """The path as shown in messages: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


class _Where:
    """Builds error messages ``<file>: <key path>: <problem>``."""

    def __init__(self, file: str, path: str = "") -> None:
        self.file = file
        self.path = path

    def key(self, name: str) -> _Where:
        if not self.path:
            return _Where(self.file, name)
        sep = "" if name.startswith("[") else ("." if not self.path.endswith(")") else " ")
        return _Where(self.file, f"{self.path}{sep}{name}")

    def fail(self, problem: str) -> PricingError:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return PricingError(f"{where}: {problem}")


def _check_keys(table: Mapping[str, Any], allowed: frozenset[str], where: _Where) -> None:
    for key in table:
        if key not in allowed:
            if key == "standard":
                raise where.key(key).fail("unknown key (the standard tier is implicit: it is the base rates)")
            raise where.key(key).fail(f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _require(table: Mapping[str, Any], key: str, where: _Where) -> Any:
    if key not in table:
        raise where.key(key).fail("missing required key")
    return table[key]


def _number(value: Any, where: _Where) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise where.fail("must be a non-negative number")
    result = Decimal(value)
    if not result.is_finite() or result < 0:
        raise where.fail("must be a non-negative number")
    return result


def _string(value: Any, where: _Where) -> str:
    if not isinstance(value, str) or not value.strip():
        raise where.fail("must be a non-empty string")
    return value


def _instant(value: Any, where: _Where) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise where.fail("must be a date or a datetime with a UTC offset (local datetimes are ambiguous)")
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    raise where.fail("must be a TOML date (YYYY-MM-DD) or offset datetime")


# The SQL cost queries hold a rate per token as DECIMAL(18,12) (``store.reports.RATE``): a rate
# per 1M tokens is priced exactly with at most 6 decimals (a millionth of a dollar per million
# tokens), a web search per 1,000 calls with at most 9 (per call: 12)
RATE_DECIMALS = 6
WEB_DECIMALS = 9


def decimals(value: Decimal) -> int:
    """How many decimals ``value`` has once trailing zeros are dropped (2.50 -> 1, 3 -> 0)."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


RATE_LIMIT = Decimal(10) ** 9  # USD per 1M tokens (per 1,000 searches): below DECIMAL(18,12)'s reach per unit


def _rate(value: Any, where: _Where, places: int = RATE_DECIMALS) -> Decimal:
    rate = _number(value, where)
    if rate >= RATE_LIMIT:
        raise where.fail(f"{rate} is not below {RATE_LIMIT:,} (a price per 1M tokens or per 1,000 searches)")
    if decimals(rate) > places:
        unit = "USD per 1M tokens" if places == RATE_DECIMALS else "USD per 1,000 searches"
        raise where.fail(f"{rate} has more than {places} decimals ({unit}: at most {places} are priced exactly)")
    return rate


def _rates(table: Mapping[str, Any], where: _Where, inherit_web: Decimal | None) -> Rates:
    """Rates from ``input``/``output`` (required) and the optional cache and web search keys.

    Missing cache keys bill at this table's input rate; a missing ``web_search_per_1k`` takes
    ``inherit_web`` (per call; None: not priced)."""
    inp = _rate(_require(table, "input", where), where.key("input"))
    out = _rate(_require(table, "output", where), where.key("output"))

    def opt(key: str) -> Decimal:
        return _rate(table[key], where.key(key)) if key in table else inp

    web = (
        _CTX.divide(_rate(table["web_search_per_1k"], where.key("web_search_per_1k"), WEB_DECIMALS), _THOUSAND)
        if "web_search_per_1k" in table
        else inherit_web
    )
    return Rates(
        input=inp,
        output=out,
        cache_read=opt("cache_read"),
        cache_write_5m=opt("cache_write_5m"),
        cache_write_1h=opt("cache_write_1h"),
        web_search_per_call=web,
    )


def _tiers(table: Mapping[str, Any], where: _Where, band_web: Decimal | None) -> tuple[tuple[str, TierPrice], ...]:
    out: list[tuple[str, TierPrice]] = []
    for name in _PRICED_TIERS:
        if name not in table:
            continue
        value = table[name]
        w = where.key(name)
        if isinstance(value, dict):
            _check_keys(value, frozenset(_RATE_KEYS), w)
            out.append((name, _rates(value, w, band_web)))
        else:
            if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
                raise w.fail("must be a multiplier (non-negative number) or a table of rates")
            out.append((name, _number(value, w)))
    return tuple(out)


def _period(table: Any, where: _Where, file: str) -> PricePeriod:
    if not isinstance(table, dict):
        raise where.fail("must be a table ([[model.price]])")
    _check_keys(table, _PRICE_KEYS, where)
    source = _string(_require(table, "source", where), where.key("source"))
    checked = _require(table, "checked", where)
    if isinstance(checked, datetime) or not isinstance(checked, date):
        raise where.key("checked").fail("must be a TOML date (YYYY-MM-DD)")
    valid_from = _instant(table["from"], where.key("from")) if "from" in table else None
    valid_to = _instant(table["until"], where.key("until")) if "until" in table else None
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise where.key("until").fail(f"must be after 'from' ({valid_from.isoformat()})")
    base = _rates(table, where, None)
    tiers = _tiers(table, where, base.web_search_per_call)

    bands: list[LongContextBand] = []
    over = table.get("over", [])
    if not isinstance(over, list):
        raise where.key("over").fail("must be an array of tables ([[model.price.over]])")
    for k, band in enumerate(over):
        w = where.key(f"over[{k}]")
        if not isinstance(band, dict):
            raise w.fail("must be a table")
        _check_keys(band, _OVER_KEYS, w)
        threshold = _require(band, "threshold", w)
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold <= 0:
            raise w.key("threshold").fail("must be a positive integer (tokens)")
        rates = _rates(band, w, base.web_search_per_call)
        bands.append(LongContextBand(threshold, rates, _tiers(band, w, rates.web_search_per_call)))
    bands.sort(key=lambda b: b.threshold)
    for a, b in pairwise(bands):
        if a.threshold == b.threshold:
            raise where.key("over").fail(f"two bands with threshold {a.threshold}")
    geos = _geos(table.get("inference_geo", {}), where.key("inference_geo"))
    return PricePeriod(valid_from, valid_to, source, checked, base, tiers, tuple(bands), file, geos)


def _geos(table: Any, where: _Where) -> tuple[tuple[str, Decimal], ...]:
    """``inference_geo = { us = 1.1 }``: a multiplier of the token rates per inference geo."""
    if not isinstance(table, dict):
        raise where.fail("must be a table of geo = multiplier, e.g. { us = 1.1 }")
    out = []
    for geo, value in table.items():
        if geo != geo.strip().lower() or not geo or "@" in geo or geo in NO_GEO:
            raise where.key(geo).fail("must be a lowercase geo name other than the default ('global')")
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise where.key(geo).fail("must be a multiplier (non-negative number)")
        out.append((geo, _number(value, where.key(geo))))
    return tuple(out)


def _fmt_bound(value: datetime | None, open_side: str) -> str:
    return value.isoformat() if value is not None else open_side


def _model(table: Any, where: _Where, provider: str, file: str) -> ModelInfo:
    if not isinstance(table, dict):
        raise where.fail("must be a table ([[model]])")
    raw_id = _require(table, "id", where)
    model_id = _string(raw_id, where.key("id"))
    if model_id != model_id.strip().lower():
        raise where.key("id").fail(f"must be lowercase without surrounding spaces, got {model_id!r}")
    where = _Where(where.file, f"{where.path} ({model_id})")
    _check_keys(table, _MODEL_KEYS, where)
    name = _string(table["name"], where.key("name")) if "name" in table else model_id
    raw_aliases = table.get("aliases", [])
    if not isinstance(raw_aliases, list):
        raise where.key("aliases").fail("must be an array of strings")
    aliases: list[str] = []
    for k, alias in enumerate(raw_aliases):
        norm = _string(alias, where.key(f"aliases[{k}]")).strip().lower()
        if norm != model_id and norm not in aliases:
            aliases.append(norm)
    prices = _require(table, "price", where)
    if not isinstance(prices, list) or not prices:
        raise where.key("price").fail("must be a non-empty array of tables ([[model.price]])")
    periods = [(j, _period(p, where.key(f"price[{j}]"), file)) for j, p in enumerate(prices)]
    far_past = datetime.min.replace(tzinfo=UTC)
    periods.sort(key=lambda jp: jp[1].valid_from or far_past)
    for (ja, a), (jb, b) in pairwise(periods):
        if a.valid_to is None or (b.valid_from is not None and a.valid_to > b.valid_from) or b.valid_from is None:
            raise where.key(f"price[{jb}]").fail(
                f"overlaps price[{ja}] (periods [{_fmt_bound(a.valid_from, 'ever')}, "
                f"{_fmt_bound(a.valid_to, 'open')}) and [{_fmt_bound(b.valid_from, 'ever')}, "
                f"{_fmt_bound(b.valid_to, 'open')}))"
            )
    return ModelInfo(model_id, provider, name, tuple(aliases), tuple(p for _, p in periods), file)


@dataclass
class _Loaded:
    model: ModelInfo
    where: _Where  # "file: model[i] (id)" for messages
    seq: int = 0  # load order: a conflict is blamed on the later claim


def _load_file(path: Path) -> tuple[bytes, list[_Loaded], tuple[str, tuple[tuple[str, str], ...]]]:
    file = _display(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        # listed a moment ago: removed or renamed since (an editor saving it). Not skipped: the
        # command would price without the user's table and say nothing
        raise PricingError(
            f"{file}: price table removed while the tables were read",
            hint="run the command again once the file is saved",
        ) from exc
    except OSError as exc:
        raise PricingError(f"{file}: price table cannot be read ({exc.strerror or exc})") from exc
    try:
        doc = toml_cache.loads(data, data.decode("utf-8"))  # parsed once per content
    except UnicodeDecodeError as exc:
        raise PricingError(f"{file}: not UTF-8 text ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PricingError(f"{file}: invalid TOML: {exc}") from exc
    root = _Where(file)
    _check_keys(doc, _FILE_KEYS, root)
    provider = _string(_require(doc, "provider", root), root.key("provider"))
    if provider != provider.strip().lower():
        raise root.key("provider").fail(f"must be lowercase without surrounding spaces, got {provider!r}")
    aliases = _tier_aliases(doc.get("tier_aliases", {}), root.key("tier_aliases"))
    models = doc.get("model", [])
    if not isinstance(models, list):
        raise root.key("model").fail("must be an array of tables ([[model]])")
    loaded: list[_Loaded] = []
    for i, table in enumerate(models):
        w = root.key(f"model[{i}]")
        info = _model(table, w, provider, file)
        loaded.append(_Loaded(info, _Where(file, f"model[{i}] ({info.id})")))
    return data, loaded, (provider, aliases)


def _name_clash(item: _Loaded, k: int, owner: _Loaded) -> PricingError:
    """The error for ``item``'s alias ``k`` that ``owner`` also claims, blamed on the later claim
    (a user table over the packaged ones, a later file, a later model), the other one named.
    Another alias is always the earlier claim (aliases are taken in load order), but an id is
    known before any alias: a user's new model whose id is a packaged alias was blamed on the
    packaged table (QA)."""
    alias = item.model.aliases[k]
    at_alias = item.where.key(f"aliases[{k}]")
    if owner.model.id == alias and owner.seq > item.seq:
        return owner.where.key("id").fail(
            f"{alias!r} is already an alias of model {item.model.id!r} ({at_alias.file}: {at_alias.path})"
        )
    what = "is the id of" if owner.model.id == alias else "is also claimed by"
    return at_alias.fail(f"alias {alias!r} {what} model {owner.model.id!r} ({owner.where.file}: {owner.where.path})")


def _tier_aliases(table: Any, where: _Where) -> tuple[tuple[str, str], ...]:
    """``tier_aliases = { fast = "priority" }``: a logged tier that bills as another priced tier
    for every model of the file's provider, in any file or directory (where a period does not
    price the logged tier itself)."""
    if not isinstance(table, dict):
        raise where.fail('must be a table of tier names, e.g. { fast = "priority" }')
    out: list[tuple[str, str]] = []
    for name, target in table.items():
        w = where.key(name)
        if name not in _PRICED_TIERS:
            raise w.fail(f"unknown service tier (known: {', '.join(_PRICED_TIERS)})")
        if not isinstance(target, str) or target not in _PRICED_TIERS or target == name:
            raise w.fail(f"must name another priced service tier ({', '.join(_PRICED_TIERS)})")
        out.append((name, target))
    return tuple(out)


# --------------------------------------------------------------------------- name resolution

_REGION_PREFIX = re.compile(r"^(?:us|eu|apac|jp|au|global|us-gov)\.")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
_VERTEX_AT = re.compile(r"@(\d{8})$")
_DOT_BETWEEN_DIGITS = re.compile(r"(?<=\d)\.(?=\d)")
_SNAPSHOT_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$")


def _normalisations(raw: str) -> Iterable[str]:
    """The candidate names of ``resolve``, in order; each step works on the previous one."""
    s = raw
    yield s
    bedrock = s.startswith(("arn:aws:bedrock:", "bedrock/"))
    # (b) provider prefixes: anthropic/…, openrouter/openai/…, vertex_ai/…, models/…
    if "/" in s:
        s = s.rsplit("/", 1)[1]
        yield s
    # (c) Bedrock ids: [region.]anthropic.<name>[-vN[:M]]
    if bedrock or re.match(r"^(?:(?:us|eu|apac|jp|au|global|us-gov)\.)?anthropic\.", s):
        s = _REGION_PREFIX.sub("", s, count=1)
        s = s.removeprefix("anthropic.")
        s = _BEDROCK_VERSION.sub("", s)
        yield s
    # (d) Vertex: claude-sonnet-4-5@20250929
    t = _VERTEX_AT.sub(r"-\1", s)
    if t != s:
        s = t
        yield s
    # (e) Claude names written with dots: claude-sonnet-4.5, claude-3.5-sonnet
    if "claude" in s:
        t = _DOT_BETWEEN_DIGITS.sub("-", s)
        if t != s:
            s = t
            yield s
    # (f) dated snapshot suffix, only reached when the dated name is not itself known
    m = _SNAPSHOT_SUFFIX.search(s)
    if m:
        yield s[: m.start()]


# --------------------------------------------------------------------------- the price book


class PriceBook:
    """All loaded models, resolvable by name, priced by timestamp, tier and context band."""

    files: tuple[str, ...]
    fingerprint: str

    def __init__(self, models: Mapping[str, ModelInfo], files: Sequence[str], fingerprint: str) -> None:
        self._models: dict[str, ModelInfo] = dict(models)
        self.files = tuple(files)
        self.fingerprint = fingerprint
        self._names: dict[str, str] = {}
        for info in self._models.values():
            self._names[info.id] = info.id
        for info in self._models.values():
            for alias in info.aliases:
                self._names.setdefault(alias, info.id)
        self._resolved: dict[str, str | None] = {}
        self._rows: list[RateRow] | None = None

    @classmethod
    def from_dirs(cls, dirs: Sequence[Path]) -> PriceBook:
        """Load the tables of each dir (``table_files``: ``*.toml`` files, sorted by name); a later
        dir replaces an earlier dir's model of the same id, whole. Raises ``PricingError`` naming
        file and key."""
        digest = hashlib.sha256()
        files: list[str] = []
        merged: dict[str, _Loaded] = {}
        tier_aliases: dict[str, dict[str, str]] = {}  # per provider, over all files (later ones win)
        seq = 0
        for directory in dirs:
            layer: dict[str, _Loaded] = {}
            for path in table_files(directory):
                data, loaded, (provider, aliases) = _load_file(path)
                tier_aliases.setdefault(provider, {}).update(aliases)
                files.append(_display(path))
                digest.update(path.name.encode() + b"\0" + data + b"\0")
                for item in loaded:
                    item.seq = seq
                    seq += 1
                    other = layer.get(item.model.id)
                    if other is not None:
                        raise item.where.key("id").fail(
                            f"duplicate id, also defined at {other.where.file}: {other.where.path}"
                        )
                    layer[item.model.id] = item
            merged.update(layer)
        # Every name (id or alias) must mean exactly one model.
        claims: dict[str, _Loaded] = {item.model.id: item for item in merged.values()}
        for item in sorted(merged.values(), key=lambda it: it.seq):
            for k, alias in enumerate(item.model.aliases):
                owner = claims.get(alias)
                if owner is not None and owner is not item:
                    raise _name_clash(item, k, owner)
                claims[alias] = item
        models = {
            mid: replace(item.model, tier_aliases=tuple(sorted(tier_aliases.get(item.model.provider, {}).items())))
            for mid, item in merged.items()
        }
        book = cls(models, files, digest.hexdigest())
        book._check_derived_rates()
        return book

    def _check_derived_rates(self) -> None:
        """Every rate a tier or geo multiplier makes is priced exactly too (``RATE_DECIMALS``):
        ``0.01875 x 1.75`` has 7 decimals. Raises ``PricingError`` naming file, model and price."""
        for row in self.rate_rows():
            r = row.rates
            named = [(attr, getattr(r, attr), RATE_DECIMALS) for attr in _TOKEN_RATE_KEYS]
            if r.web_search_per_call is not None:
                named.append(("web search per call", r.web_search_per_call, WEB_DECIMALS + 3))
            for name, value, places in named:
                if value >= RATE_LIMIT / (1000 if places > RATE_DECIMALS + 3 else 1):
                    raise PricingError(
                        f"{row.file}: model {row.model!r}, tier {row.service_tier}: the {name} rate {value} is too "
                        f"large once multiplied (a price per 1M tokens must stay below {RATE_LIMIT:,})"
                    )
                if decimals(value) > places:
                    since = row.valid_from.date().isoformat() if row.valid_from else "the start"
                    band = f", over {row.min_input_exclusive:,} input tokens" if row.min_input_exclusive else ""
                    raise PricingError(
                        f"{row.file}: model {row.model!r}, price from {since}, tier {row.service_tier}{band}: "
                        f"the {name} rate {value} has more than {places} decimals (a tier or geo multiplier "
                        "gave it more; write the tier's rates out, rounded as the provider bills them)"
                    )

    # -- lookup

    def models(self) -> list[ModelInfo]:
        """All models, sorted by provider then id."""
        return sorted(self._models.values(), key=lambda m: (m.provider, m.id))

    def get(self, model_id: str) -> ModelInfo | None:
        return self._models.get(model_id.strip().lower())

    def provider_of(self, model_id: str) -> str | None:
        info = self.get(model_id)
        return info.provider if info else None

    def resolve(self, model_raw: str | None) -> str | None:
        """Canonical id for a logged model name, or None when unknown. Never fuzzy.

        Case-insensitive, surrounding whitespace ignored. Tries, in order and cumulatively,
        looking up the exact id then the declared aliases after each step: (a) the name as
        given; (b) without provider prefixes (everything up to the last ``/``); (c) Bedrock ids
        and ARNs without region prefix (``us.``, ``eu.``, ``apac.``, ``jp.``, ``au.``, ``global.``, ``us-gov.``),
        ``anthropic.`` and ``-vN[:M]`` suffix; (d) Vertex ``name@YYYYMMDD`` as
        ``name-YYYYMMDD``; (e) for Claude names, ``.`` between digits as ``-``; (f) without a
        dated snapshot suffix (``-YYYYMMDD``, ``-YYYY-MM-DD``, ``-latest``), which is reached
        only when the dated name is not itself known (so ``gpt-4o-2024-05-13`` keeps its price).
        """
        if model_raw is None:
            return None
        key = model_raw.strip().lower()
        if not key:
            return None
        if key in self._resolved:
            return self._resolved[key]
        found: str | None = None
        for candidate in _normalisations(key):
            found = self._names.get(candidate)
            if found is not None:
                break
        self._resolved[key] = found
        return found

    # -- rates

    def _period_at(self, info: ModelInfo, ts: datetime) -> PricePeriod | None:
        for period in info.periods:
            if period.covers(ts):
                return period
        return None

    def _apply(
        self,
        model_id: str,
        ts: datetime,
        service_tier: str | None,
        total_input: int,
        requests: int,
        band_input: int | None = None,
    ) -> AppliedRate | str:
        info = self.get(model_id)
        if info is None:
            return f"unknown model {model_id!r}"
        logged = _normalise_tier(service_tier)
        tier, _, geo = logged.partition("@")
        tier, geo = _normalise_tier(tier), "" if geo.strip() in NO_GEO else geo.strip()
        logged = f"{tier}@{geo}" if geo else tier  # as the store spells it (validation._TIER)
        if tier not in SERVICE_TIERS:
            return f"unknown service tier {service_tier!r} (known: {', '.join(SERVICE_TIERS)})"
        ts = _utc(ts)
        period = self._period_at(info, ts)
        if period is None:
            return f"no price for {info.id} valid at {ts.isoformat()}"
        factor = dict(period.geos).get(geo) if geo else None
        if geo and factor is None:
            return f"inference geo {geo!r} is not priced for {info.id}"

        band: LongContextBand | None = None
        undecided = requests != 1 and band_input is None and bool(period.over)
        decided_on = total_input if requests == 1 else band_input
        if decided_on is not None:
            for candidate in period.over:
                if decided_on > candidate.threshold:
                    band = candidate
        priced = info.tier_of(period, tier)
        if band is None:
            threshold = period.over[0].threshold if period.over else None
            rates = _tier_rates(period.rates, period.tier(priced), None, priced)
        else:
            threshold = band.threshold
            rates = _tier_rates(band.rates, band.tier(priced), period.tier(priced), priced)
        if rates is None:
            if band is not None and isinstance(period.tier(priced), Rates):
                return f"service tier {tier!r} of {info.id} has no rates over {band.threshold:,} input tokens"
            return f"service tier {tier!r} is not priced for {info.id}"
        if factor is not None:
            rates = rates.scaled(factor, web=False)
        return AppliedRate(
            model=info.id,
            provider=info.provider,
            service_tier=logged if geo else tier,
            long_context=band is not None,
            threshold=threshold,
            rates=rates,
            valid_from=period.valid_from,
            valid_to=period.valid_to,
            source=period.source,
            checked=period.checked,
            long_context_undecided=undecided,
        )

    def rate_for(
        self,
        model_id: str,
        ts: datetime,
        *,
        service_tier: str = "standard",
        total_input: int = 0,
        requests: int = 1,
    ) -> AppliedRate | None:
        """The rates that price a usage row of a canonical model at ``ts`` (naive = UTC).

        ``total_input`` is input + cache read + cache write 5m + cache write 1h of ONE request.
        When ``requests > 1`` (a provider bucket aggregating many requests) the long-context
        band cannot be decided and the base band is used (``long_context_undecided`` says so
        when the model has such a band). For a single request the band is the highest one whose
        threshold is strictly below ``total_input`` (200,000 → base; 200,001 → over).
        Returns None when the model, period or tier is not priced (``cost`` says why).
        """
        applied = self._apply(model_id, ts, service_tier, total_input, requests)
        return applied if isinstance(applied, AppliedRate) else None

    def rate_rows(self) -> list[RateRow]:
        """Every priced (model, period, tier, band) combination; see ``RateRow`` for matching
        (worked out once per book: the load checks them, every cost query joins them)."""
        if self._rows is None:
            self._rows = self._rate_rows()
        return list(self._rows)

    def _rate_rows(self) -> list[RateRow]:
        rows: list[RateRow] = []
        for info in self.models():
            for period in info.periods:
                bounds: list[int] = [0] + [b.threshold for b in period.over]
                bands: list[LongContextBand | None] = [None, *period.over]
                for idx, band in enumerate(bands):
                    lo = bounds[idx]
                    hi = bounds[idx + 1] if idx + 1 < len(bounds) else None
                    for tier, (geo, factor) in product(SERVICE_TIERS, ((None, None), *period.geos)):
                        priced = info.tier_of(period, tier)
                        if band is None:
                            rates = _tier_rates(period.rates, period.tier(priced), None, priced)
                        else:
                            rates = _tier_rates(band.rates, band.tier(priced), period.tier(priced), priced)
                        if rates is None:
                            continue
                        rows.append(
                            RateRow(
                                model=info.id,
                                provider=info.provider,
                                valid_from=period.valid_from,
                                valid_to=period.valid_to,
                                service_tier=f"{tier}@{geo}" if geo else tier,
                                min_input_exclusive=lo,
                                max_input_inclusive=hi,
                                rates=rates.scaled(factor, web=False) if factor is not None else rates,
                                source=period.source,
                                checked=period.checked,
                                file=period.file,
                            )
                        )
        return rows

    # -- cost

    def cost(
        self,
        *,
        model_raw: str | None,
        ts: datetime,
        service_tier: str | None = None,
        requests: int = 1,
        input_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_5m_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
        output_tokens: int = 0,
        web_search_requests: int = 0,
        band_input: int | None = None,
    ) -> CostBreakdown:
        """Exact cost of one usage row (see the module docstring); never $0 for the unknown.

        ``service_tier`` None, ``""`` and ``"default"`` (OpenAI's word) mean standard.
        ``band_input``: for a row of many requests (``requests != 1``) that says which band its
        requests were in, an input every one of them exceeded (the stored column of that name:
        an Anthropic usage row of context_window "200k-1M" → 200,001); the band is then decided
        on it, not left undecided.
        """
        model_id = self.resolve(model_raw)
        if model_id is None:
            reason = "no model name" if not (model_raw or "").strip() else f"unknown model {model_raw!r}"
            return CostBreakdown(None, (), None, reason)
        total_input = input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens
        applied = self._apply(model_id, ts, service_tier, total_input, requests, band_input)
        if isinstance(applied, str):
            return CostBreakdown(None, (), None, applied)
        quantities = {
            "input_tokens": input_tokens,
            "cache_read_tokens": cache_read_tokens,
            "cache_write_5m_tokens": cache_write_5m_tokens,
            "cache_write_1h_tokens": cache_write_1h_tokens,
            "output_tokens": output_tokens,
        }
        lines: list[CostLine] = []
        total = _ZERO
        for bucket, _attr in _BUCKET_RATE:
            qty = quantities[bucket]
            rate = applied.rates.for_bucket(bucket)
            amount = _CTX.divide(_CTX.multiply(Decimal(qty), rate), MILLION)
            lines.append(CostLine(bucket, qty, rate, amount))
            total = _CTX.add(total, amount)
        web_rate = applied.rates.web_search_per_call
        if web_search_requests and web_rate is None:
            return CostBreakdown(None, (), None, f"no web-search price for {applied.model}")
        web = _CTX.multiply(Decimal(web_search_requests), web_rate) if web_search_requests and web_rate else _ZERO
        lines.append(CostLine(WEB_SEARCH_BUCKET, web_search_requests, None, web))
        total = _CTX.add(total, web)
        return CostBreakdown(applied, tuple(lines), total, None)


def _normalise_tier(service_tier: str | None) -> str:
    tier = (service_tier or "").strip().lower()
    return "standard" if tier in STANDARD_TIERS else tier


def _tier_rates(band_rates: Rates, own: TierPrice | None, inherited: TierPrice | None, tier: str) -> Rates | None:
    """Rates of ``tier`` on a band: the band's own tier price, else (long-context bands only) the
    period's tier when it is a multiplier. Explicit rates never carry over to another band."""
    if tier == "standard":
        return band_rates
    price = own if own is not None else (inherited if isinstance(inherited, Decimal) else None)
    if price is None:
        return None
    if isinstance(price, Rates):
        return price
    return band_rates.scaled(price)


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


# --------------------------------------------------------------------------- locating tables


def _packaged_dir() -> Path:
    env = os.environ.get(PRICING_DIR_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise PricingError(f"{PRICING_DIR_ENV}={env}: not a directory")
        return path
    here = Path(__file__).resolve().parent
    wheel = here / "_pricing"
    if wheel.is_dir():
        return wheel
    return here.parent / "pricing"


def pricing_dirs(user_dir: Path | None = None) -> list[Path]:
    """Directories of price tables, in load order (later ones override models by id).

    1. the packaged tables: ``$USAGECTL_PRICING_DIR`` if set (replaces them), else
       ``usagectl/_pricing/`` of an installed wheel, else the checkout's ``pricing/``;
    2. ``user_dir`` (config ``[pricing] dir``) when given; it must exist.
    """
    dirs = [_packaged_dir()]
    if user_dir is not None:
        path = Path(user_dir).expanduser()
        if not path.is_dir():  # QA: the README's example config named one that did not exist
            what = "is not a directory" if path.exists() else "does not exist"
            raise PricingError(
                f"{path}: pricing directory {what} (config [pricing] dir)",
                hint="create it and put your price tables in it, or remove `dir` from [pricing] in the config "
                "(`usagectl doctor` names the config file in use)",
            )
        dirs.append(path)
    return dirs


_CACHE: dict[tuple[Any, ...], PriceBook] = {}


def table_files(directory: Path) -> list[Path]:
    """The price tables of ``directory``, in load (name) order: its ``*.toml`` entries that are
    regular files, a symlink to one included. A hidden name is no table (an editor's lock file,
    Emacs ``.#mine.toml``, a dangling symlink; macOS ``._mine.toml`` metadata), nor is a folder
    ``old.toml``: each made every command fail (QA). An entry that cannot even be looked at
    (permissions) is listed, so that loading it names it."""
    return sorted(p for p in directory.glob("*.toml") if not p.name.startswith(".") and _is_file(p))


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()  # follows symlinks; False for a dangling one or a loop
    except OSError:
        return True


def _stamp(dirs: Sequence[Path]) -> tuple[Any, ...]:
    parts: list[Any] = []
    for directory in dirs:
        entries: list[tuple[str, int | None, int | None]] = []
        if directory.is_dir():
            for path in table_files(directory):
                try:
                    st = path.stat()
                except OSError:  # gone since it was listed: loading it says so
                    entries.append((path.name, None, None))
                    continue
                entries.append((path.name, st.st_mtime_ns, st.st_size))
        parts.append((str(directory.resolve()), tuple(entries)))
    return (str(Path.cwd()), tuple(parts))


def load_pricebook(user_dir: Path | None = None) -> PriceBook:
    """The price book of ``pricing_dirs(user_dir)``; cached in-process per dirs and mtimes."""
    dirs = pricing_dirs(user_dir)
    key = _stamp(dirs)
    book = _CACHE.get(key)
    if book is None:
        book = PriceBook.from_dirs(dirs)
        _CACHE.clear()
        _CACHE[key] = book
    return book
