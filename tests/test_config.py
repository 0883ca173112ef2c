"""Config loading: precedence, profiles, provenance, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from magflow_console import config as cfg
from magflow_console.config_sources import ConfigError

GOOD = """
default_profile = "prod"

[profiles.local]
refresh_interval = 2

[profiles.prod]
protected = true
read_only = false

[profiles.prod.database]
url = "postgresql://app:hunter2@db.example:5433/magflow"

[profiles.prod.docker]
host = "ssh://ops@prod-host"
services = { app = "magflow_app", db = "magflow_db" }
"""


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(GOOD)
    return path


def test_defaults_without_any_file(tmp_path: Path) -> None:
    loaded = cfg.load_config(environ={"XDG_CONFIG_HOME": str(tmp_path)})
    assert loaded.profile_name == "local"
    assert loaded.profile.database.db_schema == "app"
    assert loaded.profile.docker.services["worker"] == "magflow_worker"
    assert loaded.config_file is None
    assert all(src == "default" for _, _, src in cfg.effective_items(loaded))


def test_file_profile_and_default_profile(good: Path) -> None:
    loaded = cfg.load_config(config_path=str(good), environ={})
    assert loaded.profile_name == "prod"
    assert loaded.profile.protected is True
    assert loaded.profile.docker.host == "ssh://ops@prod-host"
    local = cfg.load_config(config_path=str(good), profile="local", environ={})
    assert local.profile.refresh_interval == 2
    assert local.profile.protected is False


def test_precedence_cli_over_env_over_file(good: Path) -> None:
    environ = {
        "MAGFLOW_CONSOLE_PROFILES__PROD__REFRESH_INTERVAL": "9",
        "MAGFLOW_CONSOLE_DOCKER__HOST": "tcp://from-env:2375",
        "MAGFLOW_CONSOLE_DATABASE__SCHEMA": "envschema",
    }
    loaded = cfg.load_config(
        config_path=str(good), environ=environ, overrides={"docker.host": "unix:///cli.sock"}
    )
    p = loaded.profile
    assert p.refresh_interval == 9  # env (per-profile form) over file default
    assert p.docker.host == "unix:///cli.sock"  # cli over env
    assert p.database.db_schema == "envschema"  # env shortcut for the active profile
    origins = dict((k, s) for k, _, s in cfg.effective_items(loaded))
    assert origins["docker.host"] == "cli"
    assert origins["refresh_interval"] == "env MAGFLOW_CONSOLE_PROFILES__PROD__REFRESH_INTERVAL"
    assert origins["database.schema"] == "env MAGFLOW_CONSOLE_DATABASE__SCHEMA"
    assert origins["protected"] == f"file {good}"
    assert origins["api.url"] == "default"


def test_config_file_from_env_var(good: Path) -> None:
    loaded = cfg.load_config(environ={"MAGFLOW_CONSOLE_CONFIG": str(good)})
    assert loaded.config_file == good
    assert loaded.searched[0][0] == "MAGFLOW_CONSOLE_CONFIG"


def test_xdg_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    target = tmp_path / "magflow-console" / "config.toml"
    target.parent.mkdir()
    target.write_text(GOOD)
    loaded = cfg.load_config(environ={})
    assert loaded.config_file == target
    assert loaded.profile_name == "prod"


def test_password_masked_in_effective_items(good: Path) -> None:
    loaded = cfg.load_config(config_path=str(good), environ={})
    shown = " ".join(v for _, v, _ in cfg.effective_items(loaded))
    assert "hunter2" not in shown
    assert "postgresql://app:***@db.example:5433/magflow" in shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[profiles.prod]\nrefresh_interval = "fast"\n',
            "profiles.prod.refresh_interval: Input should be a valid number",
        ),
        ("[profiles.prod.databse]\nurl = 'x'\n", "profiles.prod.databse: unknown key"),
        ("[profiles.prod\nx=1\n", "malformed TOML"),
        ("colour = 'blue'\n", "colour: unknown key"),
        (
            "[profiles.prod.alembic]\nstrategy = 'ftp'\n",
            "profiles.prod.alembic.strategy: Input should be 'container' or 'local'",
        ),
        (
            "[profiles.prod.database]\nurl = 42\n",
            "profiles.prod.database.url: Input should be a valid string",
        ),
    ],
)
def test_bad_files_give_one_line_naming_file_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        cfg.load_config(config_path=str(path), environ={})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_secret_values_are_not_echoed_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        "[profiles.p.database]\nurl = 'postgresql://a:topsecret@h/db'\nconnect_timeout = -1\n"
    )
    with pytest.raises(ConfigError) as info:
        cfg.load_config(config_path=str(path), environ={})
    assert "connect_timeout" in str(info.value)
    assert "topsecret" not in str(info.value)


def test_unknown_env_names_are_errors() -> None:
    with pytest.raises(ConfigError, match="MAGFLOW_CONSOLE_DATABSE__URL: unknown key"):
        cfg.load_config(environ={"MAGFLOW_CONSOLE_DATABSE__URL": "x"})
    with pytest.raises(ConfigError, match=r"database\.ur: unknown key"):
        cfg.load_config(environ={"MAGFLOW_CONSOLE_DATABASE__UR": "x"})


def test_missing_explicit_file_and_unknown_profile(good: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        cfg.load_config(config_path=str(tmp_path / "nope.toml"), environ={})
    with pytest.raises(ConfigError, match="profile 'staging' is not defined"):
        cfg.load_config(config_path=str(good), profile="staging", environ={})


def test_single_profile_is_chosen_without_default(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[profiles.only]\nread_only = true\n")
    loaded = cfg.load_config(config_path=str(path), environ={})
    assert loaded.profile_name == "only" and loaded.profile.read_only


def test_database_url_resolution(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("p@ss/word\n")
    profile = cfg.Profile.model_validate(
        {
            "database": {
                "url": "postgresql+asyncpg://app@db:5432/magflow",
                "password_file": str(secret),
            }
        }
    )
    url = cfg.database_url(profile, environ={})
    assert url == "postgresql+psycopg://app:p%40ss%2Fword@db:5432/magflow"
    env_profile = cfg.Profile.model_validate({"database": {"url_env": "DATABASE_URL"}})
    assert cfg.database_url(env_profile, environ={"DATABASE_URL": "postgresql://u:x@h/d"}) == (
        "postgresql+psycopg://u:x@h/d"
    )
    with pytest.raises(ConfigError, match="DATABASE_URL is not set"):
        cfg.database_url(env_profile, environ={})


def test_info_masks_url_passwords() -> None:
    loaded = cfg.load_config(
        overrides={"redis.url": "redis://:pw@redis:6379/0", "api.url": "http://localhost:8000"},
        environ={},
    )
    shown = {key: value for key, value, _ in cfg.effective_items(loaded)}
    assert shown["redis.url"] == "redis://:***@redis:6379/0"
    assert shown["api.url"] == "http://localhost:8000"


def test_example_config_is_valid_and_documents_every_key() -> None:
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    loaded = cfg.load_config(config_path=str(example), environ={})
    text = example.read_text()
    for key, _, _ in cfg.effective_items(loaded):
        leaf = key.split(".")[-1]
        assert f"{leaf} =" in text or f"# {leaf} =" in text, (
            f"config.example.toml does not document {key}"
        )
    assert "protected = true" in text


def test_env_json_values_for_mappings() -> None:
    loaded = cfg.load_config(
        environ={"MAGFLOW_CONSOLE_DOCKER__SERVICES": '{"app": "x_app", "db": "x_db"}'}
    )
    assert loaded.profile.docker.services == {"app": "x_app", "db": "x_db"}
    with pytest.raises(ConfigError, match="not valid JSON"):
        cfg.load_config(environ={"MAGFLOW_CONSOLE_DOCKER__SERVICES": "{oops"})
