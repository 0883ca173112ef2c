"""Every secret the console can be given, planted in the real services it reads.

- the **database password**, in a URL that works: a login role the server asks for that
  password (``tests.support.pg_password``), the URL in the env var the profile names
  (``database.url_env``); one database for the TUI, one for the commands, one to seed;
- the **Redis password**: a redis-server with ``requirepass``, its URL in
  ``redis.url_env``;
- the **API password**, in a secret file (``api.password_file``, mode 0600), the login
  in ``api.username_env``: the fake API accepts only that pair;
- the stack's secrets (``STACK_SECRETS``): eMAG credentials, the app's database URL, a
  bearer token in the app's log, ``/app/.env``; a container to restart, stop and
  start with credentials in its environment and its log; and a sidecar whose failing
  healthcheck prints a database URL with its password;
- secrets in the data the console shows: a sync run whose ``errors`` and params carry
  a URL password, a bearer token and a password, and a failed Celery task whose stored
  exception names a Redis URL with a password;
- the passwords of the admin users the actions create and reset;
- a second profile, ``standby`` (protected, read-only), whose URLs hold the same
  passwords but fail: its database does not exist, nobody listens on its Redis port.

``plant(...)`` returns a ``Planted`` with the secrets (``Secret``: name, value, where),
the config file and the environment both faces run with.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from redis import Redis
from sqlalchemy.engine import make_url

from magflow_console.reference import SCRIPTS_DIR
from magflow_console.reference.urls import to_libpq
from tests.support.docker_engine import STACK_SECRETS, compose_labels, healthcheck
from tests.support.fake_api import ENV_SECRET, Credentials
from tests.support.pg_password import password_url
from tests.support.secret_search import Secret

PROFILE = "planted"
#: URL-special characters in the passwords: a URL carries them encoded, and a masker
#: that decodes or cuts at one of them leaves a piece of the secret behind
DB_PASSWORD = "DbPw%Kq7Lzx@Xv9Rtq/Wm4Njr#Hc2Pbt:"
REDIS_PASSWORD = "RdPw/Tz8Mkc@Bn3Yqe:Lp5Hws%"
API_PASSWORD = "ApiPw&Gx4Vnb<Jd6Ksr>Qe2Zml"
API_USER = "oncall-planted@example.com"
ADMIN_PASSWORD_TUI = "AdmTui-Pw7Rx2Lq9Zk4"
ADMIN_PASSWORD_CLI = "AdmCli-Pw3Hv8Nc5Tb1"
RESET_PASSWORD_TUI = "RstTui-Pw6Jm1Wy4Gd8"
RESET_PASSWORD_CLI = "RstCli-Pw2Fs9Kp7Xe3"
EXTRA_SECRETS = {
    "extra container eMAG password": "ExtraEmag-Pw5Qc8Vd",
    "extra container database password": "ExtraDb-Pw1Ln6Ry",
}
#: a sidecar whose failing healthcheck prints the URL it could not reach (a probe's output
#: is the container's own text, as its log is)
PROBE_SECRET = ("probe output database password", "ProbeDb-Pw8Vk3Jw")
PROBE_SERVICE = "sidecar"
#: the data secrets in the sync run (PostgreSQL): a backup of the database holds them
SYNC_RUN_SECRETS = (
    "sync-run error URL password",
    "sync-run error bearer token",
    "sync-run params password",
)
DATA_SECRETS = {
    "sync-run error URL password": "SyncUrl-Pw4Tg7Mh",
    "sync-run error bearer token": "SyncBearer-Tk9Wq2Ne5Rb8Yc",
    "sync-run params password": "SyncParam-Pw3Dz6Ku",
    "Celery result Redis password": "CeleryRes-Pw8Bx1Gs",
}
#: the second profile: its database URL has the right role and password but names a
#: database that does not exist, its Redis URL has the password and a port nobody
#: listens on; so its errors, as ``status --all`` and the environments screen show
#: them, come from URLs that carry the secrets
STANDBY = "standby"
MISSING_DATABASE = "mfc_planted_missing"
ENV = {
    "db": "MFC_PLANTED_DB_URL",
    "redis": "MFC_PLANTED_REDIS_URL",
    "api_user": "MFC_PLANTED_API_USER",
    "standby_db": "MFC_PLANTED_STANDBY_DB_URL",
    "standby_redis": "MFC_PLANTED_STANDBY_REDIS_URL",
}
#: variables of the test's own environment that would change what the console reads
STRIPPED = ("MAGFLOW_CONSOLE_", "MAGFLOW_API_", "MAGFLOW_DB_", "MAGFLOW_REDIS_", "PG", "REDIS_")


@dataclass
class Planted:
    secrets: list[Secret]
    config: Path
    env: dict[str, str]  # what the console's environment adds (for the TUI: os.environ)
    tui_db_url: str
    cli_db_url: str
    seed_db_url: str
    redis_url: str
    extra: Any  # the container to restart, stop and start (docker Container)
    sidecar: Any  # the container whose failing healthcheck prints a URL with a password
    written: list[Path]  # files the test wrote itself (not the console)
    run_id: str  # the planted sync run, in the TUI's database
    cli_run_id: str  # the same in the commands' database

    def cli_env(self, tmp_path: Path) -> dict[str, str]:
        """The environment of a command: the test's, cleaned, with its own XDG dirs,
        HOME and TMPDIR under ``tmp_path`` (so every file it writes is searched)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(STRIPPED)}
        homes = {
            "HOME": tmp_path / "home",
            "TMPDIR": tmp_path / "tmp",
            "XDG_CONFIG_HOME": tmp_path / "cfg",
            "XDG_STATE_HOME": tmp_path / "state",
            "XDG_CACHE_HOME": tmp_path / "cache",
        }
        for path in homes.values():
            path.mkdir(parents=True, exist_ok=True)
        return (
            env
            | {k: str(v) for k, v in homes.items()}
            | self.env
            | {
                ENV["db"]: self.cli_db_url,
                "COLUMNS": "120",
            }
        )


