"""Admin-user actions against a real PostgreSQL (and a real redis-server for the cache).

Helpers ``make_loaded`` / ``make_ctx`` and the ``redis_server`` fixture are reused by the
other action test modules of this half (audit, CLI).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from passlib.context import CryptContext

from magflow_console import config as cfg
from magflow_console.actions import admins
from magflow_console.actions.guard import ActionContext, ActionRefused, ActionResult
from magflow_console.reference.urls import to_libpq
from tests.support.reliability import Recorder

pytestmark = pytest.mark.postgres

PASSWORD = "Correct-Horse-Battery-9"
OTHER_PASSWORD = "Another-Long-Secret-42"
REDIS_SECRET = "r3dis-Pa55-for-tests"
PWD_CONTEXT = CryptContext(schemes=["bcrypt"], deprecated="auto")


# --------------------------------------------------------------------------- helpers


def make_loaded(
    tmp_path: Path,
    db_url: str | None,
    *,
    read_only: bool = False,
    protected: bool = False,
    redis_url: str | None = None,
    **sections: Any,
) -> cfg.LoadedConfig:
    data: dict[str, Any] = {"read_only": read_only, "protected": protected}
    data["database"] = {"url": db_url}
    if redis_url:
        data["redis"] = {"url": redis_url}
    data.update(sections)
    profile = cfg.Profile.model_validate(data)
    settings = cfg.Settings(audit_log=tmp_path / "audit.jsonl", profiles={"test": profile})
    return cfg.LoadedConfig("test", profile, settings, None, ())


def make_ctx(tmp_path: Path, db_url: str | None, **kw: Any) -> ActionContext:
    lines: list[str] = []
    ctx = ActionContext.from_config(make_loaded(tmp_path, db_url, **kw), emit=lines.append)
    ctx.lines = lines  # type: ignore[attr-defined]
    return ctx


def audit_entries(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def user_row(db_url: str, email: str) -> dict[str, Any] | None:
    with psycopg.connect(to_libpq(db_url)) as conn:
        cur = conn.execute(
            "SELECT u.*, EXISTS (SELECT 1 FROM app.user_roles ur JOIN app.roles r "
            "ON r.id = ur.role_id WHERE ur.user_id = u.id AND r.name = 'admin') AS has_role "
            "FROM app.users u WHERE u.email = %s",
            [email],
        )
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d.name for d in cur.description or ()], row, strict=True))


def create(ctx: ActionContext, email: str, name: str = "Ops Admin", pw: str = PASSWORD) -> Any:
    plan = admins.plan_create_admin(ctx, email, name)
    return admins.execute_create_admin(ctx, plan, pw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    url: str
    client: redis.Redis


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on a free port with a password (Debian package redis-server)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not installed: the login-cache tests need a real Redis "
            "(apt-get install -y --no-install-recommends redis-server)",
            pytrace=False,
        )
    folder = tmp_path_factory.mktemp("redis")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--requirepass", REDIS_SECRET,
         "--save", "", "--appendonly", "no", "--dir", str(folder), "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://:{REDIS_SECRET}@127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if client.ping():
                    break
            except redis.exceptions.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {port}", pytrace=False)
            time.sleep(0.05)
        yield RedisServer(url, client)
    finally:
        client.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


# --------------------------------------------------------------------------- pure logic


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ops.Admin@MagFlow.Example.COM", "Ops.Admin@magflow.example.com"),
        ("  admin@magflow.local ", "admin@magflow.local"),
        ("a+tag@sub.domain.ro", "a+tag@sub.domain.ro"),
    ],
)
def test_email_is_validated_and_domain_lower_cased(raw: str, expected: str) -> None:
    assert admins.normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "admin", "admin@", "@magflow.local", "a b@x.ro", "a@localhost", "a..b@x.ro",
            "a@-x.ro", "a@x.ro.", "a@@x.ro", "a@x_y.ro"],
)  # fmt: skip
def test_bad_emails_are_rejected(raw: str) -> None:
    with pytest.raises(admins.InvalidInput):
        admins.normalise_email(raw)


def test_password_rules_never_echo_the_password() -> None:
    with pytest.raises(admins.InvalidInput, match="at least 12") as short:
        admins.check_password("short-pw")
    assert "short-pw" not in str(short.value)
    with pytest.raises(admins.InvalidInput, match="do not match") as diff:
        admins.check_password(PASSWORD, PASSWORD + "x")
    assert PASSWORD not in str(diff.value)
    with pytest.raises(admins.InvalidInput, match="blank"):
        admins.check_password(" " * 14)
    admins.check_password(PASSWORD, PASSWORD)


def test_hash_is_bcrypt_2b_cost_12_and_verified_by_passlib() -> None:
    hashed = admins.hash_password(PASSWORD)
    assert hashed.startswith("$2b$12$") and len(hashed) == 60
    assert PWD_CONTEXT.verify(PASSWORD, hashed)
    assert not PWD_CONTEXT.verify(OTHER_PASSWORD, hashed)


# --------------------------------------------------------------------------- create


def test_create_sets_every_column_links_role_and_passlib_verifies(
    tmp_path: Path, head_db_url: str
) -> None:
    ctx = make_ctx(tmp_path, head_db_url)
    plan = admins.plan_create_admin(ctx, "Ops@MagFlow.Example", "Ops Admin")
    assert plan.params == {
        "email": "Ops@magflow.example",
        "full_name": "Ops Admin",
        "exists": False,
    }
    assert any("INSERT app.users" in c for c in plan.changes)
    assert plan.warnings == ()
    result = admins.execute_create_admin(ctx, plan, PASSWORD)
    assert result.ok, result.message
    assert result.data["created"] is True

    row = user_row(head_db_url, "Ops@magflow.example")
    assert row is not None
    assert row["full_name"] == "Ops Admin"
    assert row["is_active"] is True and row["is_superuser"] is True
    assert row["email_verified"] is True and row["failed_login_attempts"] == 0
    assert row["has_role"] is True
    for col in ("created_at", "updated_at"):
        value = row[col]
        assert isinstance(value, dt.datetime) and value.tzinfo is None  # naive UTC
        assert abs(value - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(hours=1)
    hashed = row["hashed_password"]
    assert hashed.startswith("$2b$12$") and len(hashed) == 60
    assert PWD_CONTEXT.verify(PASSWORD, hashed)
    assert PASSWORD not in result.message and hashed not in result.message


def test_create_makes_the_admin_role_when_missing(tmp_path: Path, head_db_url: str) -> None:
    with psycopg.connect(to_libpq(head_db_url)) as conn:
        conn.execute("DELETE FROM app.role_permissions")
        conn.execute("DELETE FROM app.roles WHERE name = 'admin'")
    result = create(make_ctx(tmp_path, head_db_url), "new.admin@magflow.example")
    assert result.ok, result.message
    with psycopg.connect(to_libpq(head_db_url)) as conn:
        role = conn.execute(
            "SELECT is_system_role, created_at, updated_at FROM app.roles WHERE name = 'admin'"
        ).fetchone()
    assert role is not None and role[0] is True and role[1] is not None and role[2] is not None
    assert user_row(head_db_url, "new.admin@magflow.example")["has_role"] is True  # type: ignore[index]


def test_second_create_reports_exists_and_keeps_the_password(
    tmp_path: Path, head_db_url: str
) -> None:
    ctx = make_ctx(tmp_path, head_db_url)
    assert create(ctx, "twice@magflow.example").ok
    before = user_row(head_db_url, "twice@magflow.example")
    plan = admins.plan_create_admin(ctx, "twice@magflow.example", "Someone Else")
    assert plan.params["exists"] is True
    assert plan.changes[0].startswith("nothing: user twice@magflow.example already exists")
    result = admins.execute_create_admin(ctx, plan, OTHER_PASSWORD)
    assert result.ok and result.data["exists"] is True and result.data["created"] is False
    assert "already exists" in result.message
    after = user_row(head_db_url, "twice@magflow.example")
    assert after == before
    assert PWD_CONTEXT.verify(PASSWORD, after["hashed_password"])  # type: ignore[index]


def test_concurrent_creations_of_one_email_give_one_row(
    tmp_path: Path, head_db_url: str, reliability: Recorder
) -> None:
    email = "race@magflow.example"
    n = 4
    ctxs = [make_ctx(tmp_path / f"c{i}", head_db_url) for i in range(n)]
    plans = [admins.plan_create_admin(c, email, f"Racer {i}") for i, c in enumerate(ctxs)]
    assert all(p.params["exists"] is False for p in plans)  # every pre-flight saw no user
    barrier = threading.Barrier(n)
    results: list[ActionResult] = [ActionResult(False, "not run")] * n

    def worker(i: int) -> None:
        barrier.wait()
        results[i] = admins.execute_create_admin(ctxs[i], plans[i], PASSWORD + str(i))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(r.ok for r in results), [r.message for r in results]
    assert sorted(bool(r.data["created"]) for r in results) == [False] * (n - 1) + [True]
    assert sum("already exists" in r.message for r in results) == n - 1
    with psycopg.connect(to_libpq(head_db_url)) as conn:
        count = conn.execute("SELECT count(*) FROM app.users WHERE email = %s", [email]).fetchone()
        links = conn.execute(
            "SELECT count(*) FROM app.user_roles ur JOIN app.users u ON u.id = ur.user_id "
            "WHERE u.email = %s",
            [email],
        ).fetchone()
    assert count == (1,) and links == (1,)
    winner = next(i for i, r in enumerate(results) if r.data["created"])
    row = user_row(head_db_url, email)
    assert row is not None and row["full_name"] == f"Racer {winner}"
    assert PWD_CONTEXT.verify(PASSWORD + str(winner), row["hashed_password"])
    told = next(r.message for r in results if not r.data["created"])
    reliability.race(
        "admin creation of one email from four consoles at once",
        n,
        "one created the user",
        told[:160],
    )


def test_short_password_is_refused_and_audited_without_a_row(
    tmp_path: Path, head_db_url: str
) -> None:
    ctx = make_ctx(tmp_path, head_db_url)
    plan = admins.plan_create_admin(ctx, "short@magflow.example", "Short")
    with pytest.raises(ActionRefused, match="at least 12"):
        admins.execute_create_admin(ctx, plan, "tooshort")
    assert user_row(head_db_url, "short@magflow.example") is None
    assert audit_entries(tmp_path)[-1]["outcome"] == "refused"
    assert "tooshort" not in (tmp_path / "audit.jsonl").read_text()


def test_invalid_email_and_empty_name_are_refused(tmp_path: Path, head_db_url: str) -> None:
    ctx = make_ctx(tmp_path, head_db_url)
    with pytest.raises(ActionRefused, match="not a valid email"):
        admins.plan_create_admin(ctx, "not-an-email", "X")
    with pytest.raises(ActionRefused, match="full name"):
        admins.plan_create_admin(ctx, "ok@magflow.example", "  ")
    assert [e["outcome"] for e in audit_entries(tmp_path)] == ["refused", "refused"]


def test_dev_admin_email_is_warned_about(tmp_path: Path, head_db_url: str) -> None:
    # no engine to read the app's environment from: the app's default is assumed, and said
    nowhere = {"host": f"unix://{tmp_path}/no-docker.sock"}
    ctx = make_ctx(tmp_path, head_db_url, docker=nowhere)
    plan = admins.plan_create_admin(ctx, "Admin@MagFlow.Local", "Development Admin")
    assert plan.params["email"] == "Admin@magflow.local"
    assert any("AUTO_PROVISION_DEV_ADMIN=false" in w for w in plan.warnings)
    assert any("the app's default, assumed" in w for w in plan.warnings)
    assert admins.execute_create_admin(ctx, plan, PASSWORD).ok
    reset = admins.plan_reset_password(ctx, "Admin@magflow.local")
    assert any("uvicorn --reload" in w for w in reset.warnings)


def test_the_dev_admin_warning_covers_a_reload_of_the_checkout(tmp_path: Path) -> None:
    """Not only a restart: uvicorn --reload over the bind-mounted checkout starts the API
    again on any change there (sheet §11.5), and every start resets the dev admin."""
    nowhere = {"host": f"unix://{tmp_path}/no-docker.sock"}
    ctx = make_ctx(tmp_path, None, docker=nowhere)
    (warning,) = admins.dev_admin_warning(ctx, "admin@magflow.local", "password")
    assert "restart" in warning
    assert "uvicorn --reload" in warning and "git pull" in warning
    assert "bind-mounted" in warning and "AUTO_PROVISION_DEV_ADMIN=false" in warning
    assert admins.dev_admin_warning(ctx, "ops@magflow.example", "password") == ()


@pytest.mark.docker
@pytest.mark.parametrize(
    ("env", "dotenv", "warned", "source", "quiet"),
    [
        # the app re-provisions another email: that one is warned about, the default is not
        ({"DEFAULT_ADMIN_EMAIL": "Ops@Magflow.example"}, None, "ops@magflow.example",
         "DEFAULT_ADMIN_EMAIL=Ops@Magflow.example from the environment", "admin@magflow.local"),
        # provisioning is off: nobody's password is reset at start
        ({"AUTO_PROVISION_DEV_ADMIN": "false"}, None, None, None, "admin@magflow.local"),
        # the same settings in the checkout's /app/.env, which pydantic settings read too
        ({}, "DEFAULT_ADMIN_EMAIL=ops@magflow.example\nDEFAULT_ADMIN_PASSWORD=Secret-9\n",
         "ops@magflow.example", "DEFAULT_ADMIN_EMAIL=ops@magflow.example from /app/.env",
         "admin@magflow.local"),
        ({}, "export AUTO_PROVISION_DEV_ADMIN=False\n", None, None, "admin@magflow.local"),
        # the environment wins over /app/.env
        ({"AUTO_PROVISION_DEV_ADMIN": "true"}, "AUTO_PROVISION_DEV_ADMIN=false\n",
         "admin@magflow.local", "AUTO_PROVISION_DEV_ADMIN=true from the environment",
         "ops@magflow.example"),
    ],
)  # fmt: skip
def test_the_warning_follows_the_apps_settings(
    tmp_path: Path,
    head_db_url: str,
    docker_engine: Any,
    make_container: Any,
    env: dict[str, str],
    dotenv: str | None,
    warned: str | None,
    source: str | None,
    quiet: str,
) -> None:
    from tests.support.docker_engine import put_file

    app = make_container(
        environment={**env, "DATABASE_URL": "postgresql+asyncpg://app:Secret-9@db/magflow"}
    )
    if dotenv is not None:
        put_file(app, "/app/.env", dotenv)
    docker = {"host": docker_engine.base_url, "services": {"app": app.name}}
    ctx = make_ctx(tmp_path, head_db_url, docker=docker)
    if warned is not None:
        (warning,) = admins.plan_create_admin(ctx, warned, "Ops").warnings
        assert "from the app's settings" in warning and "Secret-9" not in warning
        assert source is not None and source in warning
    assert admins.plan_create_admin(ctx, quiet, "Development Admin").warnings == ()


def test_unreachable_database_refuses_without_leaking_the_password(tmp_path: Path) -> None:
    secret = "db-Pa55-never-shown"
    url = f"postgresql+psycopg://app:{secret}@127.0.0.1:{_free_port()}/magflow"
    ctx = make_ctx(tmp_path, url)
    with pytest.raises(ActionRefused, match=r"Cannot read app\.users") as exc:
        admins.plan_create_admin(ctx, "x@magflow.example", "X")
    assert secret not in str(exc.value)
    assert secret not in (tmp_path / "audit.jsonl").read_text()


# --------------------------------------------------------------------------- reset / deactivate


def test_reset_password_changes_the_hash_and_deletes_the_redis_key(
    tmp_path: Path, head_db_url: str, redis_server: RedisServer
) -> None:
    email = "reset@magflow.example"
    ctx = make_ctx(tmp_path, head_db_url, redis_url=redis_server.url)
    assert create(ctx, email).ok
    old_hash = user_row(head_db_url, email)["hashed_password"]  # type: ignore[index]
    key = f"users:user:{email}"
    redis_server.client.set(key, json.dumps({"hashed_password": old_hash}), ex=600)
    redis_server.client.set("users:user:someone.else@magflow.example", "x", ex=600)

    plan = admins.plan_reset_password(ctx, email)
    assert any("UPDATE app.users" in c for c in plan.changes)
    result = admins.execute_reset_password(ctx, plan, OTHER_PASSWORD)
    assert result.ok, result.message
    new_hash = user_row(head_db_url, email)["hashed_password"]  # type: ignore[index]
    assert new_hash != old_hash and new_hash.startswith("$2b$12$")
    assert PWD_CONTEXT.verify(OTHER_PASSWORD, new_hash)
    assert not PWD_CONTEXT.verify(PASSWORD, new_hash)
    assert redis_server.client.exists(key) == 0
    assert redis_server.client.exists("users:user:someone.else@magflow.example") == 1
    assert any(f"Deleted the Redis login cache key {key}" in d for d in result.details)
    text = (tmp_path / "audit.jsonl").read_text() + repr(result)
    for secret in (REDIS_SECRET, OTHER_PASSWORD, new_hash, old_hash):
        assert secret not in text


def test_reset_without_redis_url_says_the_old_password_may_keep_working(
    tmp_path: Path, head_db_url: str
) -> None:
    ctx = make_ctx(tmp_path, head_db_url)
    assert create(ctx, "noredis@magflow.example").ok
    result = admins.execute_reset_password(
        ctx, admins.plan_reset_password(ctx, "noredis@magflow.example"), OTHER_PASSWORD
    )
    assert result.ok
    assert any("No Redis URL (" in d and "10 minutes" in d for d in result.details)


def test_unreachable_redis_is_reported_without_its_password(
    tmp_path: Path, head_db_url: str
) -> None:
    url = f"redis://:{REDIS_SECRET}@127.0.0.1:{_free_port()}/0"
    ctx = make_ctx(tmp_path, head_db_url, redis_url=url)
    assert create(ctx, "badredis@magflow.example").ok
    result = admins.execute_reset_password(
        ctx, admins.plan_reset_password(ctx, "badredis@magflow.example"), OTHER_PASSWORD
    )
    assert result.ok  # the password did change
    assert any("Could not clear the Redis login cache" in d for d in result.details)
    assert REDIS_SECRET not in repr(result)


def test_reset_and_deactivate_of_an_unknown_email_are_refused(
    tmp_path: Path, head_db_url: str
) -> None:
    ctx = make_ctx(tmp_path, head_db_url)
    with pytest.raises(ActionRefused, match=r"No user with email ghost@magflow\.example"):
        admins.plan_reset_password(ctx, "ghost@magflow.example")
    with pytest.raises(ActionRefused, match="No user with email"):
        admins.plan_deactivate_admin(ctx, "ghost@magflow.example")


def test_deactivate_sets_inactive_and_deletes_the_redis_key(
    tmp_path: Path, head_db_url: str, redis_server: RedisServer
) -> None:
    email = "leaver@magflow.example"
    ctx = make_ctx(tmp_path, head_db_url, redis_url=redis_server.url)
    assert create(ctx, email).ok
    redis_server.client.set(f"users:user:{email}", "cached", ex=600)
    result = admins.execute_deactivate_admin(ctx, admins.plan_deactivate_admin(ctx, email))
    assert result.ok and result.message == f"Deactivated {email}."
    assert user_row(head_db_url, email)["is_active"] is False  # type: ignore[index]
    assert redis_server.client.exists(f"users:user:{email}") == 0
    again = admins.execute_deactivate_admin(ctx, admins.plan_deactivate_admin(ctx, email))
    assert again.ok and "already inactive" in again.message


# --------------------------------------------------------------------------- read-only


def test_read_only_refuses_every_admin_action_and_audits_it(
    tmp_path: Path, head_db_url: str
) -> None:
    writable = make_ctx(tmp_path / "rw", head_db_url)
    assert create(writable, "kept@magflow.example").ok
    ro = make_ctx(tmp_path, head_db_url, read_only=True)
    for call in (
        lambda: admins.plan_create_admin(ro, "ro@magflow.example", "RO"),
        lambda: admins.plan_reset_password(ro, "kept@magflow.example"),
        lambda: admins.plan_deactivate_admin(ro, "kept@magflow.example"),
    ):
        with pytest.raises(ActionRefused, match="read-only"):
            call()
    # a plan made while writable, executed on a read-only context: refused, nothing changes
    plan = admins.plan_deactivate_admin(writable, "kept@magflow.example")
    with pytest.raises(ActionRefused, match="read-only"):
        admins.execute_deactivate_admin(ro, plan)
    plan = admins.plan_create_admin(writable, "ro2@magflow.example", "RO")
    with pytest.raises(ActionRefused, match="read-only"):
        admins.execute_create_admin(ro, plan, PASSWORD)
    assert user_row(head_db_url, "ro@magflow.example") is None
    assert user_row(head_db_url, "ro2@magflow.example") is None
    assert user_row(head_db_url, "kept@magflow.example")["is_active"] is True  # type: ignore[index]
    entries = audit_entries(tmp_path)
    assert [e["outcome"] for e in entries] == ["refused"] * 5
    assert {e["action"] for e in entries} == {
        "admin.create", "admin.reset_password", "admin.deactivate"
    }  # fmt: skip
