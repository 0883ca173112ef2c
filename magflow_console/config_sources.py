"""Configuration sources: the TOML file and the environment, merged with provenance.

The reading side of ``magflow_console.config.load_config``: which file is read
(``candidate_files``), reading it and the ``MAGFLOW_CONSOLE_*`` environment through
pydantic-settings' TOML and env sources (``config_env``, imported only to read them),
merging layers as plain dicts while keeping the dotted keys each layer set (so that
every effective value has an origin), and turning a validation error into the one-line
``ConfigError`` that names the file (or variable) and the key.

``ConfigError`` (the one-line error naming the file or variable and the key) and
``ENV_PREFIX`` are defined here; both modules use them. This module does not import
``magflow_console.config``: the setting models, choosing the profile and
validating live there, and the known env-name heads are passed in.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ValidationError

from magflow_console import paths

ENV_PREFIX = "MAGFLOW_CONSOLE_"


class ConfigError(Exception):
    """A configuration problem; ``str()`` is the one line shown to the user (exit 3)."""


def candidate_files(cli_path: str | None, environ: Mapping[str, str]) -> list[tuple[str, Path]]:
    if cli_path:
        return [("--config", Path(cli_path).expanduser())]
    env_path = environ.get(ENV_PREFIX + "CONFIG")
    if env_path:
        return [(ENV_PREFIX + "CONFIG", Path(env_path).expanduser())]
    return [("XDG default", paths.default_config_file())]


def flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and key != "services" and key != "keys":
            yield from flatten(value, dotted + ".")
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
        from magflow_console import config_env

        return config_env.read_toml(path)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: malformed TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}): save it as UTF-8, as TOML requires"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _read_env(shape: Literal["top", "profile"], environ: Mapping[str, str]) -> dict[str, Any]:
    from magflow_console import config_env

    try:
        data = config_env.read_env(shape, environ)
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


def read_config_file(
    config_path: str | None, environ: Mapping[str, str]
) -> tuple[dict[str, Any], Path | None, list[tuple[str, Path, bool]]]:
    """(file data, the file read if any, (how chosen, path, exists) per candidate)."""
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
    return file_data, config_file, searched


def merge_top_level(
    file_data: Mapping[str, Any], config_file: Path | None, environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The file, then the top-level env, merged; plus dotted key -> origin."""
    top_env = _read_env("top", environ)
    origins: dict[str, str] = {}
    file_label = str(config_file) if config_file else "file"

    merged: dict[str, Any] = {}
    for layer, label in ((file_data, f"file {file_label}"), (top_env, "env")):
        _merge(merged, layer)
        for dotted, _ in flatten(layer):
            origins[dotted] = (
                label if label != "env" else f"env {ENV_PREFIX}{dotted.upper().replace('.', '__')}"
            )
    return merged, origins


