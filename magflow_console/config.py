"""Configuration: typed models, named profiles, and where every value came from.

Sources, highest first: CLI flags > environment (``MAGFLOW_CONSOLE_*``, nested with
``__``) > TOML file > defaults. The TOML file is ``--config PATH``, else
``$MAGFLOW_CONSOLE_CONFIG``, else ``$XDG_CONFIG_HOME/magflow-console/config.toml``.

pydantic-settings reads the file and the environment (its TOML and env sources);
``config_sources`` merges the layers itself, keeping where each key came from, so that
``magflow-console info`` can say which layer every effective value came from, and so
that a bad value is reported as one line naming the file (or variable) and the key
(``config_sources.ConfigError``). The models, choosing the profile, ``load_config`` and
resolving URLs and secrets live here.

Environment forms:
- ``MAGFLOW_CONSOLE_DEFAULT_PROFILE=prod``
- ``MAGFLOW_CONSOLE_PROFILES__PROD__DATABASE__URL_ENV=PROD_DATABASE_URL`` (any profile)
- ``MAGFLOW_CONSOLE_DATABASE__URL=...`` (shortcut: applies to the active profile)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from magflow_console import paths
from magflow_console.config_sources import (
    ConfigError,
    ExposedFile,
    check_env_names,
    exposed_secret_files,
    flatten,
    merge_profile,
    merge_top_level,
    read_config_file,
    validation_error,
)
from magflow_console.render.text import scrub

DEFAULT_SERVICES: dict[str, str] = {
    "app": "magflow_app",
    "worker": "magflow_worker",
    "beat": "magflow_beat",
    "db": "magflow_db",
    "redis": "magflow_redis",
}
DEFAULT_PROFILE_NAME = "local"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DatabaseSettings(_Section):
    url: str | None = Field(
        default="postgresql+psycopg://app@localhost:5433/magflow",
        description="SQLAlchemy/libpq URL of the MagFlow database (a password here is allowed "
        "but not required; prefer password_env or url_env).",
    )
    url_env: str | None = Field(
        default=None, description="Name of an env var holding the whole URL (wins over url)."
    )
    password_env: str | None = Field(
        default=None,
        description="Name of an env var holding the password (used if the URL has none).",
    )
    password_file: Path | None = Field(
        default=None, description="File holding the password (used if the URL has none)."
    )
    db_schema: str = Field(default="app", alias="schema", description="MagFlow's schema.")
    connect_timeout: float = Field(default=3.0, gt=0, description="Seconds.")
    statement_timeout_ms: int = Field(
        default=5000, gt=0, description="Milliseconds, per statement."
    )


class DockerSettings(_Section):
    host: str | None = Field(
        default=None,
        description="Docker engine URL (unix://, tcp://, ssh://). Default: $DOCKER_HOST, else the local socket.",
    )
    project: str | None = Field(
        default="magflow", description="Compose project label to select by."
    )
    prefix: str | None = Field(
        default="magflow_", description="Container-name prefix to select by."
    )
    services: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_SERVICES),
        description="Compose service -> container name.",
    )
    timeout: float = Field(default=3.0, gt=0, description="Seconds per Docker API call.")


class AlembicSettings(_Section):
    strategy: Literal["container", "local"] = Field(
        default="container",
        description="How migrations run: 'container' (alembic inside the app container) or 'local'.",
    )
    scripts: Path | None = Field(
        default=None, description="Local alembic folder (the one holding versions/)."
    )
    container_service: str = Field(
        default="app", description="Service whose container holds the alembic folder."
    )
    container_path: str = Field(
        default="/app/alembic", description="Alembic folder inside that container."
    )
    container_workdir: str = Field(
        default="/app", description="Working directory for `alembic` in the container."
    )


class ApiSettings(_Section):
    url: str | None = Field(default="http://localhost:8000", description="API base URL.")
    username_env: str | None = Field(
        default="MAGFLOW_API_USERNAME", description="Env var holding the API login email."
    )
    password_env: str | None = Field(
        default="MAGFLOW_API_PASSWORD", description="Env var holding the API password."
    )
    password_file: Path | None = Field(default=None, description="File holding the API password.")
    timeout: float = Field(default=3.0, gt=0, description="Seconds per health probe.")
    min_interval: float = Field(
        default=5.0,
        ge=5.0,
        le=3600,
        description="Seconds between API polls, at least 5: MagFlow allows 100 requests a "
        "minute per health path per API process, so 8 consoles polling every 5 s stay "
        "below it together.",
    )


class RedisSettings(_Section):
    url: str | None = Field(
        default=None,
        description="Redis URL (db 0: Celery's broker and results, the login cache). Default: "
        "the worker container's CELERY_BROKER_URL, mapped to the port redis publishes.",
    )
    url_env: str | None = Field(
        default=None, description="Name of an env var holding the Redis URL."
    )
    timeout: float = Field(default=3.0, gt=0, description="Seconds per Redis call.")


class SyncSettings(_Section):
    strategy: Literal["celery", "api"] = Field(
        default="celery", description="How syncs are triggered."
    )
    running_timeout_minutes: int = Field(
        default=60, gt=0, description="A committed 'running' row older than this is stale."
    )
    no_success_hours: float = Field(
        default=24.0,
        gt=0,
        description="Alert when an account has no successful sync for this long.",
    )
    recent_limit: int = Field(default=50, gt=0, le=1000, description="Sync runs shown.")
    watch_timeout_seconds: float = Field(
        default=900.0, gt=0, description="How long to watch for a triggered sync's outcome."
    )


class Profile(_Section):
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    docker: DockerSettings = Field(default_factory=DockerSettings)
    alembic: AlembicSettings = Field(default_factory=AlembicSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    read_only: bool = Field(default=False, description="Refuse every action.")
    protected: bool = Field(
        default=False, description="Production: actions need the profile name typed."
    )
    refresh_interval: float = Field(
        default=5.0, ge=0.5, le=3600, description="Seconds between refreshes."
    )
    keys: dict[str, str] = Field(
        default_factory=dict, description="Binding id -> key(s), e.g. refresh = 'r,f5'."
    )


class Settings(_Section):
    default_profile: str = Field(
        default=DEFAULT_PROFILE_NAME, description="Profile used without --profile."
    )
    audit_log: Path | None = Field(
        default=None, description="Audit log file (default: XDG state dir)."
    )
    profiles: dict[str, Profile] = Field(default_factory=dict)

    @field_validator("profiles")
    @classmethod
    def _names(cls, value: dict[str, Profile]) -> dict[str, Profile]:
        for name in value:
            if not name or not name.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"profile name {name!r} must be letters, digits, '-' or '_'")
        return value


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class LoadedConfig:
    """The active profile, plus where each effective value came from."""

    profile_name: str
    profile: Profile
    settings: Settings
    config_file: Path | None  # the file read, if any
    searched: tuple[tuple[str, Path, bool], ...]  # (how it was chosen, path, exists)
    origins: Mapping[str, str] = field(default_factory=dict)  # "database.url" -> "env MAGFLOW_..."
    #: the ``demo`` command's profile: a part the demo does not have (no Docker engine, no
    #: Redis) is information, not a fault (``Backend``). Set by that command only, never
    #: by a file or the environment, so a real profile cannot hide an outage with it.
    demo: bool = False

    @property
    def audit_log(self) -> Path:
        return self.settings.audit_log or paths.audit_log_file()

    def exposed_files(self) -> list[ExposedFile]:
        """The config and secret files other users can read (said once by ``info`` and
        ``doctor``; the TUI's header marks it and its findings screen lists it)."""
        return exposed_secret_files(self.config_file, self.profile.model_dump())


def load_config(
    *,
    config_path: str | None = None,
    profile: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    check_url: bool = True,
) -> LoadedConfig:
    """Load, merge and validate. Raises ConfigError with a one-line message.
    ``check_url=False`` leaves the database URL's query to ``check_database_url``, which
    the caller runs before it reads the database (a cold ``status`` runs it once its
    forked child is reading: the check imports psycopg, which the child never needs)."""
    environ = os.environ if environ is None else environ
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}

    file_data, config_file, searched = read_config_file(config_path, environ)

    check_env_names(environ, _KNOWN_ENV_HEADS)
    merged, origins = merge_top_level(file_data, config_file, environ)

    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise validation_error(exc, origins, prefix="") from None

    name = _choose_profile(profile, merged, settings, config_file)

    profile_data, profile_origins = merge_profile(merged, origins, name, environ, overrides)

    try:
        active = Profile.model_validate(profile_data)
    except ValidationError as exc:
        raise validation_error(exc, profile_origins, prefix=f"profiles.{name}.") from None
    if check_url:
        _check_database_url(active, profile_origins, f"profiles.{name}.", environ)

    return LoadedConfig(
        profile_name=name,
        profile=active,
        settings=settings,
        config_file=config_file,
        searched=tuple(searched),
        origins=profile_origins,
    )