def secrets_in_play() -> list[Secret]:
    """Every secret planted, with where it went."""
    found = [
        Secret("database password", DB_PASSWORD, "the working database URL (database.url_env)"),
        Secret("Redis password", REDIS_PASSWORD, "the Redis URL (redis.url_env), requirepass"),
        Secret("API password", API_PASSWORD, "the secret file api.password_file"),
        Secret("admin password (TUI create)", ADMIN_PASSWORD_TUI, "the TUI's password form"),
        Secret("admin password (TUI reset)", RESET_PASSWORD_TUI, "the TUI's password form"),
        Secret("admin password (CLI create)", ADMIN_PASSWORD_CLI, "admin create stdin"),
        Secret("admin password (CLI reset)", RESET_PASSWORD_CLI, "admin reset-password stdin"),
        Secret("the API's /env password", ENV_SECRET, "the fake API's /env body"),
    ]
    found += [Secret(f"stack {k}", v, "the stack containers") for k, v in STACK_SECRETS.items()]
    found += [Secret(k, v, "the extra container's env and log") for k, v in EXTRA_SECRETS.items()]
    found.append(Secret(*PROBE_SECRET, "the sidecar's healthcheck output"))
    found += [Secret(k, v, "the data (PostgreSQL, Redis)") for k, v in DATA_SECRETS.items()]
    return found


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)  # a JSON string is a TOML basic string


