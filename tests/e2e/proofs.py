"""That the search means something: every planted secret really is where it was planted
and was really used, and the outputs searched really hold what the console did.

A search for a secret that never reached the console would pass for the wrong reason;
so would a search of an empty audit log. Each function fails naming what is missing.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import bcrypt
import psycopg
import pytest
from redis import Redis
from redis.exceptions import AuthenticationError, ResponseError

from magflow_console.reference.urls import to_libpq
from tests.e2e import planted as p
from tests.support.docker_engine import STACK_DOTENV_PUBLIC, STACK_DOTENV_SET, STACK_SECRETS
from tests.support.secret_search import Outputs, Secret


def _env_of(container: Any) -> str:
    container.reload()
    return "\n".join(container.attrs["Config"]["Env"] or [])


def _file_in(container: Any, path: str) -> str:
    stream, _ = container.get_archive(path)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.extractfile(tar.getmembers()[0])
        assert member is not None
        return member.read().decode()


def planted_where_said(planted: p.Planted, stack: Any) -> None:
    """Before the run: the containers, the files, the servers hold the secrets."""
    app, worker = stack.containers["app"], stack.containers["worker"]
    for container in (app, worker):
        env = _env_of(container)
        for key in ("db_password", "emag_main_password", "emag_fbe_username", "dev_admin_password"):
            assert STACK_SECRETS[key] in env, f"{key} is not in {container.name}'s environment"
    assert STACK_SECRETS["bearer"] in app.logs().decode(errors="replace")
    dotenv = _file_in(app, "/app/.env")
    for key, value in STACK_SECRETS.items():
        if key.startswith("dotenv_"):
            assert value in dotenv, f"{key} is not in /app/.env"
    extra_env = _env_of(planted.extra)
    for value in p.EXTRA_SECRETS.values():
        assert value in extra_env
    assert p.EXTRA_SECRETS["extra container database password"] in planted.extra.logs().decode()
    assert Path(planted.written[0]).read_text().strip() == p.API_PASSWORD  # the secret file
    deadline = time.monotonic() + 60
    while True:
        planted.sidecar.reload()
        health = planted.sidecar.attrs["State"].get("Health") or {}
        probes = "\n".join(str(probe.get("Output")) for probe in health.get("Log") or ())
        if health.get("Status") == "unhealthy" and p.PROBE_SECRET[1] in probes:
            break
        assert time.monotonic() < deadline, f"the sidecar's probe never failed: {health}"
        time.sleep(0.5)
    for url, run_id in (
        (planted.tui_db_url, planted.run_id),
        (planted.cli_db_url, planted.cli_run_id),
    ):
        with psycopg.connect(to_libpq(url), connect_timeout=10) as conn:
            row = conn.execute(
                "SELECT errors::text || sync_params::text FROM app.emag_sync_logs WHERE id = %s",
                [run_id],
            ).fetchone()
        assert row is not None
        for key in ("sync-run error URL password", "sync-run error bearer token",
                    "sync-run params password"):  # fmt: skip
            assert p.DATA_SECRETS[key] in row[0], f"{key} is not in the sync run"
    client = Redis.from_url(planted.redis_url, socket_timeout=10)
    try:
        stored = [client.get(k) for k in client.keys("celery-task-meta-*")]
        secret = p.DATA_SECRETS["Celery result Redis password"].encode()
        assert any(isinstance(v, bytes) and secret in v for v in stored), "no planted result"
    finally:
        client.close()
    where = urlsplit(planted.redis_url)
    anonymous = Redis(host=where.hostname or "", port=where.port or 6379, socket_timeout=10)
    try:
        with pytest.raises((AuthenticationError, ResponseError)):
            anonymous.ping()
    finally:
        anonymous.close()


def used(planted: p.Planted, fake_api: Any, status: dict[str, Any]) -> set[str]:
    """After the run: the console worked with the secrets it needs to work at all
    (returns the names proven so)."""
    for section in ("database", "redis", "api", "celery"):
        assert status[section]["state"] == "ok", f"status --json: {section} {status[section]}"
    logins = [
        r.json() for r in fake_api.requests if r.path == "/api/v1/auth/login" and r.method == "POST"
    ]
    assert {"username": p.API_USER, "password": p.API_PASSWORD} in [
        {"username": b.get("username", b.get("email")), "password": b.get("password")}
        for b in logins
    ], "the API password (from its file) was never sent"
    assert len(fake_api.sync_requests) >= 3, "the TUI's and the commands' syncs"
    # the API's /env answers every password of the stack: the bait must stay untouched
    # while the rest of the API is read (sources/api.py FORBIDDEN)
    paths = fake_api.paths_requested()
    assert "/env" not in paths and any(path.startswith("/health/") for path in paths)
    return {"database password", "Redis password", "API password", "the API's /env password"}


def api_tokens(fake_api: Any) -> list[Secret]:
    """The bearer tokens the API issued to the console at login (each one the console
    then held), proven used: a sync request carried it."""
    carried = {
        r.headers.get("authorization", "").partition(" ")[2]
        for r in fake_api.requests
        if r.path.startswith("/api/v1/emag/")
    }
    tokens = sorted(fake_api.tokens)
    assert tokens, "the API issued no token"
    assert set(tokens) <= carried, "a token the API issued was never used"
    return [
        Secret(f"API access token #{n}", t, "the API's login answer")
        for n, t in enumerate(tokens, 1)
    ]


def _in(outputs: Outputs, label: str, text: str) -> bool:
    needle = text.encode()
    return any(label in name and needle in data for name, data in outputs.items.items())


def shown(
    outputs: Outputs, planted: p.Planted, containers: dict[str, Any], app_name: str
) -> set[str]:
    """The console read what carries each of these secrets and showed it, masked: the
    words around the secret are in the outputs named (returns the names proven so)."""
    masked_url = "https://api:***@marketplace-api.emag.ro/api-3/product_offer/read"
    expect: dict[str, list[tuple[str, str]]] = {
        # read from the database only the password opens (the TUI's, the commands')
        "database password": [
            ("TUI sync runs, the planted run", planted.run_id),
            ("$ magflow-console sync-logs --id", planted.cli_run_id),
        ],
        "Redis password": [("TUI Celery detail", "OperationalError")],
        "sync-run error URL password": [
            ("TUI sync runs, the planted run", masked_url),
            ("$ magflow-console sync-logs --id", masked_url),
        ],
        "sync-run error bearer token": [
            ("$ magflow-console sync-logs --id", '"Authorization": "***"'),
        ],
        "sync-run params password": [("$ magflow-console sync-logs --id", '"password": "***"')],
        "Celery result Redis password": [
            ("TUI Celery detail", "redis://:***@redis:6379/0"),
            ("$ magflow-console celery", "redis://:***@redis:6379/0"),
        ],
        "stack bearer": [
            (f"TUI container {app_name}", "request headers={'Authorization': '***'}"),
            ("$ magflow-console logs app", "request headers={'Authorization': '***'}"),
        ],
        "probe output database password": [
            (
                "$ magflow-console status --json (stdout)",
                "cannot connect to postgresql+asyncpg://app:***@db",
            ),
            (f"TUI container {planted.sidecar.name}", "postgresql+asyncpg://app:***@db"),
        ],
        "extra container database password": [
            (f"$ magflow-console logs {planted.extra.name}", "postgresql+asyncpg://app:***@db"),
        ],
    }
    missing = [
        f"{name}: {text!r} in no output named like {label!r}"
        for name, wanted in expect.items()
        for label, text in wanted
        if not _in(outputs, label, text)
    ]
    assert not missing, "\n".join(missing)
    proven = set(expect)

    # the containers' environment and the app's /app/.env: read, names kept, values not
    items = {c["name"]: c for c in containers["items"]}
    app = items[app_name]
    env_names = {
        "stack db_password": "DATABASE_URL",
        "stack emag_main_password": "EMAG_MAIN_PASSWORD",
        "stack emag_fbe_username": "EMAG_FBE_USERNAME",
        "stack dev_admin_password": "DEFAULT_ADMIN_PASSWORD",
    }
    for name, variable in env_names.items():
        assert variable in app["env_set"], f"{name}: {variable} not in {app['env_set']}"
    extra = items[planted.extra.name]
    assert {"EMAG_MAIN_PASSWORD", "DATABASE_URL"} <= set(extra["env_set"]), extra["env_set"]
    assert app["dotenv_state"] == "read", app["dotenv_state"]
    assert sorted(app["dotenv_set"]) == sorted(STACK_DOTENV_SET)
    assert app["dotenv_public"] == STACK_DOTENV_PUBLIC  # the URL cut to scheme://host/path
    dotenv = {f"stack {k}" for k in STACK_SECRETS if k.startswith("dotenv_")}
    return proven | set(env_names) | {"extra container eMAG password"} | dotenv


def password_is(db_url: str, email: str, password: str) -> bool:
    """``email``'s stored bcrypt hash is that of ``password``."""
    with psycopg.connect(to_libpq(db_url)) as conn:
        row = conn.execute(
            "SELECT hashed_password FROM app.users WHERE email = %s", [email]
        ).fetchone()
    assert row is not None, f"{email} was not created"
    return bcrypt.checkpw(password.encode(), str(row[0]).encode())


