"""What every service needs: the config, the database path, the price book."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from usagectl.config import Config, load_config, resolve_db_path

if TYPE_CHECKING:
    from usagectl.pricing import PriceBook


@dataclass(frozen=True)
class AppContext:
    config: Config
    db_path: Path

    def pricebook(self) -> PriceBook:
        from usagectl.pricing import load_pricebook

        return load_pricebook(self.config.pricing_dir)


def make_context(config_path: Path | None = None, db: Path | None = None) -> AppContext:
    config = load_config(config_path)
    return AppContext(config=config, db_path=resolve_db_path(db, config))