def write_config(path: Path, profiles: dict[str, dict[str, Any]]) -> Path:
    """``profiles``: name -> {key: value, section: {key: value}}; the first is the
    default."""
    lines = [f"default_profile = {_toml(next(iter(profiles)))}"]
    for name, settings in profiles.items():
        lines.append(f"[profiles.{name}]")
        lines += [f"{k} = {_toml(v)}" for k, v in settings.items() if not isinstance(v, dict)]
        for section, values in settings.items():
            if isinstance(values, dict):
                lines.append(f"[profiles.{name}.{section}]")
                lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def plant_sync_run(db_url: str) -> str:
    """The newest sync run: completed with page errors that carry credentials."""
    url_pw, bearer, param_pw = (
        DATA_SECRETS["sync-run error URL password"],
        DATA_SECRETS["sync-run error bearer token"],
        DATA_SECRETS["sync-run params password"],
    )
    errors = [
        {
            "error": "Failed to fetch page 2 for main account: eMAG API error 401 for "
            f"https://api:{url_pw}@marketplace-api.emag.ro/api-3/product_offer/read",
            "request_headers": {"Authorization": f"Bearer {bearer}"},
        }
    ]
    params = {"account_type": "main", "max_pages": 2, "password": param_pw}
    with psycopg.connect(to_libpq(db_url), autocommit=True) as conn:
        row = conn.execute(
            """
            INSERT INTO app.emag_sync_logs (
              id, sync_type, account_type, operation, sync_params, status, total_items,
              processed_items, created_items, updated_items, failed_items, errors,
              duration_seconds, pages_processed, api_requests_made, rate_limit_hits,
              started_at, completed_at, created_at, updated_at)
            SELECT gen_random_uuid(), 'products', 'main', 'incremental_sync', %s::jsonb,
              'completed', 100, 100, 0, 100, 0, %s::jsonb, 42.5, 2, 3, 0,
              max(started_at) + interval '1 minute', max(started_at) + interval '2 minutes',
              max(started_at) + interval '1 minute', max(started_at) + interval '2 minutes'
            FROM app.emag_sync_logs
            RETURNING id::text
            """,
            [json.dumps(params), json.dumps(errors)],
        ).fetchone()
    assert row is not None
    return str(row[0])


def plant_celery_result(client: Any) -> None:
    """A failed task whose stored exception names the broker URL with a password."""
    pw = DATA_SECRETS["Celery result Redis password"]
    meta = {
        "status": "FAILURE",
        "result": {
            "exc_type": "OperationalError",
            "exc_message": [f"Error 111 connecting to redis://:{pw}@redis:6379/0."],
            "exc_module": "kombu.exceptions",
        },
        "traceback": f"Traceback ...\nOperationalError: redis://:{pw}@redis:6379/0",
        "children": [],
        "date_done": "2025-10-21T20:46:52.720000+00:00",
        "task_id": "5a0c7a8e-planted-0000-0000-000000000001",
    }
    client.set(f"celery-task-meta-{meta['task_id']}", json.dumps(meta))