def admins_set(
    planted: p.Planted, tui_audit: list[dict[str, Any]], tui_admin: str, cli_admin: str
) -> set[str]:
    """The admin passwords typed were the ones stored (as bcrypt hashes); returns the
    names proven so."""
    reset = [e for e in tui_audit if e["action"] == "admin.reset_password" and e["outcome"] == "ok"]
    assert len(reset) == 1
    target = reset[0]["params"]["email"]
    assert target != tui_admin, "the TUI reset the admin it created: its first password unproven"
    assert password_is(planted.tui_db_url, target, p.RESET_PASSWORD_TUI)
    assert password_is(planted.tui_db_url, tui_admin, p.ADMIN_PASSWORD_TUI)
    # the CLI's create was checked right after it ran (cli_tour.actions)
    assert password_is(planted.cli_db_url, cli_admin, p.RESET_PASSWORD_CLI)
    return {
        "admin password (TUI create)",
        "admin password (TUI reset)",
        "admin password (CLI create)",
        "admin password (CLI reset)",
    }


def audit_entries(state: Path) -> list[dict[str, Any]]:
    path = state / "magflow-console" / "audit.jsonl"
    assert path.is_file(), f"no audit log at {path}"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def actions_recorded(state: Path, expected: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The audit log under ``state`` lists ``expected`` (action, outcome) in order, and a
    migration log holds the migration's output."""
    entries = audit_entries(state)
    assert [(e["action"], e["outcome"]) for e in entries] == expected
    logs = list((state / "magflow-console" / "migrations").glob("migrate-*.log"))
    assert logs and any("Running upgrade" in log.read_text() for log in logs), logs
    return entries