def check_database_url(loaded: LoadedConfig, environ: Mapping[str, str] | None = None) -> None:
    """``load_config``'s check of the database URL's query, when it was left out
    (``check_url=False``); raises ConfigError as ``load_config`` would."""
    _check_database_url(
        loaded.profile,
        loaded.origins,
        f"profiles.{loaded.profile_name}.",
        os.environ if environ is None else environ,
    )


def _check_database_url(
    profile: Profile, origins: Mapping[str, str], prefix: str, environ: Mapping[str, str]
) -> None:
    """A database URL whose query libpq cannot take (an unknown parameter, a bad value of
    a known one) is a configuration error naming where it came from, not "database
    unreachable". Only a URL with a query is parsed here: libpq's parser costs the
    psycopg import, which commands without the database do not pay."""
    db = profile.database
    if db.url_env:
        url, key = environ.get(db.url_env), "database.url_env"
        where = f"env {db.url_env}"
    else:
        url, key = db.url, "database.url"
        where = origins.get(key, "default").removeprefix("file ")
    if not url or "?" not in url:
        return
    from magflow_console.sources.pg_conn import SourceError, parse_url

    try:
        parse_url(normalise_pg_url(url))
    except SourceError as exc:
        raise ConfigError(f"{where}: {prefix}{key}: {exc}") from None