def closed_port() -> int:
    """A local TCP port nobody listens on (one the system just gave out and took back)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def plant(
    *,
    tmp_path: Path,
    pg_server: Any,
    demo_db_url: str,
    head_db_url: str,
    docker_engine: Any,
    stack: Any,
    make_container: Any,
    fake_api: Any,
    make_redis_server: Any,
) -> Iterator[Planted]:
    planted_dir = tmp_path / "planted"
    planted_dir.mkdir()
    with ExitStack() as stack_of:
        cli_db = pg_server.create_database(template=make_url(demo_db_url).database)
        tui_db_url = stack_of.enter_context(password_url(pg_server, demo_db_url, DB_PASSWORD))
        # the role owns what the migration creates there: gone before the role is dropped
        stack_of.callback(pg_server.drop_database, cli_db)
        role = make_url(tui_db_url)
        cli_db_url = role.set(database=make_url(cli_db).database).render_as_string(False)
        seed_db_url = role.set(database=make_url(head_db_url).database).render_as_string(False)
        for url in (tui_db_url, cli_db_url, seed_db_url):
            assert make_url(url).password == DB_PASSWORD
            with psycopg.connect(to_libpq(url), connect_timeout=10) as conn:
                conn.execute("SELECT 1")
        run_id, cli_run_id = plant_sync_run(tui_db_url), plant_sync_run(cli_db_url)
        redis = make_redis_server(password=REDIS_PASSWORD)
        redis_url = f"redis://:{quote(REDIS_PASSWORD, safe='')}@{redis.host}:{redis.port}/0"
        client = Redis.from_url(redis_url, socket_timeout=10)
        try:
            assert client.ping()
            plant_celery_result(client)
        finally:
            client.close()
        extra = make_container(
            labels=compose_labels(stack.project, "extra"),
            environment={
                "EMAG_MAIN_PASSWORD": EXTRA_SECRETS["extra container eMAG password"],
                "DATABASE_URL": "postgresql+asyncpg://app:"
                + EXTRA_SECRETS["extra container database password"]
                + "@db:5432/magflow",
            },
            command=[
                "sh", "-c",
                'echo "2025-10-21 20:46:52,720 - app.db - ERROR - cannot connect to $DATABASE_URL";'
                " exec sleep 2147483647",
            ],
        )  # fmt: skip
        sidecar = make_container(
            labels=compose_labels(stack.project, PROBE_SERVICE),
            environment={
                "DATABASE_URL": f"postgresql+asyncpg://app:{PROBE_SECRET[1]}@db:5432/magflow"
            },
            command=["sh", "-c", "echo 'sidecar ready'; exec sleep 2147483647"],
            healthcheck=healthcheck('echo "health: cannot connect to $DATABASE_URL"; exit 1'),
        )
        api_password = planted_dir / "planted-api-password"
        api_password.write_text(API_PASSWORD + "\n")
        api_password.chmod(0o600)
        original = fake_api.credentials
        fake_api.credentials = Credentials(email=API_USER, password=API_PASSWORD)
        stack_of.callback(setattr, fake_api, "credentials", original)
        stack_section = {
            "host": docker_engine.base_url,
            "project": stack.project,
            "prefix": stack.prefix,
            "services": {**stack.service_map, "extra": extra.name, PROBE_SERVICE: sidecar.name},
        }
        api_section = {
            "url": fake_api.base_url,
            "username_env": ENV["api_user"],
            "password_file": str(api_password),
        }
        config = write_config(
            planted_dir / "config.toml",
            {
                PROFILE: {
                    "refresh_interval": 1.0,
                    "database": {"url_env": ENV["db"]},
                    "docker": stack_section,
                    "alembic": {"strategy": "local", "scripts": str(SCRIPTS_DIR)},
                    "api": api_section,
                    "redis": {"url_env": ENV["redis"]},
                    "sync": {"strategy": "api"},
                },
                STANDBY: {
                    "protected": True,
                    "read_only": True,
                    "database": {"url_env": ENV["standby_db"], "connect_timeout": 5.0},
                    "docker": stack_section,
                    "alembic": {"strategy": "local", "scripts": str(SCRIPTS_DIR)},
                    "api": api_section,
                    "redis": {"url_env": ENV["standby_redis"], "timeout": 2.0},
                },
            },
        )
        standby_db_url = role.set(database=MISSING_DATABASE).render_as_string(False)
        standby_redis_url = redis_url.replace(f":{redis.port}/", f":{closed_port()}/")
        yield Planted(
            secrets=secrets_in_play(),
            config=config,
            env={
                ENV["db"]: tui_db_url,
                ENV["redis"]: redis_url,
                ENV["api_user"]: API_USER,
                ENV["standby_db"]: standby_db_url,
                ENV["standby_redis"]: standby_redis_url,
            },
            tui_db_url=tui_db_url,
            cli_db_url=cli_db_url,
            seed_db_url=seed_db_url,
            redis_url=redis_url,
            extra=extra,
            sidecar=sidecar,
            written=[api_password, config],
            run_id=run_id,
            cli_run_id=cli_run_id,
        )
