"""pydantic-settings' readers of the TOML file and the ``MAGFLOW_CONSOLE_*`` environment.

Apart from ``config_sources`` so that importing the setting models does not import
pydantic-settings (~50 ms): only loading a profile does. The TUI's process receives the
profile its forked child loaded (``magflow_console.main``) and never loads one itself
before its first frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from magflow_console.config_sources import ENV_PREFIX


class SettingsEnv(BaseSettings):
    """Shape used by pydantic-settings' env source for the top level."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore"
    )
    default_profile: str | None = None
    audit_log: str | None = None
    profiles: dict[str, dict[str, Any]] | None = None


class ProfileEnv(BaseSettings):
    """Shape used by the env source for the active-profile shortcuts."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore"
    )
    database: dict[str, Any] | None = None
    docker: dict[str, Any] | None = None
    alembic: dict[str, Any] | None = None
    api: dict[str, Any] | None = None
    redis: dict[str, Any] | None = None
    sync: dict[str, Any] | None = None
    read_only: Any = None
    protected: Any = None
    refresh_interval: Any = None
    keys: dict[str, Any] | None = None


#: the shapes ``read_env`` reads
SHAPES: dict[str, type[BaseSettings]] = {"top": SettingsEnv, "profile": ProfileEnv}


class _TomlShape(BaseSettings):
    model_config = SettingsConfigDict(extra="allow")


def read_toml(path: Path) -> dict[str, Any]:
    """The file's tables as a dict (raises what ``tomllib`` and reading raise)."""
    return dict(TomlConfigSettingsSource(_TomlShape, toml_file=path)())


def read_env(shape: Literal["top", "profile"], environ: Mapping[str, str]) -> dict[str, Any]:
    """``environ``'s ``MAGFLOW_CONSOLE_*`` variables in one of ``SHAPES`` (raises
    pydantic-settings' ``SettingsError`` on a bad JSON value)."""
    source = EnvSettingsSource(SHAPES[shape], env_prefix=ENV_PREFIX, env_nested_delimiter="__")
    source.env_vars = {k.lower(): v for k, v in environ.items() if k.startswith(ENV_PREFIX)}
    return source()