def _choose_profile(
    requested: str | None, merged: Mapping[str, Any], settings: Settings, config_file: Path | None
) -> str:
    """--profile, else default_profile, else 'local', else the only profile defined."""
    where = config_file or "no config file"
    known = ", ".join(sorted(settings.profiles)) or "none"
    if requested is not None:
        if requested in settings.profiles or (
            requested == DEFAULT_PROFILE_NAME and not settings.profiles
        ):
            return requested
        raise ConfigError(f"{where}: profile '{requested}' is not defined (profiles: {known})")
    if "default_profile" in merged:
        name = settings.default_profile
        if name in settings.profiles or (name == DEFAULT_PROFILE_NAME and not settings.profiles):
            return name
        raise ConfigError(
            f"{where}: default_profile: profile '{name}' is not defined (profiles: {known})"
        )
    if not settings.profiles or DEFAULT_PROFILE_NAME in settings.profiles:
        return DEFAULT_PROFILE_NAME
    if len(settings.profiles) == 1:
        return next(iter(settings.profiles))
    raise ConfigError(f"{where}: several profiles ({known}) and no default_profile: pass --profile")


_KNOWN_ENV_HEADS = {
    "CONFIG",
    "DEFAULT_PROFILE",
    "AUDIT_LOG",
    "PROFILES",
    *(n.upper() for n in Profile.model_fields),
}


# --------------------------------------------------------------------------- resolution


def _read_secret(
    env_name: str | None, file: Path | None, environ: Mapping[str, str], key: str
) -> str | None:
    if env_name and environ.get(env_name):
        return environ[env_name]
    if file:
        try:
            return file.expanduser().read_text().strip() or None
        except OSError as exc:
            raise ConfigError(f"{key}: cannot read {file}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{key}: {file} is not UTF-8 text") from None
    return None


def normalise_pg_url(url: str) -> str:
    """MagFlow's URLs use asyncpg or plain postgresql://; the console uses psycopg 3."""
    for prefix in (
        "postgresql+asyncpg://",
        "postgresql+psycopg2://",
        "postgresql://",
        "postgres://",
    ):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def database_url(profile: Profile, environ: Mapping[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    db = profile.database
    url = db.url
    if db.url_env:
        url = environ.get(db.url_env) or None
        if url is None:
            raise ConfigError(f"database.url_env: environment variable {db.url_env} is not set")
    if not url:
        return None
    url = normalise_pg_url(url)
    parts = urlsplit(url)
    if parts.password is None:
        password = _read_secret(
            db.password_env, db.password_file, environ, "database.password_file"
        )
        if password is not None and "@" in parts.netloc:
            user, host = parts.netloc.rsplit("@", 1)
            url = urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))
    return url


def docker_host(profile: Profile, environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return profile.docker.host or environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def redis_url(profile: Profile, environ: Mapping[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    if profile.redis.url_env:
        return environ.get(profile.redis.url_env) or None
    return profile.redis.url


def api_credentials(
    profile: Profile, environ: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    environ = os.environ if environ is None else environ
    user = environ.get(profile.api.username_env or "") or None
    password = _read_secret(
        profile.api.password_env, profile.api.password_file, environ, "api.password_file"
    )
    if user and password:
        return user, password
    return None


def effective_items(loaded: LoadedConfig) -> list[tuple[str, str, str]]:
    """(key, displayed value, source) for every effective setting, secrets masked."""
    rows: list[tuple[str, str, str]] = []
    dumped = loaded.profile.model_dump(by_alias=True)
    for dotted, value in flatten(dumped):
        origin = loaded.origins.get(dotted, "default")
        shown: str
        if isinstance(value, str) and "url" in dotted.split(".")[-1]:
            shown = scrub(value)
        elif isinstance(value, dict):
            shown = ", ".join(f"{k}={v}" for k, v in value.items()) or "(none)"
        else:
            shown = "" if value is None else str(value)
        if dotted == "docker.host" and value is None:
            env_host = os.environ.get("DOCKER_HOST")
            shown = scrub(docker_host(loaded.profile))
            origin = "env DOCKER_HOST" if env_host else "default"
        rows.append((dotted, shown, origin))
    return rows
