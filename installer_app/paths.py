"""Where configuration, data and logs live (platformdirs), overridable per run."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "installer-app"
APP_AUTHOR = "installer-app"


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)) / "config.toml"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def key_creation_lock_file() -> Path:
    """Held while a run creates the store key in the OS credential store (one per account)."""
    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)) / ".store-key.lock"


def default_log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))
