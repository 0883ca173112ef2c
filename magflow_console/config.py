"""Configuration: typed models, named profiles, and where every value came from.

Sources, highest first: CLI flags > environment (``MAGFLOW_CONSOLE_*``, nested with
``__``) > TOML file > defaults. The TOML file is ``--config PATH``, else
``$MAGFLOW_CONSOLE_CONFIG``, else ``$XDG_CONFIG_HOME/magflow-console/config.toml``.

pydantic-settings reads the file and the environment (its TOML and env sources);
this module merges the layers itself so that ``magflow-console info`` can say which
layer every effective value came from, and so that a bad value is reported as one
line naming the file (or variable) and the key.

Environment forms:
- ``MAGFLOW_CONSOLE_DEFAULT_PROFILE=prod``
- ``MAGFLOW_CONSOLE_PROFILES__PROD__DATABASE__URL_ENV=PROD_DATABASE_URL`` (any profile)
- ``MAGFLOW_CONSOLE_DATABASE__URL=...`` (shortcut: applies to the active profile)
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from magflow_console import paths

ENV_PREFIX = "MAGFLOW_CONSOLE_"
DEFAULT_SERVICES: dict[str, str] = {
    "app": "magflow_app",
    "worker": "magflow_worker",
    "beat": "magflow_beat",
    "db": "magflow_db",
    "redis": "magflow_redis",
}
DEFAULT_PROFILE_NAME = "local"


class ConfigError(Exception):
    """A configuration problem; ``str()`` is the one line shown to the user (exit 3)."""


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


class RedisSettings(_Section):
    url: str | None = Field(default=None, description="Redis URL (login-cache invalidation).")
    url_env: str | None = Field(
        default=None, description="Name of an env var holding the Redis URL."
    )


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


class _SettingsEnv(BaseSettings):
    """Shape used by pydantic-settings' env source for the top level."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore"
    )
    default_profile: str | None = None
    audit_log: str | None = None
    profiles: dict[str, dict[str, Any]] | None = None


class _ProfileEnv(BaseSettings):
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


class _TomlShape(BaseSettings):
    model_config = SettingsConfigDict(extra="allow")


@dataclass(frozen=True)
class LoadedConfig:
    """The active profile, plus where each effective value came from."""

    profile_name: str
    profile: Profile
    settings: Settings
    config_file: Path | None  # the file read, if any
    searched: tuple[tuple[str, Path, bool], ...]  # (how it was chosen, path, exists)
    origins: Mapping[str, str] = field(default_factory=dict)  # "database.url" -> "env MAGFLOW_..."

    @property
    def audit_log(self) -> Path:
        return self.settings.audit_log or paths.audit_log_file()


def candidate_files(cli_path: str | None, environ: Mapping[str, str]) -> list[tuple[str, Path]]:
    if cli_path:
        return [("--config", Path(cli_path).expanduser())]
    env_path = environ.get(ENV_PREFIX + "CONFIG")
    if env_path:
        return [(ENV_PREFIX + "CONFIG", Path(env_path).expanduser())]
    return [("XDG default", paths.default_config_file())]


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and key != "services" and key != "keys":
            yield from _flatten(value, dotted + ".")
        else:
            yield dotted, value


def _merge(into: dict[str, Any], layer: Mapping[str, Any]) -> None:
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, Mapping):
            into[key] = {}
            _merge(into[key], value)
        else:
            into[key] = value


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def _env_var_for(dotted: str, profile: str | None) -> str:
    pieces = dotted.split(".")
    if profile is not None:
        pieces = ["profiles", profile, *pieces]
    return ENV_PREFIX + "__".join(p.upper() for p in pieces)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return dict(TomlConfigSettingsSource(_TomlShape, toml_file=path)())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: malformed TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _read_env(model: type[BaseSettings], environ: Mapping[str, str]) -> dict[str, Any]:
    source = EnvSettingsSource(model, env_prefix=ENV_PREFIX, env_nested_delimiter="__")
    source.env_vars = {k.lower(): v for k, v in environ.items() if k.startswith(ENV_PREFIX)}
    try:
        data = source()
    except Exception as exc:  # pydantic-settings raises SettingsError on bad JSON values
        raise ConfigError(f"environment: {exc}") from None
    return _decode_json_leaves({k: v for k, v in data.items() if v is not None})


