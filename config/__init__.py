"""Gateway configuration: defaults in TOML, overrides by file and `SMSGW_*` variables."""

from config.loader import ConfigError, load_settings
from config.settings import Settings

__all__ = ["ConfigError", "Settings", "load_settings"]
