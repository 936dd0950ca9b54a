"""The ``[[webhooks]]`` tables of the config file, parsed and validated.

```toml
[[webhooks]]
url = "https://hooks.example.com/usagectl"
events = ["budget.threshold", "usage.daily_summary", "usage.anomaly", "invoice.monthly"]
secret_env = "USAGECTL_WEBHOOK_SECRET"   # NAME of the env var holding the signing secret
format = "json"                          # or "slack"
timeout_seconds = 10                     # optional, seconds per HTTP attempt (the whole of it)
max_attempts = 4                         # optional, attempts per run
```

The secret itself never appears in the config: only the name of the variable. It is read at
send time (``secret_for``); a missing or empty variable is a ``ConfigError`` naming the
variable, never its value. ``--dry-run`` needs no secret.

A secret pasted into ``secret_env`` by mistake would be printed as a "variable name" by every
message that names the variable (into cron and CI logs): a value that is not a variable name,
or that looks like a secret (``_looks_like_a_secret``), is refused (exit 2) without being shown.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from usagectl.config import Config, shown
from usagectl.errors import ConfigError
from usagectl.models import noun

EVENT_TYPES: tuple[str, ...] = ("budget.threshold", "usage.daily_summary", "usage.anomaly", "invoice.monthly")
FORMATS: tuple[str, ...] = ("json", "slack")
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_ATTEMPTS = 4
MAX_TIMEOUT = 300
MAX_ATTEMPTS_LIMIT = 20
_KEYS = frozenset({"url", "events", "secret_env", "format", "timeout_seconds", "max_attempts"})
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# how common secrets begin: Stripe / Svix webhook secrets, Stripe and OpenAI-style API keys,
# GitHub tokens, Slack tokens (their '-' already makes them no variable name)
_SECRET_PREFIXES = ("whsec_", "sk_", "rk_", "sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox")
_AWS_KEY_ID = re.compile(r"^(AKIA|ASIA)[0-9A-Z]{16}$")

WebhookFormat = Literal["json", "slack"]


@dataclass(frozen=True)
class Webhook:
    """One configured endpoint. ``index`` is its position in ``[[webhooks]]`` (for messages)."""

    index: int
    url: str
    events: tuple[str, ...]
    secret_env: str
    format: WebhookFormat = "json"
    timeout_seconds: float = DEFAULT_TIMEOUT  # the deadline of one attempt, not money: float is right here
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def wants(self, event_type: str) -> bool:
        return event_type in self.events


def _where(path: Path | None, i: int, key: str | None = None) -> str:
    loc = f"webhooks[{i}]" + (f".{key}" if key else "")
    return f"config {path}: {loc}" if path else loc


def _url(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: must be a non-empty string (http:// or https:// URL)")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: {value!r} is not an http:// or https:// URL with a host")
    return value.strip()


def _events(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: must be a non-empty list of event names ({', '.join(EVENT_TYPES)})")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or item not in EVENT_TYPES:
            raise ConfigError(f"{where}: unknown event {item!r} (allowed: {', '.join(EVENT_TYPES)})")
        if item not in out:
            out.append(item)
    return tuple(out)


def _looks_like_a_secret(name: str) -> bool:
    """A variable name by the rules, but written like a secret: a known secret's prefix, an AWS
    key id, or 12 or more letters and digits with lower case and no ``_`` (a generated token
    such as ``openssl rand -hex`` gives, not a name anyone types)."""
    if name.startswith(_SECRET_PREFIXES) or _AWS_KEY_ID.match(name):  # as the services write them: lower case
        return True
    generated = "_" not in name and len(name) >= 12 and name != name.upper()
    return generated and any(c.isdigit() for c in name) and any(c.isalpha() for c in name)


def _secret_env(value: Any, where: str) -> str:
    """The variable name; a ConfigError when it is none. The value is never shown in it: a
    value that is no variable name is most likely the secret itself, pasted in by mistake."""
    if isinstance(value, str) and _ENV_NAME.match(value) and not _looks_like_a_secret(value):
        return value
    if not isinstance(value, str):
        what = "is not a string"
    elif _ENV_NAME.match(value):
        what = "looks like a secret rather than a variable name"
    else:
        what = "is not a variable name"
    raise ConfigError(
        f"{where}: must be the NAME of the environment variable that holds the signing secret "
        f"(letters, digits and _, such as USAGECTL_WEBHOOK_SECRET); its value {what}, and is not shown here",
        hint="put the secret in an environment variable (export USAGECTL_WEBHOOK_SECRET=...) and write "
        "only its name in the config; a secret that was in the config file (or a log) should be rotated",
    )


def _timeout(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or not 0 < value <= MAX_TIMEOUT:
        raise ConfigError(f"{where}: must be a number of seconds > 0 and <= {MAX_TIMEOUT}, got {shown(value)}")
    return float(value)


def _attempts(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ATTEMPTS_LIMIT:
        raise ConfigError(f"{where}: must be an integer from 1 to {MAX_ATTEMPTS_LIMIT}, got {shown(value)}")
    return value


def parse_webhooks(config: Config) -> tuple[Webhook, ...]:
    """Validate ``config.data["webhooks"]``; errors name the file, ``webhooks[i]``, the key and the problem."""
    path = config.path
    raw = config.data.get("webhooks")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        where = f"config {path}: webhooks" if path else "webhooks"
        raise ConfigError(f"{where}: must be an array of tables ([[webhooks]]), got {type(raw).__name__}")
    hooks: list[Webhook] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(raw):
        if not isinstance(table, dict):
            raise ConfigError(f"{_where(path, i)}: must be a table ([[webhooks]])")
        unknown = sorted(set(table) - _KEYS)
        if unknown:
            raise ConfigError(
                f"{_where(path, i)}: unknown {noun(len(unknown), 'key')} {', '.join(unknown)} "
                f"(allowed: {', '.join(sorted(_KEYS))})"
            )
        for key in ("url", "events", "secret_env"):
            if key not in table:
                raise ConfigError(f"{_where(path, i, key)}: required")
        url = _url(table["url"], _where(path, i, "url"))
        if url in seen:
            raise ConfigError(f"{_where(path, i, 'url')}: the same URL as webhooks[{seen[url]}] (list its events once)")
        seen[url] = i
        fmt = table.get("format", "json")
        if fmt not in FORMATS:
            raise ConfigError(f"{_where(path, i, 'format')}: must be one of {', '.join(FORMATS)}, got {shown(fmt)}")
        hooks.append(
            Webhook(
                index=i,
                url=url,
                events=_events(table["events"], _where(path, i, "events")),
                secret_env=_secret_env(table["secret_env"], _where(path, i, "secret_env")),
                format="slack" if fmt == "slack" else "json",
                timeout_seconds=_timeout(table.get("timeout_seconds", 10), _where(path, i, "timeout_seconds")),
                max_attempts=_attempts(
                    table.get("max_attempts", DEFAULT_MAX_ATTEMPTS), _where(path, i, "max_attempts")
                ),
            )
        )
    return tuple(hooks)


def secret_for(hook: Webhook, config: Config) -> str:
    """The signing secret from the environment; a ConfigError naming the variable when unset."""
    value = os.environ.get(hook.secret_env)
    if not value:
        where = f"config {config.path}: " if config.path else ""
        raise ConfigError(
            f"{where}webhooks[{hook.index}].secret_env: environment variable {hook.secret_env} is not set or empty",
            hint=f"export {hook.secret_env}=<the signing secret shared with the receiver of webhooks[{hook.index}]>",
        )
    return value
