"""XDG locations: config, state (audit log), cache."""

from __future__ import annotations

import os
from pathlib import Path

APP_DIR = "magflow-console"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / fallback


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / APP_DIR


def state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state") / APP_DIR


def cache_dir() -> Path:
    return _xdg("XDG_CACHE_HOME", ".cache") / APP_DIR


def default_config_file() -> Path:
    return config_dir() / "config.toml"


def audit_log_file() -> Path:
    return state_dir() / "audit.jsonl"