def _decode_json_leaves(data: dict[str, Any]) -> dict[str, Any]:
    """Nested env values arrive as strings; a JSON object or list is decoded
    (``MAGFLOW_CONSOLE_DOCKER__SERVICES='{"app": "x"}'``)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out[key] = _decode_json_leaves(value)
        elif isinstance(value, str) and value[:1] in ("{", "["):
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError:
                raise ConfigError(f"environment: {key}: not valid JSON") from None
        else:
            out[key] = value
    return out


def _format_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def load_config(
    *,
    config_path: str | None = None,
    profile: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedConfig:
    """Load, merge and validate. Raises ConfigError with a one-line message."""
    environ = os.environ if environ is None else environ
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}

    searched: list[tuple[str, Path, bool]] = []
    file_data: dict[str, Any] = {}
    config_file: Path | None = None
    for how, path in candidate_files(config_path, environ):
        exists = path.is_file()
        searched.append((how, path, exists))
        if exists:
            file_data = _read_toml(path)
            config_file = path
        elif how != "XDG default":
            raise ConfigError(f"{path}: config file not found (from {how})")

    _check_env_names(environ)
    top_env = _read_env(_SettingsEnv, environ)
    origins: dict[str, str] = {}
    file_label = str(config_file) if config_file else "file"

    merged: dict[str, Any] = {}
    for layer, label in ((file_data, f"file {file_label}"), (top_env, "env")):
        _merge(merged, layer)
        for dotted, _ in _flatten(layer):
            origins[dotted] = (
                label if label != "env" else f"env {ENV_PREFIX}{dotted.upper().replace('.', '__')}"
            )

    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise _validation_error(exc, origins, prefix="") from None

    name = _choose_profile(profile, merged, settings, config_file)

    profile_data: dict[str, Any] = {}
    profile_origins: dict[str, str] = {}
    raw_profile = merged.get("profiles", {}).get(name, {})
    _merge(profile_data, raw_profile)
    for dotted, _ in _flatten(raw_profile):
        src = origins.get(f"profiles.{name}.{dotted}", "file")
        profile_origins[dotted] = src

    shortcut_env = _read_env(_ProfileEnv, environ)
    _merge(profile_data, shortcut_env)
    for dotted, _ in _flatten(shortcut_env):
        profile_origins[dotted] = f"env {_env_var_for(dotted, None)}"

    for dotted, value in overrides.items():
        _set_dotted(profile_data, dotted, value)
        profile_origins[dotted] = "cli"

    try:
        active = Profile.model_validate(profile_data)
    except ValidationError as exc:
        raise _validation_error(exc, profile_origins, prefix=f"profiles.{name}.") from None

    return LoadedConfig(
        profile_name=name,
        profile=active,
        settings=settings,
        config_file=config_file,
        searched=tuple(searched),
        origins=profile_origins,
    )


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


def _check_env_names(environ: Mapping[str, str]) -> None:
    for key in environ:
        if key.startswith(ENV_PREFIX):
            head = key[len(ENV_PREFIX) :].split("__", 1)[0]
            if head not in _KNOWN_ENV_HEADS:
                raise ConfigError(f"environment: {key}: unknown key")


def _validation_error(exc: ValidationError, origins: Mapping[str, str], prefix: str) -> ConfigError:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if p not in ("function-after",))
    dotted = _format_loc(loc)
    origin = origins.get(dotted)
    if origin is None:  # nested default objects: find the closest known parent
        for dotted_origin, src in origins.items():
            if dotted.startswith(dotted_origin) or dotted_origin.startswith(dotted):
                origin = src
                break
    where = (origin or "config").removeprefix("file ")
    if err["type"] == "extra_forbidden":
        problem = "unknown key"
    else:
        problem = err["msg"]
        if (
            "input" in err
            and not isinstance(err["input"], dict | list)
            and not _looks_secret(dotted)
        ):
            problem += f" (got {err['input']!r})"
    return ConfigError(f"{where}: {prefix}{dotted}: {problem}")


def _looks_secret(dotted: str) -> bool:
    return any(s in dotted.lower() for s in ("password", "url", "secret", "token"))


# --------------------------------------------------------------------------- resolution


def mask_url(url: str | None) -> str | None:
    """Replace the password of a URL by ***; leave everything else readable."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _read_secret(env_name: str | None, file: Path | None, environ: Mapping[str, str]) -> str | None:
    if env_name and environ.get(env_name):
        return environ[env_name]
    if file:
        try:
            return file.expanduser().read_text().strip() or None
        except OSError as exc:
            raise ConfigError(f"{file}: cannot read secret file: {exc.strerror or exc}") from None
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
        password = _read_secret(db.password_env, db.password_file, environ)
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
    password = _read_secret(profile.api.password_env, profile.api.password_file, environ)
    if user and password:
        return user, password
    return None


def effective_items(loaded: LoadedConfig) -> list[tuple[str, str, str]]:
    """(key, displayed value, source) for every effective setting, secrets masked."""
    rows: list[tuple[str, str, str]] = []
    dumped = loaded.profile.model_dump(by_alias=True)
    for dotted, value in _flatten(dumped):
        origin = loaded.origins.get(dotted, "default")
        shown: str
        if isinstance(value, str) and "url" in dotted.split(".")[-1]:
            shown = mask_url(value) or ""
        elif isinstance(value, dict):
            shown = ", ".join(f"{k}={v}" for k, v in value.items()) or "(none)"
        else:
            shown = "" if value is None else str(value)
        if dotted == "docker.host" and value is None:
            env_host = os.environ.get("DOCKER_HOST")
            shown = mask_url(docker_host(loaded.profile)) or ""
            origin = "env DOCKER_HOST" if env_host else "default"
        rows.append((dotted, shown, origin))
    return rows