def merge_profile(
    merged: Mapping[str, Any],
    origins: Mapping[str, str],
    name: str,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Profile ``name`` from the merged layers, then the active-profile env shortcuts,
    then the CLI overrides (dotted keys); plus dotted key -> origin."""
    profile_data: dict[str, Any] = {}
    profile_origins: dict[str, str] = {}
    raw_profile = merged.get("profiles", {}).get(name, {})
    _merge(profile_data, raw_profile)
    for dotted, _ in flatten(raw_profile):
        src = origins.get(f"profiles.{name}.{dotted}", "file")
        profile_origins[dotted] = src

    shortcut_env = _read_env("profile", environ)
    _merge(profile_data, shortcut_env)
    for dotted, _ in flatten(shortcut_env):
        profile_origins[dotted] = f"env {_env_var_for(dotted, None)}"

    for dotted, value in overrides.items():
        _set_dotted(profile_data, dotted, value)
        profile_origins[dotted] = "cli"
    return profile_data, profile_origins


def check_env_names(environ: Mapping[str, str], known_heads: Set[str]) -> None:
    for key in environ:
        if key.startswith(ENV_PREFIX):
            head = key[len(ENV_PREFIX) :].split("__", 1)[0]
            if head not in known_heads:
                raise ConfigError(f"environment: {key}: unknown key")


def validation_error(exc: ValidationError, origins: Mapping[str, str], prefix: str) -> ConfigError:
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


def url_problem(value: str) -> str | None:
    """Why ``value`` cannot be taken apart as a URL (``None``: it can). Never quotes the
    value, nor the parser's message that does (a URL may hold a password)."""
    try:
        _ = urlsplit(value).port
    except ValueError as exc:
        text = str(exc)
        if text.startswith("Port"):
            return "the port is not a number from 0 to 65535"
        if "IPv6" in text or "IPv4" in text:
            return (
                "the host in brackets is not an IPv6 address, or a bracket is missing "
                "(write it [::1])"
            )
        return "it cannot be parsed as a URL"
    return None


def check_urls(
    urls: Mapping[str, str | None],
    url_envs: Mapping[str, str | None],
    origins: Mapping[str, str],
    prefix: str,
    environ: Mapping[str, str],
) -> None:
    """One line naming the key (and where it came from) for a URL no parser can take
    apart, before anything uses it. ``urls``: dotted key -> value; ``url_envs``: dotted
    URL key -> the environment variable that holds it instead (it wins when set)."""
    for dotted, value in urls.items():
        var = url_envs.get(dotted)
        if var:
            value = environ.get(var)
            where = f"environment: {var} (named by {prefix}{dotted}_env)"
        else:
            origin = origins.get(dotted, "config").removeprefix("file ")
            where = f"{origin}: {prefix}{dotted}"
        problem = url_problem(value) if value else None
        if problem:
            raise ConfigError(f"{where}: not a valid URL: {problem}")


#: permission bits that let users other than the owner at a file (group and others)
OTHERS_BITS = 0o077


@dataclass(frozen=True)
class ExposedFile:
    """A file holding or naming a secret that users other than its owner can open."""

    path: Path
    mode: int  # the permission bits, e.g. 0o644
    what: str  # "the config file, which names a secret file", "a secret file (...)"

    def problem(self) -> str:
        """Which file and why it matters."""
        return f"{self.path} is {self.who()} (mode {self.mode:04o}): it is {self.what}"

    def warning(self) -> str:
        """One line: the problem and the command that fixes it."""
        return f"{self.problem()}; run `chmod 600 {self.path}`"

    def who(self) -> str:
        if self.mode & 0o044:
            return "readable by other users"
        if self.mode & 0o022:
            return "writable by other users"
        return "open to other users"


def _names_a_secret(data: Mapping[str, Any]) -> str | None:
    """What makes the config file's content secret: it names a secret file, or holds a
    password in a URL (``None``: neither)."""
    for dotted, value in flatten(data):
        if dotted.endswith("password_file") and value:
            return f"the config file, which names a secret file ({dotted})"
    for dotted, value in flatten(data):
        if isinstance(value, str) and "://" in value and "@" in value:
            try:
                if urlsplit(value).password:
                    return f"the config file, which holds a password ({dotted})"
            except ValueError:
                continue
    return None


def _secret_files(*layers: Mapping[str, Any]) -> dict[Path, str]:
    """Every ``*.password_file`` the layers name (path -> its dotted key)."""
    out: dict[Path, str] = {}
    for data in layers:
        for dotted, value in flatten(data):
            if dotted.endswith("password_file") and value:
                out.setdefault(Path(str(value)).expanduser(), dotted)
    return out


def exposed_secret_files(config_file: Path | None, profile: Mapping[str, Any]) -> list[ExposedFile]:
    """The files that hold a secret, or name one, and are open to other users (mode &
    0o077): the config file when it names a secret file (``password_file``) or holds a
    URL with a password, and every secret file it or the active ``profile`` (its
    settings as a dict) names. A file that does not exist is not reported here (reading
    it says so). Cheap: a few ``stat`` calls and the config file parsed again."""
    data: dict[str, Any] = {}
    if config_file is not None:
        try:
            data = _read_toml(config_file)
        except ConfigError:
            data = {}
    candidates: dict[Path, str] = {}
    why = _names_a_secret(data) if config_file is not None else None
    if config_file is not None and why:
        candidates[config_file] = why
    for path, dotted in _secret_files(profile, data).items():
        candidates.setdefault(path, f"a secret file ({dotted})")
    out: list[ExposedFile] = []
    seen: set[Path] = set()
    for path, what in candidates.items():
        try:
            real = path.resolve()
            mode = path.stat().st_mode & 0o777
        except (OSError, RuntimeError):
            continue
        if real in seen or not mode & OTHERS_BITS:
            continue
        seen.add(real)
        out.append(ExposedFile(path, mode, what))
    return out
