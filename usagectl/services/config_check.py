"""The whole config checked at once, by the same loaders the commands use.

Each section is read lazily by the command that needs it (``notify`` reads ``[[webhooks]]``,
``invoice`` reads ``[tax]``), so a broken section goes unnoticed until that command runs. This
module runs every loader: ``budget set`` / ``budget rm`` refuse to write a config that one of them
rejects, and ``doctor`` reports each rejection as a finding. ``[plan]``, ``[display]``,
``[members]``, ``[pricing]`` and ``[database]`` are checked when the file is loaded
(``config.parse_config``), before anything here runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from usagectl.config import Config
from usagectl.errors import ConfigError


def _loaders() -> tuple[tuple[str, Callable[[Config], Any]], ...]:
    """(section, loader) for every section a command reads after loading the config."""
    from usagectl.services.allocation import default_allocation
    from usagectl.services.budget_config import parse_budgets
    from usagectl.services.focus import billing_account
    from usagectl.services.invoice import billing_start, load_credits, load_tax
    from usagectl.services.webhook_config import parse_webhooks

    return (
        ("budgets", lambda c: parse_budgets(c.data, c.path)),
        ("webhooks", parse_webhooks),
        ("credits", load_credits),
        ("tax", load_tax),
        ("billing", billing_start),
        ("focus", billing_account),
        ("team", default_allocation),
    )


def config_errors(config: Config) -> list[tuple[str, ConfigError]]:
    """(section, error) for each section whose loader rejects it, in a fixed order; empty when all load."""
    out: list[tuple[str, ConfigError]] = []
    for section, load in _loaders():
        try:
            load(config)
        except ConfigError as exc:
            out.append((section, exc))
    return out


def check_config(config: Config) -> None:
    """Raise the first section's ConfigError (exit 2), as the command that reads it would."""
    errors = config_errors(config)
    if errors:
        raise errors[0][1]
