"""Budgets in the config file: the ``Budget`` type, parsing and validation, and the edits
``budget set`` / ``budget rm`` make to the file.

A budget is one ``[[budgets]]`` table::

    [[budgets]]
    scope = "team:platform"     # global | member:NAME | team:NAME | department:NAME | project:NAME
                                # | cost-center:NAME | model:NAME | feature:NAME
    amount = 500.00             # USD, or
    # tokens = 100000000        # a token budget (exactly one of amount / tokens)
    period = "month"            # day | week | month | quarter | year (default month)
    thresholds = [75, 90, 95]   # warning / caution / critical in %, optional; exceeded is >= 100

``[plan] monthly_token_quota`` is a token budget too (scope global, period month, label
"plan quota"). Scope plus period identify a budget: two tables with the same pair are an error.

Edits read the file with tomllib (floats as Decimal), change ``budgets`` and write the file's
own text back with only the lines of that budget changed (``toml_edit``: comments, blank lines,
number spellings and the file's line endings, CRLF included, stay), through a temporary file and
``os.replace``. Budgets given as an inline array (``budgets = [...]``) are edited in that
assignment only (``toml_edit.edit_inline_array``). A file laid out in a way neither edit can
follow (a multi-line value with comments inside to change, a dotted key) is refused (exit 2)
when it holds comments, since writing it whole with tomli-w would drop them all; one without
comments is written whole, with a warning that its formatting was not kept. Either way the text
is parsed back and compared with the intended values before writing.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from usagectl.config import default_config_write_path, parse_config, read_toml, shown
from usagectl.errors import ConfigError, UsageError, os_reason
from usagectl.models import noun
from usagectl.services.config_check import check_config
from usagectl.services.context import AppContext

# scope kind -> filter name of ``usagectl.store.reports.FILTER_COLUMNS``
SCOPE_KINDS: dict[str, str] = {
    "member": "member",
    "team": "team",
    "department": "department",
    "project": "project",
    "cost-center": "cost_center",
    "model": "model",
    "feature": "feature",
}
PERIODS: tuple[str, ...] = ("day", "week", "month", "quarter", "year")
LEVEL_ORDER: tuple[str, ...] = ("ok", "warning", "caution", "critical", "exceeded")
DEFAULT_THRESHOLDS: tuple[Decimal, Decimal, Decimal] = (Decimal(75), Decimal(90), Decimal(95))
PLAN_QUOTA_LABEL = "plan quota"
_KEYS = ("scope", "amount", "tokens", "period", "thresholds")
_SCOPE_HELP = (
    "global, member:NAME, team:NAME, department:NAME, project:NAME, cost-center:NAME, model:NAME or feature:NAME"
)
_DECIMAL_TEXT = re.compile(r"^\d+(\.\d+)?$")
MIN_AMOUNT = Decimal("0.01")  # a smaller money budget is a typo (0.0000001), not a limit anyone means


@dataclass(frozen=True)
class ConfigEdit:
    """What ``budget set`` / ``budget rm`` did: the file written, the change in words, and a
    warning to show when the file had to be written whole (its formatting was not kept)."""

    path: Path
    what: str
    warning: str | None = None


@dataclass(frozen=True)
class Budget:
    """One budget. ``limit`` is USD for ``kind == "usd"`` and a whole number of tokens for
    ``"tokens"``; ``thresholds`` are the warning / caution / critical percentages (0-100,
    ascending, below 100); exceeded is always at 100 %."""

    scope: str
    kind: Literal["usd", "tokens"]
    limit: Decimal
    period: str
    thresholds: tuple[Decimal, Decimal, Decimal]
    label: str  # "team:platform (month)" or "plan quota"

    @property
    def is_plan_quota(self) -> bool:
        return self.label == PLAN_QUOTA_LABEL


# --------------------------------------------------------------------------- values


def normalize_scope(text: str) -> str:
    """``Team:platform`` -> ``team:platform``; ``cost_center:X`` -> ``cost-center:X``. ValueError if bad."""
    s = text.strip()
    if s.lower() == "global":
        return "global"
    kind, sep, name = s.partition(":")
    kind = kind.strip().lower().replace("_", "-")
    name = name.strip()
    if not sep or kind not in SCOPE_KINDS or not name:
        raise ValueError(f"scope {text!r} is not one of {_SCOPE_HELP}")
    return f"{kind}:{name}"


def normalize_period(text: str) -> str:
    p = text.strip().lower()
    if p not in PERIODS:
        raise ValueError(f"period {text!r} is not one of {', '.join(PERIODS)}")
    return p


def check_thresholds(values: list[Decimal]) -> tuple[Decimal, Decimal, Decimal]:
    if len(values) != 3:
        raise ValueError(f"thresholds: give exactly three percentages (warning, caution, critical), got {len(values)}")
    a, b, c = values
    if not (0 < a < b < c < 100):
        shown = ", ".join(_plain(v) for v in values)
        raise ValueError(f"thresholds [{shown}]: must be ascending percentages above 0 and below 100")
    return a, b, c


def _plain(value: Decimal) -> str:
    return str(int(value)) if value == value.to_integral_value() else str(value)


def parse_amount(text: str, *, tokens: bool) -> Decimal:
    """AMOUNT of ``budget set``: dollars (``$1,500.50``) or, with ``tokens``, whole tokens (``100,000,000``)."""
    s = text.strip().replace(",", "")
    if tokens:
        s = s.replace("_", "")
        if not s.isdigit() or int(s) <= 0:
            raise UsageError(f"AMOUNT {text!r}: a token budget is a positive whole number of tokens")
        return Decimal(int(s))
    if s.startswith("$"):
        s = s[1:].strip()
    if not _DECIMAL_TEXT.match(s) or Decimal(s) <= 0:
        raise UsageError(f"AMOUNT {text!r}: give a positive dollar amount such as 500, 19.99 or $1,500")
    if Decimal(s) < MIN_AMOUNT:
        raise UsageError(f"AMOUNT {text!r}: a money budget is at least $0.01")
    return Decimal(s)


def parse_thresholds(text: str) -> tuple[Decimal, Decimal, Decimal]:
    """``--thresholds 75,90,95`` (a ``%`` after each number is allowed)."""
    values = []
    for part in text.split(","):
        p = part.strip().rstrip("%").strip()
        if not _DECIMAL_TEXT.match(p):
            raise UsageError(f"--thresholds {text!r}: {part.strip()!r} is not a percentage (use e.g. 75,90,95)")
        values.append(Decimal(p))
    try:
        return check_thresholds(values)
    except ValueError as exc:
        raise UsageError(f"--thresholds {text!r}: {exc}") from None


def describe_limit(budget: Budget) -> str:
    """``$1,500.00``, ``$0.015`` (every decimal given, never ``$1E-7``) or ``3,000,000 tokens``."""
    if budget.kind == "usd":
        exponent = budget.limit.as_tuple().exponent
        return f"${budget.limit:,.2f}" if isinstance(exponent, int) and exponent >= -2 else f"${budget.limit:,f}"
    return f"{int(budget.limit):,} tokens"


# --------------------------------------------------------------------------- reading


def parse_budget(entry: Any) -> Budget:
    """One ``[[budgets]]`` table -> Budget; ValueError naming the key and the problem."""
    if not isinstance(entry, dict):
        raise ValueError("must be a table ([[budgets]])")
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        raise ValueError(f"unknown {noun(len(unknown), 'key')} {', '.join(unknown)} (allowed: {', '.join(_KEYS)})")
    scope_v = entry.get("scope")
    if not isinstance(scope_v, str):
        raise ValueError(f"scope: must be a string ({_SCOPE_HELP}), got {shown(scope_v)}")
    scope = normalize_scope(scope_v)
    period_v = entry.get("period", "month")
    if not isinstance(period_v, str):
        raise ValueError(f"period: must be a string, got {shown(period_v)}")
    period = normalize_period(period_v)
    has_amount, has_tokens = "amount" in entry, "tokens" in entry
    if has_amount == has_tokens:
        raise ValueError("give exactly one of amount (USD) or tokens")
    kind: Literal["usd", "tokens"]
    if has_amount:
        raw = entry["amount"]
        if isinstance(raw, bool) or not isinstance(raw, (int, Decimal)):
            raise ValueError(f"amount: must be a number of dollars, got {shown(raw)}")
        limit, kind = Decimal(raw), "usd"
        if not limit.is_finite() or limit <= 0:
            raise ValueError(f"amount: must be a positive number of dollars, got {raw}")
    else:
        raw = entry["tokens"]
        if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
            raise ValueError(f"tokens: must be a positive whole number, got {shown(raw)}")
        limit, kind = Decimal(raw), "tokens"
    thresholds = DEFAULT_THRESHOLDS
    if "thresholds" in entry:
        raw_t = entry["thresholds"]
        if not isinstance(raw_t, list) or any(isinstance(v, bool) or not isinstance(v, (int, Decimal)) for v in raw_t):
            raise ValueError(
                f"thresholds: must be a list of three percentages such as [75, 90, 95], got {shown(raw_t)}"
            )
        thresholds = check_thresholds([Decimal(v) for v in raw_t])
    return Budget(scope, kind, limit, period, thresholds, f"{scope} ({period})")


def parse_budgets(data: dict[str, Any], path: Path | None) -> list[Budget]:
    """The ``[[budgets]]`` of a parsed config; ConfigError naming the file, ``budgets[i]`` and the problem."""
    raw = data.get("budgets", [])
    name = f"config {path}" if path else "config"
    if not isinstance(raw, list):
        raise ConfigError(f"{name}: budgets: must be an array of tables ([[budgets]]), got a {type(raw).__name__}")
    out: list[Budget] = []
    seen: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(raw):
        try:
            budget = parse_budget(entry)
        except ValueError as exc:
            raise ConfigError(f"{name}: budgets[{i}]: {exc}") from None
        key = (budget.scope, budget.period)
        if key in seen:
            raise ConfigError(
                f"{name}: budgets[{i}]: same scope and period as budgets[{seen[key]}] ({budget.label})",
                hint="keep one budget per scope and period",
            )
        seen[key] = i
        out.append(budget)
    return out


def plan_quota_budget(quota: int) -> Budget:
    return Budget("global", "tokens", Decimal(quota), "month", DEFAULT_THRESHOLDS, PLAN_QUOTA_LABEL)


def load_budgets(ctx: AppContext) -> list[Budget]:
    """The plan quota (when set) first, then the ``[[budgets]]`` in config order."""
    budgets = parse_budgets(ctx.config.data, ctx.config.path)
    if ctx.config.monthly_token_quota:
        budgets.insert(0, plan_quota_budget(ctx.config.monthly_token_quota))
    return budgets


# --------------------------------------------------------------------------- editing


def config_file_for_edit(explicit: Path | None) -> Path:
    """``--config``, ``$USAGECTL_CONFIG``, ``./usagectl.toml`` if it exists, else the user config
    path; a symlink is followed so the link survives the atomic replace."""
    path = default_config_write_path(explicit)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    return read_toml(path)


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same types (so 500.0 never turns into 500, NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, Decimal) and a.is_nan():
        return bool(b.is_nan())
    return bool(a == b)


def _value(value: Any) -> str:
    """One TOML value on one line (a list as ``[a, b]``, the way a person writes thresholds)."""
    import tomli_w

    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return tomli_w.dumps({"v": value})[4:].rstrip("\n")


def _table(entry: dict[str, Any]) -> str:
    return "[[budgets]]\n" + "".join(f"{key} = {_value(value)}\n" for key, value in entry.items())


def _dumps(data: dict[str, Any]) -> str:
    """tomli-w for everything, but the budgets as ``[[budgets]]`` blocks at the end, one key a
    line and thresholds on one line (tomli-w would inline them)."""
    import tomli_w

    rest = {k: v for k, v in data.items() if k != "budgets"}
    parts = [tomli_w.dumps(rest)] if rest else []
    parts.extend(_table(entry) for entry in data.get("budgets", []))
    return "\n".join(parts)


def _own_text(path: Path) -> str | None:
    """The file's text with its line endings as they are (``read_text`` would turn CRLF into
    LF, and the file written back would change every line); None when it cannot be read."""
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _edited(path: Path, data: dict[str, Any]) -> str | None:
    """The file's own text with only the budget that changed edited (``toml_edit``): comments,
    formatting and line endings stay. None when the file is new or cannot be edited so with
    certainty."""
    from usagectl.services.toml_edit import edit_array_tables, edit_inline_array, newline_of

    raw = _own_text(path)
    if raw is None:
        return None
    bom = "\ufeff" if raw.startswith("\ufeff") else ""  # kept, as the line endings are (read_toml skips it)
    raw = raw.removeprefix(bom)
    eol = newline_of(raw)
    text = raw.replace("\r\n", "\n") if eol == "\r\n" else raw  # edited as LF, written back as it was
    try:
        before = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError:
        return None
    rest = {k: v for k, v in data.items() if k != "budgets"}
    if not _same({k: v for k, v in before.items() if k != "budgets"}, rest):
        return None
    old, new = before.get("budgets", []), data.get("budgets", [])
    if not isinstance(old, list):
        return None
    edited = edit_array_tables(text, "budgets", old, new, _value, _table)
    if edited is None and old:  # no [[budgets]] table matched: an inline array, maybe
        edited = edit_inline_array(text, "budgets", new, _value)
    if edited is None:
        return None
    try:
        if not _same(tomllib.loads(edited, parse_float=Decimal), data):
            return None
    except tomllib.TOMLDecodeError:
        return None
    return bom + (edited.replace("\n", eol) if eol != "\n" else edited)


def _refuse_inline_array(path: Path) -> None:
    """An inline ``budgets = [...]`` that could not be edited in place (comments inside a
    multi-line array) is refused rather than written whole by tomli-w, which would drop every
    comment of the file; as ``[[budgets]]`` tables it is edited line by line."""
    from usagectl.services.toml_edit import has_root_assignment

    try:
        inline = has_root_assignment(path.read_text(encoding="utf-8-sig"), "budgets")
    except (OSError, UnicodeDecodeError):
        return
    if inline:
        raise ConfigError(
            f"config {path}: the budgets are an inline array (budgets = [...]) that cannot be edited in "
            "place (comments inside it); rewriting the file would lose its comments, so it was left as it was",
            hint="write each budget as a [[budgets]] table (scope, amount or tokens, period: one key a line) "
            "after the other sections and delete the budgets = [...] lines; budget set / rm then change only "
            "that budget's lines",
        )


def _rewritten(path: Path, data: dict[str, Any]) -> tuple[str, str | None]:
    """The whole file written by tomli-w (``_dumps``) in the file's own line endings, and the
    warning to show, for a file the line edit could not follow. A file holding comments is
    refused (exit 2) instead, as an inline array with comments inside is: the rewrite would drop
    every one of them, silently."""
    from usagectl.services.toml_edit import has_comment, newline_of

    raw = _own_text(path) or ""
    if has_comment(raw):
        raise ConfigError(
            f"config {path}: the budget's lines are laid out in a way budget set / rm cannot edit in place "
            "(a value spread over lines with comments inside, a dotted key); rewriting the file would lose "
            "its comments, so it was left as it was",
            hint="write each [[budgets]] key on one line (scope = ..., amount = ..., period = ..., "
            "thresholds = [75, 90, 95]) and run the command again",
        )
    text = _dumps(data)
    if not raw.strip():
        return text, None  # a new or empty file: no formatting to keep
    warning = (
        f"config {path} was written whole (its budgets are laid out in a way the line edit cannot follow): "
        "its values are kept, its blank lines, number spellings and order of sections are not"
    )
    eol = newline_of(raw)
    return (text.replace("\n", eol) if eol != "\n" else text), warning


def _write(path: Path, data: dict[str, Any]) -> str | None:
    """Write ``data`` to ``path`` when the whole config would load (every section, by the loaders the
    commands use): a config that some command would reject is refused (exit 2) before anything is
    written or reported, and the file stays byte for byte as it was. Returns a warning when the
    file had to be written whole."""
    check_config(parse_config(data, path))
    text = _edited(path, data)
    warning = None
    if text is None:
        _refuse_inline_array(path)
        text, warning = _rewritten(path, data)
    if not _same(tomllib.loads(text.removeprefix("\ufeff"), parse_float=Decimal), data):
        raise ConfigError(
            f"config {path}: writing it back would change a value; the file was left as it was",
            hint="upgrade tomli-w (>= 1.2 keeps decimals exact)",
        )
    try:
        _replace(path, text)
    except OSError as exc:  # a read-only file system, no permission, a full disk: the file is as it was
        raise ConfigError(f"config {path} cannot be written: {os_reason(exc)}") from exc
    return warning


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place (keeping the
    file's mode), so a failure leaves the old file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        mode = path.stat().st_mode & 0o7777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _edit_lock(path: Path) -> Iterator[None]:
    """Edits of one config take turns, from reading it to renaming the new text into place: two
    ``budget set`` started together each read the file, and the last rename kept only its own
    budget while both said "added" (QA). The lock file ``.NAME.lock`` stays beside the config
    (removing it would let a third edit lock a new file while a second still waits on the old)."""
    from usagectl.store.run_lock import waiting_lock

    lock = path.with_name(f".{path.name}.lock")
    with contextlib.ExitStack() as stack:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(waiting_lock(lock, f"config {path}"))
        except OSError as exc:  # a read-only folder: the config could not be written either
            raise ConfigError(f"config {path} cannot be written: {os_reason(exc)}") from exc
        yield


def _number(value: Decimal) -> int | Decimal:
    return int(value) if value == value.to_integral_value() else value


def set_budget(
    config_path: Path | None,
    scope: str,
    amount: str,
    *,
    period: str = "month",
    thresholds: str | None = None,
    tokens: bool = False,
) -> ConfigEdit:
    """Add the budget, or replace the one with the same scope and period (keeping its thresholds
    unless new ones are given). Returns the file written and what changed, in words."""
    try:
        scope_n, period_n = normalize_scope(scope), normalize_period(period)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    limit = parse_amount(amount, tokens=tokens)
    new_t = parse_thresholds(thresholds) if thresholds is not None else None
    path = config_file_for_edit(config_path)
    with _edit_lock(path):
        return _set_budget(path, scope_n, period_n, limit, new_t, tokens)


def _set_budget(
    path: Path,
    scope_n: str,
    period_n: str,
    limit: Decimal,
    new_t: tuple[Decimal, Decimal, Decimal] | None,
    tokens: bool,
) -> ConfigEdit:
    data = _read(path)
    current = parse_budgets(data, path)
    entries: list[Any] = list(data.get("budgets", []))
    index = next((i for i, b in enumerate(current) if (b.scope, b.period) == (scope_n, period_n)), None)
    entry: dict[str, Any] = {"scope": scope_n}
    entry["tokens" if tokens else "amount"] = int(limit) if tokens else limit
    entry["period"] = period_n
    if new_t is not None:
        entry["thresholds"] = [_number(v) for v in new_t]
    elif index is not None and "thresholds" in entries[index]:
        entry["thresholds"] = entries[index]["thresholds"]
    new = parse_budget(entry)
    shown_t = "/".join(_plain(v) for v in new.thresholds) + " %"
    if index is None:
        entries.append(entry)
        what = f"added budget {new.label}: {describe_limit(new)} per {period_n}, thresholds {shown_t}"
    else:
        entries[index] = entry
        what = f"changed budget {new.label}: {describe_limit(current[index])} -> {describe_limit(new)} per {period_n}, thresholds {shown_t}"
    data = dict(data)
    data["budgets"] = entries
    return ConfigEdit(path, what, _write(path, data))


def remove_budget(config_path: Path | None, scope: str, period: str | None = None) -> ConfigEdit:
    """Remove the budget of ``scope`` (and ``period``; without it the scope must have exactly one).
    UsageError (exit 2) when there is no such budget."""
    try:
        scope_n = normalize_scope(scope)
        period_n = normalize_period(period) if period is not None else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    path = config_file_for_edit(config_path)
    with _edit_lock(path):
        return _remove_budget(path, scope_n, period_n)


def _remove_budget(path: Path, scope_n: str, period_n: str | None) -> ConfigEdit:
    data = _read(path)
    current = parse_budgets(data, path)
    hits = [i for i, b in enumerate(current) if b.scope == scope_n and period_n in (None, b.period)]
    wanted = f"{scope_n}" + (f" ({period_n})" if period_n else "")
    if not hits:
        hint = "usagectl budget list shows the budgets"
        if scope_n == "global" and period_n in (None, "month") and isinstance(data.get("plan"), dict):
            hint = "the plan quota is [plan] monthly_token_quota: edit or delete that key instead"
        raise UsageError(f"no budget {wanted} in {path}", hint=hint)
    if len(hits) > 1:
        periods = ", ".join(current[i].period for i in hits)
        raise UsageError(f"{scope_n} has budgets for several periods ({periods}): choose one with --period")
    gone = current[hits[0]]
    entries = [e for i, e in enumerate(data["budgets"]) if i != hits[0]]
    data = dict(data)
    if entries:
        data["budgets"] = entries
    else:
        del data["budgets"]
    warning = _write(path, data)
    return ConfigEdit(path, f"removed budget {gone.label}: {describe_limit(gone)} per {gone.period}", warning)
